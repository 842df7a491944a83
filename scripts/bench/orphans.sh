#!/usr/bin/env bash
# Reaping orphans: each init as PID 1 with `orphans` (orphans.c) as its main
# child. Burst: BENCH_ORPHANS (5000) zombies re-parented to the init at once,
# BENCH_REAP_ROUNDS (7) times; one by one: as many orphans exiting 50 µs
# apart, 3 times. The init's CPU time (schedstat) from their release until
# the last is gone. With valgrind: user-space instructions per reaped orphan
# (callgrind, a burst of 5000 minus a burst of 1).
#
# Rows (INIT: podinit tini catatonit dumb-init):
#   orphans.n, .rounds
#   orphans.INIT.burst          µs of init CPU per burst, median
#   orphans.INIT.burst_runs     each burst, µs, space-separated
#   orphans.INIT.trickle        µs per one-by-one run, median
#   orphans.INIT.trickle_runs   each run, µs
#   orphans.INIT.instructions   per orphan (valgrind only)
# shellcheck source=scripts/bench/lib.sh
source "$(dirname "$0")/lib.sh"
need_root
need unshare
podinit_bin
peers
helpers
REAP_N=${BENCH_ORPHANS:-5000}
REAP_ROUNDS=${BENCH_REAP_ROUNDS:-7}
row n "$REAP_N"
row rounds "$REAP_ROUNDS"
log "$REAP_ROUNDS bursts of $REAP_N zombies, then 3 x $REAP_N orphans exiting one by one, per init"
# reap_run INIT ROUNDS [GAP_US]: the init's CPU time (µs) per round, space-separated.
reap_run() {
    local k=$1 rounds=$2 gap=${3:-} ctl=$WORK/reap.ctl ack=$WORK/reap.ack p x c0 c1 out=""
    rm -f "$ctl" "$ack"; mkfifo "$ctl" "$ack"
    exec 8<>"$ctl" 7<>"$ack"
    # shellcheck disable=SC2086
    if ns_start "$WORK/reap-$k.log" ${INIT_CMD[$k]} "$ORPHANS" "$REAP_N" "$rounds" "$ctl" "$ack" $gap; then
        p=$NSP
        for _ in $(seq 1 "$rounds"); do
            read -r -N1 -t 120 x <&7 || break
            c0=$(cpu_ns "$p"); printf g >&8
            read -r -N1 -t 300 x <&7 || break
            c1=$(cpu_ns "$p")
            out="$out $(( (c1 - c0) / 1000 ))"
        done
        ns_stop "$p"
    fi
    exec 8>&- 7<&-
    echo "${out# }"
}
for k in $INITS; do
    all=$(reap_run "$k" "$REAP_ROUNDS")
    [ -n "$all" ] || { problem "$k: no burst measured"; continue; }
    # shellcheck disable=SC2086
    row "$k.burst" "$(printf '%s\n' $all | median)" µs
    row "$k.burst_runs" "$all" µs
done
# shellcheck disable=SC2086
for k in $(rotate 1 $INITS); do
    all=$(reap_run "$k" 3 50)
    [ -n "$all" ] || { problem "$k: no one-by-one run measured"; continue; }
    # shellcheck disable=SC2086
    row "$k.trickle" "$(printf '%s\n' $all | median)" µs
    row "$k.trickle_runs" "$all" µs
done

# cg_reap INIT N: total instructions of INIT (PID 1 under valgrind) reaping one burst of N orphans.
cg_reap() {
    local ctl=$WORK/cg.ctl ack=$WORK/cg.ack out=$WORK/cg.out u x
    rm -f "$ctl" "$ack" "$out"; mkfifo "$ctl" "$ack"
    exec 8<>"$ctl" 7<>"$ack"
    # shellcheck disable=SC2086
    unshare --pid --fork --mount-proc --kill-child valgrind --tool=callgrind --callgrind-out-file="$out" \
        ${INIT_CMD[$1]} "$ORPHANS" "$2" 1 "$ctl" "$ack" </dev/null >/dev/null 2>&1 3>&- 7<&- 8<&- 9<&- &
    u=$!
    # shellcheck disable=SC2034  # x: the byte, only its arrival counts
    read -r -N1 -t 60 x <&7 && printf g >&8 && read -r -N1 -t 120 x <&7
    exec 8>&- 7<&-
    wait_bounded "$u" 60
    awk '/^totals:/ { print $2 }' "$out" 2>/dev/null
}
if [ -n "$HAVE_VALGRIND" ]; then
    log "callgrind: user-space instructions per reaped orphan"
    for k in $INITS; do
        c0=$(cg_reap "$k" 1); c1=$(cg_reap "$k" 5000)
        [ -n "$c0" ] && [ -n "$c1" ] && row "$k.instructions" $(( (c1 - c0) / 5000 ))
    done
fi
