#!/usr/bin/env bash
# A steady pod costs podinit nothing beyond its probe attempts: for every
# configuration of scripts/idle-cost.sh (probes of each kind on apps and
# sidecars, hooks, log_prefix, back-off, a stopped entry, an idle control
# client, 30 apps, init and pause mode), podinit's own CPU time and wakeups
# over a few seconds of steady state stay within a small allowance per probe
# attempt. A spinning PID 1 shows thousands of wakeups and a full core.
source "$(dirname "$0")/../lib.sh"
T_SUITE=steady

WINDOW=3
ROWS=$(bash "$ROOT/scripts/idle-cost.sh" "$WINDOW" 2>"$T_TMP/err")
[ -n "$ROWS" ] || { echo "idle-cost.sh printed nothing: $(cat "$T_TMP/err")" >&2; }
n=0
while IFS=$'\t' read -r config cpu wakeups attempts; do
    n=$((n + 1))
    t_begin "steady: $config costs only its probe attempts ($attempts in ${WINDOW}s)"
    if [ "$cpu" = dead ]; then
        t_fail "podinit exited during the window"
    else
        # Per attempt: the probe's own events (spawn, SIGCHLD, reap; or
        # connect, write, read) and the status write; plus a little slack
        # for the kernel's own wakeups.
        max_wakeups=$((5 * attempts + 4))
        max_cpu=$((10 + 5 * attempts))
        [ "$wakeups" -le "$max_wakeups" ] || t_fail "$wakeups wakeups in ${WINDOW}s (allowed $max_wakeups)"
        [ "$cpu" -le "$max_cpu" ] || t_fail "$cpu ms CPU in ${WINDOW}s (allowed $max_cpu)"
    fi
    t_end
done <<< "$ROWS"
t_begin "steady: every configuration was measured"
assert_eq 26 "$n" "configurations measured"
t_end
t_summary
