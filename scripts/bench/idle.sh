#!/usr/bin/env bash
# Idle wakeups: every init of lib.sh's idle set (podinit init, pause and a
# 20-entry pod; tini, catatonit, dumb-init) as PID 1 of its own namespace;
# context switches (voluntary + nonvoluntary) over BENCH_IDLE_SECONDS (10) of
# idling, then `strace -f -c -p PID` on all of them for the same 5 s.
#
# Rows (NAME: podinit-init podinit-pause podinit-pod20 tini catatonit dumb-init;
# a NAME that failed to start has no rows):
#   idle.window                 s
#   idle.NAME.ctxt              context switches in the window
#   idle.NAME.strace_calls      system calls in strace's 5 s
#   idle.NAME.strace_which      "call×N, ..."
# shellcheck source=scripts/bench/lib.sh
source "$(dirname "$0")/lib.sh"
need_root
need strace unshare python3
podinit_bin
peers
idle_set
row window "$IDLE_SECONDS" s
declare -A C0 C1
for k in $IDLE_ORDER; do [ -n "${IDLE_PID[$k]:-}" ] && C0[$k]=$(ctxt "${IDLE_PID[$k]}"); done
sleep "$IDLE_SECONDS"
for k in $IDLE_ORDER; do [ -n "${IDLE_PID[$k]:-}" ] && C1[$k]=$(ctxt "${IDLE_PID[$k]}"); done
# strace all at once, same 5 s window; attaching interrupts the blocked call,
# so a few calls at attach/detach are an artefact (catatonit is the reference).
for k in $IDLE_ORDER; do
    [ -n "${IDLE_PID[$k]:-}" ] || continue
    timeout -s INT 5 strace -f -c -p "${IDLE_PID[$k]}" -o "$WORK/strace-$k.txt" 2>/dev/null &
done
wait_strace_end=$(( $(date +%s) + 10 ))
while jobs -r | grep -q strace && [ "$(date +%s)" -lt "$wait_strace_end" ]; do sleep 0.2; done
for k in $IDLE_ORDER; do
    [ -n "${IDLE_PID[$k]:-}" ] || continue
    f=$WORK/strace-$k.txt
    # strace -c "total" line: % seconds usecs/call calls [errors] total
    sc=$(awk '$NF == "total" { print $4 }' "$f" 2>/dev/null)
    row "$k.ctxt" "$(( ${C1[$k]} - ${C0[$k]} ))"
    row "$k.strace_calls" "${sc:-0}"
    row "$k.strace_which" "$(awk 'f && /^-/ { exit } f { printf "%s%s×%s", sep, $NF, $4; sep=", " } /^-/ { f=1 }' "$f" 2>/dev/null)"
done
