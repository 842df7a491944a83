#!/usr/bin/env bash
# Pause mode (SPEC §3, §6): `podinit pause` and the binary invoked as `pause`,
# as PID 1 of a fresh PID namespace and as a plain process: ignores signals but
# TERM/INT, exits 0 on those, reaps orphans of processes that joined its
# namespace (`nsenter --target P --pid --mount`, the --pid=container: pattern),
# pins no cwd or inherited fd, and never wakes while idle.
#
# Every wait is bounded: a hang fails the case instead of blocking the suite.
# Needs root, nsenter, ps.

. "$(dirname "$0")/../lib.sh"
T_SUITE=pause
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n1)

# A failed case lists what it left running in CLEANUP (lib.sh kills it on exit).

W=$T_TMP/w
mkdir -p "$W"
ln -s "$PODINIT" "$W/pause"

# alive PID: PID exists and is neither a zombie nor stopped.
alive() { local s; s=$(proc_state "$1"); [ -n "$s" ] && [ "$s" != Z ] && [ "$s" != T ]; }

# host_pause: `podinit pause` as a plain process (P), running 0.1 s after it
# started (its signal setup done); out and err in $W.
host_pause() {
    "$PODINIT" pause >"$W/out" 2>"$W/err" &
    P=$!
    CLEANUP="$CLEANUP $P"
    wait_for 5 alive "$P" || t_fail "pause did not start: $(head -c 200 "$W/err")"
    sleep 0.1
}

# stop_host_pause SIG: send SIG to the plain pause P; it exits 0 within 2 s.
stop_host_pause() {
    kill -s "$1" "$P"
    timeout 2 tail --pid="$P" -f /dev/null || { t_fail "still running 2 s after SIG$1"; kill -KILL "$P"; }
    RC=0
    wait "$P" || RC=$?
    assert_eq 0 "$RC" "exit status"
}

# ns_has_orphan NS P1 COMM: a COMM process in NS whose parent is P1.
ns_has_orphan() { ns_procs "$1" | awk -v p="$2" -v c="$3" '$3 == p && $4 == c { f = 1 } END { exit !f }'; }

# ns_has_comm NS COMM: a COMM process in NS.
ns_has_comm() { ns_procs "$1" | awk -v c="$2" '$4 == c { f = 1 } END { exit !f }'; }

# idle_counters PID: "voluntary nonvoluntary runs" (context switches from status, run count from schedstat).
idle_counters() {
    local st sched
    st=$(awk '/^(non)?voluntary_ctxt_switches/ { printf "%s ", $2 }' "/proc/$1/status" 2>/dev/null)
    read -r _ _ sched <"/proc/$1/schedstat" 2>/dev/null
    echo "$st$sched"
}

# start_pause [ARGS...]: `podinit ARGS` (ARGS: pause ...) as PID 1 in the
# background; fails the case when it does not come up. With PID1_EXE=$W/pause
# (start_pause_symlink), the `pause` symlink with no arguments.
start_pause() {
    if pid1_bg "$W/out" "$W/err" -- "$@" && wait_for 5 alive "$P1"; then
        CLEANUP="$CLEANUP $BG $P1"
        sleep 0.1   # let it reach its event loop
        return 0
    fi
    t_fail "pause${PID1_EXE:+ ($PID1_EXE)} did not start: $(head -c 300 "$W/err")"
    bg_kill
    return 1
}

# start_pause_symlink: the binary invoked as `pause` (a symlink), as PID 1.
start_pause_symlink() { PID1_EXE=$W/pause start_pause; }

# ignores SIG...: each signal sent to P1 leaves it running (and not stopped).
ignores() {
    local s
    for s in "$@"; do
        kill -s "$s" "$P1" 2>/dev/null || t_fail "kill -$s failed"
        sleep 0.15
        alive "$P1" || { t_fail "pause is gone or stopped after SIG$s (state $(proc_state "$P1"))"; return; }
    done
}

# stops_with SIG: SIG makes P1 exit 0 within 2 s.
stops_with() {
    local start el
    start=$(now_ms)
    kill -s "$1" "$P1"
    bg_wait 2
    el=$(( $(now_ms) - start ))
    assert_eq 0 "$RC" "exit status after SIG$1"
    [ "$el" -lt 2000 ] || t_fail "took ${el} ms to exit after SIG$1"
}

# ============================================================================
# As PID 1
# ============================================================================

t_begin "pause as PID 1 ignores SIGHUP"
if start_pause pause; then
    ignores HUP
fi
t_end

t_begin "pause as PID 1 ignores SIGUSR1"
if [ -n "$P1" ] && alive "$P1"; then ignores USR1; else t_fail "no pause running"; fi
t_end

t_begin "pause as PID 1 ignores USR2, QUIT, PIPE, ALRM, WINCH, URG, CONT, TSTP, TTIN, TTOU, SIGRTMIN+1, 64"
if [ -n "$P1" ] && alive "$P1"; then
    ignores USR2 QUIT PIPE ALRM WINCH URG CONT TSTP TTIN TTOU 35 64
else
    t_fail "no pause running"
fi
t_end

t_begin "pause as PID 1: SIGTERM → exit 0 at once"
if [ -n "$P1" ] && alive "$P1"; then stops_with TERM; else t_fail "no pause running"; bg_kill; fi
t_end

t_begin "pause as PID 1: SIGINT → exit 0 at once"
if start_pause pause; then
    stops_with INT
fi
t_end

t_begin "invoked as 'pause' (symlink), PID 1: ignores HUP and USR1, SIGTERM → 0"
if start_pause_symlink; then
    ignores HUP USR1
    stops_with TERM
fi
t_end

t_begin "invoked as 'pause' (symlink), PID 1: SIGINT → 0"
if start_pause_symlink; then
    stops_with INT
fi
t_end

t_begin "pause with a bad PODINIT_CONFIG still runs (it reads no config file)"
echo 'this is = not [ toml' >"$W/bad.toml"
if PODINIT_CONFIG=$W/bad.toml start_pause pause; then
    stops_with TERM
fi
t_end

# ============================================================================
# Version, arguments
# ============================================================================

VRE="^podinit version ${VERSION//./\\.} - git\.[0-9a-f]{7,40}$"

t_begin "'pause -V', 'pause --version' and 'podinit pause -V' print the version"
for cmd in "$W/pause -V" "$W/pause --version" "$PODINIT pause -V"; do
    out=$(timeout -s KILL 5 $cmd 2>&1)
    rc=$?
    assert_eq 0 "$rc" "exit status of '$cmd'"
    [[ $out =~ $VRE ]] || t_fail "'$cmd' printed '$out'"
done
t_end

t_begin "'pause extra-arg' and 'podinit pause -x': exit 2, one stderr line, nothing run"
for cmd in "$W/pause extra-arg" "$PODINIT pause -x"; do
    rc=0
    timeout -s KILL 5 $cmd >"$W/out" 2>"$W/err" || rc=$?
    assert_eq 2 "$rc" "exit status of '$cmd'"
    assert_eq 1 "$(wc -l <"$W/err" | tr -d ' ')" "stderr lines of '$cmd' ($(head -c 200 "$W/err"))"
done
t_end

# ============================================================================
# cwd and inherited fds
# ============================================================================

# check_pinned P: cwd of P is / and no fd above 2 is one of the inherited ones
# (5 -> /dev/null, 7 -> $W/held); podinit's own fds (signalfd, pipes) are fine.
check_pinned() {
    assert_eq / "$(readlink "/proc/$1/cwd")" "cwd of pause"
    local f t
    for f in /proc/$1/fd/*; do
        [ "${f##*/}" -le 2 ] && continue
        t=$(readlink "$f")
        case $t in /dev/null | "$W/held") t_fail "pause holds inherited fd ${f##*/} -> $t" ;; esac
    done
}

echo held >"$W/held"

t_begin "pause as PID 1: cwd is / and inherited fds 5 and 7 are closed"
(cd "$W" && exec 5</dev/null 7<"$W/held" && start_pause pause && echo "$BG $P1" >"$W/pids") || true
read -r BG P1 <"$W/pids" 2>/dev/null || { BG="" P1=""; }
if [ -n "$P1" ]; then
    check_pinned "$P1"
    kill -KILL "$P1" "$BG" 2>/dev/null
else
    t_fail "pause did not start"
fi
t_end

t_begin "pause not PID 1: cwd is / and inherited fds 5 and 7 are closed"
(cd "$W" && exec "$PODINIT" pause 5</dev/null 7<"$W/held" >"$W/out" 2>"$W/err") &
P=$!
CLEANUP="$CLEANUP $P"
if wait_for 5 alive "$P"; then
    sleep 0.2
    check_pinned "$P"
else
    t_fail "pause did not start: $(head -c 200 "$W/err")"
fi
kill -TERM "$P" 2>/dev/null
timeout 2 tail --pid="$P" -f /dev/null || kill -KILL "$P" 2>/dev/null
wait "$P" 2>/dev/null
t_end

# ============================================================================
# Not PID 1
# ============================================================================

t_begin "pause not PID 1: ignores HUP and USR1, SIGTERM → 0"
host_pause
for s in HUP USR1; do
    kill -s "$s" "$P"
    sleep 0.15
    alive "$P" || t_fail "pause gone or stopped after SIG$s"
done
stop_host_pause TERM
t_end

t_begin "pause not PID 1: SIGINT → 0"
host_pause
stop_host_pause INT
t_end

t_begin "pause not PID 1 is a subreaper: an orphan below it is re-parented to it and reaped"
# sh forks a helper, then exec's pause; 0.3 s later the helper orphans a sleep,
# which must go to pause (subreaper), not to the host's init.
rm -f "$W/orphan.pid"
sh -c "sh -c 'sleep 0.3; (sleep 0.6 & echo \$! >\"\$1\"); sleep 0.1' sh '$W/orphan.pid' & exec '$PODINIT' pause" >"$W/out" 2>"$W/err" &
P=$!
CLEANUP="$CLEANUP $P"
assert_orphan_reaped "$W/orphan.pid" "$P" 0.5 pause "$W/err"
[ -n "$ORPHAN" ] && [ -e "/proc/$ORPHAN" ] && t_fail "orphan $ORPHAN was not reaped"
assert_eq "" "$(zombie_children "$P" | tr '\n' ' ')" "zombie children of pause (the helper sh)"
stop_host_pause TERM
t_end

# ============================================================================
# Joining the namespace: the --pid=container: pattern
# ============================================================================

t_begin "a process joined with nsenter --pid --mount sees podinit pause as PID 1"
if start_pause pause; then
    NS=$(pidns_of "$P1")
    out=$(timeout -s KILL 5 nsenter --target "$P1" --pid --mount -- sh -c 'cat /proc/1/comm; tr "\0" " " </proc/1/cmdline; echo; echo $$' 2>&1)
    comm=$(sed -n 1p <<<"$out") cmdline=$(sed -n 2p <<<"$out") self=$(sed -n 3p <<<"$out")
    assert_eq podinit "$comm" "comm of PID 1"
    assert_eq "$PODINIT pause " "$cmdline" "cmdline of PID 1"
    [ -n "$self" ] && [ "$self" != 1 ] || t_fail "joined process has pid '$self' in the namespace"
fi
t_end

t_begin "an orphan made by a joined process is re-parented to pause (PID 1) and reaped"
if [ -n "$P1" ] && alive "$P1"; then
    timeout -s KILL 10 nsenter --target "$P1" --pid --mount -- sh -c 'sh -c "sleep 0.5 &"; sleep 1.2' >"$W/ns.out" 2>"$W/ns.err" &
    J=$!
    wait_for 2 ns_has_orphan "$NS" "$P1" sleep || t_fail "no orphaned sleep with pause as its parent: $(ns_procs "$NS" | tr '\n' ';')"
    wait "$J"
    sleep 0.5
    assert_eq "" "$(ns_zombies "$NS" | tr '\n' ' ')" "zombies in the namespace"
    assert_eq "$P1" "$(ns_procs "$NS" | awk '{ print $1 }' | tr '\n' ' ' | sed 's/ $//')" "processes left in the namespace"
else
    t_fail "no pause running"
fi
t_end

t_begin "100 orphans made by a joined process: no zombie 1 s after they exit"
if [ -n "$P1" ] && alive "$P1"; then
    timeout -s KILL 30 nsenter --target "$P1" --pid --mount -- sh -c \
        'i=0; while [ $i -lt 100 ]; do (sleep 0.1 &); i=$((i + 1)); done' >"$W/ns.out" 2>"$W/ns.err"
    sleep 1.1
    assert_eq "" "$(ns_zombies "$NS" | tr '\n' ' ')" "zombies in the namespace"
else
    t_fail "no pause running"
fi
t_end

t_begin "pause idles with zero wakeups (2 s, after reaping)"
if [ -n "$P1" ] && alive "$P1"; then
    a=$(idle_counters "$P1")
    sleep 2
    b=$(idle_counters "$P1")
    assert_eq "$a" "$b" "pause's voluntary/nonvoluntary context switches and run count"
else
    t_fail "no pause running"
fi
t_end

t_begin "SIGTERM with a joined process still running: pause exits 0 and the namespace is emptied"
if [ -n "$P1" ] && alive "$P1"; then
    (timeout -s KILL 10 nsenter --target "$P1" --pid --mount -- sleep 30; true) >/dev/null 2>&1 &
    J=$!
    wait_for 3 ns_has_comm "$NS" sleep || t_fail "the joined sleep did not show up in the namespace"
    stops_with TERM
    wait_for 3 ns_empty "$NS" || t_fail "left in the namespace: $(ns_procs "$NS" | tr '\n' ';')"
    kill -KILL "$J" 2>/dev/null
    wait "$J" 2>/dev/null
else
    t_fail "no pause running"
fi
t_end

t_begin "pause idles with zero wakeups right after start-up (2 s)"
if start_pause pause; then
    sleep 0.3
    a=$(idle_counters "$P1")
    sleep 2
    b=$(idle_counters "$P1")
    assert_eq "$a" "$b" "pause's voluntary/nonvoluntary context switches and run count"
    stops_with TERM
fi
t_end

t_summary
