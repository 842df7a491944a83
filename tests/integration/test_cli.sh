#!/usr/bin/env bash
# The command line a person types, and what status/health vouch for (issue 22):
# - `podinit SUB --help` / `-h` prints that subcommand's usage, exit 0, for
#   every subcommand;
# - init mode speaks tini's verbosity scale (TINI_VERBOSITY=1 prints nothing
#   for `true`, 2 prints the info lines) and exits 1 on a usage error as tini;
# - a pod file that does not load: status, health, wait, restart, stop, start,
#   kill, reset print its FILE:LINE:COL error and exit non-zero;
# - after `kill -KILL` of podinit, health fails and status says the pod is not
#   running (exit 1), also for another uid that cannot use the socket.
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
# --help for every subcommand
# ============================================================================

t_begin "podinit SUB --help and -h: that subcommand's usage on stdout, exit 0"
for sub in pause run check status health wait reset restart stop start kill export import; do
    for flag in --help -h; do
        pi "$sub" "$flag"
        assert_eq 0 "$RC" "exit code of 'podinit $sub $flag' ($ERR)"
        assert_eq "usage: podinit $sub" "$(printf '%s\n' "$OUT" | head -n1 | cut -d' ' -f1-3)" "first line of 'podinit $sub $flag'"
        assert_eq "" "$ERR" "stderr of 'podinit $sub $flag'"
    done
done
pi --help
assert_eq 0 "$RC" "exit code of 'podinit --help'"
assert_contains "$OUT" "podinit wait [-c FILE] [--for ready|started|exit]"
t_end

# ============================================================================
# init mode: tini's verbosity scale and usage exit code
# ============================================================================

t_begin "init mode: TINI_VERBOSITY / PODINIT_VERBOSITY are tini's absolute levels; -v raises"
OUT=$(TINI_VERBOSITY=1 timeout 10 "$PODINIT" -- true 2>&1); rc=$?
assert_eq 0 "$rc" "exit code of TINI_VERBOSITY=1 podinit -- true"
assert_eq "" "$OUT" "output of TINI_VERBOSITY=1 podinit -- true (tini prints nothing)"
OUT=$(timeout 10 "$PODINIT" -- true 2>&1)
assert_eq "" "$OUT" "output at the default level (1, as tini)"
OUT=$(TINI_VERBOSITY=2 timeout 10 "$PODINIT" -- true 2>&1)
assert_contains "$OUT" "INFO" "output at TINI_VERBOSITY=2"
OUT=$(PODINIT_VERBOSITY=1 timeout 10 "$PODINIT" -v -- true 2>&1)
assert_contains "$OUT" "INFO" "output of PODINIT_VERBOSITY=1 with -v"
OUT=$(TINI_VERBOSITY=0 timeout 10 "$PODINIT" -vv -- true 2>&1)
assert_contains "$OUT" "INFO" "output of TINI_VERBOSITY=0 with -vv"
assert_not_contains "$OUT" "DEBUG" "output of TINI_VERBOSITY=0 with -vv"
t_end

t_begin "init mode: usage errors exit 1 as tini ('podinit -z; echo \$?' prints 1); subcommands keep 2"
for args in "-z" "" "--" "-e 300 true" "-p SIGNOPE true"; do
    # shellcheck disable=SC2086
    pi $args
    assert_eq 1 "$RC" "exit code of 'podinit $args'"
    assert_eq 1 "$(printf '%s\n' "$ERR" | wc -l)" "lines of stderr of 'podinit $args'"
done
RC=0; TINI_VERBOSITY=lots timeout 10 "$PODINIT" -- true 2>/dev/null || RC=$?
assert_eq 1 "$RC" "exit code with TINI_VERBOSITY=lots"
pi run --bogus
assert_eq 2 "$RC" "exit code of 'podinit run --bogus'"
t_end

# ============================================================================
# A pod file that does not load
# ============================================================================

newpod badfile <<'EOF'
[[app]]
name = "web"
command = ["sleep", "60"]
restart_polcy = "Never"
EOF
t_begin "a pod file that does not load: every command that talks to the pod prints FILE:LINE:COL, exit non-zero"
for cmd in "status" "status --json" "health" "wait --timeout 1s" "restart web" "stop web" "start web" "kill web HUP" "reset"; do
    # shellcheck disable=SC2086
    pi ${cmd%% *} -c "$P" $( [ "$cmd" != "${cmd#* }" ] && echo "${cmd#* }")
    assert_ne 0 "$RC" "exit code of 'podinit $cmd' on a bad pod file"
    assert_contains "$ERR" "$P:6:1: unknown key 'restart_polcy'" "stderr of 'podinit $cmd'"
    assert_eq "" "$OUT" "stdout of 'podinit $cmd'"
done
pi status -c "$D/no-such-file.toml"
assert_eq 1 "$RC" "exit code of status with a missing pod file"
assert_contains "$ERR" "$D/no-such-file.toml: cannot read"
t_end

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
"$PODINIT" wait -c "$P" --timeout 10s >/dev/null 2>&1 || t_fail "the pod never became ready: $(cat "$D/err")"
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
