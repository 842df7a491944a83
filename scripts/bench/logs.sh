#!/usr/bin/env bash
# Entries' output: the budgets of the log buffers, log_dir and `logs -f`
# (README, "Entries' output"):
#   a. VmHWM of the 20-entry pod that prints nothing (default settings)
#   b. VmHWM of the 20-entry pod whose 20 entries each filled their buffer,
#      for several log_buffer sizes (the default is chosen from this)
#   c. throughput of 200 MB of lines through podinit (default, log_prefix, log_dir)
#   d. `podinit logs -f` latency: an entry's write to the reader's read
#   e. podinit's context switches in 5 s with 3 `logs -f` readers attached and log_dir set
#
# Rows:
#   logs.quiet_hwm                    kB
#   logs.fill.BUF.hwm                 kB (BUF: 0 16Ki 64Ki 256Ki)
#   logs.throughput.{default,prefix,dir}   MB/s, best of 3
#   logs.follow.{p50,p99,max}         µs
#   logs.idle.readers                 `logs -f` readers still attached after the window
#   logs.idle.ctxt                    context switches in 5 s
# shellcheck source=scripts/bench/lib.sh
source "$(dirname "$0")/lib.sh"
need_root
need unshare python3
podinit_bin
W=$WORK

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
    ns_start "$1/podinit.log" "$PODINIT" run -c "$1/pod.toml" || return 0
    running "$1/pod.toml" 10 && sleep 1
    st_field "$NSP" VmHWM
    ns_stop "$NSP"
}

FILL="yes 'a log line of about fifty bytes, kept in the buffer' | head -c 300000"
pod20 "$W/quiet" "" ""
row quiet_hwm "$(hwm_of "$W/quiet")" kB
for b in 0 16Ki 64Ki 256Ki; do
    lb="log_buffer = \"$b\""; [ "$b" = 0 ] && lb="log_buffer = 0"
    pod20 "$W/fill-$b" "$lb" "$FILL"
    row "fill.$b.hwm" "$(hwm_of "$W/fill-$b")" kB
done

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
row throughput.default "$(tp default "")" MB/s
row throughput.prefix "$(tp prefix "log_prefix = true")" MB/s
row throughput.dir "$(tp dir "log_dir = \"$W/tp-dir/logs\"")" MB/s

# d. logs -f latency
d=$W/lat; mkdir -p "$d"
cat > "$d/pod.toml" <<TOML
name = "lat"
marker_dir = "$d/markers"
state_dir = "$d/state"
[[app]]
name = "app"
command = ["python3", "-c", "import time,sys\nwhile not __import__('os').path.exists('$d/go'): time.sleep(0.05)\nfor i in range(300):\n    print(time.time_ns(), flush=True); time.sleep(0.01)\ntime.sleep(1000)"]
TOML
if ns_start "$d/podinit.log" "$PODINIT" run -c "$d/pod.toml" && running "$d/pod.toml" 1; then
    LAT=$(python3 - "$PODINIT" "$d" <<'PY'
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
PY
)
    read -r L50 L99 LMAX <<< "$LAT"
    row follow.p50 "${L50:-}" µs; row follow.p99 "${L99:-}" µs; row follow.max "${LMAX:-}" µs
else
    problem "logs -f latency: the pod did not start"
fi
ns_stop "${NSP:-}"

# e. idle wakeups with followers and log_dir
pod20 "$W/idle" "log_dir = \"$W/idle/logs\"" "echo hello"
if ns_start "$W/idle/podinit.log" "$PODINIT" run -c "$W/idle/pod.toml" && running "$W/idle/pod.toml" 10; then
    F=""
    for a in app1 app2 app3; do "$PODINIT" logs "$a" -f -c "$W/idle/pod.toml" >/dev/null 2>&1 3>&- & F="$F $!"; BG_PIDS="$BG_PIDS $!"; done
    sleep 1
    c0=$(ctxt "$NSP")
    sleep 5
    c1=$(ctxt "$NSP")
    alive=0; for p in $F; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
    ns_stop "$NSP"
    row idle.readers "$alive"
    row idle.ctxt $((c1 - c0))
else
    problem "idle with logs -f readers: the pod did not start"
fi
