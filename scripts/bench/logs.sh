#!/usr/bin/env bash
# The output budgets of issue 26, as one markdown section on stdout (bench.sh
# section 13 appends it to docs/benchmarks.md; lines `SUM|...` are its summary
# rows). Usage: PODINIT=BIN logs.sh WORKDIR. Needs root (PID namespaces), python3.
#   a. VmHWM of the 20-entry pod that prints nothing (default settings)
#   b. VmHWM of the 20-entry pod whose 20 entries each filled their buffer,
#      for several log_buffer sizes (the default is chosen from this)
#   c. throughput of 200 MB of lines through podinit (default, log_prefix, log_dir)
#   d. `podinit logs -f` latency: an entry's write to the reader's read
#   e. podinit's context switches in 5 s with 3 `logs -f` readers attached and log_dir set
set -uo pipefail
PODINIT=${PODINIT:?set PODINIT}
W=${1:?usage: logs.sh WORKDIR}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$W"
PIDS=""
trap 'for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done' EXIT

# start_ns POD LOG: podinit run -c POD as PID 1 of a new PID namespace; sets NSP (its host pid).
start_ns() {
    unshare --pid --fork --mount-proc "$PODINIT" run -c "$1" </dev/null >"$2" 2>&1 &
    local u=$! i c
    PIDS="$PIDS $u"
    NSP=""
    for i in $(seq 1 250); do
        c=$(cat "/proc/$u/task/$u/children" 2>/dev/null | awk '{print $1}')
        if [ -n "$c" ] && [ "$(cat "/proc/$c/comm" 2>/dev/null)" != unshare ]; then NSP=$c; PIDS="$PIDS $c"; return 0; fi
        sleep 0.02
    done
    return 1
}
field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null; }
# running POD N: wait until N apps of POD are Running, from its status.json
# (not the control socket: serving a request would count in podinit's peak RSS).
running() {
    local i f n
    f=$(dirname "$1")/state/status.json
    for i in $(seq 1 200); do
        n=$(grep -c '"state": "Running"' "$f" 2>/dev/null)
        [ "${n:-0}" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}
# pod20 DIR EXTRA APPCMD: the bench's 20-entry pod with top-level EXTRA and every entry running APPCMD first.
pod20() {
    local d=$1 extra=$2 pre=$3
    bash "$ROOT/scripts/bench/pod20.sh" "$d"
    python3 - "$d/pod.toml" "$extra" "$pre" <<'PY'
import sys
path, extra, pre = sys.argv[1:]
s = open(path).read()
if pre:
    q = pre.replace("\\", "\\\\").replace('"', '\\"')
    s = s.replace('command = ["true"]', 'command = ["sh", "-c", "%s"]' % q)
    s = s.replace('command = ["sleep", "1000"]', 'command = ["sh", "-c", "%s; exec sleep 1000"]' % q)
open(path, "w").write((extra + "\n" if extra else "") + s)
PY
}
hwm_of() { # DIR: VmHWM of its pod once running, then stop it
    start_ns "$1/pod.toml" "$1/podinit.log" || { echo "?"; return; }
    running "$1/pod.toml" 10 && sleep 1
    field "$NSP" VmHWM
    kill -KILL "$NSP" 2>/dev/null; sleep 0.2
}

echo "## 13. Entries' output: buffers, logs -f, log_dir (issue 26)"
echo ""
FILL="yes 'a log line of about fifty bytes, kept in the buffer' | head -c 300000"
pod20 "$W/quiet" "" ""
Q=$(hwm_of "$W/quiet")
echo "VmHWM of the 20-entry pod that prints nothing (default settings: log_buffer 64Ki, pipes for every entry): **$Q kB** (target: today's 588 kB)."
echo "SUM|Peak RSS, 20-entry pod, no output|$Q kB|≤ 588 kB"
echo ""
echo "VmHWM once each of the 20 entries (10 init steps, 10 apps) printed 300 kB, filling its buffer:"
echo ""
echo "| log_buffer | VmHWM kB |"
echo "|---|---:|"
for b in 0 16Ki 64Ki 256Ki; do
    lb="log_buffer = \"$b\""; [ "$b" = 0 ] && lb="log_buffer = 0"
    pod20 "$W/fill-$b" "$lb" "$FILL"
    h=$(hwm_of "$W/fill-$b")
    echo "| $b | $h |"
    [ "$b" = 64Ki ] && echo "SUM|Peak RSS, 20 entries with full buffers (64Ki each)|$h kB|-"
done
echo ""

# c. throughput
GEN="yes 'some log line of moderate length' | head -c 200000000"
tp() { # NAME EXTRA
    local d=$W/tp-$1
    mkdir -p "$d"
    printf 'name = "tp"\nrestart_policy = "Never"\nmarker_dir = "%s/m"\nstate_dir = "%s/s"\n%s\n[[app]]\nname = "app"\ncommand = ["sh", "-c", "%s"]\n' \
        "$d" "$d" "$2" "$GEN" > "$d/pod.toml"
    local best=999999 i t0 t1 ms
    for i in 1 2 3; do
        t0=$(date +%s%N); "$PODINIT" run -c "$d/pod.toml" >/dev/null 2>&1; t1=$(date +%s%N)
        ms=$(( (t1 - t0) / 1000000 )); [ "$ms" -lt "$best" ] && best=$ms
        rm -rf "$d/logs"
    done
    echo $(( 200000 / (best > 0 ? best : 1) ))
}
echo "Throughput of 200 MB of 33-byte lines from one app through podinit to /dev/null (best of 3):"
echo ""
echo "| settings | MB/s |"
echo "|---|---:|"
T_DEF=$(tp default "")
echo "| default (log_buffer 64Ki, unchanged pass-through) | $T_DEF |"
T_PRE=$(tp prefix "log_prefix = true")
echo "| log_prefix = true | $T_PRE |"
T_DIR=$(tp dir "log_dir = \"$W/tp-dir/logs\"")
echo "| log_dir (CRI files, 10Mi × 5 rotation) | $T_DIR |"
echo ""
echo "SUM|Output throughput (default / log_prefix / log_dir)|$T_DEF / $T_PRE / $T_DIR MB/s|≥ 215 MB/s"

# d. logs -f latency
d=$W/lat; mkdir -p "$d"
cat > "$d/pod.toml" <<EOF
name = "lat"
marker_dir = "$d/m"
state_dir = "$d/s"
[[app]]
name = "app"
command = ["python3", "-c", "import time,sys\nwhile not __import__('os').path.exists('$d/go'): time.sleep(0.05)\nfor i in range(300):\n    print(time.time_ns(), flush=True); time.sleep(0.01)\ntime.sleep(1000)"]
EOF
start_ns "$d/pod.toml" "$d/podinit.log"
running "$d/pod.toml" 1
LAT=$(python3 - "$PODINIT" "$d" <<'EOF'
import subprocess, sys, time, os
podinit, d = sys.argv[1], sys.argv[2]
p = subprocess.Popen([podinit, "logs", "app", "-f", "-c", d + "/pod.toml"], stdout=subprocess.PIPE)
time.sleep(0.3)
open(d + "/go", "w").close()
lat = []
for line in p.stdout:
    now = time.time_ns()
    try:
        lat.append((now - int(line)) / 1000)
    except ValueError:
        continue
    if len(lat) >= 300:
        break
p.kill()
lat.sort()
print("%.0f %.0f %.0f" % (lat[len(lat) // 2], lat[int(len(lat) * 0.99)], lat[-1]))
EOF
)
kill -KILL "$NSP" 2>/dev/null
read -r L50 L99 LMAX <<< "$LAT"
echo "\`podinit logs -f\` latency, an entry's write (its clock before print) to the reader's read, 300 lines 10 ms apart: median **${L50:-?} µs**, p99 ${L99:-?} µs, max ${LMAX:-?} µs."
echo "SUM|logs -f latency (median / p99)|${L50:-?} / ${L99:-?} µs|-"
echo ""

# e. idle wakeups with followers and log_dir
pod20 "$W/idle" "log_dir = \"$W/idle/logs\"" "echo hello"
start_ns "$W/idle/pod.toml" "$W/idle/podinit.log"
running "$W/idle/pod.toml" 10
F=""
for a in app1 app2 app3; do "$PODINIT" logs "$a" -f -c "$W/idle/pod.toml" >/dev/null 2>&1 & F="$F $!"; PIDS="$PIDS $!"; done
sleep 1
c0=$(( $(field "$NSP" voluntary_ctxt_switches) + $(field "$NSP" nonvoluntary_ctxt_switches) ))
sleep 5
c1=$(( $(field "$NSP" voluntary_ctxt_switches) + $(field "$NSP" nonvoluntary_ctxt_switches) ))
alive=0; for p in $F; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
kill -KILL "$NSP" 2>/dev/null
IDLE=$((c1 - c0))
echo "podinit's context switches in 5 s, 20-entry pod with log_dir and $alive \`logs -f\` readers attached: **$IDLE** (target 0)."
echo "SUM|Idle wakeups with 3 logs -f readers and log_dir (5 s)|$IDLE|0"
echo ""
