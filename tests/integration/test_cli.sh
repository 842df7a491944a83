#!/usr/bin/env bash
# What status/health vouch for (issue 22), which needs a real pod: after
# `kill -KILL` of podinit, health fails and status says the pod is not running
# (exit 1), also for another uid that cannot use the socket.
#
# The command line's root-free side (every subcommand's --help, init mode's
# verbosity and usage errors, the pod commands on a bad pod file or with no
# pod) is pinned whole, output and exit code, in tests/cli.rs.
#
# Needs root (unshare --pid, setpriv to nobody). About 10 s.

. "$(dirname "$0")/../lib.sh"
T_SUITE=cli

. "$ROOT/tests/pod_lib.sh"
suite_requires

chmod 755 "$T_TMP"
NOBODY_UID=$(id -u nobody 2>/dev/null || echo 65534)
NOBODY_GID=$(id -g nobody 2>/dev/null || echo 65534)

# pi ARGS...: podinit ARGS (bounded); sets RC, OUT, ERR.
pi() {
    RC=0
    timeout -s KILL 20 "$PODINIT" "$@" >"$T_TMP/pi.out" 2>"$T_TMP/pi.err" || RC=$?
    OUT=$(cat "$T_TMP/pi.out")
    ERR=$(cat "$T_TMP/pi.err")
}

# as_nobody ARGS...: like pi, as uid nobody.
as_nobody() {
    RC=0
    timeout -s KILL 20 setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --clear-groups \
        "$PODINIT" "$@" >"$T_TMP/pi.out" 2>"$T_TMP/pi.err" || RC=$?
    OUT=$(cat "$T_TMP/pi.out")
    ERR=$(cat "$T_TMP/pi.err")
}

# ============================================================================
# status and health never vouch for a dead podinit
# ============================================================================

newpod killed <<'EOF'
name = "killed"
[[app]]
name = "web"
command = ["sleep", "60"]
readiness_probe = { exec = ["true"], period = "200ms" }
EOF
start_pod
t_begin "while the pod runs: health exit 0 and status exit 0, for root and for another uid"
pod_wait 10
pi health -c "$P"
assert_eq 0 "$RC" "health ($ERR)"
pi status -c "$P"
assert_eq 0 "$RC" "status ($ERR)"
assert_eq "" "$ERR" "stderr of status"
as_nobody health -c "$P"
assert_eq 0 "$RC" "health as nobody, who cannot use the 0600 socket ($ERR)"
as_nobody status -c "$P"
assert_eq 0 "$RC" "status as nobody ($ERR)"
assert_match "$OUT" '^killed +1/1 +Running' "status table as nobody"
t_end

t_begin "after kill -KILL of podinit: health fails, status says not running with the last state, exit 1"
kill_pod "$BG"
bg_wait 10
[ -S "$D/state/control.sock" ] || t_fail "control.sock did not survive the SIGKILL (the case tests nothing)"
[ "$(json_field ready)" = True ] || t_fail "status.json does not say ready (the case tests nothing)"
pi health -c "$P"
assert_eq 1 "$RC" "health exit code after SIGKILL"
assert_eq "podinit: podinit is not running (nobody listens on $D/state/control.sock)" "$ERR" "health stderr"
pi status -c "$P"
assert_eq 1 "$RC" "status exit code after SIGKILL"
assert_contains "$ERR" "podinit is not running (nobody listens on $D/state/control.sock); last state from $D/state/status.json"
assert_match "$OUT" '^killed +1/1 +Running' "the last state is still shown"
as_nobody health -c "$P"
assert_eq 1 "$RC" "health as nobody after SIGKILL ($ERR)"
assert_contains "$ERR" "podinit is not running"
as_nobody status -c "$P"
assert_eq 1 "$RC" "status as nobody after SIGKILL"
assert_contains "$ERR" "nobody listens on $D/state/control.sock"
t_end

t_begin "no socket at all (a podinit that ran without one): the status file's pid must be that podinit"
rm -f "$D/state/control.sock"
# status.json says pid 1 (podinit's pid in its namespace): pid 1 here is
# alive, but it is not the podinit that wrote the file.
assert_eq 1 "$(json_field pid)" "pid in status.json"
pi health -c "$P"
assert_eq 1 "$RC" "health exit code"
assert_contains "$ERR" "podinit (pid 1) is not running"
pi status -c "$P"
assert_eq 1 "$RC" "status exit code"
t_end

t_summary
