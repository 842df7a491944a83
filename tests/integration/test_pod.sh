#!/usr/bin/env bash
# Pod mode (SPEC §4): `podinit run -c pod.toml` as PID 1 of a fresh PID
# namespace, with real pod files written to a temp dir (marker_dir and
# state_dir in there too). Covers init-step order, restart policies and the
# first back-off, step timeouts, wait_for waiters, run-once markers (skip,
# change, reset, once = false, crash mid-step), pod exit codes, graceful stop
# (trap, ignore, stop_signal, second SIGTERM, sidecars in reverse order,
# leftover processes), forwarded signals, env and $(VAR), user/working_dir,
# unwritable state/marker dirs, active_deadline, `podinit status` /
# `status --json` / `health`, and the pods of examples/ (plus examples/demo.sh).
#
# A failure is retried at once the first time and after 10 s the second (the
# kubelet's curve, the default backoff), so the three back-off cases fail twice
# and run concurrently in the background while the other cases run; they are
# collected at the end. Total: about 22 s. Needs root (unshare --pid),
# python3 (status.json), busybox (the web and wait-services examples).

. "$(dirname "$0")/../lib.sh"
T_SUITE=pod

. "$ROOT/tests/pod_lib.sh"
suite_requires

# pstatus [ARGS...]: `podinit status -c $P ARGS` (stdout and stderr).
pstatus() { "$PODINIT" status -c "$P" "$@" 2>&1; }

# lifecycle: podinit's "started"/"exited"/"killed"/"waiting" lines of $ERR, without pids, times, targets.
lifecycle() {
    printf '%s\n' "$ERR" | grep -E ': (started pid|exited|killed by|waiting for)' \
        | sed -E 's/^podinit: [A-Z]+ //; s/ pid [0-9]+//; s/ after .*//; s/: waiting for .*/: waiting/'
}

# aligned TABLE HDR FIRST LAST WORD...: in lines FIRST..LAST of TABLE a cell
# starts in each column where header line HDR has WORD (kubectl layout).
aligned() {
    local table=$1 hdr=$2 first=$3 last=$4 w pos n line
    shift 4
    for w in "$@"; do
        pos=$(awk -v w="$w" -v n="$hdr" 'NR == n { print index($0, w) }' <<<"$table")
        for n in $(seq "$first" "$last"); do
            line=$(sed -n "${n}p" <<<"$table")
            if [ "${line:pos-1:1}" = " " ] || [ -z "${line:pos-1:1}" ] || { [ "$pos" -gt 1 ] && [ "${line:pos-2:1}" != " " ]; }; then
                t_fail "column $w (at $pos) is not aligned in line $n: '$line'"
            fi
        done
    done
}

# gap_ms FILE [N]: ms between the timestamps on lines N and N+1 of FILE (N defaults to 1).
gap_ms() { awk -v n="${2:-1}" 'NR==n{a=$1} NR==n+1{printf "%d\n", ($1-a)/1000000}' "$1"; }

# assert_retried_then_backed_off: the back-off cases' common checks: the pod
# exited 0 after three attempts ($D/attempts, one timestamp a line), the second
# at once and the third after the first 10 s back-off.
assert_retried_then_backed_off() {
    assert_eq 0 "$RC" "exit status ($ERR)"
    assert_eq 3 "$(wc -l <"$D/attempts")" "attempts"
    assert_between 0 2000 "$(gap_ms "$D/attempts")" "ms between the first two attempts (at once)"
    assert_between 8000 20000 "$(gap_ms "$D/attempts" 2)" "ms between the second and third attempts"
}

# ============================================================================
# The back-off cases: started now, checked at the end.
# ============================================================================

# slow_start: run $P in the background as PID 1; slow_collect NAME waits for it.
slow_start() {
    local d=$D p=$P
    (
        t0=$(now_ms)
        unshare --pid --fork --mount-proc "$PODINIT" run -c "$p" >"$d/out" 2>"$d/err" &
        echo $! >"$d/bgpid"
        rc=0
        wait $! || rc=$?
        echo "$rc $(($(now_ms) - t0))" >"$d/result.tmp"
        mv "$d/result.tmp" "$d/result"
    ) &
}

# slow_collect NAME: wait for case NAME's background pod; sets D, P, RC, MS, OUT, ERR.
slow_collect() {
    D=$T_TMP/$1
    P=$D/pod.toml
    if ! wait_for 60 test -e "$D/result"; then
        t_fail "background pod $1 did not finish in 60 s"
        kill_pod "$(cat "$D/bgpid")"
        wait_for 5 test -e "$D/result"
    fi
    RC=timeout MS=0
    [ -e "$D/result" ] && read -r RC MS <"$D/result"
    OUT=$(cat "$D/out")
    ERR=$(cat "$D/err")
}

# (S1) OnFailure: an init step that fails is retried after the first back-off.
newpod retry-onfailure <<'EOF'
name = "retry"
restart_policy = "OnFailure"
[[init]]
name = "flaky"
command = ["sh", "-c", "date +%s%N >> @D@/attempts; [ `wc -l < @D@/attempts` -ge 3 ]"]
[[app]]
name = "app"
command = ["sh", "-c", "echo app >> @D@/log"]
EOF
slow_start
S1_D=$D S1_P=$P

# (S2) Always: a step killed by its timeout is retried after the first back-off.
newpod retry-timeout-always <<'EOF'
name = "timeout-retry"
restart_policy = "Always"
[[init]]
name = "slow"
timeout = "500ms"
command = ["sh", "-c", "date +%s%N >> @D@/attempts; [ `wc -l < @D@/attempts` -ge 3 ] || exec sleep 30"]
[[app]]
name = "app"
command = ["sh", "-c", "echo app >> @D@/log; kill -TERM 1; exec sleep 30"]
EOF
slow_start
S2_D=$D

# (S3) OnFailure: a crashed app is restarted after the first back-off (CrashLoopBackOff).
newpod app-crashloop <<'EOF'
name = "crashloop"
restart_policy = "OnFailure"
[[app]]
name = "worker"
command = ["sh", "-c", "date +%s%N >> @D@/attempts; [ `wc -l < @D@/attempts` -ge 3 ] || exit 3"]
[[app]]
name = "steady"
command = ["sh", "-c", "echo steady >> @D@/log"]
EOF
slow_start
S3_D=$D S3_P=$P

# What the back-off looks like from outside, while it lasts.
D=$S1_D P=$S1_P
wait_for 5 status_is "Init:CrashLoopBackOff"
S1_STATUS=$(pstatus)
S1_HEALTH=0
"$PODINIT" health -c "$P" >/dev/null 2>&1 || S1_HEALTH=$?
D=$S3_D P=$S3_P
wait_for 5 status_is "CrashLoopBackOff"
S3_STATUS=$(pstatus)

# ============================================================================
# Init steps: order, failure, timeout
# ============================================================================

t_begin "init: steps run one at a time in file order, then the app"
newpod order <<'EOF'
name = "order"
restart_policy = "Never"
[[init]]
name = "one"
command = ["sh", "-c", "sleep 0.3; echo one >> @D@/log"]
[[init]]
name = "two"
command = ["sh", "-c", "echo two >> @D@/log"]
[[init]]
name = "three"
command = ["sh", "-c", "echo three >> @D@/log"]
[[app]]
name = "app"
command = ["sh", "-c", "echo app >> @D@/log"]
EOF
run_pod
assert_eq 0 "$RC" "exit status"
assert_eq "one two three app" "$(cat "$D/log" | tr '\n' ' ' | sed 's/ $//')" "order of the log"
assert_eq "one: started
one: exited 0
two: started
two: exited 0
three: started
three: exited 0
app: started
app: exited 0" "$(lifecycle)" "lifecycle lines on stderr"
assert_match "$ERR" '^podinit: INFO one: exited 0 after 0\.[0-9]s$' "stderr"
assert_contains "$ERR" "all apps have ended"
assert_eq "Completed" "$(json_field status)" "final status"
t_end

t_begin "init: apps start together after the last step"
newpod together <<'EOF'
restart_policy = "Never"
[[app]]
name = "a"
command = ["sh", "-c", "date +%s%N > @D@/a; sleep 0.5"]
[[app]]
name = "b"
command = ["sh", "-c", "date +%s%N > @D@/b; sleep 0.5"]
EOF
run_pod
assert_eq 0 "$RC" "exit status"
cat "$D/a" "$D/b" >"$D/both" 2>/dev/null
gap=$(gap_ms "$D/both")
assert_between -300 300 "${gap:-x}" "ms between the apps' starts"
assert_between 400 1400 "$MS" "wall time (ms) of two 0.5 s apps"
t_end

t_begin "init: restart_policy Never, a failing step fails the pod with its code; nothing after it starts"
newpod never-fail <<'EOF'
restart_policy = "Never"
[[init]]
name = "ok"
command = ["sh", "-c", "echo ok >> @D@/log"]
[[init]]
name = "bad"
command = ["sh", "-c", "echo bad >> @D@/log; exit 7"]
[[init]]
name = "after"
command = ["touch", "@D@/after-ran"]
[[app]]
name = "app"
command = ["touch", "@D@/app-ran"]
EOF
run_pod
assert_eq 7 "$RC" "exit status"
assert_no_file "$D/after-ran"
assert_no_file "$D/app-ran"
assert_eq "ok bad" "$(tr '\n' ' ' <"$D/log" | sed 's/ $//')" "log"
assert_contains "$ERR" "bad: exited 7"
assert_contains "$ERR" "restart_policy is Never"
assert_not_contains "$ERR" "restarting in"
assert_file "$D/markers/ok.done"
assert_no_file "$D/markers/bad.done"
assert_between 0 3000 "$MS" "wall time (ms)"
assert_eq "7" "$(json_field 'e["bad"]["last_exit"]')" "bad's LAST EXIT"
assert_eq "Error" "$(json_field 'e["bad"]["state"]')" "bad's STATE"
t_end

t_begin "init: the final status of a pod whose init step failed is Init:Error (as kubectl)"
assert_eq "Init:Error" "$(json_field status)" "final pod STATUS after the failed init step"
t_end

t_begin "init: a step that outlives its timeout is killed and fails the pod (Never)"
newpod timeout-never <<'EOF'
restart_policy = "Never"
[[init]]
name = "hang"
timeout = "500ms"
command = ["sleep", "30"]
[[app]]
name = "app"
command = ["touch", "@D@/app-ran"]
EOF
run_pod
assert_eq 137 "$RC" "exit status (SIGKILL)"
assert_between 400 3000 "$MS" "wall time (ms) with timeout 500ms"
assert_contains "$ERR" "hang: timed out"
assert_contains "$ERR" "hang: killed by SIGKILL"
assert_no_file "$D/app-ran"
assert_no_file "$D/markers/hang.done"
assert_eq "137 (timeout)" "$(json_field 'e["hang"]["last_exit"]')" "hang's LAST EXIT"
t_end

t_begin "init: a step that cannot be started fails like one that exited 127"
newpod not-found <<'EOF'
restart_policy = "Never"
[[init]]
name = "missing"
command = ["/nonexistent/podinit-test-cmd"]
[[app]]
name = "app"
command = ["touch", "@D@/app-ran"]
EOF
run_pod
assert_eq 127 "$RC" "exit status"
assert_contains "$ERR" "/nonexistent/podinit-test-cmd"
assert_no_file "$D/app-ran"
t_end

t_begin "wait_for: a file waiter holds the next entry back until the file exists"
newpod wait-file <<'EOF'
restart_policy = "Never"
[[init]]
name = "waiter"
wait_for = { file = "@D@/flag", period = "100ms" }
[[app]]
name = "app"
command = ["touch", "@D@/app-ran"]
EOF
start_pod
wait_for 5 status_is "Init:0/1" || t_fail "status never showed Init:0/1 (last: $(json_field status))"
sleep 0.5
assert_no_file "$D/app-ran"
touch "$D/flag"
wait_for 5 test -e "$D/app-ran" || t_fail "the app did not start after the file appeared"
stop_wait 10
assert_eq 0 "$RC" "exit status"
assert_contains "$ERR" "waiter: waiting for file $D/flag"
t_end

t_begin "wait_for: a waiter that times out fails the pod (Never); the app never starts"
newpod wait-timeout <<'EOF'
restart_policy = "Never"
[[init]]
name = "waiter"
wait_for = { file = "@D@/never", timeout = "500ms", period = "100ms" }
[[app]]
name = "app"
command = ["touch", "@D@/app-ran"]
EOF
run_pod
assert_ne 0 "$RC" "exit status"
assert_between 400 3000 "$MS" "wall time (ms) with timeout 500ms"
assert_no_file "$D/app-ran"
assert_contains "$(json_field 'e["waiter"]["last_exit"]')" "timeout" "waiter's LAST EXIT"
t_end

# ============================================================================
# Run-once markers
# ============================================================================

newpod markers <<'EOF'
restart_policy = "Never"
[[init]]
name = "a"
command = ["sh", "-c", "echo a >> @D@/log"]
[[init]]
name = "b"
command = ["sh", "-c", "echo b >> @D@/log"]
[[init]]
name = "c"
once = false
command = ["sh", "-c", "echo c >> @D@/log"]
[[app]]
name = "app"
command = ["sh", "-c", "echo app >> @D@/log"]
EOF
M_D=$D M_P=$P
# log_since N: the log lines after the first N, space-separated.
log_since() { tail -n +"$(($1 + 1))" "$D/log" | tr '\n' ' ' | sed 's/ $//'; }
loglen() { wc -l <"$D/log"; }

t_begin "markers: the first start runs every step and writes <name>.done for once steps only"
run_pod
assert_eq 0 "$RC" "exit status"
assert_eq "a b c app" "$(log_since 0)" "log"
assert_file "$D/markers/a.done"
assert_file "$D/markers/b.done"
assert_no_file "$D/markers/c.done"
assert_eq "a.done b.done" "$(ls -A "$D/markers" | tr '\n' ' ' | sed 's/ $//')" "marker_dir holds only finished markers (no temp files)"
assert_eq "644" "$(stat -c %a "$D/markers/a.done")" "marker mode"
[ -L "$D/markers/a.done" ] && t_fail "marker is a symlink"
assert_match "$(cat "$D/markers/a.done")" '^hash [0-9a-f]{16}$' "marker content"
t_end

t_begin "markers: the next start skips the finished steps and says so; once = false runs again"
n=$(loglen)
run_pod
assert_eq 0 "$RC" "exit status"
assert_eq "c app" "$(log_since "$n")" "log of the second start"
assert_contains "$ERR" "podinit: INFO a: skipped (marker)"
assert_contains "$ERR" "podinit: INFO b: skipped (marker)"
assert_not_contains "$ERR" "c: skipped"
assert_eq "Skipped" "$(json_field 'e["a"]["state"]')" "a's STATE"
t_end

t_begin "markers: a changed step runs again, the unchanged one stays skipped"
sed -i 's/echo b >>/echo b2 >>/' "$P"
n=$(loglen)
run_pod
assert_eq 0 "$RC" "exit status"
assert_eq "b2 c app" "$(log_since "$n")" "log after editing step b"
assert_contains "$ERR" "a: skipped (marker)"
assert_not_contains "$ERR" "b: skipped"
t_end

t_begin "markers: a changed env of a step makes it run again; a changed app does not"
sed -i 's/^name = "b"$/name = "b"\nenv = { X = "1" }/; s/echo app >>/echo app2 >>/' "$P"
n=$(loglen)
run_pod
assert_eq "b2 c app2" "$(log_since "$n")" "log after editing b's env and the app"
n=$(loglen)
sed -i 's/echo app2 >>/echo app3 >>/' "$P"
run_pod
assert_eq "c app3" "$(log_since "$n")" "log after editing only the app"
t_end

t_begin "markers: podinit reset STEP forgets that step only"
out=$("$PODINIT" reset -c "$P" b 2>&1)
rc=$?
assert_eq 0 "$rc" "reset exit status ($out)"
assert_contains "$out" "b"
assert_no_file "$D/markers/b.done"
assert_file "$D/markers/a.done"
n=$(loglen)
run_pod
assert_eq "b2 c app3" "$(log_since "$n")" "log after reset b"
t_end

t_begin "markers: podinit reset without a step forgets every marker"
out=$("$PODINIT" reset -c "$P" 2>&1)
rc=$?
assert_eq 0 "$rc" "reset exit status ($out)"
assert_eq "" "$(ls -A "$D/markers")" "marker_dir after reset"
n=$(loglen)
run_pod
assert_eq "a b2 c app3" "$(log_since "$n")" "log after reset"
t_end

t_begin "markers: podinit reset of an unknown step is an error and removes nothing"
rc=0
out=$("$PODINIT" reset -c "$P" no-such-step 2>&1) || rc=$?
assert_eq 1 "$rc" "reset exit status"
assert_contains "$out" "no-such-step"
assert_file "$D/markers/a.done"
t_end

t_begin "markers: podinit killed mid-step leaves no marker and no temp file; the step runs again"
newpod crash <<'EOF'
restart_policy = "Never"
[[init]]
name = "first"
command = ["sh", "-c", "echo first >> @D@/log"]
[[init]]
name = "slow"
command = ["sh", "-c", "echo slow >> @D@/log; touch @D@/slow-started; [ `grep -c slow @D@/log` -ge 2 ] || exec sleep 30"]
[[app]]
name = "app"
command = ["sh", "-c", "echo app >> @D@/log"]
EOF
start_pod
ready "$D/slow-started"
kill -KILL "$P1"
bg_wait 5
assert_eq "first.done" "$(ls -A "$D/markers" | tr '\n' ' ' | sed 's/ $//')" "marker_dir after SIGKILL mid-step"
run_pod
assert_eq 0 "$RC" "exit status of the restart"
assert_contains "$ERR" "first: skipped (marker)"
assert_contains "$ERR" "slow: started"
assert_eq "first slow slow app" "$(tr '\n' ' ' <"$D/log" | sed 's/ $//')" "log"
assert_file "$D/markers/slow.done"
t_end

# ============================================================================
# Pod exit codes
# ============================================================================

t_begin "exit: restart_policy Never, every app exits 0: the pod exits 0 (Completed)"
newpod never-ok <<'EOF'
restart_policy = "Never"
[[app]]
name = "a"
command = ["true"]
[[app]]
name = "b"
command = ["sh", "-c", "sleep 0.2"]
EOF
run_pod
assert_eq 0 "$RC" "exit status"
assert_eq "Completed" "$(json_field status)" "final status"
t_end

t_begin "exit: restart_policy Never, an app exits 3: the pod exits 3 once every app ended"
newpod never-3 <<'EOF'
restart_policy = "Never"
[[app]]
name = "ok"
command = ["true"]
[[app]]
name = "fails"
command = ["sh", "-c", "sleep 0.2; exit 3"]
[[app]]
name = "later"
command = ["sh", "-c", "sleep 0.8; touch @D@/later-finished; exit 4"]
EOF
run_pod
assert_eq 3 "$RC" "exit status (the first failing app)"
assert_file "$D/later-finished"
assert_not_contains "$ERR" "restarting in"
assert_eq "Error" "$(json_field status)" "final status"
assert_eq "3" "$(json_field 'e["fails"]["last_exit"]')" "fails' LAST EXIT"
t_end

t_begin "exit: restart_policy OnFailure, every app exits 0: the pod exits 0, nothing restarted"
newpod onfailure-ok <<'EOF'
restart_policy = "OnFailure"
[[app]]
name = "a"
command = ["true"]
[[app]]
name = "b"
command = ["sh", "-c", "sleep 0.2"]
EOF
run_pod
assert_eq 0 "$RC" "exit status"
assert_not_contains "$ERR" "restarting in"
assert_between 0 3000 "$MS" "wall time (ms)"
t_end

t_begin "exit: an essential app's exit stops the pod with its status"
newpod essential <<'EOF'
restart_policy = "Never"
[[app]]
name = "main"
essential = true
command = ["sh", "-c", "sleep 0.3; exit 5"]
[[app]]
name = "helper"
command = ["sh", "-c", "trap 'touch @D@/helper-stopped; exit 0' TERM; while :; do sleep 0.1; done"]
EOF
run_pod
assert_eq 5 "$RC" "exit status"
assert_file "$D/helper-stopped"
assert_between 0 3000 "$MS" "wall time (ms)"
t_end

t_begin "exit: an app that cannot be started exits 127 (Never)"
newpod app-not-found <<'EOF'
restart_policy = "Never"
[[app]]
name = "missing"
command = ["/nonexistent/podinit-test-app"]
EOF
run_pod
assert_eq 127 "$RC" "exit status"
assert_contains "$ERR" "/nonexistent/podinit-test-app"
t_end

t_begin "exit: restart_policy Never, an app killed by SIGUSR2: the pod exits 128+12"
newpod never-signal <<'EOF'
restart_policy = "Never"
[[app]]
name = "victim"
command = ["sh", "-c", "kill -USR2 $$$$"]
EOF
run_pod
assert_eq 140 "$RC" "exit status"
assert_contains "$ERR" "victim: killed by SIGUSR2"
assert_eq "140 (SIGUSR2)" "$(json_field 'e["victim"]["last_exit"]')" "victim's LAST EXIT"
t_end

t_begin "exit: when the apps have ended, the sidecars are stopped and the pod exits with the apps' result"
newpod end-sidecars <<'EOF'
restart_policy = "Never"
termination_grace_period = "10s"
[[init]]
name = "side"
restart = "Always"
command = ["sh", "-c", "trap 'echo side-stopped >> @D@/log; exit 0' TERM; touch @D@/side-ready; while :; do sleep 0.1; done"]
[[app]]
name = "app"
command = ["sh", "-c", "until [ -e @D@/side-ready ]; do sleep 0.05; done; echo app-done >> @D@/log"]
EOF
run_pod
assert_eq 0 "$RC" "exit status"
assert_eq "app-done side-stopped" "$(tr '\n' ' ' <"$D/log" 2>/dev/null | sed 's/ $//')" "log"
assert_between 0 3000 "$MS" "wall time (ms)"
t_end

# ============================================================================
# Stop and signals
# ============================================================================

TRAP_LOOP='touch @D@/ready; while :; do sleep 0.1; done'

t_begin "stop: SIGTERM, the app traps it and exits: podinit exits 0 at once (grace is a limit)"
newpod stop-trap <<EOF
termination_grace_period = "30s"
[[app]]
name = "app"
command = ["sh", "-c", "trap 'echo trapped >> @D@/log; exit 0' TERM; $TRAP_LOOP"]
EOF
start_pod
ready "$D/ready"
t0=$(now_ms)
term_pod_ok
assert_eq "trapped" "$(cat "$D/log" 2>/dev/null)" "the app's TERM trap"
assert_between 0 3000 "$(($(now_ms) - t0))" "ms from SIGTERM to exit (grace 30s)"
assert_contains "$ERR" "app: sending SIGTERM"
t_end

t_begin "stop: SIGINT stops the pod like SIGTERM (the app gets its stop_signal)"
newpod stop-int <<EOF
[[app]]
name = "app"
command = ["sh", "-c", "trap 'echo term >> @D@/log; exit 0' TERM; $TRAP_LOOP"]
EOF
start_pod
ready "$D/ready"
kill -INT "$P1"
stop_wait 10
assert_eq 0 "$RC" "exit status"
assert_eq "term" "$(cat "$D/log" 2>/dev/null)" "the app's TERM trap"
t_end

t_begin "stop: SIGTERM while an init step runs stops the step; the app never starts; exit 0"
newpod stop-in-init <<'EOF'
termination_grace_period = "10s"
[[init]]
name = "long"
command = ["sh", "-c", "trap 'echo long-stopped >> @D@/log; exit 0' TERM; touch @D@/ready; while :; do sleep 0.1; done"]
[[app]]
name = "app"
command = ["touch", "@D@/app-ran"]
EOF
start_pod
ready "$D/ready"
term_pod_ok
assert_eq "long-stopped" "$(cat "$D/log" 2>/dev/null)" "the step's TERM trap"
assert_no_file "$D/app-ran"
t_end

t_begin "stop: SIGTERM during an init step's back-off exits 0 at once, without the retry"
newpod stop-in-backoff <<'EOF'
restart_policy = "OnFailure"
[[init]]
name = "fails"
command = ["sh", "-c", "echo attempt >> @D@/log; exit 1"]
[[app]]
name = "app"
command = ["touch", "@D@/app-ran"]
EOF
start_pod
wait_for 5 status_is "Init:CrashLoopBackOff" || t_fail "status never showed Init:CrashLoopBackOff"
t0=$(now_ms)
term_pod_ok
assert_between 0 2000 "$(($(now_ms) - t0))" "ms from SIGTERM to exit"
assert_eq "attempt attempt" "$(tr '\n' ' ' <"$D/log" 2>/dev/null | sed 's/ $//')" "attempts (the first retry is at once, the second waits)"
assert_no_file "$D/app-ran"
t_end

t_begin "stop: an app that ignores SIGTERM is killed after termination_grace_period 1s: exit 137"
newpod stop-ignore <<EOF
termination_grace_period = "1s"
[[app]]
name = "stubborn"
command = ["sh", "-c", "trap '' TERM; $TRAP_LOOP"]
EOF
start_pod
ready "$D/ready"
t0=$(now_ms)
term_pod
ms=$(($(now_ms) - t0))
assert_eq 137 "$RC" "exit status"
assert_between 900 3000 "$ms" "ms from SIGTERM to exit (grace 1s)"
assert_contains "$ERR" "grace period over"
t_end

t_begin "stop: a second SIGTERM skips the rest of the grace period"
newpod stop-twice <<EOF
termination_grace_period = "30s"
[[app]]
name = "stubborn"
command = ["sh", "-c", "trap '' TERM; $TRAP_LOOP"]
EOF
start_pod
ready "$D/ready"
t0=$(now_ms)
kill -TERM "$P1"
sleep 1.3
term_pod
ms=$(($(now_ms) - t0))
assert_eq 137 "$RC" "exit status"
assert_between 1200 4000 "$ms" "ms from the first SIGTERM to exit (grace 30s)"
assert_contains "$ERR" "second SIGTERM"
t_end

# A script that traps INT to `kill -TERM` podinit: Ctrl-C delivers SIGINT to
# the foreground group and the trap SIGTERM milliseconds later. One request:
# the app gets its grace period and finishes its flush.
t_begin "stop: SIGINT then SIGTERM within a second is one stop request (Ctrl-C in a script)"
newpod ctrl-c <<EOF
termination_grace_period = "30s"
[[app]]
name = "flusher"
command = ["sh", "-c", "trap 'sleep 1.5; echo flushed > @D@/flushed; exit 0' TERM; $TRAP_LOOP"]
EOF
start_pod
ready "$D/ready"
kill -INT "$P1"
term_pod_ok
assert_file "$D/flushed"
assert_not_contains "$ERR" "skipping the grace period"
assert_contains "$ERR" "already stopping"
t_end

# The same, as a person does it: a test script that runs the pod in the
# background and traps INT to `kill -TERM` it, in a real terminal, and Ctrl-C
# typed into that terminal (tests/helpers/ctrl_c.py).
t_begin "stop: Ctrl-C in a terminal running a script that traps INT stays graceful"
CC=$T_TMP/ctrl-c-pty  # not newpod's $T_TMP/ctrl-c of the case above
mkdir -p "$CC"
cat > "$CC/pod.toml" <<EOF
state_dir = "$CC/state"
marker_dir = "$CC/markers"
termination_grace_period = "30s"
[[app]]
name = "flusher"
command = ["sh", "-c", "trap 'sleep 1.5; echo flushed > $CC/flushed; exit 0' TERM; touch $CC/ready; while :; do sleep 0.1; done"]
EOF
cat > "$CC/script.sh" <<'EOF'
"$PODINIT" run -c "$1" & P=$!
trap 'kill -TERM $P' INT
wait $P; wait $P; echo "podinit exit $?"
EOF
out=$(PODINIT=$PODINIT timeout 70 python3 "$ROOT/tests/helpers/ctrl_c.py" "$CC/ready" "$CC/script.sh" "$CC/pod.toml" 2>&1)
rc=$?
[ "$rc" = 0 ] || t_fail "ctrl_c.py exited $rc; pod files: $(ls "$CC" | tr '\n' ' ')"
assert_contains "$out" "podinit exit 0"
assert_contains "$out" "SIGTERM: already stopping"
assert_not_contains "$out" "skipping the grace period"
assert_file "$CC/flushed"
t_end

t_begin "stop: stop_signal = \"SIGUSR1\" is what the app gets"
newpod stop-signal <<EOF
[[app]]
name = "app"
stop_signal = "SIGUSR1"
command = ["sh", "-c", "trap 'echo usr1 >> @D@/log; exit 0' USR1; trap 'echo term >> @D@/log; exit 0' TERM; $TRAP_LOOP"]
EOF
start_pod
ready "$D/ready"
term_pod_ok
assert_eq "usr1" "$(cat "$D/log" 2>/dev/null)" "signals the app saw"
assert_contains "$ERR" "app: sending SIGUSR1"
t_end

t_begin "stop: apps first, then sidecars in reverse order, then every leftover process gets SIGTERM"
newpod stop-order <<'EOF'
termination_grace_period = "10s"
[[init]]
name = "s1"
restart = "Always"
command = ["sh", "-c", "trap 'echo s1 >> @D@/log; exit 0' TERM; touch @D@/s1-ready; while :; do sleep 0.1; done"]
[[init]]
name = "s2"
restart = "Always"
command = ["sh", "-c", "trap 'echo s2 >> @D@/log; exit 0' TERM; touch @D@/s2-ready; while :; do sleep 0.1; done"]
[[app]]
name = "app"
command = ["sh", "-c", "(trap 'echo orphan >> @D@/log; exit 0' TERM; touch @D@/orphan-ready; while :; do sleep 0.1; done) & trap 'sleep 1; echo app >> @D@/log; exit 0' TERM; touch @D@/ready; while :; do sleep 0.1; done"]
EOF
start_pod
ready "$D/s1-ready" "$D/s2-ready" "$D/ready" "$D/orphan-ready"
kill -TERM "$P1"
wait_for 3 status_is Terminating || t_fail "status never showed Terminating (last: $(json_field status))"
stop_wait 10
assert_eq 0 "$RC" "exit status"
assert_eq "app s2 s1 orphan" "$(tr '\n' ' ' <"$D/log" 2>/dev/null | sed 's/ $//')" "order of the TERM traps"
t_end

t_begin "signals: SIGHUP to podinit is forwarded to every app and sidecar; the pod keeps running"
newpod hup <<'EOF'
[[init]]
name = "side"
restart = "Always"
command = ["sh", "-c", "trap 'echo side-hup >> @D@/log' HUP; touch @D@/side-ready; while :; do sleep 0.1; done"]
[[app]]
name = "app"
command = ["sh", "-c", "trap 'echo app-hup >> @D@/log' HUP; touch @D@/ready; while :; do sleep 0.1; done"]
EOF
start_pod
ready "$D/side-ready" "$D/ready"
kill -HUP "$P1"
wait_for 3 grep -q app-hup "$D/log" || t_fail "the app did not get SIGHUP"
wait_for 3 grep -q side-hup "$D/log" || t_fail "the sidecar did not get SIGHUP"
kill -0 "$P1" 2>/dev/null || t_fail "podinit exited on SIGHUP"
assert_eq "Running" "$(json_field status)" "pod status after SIGHUP"
term_pod_ok
t_end

# ============================================================================
# Process setup
# ============================================================================

t_begin "env: POD_NAME, POD_NAMESPACE, CONTAINER_NAME; entry env over pod [env] over inherited; \$(VAR) and \$\$(VAR)"
newpod env <<'EOF'
name = "envpod"
namespace = "testns"
restart_policy = "Never"
[env]
FROM_POD = "pod"
SHARED = "pod"
GREETING = "hello-$(POD_NAME)"
[[init]]
name = "init-env"
command = ["sh", "-c", "echo \"$CONTAINER_NAME $POD_NAME $POD_NAMESPACE $SHARED\" > @D@/init-env"]
[[app]]
name = "app-env"
env = { SHARED = "entry", DERIVED = "$(SHARED)-$(POD_NAMESPACE)", LITERAL = "$$(POD_NAME)", UNKNOWN = "$(NO_SUCH_VAR_X)" }
command = ["sh", "-c", "env > @D@/app-env; printf '%s\\n' \"$@\" > @D@/app-args", "sh", "$(CONTAINER_NAME)", "$$(CONTAINER_NAME)", "$(NO_SUCH_VAR_X)", "a$$b", "$(GREETING)"]
EOF
export PODINIT_TEST_INHERITED=from-caller SHARED=caller
run_pod
unset PODINIT_TEST_INHERITED SHARED
assert_eq 0 "$RC" "exit status ($ERR)"
env_out=$(cat "$D/app-env" 2>/dev/null)
for kv in POD_NAME=envpod POD_NAMESPACE=testns CONTAINER_NAME=app-env FROM_POD=pod SHARED=entry \
    GREETING=hello-envpod DERIVED=entry-testns 'LITERAL=$(POD_NAME)' 'UNKNOWN=$(NO_SUCH_VAR_X)' \
    PODINIT_TEST_INHERITED=from-caller; do
    assert_match "$env_out" "^$(printf '%s' "$kv" | sed 's/[$()]/\\&/g')\$" "the app's environment"
done
assert_eq 'app-env
$(CONTAINER_NAME)
$(NO_SUCH_VAR_X)
a$b
hello-envpod' "$(cat "$D/app-args" 2>/dev/null)" "the app's expanded arguments"
assert_eq "init-env envpod testns pod" "$(cat "$D/init-env" 2>/dev/null)" "the init step's environment"
t_end

t_begin "env: without name/namespace the pod is 'pod' in 'default'"
newpod env-default <<'EOF'
restart_policy = "Never"
[[app]]
name = "app"
command = ["sh", "-c", "echo \"$POD_NAME $POD_NAMESPACE $CONTAINER_NAME\" > @D@/names"]
EOF
run_pod
assert_eq "pod default app" "$(cat "$D/names" 2>/dev/null)" "names"
t_end

t_begin "user: user = \"nobody\" / \"uid:gid\" and working_dir"
chmod 755 "$T_TMP"
newpod user <<'EOF'
restart_policy = "Never"
[[init]]
name = "step"
user = "nobody"
working_dir = "/"
command = ["sh", "-c", "echo step uid=`id -u` pwd=`pwd`"]
[[app]]
name = "as-nobody"
user = "nobody"
working_dir = "@D@/work"
command = ["sh", "-c", "echo nobody uid=`id -u` gid=`id -g` groups=`id -G` pwd=`pwd`"]
[[app]]
name = "as-numbers"
user = "4321:8765"
command = ["sh", "-c", "echo numbers uid=`id -u` gid=`id -g` groups=`id -G`"]
[[app]]
name = "as-root"
working_dir = "@D@/work"
command = ["sh", "-c", "echo root uid=`id -u` pwd=`pwd`"]
EOF
mkdir -p "$D/work"
chmod 755 "$D" "$D/work"
run_pod
assert_eq 0 "$RC" "exit status ($ERR)"
nuid=$(id -u nobody)
ngid=$(id -g nobody)
assert_match "$OUT" "^step uid=$nuid pwd=/\$" "stdout"
assert_match "$OUT" "^nobody uid=$nuid gid=$ngid groups=$ngid pwd=$D/work\$" "stdout (supplementary groups dropped)"
assert_match "$OUT" "^numbers uid=4321 gid=8765 groups=8765\$" "stdout"
assert_match "$OUT" "^root uid=0 pwd=$D/work\$" "stdout"
t_end

t_begin "spawn errors name the cause: a missing working_dir, a #! interpreter that is missing (or ends in CR)"
newpod spawn-errors <<'EOF'
restart_policy = "Never"
[[app]]
name = "nodir"
working_dir = "/nonexistent-podinit-dir"
command = ["true"]
[[app]]
name = "bogus"
command = ["@D@/bogus.sh"]
[[app]]
name = "dos"
command = ["@D@/dos.sh"]
EOF
printf '#!/bin/bogus\necho hi\n' >"$D/bogus.sh"
printf '#!/bin/sh\r\necho hi\r\n' >"$D/dos.sh"
chmod 755 "$D/bogus.sh" "$D/dos.sh"
run_pod
assert_contains "$ERR" "nodir: working_dir /nonexistent-podinit-dir: No such file or directory"
assert_contains "$ERR" "bogus: $D/bogus.sh: interpreter /bin/bogus not found"
assert_contains "$ERR" "dos: $D/dos.sh: interpreter /bin/sh not found (the #! line ends in a carriage return: DOS line endings?)"
assert_not_contains "$ERR" "command not found"
t_end

if command -v setpriv >/dev/null; then
    t_begin "user: a podinit that is not root refuses user = ... before starting anything (exit 1)"
    newpod user-not-root <<'EOF'
restart_policy = "Never"
[[init]]
name = "step"
command = ["touch", "/tmp/podinit-test-should-not-exist-$(POD_NAME)"]
[[app]]
name = "app"
user = "root"
command = ["true"]
EOF
    chmod 755 "$D"
    chmod 644 "$P"
    rm -f /tmp/podinit-test-should-not-exist-pod
    rc=0
    err=$(cd / && "${AS_NOBODY[@]}" "$PODINIT" run -c "$P" 2>&1) || rc=$?
    assert_eq 1 "$rc" "exit status"
    assert_contains "$err" "only root may change user"
    assert_not_contains "$err" "started"
    assert_no_file /tmp/podinit-test-should-not-exist-pod
    t_end
fi

t_begin "unwritable state_dir and marker_dir: the pod still runs, with one warning for each"
newpod unwritable <<'EOF'
restart_policy = "Never"
[[init]]
name = "step1"
command = ["sh", "-c", "echo step1 >> @D@/log"]
[[init]]
name = "step2"
command = ["sh", "-c", "echo step2 >> @D@/log"]
[[app]]
name = "app"
command = ["sh", "-c", "echo app >> @D@/log"]
EOF
sed -i 's|^marker_dir = .*|marker_dir = "/proc/podinit-test/markers"|; s|^state_dir = .*|state_dir = "/proc/podinit-test/state"|' "$P"
run_pod
assert_eq 0 "$RC" "exit status ($ERR)"
assert_eq "step1 step2 app" "$(tr '\n' ' ' <"$D/log" 2>/dev/null | sed 's/ $//')" "log"
assert_eq 1 "$(printf '%s\n' "$ERR" | grep -c 'WARN.*status')" "warnings about the status file ($ERR)"
assert_eq 1 "$(printf '%s\n' "$ERR" | grep -c 'WARN.*marker')" "warnings about markers ($ERR)"
rc=0
out=$(pstatus) || rc=$?
assert_eq 1 "$rc" "status exit status"
assert_contains "$out" "could not write its state_dir"
t_end

t_begin "log: PODINIT_LOG=warn hides the INFO lifecycle lines, keeps warnings"
newpod log-level <<'EOF'
restart_policy = "Never"
[[app]]
name = "app"
command = ["sh", "-c", "exit 2"]
EOF
export PODINIT_LOG=warn
run_pod
unset PODINIT_LOG
assert_eq 2 "$RC" "exit status"
assert_not_contains "$ERR" "INFO"
assert_contains "$ERR" "WARN app: exited 2"
t_end

# ============================================================================
# active_deadline
# ============================================================================

t_begin "active_deadline = \"1s\": the pod is stopped gracefully, status DeadlineExceeded, exit 124"
newpod deadline <<'EOF'
active_deadline = "1s"
termination_grace_period = "5s"
[[app]]
name = "app"
command = ["sh", "-c", "trap 'sleep 0.5; echo stopped >> @D@/log; exit 0' TERM; while :; do sleep 0.1; done"]
EOF
t0=$(now_ms)
start_pod
wait_for 4 status_is DeadlineExceeded || t_fail "status never showed DeadlineExceeded (last: $(json_field status))"
stop_wait 10
ms=$(($(now_ms) - t0))
assert_eq 124 "$RC" "exit status"
assert_between 900 4000 "$ms" "ms from start to exit"
assert_contains "$ERR" "active_deadline"
assert_eq "stopped" "$(cat "$D/log" 2>/dev/null)" "the app's TERM trap"
t_end

t_begin "active_deadline: the final status stays DeadlineExceeded (as kubectl)"
assert_eq "DeadlineExceeded" "$(json_field status)" "final pod STATUS"
t_end

# ============================================================================
# status, status --json, health
# ============================================================================

t_begin "status: during init, Init:1/2 with the SPEC §4 columns; health fails"
newpod status <<'EOF'
name = "statuspod"
namespace = "stat-ns"
[[init]]
name = "prepare"
command = ["true"]
[[init]]
name = "gate"
command = ["sh", "-c", "until [ -e @D@/go ]; do sleep 0.05; done"]
[[app]]
name = "web"
command = ["sh", "-c", "touch @D@/ready; exec sleep 60"]
EOF
start_pod
wait_for 5 status_is "Init:1/2" || t_fail "status never showed Init:1/2 (last: $(json_field status))"
table=$(pstatus)
sq=$(printf '%s\n' "$table" | tr -s ' ')
assert_eq "POD READY STATUS RESTARTS AGE" "$(sed -n 1p <<<"$sq")" "pod header"
assert_match "$(sed -n 2p <<<"$sq")" '^statuspod 0/1 Init:1/2 0 [0-9]+s$' "pod row"
assert_eq "ENTRY KIND STATE READY RESTARTS LAST EXIT AGE" "$(sed -n 3p <<<"$sq")" "entry header"
assert_match "$(sed -n 4p <<<"$sq")" '^prepare init Completed - 0 0 [0-9]+s$' "prepare row"
assert_match "$(sed -n 5p <<<"$sq")" '^gate init Running - 0 - [0-9]+s$' "gate row"
assert_match "$(sed -n 6p <<<"$sq")" '^web app Waiting false 0 - [0-9]+s$' "web row"
aligned "$table" 1 2 2 POD READY STATUS RESTARTS AGE
aligned "$table" 3 4 6 ENTRY KIND STATE READY RESTARTS "LAST EXIT" AGE
rc=0
herr=$("$PODINIT" health -c "$P" 2>&1) || rc=$?
assert_ne 0 "$rc" "health exit status during init"
assert_contains "$herr" "Init:1/2"
t_end

t_begin "status: when the apps run, Running 1/1; status --json parses; health exits 0"
touch "$D/go"
ready "$D/ready"
pod_wait 5
sq=$(pstatus | tr -s ' ')
assert_match "$(sed -n 2p <<<"$sq")" '^statuspod 1/1 Running 0 [0-9]+s$' "pod row"
assert_match "$(sed -n 5p <<<"$sq")" '^gate init Completed - 0 0 [0-9]+s$' "gate row"
assert_match "$(sed -n 6p <<<"$sq")" '^web app Running true 0 - [0-9]+s$' "web row"
rc=0
herr=$("$PODINIT" health -c "$P" 2>&1) || rc=$?
assert_eq 0 "$rc" "health exit status while Running ($herr)"
json=$("$PODINIT" status --json -c "$P" 2>&1)
out=$(python3 -c '
import json, sys
s = json.loads(sys.argv[1])
assert s["name"] == "statuspod", s["name"]
assert s["namespace"] == "stat-ns", s["namespace"]
assert s["status"] == "Running", s["status"]
assert s["ready"] is True
assert [(e["name"], e["kind"], e["state"]) for e in s["entries"]] == [
    ("prepare", "init", "Completed"), ("gate", "init", "Completed"), ("web", "app", "Running")], s["entries"]
web = s["entries"][2]
assert web["ready"] is True and isinstance(web["pid"], int) and web["restarts"] == 0, web
assert isinstance(s["started_at"], int) and isinstance(s["updated_at"], int)
' "$json" 2>&1) || t_fail "status --json: $out ($json)"
term_pod_ok
rc=0
"$PODINIT" health -c "$P" >/dev/null 2>&1 || rc=$?
assert_ne 0 "$rc" "health exit status after the pod ended"
t_end

t_begin "status: without a running pod, status and health say there is no status file (exit 1)"
newpod no-status <<'EOF'
[[app]]
name = "app"
command = ["true"]
EOF
rc=0
out=$(pstatus) || rc=$?
assert_eq 1 "$rc" "status exit status"
assert_contains "$out" "no status file"
rc=0
out=$("$PODINIT" health -c "$P" 2>&1) || rc=$?
assert_eq 1 "$rc" "health exit status"
assert_contains "$out" "no status file"
t_end

# ============================================================================
# The examples (copies with their /tmp/podinit-demo-* paths and ports moved
# into the test's temp dir, so a demo a user left running is not disturbed)
# ============================================================================

EX=$ROOT/examples

# example_copy NAME DEMO_DIR [PORT...]: D/P = a copy of examples/NAME/pod.toml
# with DEMO_DIR replaced by D and each PORT by a free port (FREE[i]).
example_copy() {
    local name=$1 demo=$2 port sed_args=()
    shift 2
    D=$T_TMP/example-$name
    P=$D/pod.toml
    rm -rf "$D"
    mkdir -p "$D"
    FREE=()
    for port in "$@"; do
        FREE+=("$(free_port)")
        sed_args+=(-e "s|$port|${FREE[-1]}|g")
    done
    sed -e "s|$demo|$D|g" "${sed_args[@]}" "$EX/$name/pod.toml" >"$P"
    rc=0
    out=$("$PODINIT" check -c "$EX/$name/pod.toml" 2>&1) || rc=$?
    assert_eq 0 "$rc" "podinit check examples/$name/pod.toml ($out)"
}

# http_get URL: the body, or nothing.
http_get() { curl -fsS --max-time 2 "$1" 2>/dev/null || wget -q -T 2 -O - "$1" 2>/dev/null; }

if command -v busybox >/dev/null; then
    t_begin "example web: the init step generates the page, the app serves it, SIGTERM exits 0"
    example_copy web /tmp/podinit-demo-web 8080
    url=http://127.0.0.1:${FREE[0]}/
    start_pod
    wait_for 10 http_get "$url" || t_fail "nothing answers at $url"
    page=$(http_get "$url")
    assert_contains "$page" "Hello from pod web in namespace demo"
    assert_contains "$page" "Generated by the init step generate at 20"
    assert_file "$D/www/index.html"
    assert_file "$D/markers/generate.done"
    sq=$(pstatus | tr -s ' ')
    assert_match "$sq" '^web 1/1 Running 0 ' "status"
    assert_match "$sq" '^generate init Completed - 0 0 ' "status"
    term_pod_ok
    # A restart (same pod file) skips the step and serves the same page.
    start_pod
    wait_for 10 http_get "$url" || t_fail "nothing answers at $url after the restart"
    assert_eq "$page" "$(http_get "$url")" "page after the restart"
    term_pod
    assert_eq 0 "$RC" "exit status after the restart"
    assert_contains "$ERR" "generate: skipped (marker)"
    t_end

    t_begin "example wait-services: the app starts only after both services answer"
    example_copy wait-services /tmp/podinit-demo-wait-services 15432 16379
    start_pod
    wait_for 15 grep -q '^app: ' "$D/out" || t_fail "the app never printed its line"
    assert_match "$(cat "$D/out")" '^app: db: ok, cache: ok$' "app output"
    assert_eq "db: started
cache: started
wait-db: waiting
wait-db: exited 0
wait-cache: waiting
wait-cache: exited 0
app: started" "$(ERR=$(cat "$D/err") lifecycle)" "lifecycle"
    assert_eq "Completed" "$(json_field 'e["wait-db"]["state"]')" "wait-db's STATE"
    assert_eq "Running" "$(json_field status)" "pod status"
    term_pod_ok
    # On the next start the waiters wait again (once = false).
    start_pod
    wait_for 15 grep -q '^app: ' "$D/out" || t_fail "the app never printed its line on the second start"
    term_pod
    assert_not_contains "$ERR" "skipped (marker)"
    t_end
else
    echo "note: skipped the web and wait-services examples: no busybox"
fi

t_begin "example env-once: the app prints the pod's names; the init step runs once across restarts"
example_copy env-once /tmp/podinit-demo-env-once
run_pod
assert_eq 0 "$RC" "exit status of the first start ($ERR)"
assert_match "$OUT" '^POD_NAME=env-once$' "stdout"
assert_match "$OUT" '^POD_NAMESPACE=demo$' "stdout"
assert_match "$OUT" '^CONTAINER_NAME=show-env$' "stdout"
assert_match "$OUT" '^initialized 1 time\(s\), first at ' "stdout"
first=$(cat "$D/data/initialized")
run_pod
assert_eq 0 "$RC" "exit status of the second start"
assert_contains "$ERR" "initialize: skipped (marker)"
assert_match "$OUT" '^initialized 1 time\(s\), ' "stdout of the second start"
assert_eq "$first" "$(cat "$D/data/initialized")" "the initialization file after two starts"
"$PODINIT" reset -c "$P" initialize >/dev/null 2>&1 || t_fail "podinit reset failed"
run_pod
assert_match "$OUT" '^initialized 2 time\(s\), ' "stdout after podinit reset"
t_end

if command -v busybox >/dev/null || command -v python3 >/dev/null; then
    t_begin "example demo.sh: runs the web pod as PID 1, fetches the page, shows status, stops it"
    if http_get http://127.0.0.1:8080/ >/dev/null || (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; then
        echo "note: port 8080 is in use; demo.sh not run"
    else
        rc=0
        out=$(PODINIT=$PODINIT timeout -s KILL 60 "$EX/demo.sh" 2>&1) || rc=$?
        assert_eq 0 "$rc" "demo.sh exit status"
        assert_contains "$out" "Hello from pod web in namespace demo"
        assert_contains "$out" "generate: skipped (marker)"
        assert_match "$(tr -s ' ' <<<"$out")" '^web 1/1 Running 0 ' "demo output (status)"
        assert_match "$out" 'podinit exited with status 0' "demo output"
        pgrep -f "podinit run -c $EX/web/pod.toml" >/dev/null && t_fail "demo.sh left podinit running"
    fi
    t_end
fi

# ============================================================================
# The back-off cases started at the top
# ============================================================================

t_begin "backoff: OnFailure, a failed init step is retried at once, then after ~10 s; status Init:CrashLoopBackOff meanwhile"
slow_collect retry-onfailure
assert_retried_then_backed_off
assert_contains "$ERR" "WARN flaky: exited 1"
assert_contains "$ERR" "flaky: restarting in 10s"
assert_eq "app" "$(cat "$D/log" 2>/dev/null)" "the app ran once, after the retry"
assert_file "$D/markers/flaky.done"
assert_match "$(tr -s ' ' <<<"$S1_STATUS")" '^retry 0/1 Init:CrashLoopBackOff 1 ' "status during the back-off"
assert_match "$(tr -s ' ' <<<"$S1_STATUS")" '^flaky init CrashLoopBackOff - 1 1 ' "status during the back-off"
assert_ne 0 "$S1_HEALTH" "health exit status during the back-off"
assert_eq 2 "$(json_field 'e["flaky"]["restarts"]')" "flaky's RESTARTS"
t_end

t_begin "backoff: Always, a step killed by its timeout is retried at once, then after ~10 s"
slow_collect retry-timeout-always
assert_retried_then_backed_off
assert_contains "$ERR" "slow: timed out"
assert_contains "$ERR" "slow: restarting in 10s"
assert_eq "app" "$(cat "$D/log" 2>/dev/null)" "the app ran once, after the retry"
t_end

t_begin "backoff: OnFailure, a crashed app is restarted at once, then after ~10 s (CrashLoopBackOff); the pod then exits 0"
slow_collect app-crashloop
assert_retried_then_backed_off
assert_contains "$ERR" "worker: exited 3"
assert_contains "$ERR" "worker: restarting in 10s"
assert_eq "steady" "$(cat "$D/log" 2>/dev/null)" "the other app ran once"
assert_match "$(tr -s ' ' <<<"$S3_STATUS")" '^crashloop [01]/2 CrashLoopBackOff 1 ' "status during the back-off"
assert_match "$(tr -s ' ' <<<"$S3_STATUS")" '^worker app CrashLoopBackOff false 1 3 ' "status during the back-off"
assert_eq 2 "$(json_field 'e["worker"]["restarts"]')" "worker's RESTARTS"
assert_eq "Completed" "$(json_field status)" "final status"
t_end

wait
t_summary
