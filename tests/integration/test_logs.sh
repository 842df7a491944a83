#!/usr/bin/env bash
# Seeing inside a pod (issue 26), as a user would: `podinit logs` (a crashing
# app's previous run, --tail/--timestamps/--prefix, -f while the entry writes
# and its end when the entry stops), the pass-through to podinit's stdout,
# log_dir files in the kubelet's layout and CRI format rotated at the limit and
# read back once the pod is gone, `podinit describe` events after a liveness
# failure, `podinit status -o json` queried with jq as a kubectl Pod,
# log_prefix + log_timestamps, PODINIT_LOG_TIMESTAMPS, log_buffer = 0.
#
# Needs root (unshare --pid) and jq. About 15 s (the crashing app restarts at once,
# then after a 1 s back-off, while the other cases run).

. "$(dirname "$0")/../lib.sh"
T_SUITE=logs

. "$ROOT/tests/pod_lib.sh"
suite_requires
suite_needs jq "(scripts/setup.sh installs it)"

# restarts NAME: the entry's restart count from `status -o json`.
restarts() {
    timeout -s KILL 10 "$PODINIT" status -o json -c "$P" 2>/dev/null |
        jq -r --arg n "$1" '.status.containerStatuses[] | select(.name == $n) | .restartCount'
}
restarts_is() { [ "$(restarts "$1")" = "$2" ]; }

CRI_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z (stdout|stderr) [PF] '

newpod main <<'EOF'
name = "logpod"
namespace = "test"
log_dir = "@D@/logs"
log_max_size = "2Ki"
log_max_files = 3
restart_policy = "Always"
termination_grace_period = "3s"
backoff = { initial = "1s", max = "1s" }

[[init]]
name = "setup"
command = ["sh", "-c", "echo setting up"]

[[app]]
name = "crash"
command = ["sh", "-c", "n=$(cat @D@/crashes 2>/dev/null || echo 0); n=$((n+1)); echo $n > @D@/crashes; echo \"crash run $n\"; echo \"oops $n\" >&2; if [ $n -le 2 ]; then exit 3; fi; exec sleep 1000"]

[[app]]
name = "talker"
command = ["sh", "-c", "i=0; while :; do if [ -e @D@/talk ]; then rm -f @D@/talk; i=$((i+1)); echo \"said $i\"; fi; sleep 0.05; done"]

[[app]]
name = "big"
command = ["sh", "-c", "i=0; while [ $i -lt 300 ]; do echo \"line $i 0123456789012345678901234567890123456789\"; i=$((i+1)); done; exec sleep 1000"]

[[app]]
name = "live"
command = ["sh", "-c", "echo live started; exec sleep 1000"]
liveness_probe = { exec = ["sh", "-c", "echo probe says hi; test ! -e @D@/sick"], period = "200ms", failure_threshold = 2 }

[[app]]
name = "notready"
command = ["sleep", "1000"]
readiness_probe = { exec = ["false"], period = "1s" }
EOF
MAIN_D=$D MAIN_P=$P
start_pod
MAIN_P1=$P1

t_begin "pass-through: entries' output reaches podinit's stdout/stderr unchanged"
wait_for 5 has_line "^crash run 1$" "$D/out" || t_fail "no 'crash run 1' line on podinit's stdout: $(head -c 400 "$D/out")"
wait_for 5 has_line "^oops 1$" "$D/err" || t_fail "no 'oops 1' line on podinit's stderr"
wait_for 5 has_line "^line 299 " "$D/out" || t_fail "big's last line never passed through"
assert_eq 300 "$(grep -c '^line ' "$D/out")" "big's lines on stdout (each once, unprefixed)"
t_end

t_begin "logs: --tail, --timestamps, --prefix, --all, unknown entry"
ctl logs big --tail 2
assert_eq 0 "$CRC" "exit code ($CERR)"
assert_eq "line 298 0123456789012345678901234567890123456789
line 299 0123456789012345678901234567890123456789" "$COUT" "logs big --tail 2"
ctl logs big --tail 1 --timestamps --prefix
assert_match "$COUT" '^\[pod/logpod/big\] [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z line 299 ' "--timestamps --prefix"
ctl logs setup
assert_eq "setting up" "$COUT" "an init step's output"
ctl logs --all --prefix --tail 1
assert_contains "$COUT" "[pod/logpod/setup] setting up" "--all"
assert_contains "$COUT" "[pod/logpod/big] line 299" "--all"
ctl logs nope
assert_eq 1 "$CRC" "unknown entry exit code"
assert_contains "$CERR" "container nope is not valid for pod logpod" "unknown entry"
ctl logs big --previous
assert_eq 1 "$CRC" "--previous before any restart"
assert_contains "$CERR" 'previous terminated container "big" in pod "logpod" not found' "--previous before any restart"
t_end

t_begin "logs -f: follows while the entry writes, ends when the entry stops"
timeout -s KILL 20 "$PODINIT" logs talker -f -c "$P" >"$D/follow.out" 2>"$D/follow.err" &
FPID=$!
sleep 0.3
touch "$D/talk"
wait_for 5 has_line "^said 1$" "$D/follow.out" || t_fail "-f did not show 'said 1'"
touch "$D/talk"
wait_for 5 has_line "^said 2$" "$D/follow.out" || t_fail "-f did not show 'said 2'"
kill -0 "$FPID" 2>/dev/null || t_fail "logs -f ended while the entry runs"
# A second reader that quits after one line must not disturb anything.
timeout -s KILL 10 "$PODINIT" logs talker -f -c "$P" | head -n 1 >"$D/head.out"
assert_eq "said 1" "$(cat "$D/head.out")" "a reader that quits"
ctl stop talker
assert_eq 0 "$CRC" "stop talker ($CERR)"
FRC=0
for _ in $(seq 1 100); do kill -0 "$FPID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$FPID" 2>/dev/null; then t_fail "logs -f still running after its entry stopped"; kill "$FPID"; fi
wait "$FPID" || FRC=$?
assert_eq 0 "$FRC" "logs -f exit code"
assert_eq "said 1
said 2" "$(cat "$D/follow.out")" "what -f printed"
t_end

t_begin "status -o json: kubectl's jq queries work; --json keeps podinit's format"
wait_for 5 restarts_is live 0 || true
READY=$(timeout 10 "$PODINIT" status -o json -c "$P" | jq -r '.status.containerStatuses[] | select(.ready) | .name' | sort | tr '\n' ' ')
assert_contains "$READY" "big" "ready containers"
assert_contains "$READY" "live" "ready containers"
assert_not_contains "$READY" "notready" "ready containers"
J=$(timeout 10 "$PODINIT" status -o json -c "$P")
assert_eq "Pod" "$(jq -r .kind <<<"$J")" "kind"
assert_eq "Running" "$(jq -r .status.phase <<<"$J")" "phase"
assert_eq "Completed" "$(jq -r '.status.initContainerStatuses[0].state.terminated.reason' <<<"$J")" "init step state"
assert_eq "True" "$(jq -r '.status.conditions[] | select(.type == "Initialized") | .status' <<<"$J")" "Initialized"
assert_eq "False" "$(jq -r '.status.conditions[] | select(.type == "Ready") | .status' <<<"$J")" "Ready (notready is not)"
assert_match "$(jq -r '.status.conditions[] | select(.type == "Ready") | .lastTransitionTime' <<<"$J")" '^20[0-9]{2}-.*Z$' "lastTransitionTime"
assert_match "$(jq -r '.status.containerStatuses[] | select(.name == "big") | .state.running.startedAt' <<<"$J")" '^20[0-9]{2}-.*Z$' "running.startedAt"
assert_eq "notready" "$(timeout 10 "$PODINIT" status --json -c "$P" | jq -r '.entries[-1].name')" "--json format"
t_end

t_begin "describe: events after a liveness failure"
touch "$D/sick"
wait_for 8 restarts_is live 1 || wait_for 8 sh -c "'$PODINIT' describe live -c '$P' | grep -q Killing" || t_fail "live was never killed"
ctl describe live
assert_eq 0 "$CRC" "describe exit code ($CERR)"
assert_match "$COUT" '^  Warning +Unhealthy +.* podinit +Liveness probe failed: ' "Unhealthy event"
assert_match "$COUT" '^  Normal +Killing +.* podinit +Container live failed liveness probe, will be restarted$' "Killing event"
assert_match "$COUT" '^  Normal +Started +.* +Started container live$' "Started event"
assert_match "$COUT" '^  Warning +Unhealthy +[0-9]+[smh] \(x[2-9] over [0-9]+[smh]\)' "failures aggregated (x2 over ...)"
assert_not_contains "$COUT" "Started container big" "describe NAME shows only that entry's events"
ctl describe
assert_contains "$COUT" "Conditions:" "describe (whole pod)"
wait_for 5 restarts_is crash 2 || t_fail "crash did not crash twice (restarts $(restarts crash))"
ctl describe
assert_match "$COUT" '^  Warning +Failed +[0-9]+[smh] \(x2 over [0-9]+[smh]\) +podinit +Container crash exited 3$' "the crash's Failed events, counted"
assert_match "$COUT" '^  Warning +BackOff +.*Back-off restarting failed container crash in pod logpod$' "BackOff event"
ctl logs live
assert_contains "$COUT" "probe says hi" "an exec probe's output is in its entry's log"
t_end

t_begin "log_dir: kubelet layout, CRI lines, rotated at log_max_size keeping log_max_files"
BIG=$(ls -d "$D"/logs/test_logpod_*/big 2>/dev/null | head -n1)
[ -n "$BIG" ] || t_fail "no <log_dir>/test_logpod_<uid>/big directory: $(ls -R "$D/logs" 2>&1 | head -c 400)"
assert_file "$BIG/0.log"
assert_eq 2 "$(ls "$BIG" | grep -c '^0\.log\.[0-9]\{8\}-[0-9]\{6\}')" "rotated files (log_max_files 3: current + 2)"
for f in "$BIG"/0.log*; do
    [ "$(stat -c %s "$f")" -le 2048 ] || t_fail "$f is over log_max_size: $(stat -c %s "$f")"
    bad=$(grep -Evc "$CRI_RE" "$f" || true)
    assert_eq 0 "$bad" "non-CRI lines in $f"
done
assert_match "$(tail -n1 "$BIG/0.log")" "${CRI_RE}line 299 " "last line of 0.log"
wait_for 5 test -e "$(dirname "$BIG")/crash/2.log" || t_fail "no crash/2.log (third run)"
assert_match "$(cat "$(dirname "$BIG")"/crash/1.log)" '^[^ ]+ stderr F oops 2$' "crash's stderr in its second run's file"
assert_no_file "$(dirname "$BIG")/crash/0.log"
t_end

t_begin "logs --previous: a crashing app's previous run, after its restart"
wait_for 15 restarts_is crash 2 || t_fail "crash never restarted twice (restarts $(restarts crash))"
wait_for 3 sh -c "'$PODINIT' logs crash -c '$P' | grep -q 'crash run 3'" || t_fail "run 3's output not in logs"
ctl logs crash --previous
assert_eq 0 "$CRC" "exit code ($CERR)"
assert_eq "crash run 2
oops 2" "$(printf '%s\n' "$COUT" | sort)" "--previous"
ctl logs crash
assert_eq "crash run 3
oops 3" "$(printf '%s\n' "$COUT" | sort)" "current run"
t_end

t_begin "logs when the pod is gone: read from log_dir"
kill -TERM "$MAIN_P1"
stop_wait 15
ctl logs big --tail 1
assert_eq 0 "$CRC" "exit code ($CERR)"
assert_contains "$COUT" "line 299 " "logs from the files"
ctl logs crash --previous
assert_eq "crash run 2
oops 2" "$(printf '%s\n' "$COUT" | sort)" "--previous from the files"
t_end

t_begin "log_prefix + log_timestamps on the pass-through; PODINIT_LOG_TIMESTAMPS on podinit's own lines"
newpod stamps <<'EOF'
restart_policy = "Never"
log_prefix = true
log_timestamps = true
[[app]]
name = "hello"
command = ["sh", "-c", "echo hi; echo there >&2"]
EOF
PODINIT_LOG_TIMESTAMPS=1 run_pod 10
assert_eq 0 "$RC" "exit code"
assert_match "$OUT" '^\[hello\] [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z hi$' "stdout"
assert_match "$ERR" '^\[hello\] [0-9-]{10}T[0-9:.]+Z there$' "stderr"
assert_match "$ERR" '^podinit: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z INFO hello: started pid' "podinit's own line"
t_end

t_begin "a slow start: the startup probe's failures are one line, not one per attempt"
newpod slowstart <<'EOF'
restart_policy = "Never"
[[app]]
name = "slow"
command = ["sh", "-c", "sleep 0.8; touch @D@/up; sleep 0.3"]
startup_probe = { exec = ["test", "-e", "@D@/up"], period = "100ms", failure_threshold = 50 }
EOF
run_pod 10
assert_eq 0 "$RC" "exit code"
assert_eq 1 "$(grep -c 'slow: not started yet' <<<"$ERR")" "lines for the failed attempts: $ERR"
assert_not_contains "$ERR" "startup probe failed" "stderr"
assert_contains "$ERR" "slow: startup probe passed" "stderr"
t_end

t_begin "log_buffer = 0: logs says podinit keeps nothing; output still passes through"
newpod nobuf <<'EOF'
log_buffer = 0
[[app]]
name = "app"
command = ["sh", "-c", "echo unbuffered; exec sleep 100"]
EOF
start_pod
wait_for 5 has_line "^unbuffered$" "$D/out" || t_fail "output did not pass through"
wait_for 5 test -S "$D/state/control.sock"
ctl logs app
assert_eq 1 "$CRC" "exit code"
assert_contains "$CERR" "keeps no output" "logs"
term_pod
t_end

t_summary
