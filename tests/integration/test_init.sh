#!/usr/bin/env bash
# Init mode (SPEC §2, issue 3 "Tests"): the real binary as PID 1 of a fresh PID
# namespace (`unshare --pid --fork --mount-proc`), and as a plain process where
# that is the point (subreaper, start-up races, speed).
#
# Every wait is bounded: a hang fails the case instead of blocking the suite.
# Needs root, python3, script(1) and ps.

. "$(dirname "$0")/../lib.sh"
T_SUITE=init
SIGCATCH=$ROOT/tests/helpers/sigcatch.py
# The real interpreter, not a wrapper such as a pyenv shim (which forks helpers).
PY=$(python3 -c 'import sys; print(sys.executable)')
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n1)

# A failed case lists what it left running in CLEANUP (lib.sh kills it on exit).

# lines FILE: number of lines in FILE.
lines() { wc -l <"$1" | tr -d ' '; }

# one_line_naming FILE WORD: FILE (stderr) is exactly one line and mentions WORD.
one_line_naming() {
    assert_eq 1 "$(lines "$1")" "stderr line count ($(head -c 300 "$1"))"
    assert_contains "$(cat "$1")" "$2" "stderr"
}

# sigblk PID: true once PID's SigBlk is not empty (podinit has blocked its signals).
sigblk() {
    local l
    while IFS= read -r l; do
        case $l in SigBlk:*) [ "${l##*[[:space:]]}" != 0000000000000000 ]; return ;; esac
    done <"/proc/$1/status"
    return 1
}

# ctxt PID: "voluntary nonvoluntary" context switches of PID.
ctxt() { awk '/^(non)?voluntary_ctxt_switches/ { printf "%s ", $2 }' "/proc/$1/status" 2>/dev/null; }

# stat_field LINE N: field N of a /proc/PID/stat line (1 = pid, 3 = state, 5 = pgrp,
# 7 = tty_nr, 8 = tpgid); the command name (field 2) may hold spaces.
stat_field() {
    local -a f
    read -r -a f <<<"${1##*) }"
    if [ "$2" = 1 ]; then echo "${1%% *}"; else echo "${f[$(($2 - 3))]:-}"; fi
}

# Predicates for wait_for (which re-runs a command, so no $(...) in its arguments).
child_comm_is() { local c; c=$(child_of "$1"); [ -n "$c" ] && [ "$(cat "/proc/$c/comm" 2>/dev/null)" = "$2" ]; }

# usec: microseconds since the epoch, without a fork.
usec() { local t=${EPOCHREALTIME/./}; echo "$t"; }

W=$T_TMP/w
mkdir -p "$W"

# ============================================================================
# Exit status
# ============================================================================

for code in 0 1 2 42 255; do
    t_begin "exit code $code of the child is podinit's exit code"
    as_pid1 10 -- sh -c "exit $code" >"$W/out" 2>"$W/err"
    assert_eq "$code" "$RC" "exit status"
    t_end
done

t_begin "126 for a file that is not executable, one stderr line naming it"
printf '#!/bin/sh\necho ran\n' >"$W/not-exec"
chmod 644 "$W/not-exec"
as_pid1 10 -- "$W/not-exec" >"$W/out" 2>"$W/err"
assert_eq 126 "$RC" "exit status"
one_line_naming "$W/err" "$W/not-exec"
assert_eq "" "$(cat "$W/out")" "stdout"
t_end

t_begin "126 for a directory given as CMD"
as_pid1 10 -- "$W" >"$W/out" 2>"$W/err"
assert_eq 126 "$RC" "exit status"
one_line_naming "$W/err" "$W"
t_end

t_begin "127 for a path that does not exist, one stderr line naming it"
as_pid1 10 -- /nonexistent/podinit-no-such-cmd arg >"$W/out" 2>"$W/err"
assert_eq 127 "$RC" "exit status"
one_line_naming "$W/err" "/nonexistent/podinit-no-such-cmd"
t_end

t_begin "127 for a name not found on PATH, one stderr line naming it"
as_pid1 10 -- podinit-no-such-cmd-xyz >"$W/out" 2>"$W/err"
assert_eq 127 "$RC" "exit status"
one_line_naming "$W/err" "podinit-no-such-cmd-xyz"
t_end

for pair in TERM:15 INT:2 HUP:1 KILL:9; do
    sig=${pair%%:*} n=${pair##*:}
    t_begin "child killing itself with SIG$sig: exit $((128 + n))"
    as_pid1 10 -- sh -c "kill -$sig \$\$; sleep 5" >"$W/out" 2>"$W/err"
    assert_eq $((128 + n)) "$RC" "exit status"
    t_end
done

# ============================================================================
# Signal forwarding
# ============================================================================

# The child (helpers/sigcatch.py) blocks every signal and logs "SIGNO SENDER" per
# signal it receives. Each signal is sent from the host to podinit (PID 1) and
# must reach the child, sent by podinit (pid 1 in the child's namespace).
SENT=""
rm -f "$W/sigs" "$W/sigs.ready"
if ! pid1_bg "$W/sig.out" "$W/sig.err" -- "$PY" "$SIGCATCH" "$W/sigs" || ! wait_for 10 test -e "$W/sigs.ready"; then
    t_begin "signal forwarding: child set up"
    t_fail "podinit/sigcatch did not start: $(cat "$W/sig.err")"
    t_end
    bg_kill
else
    CLEANUP="$CLEANUP $BG $P1"
    CHILD=$(child_of "$P1")
    for n in $(seq 1 31) 35 40 64; do
        case $n in 9 | 17 | 19) continue ;; esac   # KILL, CHLD, STOP
        name=$(kill -l "$n")
        t_begin "signal $n (SIG$name) sent to PID 1 reaches the child"
        kill -s "$n" "$P1" 2>/dev/null || t_fail "kill -$n $P1 failed"
        SENT="$SENT $n"
        wait_for 2 grep -qx "$n 1" "$W/sigs" || t_fail "child did not get signal $n from podinit; got: $(tr '\n' ',' <"$W/sigs")"
        case $n in
        20 | 21 | 22)   # TSTP, TTIN, TTOU: forwarded, and podinit itself is not stopped
            sleep 0.2
            assert_ne T "$(proc_state "$P1")" "podinit state after SIG$name"
            kill -CONT "$P1" 2>/dev/null ;;  # harmless if it works; restores it if it was stopped
        esac
        kill -0 "$P1" 2>/dev/null || t_fail "podinit died on SIG$name"
        t_end
    done
    # The SIGCONTs just sent for TSTP/TTIN/TTOU are forwarded too; let them land.
    sleep 0.2

    t_begin "the child got nothing it was not sent, and SIGCHLD is never forwarded"
    got=$(awk '{ print $1 }' "$W/sigs" | sort -n | uniq | tr '\n' ' ')
    for n in $got; do
        case " $SENT 18 " in *" $n "*) ;; *) t_fail "child got signal $n which nobody sent" ;; esac
    done
    t_end

    t_begin "child killed by SIGKILL (from outside): exit 137"
    kill -KILL "$CHILD"
    bg_wait 10
    assert_eq 137 "$RC" "exit status"
    t_end
fi

t_begin "TERM to podinit kills a default-disposition child: exit 143"
pid1_bg "$W/out" "$W/err" -- sleep 30
wait_for 5 has_child "$P1"
sleep 0.1
kill -TERM "$P1"
bg_wait 10
assert_eq 143 "$RC" "exit status"
t_end

t_begin "not PID 1: signals are forwarded and TSTP/TTIN/TTOU do not stop podinit"
rm -f "$W/psigs" "$W/psigs.ready"
"$PODINIT" -- "$PY" "$SIGCATCH" "$W/psigs" >"$W/out" 2>"$W/err" &
P=$!
CLEANUP="$CLEANUP $P"
if wait_for 10 test -e "$W/psigs.ready"; then
    for n in 1 2 3 10 12 13 14 15 18 20 21 22 23 28 35 64; do
        kill -s "$n" "$P"
        wait_for 2 grep -qx "$n $P" "$W/psigs" || t_fail "child did not get signal $n from podinit"
        case $n in 20 | 21 | 22)
            sleep 0.2
            assert_ne T "$(proc_state "$P")" "podinit state after signal $n"
            kill -CONT "$P" ;;
        esac
    done
else
    t_fail "sigcatch did not start: $(cat "$W/err")"
fi
kill -KILL "$(child_of "$P")" 2>/dev/null
RC=0
timeout 10 tail --pid="$P" -f /dev/null || { t_fail "podinit did not exit after its child was killed"; kill -KILL "$P"; }
wait "$P" || RC=$?
assert_eq 137 "$RC" "exit status"
t_end

# ============================================================================
# Reaping
# ============================================================================

cat >"$W/orphans.sh" <<'EOF'
#!/bin/sh
# orphans.sh DIR: 200 double-forked `sleep 0.1`s, one long orphan, then wait for DIR/go.
i=0
while [ $i -lt 200 ]; do
    (sleep 0.1 &)
    i=$((i + 1))
done
(exec sleep 30 &)
touch "$1/spawned"
while [ ! -e "$1/go" ]; do sleep 0.05; done
EOF
rm -f "$W/spawned" "$W/go"
pid1_bg "$W/orph.out" "$W/orph.err" -- sh "$W/orphans.sh" "$W"
NS=$(pidns_of "$P1")
t_begin "200 orphans: none is left a zombie 1 s after they exit"
if wait_for 30 test -e "$W/spawned"; then
    sleep 1.2
    z=$(ns_zombies "$NS" | tr '\n' ' ')
    assert_eq "" "$z" "zombies in podinit's namespace"
    [ -n "$z" ] && echo "    processes: $(ns_procs "$NS" | awk '{ print $2 }' | sort | uniq -c | tr '\n' ' ')" >&2
else
    t_fail "the orphan script did not finish spawning: $(cat "$W/orph.err")"
fi
t_end

t_begin "an orphan is re-parented to podinit (PID 1)"
long=$(ns_procs "$NS" | awk -v p1="$P1" '$4 == "sleep" && $3 == p1 { print $1 }' | head -n1)
[ -n "$long" ] || t_fail "no orphaned sleep has podinit as parent: $(ns_procs "$NS" | tr '\n' ';')"
t_end

t_begin "main child exits 0 with an orphan still running: podinit stops it and exits 0"
start=$(now_ms)
touch "$W/go"
bg_wait 10
assert_eq 0 "$RC" "exit status"
el=$(( $(now_ms) - start ))
[ "$el" -lt 4000 ] || t_fail "took ${el} ms (default grace is 5 s; the orphan sleep dies on TERM at once)"
t_end

# ============================================================================
# Start-up races and speed
# ============================================================================

t_begin "TERM right at start-up as PID 1 never hangs (200 tries)"
# The kernel drops a signal sent from outside to a namespace's PID 1 while that
# signal has the default disposition and is not blocked, so the earliest TERM
# that means anything arrives once podinit's SigBlk is set; send it right then.
PODINIT_COMM=$(basename "$PODINIT" | cut -c1-15)
hung=0 wrong="" unblocked=0
for i in $(seq 1 200); do
    unshare --pid --fork --mount-proc "$PODINIT" -- sleep 30 >/dev/null 2>"$W/race.err" &
    bg=$!
    p=""
    end=$(( $(usec) + 2000000 ))
    while [ -z "$p" ] && [ "$(usec)" -lt "$end" ]; do
        read -r p _ <"/proc/$bg/task/$bg/children" 2>/dev/null
    done
    ok=0
    # podinit must have exec'd: unshare's forked child briefly blocks INT/TERM itself.
    while [ -n "$p" ] && [ -e "/proc/$p" ] && [ "$(usec)" -lt "$end" ]; do
        comm=""
        read -r comm <"/proc/$p/comm" 2>/dev/null
        [ "$comm" = "$PODINIT_COMM" ] && sigblk "$p" 2>/dev/null && { ok=1; break; }
    done
    [ "$ok" = 1 ] || unblocked=$((unblocked + 1))
    [ -n "$p" ] && kill -TERM "$p" 2>/dev/null
    end=$(( $(usec) + 5000000 ))
    while kill -0 "$bg" 2>/dev/null && [ "$(usec)" -lt "$end" ]; do sleep 0.01; done
    if kill -0 "$bg" 2>/dev/null; then
        hung=$((hung + 1))
        kill -KILL "$p" "$bg" 2>/dev/null
    fi
    rc=0
    wait "$bg" || rc=$?
    [ "$rc" = 143 ] || wrong="$wrong $rc"
    [ "$hung" -ge 3 ] && break   # enough evidence; keep the suite bounded
done
assert_eq 0 "$hung" "tries that hung (> 5 s)"
assert_eq "" "$wrong" "exit codes other than 143"
assert_eq 0 "$unblocked" "tries where podinit was never seen blocking signals"
t_end

t_begin "TERM right at start-up, not PID 1, never hangs (200 tries, sent at once)"
res=$(timeout -s KILL 150 "$PY" "$ROOT/tests/helpers/term_race.py" 200 "$PODINIT" -- sleep 30 2>"$W/race.err")
hung=$(sed -n 's/^hung=\([0-9]*\) .*/\1/p' <<<"$res")
assert_eq 0 "${hung:-timeout}" "tries that hung (> 5 s) [$(head -c 300 "$W/race.err")]"
codes=$(sed -n 's/.* codes=//p' <<<"$res" | tr ',' '\n' | sort | uniq -c | awk '{ printf "%s×%s ", $2, $1 }')
assert_eq "143×200 " "$codes" "exit codes"
t_end

# many_true N LAUNCHER...: run `LAUNCHER... podinit -- true` N times (bounded);
# prints the non-zero exit codes as "run:code" (nothing when all exited 0).
many_true() {
    local n=$1; shift
    timeout -s KILL 120 bash -c '
        n=$1; shift
        for i in $(seq 1 "$n"); do
            "$@" -- true 2>>"$ERRF" || echo "$i:$?"
        done
        echo done' _ "$n" "$@" "$PODINIT"
}

t_begin "1000 runs of 'podinit -- true' all exit 0"
: >"$W/true.err"
res=$(ERRF=$W/true.err many_true 1000 | tr '\n' ' ')
assert_eq "done " "$res" "runs not exiting 0 (run:code) [stderr: $(sort "$W/true.err" | uniq -c | head -n3 | tr '\n' ' ')]"
t_end

t_begin "100 runs of 'podinit -- true' as PID 1 all exit 0"
: >"$W/true.err"
res=$(ERRF=$W/true.err many_true 100 unshare --pid --fork --mount-proc | tr '\n' ' ')
assert_eq "done " "$res" "runs not exiting 0 (run:code) [stderr: $(sort "$W/true.err" | uniq -c | head -n3 | tr '\n' ' ')]"
t_end

# ============================================================================
# What the child starts with
# ============================================================================

# check_sig_clean FILE: FILE is the child's /proc/self/status (read by cat, which
# installs no handlers; grep does, for SIGSEGV): SigBlk, SigIgn, SigCgt all zero.
check_sig_clean() {
    local f
    for f in SigBlk SigIgn SigCgt; do
        assert_eq "$f:"$'\t'"0000000000000000" "$(grep "^$f:" "$1")" "$f"
    done
}

t_begin "child (PID 2) starts with empty SigBlk, SigIgn and SigCgt"
as_pid1 10 -- cat /proc/self/status >"$W/out" 2>"$W/err"
assert_eq 0 "$RC" "exit status"
check_sig_clean "$W/out"
t_end

# A hostile caller: SIGPIPE/USR1/HUP and the real-time 40 and 64 ignored,
# USR2/TERM/RTMIN+1 blocked, as an exec'ing parent can leave them. podinit must
# not hand them down.
HOSTILE='import os, signal, sys
for s in (signal.SIGPIPE, signal.SIGUSR1, signal.SIGHUP, 40, 64): signal.signal(s, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2, signal.SIGTERM, 35})
os.execvp(sys.argv[1], sys.argv[1:])'

t_begin "caller with ignored and blocked signals: the child (PID 2) still starts clean"
timeout -s KILL 10 "$PY" -c "$HOSTILE" unshare --pid --fork --mount-proc "$PODINIT" -- \
    cat /proc/self/status >"$W/out" 2>"$W/err"
check_sig_clean "$W/out"
t_end

t_begin "caller with ignored and blocked signals: the child (not PID 1) still starts clean"
timeout -s KILL 10 "$PY" -c "$HOSTILE" "$PODINIT" -- \
    cat /proc/self/status >"$W/out" 2>"$W/err"
check_sig_clean "$W/out"
t_end

t_begin "SIGPIPE is not ignored in the child: 'podinit -- yes | head -c1' exits 141"
timeout -s KILL 10 unshare --pid --fork --mount-proc "$PODINIT" -- yes 2>"$W/err" | head -c1 >/dev/null
assert_eq 141 "${PIPESTATUS[0]}" "podinit (PID 1) exit status"
timeout -s KILL 10 "$PY" -c "$HOSTILE" "$PODINIT" -- yes 2>"$W/err" | head -c1 >/dev/null
assert_eq 141 "${PIPESTATUS[0]}" "podinit (not PID 1, SIGPIPE ignored by its caller) exit status"
t_end

t_begin "environment passes through unchanged (nothing added, nothing lost)"
timeout -s KILL 10 env -i A=1 'B=x y' 'C=$(D)' PATH=/usr/bin:/bin unshare --pid --fork --mount-proc \
    "$PODINIT" -- env >"$W/out" 2>"$W/err"
assert_eq "A=1|B=x y|C=\$(D)|PATH=/usr/bin:/bin" "$(sort "$W/out" | paste -sd'|')" "child's environment"
timeout -s KILL 10 env -i A=1 PATH=/usr/bin:/bin "$PODINIT" -- env >"$W/out" 2>"$W/err"
assert_eq "A=1|PATH=/usr/bin:/bin" "$(sort "$W/out" | paste -sd'|')" "child's environment (not PID 1)"
t_end

# ============================================================================
# Bytes, not strings: argv, environment and file names that are not UTF-8
# reach the child unchanged (tini, catatonit and dumb-init run them too)
# ============================================================================

# hex FILE: the bytes of FILE as one hex string.
hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }

t_begin "argv that is not UTF-8 reaches the child byte for byte (PID 1 and not)"
# $1 = a 0xff b, $2 = 0xfe 0x80 (not even a valid UTF-8 prefix), $3 = plain.
as_pid1 10 -- sh -c 'printf "%s|%s|%s" "$1" "$2" "$3" > "$0"' "$W/argv.out" $'a\xffb' $'\xfe\x80' plain 2>"$W/err"
assert_eq 0 "$RC" "exit status ($(head -c 300 "$W/err"))"
assert_eq "61ff627cfe807c706c61696e" "$(hex "$W/argv.out" 2>/dev/null)" "argv bytes seen by the child"
rm -f "$W/argv.out"
timeout -s KILL 10 "$PODINIT" -- sh -c 'printf "%s" "$1" > "$0"' "$W/argv.out" $'\xff' 2>"$W/err"
assert_eq "ff" "$(hex "$W/argv.out" 2>/dev/null)" "argv bytes (not PID 1; $(head -c 300 "$W/err"))"
t_end

t_begin "environment names and values that are not UTF-8 pass through (PID 1)"
timeout -s KILL 10 env -i $'V=x\xffy' $'K\xfe=1' PATH=/usr/bin:/bin unshare --pid --fork --mount-proc \
    "$PODINIT" -- env >"$W/env.out" 2>"$W/err"
assert_eq 0 "$?" "exit status ($(head -c 300 "$W/err"))"
# env prints in environ order; sort the lines (as bytes) for a stable comparison.
LC_ALL=C sort "$W/env.out" >"$W/env.sorted"
printf '%s\n' $'K\xfe=1' PATH=/usr/bin:/bin $'V=x\xffy' | LC_ALL=C sort >"$W/env.want"
assert_eq "$(hex "$W/env.want")" "$(hex "$W/env.sorted")" "the child's environment, as bytes"
t_end

t_begin "a program whose file name is not UTF-8 runs, by path and through PATH (PID 1)"
BIN=$W/bin$'\xfe'
mkdir -p "$BIN"
printf '#!/bin/sh\necho "ran $*"\nexit 7\n' >"$BIN/s"$'\xff'"h"
chmod 755 "$BIN/s"$'\xff'"h"
as_pid1 10 -- "$BIN/s"$'\xff'"h" by-path >"$W/out" 2>"$W/err"
assert_eq 7 "$RC" "exit status by path ($(head -c 300 "$W/err"))"
assert_eq "ran by-path" "$(cat "$W/out")" "output by path"
PATH="$BIN:/usr/bin:/bin" as_pid1 10 -- "s"$'\xff'"h" via-path >"$W/out" 2>"$W/err"
assert_eq 7 "$RC" "exit status through PATH ($(head -c 300 "$W/err"))"
assert_eq "ran via-path" "$(cat "$W/out")" "output through PATH"
# Not found: 127 and one line naming it (lossily: the message is text).
as_pid1 10 -- "$BIN/nope"$'\xff' >"$W/out" 2>"$W/err"
assert_eq 127 "$RC" "exit status of a missing file with such a name"
one_line_naming "$W/err" "nope"
t_end

t_begin "pod mode: an inherited variable that is not UTF-8 reaches the app, and podinit does not panic"
mkdir -p "$W/podenv"
cat >"$W/podenv/pod.toml" <<EOF
name = "bytes"
restart_policy = "Never"
marker_dir = "$W/podenv/markers"
state_dir = "$W/podenv/state"

[env]
X = "from-the-pod-file"

[[app]]
name = "app"
command = ["sh", "-c", "printf '%s|%s' \"\$V\" \"\$X\" > $W/podenv/out"]
EOF
timeout -s KILL 20 env $'V=a\xffb' X=inherited unshare --pid --fork --mount-proc "$PODINIT" run -c "$W/podenv/pod.toml" \
    >/dev/null 2>"$W/err"
assert_eq 0 "$?" "exit status ($(head -c 300 "$W/err"))"
assert_eq "61ff627c66726f6d2d7468652d706f642d66696c65" "$(hex "$W/podenv/out" 2>/dev/null)" "V's bytes | X from the pod file"
t_end

t_begin "cwd passes through"
mkdir -p "$W/work dir"
(cd "$W/work dir" && as_pid1 10 -- readlink /proc/self/cwd >"$W/out" 2>"$W/err")
assert_eq "$W/work dir" "$(cat "$W/out")" "child's cwd"
t_end

t_begin "stdin, stdout and stderr pass through"
# A here-string, not a pipeline: in a pipeline as_pid1 would set RC in a subshell.
as_pid1 10 -- cat <<<hi >"$W/out" 2>"$W/err"
assert_eq 0 "$RC" "exit status"
assert_eq hi "$(cat "$W/out")" "echo hi | podinit -- cat"
echo hi | "$PODINIT" -- cat >"$W/out2" 2>"$W/err"
assert_eq hi "$(cat "$W/out2")" "echo hi | podinit -- cat (not PID 1)"
as_pid1 10 -- sh -c 'echo to-out; echo to-err >&2' >"$W/out" 2>"$W/err"
assert_eq to-out "$(cat "$W/out")" "stdout"
assert_eq to-err "$(cat "$W/err")" "stderr"
t_end

t_begin "child's fds are only 0, 1, 2 when the caller passes only those (podinit's own are close-on-exec)"
# The caller closes every fd above 2 first (CI and test harnesses leak some).
"$PY" -c 'import os, sys; os.closerange(3, 65536); os.execvp(sys.argv[1], sys.argv[1:])' \
    unshare --pid --fork --mount-proc "$PODINIT" -- sleep 30 >"$W/fd.out" 2>"$W/fd.err" &
BG=$!
P1=""
wait_for 5 has_child "$BG" && P1=$(child_of "$BG")
c=""
[ -n "$P1" ] && wait_for 5 child_comm_is "$P1" sleep && c=$(child_of "$P1")
if [ -n "$c" ]; then
    fds=$(cd /proc/$c/fd && for f in *; do echo "$f -> $(readlink "$f")"; done | sort -n)
    assert_eq "0 1 2" "$(ls /proc/$c/fd | sort -n | paste -sd' ')" "child's fds ($fds)"
    assert_eq "0 1 2" "$(ls /proc/$BG/fd | sort -n | paste -sd' ')" "fds of unshare (the test's own set-up)"
    kill -TERM "$P1"
else
    t_fail "child sleep not found: $(cat "$W/fd.err")"
fi
bg_wait 10
t_end

# ============================================================================
# -g, -e
# ============================================================================

cat >"$W/grandchild.sh" <<'EOF'
#!/bin/sh
# A process in the main child's process group that records a SIGTERM.
trap 'touch "$1/gc.term"; exit 0' TERM
touch "$1/gc.ready"
while :; do sleep 0.05; done
EOF
cat >"$W/groupmain.sh" <<'EOF'
#!/bin/sh
# Main child: starts grandchild.sh in its own group; on SIGTERM waits 0.5 s and
# writes DIR/verdict: "yes" if the grandchild got SIGTERM too, else "no".
d=$1
trap 'sleep 0.5; if [ -e "$d/gc.term" ]; then echo yes; else echo no; fi >"$d/verdict"; exit 0' TERM
sh "$d/grandchild.sh" "$d" &
while :; do sleep 0.05; done
EOF

# group_case EXPECT [ENV...] -- PODINIT_ARGS: TERM to podinit; did the grandchild get it while the main child lived?
group_case() {
    local expect=$1; shift
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    rm -f "$W/gc.term" "$W/gc.ready" "$W/verdict"
    env "${envs[@]}" unshare --pid --fork --mount-proc "$PODINIT" "$@" -- sh "$W/groupmain.sh" "$W" >"$W/g.out" 2>"$W/g.err" &
    BG=$!
    P1=""
    wait_for 5 has_child "$BG" && P1=$(child_of "$BG")
    if [ -z "$P1" ] || ! wait_for 5 test -e "$W/gc.ready"; then
        t_fail "set-up failed: $(cat "$W/g.err")"
        bg_kill
        return
    fi
    kill -TERM "$P1"
    bg_wait 10
    assert_eq 0 "$RC" "exit status (main child traps TERM and exits 0)"
    assert_eq "$expect" "$(cat "$W/verdict" 2>/dev/null)" "grandchild got SIGTERM before the main child exited"
    assert_file "$W/gc.term"   # after the main child exits, the sibling stop TERMs it anyway
}

t_begin "-g: SIGTERM goes to the child's whole process group"
group_case yes -- -g
t_end

t_begin "without -g: SIGTERM goes to the child only"
group_case no --
t_end

t_begin "PODINIT_KILL_PROCESS_GROUP=1 acts as -g"
group_case yes PODINIT_KILL_PROCESS_GROUP=1 --
t_end

t_begin "TINI_KILL_PROCESS_GROUP=1 acts as -g"
group_case yes TINI_KILL_PROCESS_GROUP=1 --
t_end

t_begin "-e 3 with exit 3: podinit exits 0"
as_pid1 10 -- -e 3 -- sh -c 'exit 3' >"$W/out" 2>"$W/err"
assert_eq 0 "$RC" "exit status"
t_end

t_begin "-e 143 with a SIGTERM death: podinit exits 0"
as_pid1 10 -- -e 143 -- sh -c 'kill -TERM $$; sleep 5' >"$W/out" 2>"$W/err"
assert_eq 0 "$RC" "exit status"
t_end

t_begin "-e 3 -e 4 with exit 4: podinit exits 0"
as_pid1 10 -- -e 3 -e 4 -- sh -c 'exit 4' >"$W/out" 2>"$W/err"
assert_eq 0 "$RC" "exit status"
t_end

t_begin "-e 3 with exit 4: the code is kept"
as_pid1 10 -- -e 3 -- sh -c 'exit 4' >"$W/out" 2>"$W/err"
assert_eq 4 "$RC" "exit status"
t_end

t_begin "-e 143 with exit 0 stays 0, and -e 0 with exit 5 stays 5"
as_pid1 10 -- -e 143 -- true >"$W/out" 2>"$W/err"
assert_eq 0 "$RC" "exit status"
as_pid1 10 -- -e 0 -- sh -c 'exit 5' >"$W/out" 2>"$W/err"
assert_eq 5 "$RC" "exit status"
t_end

# ============================================================================
# Not PID 1: subreaper
# ============================================================================

# subreaper_case [PODINIT_ARGS...]: plain podinit; its child leaves an orphan
# `sleep 0.5`, which must be re-parented to podinit and reaped. The child then
# blocks opening a FIFO (so it has no `sleep` of its own) until the test writes.
subreaper_case() {
    rm -f "$W/sr.go" "$W/sr.pid"
    mkfifo "$W/sr.go"
    "$PODINIT" "$@" -- sh -c "(sleep 0.5 & echo \$! >'$W/sr.pid'); read x <'$W/sr.go'" >"$W/sr.out" 2>"$W/sr.err" &
    local p=$!
    CLEANUP="$CLEANUP $p"
    assert_orphan_reaped "$W/sr.pid" "$p" 1 podinit "$W/sr.err"
    timeout -s KILL 5 sh -c "echo go >'$W/sr.go'"
    RC=0
    timeout 10 tail --pid="$p" -f /dev/null || t_fail "podinit did not exit"
    kill -KILL "$p" 2>/dev/null
    wait "$p" || RC=$?
    assert_eq 0 "$RC" "exit status"
}

t_begin "not PID 1: orphans are re-parented to podinit (automatic subreaper) and reaped"
subreaper_case
t_end

t_begin "-s: subreaper on request"
subreaper_case -s
t_end

t_begin "PODINIT_SUBREAPER=1 / TINI_SUBREAPER=1 are accepted"
PODINIT_SUBREAPER=1 subreaper_case
TINI_SUBREAPER=1 subreaper_case
t_end

# ============================================================================
# TTY
# ============================================================================

t_begin "TTY: the child gets its own process group, which is the terminal's foreground"
timeout -s KILL 10 script -qec "$PODINIT -- cat /proc/self/stat" /dev/null </dev/null >"$W/tty.out" 2>"$W/tty.err"
line=$(tr -d '\r' <"$W/tty.out" | grep ') ' | tail -n1)
pid=$(stat_field "$line" 1) pgrp=$(stat_field "$line" 5) tty=$(stat_field "$line" 7) tpgid=$(stat_field "$line" 8)
if [ -z "$line" ]; then
    t_fail "no stat line from the child: $(head -c 300 "$W/tty.out") $(head -c 300 "$W/tty.err")"
else
    assert_ne 0 "$tty" "child's controlling tty"
    assert_eq "$pid" "$pgrp" "child's process group (its own)"
    assert_eq "$pgrp" "$tpgid" "terminal's foreground process group"
fi
t_end

t_begin "TTY as PID 1: the child owns the foreground process group"
timeout -s KILL 10 script -qec "unshare --pid --fork --mount-proc $PODINIT -- cat /proc/self/stat" /dev/null </dev/null >"$W/tty.out" 2>"$W/tty.err"
line=$(tr -d '\r' <"$W/tty.out" | grep ') ' | tail -n1)
pgrp=$(stat_field "$line" 5) tpgid=$(stat_field "$line" 8)
if [ -z "$line" ]; then
    t_fail "no stat line from the child: $(head -c 300 "$W/tty.out") $(head -c 300 "$W/tty.err")"
else
    assert_eq 2 "$(stat_field "$line" 1)" "child's pid in the namespace"
    assert_eq "$pgrp" "$tpgid" "terminal's foreground process group"
fi
t_end

t_begin "TTY: Ctrl-C on the terminal interrupts the child (exit 130)"
start=$(now_ms)
{ sleep 1; printf '\003'; } | timeout -s KILL 10 script -qec "$PODINIT -- sleep 8" /dev/null >"$W/tty.out" 2>"$W/tty.err"
rc=${PIPESTATUS[1]}
assert_eq 130 "$rc" "exit status"
el=$(( $(now_ms) - start ))
[ "$el" -lt 6000 ] || t_fail "took ${el} ms: Ctrl-C did not stop the child"
t_end

# ============================================================================
# Graceful stop of what is left when the main child exits
# ============================================================================

cat >"$W/sib_trap.sh" <<'EOF'
#!/bin/sh
# A sibling that flushes on SIGTERM (takes 0.5 s) and then exits.
trap 'sleep 0.5; echo flushed >"$1/sib.done"; exit 0' TERM
echo $$ >"$1/sib.pid"
touch "$1/sib.ready"
while :; do sleep 0.05; done
EOF
cat >"$W/sib_ignore.sh" <<'EOF'
#!/bin/sh
# A sibling that ignores SIGTERM.
trap '' TERM
echo $$ >"$1/sib.pid"
touch "$1/sib.ready"
while :; do sleep 0.05; done
EOF
# main child: start the sibling in the background, wait until it is ready, exit 7.
SIBMAIN='sh "$1" "$2" & while [ ! -e "$2/sib.ready" ]; do sleep 0.02; done; exit 7'

t_begin "sibling graceful stop as PID 1: the sibling gets SIGTERM and finishes; exit is the main child's 7"
rm -f "$W/sib."*
start=$(now_ms)
as_pid1 15 -- sh -c "$SIBMAIN" sh "$W/sib_trap.sh" "$W" >"$W/out" 2>"$W/err"
el=$(( $(now_ms) - start ))
assert_eq 7 "$RC" "exit status"
assert_eq flushed "$(cat "$W/sib.done" 2>/dev/null)" "the sibling's SIGTERM handler ran to the end"
[ "$el" -lt 4000 ] || t_fail "took ${el} ms: podinit should exit once the sibling is gone, not wait out the 5 s grace"
t_end

t_begin "sibling ignoring SIGTERM gets SIGKILL after the grace (-t 1s), exit 7"
rm -f "$W/sib."*
start=$(now_ms)
as_pid1 15 -- -t 1s -- sh -c "$SIBMAIN" sh "$W/sib_ignore.sh" "$W" >"$W/out" 2>"$W/err"
el=$(( $(now_ms) - start ))
assert_eq 7 "$RC" "exit status"
[ "$el" -ge 900 ] || t_fail "took only ${el} ms: the sibling did not get its 1 s grace"
[ "$el" -lt 4000 ] || t_fail "took ${el} ms (grace 1 s)"
t_end

t_begin "not PID 1: a sibling below podinit gets SIGTERM and finishes; exit 7"
rm -f "$W/sib."*
timeout -s KILL 15 "$PODINIT" -- sh -c "$SIBMAIN" sh "$W/sib_trap.sh" "$W" >"$W/out" 2>"$W/err"
RC=$?
assert_eq 7 "$RC" "exit status"
assert_eq flushed "$(cat "$W/sib.done" 2>/dev/null)" "the sibling's SIGTERM handler ran to the end"
t_end

t_begin "not PID 1: a sibling ignoring SIGTERM is SIGKILLed after -t 1s, not leaked"
rm -f "$W/sib."*
start=$(now_ms)
timeout -s KILL 15 "$PODINIT" -t 1s -- sh -c "$SIBMAIN" sh "$W/sib_ignore.sh" "$W" >"$W/out" 2>"$W/err"
RC=$?
el=$(( $(now_ms) - start ))
assert_eq 7 "$RC" "exit status"
sib=$(cat "$W/sib.pid" 2>/dev/null)
if [ -n "$sib" ] && kill -0 "$sib" 2>/dev/null && [ "$(proc_state "$sib")" != Z ]; then
    t_fail "the sibling (pid $sib) outlived podinit"
    kill -KILL "$sib"
fi
[ "$el" -ge 900 ] || t_fail "took only ${el} ms: the sibling did not get its 1 s grace"
[ "$el" -lt 4000 ] || t_fail "took ${el} ms (grace 1 s)"
t_end

# ============================================================================
# docker stop: TERM, wait, KILL
# ============================================================================

t_begin "docker stop: TERM, child handles it and exits 0 → podinit exits 0 within 2 s"
rm -f "$W/ds.ready"
pid1_bg "$W/out" "$W/err" -- sh -c "trap 'exit 0' TERM; touch '$W/ds.ready'; while :; do sleep 0.05; done"
wait_for 5 test -e "$W/ds.ready" || t_fail "child did not start"
kill -TERM "$P1"
bg_wait 2
assert_eq 0 "$RC" "exit status"
t_end

t_begin "docker stop: child ignores TERM; podinit keeps running, SIGKILL after 2 s ends everything"
rm -f "$W/ds.ready"
pid1_bg "$W/out" "$W/err" -- sh -c "trap '' TERM; touch '$W/ds.ready'; while :; do sleep 0.05; done"
NS=$(pidns_of "$P1")
wait_for 5 test -e "$W/ds.ready" || t_fail "child did not start"
kill -TERM "$P1"
sleep 2
kill -0 "$P1" 2>/dev/null || t_fail "podinit exited on a forwarded TERM its child ignores"
kill -KILL "$P1"
wait_for 3 test ! -e "/proc/$P1" || t_fail "podinit still there 3 s after SIGKILL"
bg_wait 3
wait_for 3 ns_empty "$NS" || t_fail "processes left in the namespace: $(ns_procs "$NS" | tr '\n' ';')"
t_end

# ============================================================================
# -p, -w, idle
# ============================================================================

t_begin "-p SIGTERM: podinit gets TERM when its parent dies and stops the child"
rm -f "$W/pd.pid"
timeout -s KILL 10 sh -c '"$1" -p SIGTERM -- sleep 30 >/dev/null 2>&1 & echo $! >"$2"; sleep 0.3' sh "$PODINIT" "$W/pd.pid"
p=$(cat "$W/pd.pid")
wait_for 3 gone "$p" || { t_fail "podinit still running after its parent died"; pkill -KILL -P "$p"; kill -KILL "$p"; }
t_end

t_begin "without -p: podinit survives its parent's death"
timeout -s KILL 10 sh -c '"$1" -- sleep 30 >/dev/null 2>&1 & echo $! >"$2"; sleep 0.3' sh "$PODINIT" "$W/pd.pid"
p=$(cat "$W/pd.pid")
sleep 0.5
[ -e "/proc/$p" ] && [ "$(proc_state "$p")" != Z ] || t_fail "podinit died with its parent"
pkill -KILL -P "$p" 2>/dev/null
kill -KILL "$p" 2>/dev/null
t_end

t_begin "-w: a warning for a reaped zombie that is not the main child; none without -w"
as_pid1 10 -- -w -- sh -c '(sleep 0.1 &); sleep 0.6' >"$W/out" 2>"$W/err"
assert_eq 0 "$RC" "exit status"
assert_contains "$(cat "$W/err")" "reaped" "stderr with -w"
as_pid1 10 -- sh -c '(sleep 0.1 &); sleep 0.6' >"$W/out" 2>"$W/err"
assert_not_contains "$(cat "$W/err")" "reaped" "stderr without -w"
t_end

t_begin "idle init mode: zero wakeups of podinit over 2 s"
pid1_bg "$W/out" "$W/err" -- sleep 30
sleep 0.5
a=$(ctxt "$P1")
sleep 2
b=$(ctxt "$P1")
assert_eq "$a" "$b" "podinit's voluntary/nonvoluntary context switches"
kill -TERM "$P1"
bg_wait 10
t_end

# ============================================================================
# Command line
# ============================================================================

# bad_flag ARGS...: exit 1 (as tini), exactly one stderr line, nothing on stdout, nothing started.
bad_flag() {
    rm -f "$W/started"
    local rc=0
    timeout -s KILL 10 "$PODINIT" "$@" >"$W/out" 2>"$W/err" || rc=$?
    assert_eq 1 "$rc" "exit status"
    assert_eq 1 "$(lines "$W/err")" "stderr lines ($(head -c 300 "$W/err"))"
    assert_eq "" "$(cat "$W/out")" "stdout"
    assert_no_file "$W/started"
}

t_begin "bad flag: -e 300"
bad_flag -e 300 -- touch "$W/started"
assert_contains "$(cat "$W/err")" "300"
t_end

t_begin "bad flag: -e x"
bad_flag -e x -- touch "$W/started"
t_end

t_begin "bad flag: -p SIGFOO"
bad_flag -p SIGFOO -- touch "$W/started"
assert_contains "$(cat "$W/err")" "SIGFOO"
t_end

t_begin "bad flag: -t 10x"
bad_flag -t 10x -- touch "$W/started"
assert_contains "$(cat "$W/err")" "10x"
t_end

t_begin "bad flag: unknown option -Z"
bad_flag -Z -- touch "$W/started"
t_end

t_begin "no command: 'podinit' and 'podinit --'"
bad_flag
bad_flag --
t_end

t_begin "bad flag as PID 1: exit 1, one stderr line"
as_pid1 10 -- -e 300 -- touch "$W/started" >"$W/out" 2>"$W/err"
assert_eq 1 "$RC" "exit status"
assert_eq 1 "$(lines "$W/err")" "stderr lines"
assert_no_file "$W/started"
t_end

t_begin "bad PODINIT_VERBOSITY: exit 1, one stderr line"
PODINIT_VERBOSITY=lots bad_flag -- touch "$W/started"
t_end

t_begin "-V / --version: 'podinit version $VERSION - git.HASH'"
for f in -V --version; do
    out=$("$PODINIT" $f 2>&1)
    rc=$?
    assert_eq 0 "$rc" "exit status of $f"
    [[ $out =~ ^podinit\ version\ ${VERSION//./\\.}\ -\ git\.[0-9a-f]{7,40}$ ]] || t_fail "$f printed '$out'"
done
t_end

t_begin "invoked as docker-init: -V prints 'tini version ...', and it runs commands"
ln -sf "$PODINIT" "$W/docker-init"
out=$("$W/docker-init" --version 2>&1)
[[ $out =~ ^tini\ version\ ${VERSION//./\\.}\ -\ git\.[0-9a-f]{7,40}$ ]] || t_fail "--version printed '$out'"
out=$("$W/docker-init" -V 2>&1)
[[ $out =~ ^tini\ version\ ${VERSION//./\\.}\ -\ git\.[0-9a-f]{7,40}$ ]] || t_fail "-V printed '$out'"
RC=0
timeout -s KILL 10 unshare --pid --fork --mount-proc "$W/docker-init" -- sh -c 'exit 3' || RC=$?
assert_eq 3 "$RC" "docker-init -- sh -c 'exit 3'"
t_end

t_begin "a script whose #! interpreter is missing is reported as such, not as 'command not found' (exit 127)"
mkdir -p "$W/interp"
printf '#!/bin/bogus\necho hi\n' >"$W/interp/x.sh"
printf '#!/bin/sh\r\necho hi\r\n' >"$W/interp/dos.sh"
chmod 755 "$W/interp/x.sh" "$W/interp/dos.sh"
out=$(cd "$W/interp" && timeout -s KILL 10 unshare --pid --fork --mount-proc "$PODINIT" -- ./x.sh 2>&1; echo "rc=$?")
assert_contains "$out" "./x.sh: interpreter /bin/bogus not found"
assert_contains "$out" "rc=127"
assert_not_contains "$out" "command not found"
out=$(cd "$W/interp" && timeout -s KILL 10 unshare --pid --fork --mount-proc "$PODINIT" -- ./dos.sh 2>&1)
assert_contains "$out" "./dos.sh: interpreter /bin/sh not found (the #! line ends in a carriage return: DOS line endings?)"
t_end

t_begin "-h / --help lists every flag"
for f in -h --help; do
    out=$("$PODINIT" $f 2>&1)
    assert_eq 0 "$?" "exit status of $f"
    for flag in -s -g -e -p -v -w -t -V -h --version --help --grace; do
        grep -qE -- "(^|[ ,])$flag([ ,=]|$)" <<<"$out" || t_fail "$f does not list $flag"
    done
done
t_end

t_summary
