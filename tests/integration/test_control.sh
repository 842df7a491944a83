#!/usr/bin/env bash
# Runtime control (issue 8): `podinit run` as PID 1 of a fresh PID namespace
# serves state_dir/control.sock; the client commands `podinit restart|stop|
# start|kill|status -c FILE` run from the host. Covers restart of an app (old
# process gone before the new one starts, pre_stop, restart count, reply only
# once the new process runs), of a sidecar, of an app that ignores SIGTERM;
# restart of an init step refused; stop (kept stopped under Always, pod keeps
# running) and start; kill with a signal the app traps; unknown names and
# signals; essential apps (Never, OnFailure, Always); refusal of another uid
# (kernel on the 0600 socket, SO_PEERCRED when loosened); malformed requests
# on the raw socket (garbage, 1 MB line, half a line, a stalled client, many
# connections); status live vs status.json; stale socket replaced; second
# instance refused; something else at the socket path.
#
# Needs root (unshare --pid, setpriv to nobody), python3 (raw socket, JSON).
# About 30 s.

. "$(dirname "$0")/../lib.sh"
T_SUITE=control

. "$ROOT/tests/pod_lib.sh"
suite_requires
suite_needs python3 "for the raw-socket and JSON checks"

# nobody must be able to reach the pod file and state_dir (the uid cases).
chmod 755 "$T_TMP"

# script NAME: write $D/NAME from stdin (@D@ becomes $D). Entry commands are
# `sh @D@/NAME` so their shell text escapes no $(VAR) expansion.
script() { sed "s|@D@|$D|g" >"$D/$1"; }

# A long-running app: logs "start PID" (and "old-alive OLD" if the previous
# instance's pid still exists at that moment), "stop PID" from its TERM trap,
# "usr1 PID" from its USR1 trap. Usage: sh loop.sh LOG PIDFILE
write_loop() {
    cat >"$D/loop.sh" <<'EOF'
log=$1 pidfile=$2
old=$(cat "$pidfile" 2>/dev/null)
if [ -n "$old" ] && [ -e "/proc/$old" ]; then echo "old-alive $old" >>"$log"; fi
trap 'echo "stop $$" >>"$log"; exit 0' TERM
trap 'echo "usr1 $$" >>"$log"' USR1
echo "start $$" >>"$log"
echo $$ >"$pidfile"
while :; do sleep 0.05; done
EOF
}

# term_wait [TIMEOUT]: SIGTERM the background pod and wait for it; RC, ERR.
term_wait() {
    kill -TERM "$P1" 2>/dev/null
    bg_wait "${1:-15}"
    ERR=$(cat "$D/err")
}

# as_nobody CMD ARGS...: like ctl, as uid nobody.
as_nobody() { CTL_NOBODY=1 ctl "$@"; }

# live EXPR: a value from `podinit status --json` (EXPR in Python over `s`; a
# bare key means s[key]; `e` maps entry names to entries).
live() {
    timeout -s KILL 10 "$PODINIT" status --json -c "$P" 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
e = {x["name"]: x for x in s["entries"]}
expr = sys.argv[1]
print(s[expr] if expr in s else eval(expr))' "$1" 2>/dev/null
}

# ns_state NSPID: state letter (R, S, Z, ...) of pid NSPID in the pod's PID
# namespace (via podinit's mount namespace, whose /proc is the pod's); empty
# when there is no such process.
ns_state() {
    local s
    s=$(cat "/proc/$P1/root/proc/$1/stat" 2>/dev/null) || return 0
    s=${s##*) }
    echo "${s%% *}"
}

# alive NSPID: the process exists and is not a zombie.
alive() { case "$(ns_state "$1")" in "" | Z | X) return 1 ;; *) return 0 ;; esac; }

# lines FILE: the file's lines joined with " | ".
lines() { sed ':a;N;$!ba;s/\n/ | /g' "$1" 2>/dev/null; }

# count WORD FILE: number of lines of FILE starting with WORD.
count() { grep -c "^$1" "$2" 2>/dev/null || true; }

# count_is WORD N FILE: FILE has N lines starting with WORD (for wait_for).
count_is() { [ "$(count "$1" "$3")" = "$2" ]; }

# count_at_least WORD N FILE: FILE has N or more lines starting with WORD (for wait_for).
count_at_least() { [ "$(count "$1" "$3")" -ge "$2" ]; }

# still_serving: podinit (P1) alive and `podinit status` answered over the socket.
still_serving() {
    kill -0 "$P1" 2>/dev/null || t_fail "podinit (pid $P1) is gone"
    local out rc=0
    out=$(timeout -s KILL 10 "$PODINIT" status -c "$P" 2>&1) || rc=$?
    assert_eq 0 "$rc" "podinit status exit code"
    assert_not_contains "$out" "not running" "podinit status"
}

# raw MODE ARGS...: talk to the control socket of $D directly (see raw.py).
cat >"$T_TMP/raw.py" <<'EOF'
import json, socket, sys, threading, time
mode, path = sys.argv[1], sys.argv[2]
args = sys.argv[3:]

def conn(timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s

def read_all(s):
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return "EOF", out
            out += b
    except socket.timeout:
        return "TIMEOUT", out
    except ConnectionResetError:
        return "RESET", out

def show(how, out):
    # "OK msg" / "ERR msg" for a reply; "EOF|RESET|TIMEOUT (no reply)" otherwise.
    text = out.decode(errors="replace").strip()
    if how == "TIMEOUT":
        print("TIMEOUT " + text[:200])
    elif not text:
        print(how + " (no reply)")
    else:
        try:
            r = json.loads(text)
            print(("OK " if r.get("ok") else "ERR ") + r.get("message", ""))
        except ValueError:
            print("NOTJSON " + text[:200])

if mode == "line":        # one line, then read the reply
    s = conn()
    s.sendall(args[0].encode("utf-8", "surrogateescape") + b"\n")
    show(*read_all(s))
elif mode == "bytes":     # raw bytes given as a Python literal
    s = conn()
    s.sendall(eval(args[0]))
    show(*read_all(s))
elif mode == "big":       # a 1 MiB line
    s = conn()
    try:
        s.sendall(b"a" * (1 << 20) + b"\n")
    except (BrokenPipeError, ConnectionResetError) as e:
        print("send: " + type(e).__name__)
    show(*read_all(s))
elif mode == "half":      # half a request, then close
    s = conn()
    s.sendall(b'{"cmd":"rest')
    s.close()
    print("closed")
elif mode == "halfshut":  # a request without its newline, then shutdown(WR)
    s = conn()
    s.sendall(b'{"cmd":"status"}')
    s.shutdown(socket.SHUT_WR)
    show(*read_all(s))
elif mode == "idle":      # half a request, then wait for the server to close
    s = conn(timeout=15)
    s.sendall(b'{"cmd":')
    open(args[0], "w").close()
    t0 = time.time()
    how, out = read_all(s)
    print("%s %.1f %s" % (how, time.time() - t0, out.decode(errors="replace").strip()))
elif mode == "flood":     # N clients connect, then all send a status request at once
    n = int(args[0])
    res, lock = [], threading.Lock()
    barrier = threading.Barrier(n, timeout=10)
    def one():
        try:
            s = conn()
            barrier.wait()
            try:
                s.sendall(b'{"cmd":"status"}\n')
            except (BrokenPipeError, ConnectionResetError):
                pass
            how, out = read_all(s)
            text = out.decode(errors="replace").strip()
            if how == "TIMEOUT":
                r = "timeout"
            elif not text:
                r = "closed"
            else:
                j = json.loads(text)
                r = "ok" if j["ok"] else ("busy" if j["message"].startswith("busy") else "error")
        except Exception as e:
            r = "exc-" + type(e).__name__
        with lock:
            res.append(r)
    ts = [threading.Thread(target=one) for _ in range(n)]
    for t in ts: t.start()
    for t in ts: t.join()
    counts = {}
    for r in res:
        counts[r] = counts.get(r, 0) + 1
    print(" ".join("%s=%d" % kv for kv in sorted(counts.items())))
elif mode == "hold":      # N idle connections held for SECS seconds; FLAG file once open
    n, secs = int(args[0]), float(args[1])
    ss = [conn() for _ in range(n)]
    open(args[2], "w").close()
    time.sleep(secs)
    for s in ss:
        s.close()
EOF
raw() { local m=$1; shift; timeout -s KILL 30 python3 "$T_TMP/raw.py" "$m" "$D/state/control.sock" "$@" 2>&1; }

# bad_request WHAT MODE DATA: `raw MODE DATA` gets an "ERR bad request: " reply
# (WHAT names the request in the message).
bad_request() { assert_match "$(raw "$2" "$3")" '^ERR bad request: ' "reply to $1"; }

# ============================================================================
# One long-running pod for restart / stop / start / kill / bad input / uids
# ============================================================================

newpod main <<'EOF'
name = "ctl"
restart_policy = "Always"
termination_grace_period = "5s"
[[init]]
name = "setup"
command = ["sh", "-c", "echo setup >> @D@/setup.log"]
[[init]]
name = "side"
restart = "Always"
command = ["sh", "@D@/loop.sh", "@D@/side.log", "@D@/side.pid"]
[[app]]
name = "web"
pre_stop = ["sh", "-c", "echo pre_stop >> @D@/web.log"]
command = ["sh", "@D@/loop.sh", "@D@/web.log", "@D@/web.pid"]
[[app]]
name = "worker"
command = ["sh", "@D@/loop.sh", "@D@/worker.log", "@D@/worker.pid"]
EOF
write_loop
start_pod
MAIN_D=$D MAIN_P=$P MAIN_BG=$BG MAIN_P1=$P1
"$PODINIT" wait -c "$P" --timeout 5s >/dev/null 2>&1 || echo "    note: main pod not Running after 5 s: $(cat "$D/err")" >&2

t_begin "restart app: old process gone before the new one starts, pre_stop ran, restarts +1, reply names the running new pid"
old=$(live 'e["web"]["pid"]')
r0=$(live 'e["web"]["restarts"]')
side0=$(live 'e["side"]["pid"]')
t0=$(now_ms)
ctl restart web
ms=$(($(now_ms) - t0))
new=$(printf '%s\n' "$COUT" | sed -nE 's/^web started \(pid ([0-9]+)\)$/\1/p')
st_new=$(ns_state "${new:-0}")   # right after the command returned
st_old=$(ns_state "${old:-0}")
assert_eq 0 "$CRC" "exit code of 'podinit restart web' ($CERR)"
assert_match "$COUT" '^web started \(pid [0-9]+\)$' "reply"
assert_ne "$old" "$new" "new pid"
case "$st_new" in R | S | D) ;; *) t_fail "new pid ${new:-?} is not a live process right after the reply (state '$st_new')" ;; esac
assert_eq "" "$st_old" "state of the old pid $old after the reply"
assert_eq "$new" "$(live 'e["web"]["pid"]')" "web's pid in status --json"
assert_eq "$((r0 + 1))" "$(live 'e["web"]["restarts"]')" "web's restarts in status --json (was $r0)"
assert_eq "Running" "$(live 'e["web"]["state"]')" "web's state"
wait_for 3 grep -q "^start $new\$" "$D/web.log" || t_fail "new instance never logged 'start $new'"
assert_eq "start $old | pre_stop | stop $old | start $new" "$(lines "$D/web.log")" "web.log (start, pre_stop, TERM trap, new start; no old-alive)"
assert_contains "$(cat "$D/err")" "web: restart requested"
assert_between 0 3000 "$ms" "ms for the restart of an app that exits at once on TERM"
assert_eq "$side0" "$(live 'e["side"]["pid"]')" "the sidecar's pid (untouched)"
t_end

t_begin "restart sidecar: stopped (TERM trap), started again at once, restarts +1, apps untouched"
old=$(live 'e["side"]["pid"]')
web0=$(live 'e["web"]["pid"]')
ctl restart side
new=$(printf '%s\n' "$COUT" | sed -nE 's/^side started \(pid ([0-9]+)\)$/\1/p')
assert_eq 0 "$CRC" "exit code ($CERR)"
assert_match "$COUT" '^side started \(pid [0-9]+\)$' "reply"
alive "${new:-0}" || t_fail "sidecar's new pid '${new}' is not alive after the reply"
alive "${old:-0}" && t_fail "sidecar's old pid $old still alive"
assert_ne "$old" "$new" "sidecar pid"
assert_eq "1" "$(live 'e["side"]["restarts"]')" "sidecar restarts"
assert_eq "Running" "$(live 'e["side"]["state"]')" "sidecar state"
wait_for 3 grep -q "^start $new\$" "$D/side.log" || t_fail "new sidecar never logged 'start $new'"
assert_eq "start $old | stop $old | start $new" "$(lines "$D/side.log")" "side.log"
assert_eq "$web0" "$(live 'e["web"]["pid"]')" "web's pid (untouched)"
assert_eq "Running" "$(live status)" "pod STATUS"
t_end

t_begin "init step: restart/stop/start/kill refused with a clear message, exit 1, pod unaffected"
for c in restart stop start; do
    ctl "$c" setup
    assert_eq 1 "$CRC" "exit code of '$c setup'"
    assert_eq "podinit: 'setup' is an init step; only apps and sidecars can be controlled" "$CERR" "stderr of '$c setup'"
    assert_eq "" "$COUT" "stdout of '$c setup'"
done
ctl kill setup SIGUSR1
assert_eq 1 "$CRC" "exit code of 'kill setup SIGUSR1'"
assert_contains "$CERR" "'setup' is an init step"
assert_eq "setup" "$(lines "$D/setup.log")" "setup ran once"
assert_eq "Completed" "$(live 'e["setup"]["state"]')" "setup's state"
assert_eq "Running" "$(live status)" "pod STATUS"
t_end

t_begin "stop: Stopped, not restarted under restart_policy Always (checked after 2 s), the pod keeps running"
old=$(live 'e["web"]["pid"]')
starts=$(count start "$D/web.log")
ctl stop web
assert_eq 0 "$CRC" "exit code ($CERR)"
assert_match "$COUT" '^web stopped \(' "reply"
alive "$old" && t_fail "web (pid $old) still alive after 'stop' replied"
assert_eq "Stopped" "$(live 'e["web"]["state"]')" "web's state right after stop"
assert_eq "None" "$(live 'e["web"]["pid"]')" "web's pid right after stop"
sleep 2
assert_eq "Stopped" "$(live 'e["web"]["state"]')" "web's state 2 s later"
assert_eq "None" "$(live 'e["web"]["pid"]')" "web's pid 2 s later"
assert_eq "$starts" "$(count start "$D/web.log")" "web's starts 2 s later"
assert_eq "stop $old" "$(tail -n1 "$D/web.log")" "web.log ends with its TERM trap"
assert_not_contains "$(cat "$D/err")" "web: restarting in"
assert_eq "Running" "$(live 'e["worker"]["state"]')" "worker's state"
still_serving
t_end

t_begin "stop: with every app stopped the pod still runs; stop of a stopped app says so"
ctl stop worker
assert_eq 0 "$CRC" "exit code of 'stop worker' ($CERR)"
ctl stop web
assert_eq 0 "$CRC" "exit code of 'stop web' again ($CERR)"
assert_contains "$COUT" "not running" "reply to stopping a stopped app"
sleep 1
assert_eq "Stopped Stopped" "$(live 'e["web"]["state"] + " " + e["worker"]["state"]')" "web and worker"
assert_not_contains "$(cat "$D/err")" "all apps have ended"
still_serving
t_end

t_begin "start: a stopped app runs again (new pid alive at the reply); start of a running app says so"
ctl start web
new=$(printf '%s\n' "$COUT" | sed -nE 's/^web started \(pid ([0-9]+)\)$/\1/p')
assert_eq 0 "$CRC" "exit code ($CERR)"
assert_match "$COUT" '^web started \(pid [0-9]+\)$' "reply"
alive "${new:-0}" || t_fail "web's new pid '$new' is not alive after the reply"
assert_eq "Running" "$(live 'e["web"]["state"]')" "web's state"
assert_eq "$new" "$(live 'e["web"]["pid"]')" "web's pid"
wait_for 3 grep -q "^start $new\$" "$D/web.log" || t_fail "web never logged 'start $new'"
assert_not_contains "$(cat "$D/web.log")" "old-alive"
ctl start worker
assert_eq 0 "$CRC" "exit code of 'start worker' ($CERR)"
ctl start web
assert_eq 0 "$CRC" "exit code of 'start web' while running ($CERR)"
assert_eq "web is already running (pid $new)" "$COUT" "reply"
assert_eq "$new" "$(live 'e["web"]["pid"]')" "web's pid unchanged"
pod_wait 5
t_end

t_begin "kill: SIGUSR1 reaches an app that traps it; the app keeps running"
pid=$(live 'e["web"]["pid"]')
ctl kill web SIGUSR1
assert_eq 0 "$CRC" "exit code ($CERR)"
assert_eq "sent SIGUSR1 to web (pid $pid)" "$COUT" "reply"
wait_for 3 grep -q "^usr1 $pid\$" "$D/web.log" || t_fail "web's USR1 trap did not run: $(lines "$D/web.log")"
ctl kill worker 10
assert_eq 0 "$CRC" "exit code of 'kill worker 10' ($CERR)"
wpid=$(live 'e["worker"]["pid"]')
wait_for 3 grep -q "^usr1 $wpid\$" "$D/worker.log" || t_fail "worker's USR1 trap did not run (signal given as a number)"
assert_eq "$pid" "$(live 'e["web"]["pid"]')" "web's pid"
assert_eq "Running" "$(live 'e["web"]["state"]')" "web's state"
t_end

t_begin "unknown entry name: clear error naming the entries, exit 1, pod unaffected"
pids=$(live 'e["web"]["pid"], e["worker"]["pid"], e["side"]["pid"]')
for c in restart stop start; do
    ctl "$c" nope
    assert_eq 1 "$CRC" "exit code of '$c nope'"
    assert_eq "podinit: no app or sidecar named 'nope' (have: side, web, worker)" "$CERR" "stderr of '$c nope'"
done
ctl kill nope SIGUSR1
assert_eq 1 "$CRC" "exit code of 'kill nope SIGUSR1'"
assert_contains "$CERR" "no app or sidecar named 'nope'"
assert_eq "$pids" "$(live 'e["web"]["pid"], e["worker"]["pid"], e["side"]["pid"]')" "pids of the entries"
still_serving
t_end

t_begin "unknown signal: the client refuses it (exit 2), the server too (raw request); nothing is signalled"
usr1=$(count usr1 "$D/web.log")
pid=$(live 'e["web"]["pid"]')
ctl kill web SIGFOO
assert_ne 0 "$CRC" "exit code of 'kill web SIGFOO'"
assert_contains "$CERR" "unknown signal 'SIGFOO'"
one_line "$CERR" "stderr"
r=$(raw line '{"cmd":"kill","name":"web","signal":"SIGFOO"}')
assert_match "$r" "^ERR unknown signal 'SIGFOO'" "raw reply"
r=$(raw line '{"cmd":"kill","name":"web","signal":99}')
assert_match "$r" "^ERR .*signal" "raw reply to signal 99"
r=$(raw line '{"cmd":"kill","name":"web","signal":[10]}')
assert_match "$r" "^ERR bad request: signal must be a name or number" "raw reply to signal [10]"
sleep 0.3
assert_eq "$usr1" "$(count usr1 "$D/web.log")" "USR1 traps run"
assert_eq "$pid" "$(live 'e["web"]["pid"]')" "web's pid"
still_serving
t_end

t_begin "another uid: nobody is refused (0600 socket) with a one-line permission message; nothing happens"
pid=$(live 'e["web"]["pid"]')
r0=$(live 'e["web"]["restarts"]')
usr1=$(count usr1 "$D/web.log")
as_nobody restart web
assert_ne 0 "$CRC" "exit code of 'restart web' as nobody"
assert_contains "$CERR" "permission denied"
one_line "$CERR" "stderr"
as_nobody kill web SIGUSR1
assert_ne 0 "$CRC" "exit code of 'kill web SIGUSR1' as nobody"
assert_contains "$CERR" "permission denied"
sleep 0.3
assert_eq "$pid $r0" "$(live 'e["web"]["pid"], e["web"]["restarts"]' | tr -d '(),')" "web's pid and restarts"
assert_eq "$usr1" "$(count usr1 "$D/web.log")" "USR1 traps run"
assert_eq "srw-------" "$(stat -c %A "$D/state/control.sock")" "socket mode"
t_end

t_begin "another uid: 'podinit status' as nobody does not claim the running pod is not running"
as_nobody status
assert_eq 0 "$CRC" "exit code ($CERR)"
assert_contains "$COUT" "web" "status table"
assert_not_contains "$CERR" "the pod is not running" "stderr of status as nobody (the pod runs)"
t_end

t_begin "another uid: with the socket mode loosened, SO_PEERCRED refuses nobody and the client shows the refusal"
chmod 666 "$D/state/control.sock"
pid=$(live 'e["web"]["pid"]')
# Five tries, as the refusal races with the client's request (see the busy case).
for i in 1 2 3 4 5; do
    as_nobody restart web
    assert_eq 1 "$CRC" "exit code of try #$i"
    assert_eq "podinit: permission denied: uid $NOBODY_UID is neither root nor podinit's uid 0" "$CERR" "stderr of try #$i"
done
assert_contains "$(cat "$D/err")" "control: refused pid"
assert_eq "$pid" "$(live 'e["web"]["pid"]')" "web's pid"
chmod 600 "$D/state/control.sock"
still_serving
t_end

t_begin "malformed: garbage, unknown commands, empty names, binary get an error reply; the pod runs on"
pids=$(live 'e["web"]["pid"], e["worker"]["pid"], e["side"]["pid"]')
bad_request "'hello there'" line 'hello there'
bad_request "an unknown cmd" line '{"cmd":"reboot","name":"web"}'
assert_eq "ERR bad request: empty name" "$(raw line '{"cmd":"restart","name":""}')" "reply to an empty name"
bad_request "a missing name" line '{"cmd":"restart"}'
bad_request "an array" line '[1,2,3]'
bad_request "binary bytes" bytes 'b"\xff\xfe\x00{\n"'
bad_request "an empty line" line ''
assert_eq "$pids" "$(live 'e["web"]["pid"], e["worker"]["pid"], e["side"]["pid"]')" "pids of the entries"
still_serving
t_end

t_begin "malformed: a 1 MB line gets an error or a close, never a hang; the pod runs on"
t0=$(now_ms)
r=$(raw big)
ms=$(($(now_ms) - t0))
case "$r" in
    *"ERR bad request: longer than 4096"* | *"EOF (no reply)"* | *"RESET (no reply)"*) ;;
    *) t_fail "reply to a 1 MB line: '$r'" ;;
esac
assert_between 0 5000 "$ms" "ms for the 1 MB line"
assert_contains "$(cat "$D/err")" "request longer than 4096 bytes"
still_serving
t_end

t_begin "malformed: half a line then close is dropped; half a line then EOF gets told about the newline"
r=$(raw half)
assert_eq "closed" "$r" "raw client"
r=$(raw halfshut)
assert_eq "ERR bad request: input ended before the newline that ends a request" "$r" "reply to a line without newline"
still_serving
t_end

t_begin "malformed: a client stalled mid-request does not block the pod and is dropped after ~5 s"
rm -f "$D/idle.flag"
raw idle "$D/idle.flag" >"$D/idle.out" &
IDLE_PID=$!
wait_for 5 test -e "$D/idle.flag" || t_fail "the stalled client did not connect"
t0=$(now_ms)
ctl restart worker
ms=$(($(now_ms) - t0))
assert_eq 0 "$CRC" "exit code of a restart while a client stalls ($CERR)"
assert_between 0 2000 "$ms" "ms for that restart"
still_serving
wait_for 10 gone "$IDLE_PID" || { t_fail "the stalled client was not dropped within 10 s"; kill "$IDLE_PID"; }
wait "$IDLE_PID" 2>/dev/null
r=$(cat "$D/idle.out")
assert_match "$r" '^(EOF|RESET) [4-7]\.[0-9]' "stalled client's view (how, seconds)"
assert_contains "$(cat "$D/err")" "did not send a request within 5s"
t_end

t_begin "many connections at once: each gets a reply (live or busy), none hangs; the pod runs on"
r=$(raw flood 64)
assert_match "$r" '^(busy=[0-9]+ )?ok=[0-9]+$' "outcomes of 64 simultaneous status requests"
ok=$(printf '%s\n' "$r" | sed -nE 's/.*ok=([0-9]+).*/\1/p')
assert_between 1 64 "${ok:-0}" "live replies"
still_serving
t_end

t_begin "many connections held open: control commands get a clear 'busy' refusal, status does not claim the pod stopped"
rm -f "$D/hold.flag"
raw hold 20 3 "$D/hold.flag" >/dev/null &
HOLD_PID=$!
wait_for 5 test -e "$D/hold.flag" || t_fail "the 20 connections did not open"
sleep 0.2
pid=$(cat "$D/web.pid")
# Five tries: whether the client has sent its request before the refusal
# arrives is a race, and the refusal must come through either way.
for i in 1 2 3 4 5; do
    ctl restart web
    assert_eq 1 "$CRC" "exit code of restart #$i while 16 connections are open"
    assert_eq "podinit: busy: 16 control connections are open; try again" "$CERR" "stderr of restart #$i"
done
ctl status
assert_eq 0 "$CRC" "exit code of status while 16 connections are open"
assert_not_contains "$CERR" "the pod is not running" "stderr of status while the pod runs"
wait "$HOLD_PID" 2>/dev/null
assert_eq "$pid" "$(cat "$D/web.pid")" "web's pid"
still_serving
t_end

t_begin "second 'podinit run' on the same state_dir: refused (exit 1, clear message); the first pod unaffected"
ino=$(stat -c %i "$D/state/control.sock")
pids=$(live 'e["web"]["pid"], e["worker"]["pid"], e["side"]["pid"]')
web_lines=$(wc -l <"$D/web.log")
as_pid1 10 -- run -c "$P" >"$D/second.out" 2>"$D/second.err"
SERR=$(cat "$D/second.err")
assert_eq 1 "$RC" "exit code of the second podinit"
assert_contains "$SERR" "another podinit is running with state_dir $D/state"
assert_eq 1 "$(grep -c . "$D/second.err")" "lines on the second podinit's stderr: $SERR"
assert_not_contains "$SERR" "started pid"
assert_eq "$web_lines" "$(wc -l <"$D/web.log")" "web.log lines (nothing started)"
assert_eq "setup" "$(lines "$D/setup.log")" "setup ran once"
assert_eq "$ino" "$(stat -c %i "$D/state/control.sock" 2>/dev/null)" "inode of the first pod's socket"
assert_eq "$pids" "$(live 'e["web"]["pid"], e["worker"]["pid"], e["side"]["pid"]')" "pids of the first pod's entries"
still_serving
t_end

t_begin "second 'podinit run' from another PID namespace: the refusal does not name pid 0"
assert_not_contains "$SERR" "(pid 0)" "second podinit's message"
t_end

t_begin "status: the running pod answers over the socket (status.json is not read)"
python3 - "$D/state/status.json" <<'EOF'
import json, os, sys
p = sys.argv[1]
s = json.load(open(p))
s["name"] = "from-status-json"
open(p + ".tmp", "w").write(json.dumps(s))
os.rename(p + ".tmp", p)
EOF
ctl status --json
assert_eq 0 "$CRC" "exit code"
assert_eq "" "$CERR" "stderr of status while the pod runs"
assert_contains "$COUT" '"name": "ctl"' "status --json"
assert_not_contains "$COUT" "from-status-json" "status --json"
ctl status
assert_eq 0 "$CRC" "exit code of the table"
assert_match "$COUT" '^ctl +[0-9]/[0-9] +Running' "table"
t_end

t_begin "status: after the pod ended, status.json is shown, stderr says it is not running, exit 1; control commands say so too"
term_wait 15
assert_eq 0 "$RC" "exit code of the main pod after SIGTERM"
assert_no_file "$D/state/control.sock"
ctl status
assert_eq 1 "$CRC" "exit code ($CERR)"
assert_match "$CERR" "^podinit: podinit \(pid 1\) is not running \(no control socket at $D/state/control.sock\); last state from $D/state/status.json\$" "stderr"
assert_match "$COUT" '^ctl +[0-9]/[0-9] +Completed' "table"
ctl restart web
assert_eq 1 "$CRC" "exit code of restart after the end"
assert_contains "$CERR" "the pod is not running"
one_line "$CERR" "stderr"
t_end

# ============================================================================
# Restart of an app that ignores SIGTERM (grace period, SIGKILL)
# ============================================================================

t_begin "restart an app that ignores SIGTERM: SIGKILL after the grace period, then started; status answers meanwhile; a second restart is refused"
newpod stubborn <<'EOF'
restart_policy = "Always"
termination_grace_period = "1500ms"
[[app]]
name = "stubborn"
command = ["sh", "-c", "trap '' TERM; echo start >> @D@/log; while :; do sleep 0.05; done"]
EOF
start_pod
pod_wait 5
old=$(live 'e["stubborn"]["pid"]')
t0=$(now_ms)
( ctl restart stubborn; echo "$CRC" >"$D/first.rc"; echo "$COUT" >"$D/first.reply"; echo "$(now_ms)" >"$D/first.ms" ) &
FIRST=$!
wait_for 5 grep -q "stubborn: sending SIGTERM" "$D/err" || t_fail "no SIGTERM logged"
t1=$(now_ms)
assert_eq "Terminating" "$(live 'e["stubborn"]["state"]')" "state during the restart"
assert_between 0 1000 "$(($(now_ms) - t1))" "ms for status during the restart"
ctl restart stubborn
assert_eq 1 "$CRC" "exit code of a second restart meanwhile"
assert_eq "podinit: 'stubborn' is already being stopped; try again when it is done" "$CERR" "stderr"
wait "$FIRST"
assert_eq 0 "$(cat "$D/first.rc")" "exit code of the restart"
new=$(sed -nE 's/^stubborn started \(pid ([0-9]+)\)$/\1/p' "$D/first.reply")
assert_match "$(cat "$D/first.reply")" '^stubborn started \(pid [0-9]+\)$' "reply"
alive "${new:-0}" || t_fail "new pid '$new' not alive after the reply"
alive "$old" && t_fail "old pid $old still alive"
assert_between 1300 5000 "$(($(cat "$D/first.ms") - t0))" "ms for the restart (grace 1.5 s)"
ERR=$(cat "$D/err")
assert_contains "$ERR" "stubborn: still running at the end of its grace period; sending SIGKILL"
assert_contains "$ERR" "stubborn: killed by SIGKILL"
assert_eq "1" "$(live 'e["stubborn"]["restarts"]')" "restarts"
wait_for 3 count_is start 2 "$D/log" || t_fail "starts: $(count start "$D/log")"
kill_pod "$BG"
bg_wait 10
t_end

# ============================================================================
# Essential apps
# ============================================================================

# essential_pod NAME POLICY KEYCMD: a pod with an essential app "key" running
# KEYCMD, an app "other" and a sidecar "side" whose TERM traps log "term".
essential_pod() {
    newpod "$1" <<EOF
restart_policy = "$2"
termination_grace_period = "10s"
[[init]]
name = "side"
restart = "Always"
command = ["sh", "-c", "trap 'echo term >> @D@/side.log; exit 0' TERM; touch @D@/side.up; while :; do sleep 0.05; done"]
[[app]]
name = "key"
essential = true
command = ["sh", "-c", "echo run >> @D@/key.log; $3"]
[[app]]
name = "other"
command = ["sh", "-c", "trap 'echo term >> @D@/other.log; exit 0' TERM; touch @D@/other.up; while :; do sleep 0.05; done"]
EOF
}

t_begin "essential (Never): the app exits 3 → the others stop gracefully (TERM traps ran), podinit exits 3"
essential_pod ess-never Never 'sleep 0.5; exit 3'
run_pod 20
assert_eq 3 "$RC" "podinit's exit code"
assert_file "$D/other.up"
assert_eq "term" "$(cat "$D/other.log" 2>/dev/null)" "other's TERM trap"
assert_eq "term" "$(cat "$D/side.log" 2>/dev/null)" "sidecar's TERM trap"
assert_contains "$ERR" "key: essential app ended; stopping the pod"
assert_not_contains "$ERR" "SIGKILL"
assert_between 0 5000 "$MS" "ms (graceful, well within the 10 s grace)"
t_end

t_begin "essential (Never): the app killed by SIGUSR2 → podinit exits 140 (128+12)"
essential_pod ess-signal Never 'sleep 0.3; kill -USR2 $$$$; sleep 5'
run_pod 20
assert_eq 140 "$RC" "podinit's exit code"
assert_eq "term" "$(cat "$D/other.log" 2>/dev/null)" "other's TERM trap"
t_end

t_begin "essential (OnFailure): the app exits 0, ends for good → the others stop gracefully, podinit exits 0"
essential_pod ess-onfailure-ok OnFailure 'sleep 0.5; exit 0'
run_pod 20
assert_eq 0 "$RC" "podinit's exit code"
assert_eq "term" "$(cat "$D/other.log" 2>/dev/null)" "other's TERM trap"
assert_eq "term" "$(cat "$D/side.log" 2>/dev/null)" "sidecar's TERM trap"
assert_contains "$ERR" "key: essential app ended; stopping the pod"
assert_between 0 5000 "$MS" "ms"
t_end

# The restarting cases run side by side: a first crash restarts at once, the
# second backs off 10 s, we look at them meanwhile.
essential_pod ess-onfailure-crash OnFailure 'exit 3'
start_pod
OF_D=$D OF_P=$P OF_BG=$BG OF_P1=$P1
essential_pod ess-always Always 'exit 3'
start_pod
AL_D=$D AL_P=$P AL_BG=$BG AL_P1=$P1
sleep 1.5

t_begin "essential (OnFailure): the app exits 3, so the policy restarts it → CrashLoopBackOff, the pod keeps running"
D=$OF_D P=$OF_P BG=$OF_BG P1=$OF_P1
assert_eq "CrashLoopBackOff" "$(live 'e["key"]["state"]')" "key's state"
assert_eq "CrashLoopBackOff" "$(live status)" "pod STATUS"
assert_eq "" "$(cat "$D/other.log" 2>/dev/null)" "other's TERM trap (must not have run)"
assert_contains "$(cat "$D/err")" "key: restarting in 10s"
still_serving
term_wait 15
assert_eq 0 "$RC" "exit code after SIGTERM"
t_end

t_begin "essential (Always): a crashing app stays in CrashLoopBackOff, the pod keeps running; 'restart' starts it at once"
D=$AL_D P=$AL_P BG=$AL_BG P1=$AL_P1
assert_eq "CrashLoopBackOff" "$(live 'e["key"]["state"]')" "key's state"
assert_eq "CrashLoopBackOff" "$(live status)" "pod STATUS"
assert_eq "Running" "$(live 'e["other"]["state"]')" "other's state"
assert_eq "" "$(cat "$D/other.log" 2>/dev/null)" "other's TERM trap (must not have run)"
assert_eq 2 "$(count run "$D/key.log")" "key's runs so far (the first crash restarted at once)"
assert_not_contains "$(cat "$D/err")" "essential app ended"
still_serving
t0=$(now_ms)
ctl restart key
assert_eq 0 "$CRC" "exit code of restart in back-off ($CERR)"
assert_match "$COUT" '^key started \(pid [0-9]+\)$' "reply"
# A restart also forgets the back-off, so its crash is restarted at once once more: 3 runs or 4.
wait_for 2 count_at_least run 3 "$D/key.log" || t_fail "key did not run again at once"
assert_between 0 2000 "$(($(now_ms) - t0))" "ms until the second run (no back-off)"
sleep 0.3
assert_eq "CrashLoopBackOff" "$(live 'e["key"]["state"]')" "key's state after it crashed again"
kill -0 "$P1" 2>/dev/null || t_fail "podinit ended"
term_wait 15
assert_eq 0 "$RC" "exit code after SIGTERM"
t_end

# ============================================================================
# Stale socket, something else at the socket path
# ============================================================================

t_begin "stale socket: after SIGKILL of podinit, a new podinit replaces control.sock and serves it"
newpod stale <<'EOF'
restart_policy = "Always"
[[app]]
name = "app"
command = ["sh", "-c", "echo start >> @D@/log; exec sleep 60"]
EOF
start_pod
pod_wait 5
kill_pod "$BG"
bg_wait 10
[ -S "$D/state/control.sock" ] || t_fail "control.sock did not survive the SIGKILL (the case tests nothing)"
# A second name keeps the stale inode alive, so a replacement has another inode.
ln "$D/state/control.sock" "$D/stale.sock"
ino=$(stat -c %i "$D/stale.sock")
ctl restart app
assert_eq 1 "$CRC" "exit code of a control command on the stale socket"
assert_contains "$CERR" "the pod is not running: nobody listens on $D/state/control.sock"
ctl status
assert_eq 1 "$CRC" "exit code of status on the stale socket ($CERR)"
assert_contains "$CERR" "podinit is not running (nobody listens on $D/state/control.sock); last state from $D/state/status.json"
start_pod
pod_wait 5
[ -S "$D/state/control.sock" ] || t_fail "no socket after the restart"
assert_ne "$ino" "$(stat -c %i "$D/state/control.sock" 2>/dev/null)" "socket inode (the stale one is $ino)"
assert_eq "$ino" "$(stat -c %i "$D/stale.sock" 2>/dev/null)" "the other name of the stale socket (untouched)"
assert_contains "$(cat "$D/err")" "replacing stale socket $D/state/control.sock"
assert_eq 2 "$(count start "$D/log")" "app starts"
still_serving
term_wait 15
assert_eq 0 "$RC" "exit code of the second pod after SIGTERM"
assert_no_file "$D/state/control.sock"
t_end

t_begin "a regular file at state_dir/control.sock: podinit refuses to start (exit 1), the file is untouched"
newpod notsock <<'EOF'
[[app]]
name = "app"
command = ["touch", "@D@/app-ran"]
EOF
mkdir -p "$D/state"
echo "keep me" >"$D/state/control.sock"
run_pod 10
assert_eq 1 "$RC" "exit code"
assert_eq "podinit: $D/state/control.sock exists and is a regular file, not a socket; podinit will not touch it: remove it or set a different state_dir" "$ERR" "stderr"
assert_eq "keep me" "$(cat "$D/state/control.sock")" "the file's content"
assert_no_file "$D/app-ran"
assert_between 0 3000 "$MS" "ms"
t_end

t_begin "a directory, fifo or symlink at state_dir/control.sock: refused the same way"
for kind in directory fifo symlink; do
    newpod "notsock-$kind" <<'EOF'
[[app]]
name = "app"
command = ["touch", "@D@/app-ran"]
EOF
    mkdir -p "$D/state"
    case $kind in
        directory) mkdir "$D/state/control.sock" ;;
        fifo) mkfifo "$D/state/control.sock" ;;
        symlink) ln -s "$D/elsewhere" "$D/state/control.sock" ;;
    esac
    run_pod 10
    assert_eq 1 "$RC" "exit code ($kind)"
    assert_contains "$ERR" "control.sock exists and is a $kind, not a socket" "stderr ($kind)"
    assert_no_file "$D/app-ran"
    assert_no_file "$D/elsewhere"
done
t_end

t_summary
