#!/usr/bin/env bash
# A pod does not outlive its podinit (README "Pod mode": when podinit dies).
# Unlike the other suites, podinit runs here as a plain child of a shell, not
# as PID 1 of a PID namespace: that is where nothing in the kernel kills the
# pod for us. Each case starts a pod whose processes write their pids to files
# (an app that listens on a TCP port and forked a child that holds it too, a
# sidecar with a background job, an app whose postStart hook is still running,
# an app with a long exec probe in flight, an app that exited and left a
# background job in its process group; `$$$$` in an entry's command is
# the shell's `$$`, as `$$` is `$` in Kubernetes; hooks and probes are not
# expanded, as in Kubernetes), kills podinit one way or another,
# and checks within a bounded wait that every one of those processes is gone
# (or a zombie waiting for its new parent to reap it) and the port is free.
# Needs python3. About 10 s.

. "$(dirname "$0")/../lib.sh"
T_SUITE=lifetime

[ -x "$PODINIT" ] || { t_begin "podinit binary exists"; t_fail "no binary at $PODINIT"; t_end; t_summary; exit; }

# Every podinit (and guard) of this suite, for the exit trap: their command
# lines name the suite's temp dir.
suite_cleanup() {
    local p
    for p in $(pgrep -f -- "$T_TMP/" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
}

# newpod NAME: D = the case's dir, P = its pod file (written from stdin after
# state_dir and marker_dir), PORT = a free TCP port for the web app.
newpod() {
    D=$T_TMP/$1
    P=$D/pod.toml
    mkdir -p "$D"
    PORT=$(free_port)
    { printf 'state_dir = "%s/state"\nmarker_dir = "%s/markers"\n' "$D" "$D"; sed "s|@D@|$D|g; s|@PORT@|$PORT|g"; } >"$P"
}

# The web app: python3 listening on @PORT@, with a forked child that inherits
# the listening socket; both write their pids.
WEB_APP='[[app]]
name = "web"
command = ["python3", "-c", """
import os, socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", @PORT@))
s.listen()
if os.fork() == 0:
    open("@D@/pid.web-child", "w").write(str(os.getpid()))
else:
    open("@D@/pid.web", "w").write(str(os.getpid()))
time.sleep(1000)
"""]'

# An app with a postStart hook that does not end; both write their pids
# (pid.hooked, pid.hook).
HOOKED_APP='[[app]]
name = "hooked"
command = ["sh", "-c", "echo $$$$ > @D@/pid.hooked; exec sleep 1000"]
post_start = ["sh", "-c", "echo $$ > @D@/pid.hook; exec sleep 1000"]'

# The whole pod: the web app, a sidecar with a background job, an app with a
# postStart hook that does not end, an app whose exec liveness probe is running.
full_pod() {
    newpod "$1" <<EOF
[[init]]
name = "side"
restart = "Always"
command = ["sh", "-c", "sleep 1000 & echo \$! > @D@/pid.side-job; echo \$\$\$\$ > @D@/pid.side; wait"]

$WEB_APP

$HOOKED_APP

[[app]]
name = "probed"
command = ["sh", "-c", "echo \$\$\$\$ > @D@/pid.probed; exec sleep 1000"]
liveness_probe = { exec = ["sh", "-c", "echo \$\$ > @D@/pid.probe; exec sleep 1000"], period = "1s", timeout = "100s" }

[[app]]
name = "leaver"
command = ["sh", "-c", "sleep 1000 & echo \$\$! > @D@/pid.leaver-job"]
EOF
    PIDS="side side-job web web-child hooked hook probed probe leaver-job"
}

# pid_files_ready: every process of $PIDS has written its pid.
pid_files_ready() {
    local n
    for n in $PIDS; do [[ $(cat "$D/pid.$n" 2>/dev/null) =~ ^[0-9]+$ ]] || return 1; done
}

# all_dead: every process of $PIDS is dead, and nothing runs with $P on its
# command line (podinit, its guard).
all_dead() {
    local n
    for n in $PIDS; do gone "$(cat "$D/pid.$n")" || return 1; done
    ! pgrep -f -- "$P" >/dev/null
}

# port_free: nothing listens on $PORT.
port_free() {
    python3 -c "import socket,sys; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1])))" "$PORT" 2>/dev/null
}

# check_nothing_left: within 5 s every process of the pod is dead and the port free.
check_nothing_left() {
    if ! wait_for 5 all_dead; then
        local n
        for n in $PIDS; do gone "$(cat "$D/pid.$n")" || t_fail "$n (pid $(cat "$D/pid.$n")) outlived podinit"; done
        pgrep -af -- "$P" | sed 's/^/    still running: /' >&2
        pgrep -f -- "$P" >/dev/null && t_fail "a process with $P on its command line is still running"
    fi
    wait_for 2 port_free || t_fail "port $PORT is still taken"
}

# start_caller [PODINIT-ARGS...]: a shell in a session and process group of its
# own runs `podinit run ARGS -c $P` in the background and waits; CALLER is the
# shell's pid (= its process group), PI podinit's.
start_caller() {
    # In a subshell, so this shell does not report the caller's death.
    (setsid bash -c 'echo $$ > "$1/caller"; shift; "$@" 2>"'"$D"'/err" & echo $! > "'"$D"'/podinit.pid"; wait' \
        _ "$D" "$PODINIT" run "$@" -c "$P" </dev/null >/dev/null 2>&1 &)
    wait_for 5 test -s "$D/podinit.pid" || t_fail "the caller did not start podinit"
    CALLER=$(cat "$D/caller" 2>/dev/null)
    PI=$(cat "$D/podinit.pid" 2>/dev/null)
    wait_for 10 pid_files_ready || t_fail "the pod did not start: $(cat "$D/err" 2>/dev/null)"
}

t_begin "SIGKILL to podinit (not PID 1): every process of the pod dies, the port is free"
full_pod kill9
start_caller
kill -KILL "$PI"
check_nothing_left
kill -KILL "$CALLER" 2>/dev/null
t_end

t_begin "SIGKILL to the caller's process group: every process of the pod dies, the port is free"
full_pod group
start_caller
assert_eq "$CALLER" "$(ps -o pgid= -p "$PI" | tr -d ' ')" "podinit's process group"
kill -KILL -- "-$CALLER"
check_nothing_left
t_end

t_begin "podinit and its guard both killed: the entries themselves still die (PDEATHSIG, set after the user switch)"
newpod pdeathsig <<EOF
$HOOKED_APP

[[app]]
name = "nobody"
user = "nobody"
command = ["sh", "-c", "echo \$\$\$\$ > @D@/pid.nobody; exec sleep 1000"]
liveness_probe = { exec = ["sh", "-c", "echo \$\$ > @D@/pid.probe; exec sleep 1000"], period = "1s", timeout = "100s" }
EOF
PIDS="hooked hook nobody probe"
chmod 711 "$T_TMP"
chmod 777 "$D"
start_caller
guard=$(pgrep -x podinit-guard | while read -r g; do grep -qF -- "$P" "/proc/$g/cmdline" && echo "$g"; done)
[ -n "$guard" ] || t_fail "no guard process for $P"
assert_eq "root nobody" "$(ps -o user= -p "$PI") $(ps -o user= -p "$(cat "$D/pid.nobody")")" "users of podinit and the app"
kill -KILL "$PI" $guard
check_nothing_left
kill -KILL "$CALLER" 2>/dev/null
t_end

t_begin "run -p TERM: the caller dies alone, podinit gets SIGTERM and stops the pod gracefully"
newpod pdeath <<EOF
[[app]]
name = "app"
command = ["sh", "-c", "trap 'echo graceful > @D@/term; exit 0' TERM; echo \$\$\$\$ > @D@/pid.app; sleep 1000 & wait"]
EOF
PIDS=app
start_caller -p TERM
kill -KILL "$CALLER"
wait_for 5 test -e "$D/term" || t_fail "the app got no SIGTERM: $(cat "$D/err")"
check_nothing_left
assert_contains "$(cat "$D/err")" "stopping the pod" "podinit's log"
t_end

t_begin "an orderly stop (not PID 1) is as quick as ever and leaves no guard behind"
newpod orderly <<EOF
termination_grace_period = "20s"
$WEB_APP
EOF
PIDS="web web-child"
start_caller
t0=$(now_ms)
kill -TERM "$PI"
wait_for 10 all_dead || t_fail "the pod did not stop"
elapsed=$(($(now_ms) - t0))
[ "$elapsed" -lt 5000 ] || t_fail "the stop took ${elapsed} ms (grace 20 s: something waited for the guard?)"
check_nothing_left
kill -KILL "$CALLER" 2>/dev/null
t_end

t_summary
