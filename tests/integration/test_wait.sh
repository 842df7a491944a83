#!/usr/bin/env bash
# `podinit wait` (issue 22), like `kubectl wait --for=condition=Ready`: blocks
# until the pod (or the named entries) is ready / started / exited; exit 0 when
# the condition holds, 1 with one line saying why when the timeout passes, the
# pod or an entry fails for good, or podinit is gone. Started before podinit
# it waits for it; it does not poll (a blocked wait costs no wake-ups).
#
# Needs root (unshare --pid, setpriv to nobody). About 15 s.

. "$(dirname "$0")/../lib.sh"
T_SUITE=wait

. "$ROOT/tests/pod_lib.sh"
suite_requires

chmod 755 "$T_TMP"

# pwait ARGS...: `podinit wait -c $P ARGS` (bounded); sets WRC, WOUT, WERR, WMS.
pwait() {
    local t0
    t0=$(now_ms)
    WRC=0
    timeout -s KILL 30 "$PODINIT" wait -c "$P" "$@" >"$D/w.out" 2>"$D/w.err" || WRC=$?
    WMS=$(($(now_ms) - t0))
    WOUT=$(cat "$D/w.out")
    WERR=$(cat "$D/w.err")
}

# bg_pwait ARGS...: pwait in the background; WPID is its pid. Its results are
# read with bg_pwait_done.
bg_pwait() {
    ( pwait "$@"; printf '%s\n%s\n' "$WRC" "$WMS" >"$D/w.rc" ) &
    WPID=$!
}
# bg_pwait_done [TIMEOUT]: wait for the background pwait; sets WRC, WMS, WOUT, WERR.
bg_pwait_done() {
    local i
    for i in $(seq 1 $((${1:-20} * 20))); do [ -e "$D/w.rc" ] && break; sleep 0.05; done
    wait "$WPID" 2>/dev/null
    WRC=$(sed -n 1p "$D/w.rc" 2>/dev/null); WMS=$(sed -n 2p "$D/w.rc" 2>/dev/null)
    WOUT=$(cat "$D/w.out" 2>/dev/null); WERR=$(cat "$D/w.err" 2>/dev/null)
    rm -f "$D/w.rc"
}

# wait_proc: the pid of the background `podinit wait` (not its `timeout`).
wait_proc() { pgrep -f -- "^$PODINIT wait -c $P" | head -n1; }

# web_not_ready: status.json says entry web is not ready.
web_not_ready() { [ "$(json_field 'e["web"]["ready"]')" = False ]; }

# ============================================================================
t_begin "started before podinit: waits for it, returns once the pod is Ready (not before)"
newpod early <<'EOF'
name = "early"
[[app]]
name = "web"
command = ["sleep", "60"]
readiness_probe = { exec = ["test", "-e", "@D@/go"], period = "100ms" }
EOF
bg_pwait --timeout 20s
sleep 0.5
[ -e "$D/w.rc" ] && t_fail "wait returned before podinit started: $(cat "$D/w.err")"
start_pod
sleep 0.5
[ -e "$D/w.rc" ] && t_fail "wait returned before the pod was ready: $(cat "$D/w.err")"
touch "$D/go"
bg_pwait_done 10
assert_eq 0 "$WRC" "exit code ($WERR)"
assert_eq "pod/early condition met" "$WOUT" "stdout"
assert_eq True "$(json_field ready)" "ready in status.json when wait returned"
t_end

t_begin "a blocked wait does not poll: no wake-ups while nothing changes"
rm -f "$D/go"
"$PODINIT" kill -c "$P" web TERM >/dev/null 2>&1 # restart_policy Always: back, not ready
wait_for 5 web_not_ready || t_fail "web still ready after its restart (the case tests nothing)"
bg_pwait --timeout 20s web
sleep 0.5
wp=$(wait_proc)
if [ -z "$wp" ]; then
    t_fail "no wait process (it ended: $(cat "$D/w.err" 2>/dev/null))"
else
    c0=$(awk '/^voluntary_ctxt_switches:/ { print $2 }' "/proc/$wp/status")
    sleep 2
    c1=$(awk '/^voluntary_ctxt_switches:/ { print $2 }' "/proc/$wp/status")
    # A 50 ms polling loop would wake ~40 times; one per status change is a handful.
    assert_between 0 5 "$((c1 - c0))" "wake-ups of the waiting process in 2 s"
fi
touch "$D/go"
bg_pwait_done 10
assert_eq 0 "$WRC" "exit code once web is ready ($WERR)"
t_end

t_begin "podinit gone (kill -KILL): the waiter wakes at once and says so, exit 1"
rm -f "$D/go"
"$PODINIT" kill -c "$P" web TERM >/dev/null 2>&1
wait_for 5 web_not_ready || t_fail "web still ready after its restart (the case tests nothing)"
bg_pwait --timeout 20s
sleep 0.5
t0=$(now_ms)
kill_pod "$BG"
bg_pwait_done 10
assert_eq 1 "$WRC" "exit code"
assert_between 0 1000 "$(($(now_ms) - t0))" "ms from the SIGKILL to the waiter's exit"
assert_match "$WERR" "^podinit: wait: pod/early: podinit \\(pid [0-9]+\\) exited; the pod was [A-Za-z]+$" "stderr"
bg_wait 10
t_end

t_begin "after podinit is gone: wait does not trust the old status.json (timeout, exit 1)"
touch "$D/go"
pwait --timeout 500ms
assert_eq 1 "$WRC" "exit code"
assert_contains "$WERR" "timed out after 500ms: podinit is not running (no live control socket at $D/state/control.sock)"
one_line "$WERR" "stderr"
t_end

# ============================================================================
newpod slow <<'EOF'
name = "slow"
[[app]]
name = "web"
command = ["sleep", "60"]
readiness_probe = { exec = ["false"], period = "200ms" }
EOF
start_pod
t_begin "timeout: exit 1 after it, one line naming what is not ready"
pwait --timeout 1s
assert_eq 1 "$WRC" "exit code"
assert_between 900 3000 "$WMS" "ms until wait gave up"
assert_eq "podinit: wait: pod/slow: timed out after 1s: pod slow is not ready: web not ready (Running)" "$WERR" "stderr"
pwait --timeout 0
assert_eq 1 "$WRC" "exit code of --timeout 0 (checks once)"
assert_contains "$WERR" "timed out after 0s"
t_end

t_begin "--for started holds without readiness; an unknown entry is an error"
pwait --for started --timeout 5s
assert_eq 0 "$WRC" "exit code of --for started ($WERR)"
pwait --for started --timeout 5s web
assert_eq 0 "$WRC" "exit code of --for started web ($WERR)"
pwait --timeout 5s ghost
assert_eq 1 "$WRC" "exit code for an unknown entry"
assert_contains "$WERR" "no entry named 'ghost'"
one_line "$WERR" "stderr"
t_end

t_begin "another uid (cannot use the 0600 socket): wait still works, and sees podinit go"
RC=0
timeout -s KILL 20 "${AS_NOBODY[@]}" "$PODINIT" wait -c "$P" --for started --timeout 5s >"$D/nb.out" 2>"$D/nb.err" || RC=$?
assert_eq 0 "$RC" "exit code as nobody ($(cat "$D/nb.err"))"
( RC=0; timeout -s KILL 20 "${AS_NOBODY[@]}" "$PODINIT" wait -c "$P" --timeout 15s >"$D/nb.out" 2>"$D/nb.err" || RC=$?; echo "$RC" >"$D/nb.rc" ) &
sleep 0.5
kill_pod "$BG"
wait_for 5 test -e "$D/nb.rc" || t_fail "the waiter as nobody did not notice podinit's death within 5 s"
assert_eq 1 "$(cat "$D/nb.rc" 2>/dev/null)" "exit code as nobody after podinit died"
assert_contains "$(cat "$D/nb.err")" "exited"
bg_wait 10
t_end

# ============================================================================
newpod ends <<'EOF'
name = "ends"
restart_policy = "Never"
[[init]]
name = "migrate"
command = ["sh", "-c", "until [ -e @D@/go ]; do sleep 0.05; done"]
[[app]]
name = "job"
command = ["sh", "-c", "until [ -e @D@/done ]; do sleep 0.05; done"]
[[app]]
name = "web"
command = ["sleep", "60"]
EOF
start_pod
t_begin "entries: an init step is ready once completed; an app that completes under Never fails the wait at once"
bg_pwait --timeout 10s migrate
sleep 0.3
[ -e "$D/w.rc" ] && t_fail "wait for migrate returned while it runs"
touch "$D/go"
bg_pwait_done 10
assert_eq 0 "$WRC" "exit code of wait migrate ($WERR)"
pwait --timeout 5s job web
assert_eq 0 "$WRC" "exit code of wait job web ($WERR)"
bg_pwait --timeout 20s --for exit job
sleep 0.3
touch "$D/done"
bg_pwait_done 10
assert_eq 0 "$WRC" "exit code of --for exit job ($WERR)"
t0=$(now_ms)
pwait --timeout 20s job
assert_eq 1 "$WRC" "exit code of waiting for a completed app to be ready"
assert_between 0 2000 "$WMS" "ms until wait failed (not the timeout)"
assert_contains "$WERR" "job is Completed and will not restart (restart_policy Never)"
t_end

t_begin "--for exit: returns when podinit exits (0), and at once when it is not running"
bg_pwait --for exit --timeout 20s
sleep 0.3
[ -e "$D/w.rc" ] && t_fail "--for exit returned while podinit runs"
kill -TERM "$P1"
bg_pwait_done 10
assert_eq 0 "$WRC" "exit code ($WERR)"
stop_wait 10
pwait --for exit --timeout 5s
assert_eq 0 "$WRC" "exit code when podinit is not running ($WERR)"
assert_between 0 1000 "$WMS" "ms"
t_end

t_begin "the pod ends while waiting for Ready: exit 1 at once, saying how it ended"
newpod done <<'EOF'
name = "done"
restart_policy = "Never"
[[app]]
name = "once"
command = ["sh", "-c", "sleep 0.5; exit 3"]
readiness_probe = { exec = ["false"], period = "100ms" }
EOF
start_pod
pwait --timeout 20s
assert_eq 1 "$WRC" "exit code"
assert_between 0 5000 "$WMS" "ms (not the 20 s timeout)"
assert_match "$WERR" "(the pod is (Error|Terminating)|exited; the pod was (Error|Terminating))" "stderr"
one_line "$WERR" "stderr"
stop_wait 10
t_end

# ============================================================================
t_begin "no control socket (a podinit that runs without one): wait and health go by the pid and start time in status.json"
newpod nosock <<'EOF'
name = "nosock"
[[app]]
name = "web"
command = ["sleep", "30"]
EOF
# Not PID 1 of a namespace: status.json's pid is this namespace's, so the
# fallback can use it (a subreaper podinit, as in a test script).
"$PODINIT" run -c "$P" >"$D/out" 2>"$D/err" &
PP=$!
CLEANUP="$CLEANUP $PP"
pwait --timeout 10s
assert_eq 0 "$WRC" "exit code while the socket is there ($WERR)"
apid=$(json_field 'e["web"]["pid"]')
CLEANUP="$CLEANUP $apid"
rm -f "$D/state/control.sock"
RC=0; "$PODINIT" health -c "$P" >/dev/null 2>&1 || RC=$?
assert_eq 0 "$RC" "health without a socket while podinit runs"
pwait --timeout 2s
assert_eq 0 "$WRC" "wait without a socket while podinit runs ($WERR)"
bg_pwait --for exit --timeout 20s
sleep 0.5
[ -e "$D/w.rc" ] && t_fail "--for exit returned while podinit runs: $(cat "$D/w.err")"
t0=$(now_ms)
kill -KILL "$PP"
bg_pwait_done 10
assert_eq 0 "$WRC" "exit code of --for exit ($WERR)"
assert_between 0 1000 "$(($(now_ms) - t0))" "ms from the SIGKILL to the waiter's exit (pidfd)"
RC=0; "$PODINIT" health -c "$P" >/dev/null 2>"$D/h.err" || RC=$?
assert_eq 1 "$RC" "health after the SIGKILL"
assert_contains "$(cat "$D/h.err")" "podinit (pid $PP) is not running"
kill -KILL "$apid" 2>/dev/null
wait "$PP" 2>/dev/null
t_end

t_summary
