#!/usr/bin/env bash
# Issue 25, what only the kernel can show: the kubelet's back-off (a first
# crash restarted at once, then backoff.initial doubling), per-entry
# restart_policy and restart_rules on apps and init steps, sd_notify readiness
# (systemd-notify --ready and a python client gating the next entry, a stranger
# ignored, podinit's own READY=1/STOPPING=1 to an inherited NOTIFY_SOCKET that
# entries do not see), env_file and file-read variables an init step writes, and
# OOMKilled in a memory-limited cgroup (skipped, and said so, where no memory
# cgroup can be made). Each case runs podinit as PID 1 of a fresh PID namespace.
# Needs root (unshare --pid) and python3. About 15 s.

. "$(dirname "$0")/../lib.sh"
T_SUITE=lifecycle

. "$ROOT/tests/pod_lib.sh"
suite_requires
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
if [ -z "$PY" ]; then
    echo "note: skipped: no python3 (the notify client and status.json checks need it)"
    t_summary
    exit 0
fi
chmod 755 "$T_TMP"
pod_filter() { sed -e "s|@D@|$D|g" -e "s|@PY@|$PY|g"; }

# lines FILE: how many lines FILE has (0 when it is missing).
lines() { [ -e "$1" ] && wc -l <"$1" | tr -d ' ' || echo 0; }

# ---------------------------------------------------------------------------
t_begin "backoff: a first crash is restarted at once, the second after backoff.initial, then doubled"
newpod backoff <<'EOF'
backoff = { initial = "1s", max = "2s" }
[[app]]
name = "crash"
command = ["sh", "-c", "date +%s%N >> @D@/runs; [ $(wc -l < @D@/runs) -ge 4 ] && exit 0; exit 1"]
restart_policy = "OnFailure"
EOF
run_pod 20
assert_eq 0 "$RC" "exit status"
assert_eq 4 "$(lines "$D/runs")" "runs"
# Gaps between the starts: ~0, ~1 s, ~2 s.
gaps=$(awk 'NR > 1 { printf "%d ", ($1 - prev) / 1000000 } { prev = $1 }' "$D/runs")
set -- $gaps
assert_between 0 500 "${1:-x}" "ms from the first crash to the second start (at once)"
assert_between 800 1700 "${2:-x}" "ms from the second crash to the third start (initial 1s)"
assert_between 1800 2800 "${3:-x}" "ms from the third crash to the fourth start (doubled to max 2s)"
assert_contains "$ERR" "crash: restarting in 1s"
assert_contains "$ERR" "crash: restarting in 2s"
t_end

# ---------------------------------------------------------------------------
t_begin "restart_rules: restart_policy Never, but Restart on exit 42; any other code ends the app"
newpod rules <<'EOF'
restart_policy = "Always"
backoff = { initial = "100ms", max = "100ms" }
[[app]]
name = "job"
command = ["sh", "-c", "echo run >> @D@/runs; [ $(wc -l < @D@/runs) -lt 3 ] && exit 42; exit 3"]
restart_policy = "Never"
restart_rules = [{ action = "Restart", exit_codes = { operator = "In", values = [42] } }]
EOF
run_pod 20
assert_eq 3 "$RC" "exit status (the app's last exit, not restarted)"
assert_eq 3 "$(lines "$D/runs")" "runs: two exits of 42 restarted, the 3 not"
assert_eq "Error" "$(ef job state)" "job's state"
assert_eq 2 "$(ef job restarts)" "job's restarts"
t_end

# ---------------------------------------------------------------------------
t_begin "restart_rules on an init step: 75 is retried under a pod restart_policy Never, then the app runs"
newpod init-rules <<'EOF'
restart_policy = "Never"
[[init]]
name = "migrate"
command = ["sh", "-c", "echo try >> @D@/tries; [ $(wc -l < @D@/tries) -lt 2 ] && exit 75; exit 0"]
restart_policy = "Never"
restart_rules = [{ action = "Restart", exit_codes = { operator = "In", values = [75] } }]
[[app]]
name = "web"
command = ["touch", "@D@/web-ran"]
EOF
run_pod 20
assert_eq 0 "$RC" "exit status"
assert_eq 2 "$(lines "$D/tries")" "tries"
assert_file "$D/web-ran"
t_end

# ---------------------------------------------------------------------------
t_begin "notify: systemd-notify --ready from a sidecar's script gates the next init step"
if command -v systemd-notify >/dev/null 2>&1; then
    newpod notify-sidecar <<'EOF'
[[init]]
name = "db"
restart = "Always"
notify = true
command = ["sh", "-c", "sleep 0.6; date +%s%N > @D@/db-ready; systemd-notify --ready --status='accepting connections'; exec sleep 60"]
[[init]]
name = "migrate"
command = ["sh", "-c", "date +%s%N > @D@/migrate-started"]
[[app]]
name = "web"
command = ["sh", "-c", "env > @D@/web-env; sleep 60"]
EOF
    start_pod
    wait_for 10 test -e "$D/web-env" || t_fail "web never started: $(cat "$D/err")"
    ready=$(cat "$D/db-ready" 2>/dev/null); migrate=$(cat "$D/migrate-started" 2>/dev/null)
    [ -n "$ready" ] && [ -n "$migrate" ] && [ "$migrate" -ge "$ready" ] \
        || t_fail "migrate started at $migrate, before db said READY=1 at $ready"
    wait_for 5 sh -c "grep -q accepting '$D/state/status.json'" || t_fail "STATUS= not in status.json"
    assert_eq "accepting connections" "$(ef db notify)" "db's notify status"
    assert_eq "True" "$(ef db ready)" "db's READY"
    assert_not_contains "$(cat "$D/web-env")" "NOTIFY_SOCKET=" "web's environment (no notify = true)"
    term_pod_ok 15
else
    echo "note: skipped: no systemd-notify (Debian package systemd); the python case below covers the protocol"
fi
t_end

# ---------------------------------------------------------------------------
t_begin "notify: an app is not ready until READY=1 from its own pid; a stranger's READY=1 is ignored"
newpod notify-app <<'EOF'
[[app]]
name = "web"
notify = true
command = ["@PY@", "-c", """
import os, socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
addr = os.environ['NOTIFY_SOCKET']
open('@D@/sock', 'w').write(addr)
while not os.path.exists('@D@/go'):
    time.sleep(0.05)
s.sendto(b'READY=1\\nSTATUS=serving', addr)
time.sleep(60)
"""]
EOF
start_pod
wait_for 5 test -e "$D/sock" || t_fail "the app got no NOTIFY_SOCKET: $(cat "$D/err")"
sock=$(cat "$D/sock" 2>/dev/null)
assert_eq "$D/state/notify.sock" "$sock" "NOTIFY_SOCKET"
sleep 0.3
assert_eq "False" "$(ef web ready)" "READY before READY=1"
# A process that is not the app (this shell's python, outside the pod) says READY=1.
"$PY" -c 'import socket,sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"READY=1", sys.argv[1])' "$sock"
sleep 0.3
assert_eq "False" "$(ef web ready)" "READY after a stranger's READY=1"
touch "$D/go"
wait_for 5 sh -c "grep -q serving '$D/state/status.json'" || t_fail "READY=1 from the app not seen"
assert_eq "True" "$(ef web ready)" "READY after the app's READY=1"
assert_eq "True" "$(json_field ready)" "pod ready"
term_pod 15
t_end

# ---------------------------------------------------------------------------
t_begin "notify: a flood of datagrams from a stranger neither starves podinit nor makes the app ready"
newpod notify-flood <<'EOF'
[[app]]
name = "web"
notify = true
command = ["sh", "-c", "echo $NOTIFY_SOCKET > @D@/sock; exec sleep 60"]
EOF
start_pod
wait_for 5 test -s "$D/sock" || t_fail "no NOTIFY_SOCKET"
"$PY" - "$(cat "$D/sock" 2>/dev/null)" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setblocking(False)
end = time.time() + 2
while time.time() < end:
    try:
        s.sendto(b"READY=1\nSTATUS=spoofed", sys.argv[1])
    except BlockingIOError:
        time.sleep(0.001)
EOF
FLOOD=$!
CLEANUP="$CLEANUP $FLOOD"
sleep 0.5
t0=$(now_ms)
"$PODINIT" status -c "$P" >/dev/null 2>&1 || t_fail "podinit status failed during the flood"
assert_between 0 1500 "$(($(now_ms) - t0))" "ms for podinit status during the flood"
wait "$FLOOD" 2>/dev/null
sleep 0.3
assert_eq "False" "$(ef web ready)" "READY after the flood"
assert_eq "waiting for READY=1" "$(ef web notify)" "web's notify status"
term_pod_ok 15
t_end

# ---------------------------------------------------------------------------
t_begin "notify: podinit sends READY=1 when the pod is Ready and STOPPING=1 on stop to its own NOTIFY_SOCKET"
newpod own-notify <<'EOF'
[[app]]
name = "web"
command = ["sh", "-c", "env > @D@/web-env; exec sleep 60"]
EOF
"$PY" - "$D/outer.sock" "$D/outer.log" <<'EOF' &
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(15)
with open(sys.argv[2], 'w') as log:
    try:
        while True:
            msg = s.recv(4096)
            log.write(msg.decode() + '\n')
            log.flush()
            if b'STOPPING=1' in msg:
                break
    except socket.timeout:
        pass
EOF
LISTENER=$!
CLEANUP="$CLEANUP $LISTENER"
wait_for 5 test -S "$D/outer.sock" || t_fail "no listener socket"
NOTIFY_SOCKET=$D/outer.sock start_pod
wait_for 5 grep -q READY=1 "$D/outer.log" || t_fail "no READY=1 from podinit"
assert_not_contains "$(cat "$D/web-env" 2>/dev/null)" "NOTIFY_SOCKET" "web's environment"
term_pod 15
wait "$LISTENER" 2>/dev/null
assert_eq "READY=1 STOPPING=1" "$(tr '\n' ' ' <"$D/outer.log" | sed 's/ $//')" "what podinit told its supervisor"
t_end

# ---------------------------------------------------------------------------
t_begin "env_file and a file-read variable: an init step writes the file, the app gets its values"
newpod env-files <<'EOF'
restart_policy = "OnFailure"
env_file = "@D@/pod.env"
[[init]]
name = "config"
command = ["sh", "-c", "printf '# written by config\\nexport DB_URL=\"postgres://db/app\"\\nMODE=prod # trailing comment\\n' > @D@/shared.env"]
[[app]]
name = "web"
env_file = "@D@/shared.env"
env = { GREETING = "hello $(MODE)", TOKEN = { file = "@D@/secret.env", key = "TOKEN" }, MISSING = { file = "@D@/none.env", key = "X", optional = true } }
command = ["sh", "-c", "env > @D@/web-env"]
EOF
printf '%s\n' "POD_LEVEL='literal \$(VAR)'" >"$D/pod.env"
printf 'TOKEN=s3cr3t\n' >"$D/secret.env"
run_pod 10
assert_eq 0 "$RC" "exit status ($ERR)"
envs=$(cat "$D/web-env" 2>/dev/null)
assert_contains "$envs" "DB_URL=postgres://db/app"
assert_contains "$envs" "MODE=prod"
assert_contains "$envs" "GREETING=hello prod" "env after env_file (it may refer to it)"
assert_contains "$envs" "TOKEN=s3cr3t"
assert_contains "$envs" 'POD_LEVEL=literal $(VAR)' "a file's value is literal"
assert_not_contains "$envs" "MISSING="
t_end

t_begin "env_file with a bad line: the start fails with FILE:LINE:COL, the policy decides"
newpod env-bad <<'EOF'
restart_policy = "Never"
[[app]]
name = "web"
env_file = "@D@/bad.env"
command = ["touch", "@D@/web-ran"]
EOF
printf 'OK=1\nthis is not an assignment\n' >"$D/bad.env"
run_pod 10
assert_eq 1 "$RC" "exit status"
assert_contains "$ERR" "web: $D/bad.env:2:1: expected KEY=VALUE, found 'this is not an assignment'"
assert_no_file "$D/web-ran"
t_end

# ---------------------------------------------------------------------------
t_begin "OOMKilled: an app killed by the OOM killer of its memory-limited cgroup"
# podinit reads the OOM-kill counter of its own cgroup: run it in a fresh
# memory cgroup with a 64 MiB limit (cgroup v2 memory.max, or v1 memory.limit_in_bytes).
CG=""
own=$(cat /proc/self/cgroup)
v2root=/sys/fs/cgroup
v2rel=$(printf '%s\n' "$own" | sed -n 's/^0:://p')
if [ -e "$v2root/cgroup.controllers" ] && grep -qw memory "$v2root$v2rel/cgroup.subtree_control" 2>/dev/null; then
    CG=$v2root$v2rel/podinit-oom-$$
    mkdir "$CG" 2>/dev/null && echo $((64 << 20)) >"$CG/memory.max" 2>/dev/null || CG=""
elif v1rel=$(printf '%s\n' "$own" | sed -n 's/^[0-9]*:\([^:]*,\)*memory\(,[^:]*\)*:\(.*\)$/\3/p') && [ -n "$v1rel" ] \
    && [ -d "/sys/fs/cgroup/memory$v1rel" ]; then
    CG=/sys/fs/cgroup/memory$v1rel/podinit-oom-$$
    mkdir "$CG" 2>/dev/null && echo $((64 << 20)) >"$CG/memory.limit_in_bytes" 2>/dev/null || CG=""
fi
if [ -z "$CG" ]; then
    echo "note: skipped: cannot make a memory-limited cgroup here (the machine tests cover the OOMKilled rule)"
else
    newpod oom <<'EOF'
restart_policy = "Never"
[[app]]
name = "hog"
command = ["@PY@", "-c", "b = [bytearray(1 << 20) for _ in range(400)]"]
EOF
    RC=0
    timeout -s KILL 30 sh -c 'echo $$ > "$1/cgroup.procs" && exec unshare --pid --fork --mount-proc "$2" run -c "$3"' \
        sh "$CG" "$PODINIT" "$P" >"$D/out" 2>"$D/err" || RC=$?
    ERR=$(cat "$D/err")
    assert_eq 137 "$RC" "exit status"
    assert_contains "$ERR" "hog: killed by SIGKILL (OOMKilled)"
    assert_eq "OOMKilled" "$(ef hog state)" "hog's state"
    assert_eq "137 (OOMKilled)" "$(ef hog last_exit)" "hog's last exit"
    rmdir "$CG" 2>/dev/null
fi
t_end

t_summary
