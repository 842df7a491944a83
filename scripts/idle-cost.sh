#!/usr/bin/env bash
# idle-cost.sh SECONDS [REGEX]: what a steady pod costs podinit itself.
#
# Starts one pod per configuration (every probe kind on an app and on a
# sidecar, hooks, log_prefix, an entry in back-off, a stopped entry, an idle
# control-socket client, 30 apps, init and pause mode), all at once, lets
# them settle, then measures podinit's own CPU time (schedstat) and context
# switches (= wakeups of a process that sleeps in poll/read) over SECONDS.
# Prints one TSV row per configuration:
#
#   config  cpu_ms  wakeups  attempts
#
# where `attempts` is the number of probe attempts the configuration makes in
# that window (period 1 s): what the pod is expected to cost.
# Used by tests/integration/test_steady.sh (a short window, bounds) and by
# `make bench` (10 s, the idle-cost table). Needs root (unshare), python3.
set -euo pipefail
SECONDS_WINDOW=${1:?usage: idle-cost.sh SECONDS [REGEX]}
ONLY=${2:-.}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PODINIT=${PODINIT:-$ROOT/target/debug/podinit}
W=$(mktemp -d /tmp/podinit-idle.XXXXXX)
PIDS=""
cleanup() {
    local p
    for p in $PIDS; do kill -KILL "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
TCP_PORT=$(free_port)
HTTP_PORT=$(free_port)
echo 200 > "$W/code"
python3 "$ROOT/tests/pods/probes/server.py" tcp "$TCP_PORT" >/dev/null 2>&1 & PIDS="$PIDS $!"
python3 "$ROOT/tests/pods/probes/server.py" http "$HTTP_PORT" --code "$W/code" >/dev/null 2>&1 & PIDS="$PIDS $!"

probe_of() {
    case $1 in
        exec) echo '{ exec = ["true"], period = "1s" }' ;;
        tcp) echo "{ tcp = \"127.0.0.1:$TCP_PORT\", period = \"1s\" }" ;;
        http) echo "{ http = \"http://127.0.0.1:$HTTP_PORT/\", period = \"1s\" }" ;;
    esac
}

# pod NAME: a pod file head for configuration NAME on stdout.
pod_head() {
    mkdir -p "$W/$1"
    printf 'name = "idle"\nstate_dir = "%s"\nmarker_dir = "%s"\n' "$W/$1/state" "$W/$1/markers"
}

CONFIGS=()
ATTEMPTS=()
add() { CONFIGS+=("$1"); ATTEMPTS+=("$2"); }

for probe in startup readiness liveness; do
    for kind in exec tcp http; do
        # A startup probe stops once it passed: no attempts in steady state.
        n=$SECONDS_WINDOW; [ "$probe" = startup ] && n=0
        c="$probe-$kind-app"
        { pod_head "$c"; printf '[[app]]\nname = "a"\ncommand = ["sleep", "1000"]\n%s_probe = %s\n' "$probe" "$(probe_of "$kind")"; } > "$W/$c.toml"
        add "$c" "$n"
        c="$probe-$kind-sidecar"
        { pod_head "$c"; printf '[[init]]\nname = "s"\nrestart = "Always"\ncommand = ["sleep", "1000"]\n%s_probe = %s\n' "$probe" "$(probe_of "$kind")"
          printf '[[app]]\nname = "a"\ncommand = ["sleep", "1000"]\n'; } > "$W/$c.toml"
        add "$c" "$n"
    done
done
c=hooks
{ pod_head $c; printf '[[app]]\nname = "a"\ncommand = ["sleep", "1000"]\npost_start = ["true"]\npre_stop = ["true"]\n'; } > "$W/$c.toml"; add $c 0
c=log_prefix
{ pod_head $c; printf 'log_prefix = true\n[[app]]\nname = "a"\ncommand = ["sh", "-c", "echo hello; exec sleep 1000"]\n'; } > "$W/$c.toml"; add $c 0
c=backoff
{ pod_head $c; printf '[[app]]\nname = "crashy"\ncommand = ["false"]\n[[app]]\nname = "a"\ncommand = ["sleep", "1000"]\n'; } > "$W/$c.toml"; add $c 1
c=stopped
{ pod_head $c; printf '[[app]]\nname = "held"\ncommand = ["sleep", "1000"]\n[[app]]\nname = "a"\ncommand = ["sleep", "1000"]\n'; } > "$W/$c.toml"; add $c 0
c=control-client
{ pod_head $c; printf '[[app]]\nname = "a"\ncommand = ["sleep", "1000"]\n'; } > "$W/$c.toml"; add $c 0
c=apps-30
{ pod_head $c; for i in $(seq 1 30); do printf '[[app]]\nname = "a%s"\ncommand = ["sleep", "1000"]\n' "$i"; done; } > "$W/$c.toml"; add $c 0
add init 0
add pause 0

declare -A PID_OF
for i in "${!CONFIGS[@]}"; do
    c=${CONFIGS[$i]}
    [[ $c =~ $ONLY ]] || continue
    case $c in
        init) unshare --pid --fork --mount-proc "$PODINIT" -- sleep 1000 >"$W/$c.log" 2>&1 & ;;
        pause) unshare --pid --fork --mount-proc "$PODINIT" pause >"$W/$c.log" 2>&1 & ;;
        *) "$PODINIT" run -c "$W/$c.toml" >"$W/$c.log" 2>&1 & ;;
    esac
    PIDS="$PIDS $!"
    PID_OF[$c]=$!
done

# unshare --fork: the measured process is its child (PID 1 inside).
for c in init pause; do
    [ -n "${PID_OF[$c]:-}" ] || continue
    for _ in $(seq 50); do
        child=$(cat "/proc/${PID_OF[$c]}/task/${PID_OF[$c]}/children" 2>/dev/null | awk '{print $1}')
        [ -n "$child" ] && break
        sleep 0.1
    done
    PID_OF[$c]=${child:?no PID 1 for $c}
    # SIGKILL to unshare would leave its child, PID 1 of the namespace, running.
    PIDS="$PIDS $child"
done

sleep 2.5
# The stopped entry and the idle client, once the pods are up.
if [ -n "${PID_OF[stopped]:-}" ]; then
    PODINIT_CONFIG="$W/stopped.toml" "$PODINIT" stop held >/dev/null 2>&1 || echo "idle-cost: stop held failed" >&2
fi
if [ -n "${PID_OF[control-client]:-}" ]; then
    python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(10000)' \
        "$W/control-client/state/control.sock" 2>/dev/null & PIDS="$PIDS $!"
fi
sleep 1

cpu_ns() { awk '{print $1}' "/proc/$1/schedstat"; }
ctxt() { awk '/ctxt_switches/ {n += $2} END {print n}' "/proc/$1/status"; }
declare -A CPU0 CTX0
for c in "${!PID_OF[@]}"; do
    p=${PID_OF[$c]}
    CPU0[$c]=$(cpu_ns "$p"); CTX0[$c]=$(ctxt "$p")
done
sleep "$SECONDS_WINDOW"
for i in "${!CONFIGS[@]}"; do
    c=${CONFIGS[$i]}
    [ -n "${PID_OF[$c]:-}" ] || continue
    p=${PID_OF[$c]}
    if ! kill -0 "$p" 2>/dev/null; then
        printf '%s\tdead\tdead\t%s\n' "$c" "${ATTEMPTS[$i]}"
        sed 's/^/    /' "$W/$c.log" >&2
        continue
    fi
    cpu=$(( ($(cpu_ns "$p") - CPU0[$c]) / 1000000 ))
    printf '%s\t%s\t%s\t%s\n' "$c" "$cpu" "$(( $(ctxt "$p") - CTX0[$c] ))" "${ATTEMPTS[$i]}"
done
