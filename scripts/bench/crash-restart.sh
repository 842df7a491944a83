#!/usr/bin/env bash
# Crash → running again: an app that crashes twice and then exits 0
# (restart_policy OnFailure), in BENCH_CRASH_ROUNDS (15) fresh pods as PID 1;
# the app stamps its own start and its exit with bash's $EPOCHREALTIME (no
# fork), so a gap is exit -> podinit reaps -> decides -> fork/exec -> bash
# running again. The first crash restarts at once (the kubelet's curve); the
# second waits backoff.initial, set to 100 ms here so the rounds stay short
# (the default is 10 s). Next to it, the same gap for a plain bash loop.
#
# Rows (GAP: first second plain):
#   crash-restart.rounds
#   crash-restart.GAP.{median,min,max}   ms
# shellcheck source=scripts/bench/lib.sh
source "$(dirname "$0")/lib.sh"
need_root
need unshare
podinit_bin
CR=$WORK/crash
mkdir -p "$CR"
CRASH_ROUNDS=${BENCH_CRASH_ROUNDS:-15}
BASH_BIN=$(command -v bash)
# The app: stamp the start; the third start exits 0, the others stamp the exit and crash.
# shellcheck disable=SC2016  # expanded by the app's bash
CRASH_SH='echo s $EPOCHREALTIME >> "$F"; mapfile -t L < "$F"; [ ${#L[@]} -ge 5 ] && exit 0; echo e $EPOCHREALTIME >> "$F"; exit 1'
: > "$CR/first"; : > "$CR/second"; : > "$CR/plain"
for i in $(seq 1 "$CRASH_ROUNDS"); do
    d=$CR/r$i
    mkdir -p "$d"
    cat > "$d/pod.toml" <<TOML
restart_policy = "OnFailure"
backoff = { initial = "100ms", max = "100ms" }
marker_dir = "$d/markers"
state_dir = "$d/state"
[env]
F = "$d/stamps"
[[app]]
name = "crash"
command = ["$BASH_BIN", "-c", '$CRASH_SH']
TOML
    timeout -s KILL 20 unshare --pid --fork --mount-proc "$PODINIT" run -c "$d/pod.toml" >/dev/null 2>&1 </dev/null 3>&-
    # lines: s e s e s -> gaps e1->s2 (first crash), e2->s3 (second crash), in ms
    awk '{ t[NR] = $2 } END { if (NR == 5) { printf "%.3f\n", (t[3] - t[2]) * 1000 > "/dev/stderr"; printf "%.3f\n", (t[5] - t[4]) * 1000 } }' \
        "$d/stamps" 2>>"$CR/first" >>"$CR/second"
    # The same app under a plain bash loop: fork/exec and wait, nothing else.
    F=$CR/p$i "$BASH_BIN" -c 'for k in 1 2; do "$0" -c "$1"; done' "$BASH_BIN" "$CRASH_SH" >/dev/null 2>&1
    awk '{ t[NR] = $2 } END { if (NR >= 3) printf "%.3f\n", (t[3] - t[2]) * 1000 }' "$CR/p$i" >> "$CR/plain"
done
row rounds "$CRASH_ROUNDS"
for g in first second plain; do
    if [ ! -s "$CR/$g" ]; then problem "crash -> running again: no $g gap measured"; continue; fi
    row "$g.median" "$(sort -n "$CR/$g" | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')" ms
    row "$g.min" "$(sort -n "$CR/$g" | head -n1 | awk '{ printf "%.2f", $1 }')" ms
    row "$g.max" "$(sort -n "$CR/$g" | tail -n1 | awk '{ printf "%.2f", $1 }')" ms
done
