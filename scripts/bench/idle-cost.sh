#!/usr/bin/env bash
# Idle cost per configuration: scripts/idle-cost.sh (also the measurement of
# tests/integration/test_steady.sh) over BENCH_IDLE_SECONDS (10): every pod
# configuration at once, podinit's own CPU time (schedstat) and context
# switches over a quiet window, next to the probe attempts it makes.
#
# Rows (CONFIG: a configuration of scripts/idle-cost.sh, in its order):
#   idle-cost.window            s
#   idle-cost.CONFIG.cpu        ms in the window ("dead": podinit exited)
#   idle-cost.CONFIG.wakeups    context switches in the window
#   idle-cost.CONFIG.attempts   probe attempts the configuration makes in it
# shellcheck source=scripts/bench/lib.sh
source "$(dirname "$0")/lib.sh"
need_root
need unshare python3
podinit_bin
row window "$IDLE_SECONDS" s
bash "$ROOT/scripts/idle-cost.sh" "$IDLE_SECONDS" > "$WORK/rows.tsv" || problem "scripts/idle-cost.sh failed (exit $?)"
while IFS=$'\t' read -r c cpu wk att; do
    row "$c.cpu" "$cpu" ms
    row "$c.wakeups" "$wk"
    row "$c.attempts" "$att"
done < "$WORK/rows.tsv"
