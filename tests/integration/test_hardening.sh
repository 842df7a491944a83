#!/usr/bin/env bash
# Hardening (issue 6, docs/reliability.md): podinit must be the most robust
# process in its container. The real binary, as PID 1 of a fresh PID namespace,
# under
#   - signal storms: 10,000 mixed signals while the child exits (100 runs, init
#     mode; 10 runs, pod mode): the child's exact status, no hang;
#   - resource exhaustion: fork failing (RLIMIT_NPROC for a non-root uid), few
#     fds (`ulimit -n`), a control-socket flood, a full or read-only marker_dir /
#     state_dir (tmpfs): a clear error, the policy followed, no panic, no half
#     marker, reaping goes on;
#   - crash safety: SIGKILL at random points of a pod run (200 runs): every
#     marker absent or complete, status.json always parses;
#   - no leaks into children: fds 0 1 2, empty mask, default dispositions, no
#     parent-death signal, only the documented variables;
#   - privilege and file-system safety: user = ..., symlinked marker_dir /
#     state_dir / marker / status file, modes, a pod file others may write;
#   - the bad-input catalogue of docs/reliability.md (flags, pod files,
#     environment).
# Mounts happen inside private mount namespaces (`unshare -m`), so nothing is
# left mounted. Every wait is bounded. Needs root, cc, python3, setpriv,
# prlimit. About 70 s on 2 cores.

. "$(dirname "$0")/../lib.sh"
T_SUITE=hardening

suite_requires

# Non-root users (nobody, the RLIMIT_NPROC uid) must reach the files of the tests.
chmod 755 "$T_TMP"
HH=$T_TMP/hardening
t_begin "helper program builds"
cc -O2 -o "$HH" "$ROOT/tests/helpers/hardening.c" 2>"$T_TMP/cc.err" || t_fail "cc: $(cat "$T_TMP/cc.err")"
t_end
[ -x "$HH" ] || { t_summary; exit; }
chmod 755 "$HH"
# An otherwise unused uid: RLIMIT_NPROC counts every process of the real uid.
NPROC_UID=64123

# newpod NAME: pod file of case NAME from stdin; @D@ becomes the case's dir D.
# marker_dir D/m and state_dir D/s come first.
newpod() {
    D=$T_TMP/$1
    P=$D/pod.toml
    rm -rf "$D"
    mkdir -p "$D"
    chmod 755 "$D"
    { printf 'marker_dir = "%s/m"\nstate_dir = "%s/s"\n' "$D" "$D"; sed "s|@D@|$D|g; s|@HH@|$HH|g"; } >"$P"
}

# run_pod [TIMEOUT] [SETUP]: run $P as PID 1 to its end, killed after TIMEOUT s
# (default 20). SETUP, if given, is shell code run first in a private mount
# namespace (mounts for the case). MID (an array, default empty) is put between
# `unshare` and podinit (setpriv, prlimit...). Sets RC, OUT, ERR.
MID=()
run_pod() {
    local limit=${1:-20} setup=${2:-}
    RC=0
    if [ -n "$setup" ]; then
        timeout -s KILL "$limit" unshare -m --propagation private sh -c "set -e; $setup
exec \"\$@\"" sh unshare --pid --fork --mount-proc --kill-child "${MID[@]}" "$PODINIT" run -c "$P" \
            >"$D/out" 2>"$D/err" || RC=$?
    else
        timeout -s KILL "$limit" unshare --pid --fork --mount-proc --kill-child "${MID[@]}" "$PODINIT" run -c "$P" \
            >"$D/out" 2>"$D/err" || RC=$?
    fi
    OUT=$(cat "$D/out")
    ERR=$(cat "$D/err")
}

# no_panic: podinit's stderr ($ERR) shows no Rust panic.
no_panic() { assert_not_contains "$ERR" "panicked" "stderr"; assert_not_contains "$ERR" "RUST_BACKTRACE" "stderr"; }

# no_temp_files DIR...: no `*.tmp.*` is left in DIR.
no_temp_files() {
    local d left
    for d in "$@"; do
        left=$(ls -A "$d" 2>/dev/null | grep '\.tmp\.' || true)
        [ -z "$left" ] || t_fail "temp files left in $d: $left"
    done
}

# valid_markers DIR: every *.done in DIR is a complete marker (prints the count).
valid_markers() {
    python3 - "$1" <<'EOF'
import os, re, sys
d = sys.argv[1]
n = 0
for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
    if not f.endswith(".done") or os.path.islink(os.path.join(d, f)):
        continue
    text = open(os.path.join(d, f), "rb").read().decode()
    if not re.fullmatch(r"podinit-marker v1\nhash [0-9a-f]{16}\nstep %s\ndone [0-9]+\n" % re.escape(f[:-5]), text):
        print("bad marker %s: %r" % (f, text))
        sys.exit(1)
    n += 1
print(n)
EOF
}

# wait_blocked PID: wait (2 s) until PID runs podinit with its signals blocked, so
# that a signal sent now reaches podinit's signalfd, not the exec'ing unshare.
wait_blocked() {
    local i l
    for i in $(seq 1 400); do
        if [ "$(cat "/proc/$1/comm" 2>/dev/null)" = podinit ]; then
            l=$(grep '^SigBlk:' "/proc/$1/status" 2>/dev/null)
            case $l in *0000000000000000 | "") ;; *) return 0 ;; esac
        fi
        sleep 0.005
    done
    return 1
}

# wait_ignoring PID: wait (2 s) until a child of PID ignores signals: the storm
# child is ready. Before that, a forwarded SIGHUP would kill it (exit 129), which
# is podinit doing its job, not a wrong status.
wait_ignoring() {
    local i c
    for i in $(seq 1 400); do
        for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
            case $(grep '^SigIgn:' "/proc/$c/status" 2>/dev/null) in *0000000000000000 | "") ;; *) return 0 ;; esac
        done
        sleep 0.005
    done
    return 1
}

# first_child PID: wait (2 s) for PID's first child and print it.
first_child() {
    local i c
    for i in $(seq 1 400); do
        c=$(pgrep -P "$1" 2>/dev/null | head -n1)
        [ -n "$c" ] && { echo "$c"; return 0; }
        sleep 0.005
    done
    return 1
}

# bounded_wait PID SECONDS: wait for background PID; RC = its status, 255 + kill when it hangs.
bounded_wait() {
    local i
    for i in $(seq 1 $(($2 * 100))); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.01
    done
    if kill -0 "$1" 2>/dev/null; then
        pkill -KILL -P "$1" 2>/dev/null
        kill -KILL "$1" 2>/dev/null
        wait "$1" 2>/dev/null
        RC=255
        return 1
    fi
    RC=0
    wait "$1" || RC=$?
}

# ===========================================================================
# Signal storms
# ===========================================================================

t_begin "signal storm, init mode: 100 runs of 10,000 mixed signals while the child exits: exact status, no hang"
codes=(0 1 2 3 7 42 77 99 100 126 127 128 129 143 200 254 255)
runs=0 ok=0 hangs=0 wrong="" total=0 panics=0 mid=0 missed=0 i=0
while [ "$runs" -lt 100 ] && [ "$missed" -lt 10 ]; do
    i=$((i + 1))
    code=${codes[$((i % ${#codes[@]}))]}
    ms=$((250 + RANDOM % 250))
    unshare --pid --fork --mount-proc "$PODINIT" -- "$HH" storm-child "$ms" "$code" >/dev/null 2>"$T_TMP/storm.err" &
    bg=$!
    CLEANUP="$CLEANUP $bg"
    if ! { p1=$(first_child "$bg") && wait_blocked "$p1" && wait_ignoring "$p1"; }; then
        # Not seen running in time (a loaded machine): not a storm run, try again.
        missed=$((missed + 1)); kill -KILL "$bg" 2>/dev/null; wait "$bg" 2>/dev/null; continue
    fi
    # 10,000 signals in about 300 ms; the child exits 250-500 ms after it started,
    # so in about half of the runs it exits in the middle of the storm.
    sent=$("$HH" storm "$p1" 10000 300000)
    total=$((total + sent))
    [ "$sent" -lt 10000 ] && mid=$((mid + 1))
    runs=$((runs + 1))
    if ! bounded_wait "$bg" 10; then hangs=$((hangs + 1)); continue; fi
    if [ "$RC" = "$code" ]; then ok=$((ok + 1)); else wrong="$wrong run$i:want=$code,got=$RC"; fi
    grep -q panicked "$T_TMP/storm.err" && panics=$((panics + 1))
done
echo "    storm: $ok/$runs runs exact, $hangs hangs, $mid exits in mid-storm, $total signals delivered, $missed starts missed"
assert_eq 100 "$runs" "storm runs ($missed starts not seen in time)"
assert_eq "$runs" "$ok" "runs with the exact status (wrong:$wrong)"
assert_eq 0 "$hangs" "hangs"
assert_eq 0 "$panics" "runs with a panic"
assert_between 10 90 "$mid" "runs where the child exited in the middle of the storm"
assert_between 300000 1000000 "$total" "signals delivered to podinit"
t_end

t_begin "signal storm, pod mode: 10 runs, the app's exact status ends the pod"
ok=0 bad=""
for i in $(seq 1 10); do
    code=$((i * 23 % 256))
    newpod "storm-pod" <<EOF
restart_policy = "Never"
[[init]]
name = "prep"
command = ["true"]
[[app]]
name = "app"
command = ["@HH@", "storm-child", "$((200 + RANDOM % 150))", "$code"]
EOF
    unshare --pid --fork --mount-proc "$PODINIT" run -c "$P" >/dev/null 2>"$D/err" &
    bg=$!
    CLEANUP="$CLEANUP $bg"
    p1=$(first_child "$bg") && wait_blocked "$p1" && wait_ignoring "$p1" && "$HH" storm "$p1" 10000 250000 >/dev/null
    bounded_wait "$bg" 15
    [ "$RC" = "$code" ] && ! grep -q panicked "$D/err" && ok=$((ok + 1)) || bad="$bad run$i:want=$code,got=$RC"
done
assert_eq 10 "$ok" "pod runs with the app's status ($bad)"
t_end

# ===========================================================================
# Resource exhaustion
# ===========================================================================

t_begin "fork fails (RLIMIT_NPROC), init mode: one clear error, non-zero exit, no panic"
RC=0
timeout -s KILL 10 unshare --pid --fork --mount-proc --kill-child setpriv --reuid=$NPROC_UID --regid=$NPROC_UID \
    --clear-groups prlimit --nproc=1 "$PODINIT" -- true >"$T_TMP/np.out" 2>"$T_TMP/np.err" || RC=$?
ERR=$(cat "$T_TMP/np.err")
assert_ne 0 "$RC" "exit status"
assert_ne 137 "$RC" "exit status (killed by the 10 s bound: a hang)"
assert_contains "$ERR" "fork failed" "stderr"
no_panic
t_end


t_begin "fork fails for an init step, restart_policy = Never: the step fails (126), the pod fails, no marker"
newpod nproc-never <<'EOF'
restart_policy = "Never"
[[init]]
name = "step"
command = ["true"]
[[app]]
name = "app"
command = ["true"]
EOF
chmod 777 "$D"
MID=(setpriv --reuid=$NPROC_UID --regid=$NPROC_UID --clear-groups prlimit --nproc=1)
run_pod 10
MID=()
assert_eq 126 "$RC" "exit status (the failed step's)"
assert_contains "$ERR" "step: fork failed" "stderr"
assert_contains "$ERR" "restart_policy is Never" "stderr"
assert_no_file "$D/m/step.done"
no_temp_files "$D/m" "$D/s"
no_panic
t_end

t_begin "fork fails for an init step, restart_policy = Always: back-off (Init:CrashLoopBackOff), SIGTERM still stops at once"
newpod nproc-always <<'EOF'
[[init]]
name = "step"
command = ["true"]
[[app]]
name = "app"
command = ["true"]
EOF
chmod 777 "$D"
unshare --pid --fork --mount-proc --kill-child setpriv --reuid=$NPROC_UID --regid=$NPROC_UID --clear-groups \
    prlimit --nproc=1 "$PODINIT" run -c "$P" >"$D/out" 2>"$D/err" &
bg=$!
CLEANUP="$CLEANUP $bg"
p1=$(first_child "$bg")
wait_for 5 grep -q "restarting in" "$D/err" || t_fail "no back-off announced: $(cat "$D/err")"
st=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$D/s/status.json" 2>&1)
assert_eq "Init:CrashLoopBackOff" "$st" "pod STATUS"
kill -0 "$p1" 2>/dev/null || t_fail "podinit is gone during the back-off"
kill -TERM "$p1" 2>/dev/null
bounded_wait "$bg" 5 || t_fail "SIGTERM during the back-off did not stop podinit within 5 s"
assert_eq 0 "$RC" "exit status after SIGTERM"
ERR=$(cat "$D/err")
assert_contains "$ERR" "fork failed" "stderr"
no_panic
t_end

# churn: 40 times, a subshell starts `sleep` and exits at once, so the sleep is
# re-parented to PID 1; RLIMIT_NPROC counts zombies, so without reaping fork
# soon fails and the script exits 9. (A PID 1 that does not reap fails this.)
CHURN='i=0; while [ $i -lt 40 ]; do (sleep 0.01 &) || exit 9; sleep 0.03; i=$((i+1)); done; exit 0'

t_begin "RLIMIT_NPROC 8, init mode: orphans keep being reaped, the churning child never fails to fork"
RC=0
timeout -s KILL 20 unshare --pid --fork --mount-proc --kill-child setpriv --reuid=$NPROC_UID --regid=$NPROC_UID \
    --clear-groups prlimit --nproc=8 "$PODINIT" -- sh -c "$CHURN" >"$T_TMP/churn.out" 2>"$T_TMP/churn.err" || RC=$?
ERR=$(cat "$T_TMP/churn.err")
assert_eq 0 "$RC" "exit status (9: a fork failed, zombies were not reaped)"
no_panic
t_end

t_begin "RLIMIT_NPROC 8, pod mode with an exec probe: orphans keep being reaped, the app exits 0"
newpod nproc-churn <<EOF
restart_policy = "Never"
[[app]]
name = "churn"
command = ["sh", "-c", "$CHURN"]
readiness_probe = { exec = ["true"], period = "100ms" }
EOF
chmod 777 "$D"
MID=(setpriv --reuid=$NPROC_UID --regid=$NPROC_UID --clear-groups prlimit --nproc=8)
run_pod 20
MID=()
assert_eq 0 "$RC" "exit status (9: a fork failed, zombies were not reaped)"
no_panic
t_end

t_begin "ulimit -n 4..24 (pod with log_prefix, exec probe, post_start): each run ends with the app's 3 or a clear error"
newpod fds <<'EOF'
restart_policy = "Never"
log_prefix = true
[[init]]
name = "step"
command = ["true"]
[[app]]
name = "app"
command = ["sh", "-c", "echo hi; sleep 0.3; exit 3"]
readiness_probe = { exec = ["true"], period = "100ms" }
post_start = ["true"]
EOF
# EMFILE in the libc's words: glibc "Too many open files", musl (the static
# binary) "No file descriptors available".
EMFILE_RE="(Too many open files|No file descriptors available)"
summary=""
for n in 4 5 6 7 8 9 10 12 16 24; do
    rm -rf "$D/m" "$D/s"
    t0=$(now_ms)
    run_pod 15 "ulimit -n $n"
    summary="$summary n=$n:$RC"
    no_panic
    # 137 is also podinit's own exit when the app was SIGKILLed (its post_start
    # hook could not open /dev/null): a hang is 137 *and* the full 15 s.
    case $RC in
        3) ;;
        137) [ $(( $(now_ms) - t0 )) -lt 14000 ] && assert_match "$ERR" "$EMFILE_RE" "ulimit -n $n: stderr (exit $RC)" ||
            t_fail "ulimit -n $n: podinit hung (killed after 15 s)" ;;
        0) t_fail "ulimit -n $n: exit 0, but the app exits 3" ;;
        *) assert_match "$ERR" "^podinit: (ERROR |.*$EMFILE_RE)" "ulimit -n $n: stderr (exit $RC)" ;;
    esac
    no_temp_files "$D/m" "$D/s"
done
echo "    exits by fd limit:$summary"
assert_contains "$summary" "n=16:3" "with 16 fds the pod works"
assert_contains "$summary" "n=24:3" "with 24 fds the pod works"
t_end

t_begin "ulimit -n 16 and 40 idle control connections: accept backs off (no busy loop), serves again after"
newpod fd-flood <<'EOF'
restart_policy = "Never"
[[app]]
name = "app"
command = ["sleep", "4"]
EOF
unshare --pid --fork --mount-proc --kill-child sh -c "ulimit -n 16; exec \"\$0\" run -c \"\$1\"" "$PODINIT" "$P" >"$D/out" 2>"$D/err" &
bg=$!
CLEANUP="$CLEANUP $bg"
p1=$(first_child "$bg")
wait_for 5 test -S "$D/s/control.sock" || t_fail "no control socket"
flood=$(python3 - "$D/s/control.sock" "$p1" <<'EOF' 2>&1
import socket, sys, time
path, pid = sys.argv[1], sys.argv[2]
def cpu():
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])
socks = []
for i in range(40):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    s.connect(path)
    socks.append(s)
c0 = cpu(); time.sleep(1.0); c1 = cpu()
print("ticks", c1 - c0)
for s in socks:
    s.close()
time.sleep(1.2)
s = socket.socket(socket.AF_UNIX)
s.settimeout(3)
s.connect(path)
s.sendall(b'{"cmd":"status"}\n')
print("reply", s.recv(100)[:20])
EOF
)
ticks=$(echo "$flood" | sed -n 's/^ticks //p')
assert_between 0 20 "${ticks:-999}" "podinit CPU ticks (1/100 s) during 1 s of EMFILE ($flood)"
assert_contains "$flood" "reply b'{\"ok\":true" "status request after the flood"
bounded_wait "$bg" 10
assert_eq 0 "$RC" "exit status"
ERR=$(cat "$D/err")
assert_match "$ERR" "$EMFILE_RE" "stderr"
no_panic
t_end

# fill DIR: fill the tmpfs at DIR (shell code for run_pod's SETUP).
FULL_POD='restart_policy = "Never"
[[init]]
name = "one"
command = ["true"]
[[init]]
name = "two"
command = ["true"]
[[app]]
name = "app"
command = ["sh", "-c", "exit 0"]'

t_begin "full marker_dir and state_dir (tmpfs size=8k, filled): steps run, clear warnings, no half marker, exit 0"
newpod full <<<"$FULL_POD"
mkdir -p "$D/m" "$D/s"
# The tmpfs go away with the mount namespace, so what podinit left on them is
# listed from inside, after podinit exits.
RC=0
timeout -s KILL 15 unshare -m --propagation private sh -c '
    D=$1 PODINIT=$2 P=$3
    mount -t tmpfs -o size=8k tmpfs "$D/m" && mount -t tmpfs -o size=8k tmpfs "$D/s" || exit 99
    dd if=/dev/zero of="$D/m/fill" bs=1k 2>/dev/null; dd if=/dev/zero of="$D/s/fill" bs=1k 2>/dev/null
    rc=0; unshare --pid --fork --mount-proc "$PODINIT" run -c "$P" || rc=$?
    ls -A "$D/m" "$D/s" >"$D/left"
    exit $rc' sh "$D" "$PODINIT" "$P" >"$D/out" 2>"$D/err" || RC=$?
ERR=$(cat "$D/err")
assert_eq 0 "$RC" "exit status"
assert_match "$ERR" "WARN one: marker not saved.*No space left on device" "stderr"
assert_match "$ERR" "WARN status file disabled.*No space left on device" "stderr"
assert_contains "$ERR" "app: exited 0" "stderr"
left=$(cat "$D/left" 2>/dev/null)
assert_contains "$left" "fill" "listing of the full tmpfs"
assert_not_contains "$left" ".tmp." "files left on the full tmpfs"
assert_not_contains "$left" ".done" "files left on the full tmpfs"
no_panic
t_end

t_begin "marker_dir out of inodes (tmpfs nr_inodes): steps run, clear warning, exit 0"
newpod inodes <<<"$FULL_POD"
mkdir -p "$D/m"
run_pod 15 "mount -t tmpfs -o nr_inodes=3 tmpfs $D/m; touch $D/m/a $D/m/b $D/m/c 2>/dev/null || true"
assert_eq 0 "$RC" "exit status"
assert_match "$ERR" "WARN one: marker not saved.*No space left on device" "stderr"
no_panic
t_end

t_begin "read-only marker_dir and state_dir (tmpfs ro): steps run, clear warnings, exit 0"
newpod ro <<<"$FULL_POD"
mkdir -p "$D/m" "$D/s"
run_pod 15 "mount -t tmpfs -o ro tmpfs $D/m; mount -t tmpfs -o ro tmpfs $D/s"
assert_eq 0 "$RC" "exit status"
assert_match "$ERR" "WARN one: marker not saved.*Read-only file system" "stderr"
assert_match "$ERR" "WARN .*status file.*Read-only file system" "stderr"
assert_match "$ERR" "WARN .*control socket.*Read-only file system" "stderr"
assert_contains "$ERR" "one: started" "stderr"
no_panic
t_end

t_begin "read-only bind mount of a marker_dir holding markers: the steps are skipped, exit 0"
newpod ro-bind <<<"$FULL_POD"
run_pod 15
assert_eq 0 "$RC" "first run"
assert_eq 2 "$(valid_markers "$D/m")" "markers after the first run"
run_pod 15 "mount --bind $D/m $D/m; mount -o remount,bind,ro $D/m"
assert_eq 0 "$RC" "exit status with the read-only markers"
assert_contains "$ERR" "one: skipped (marker)" "stderr"
assert_contains "$ERR" "two: skipped (marker)" "stderr"
no_panic
t_end

# ===========================================================================
# Crash safety
# ===========================================================================

t_begin "SIGKILL at random points of a pod run, 200 times: every marker absent or complete, status.json parses"
# Each step takes a few ms so the random kill points (0-60 ms) land inside the
# run however fast podinit gets. Six steps s1..s6 and an app, all alike
# (newpod reads a process substitution, not a pipe, so D and P are set here).
newpod crash < <(
    echo 'restart_policy = "Never"'
    for i in 1 2 3 4 5 6; do printf '[[init]]\nname = "s%s"\ncommand = ["sleep", "0.005"]\n' "$i"; done
    printf '[[app]]\nname = "app"\ncommand = ["sleep", "0.005"]\n'
)
crash=$(python3 - "$PODINIT" "$P" "$D/m" "$D/s" 200 <<'EOF' 2>&1
import json, os, random, re, signal, subprocess, sys, time
podinit, pod, mdir, sdir, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
marker = re.compile(r"podinit-marker v1\nhash [0-9a-f]{16}\nstep (s[1-6])\ndone [0-9]+\n")
bad, killed, ended, temps, statuses, markers = [], 0, 0, 0, 0, 0
def child_of(pid):
    try:
        return int(open("/proc/%d/task/%d/children" % (pid, pid)).read().split()[0])
    except (OSError, IndexError, ValueError):
        return None
for i in range(runs):
    # Forget about half of the markers, so that most runs write some.
    if os.path.isdir(mdir):
        for f in os.listdir(mdir):
            if f.endswith(".done") and random.random() < 0.5:
                os.unlink(os.path.join(mdir, f))
    p = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", podinit, "run", "-c", pod],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.time() + 2
    c = None
    while c is None and time.time() < end:
        c = child_of(p.pid)
    time.sleep(random.uniform(0, 0.06))
    try:
        os.kill(c, signal.SIGKILL)
    except (TypeError, ProcessLookupError):
        pass
    try:
        rc = p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill(); p.wait()
        bad.append("run %d: did not end" % i)
        continue
    if rc == 0:
        ended += 1
    else:
        killed += 1
    for f in sorted(os.listdir(mdir)) if os.path.isdir(mdir) else []:
        if ".tmp." in f:
            temps += 1
            continue
        text = open(os.path.join(mdir, f), "rb").read().decode("utf-8", "replace")
        m = marker.fullmatch(text)
        if not f.endswith(".done") or not m or m.group(1) + ".done" != f:
            bad.append("run %d: bad marker %s: %r" % (i, f, text))
        else:
            markers += 1
    st = os.path.join(sdir, "status.json")
    if os.path.exists(st):
        try:
            s = json.load(open(st))
            assert s["status"] and isinstance(s["entries"], list)
            statuses += 1
        except Exception as e:
            bad.append("run %d: status.json does not parse: %s" % (i, e))
print("runs %d killed %d finished %d markers-checked %d status-checked %d temp-files-seen %d bad %d"
      % (runs, killed, ended, markers, statuses, temps, len(bad)))
for b in bad[:10]:
    print("BAD", b)
EOF
)
echo "    crash: $crash" | head -n 3
assert_match "$crash" "^runs 200 .* bad 0$" "crash runs"
killed=$(echo "$crash" | sed -n 's/.* killed \([0-9]*\) .*/\1/p')
assert_between 50 200 "${killed:-0}" "runs SIGKILLed before the end (the kill points cover the run)"
# After all that, a clean run finishes the pod and leaves six good markers.
run_pod 15
assert_eq 0 "$RC" "clean run after the crashes"
assert_eq 6 "$(valid_markers "$D/m")" "valid markers after the clean run"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$D/s/status.json" || t_fail "status.json after the clean run"
# Stale `<step>.done.tmp.1` files of killed runs are not markers (never read as
# one); they go when that step's marker is next written, or by `podinit reset`.
echo "    crash: temp files left after the clean run: $(ls -A "$D/m" | grep -c '\.tmp\.')"
t_end

# ===========================================================================
# No leaks into children
# ===========================================================================

# CLEAN_START CMD...: CMD with fds above 2 closed, SIGHUP/SIGUSR1 ignored,
# SIGUSR2/SIGWINCH blocked and only PATH in the environment: podinit must not
# pass any of that on. (An array, not a function, so that `&` gives CMD's pid.)
CLEAN_START=(env -i python3 -c '
import os, signal, sys
os.closerange(3, 65536)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
signal.signal(signal.SIGUSR1, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2, signal.SIGWINCH})
os.execvpe(sys.argv[1], sys.argv[1:], {"PATH": "/usr/local/bin:/usr/bin:/bin"})')
PY3=$(python3 -c "import sys; print(sys.executable)")
CLEAN_START[2]=$PY3

# check_inherited FILE NAME ENVNAMES: the report of `hardening inspect` in FILE
# shows fds 0 1 2, a clean signal state, the parent-death signal PDEATH (default
# none: 0), and exactly the variables ENVNAMES (space-separated, sorted).
check_inherited() {
    local f=$1 what=$2 want_env=$3 pdeath=${4:-0} r
    if [ ! -s "$f" ]; then t_fail "$what: no report ($f)"; return; fi
    r=$(cat "$f")
    assert_eq "fds: 0 1 2" "$(grep '^fds:' "$f")" "$what: open fds ($(grep '^fd ' "$f" | tr '\n' ' '))"
    local k
    for k in SigBlk SigIgn SigCgt SigPnd; do
        assert_eq "0000000000000000" "$(sed -n "s/^$k:[[:space:]]*//p" "$f")" "$what: $k"
    done
    assert_eq "$pdeath" "$(sed -n 's/^PdeathSig:[[:space:]]*//p' "$f")" "$what: PR_GET_PDEATHSIG"
    assert_eq "$want_env" "$(sed -n 's/^env \([^=]*\)=.*/\1/p' "$f" | sort | paste -sd' ')" "$what: environment names"
}

# Pod mode ties every child to podinit's life (README "When podinit dies"): SIGKILL (9).
t_begin "pod mode: init step, app, post_start, pre_stop and exec probe see fds 0 1 2, clean signals, pdeathsig SIGKILL, only documented env"
newpod leaks <<'EOF'
log_prefix = true
[env]
POD_VAR = "p"
[[init]]
name = "step"
command = ["@HH@", "inspect", "@D@/o/step"]
env = { STEP_VAR = "s" }
[[app]]
name = "app"
command = ["@HH@", "inspect", "@D@/o/app", "10000"]
env = { APP_VAR = "a" }
post_start = ["@HH@", "inspect", "@D@/o/hook"]
pre_stop = ["@HH@", "inspect", "@D@/o/prestop"]
readiness_probe = { exec = ["@HH@", "inspect", "@D@/o/probe"], period = "200ms" }
EOF
mkdir -p "$D/o"
"${CLEAN_START[@]}" unshare --pid --fork --mount-proc --kill-child "$PODINIT" run -c "$P" >"$D/out" 2>"$D/err" &
bg=$!
CLEANUP="$CLEANUP $bg"
p1=$(first_child "$bg")
wait_for 10 test -e "$D/o/app" -a -e "$D/o/hook" -a -e "$D/o/probe" || t_fail "reports missing: $(ls "$D/o")"
kill -TERM "$p1"
bounded_wait "$bg" 10
wait_for 2 test -e "$D/o/prestop"
base="CONTAINER_NAME PATH POD_NAME POD_NAMESPACE POD_VAR"
check_inherited "$D/o/step" "init step" "$base STEP_VAR" 9
check_inherited "$D/o/app" "app" "APP_VAR $base" 9
check_inherited "$D/o/hook" "post_start hook" "APP_VAR $base" 9
check_inherited "$D/o/prestop" "pre_stop hook" "APP_VAR $base" 9
check_inherited "$D/o/probe" "exec probe" "APP_VAR $base" 9
ERR=$(cat "$D/err")
no_panic
t_end

t_begin "init mode with -p SIGKILL -g -s -w: the child sees fds 0 1 2, clean signals, no pdeathsig, PATH only"
rm -f "$T_TMP/init-report"
RC=0
"${CLEAN_START[@]}" timeout -s KILL 10 unshare --pid --fork --mount-proc "$PODINIT" -p SIGKILL -g -s -w -- "$HH" inspect "$T_TMP/init-report" \
    >/dev/null 2>"$T_TMP/init.err" || RC=$?
assert_eq 0 "$RC" "exit status"
check_inherited "$T_TMP/init-report" "init-mode child" "PATH"
t_end

t_begin "SIGSTOP/SIGCONT of podinit while the child exits: the SIGCHLD is not lost, exit is the child's 5"
unshare --pid --fork --mount-proc "$PODINIT" -- sh -c 'sleep 0.3; exit 5' >/dev/null 2>"$T_TMP/stop.err" &
bg=$!
CLEANUP="$CLEANUP $bg"
p1=$(first_child "$bg") && wait_blocked "$p1"
kill -STOP "$p1"
sleep 0.8
[ "$(proc_state "$p1")" = T ] || t_fail "podinit was not stopped (state $(proc_state "$p1"))"
kill -CONT "$p1"
bounded_wait "$bg" 5 || t_fail "podinit hung after SIGCONT"
assert_eq 5 "$RC" "exit status"
t_end

# ===========================================================================
# Privilege and file-system safety
# ===========================================================================

# ids FILE: "Uid|Gid|Groups" lines of a report, whitespace squeezed.
ids() { grep -E '^(Uid|Gid|Groups):' "$1" | tr -s ' \t' ' ' | sed 's/ $//' | paste -sd'|'; }

t_begin "user = \"nobody\": step, app and hook run with every uid, gid and the groups of nobody"
newpod nobody <<'EOF'
restart_policy = "Never"
[[init]]
name = "step"
user = "nobody"
command = ["@HH@", "inspect", "@D@/o/step"]
[[app]]
name = "app"
user = "nobody"
command = ["@HH@", "inspect", "@D@/o/app", "500"]
post_start = ["@HH@", "inspect", "@D@/o/hook"]
EOF
mkdir -p "$D/o"; chmod 777 "$D/o"
run_pod 15
assert_eq 0 "$RC" "exit status ($ERR)"
want="Uid: $NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID|Gid: $NOBODY_GID $NOBODY_GID $NOBODY_GID $NOBODY_GID|Groups: $(id -G nobody | tr ' ' '\n' | sort -n | paste -sd' ')"
for w in step app hook; do
    assert_eq "$want" "$(ids "$D/o/$w" 2>&1)" "$w ids"
done
t_end

t_begin "user = \"1234:5678\": uid 1234, gid 5678, supplementary groups exactly 5678"
newpod numeric-user <<'EOF'
restart_policy = "Never"
[[app]]
name = "app"
user = "1234:5678"
command = ["@HH@", "inspect", "@D@/o/app"]
EOF
mkdir -p "$D/o"; chmod 777 "$D/o"
run_pod 15
assert_eq 0 "$RC" "exit status ($ERR)"
assert_eq "Uid: 1234 1234 1234 1234|Gid: 5678 5678 5678 5678|Groups: 5678" "$(ids "$D/o/app" 2>&1)" "app ids"
t_end

t_begin "marker_dir that is a symlink: refused with a clear warning, nothing written through it"
newpod symlink-markers <<<"$FULL_POD"
mkdir -p "$D/real"
ln -s "$D/real" "$D/m"
run_pod 15
assert_eq 0 "$RC" "exit status"
assert_match "$ERR" "marker directory $D/m is a symlink; refusing to follow it" "stderr"
assert_eq "" "$(ls -A "$D/real")" "files written through the symlink"
no_panic
t_end

t_begin "state_dir that is a symlink: refused with a clear warning, no status file or control socket written through it"
newpod symlink-state <<'EOF'
restart_policy = "Never"
[[app]]
name = "app"
command = ["sleep", "1"]
EOF
mkdir -p "$D/real"
ln -s "$D/real" "$D/s"
unshare --pid --fork --mount-proc --kill-child "$PODINIT" run -c "$P" >"$D/out" 2>"$D/err" &
bg=$!
CLEANUP="$CLEANUP $bg"
sleep 0.5
during=$(ls -A "$D/real")
bounded_wait "$bg" 10
ERR=$(cat "$D/err")
assert_eq 0 "$RC" "exit status"
assert_contains "$ERR" "state directory is a symlink" "stderr"
assert_eq "" "$during" "files in the symlink's target while the pod ran"
assert_eq "" "$(ls -A "$D/real")" "files in the symlink's target afterwards"
no_panic
t_end

t_begin "a marker that is a symlink, and a status.json that is a symlink: refused, targets untouched"
newpod symlink-files <<<"$FULL_POD"
mkdir -p "$D/m" "$D/s"
echo original >"$D/target"
ln -s "$D/target" "$D/m/one.done"
ln -s "$D/target" "$D/s/status.json"
run_pod 15
assert_eq 0 "$RC" "exit status"
assert_eq original "$(cat "$D/target")" "symlink target"
[ -L "$D/m/one.done" ] || t_fail "the marker symlink was replaced"
[ -L "$D/s/status.json" ] || t_fail "the status.json symlink was replaced"
assert_match "$ERR" "marker $D/m/one.done is a symlink or not a regular file" "stderr"
assert_match "$ERR" "status.json: it is a symlink" "stderr"
assert_eq 1 "$(valid_markers "$D/m")" "the other step's marker is written"
no_panic
t_end

t_begin "umask 000: markers, status.json and the directories podinit creates are not writable by others; control.sock is 0600"
newpod modes <<'EOF'
restart_policy = "Never"
[[init]]
name = "one"
command = ["true"]
[[app]]
name = "app"
command = ["sleep", "0.7"]
EOF
# Directories podinit has to create, parents included.
sed -i "s|^marker_dir = .*|marker_dir = \"$D/a/b/m\"|; s|^state_dir = .*|state_dir = \"$D/c/d/s\"|" "$P"
(umask 000; exec unshare --pid --fork --mount-proc --kill-child "$PODINIT" run -c "$P" >"$D/out" 2>"$D/err") &
bg=$!
CLEANUP="$CLEANUP $bg"
wait_for 5 test -S "$D/c/d/s/control.sock" || t_fail "no control socket"
sock=$(stat -c %a "$D/c/d/s/control.sock" 2>&1)
bounded_wait "$bg" 10
assert_eq 0 "$RC" "exit status"
assert_eq 600 "$sock" "control.sock mode"
for f in "$D/a" "$D/a/b" "$D/a/b/m" "$D/c" "$D/c/d" "$D/c/d/s" "$D/a/b/m/one.done" "$D/c/d/s/status.json"; do
    m=$(stat -c %a "$f" 2>&1)
    [ -e "$f" ] && [ $((0$m & 02)) = 0 ] || t_fail "$f: mode $m is writable by others (or missing)"
done
t_end

t_begin "a pod file writable by others (chmod o+w): a warning on stderr"
newpod o-writable <<<"$FULL_POD"
chmod 646 "$P"
run_pod 15
assert_eq 0 "$RC" "exit status"
assert_match "$ERR" "WARN .*$P.*writable" "stderr"
t_end

t_begin "a pod file writable by its group (chmod g+w): a warning on stderr (issue 6: 'writable by others than its owner')"
newpod g-writable <<<"$FULL_POD"
chmod 664 "$P"
run_pod 15
assert_eq 0 "$RC" "exit status"
assert_match "$ERR" "WARN .*$P.*writable" "stderr"
t_end

# ===========================================================================
# Bad input catalogue (docs/reliability.md)
# ===========================================================================

t_begin "bad command lines: exit 1 in init mode (as tini), 2 for a subcommand; one line naming the problem, never a panic"
bad=""
while IFS='|' read -r code args want; do
    RC=0
    # shellcheck disable=SC2086
    timeout -s KILL 5 "$PODINIT" $args >/dev/null 2>"$T_TMP/cli.err" || RC=$?
    e=$(cat "$T_TMP/cli.err")
    if [ "$RC" != "$code" ] || [ "$(wc -l <"$T_TMP/cli.err")" != 1 ] || ! grep -q -- "$want" "$T_TMP/cli.err" || grep -q panicked "$T_TMP/cli.err"; then
        bad="$bad [$args] rc=$RC: $(head -c 200 "$T_TMP/cli.err");"
    fi
done <<'EOF'
1|--bogus|invalid option
1||no command given
1|--|no command given
1|-t xyz -- true|expected a number with a unit
1|-t 99999999999h -- true|too large
1|-p BOGUS -- true|unknown signal 'BOGUS'
1|-p RTMAX--2147483648 -- true|unknown signal
1|-p RTMIN+2147483647 -- true|unknown signal
1|-e 300 -- true|not an exit code
1|-e abc -- true|not an exit code
2|run -c|missing argument
2|kill web NOSIG|unknown signal
2|kill web RTMAX--2147483648|unknown signal
2|restart|needs NAME
2|status --bogus|invalid option
EOF
assert_eq "" "$bad" "bad command lines"
t_end

t_begin "bad environment: PODINIT_VERBOSITY=abc is exit 1; PODINIT_LOG garbage, odd POD_NAME and a 100 kB variable are harmless"
RC=0; PODINIT_VERBOSITY=abc timeout -s KILL 5 "$PODINIT" -- true 2>"$T_TMP/env.err" || RC=$?
assert_eq 1 "$RC" "PODINIT_VERBOSITY=abc"
assert_contains "$(cat "$T_TMP/env.err")" "PODINIT_VERBOSITY" "stderr"
RC=0; PODINIT_LOG='%%%=,,=debug' timeout -s KILL 5 "$PODINIT" -- true 2>"$T_TMP/env.err" || RC=$?
assert_eq 0 "$RC" "PODINIT_LOG garbage"
newpod env <<'EOF'
restart_policy = "Never"
[[app]]
name = "app"
command = ["sh", "-c", "[ \"$POD_NAME\" = \"$EXPECT\" ] && [ ${#BIG} = 100000 ]"]
EOF
big=$(head -c 100000 /dev/zero | tr '\0' x)
name=$'a\nb\tc'
RC=0
POD_NAME=$name EXPECT=$name BIG=$big timeout -s KILL 15 unshare --pid --fork --mount-proc "$PODINIT" run -c "$P" >/dev/null 2>"$D/err" || RC=$?
assert_eq 0 "$RC" "odd POD_NAME and a 100 kB variable reach the app unchanged"
st=$("$PODINIT" status -c "$P" 2>&1)
assert_not_contains "$st" $'\t' "podinit status (control characters)"
ERR=$(cat "$D/err")
no_panic
t_end

t_begin "every pod file in tests/pods/bad: exit 1 at once, positioned errors, nothing started"
bad=""
for f in "$ROOT"/tests/pods/bad/*.toml; do
    RC=0
    timeout -s KILL 5 unshare --pid --fork --mount-proc "$PODINIT" run -c "$f" >"$T_TMP/bad.out" 2>"$T_TMP/bad.err" || RC=$?
    if [ "$RC" != 1 ] || ! grep -q "^podinit: $f:[0-9]*:[0-9]*: " "$T_TMP/bad.err" || grep -Eq "started|panicked" "$T_TMP/bad.err"; then
        bad="$bad $(basename "$f"):rc=$RC:$(head -c 150 "$T_TMP/bad.err");"
    fi
done
assert_eq "" "$bad" "bad pod files"
t_end

t_begin "hostile pod files: /dev/zero, a directory, 2 MB, binary, NUL bytes, 500-deep nesting: exit 1 at once with a reason"
W=$T_TMP/hostile
mkdir -p "$W"
head -c 2000000 /dev/zero | tr '\0' '#' >"$W/huge.toml"
head -c 4096 /dev/urandom >"$W/binary.toml"
printf 'name = "a\0b"\n' >"$W/nul.toml"
{ printf 'x = '; printf '[%.0s' $(seq 500); printf ']%.0s' $(seq 500); echo; } >"$W/deep.toml"
{ printf 'a'; printf '.a%.0s' $(seq 500); echo ' = 1'; } >"$W/dotted.toml"
printf '[[init]]\nname = "x"\ncommand = ["a"]\nstop_signal = "RTMAX--2147483648"\n' >"$W/signal.toml"
bad=""
for f in /dev/zero "$W" "$W/huge.toml" "$W/binary.toml" "$W/nul.toml" "$W/deep.toml" "$W/dotted.toml" "$W/signal.toml"; do
    for mode in check run; do
        RC=0
        if [ $mode = run ]; then
            timeout -s KILL 5 unshare --pid --fork --mount-proc "$PODINIT" run -c "$f" >/dev/null 2>"$T_TMP/h.err" || RC=$?
        else
            timeout -s KILL 5 "$PODINIT" check -c "$f" >/dev/null 2>"$T_TMP/h.err" || RC=$?
        fi
        if [ "$RC" != 1 ] || ! grep -q "$f" "$T_TMP/h.err" || grep -q panicked "$T_TMP/h.err"; then
            bad="$bad [$mode $f] rc=$RC: $(head -c 150 "$T_TMP/h.err");"
        fi
    done
done
assert_eq "" "$bad" "hostile pod files"
t_end

t_begin "1000 init entries: podinit check answers within 5 s"
{ for i in $(seq 1 1000); do printf '[[init]]\nname = "s%d"\ncommand = ["true"]\n' "$i"; done; } >"$T_TMP/many.toml"
RC=0
t0=$(now_ms)
timeout -s KILL 20 "$PODINIT" check -c "$T_TMP/many.toml" >/dev/null 2>&1 || RC=$?
assert_eq 0 "$RC" "exit status"
assert_between 0 5000 $(($(now_ms) - t0)) "ms"
t_end

t_summary
