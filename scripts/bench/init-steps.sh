#!/usr/bin/env bash
# 100 trivial init steps: a pod of 100 init steps `true` (once = false) and
# one app `true`, restart_policy Never; wall time of `podinit run -c FILE` (not
# PID 1, stderr to /dev/null) against `sh -c 'for i in $(seq 100); do
# /bin/true; done'` and against the same pod without a status file (state_dir
# not creatable). hyperfine, 2 alternating rounds of 1 warm-up + 8 runs; with
# perf, podinit's own CPU time without its children (5 runs).
#
# Rows (RUN: podinit sh nostate):
#   init-steps.RUN.{mean,sd,min,max,median}   ms
#   init-steps.cpu.{podinit,nostate}          ms (perf only)
# shellcheck source=scripts/bench/lib.sh
source "$(dirname "$0")/lib.sh"
need_root
need python3
podinit_bin
hyperfine_flags
POD100=$WORK/pod100
mkdir -p "$POD100"
{
    echo "name = \"steps100\""
    echo "restart_policy = \"Never\""
    echo "marker_dir = \"$POD100/markers\""
    echo "state_dir = \"$POD100/state\""
    for i in $(seq 1 100); do printf '\n[[init]]\nname = "step%d"\ncommand = ["true"]\nonce = false\n' "$i"; done
    printf '\n[[app]]\nname = "app"\ncommand = ["true"]\n'
} > "$POD100/pod.toml"
# The same pod without a status file (state_dir cannot be created: podinit
# warns and runs without one): what the status.json rewrites cost.
sed 's#^state_dir = .*#state_dir = "/proc/podinit-bench-no-state"#' "$POD100/pod.toml" > "$POD100/nostate.toml"
if ! "$PODINIT" run -c "$POD100/pod.toml" >/dev/null 2>"$WORK/steps.err"; then
    problem "podinit run of the 100-step pod failed: $(tail -n 3 "$WORK/steps.err" | tr '\n' ' ')"
    exit 0
fi
if ! hfr "$WORK/steps.txt" 2 1 8 \
        "podinit run (100 steps + 1 app)" "$PODINIT run -c $POD100/pod.toml" \
        "sh: 100 × /bin/true" "sh -c 'for i in \$(seq 100); do /bin/true; done'" \
        "podinit run, no status file" "$PODINIT run -c $POD100/nostate.toml"; then
    problem "hyperfine of the 100-step pod failed"
    exit 0
fi
mapfile -t T < "$WORK/steps.txt"
hf_rows podinit "${T[0]}"
hf_rows sh "${T[1]}"
hf_rows nostate "${T[2]}"
if [ -n "$HAVE_PERF" ]; then
    row cpu.podinit "$(own_cpu 5 "$PODINIT" run -c "$POD100/pod.toml")" ms
    row cpu.nostate "$(own_cpu 5 "$PODINIT" run -c "$POD100/nostate.toml")" ms
fi
