#!/usr/bin/env bash
# CPU with 10 http readiness probes: 10 apps, each `busybox httpd -f` on its
# own 127.0.0.1 port with an http readiness probe every 1 s, podinit as PID 1;
# from the moment the pod is Ready (+2 s), podinit's own CPU time
# (utime+stime, and schedstat in ns) and context switches over BENCH_SECONDS (60).
#
# Rows:
#   probe-cpu.seconds     s (BENCH_SECONDS)
#   probe-cpu.window      s (measured wall time)
#   probe-cpu.hz          clock ticks per second
#   probe-cpu.ticks       utime+stime ticks in the window
#   probe-cpu.cpu         s (ticks / hz)
#   probe-cpu.cpu_pct     % of one core (ticks)
#   probe-cpu.cpu_pct_ns  % of one core (schedstat)
#   probe-cpu.ctxt_per_s  context switches per second
#   probe-cpu.hwm         kB, VmHWM after the window
#   probe-cpu.after       the pod after the window: "STATUS ready|not-ready RESTARTS"
# shellcheck source=scripts/bench/lib.sh
source "$(dirname "$0")/lib.sh"
need_root
need busybox unshare python3
podinit_bin
BUSYBOX=$(command -v busybox)
PROBE=$WORK/probe
mkdir -p "$PROBE/www"
echo ok > "$PROBE/www/index.html"
read -r -a PORTS <<< "$(free_ports 10)"
{
    echo "name = \"probes\""
    echo "restart_policy = \"Always\""
    echo "termination_grace_period = \"2s\""
    echo "marker_dir = \"$PROBE/markers\""
    echo "state_dir = \"$PROBE/state\""
    for i in $(seq 0 9); do
        printf '\n[[app]]\nname = "web%d"\ncommand = ["%s", "httpd", "-f", "-p", "127.0.0.1:%s", "-h", "%s"]\n' \
            "$i" "$BUSYBOX" "${PORTS[$i]}" "$PROBE/www"
        printf 'readiness_probe = { http = "http://127.0.0.1:%s/", period = "1s" }\n' "${PORTS[$i]}"
    done
} > "$PROBE/pod.toml"
ns_start "$PROBE/podinit.log" "$PODINIT" run -c "$PROBE/pod.toml" || { problem "podinit could not be started"; exit 0; }
PP=$NSP
if ! wait_pod "$PROBE/state" ready 20; then
    problem "the 10-probe pod did not become Ready within 20 s (log: $(tail -n 3 "$PROBE/podinit.log" | tr '\n' ' '))"
    exit 0
fi
sleep 2
t0=$(cpu_ticks "$PP"); n0=$(cpu_ns "$PP"); c0=$(ctxt "$PP"); w0=$(date +%s%N)
sleep "$BENCH_SECONDS"
t1=$(cpu_ticks "$PP"); n1=$(cpu_ns "$PP"); c1=$(ctxt "$PP"); w1=$(date +%s%N)
hwm=$(st_field "$PP" VmHWM)
still=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["status"], "ready" if s["ready"] else "not-ready", sum(e.get("restarts",0) for e in s["entries"]))' "$PROBE/state/status.json" 2>/dev/null)
ns_stop "$PP"
HZ=$(getconf CLK_TCK)
el=$(calc "($w1 - $w0) / 1e9")
row seconds "$BENCH_SECONDS" s
row window "$(fmt '%.1f' "$el")" s
row hz "$HZ"
row ticks $(( t1 - t0 ))
row cpu "$(calc "($t1 - $t0) / $HZ")" s
row cpu_pct "$(fmt '%.3f' "$(calc "($t1 - $t0) / $HZ / $el * 100")")" %
row cpu_pct_ns "$(fmt '%.3f' "$(calc "($n1 - $n0) / 1e9 / $el * 100")")" %
row ctxt_per_s "$(fmt '%.1f' "$(calc "($c1 - $c0) / $el")")"
row hwm "$hwm" kB
row after "$still"
