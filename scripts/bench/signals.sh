#!/usr/bin/env bash
# Signal-forwarding latency: each init as PID 1 of a fresh namespace with
# `sigping child` (sigping.c) as its child; the host sends SIGUSR1 to the init
# and the child reports when it arrived. BENCH_SIGNALS (2000) signals per run,
# 300 µs apart after each arrival, BENCH_SIG_ROUNDS (5) runs per init and
# placement, inits in rotating order. Placements: free, cgroup (the init in a
# cpu cgroup of its own), same (all on CPU 0), split (init on CPU 1, sender
# on CPU 0). With valgrind: user-space instructions per forwarded signal
# (callgrind, 1000 signals minus none); the system calls of one loop iteration
# (strace while 3 signals go through).
#
# Rows (INIT: podinit tini catatonit dumb-init dumb-init-sc; PL: a placement):
#   signals.n, .rounds, .gap_us, .autogroup, .placements
#   signals.PL.INIT.p50, .p99      µs, the median over the runs of each run's p50 / p99
#   signals.PL.INIT.runs_p50       each run's p50, space-separated (µs)
#   signals.INIT.min               µs, the fastest single signal of any placement
#   signals.INIT.instructions      per signal (valgrind only; not dumb-init-sc)
#   signals.INIT.syscalls          "call, call, kill" (not dumb-init-sc)
# shellcheck source=scripts/bench/lib.sh
source "$(dirname "$0")/lib.sh"
need_root
need unshare python3
podinit_bin
peers
helpers
# Section 9's control: dumb-init's own switch for keeping the child in its
# session (--single-child: no setsid), to show what the session alone is worth.
SIG_INITS="$INITS dumb-init-sc"
SIG_N=${BENCH_SIGNALS:-2000}
SIG_ROUNDS=${BENCH_SIG_ROUNDS:-5}
SIG_GAP=300
# Three placements: free (the scheduler's choice), all on one CPU (no wake-up
# crosses CPUs: the init's own path), init and child on one CPU and the sender
# on the other (one cross-CPU wake-up per signal for every init, as for a
# signal from outside the container). On this 2-vCPU VM a wake-up of an idle
# vCPU costs tens of µs, so in the free placement the p50 mostly says where the
# scheduler put the three processes.
PLACEMENTS="free cgroup same split"
[ "$(nproc)" -ge 2 ] || PLACEMENTS="free cgroup same"
# A cpu cgroup of its own for the init and its child, as a container runtime
# gives a container (v2, or the v1 cpu hierarchy); removed at exit.
BENCH_CG=""
for d in /sys/fs/cgroup /sys/fs/cgroup/cpu; do
    [ -e "$d/cgroup.procs" ] || continue
    [ "$d" = /sys/fs/cgroup ] && [ ! -e /sys/fs/cgroup/cgroup.controllers ] && continue
    if mkdir "$d/podinit-bench.$$" 2>/dev/null; then BENCH_CG=$d/podinit-bench.$$; break; fi
done
# shellcheck disable=SC2034  # run by lib.sh's cleanup
[ -n "$BENCH_CG" ] && CLEANUP_EXTRA='rmdir "$BENCH_CG" 2>/dev/null'
[ -n "$BENCH_CG" ] || { PLACEMENTS=${PLACEMENTS/cgroup /}; log "no cgroup to create: skipping the cgroup placement"; }
row n "$SIG_N"
row rounds "$SIG_ROUNDS"
row gap_us "$SIG_GAP" µs
row autogroup "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo '?')"
row placements "$PLACEMENTS"
log "$SIG_ROUNDS rounds x $SIG_N SIGUSR1 per init and placement ($PLACEMENTS)"
declare -A SIG_MIN SIG_ALL50 SIG_ALL99
# sig_run PLACEMENT INIT: one run; prints "p50 p99 min max" (µs).
sig_run() {
    local f=$WORK/sig.fifo pin_init=() pin_send=() p res
    case $1 in
        same) pin_init=(taskset -c 0); pin_send=(taskset -c 0) ;;
        split) pin_init=(taskset -c 1); pin_send=(taskset -c 0) ;;
        cgroup) NS_PREFIX=(sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$BENCH_CG") ;;
    esac
    rm -f "$f"; mkfifo "$f"
    # shellcheck disable=SC2086
    ns_start "$WORK/sig-$2.log" "${pin_init[@]}" ${INIT_CMD[$2]} "$SIGPING" child "$f"
    local ok=$?
    NS_PREFIX=()
    [ "$ok" = 0 ] || return 1
    p=$NSP
    sleep 0.1
    res=$(timeout 120 "${pin_send[@]}" "$SIGPING" send "$p" "$f" "$SIG_N" "$SIG_GAP" 2>"$WORK/sig.err")
    ns_stop "$p"
    [ -n "$res" ] || problem "sigping ($1) against $2 failed: $(head -c 200 "$WORK/sig.err")"
    echo "$res"
}
for round in $(seq 0 $(( SIG_ROUNDS - 1 ))); do
    for pl in $PLACEMENTS; do
        # shellcheck disable=SC2086
        for k in $(rotate "$round" $SIG_INITS); do
            res=$(sig_run "$pl" "$k")
            [ -n "$res" ] || continue
            # shellcheck disable=SC2086
            set -- $res
            SIG_ALL50[$pl.$k]="${SIG_ALL50[$pl.$k]:-} $1"; SIG_ALL99[$pl.$k]="${SIG_ALL99[$pl.$k]:-} $2"
            SIG_MIN[$pl.$k]=$( { [ -n "${SIG_MIN[$pl.$k]:-}" ] && echo "${SIG_MIN[$pl.$k]}"; echo "$3"; } | sort -n | head -n1)
        done
    done
done
for k in $SIG_INITS; do
    for pl in $PLACEMENTS; do
        [ -n "${SIG_ALL50[$pl.$k]:-}" ] || continue
        # shellcheck disable=SC2086
        row "$pl.$k.p50" "$(printf '%s\n' ${SIG_ALL50[$pl.$k]} | median)" µs
        # shellcheck disable=SC2086
        row "$pl.$k.p99" "$(printf '%s\n' ${SIG_ALL99[$pl.$k]} | median)" µs
        row "$pl.$k.runs_p50" "${SIG_ALL50[$pl.$k]# }" µs
    done
    # shellcheck disable=SC2086
    m=$(printf '%s\n' ${SIG_MIN[free.$k]:-} ${SIG_MIN[cgroup.$k]:-} ${SIG_MIN[same.$k]:-} ${SIG_MIN[split.$k]:-} | sort -n | head -n1)
    [ -n "$m" ] && row "$k.min" "$m" µs
done

# Instructions per event in user space (callgrind): stable where wall time is not.
# cg_sig INIT N: total instructions of INIT (PID 1 under valgrind) forwarding N signals.
cg_sig() {
    local f=$WORK/cg.fifo out=$WORK/cg.out u v i
    rm -f "$f" "$out"; mkfifo "$f"
    # shellcheck disable=SC2086
    unshare --pid --fork --mount-proc --kill-child valgrind --tool=callgrind --callgrind-out-file="$out" \
        ${INIT_CMD[$1]} "$SIGPING" child "$f" </dev/null >/dev/null 2>&1 3>&- 7<&- 8<&- 9<&- &
    u=$!
    exec 9<>"$f"
    v=""
    for i in $(seq 1 100); do v=$(cat "/proc/$u/task/$u/children" 2>/dev/null | awk '{ print $1 }'); [ -n "$v" ] && break; sleep 0.05; done
    sleep 1
    [ "$2" -gt 0 ] && [ -n "$v" ] && timeout 120 "$SIGPING" send "$v" "$f" "$2" 200 >/dev/null
    sleep 0.3
    [ -n "$v" ] && kill -TERM "$v"
    exec 9>&-
    wait_bounded "$u" 60
    awk '/^totals:/ { print $2 }' "$out" 2>/dev/null
}
if [ -n "$HAVE_VALGRIND" ]; then
    log "callgrind: user-space instructions per forwarded signal"
    for k in $INITS; do
        c0=$(cg_sig "$k" 0); c1=$(cg_sig "$k" 1000)
        [ -n "$c0" ] && [ -n "$c1" ] && row "$k.instructions" $(( (c1 - c0) / 1000 ))
    done
fi

# System calls of one forwarded signal: strace of the init while 3 signals go through.
for k in $INITS; do
    f=$WORK/sig.fifo
    rm -f "$f"; mkfifo "$f"
    # shellcheck disable=SC2086
    ns_start "$WORK/sig-$k.log" ${INIT_CMD[$k]} "$SIGPING" child "$f" || continue
    p=$NSP
    timeout 10 strace -o "$WORK/sig-strace.txt" -p "$p" 2>/dev/null &
    st=$!
    sleep 0.5
    timeout 20 "$SIGPING" send "$p" "$f" 3 100000 >/dev/null
    sleep 0.2
    kill -INT "$st" 2>/dev/null; wait "$st" 2>/dev/null
    ns_stop "$p"
    # The calls between two kill()s of the child: one full loop iteration.
    row "$k.syscalls" "$(awk '/^kill\(/ { n++; if (n == 2) { printf "%skill", sep; exit } next } n == 1 { sub(/\(.*/, ""); printf "%s%s", sep, $0; sep=", " }' "$WORK/sig-strace.txt")"
done
