#!/usr/bin/env bash
# Start-up and exit: `INIT -- /bin/true` for podinit, tini, catatonit,
# dumb-init and /bin/true alone. hyperfine: 3 alternating rounds of 100 runs
# (10 warm-up each) run directly (not PID 1), then 2 rounds of 50 (5 warm-up)
# as PID 1 of a fresh namespace (unshare --pid --fork --mount-proc); the init's
# own CPU time without its child (perf stat --no-inherit, 50 runs, when perf
# is installed); the system calls of one run (strace -f -c).
#
# Rows (NAME: podinit tini catatonit dumb-init none):
#   startup.direct.NAME.{mean,sd,min,max,median}   ms
#   startup.pid1.NAME.{mean,sd,min,max,median}     ms
#   startup.cpu.NAME                               ms (perf only)
#   startup.syscalls.NAME                          count (none: not run)
#   startup.syscalls_top.NAME                      the 4 most frequent, "call×N, ..."
#   startup.hyperfine_flags                        "-N" when hyperfine ran without a shell
# shellcheck source=scripts/bench/lib.sh
source "$(dirname "$0")/lib.sh"
need_root
need strace unshare python3
podinit_bin
peers
hyperfine_flags
row hyperfine_flags "$HF_N"

hfr "$WORK/true.txt" 3 10 100 \
    "podinit -- /bin/true" "$PODINIT -- /bin/true" \
    "tini -- /bin/true" "$TINI -- /bin/true" \
    "catatonit -- /bin/true" "$CATATONIT -- /bin/true" \
    "dumb-init /bin/true" "$DUMB_INIT /bin/true" \
    "/bin/true (no init)" "/bin/true" || die "hyperfine failed"
mapfile -t T < "$WORK/true.txt"
# The same as PID 1 of a fresh PID namespace (as docker --init runs it); the
# unshare and /proc mount cost is the same for every row.
hfr "$WORK/true1.txt" 2 5 50 \
    "podinit" "unshare --pid --fork --mount-proc $PODINIT -- /bin/true" \
    "tini" "unshare --pid --fork --mount-proc $TINI -- /bin/true" \
    "catatonit" "unshare --pid --fork --mount-proc $CATATONIT -- /bin/true" \
    "dumb-init" "unshare --pid --fork --mount-proc $DUMB_INIT /bin/true" \
    "no init" "unshare --pid --fork --mount-proc /bin/true" || die "hyperfine failed"
mapfile -t T1 < "$WORK/true1.txt"
names=(podinit tini catatonit dumb-init none)
for i in 0 1 2 3 4; do
    hf_rows "direct.${names[$i]}" "${T[$i]}"
    hf_rows "pid1.${names[$i]}" "${T1[$i]}"
done
if [ -n "$HAVE_PERF" ]; then
    row cpu.podinit "$(own_cpu 50 "$PODINIT" -- /bin/true)" ms
    row cpu.tini "$(own_cpu 50 "$TINI" -- /bin/true)" ms
    row cpu.catatonit "$(own_cpu 50 "$CATATONIT" -- /bin/true)" ms
    row cpu.dumb-init "$(own_cpu 50 "$DUMB_INIT" /bin/true)" ms
fi
# Where the time goes: system calls of one run (strace -f -c), not PID 1.
for k in podinit tini catatonit dumb-init; do
    # shellcheck disable=SC2086  # INIT_CMD: the init and its arguments
    strace -f -c -o "$WORK/sc-true.txt" ${INIT_CMD[$k]} /bin/true >/dev/null 2>&1
    n=$(awk '$NF == "total" { print $4 }' "$WORK/sc-true.txt")
    top=$(awk 'f && /^-/ { exit } f { print $4, $NF } /^-/ { f=1 }' "$WORK/sc-true.txt" | sort -rn | head -n 4 | awk '{ printf "%s%s×%s", sep, $2, $1; sep=", " }')
    row "syscalls.$k" "${n:-?}"
    row "syscalls_top.$k" "$top"
done
