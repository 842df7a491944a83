# shellcheck shell=bash disable=SC2034  # sourced: its variables are for the scripts that source it
# Shared helpers of the measurement scripts in scripts/bench/ (sourced, not
# run). A measurement script prints only result rows on stdout:
#
#   METRIC<TAB>VALUE[<TAB>UNIT]
#
# through `row`, which prefixes METRIC with the script's name (size.sh:
# "size.podinit"); progress and warnings go to stderr. A problem the report
# should show (a pod that did not start, a failed tool) is a row too:
# `problem TEXT` prints "NAME.problem.N<TAB>TEXT". scripts/bench.sh runs the
# scripts and collects the rows; scripts/bench/render.py writes the report.
#
# Env: PODINIT (the binary to measure; default: `make static`'s, built when
# missing), BENCH_SECONDS (probe-CPU window, 60), BENCH_IDLE_SECONDS (idle
# window, 10); the scripts' own knobs are in their headers.

set -uo pipefail

BENCH_NAME=$(basename "$0" .sh)   # the prefix of this script's rows
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TARGET=x86_64-unknown-linux-musl
BENCH_SECONDS=${BENCH_SECONDS:-60}
IDLE_SECONDS=${BENCH_IDLE_SECONDS:-10}

log() { echo "bench/$BENCH_NAME: $*" >&2; }
die() { echo "bench/$BENCH_NAME: error: $*" >&2; exit 1; }

# Rows go to fd 3, the script's stdout, so that a row printed inside a $(...)
# (a helper whose output is captured) still reaches the results.
exec 3>&1 1>&2
# row METRIC VALUE [UNIT]: one result row (tabs and newlines in VALUE become spaces).
row() {
    local v=${2-}
    v=${v//$'\t'/ }; v=${v//$'\n'/ }
    if [ $# -ge 3 ]; then printf '%s.%s\t%s\t%s\n' "$BENCH_NAME" "$1" "$v" "$3" >&3
    else printf '%s.%s\t%s\n' "$BENCH_NAME" "$1" "$v" >&3; fi
}
# problem TEXT: something that looks wrong, for the report's "off target"
# list (numbered through a file: a subshell's count must reach the next one).
problem() {
    local n
    n=$(( $(cat "$WORK/.problems" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$WORK/.problems"
    row "problem.$n" "$*"; log "note: $*"
}

need_root() { [ "$(id -u)" = 0 ] || die "run as root (PID namespaces, strace, apt-get)"; }

# --- tools and peers ---------------------------------------------------------

catatonit_path() {
    command -v catatonit 2>/dev/null && return 0
    [ -x /usr/libexec/podman/catatonit ] && echo /usr/libexec/podman/catatonit && return 0
    return 1
}

# need TOOL...: install the missing ones (apt-get). TOOL: tini, dumb-init,
# catatonit, hyperfine, strace, busybox, python3, unshare, cc.
need() {
    local t pkgs=""
    for t in "$@"; do
        case $t in
            catatonit) catatonit_path >/dev/null || pkgs="$pkgs catatonit" ;;
            busybox) command -v busybox >/dev/null || pkgs="$pkgs busybox-static" ;;
            unshare) command -v unshare >/dev/null || pkgs="$pkgs util-linux" ;;
            cc) command -v cc >/dev/null || pkgs="$pkgs gcc libc6-dev" ;;
            *) command -v "$t" >/dev/null || pkgs="$pkgs $t" ;;
        esac
    done
    [ -z "$pkgs" ] && return 0
    log "installing:$pkgs"
    apt-get update -q >&2 || die "apt-get update failed"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs >&2 || die "apt-get install$pkgs failed"
}

# peers: install tini, catatonit and dumb-init when missing; set their paths.
peers() {
    need tini dumb-init catatonit
    TINI=$(command -v tini)
    TINI_STATIC=$(command -v tini-static || true)
    CATATONIT=$(catatonit_path)
    DUMB_INIT=$(command -v dumb-init)
    # The inits as PID 1 with a child (dumb-init takes no "--"; dumb-init-sc:
    # its own switch that keeps the child in its session, no setsid).
    declare -gA INIT_CMD=([podinit]="$PODINIT --" [tini]="$TINI --" [catatonit]="$CATATONIT --"
        [dumb-init]="$DUMB_INIT" [dumb-init-sc]="$DUMB_INIT --single-child")
    INITS="podinit tini catatonit dumb-init"
}

# podinit_bin: set PODINIT to an absolute path; `make static` when unset.
podinit_bin() {
    if [ -z "${PODINIT:-}" ]; then
        log "building the static binary (make static)"
        local build_log
        build_log=$(mktemp /tmp/podinit-bench-build.XXXXXX)
        if ! make -C "$ROOT" static >"$build_log" 2>&1; then
            cat "$build_log" >&2; rm -f "$build_log"; die "build failed"
        fi
        rm -f "$build_log"
        PODINIT=$ROOT/target/$TARGET/release/podinit
    fi
    [ -x "$PODINIT" ] || die "no podinit binary at $PODINIT"
    PODINIT=$(cd "$(dirname "$PODINIT")" && pwd)/$(basename "$PODINIT")
    export PODINIT
}

HF_N=""
# hyperfine_flags: HF_N = -N when hyperfine can run commands without a shell.
hyperfine_flags() {
    need hyperfine
    HF_N=""
    hyperfine --help 2>/dev/null | grep -q -- '--shell=none' && HF_N="-N"
    return 0
}

HAVE_PERF=""
perf stat --no-inherit -x, -e task-clock -o /dev/null -- true >/dev/null 2>&1 && HAVE_PERF=1
HAVE_VALGRIND=""
command -v valgrind >/dev/null && HAVE_VALGRIND=1

# --- scratch space and cleanup -----------------------------------------------

WORK=$(mktemp -d "/tmp/podinit-bench-$BENCH_NAME.XXXXXX")
NS_PIDS=""      # host pids of every PID 1 we started (podinit and peers)
BG_PIDS=""      # their unshare parents
CLEANUP_EXTRA=""  # a command to run at exit (signals.sh: remove its cgroup)
cleanup() {
    local p
    for p in $NS_PIDS; do kill -KILL "$p" 2>/dev/null; done
    for p in $BG_PIDS; do kill -KILL "$p" 2>/dev/null; done
    for p in $BG_PIDS; do wait "$p" 2>/dev/null; done
    [ -n "$CLEANUP_EXTRA" ] && eval "$CLEANUP_EXTRA"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- processes ---------------------------------------------------------------

NS_PREFIX=()
# ns_start LOG CMD...: run CMD as PID 1 of a new PID namespace in the
# background; sets NSP to its host pid (bounded wait for the exec).
ns_start() {
    local logf=$1; shift
    # fd 3 is the rows' stdout, fds 7-9 the bench's own FIFO ends (signals,
    # orphans): not for the init.
    # NS_PREFIX: a command to run unshare through (signals: into a cgroup).
    "${NS_PREFIX[@]}" unshare --pid --fork --mount-proc "$@" </dev/null >"$logf" 2>&1 3>&- 7<&- 8<&- 9<&- &
    local u=$! i c
    BG_PIDS="$BG_PIDS $u"
    NSP=""
    for i in $(seq 1 250); do
        c=$(cat "/proc/$u/task/$u/children" 2>/dev/null | awk '{print $1}')
        if [ -n "$c" ] && [ "$(cat "/proc/$c/comm" 2>/dev/null)" != unshare ]; then
            NSP=$c
            NS_PIDS="$NS_PIDS $c"
            return 0
        fi
        sleep 0.02
    done
    log "timeout starting: $*"
    return 1
}

# ns_stop PID: SIGKILL a PID 1 (the kernel then kills its whole namespace).
ns_stop() { [ -n "${1:-}" ] && kill -KILL "$1" 2>/dev/null; sleep 0.1; }

# wait_children PID N SECONDS: until PID has at least N children.
wait_children() {
    local i n
    for i in $(seq 1 $(( $3 * 20 ))); do
        n=$(wc -w < "/proc/$1/task/$1/children" 2>/dev/null || echo 0)
        [ "${n:-0}" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}

# wait_pod STATE_DIR WHAT SECONDS: until status.json says WHAT (running |
# ready); the check is a python one-liner, independent of podinit's client.
wait_pod() {
    local i
    for i in $(seq 1 $(( $3 * 10 ))); do
        python3 - "$1/status.json" "$2" <<'EOF' 2>/dev/null && return 0
import json, sys
s = json.load(open(sys.argv[1]))
ok = s.get("status") == "Running" if sys.argv[2] == "running" else s.get("ready") is True
sys.exit(0 if ok else 1)
EOF
        sleep 0.1
    done
    return 1
}

# wait_bounded PID SECONDS: wait for a background PID; SIGKILL it (unshare
# --kill-child takes its namespace along) when it is still there after SECONDS.
wait_bounded() {
    local i
    for i in $(seq 1 $(( $2 * 10 ))); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$1" 2>/dev/null && { log "timeout: killing pid $1"; kill -KILL "$1" 2>/dev/null; }
    wait "$1" 2>/dev/null
}

# --- /proc readings ----------------------------------------------------------

# st_field PID FIELD: a kB / count field of /proc/PID/status.
st_field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null; }

# ctxt PID: voluntary + nonvoluntary context switches.
ctxt() { awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }' "/proc/$1/status" 2>/dev/null; }

# cpu_ticks PID: utime + stime (clock ticks).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

# cpu_ns PID: nanoseconds on CPU (schedstat), finer than clock ticks.
cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat" 2>/dev/null || echo 0; }

# --- timing ------------------------------------------------------------------

# hf JSON...: one line per command, "mean stddev min max median" in ms, the
# times of every JSON file (rounds of the same commands) merged.
hf() {
    python3 - "$@" <<'EOF'
import json, statistics, sys
runs = [json.load(open(f))["results"] for f in sys.argv[1:]]
for i in range(len(runs[0])):
    t = [x * 1e3 for r in runs for x in r[i]["times"]]
    sd = statistics.stdev(t) if len(t) > 1 else 0.0
    print("%.3f %.3f %.3f %.3f %.3f" % (statistics.mean(t), sd, min(t), max(t), statistics.median(t)))
EOF
}

# hfr OUT ROUNDS WARMUP RUNS NAME CMD [NAME CMD...]: hyperfine in ROUNDS rounds
# (the commands alternate between rounds, so a burst of load from elsewhere
# on the machine does not land on one command only); merged stats to OUT.
hfr() {
    local out=$1 rounds=$2 warm=$3 runs=$4 i; shift 4
    local args=()
    while [ $# -ge 2 ]; do args+=(-n "$1" "$2"); shift 2; done
    local files=()
    for i in $(seq 1 "$rounds"); do
        # shellcheck disable=SC2086
        hyperfine $HF_N --warmup "$warm" --runs "$runs" --export-json "$WORK/hfr-$i.json" "${args[@]}" \
            >/dev/null 2>"$WORK/hf.err" || { cat "$WORK/hf.err" >&2; return 1; }
        files+=("$WORK/hfr-$i.json")
    done
    hf "${files[@]}" > "$out"
}

# hf_rows PREFIX STATS_LINE: rows PREFIX.{mean,sd,min,max,median} (ms) of one
# line of hf's output.
hf_rows() {
    local p=$1; shift
    # shellcheck disable=SC2086
    set -- $1
    row "$p.mean" "$1" ms; row "$p.sd" "$2" ms; row "$p.min" "$3" ms
    row "$p.max" "$4" ms; row "$p.median" "$5" ms
}

# own_cpu REPEAT CMD...: CPU time (ms, mean of REPEAT runs) of CMD's own
# process, without its children (perf stat --no-inherit task-clock): unlike
# wall time, hardly affected by other load. Empty when perf is not installed.
own_cpu() {
    [ -n "$HAVE_PERF" ] || return 0
    local rep=$1; shift
    perf stat -r "$rep" --no-inherit -x, -e task-clock -o "$WORK/perf.txt" -- "$@" >/dev/null 2>&1 </dev/null
    awk -F, '$3 == "task-clock" { printf "%.3f", $1 }' "$WORK/perf.txt"
}

# --- arithmetic --------------------------------------------------------------

# calc EXPR: float arithmetic.
calc() { awk "BEGIN { printf \"%s\", $1 }" 2>/dev/null; }
fmt() { awk -v x="$2" "BEGIN { printf \"$1\", x }"; }

# median: the median of the numbers on stdin (one a line).
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# rotate N WORDS...: WORDS starting at the (N mod count)-th, so every init gets every position.
rotate() { local n=$1; shift; local a=("$@") i; for i in "${!a[@]}"; do echo "${a[$(( (i + n) % ${#a[@]} ))]}"; done; }

# free_ports N: N free TCP ports on 127.0.0.1.
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# helpers: build the C helpers of scripts/bench/*.c into WORK (SIGPING, ORPHANS).
helpers() {
    need cc
    SIGPING=$WORK/sigping
    ORPHANS=$WORK/orphans
    cc -O2 -o "$SIGPING" "$ROOT/scripts/bench/sigping.c" && cc -O2 -o "$ORPHANS" "$ROOT/scripts/bench/orphans.c" ||
        die "cannot build scripts/bench/*.c"
}

# --- the idle set (idle.sh, rss.sh) ------------------------------------------

# idle_set: start every init as PID 1 of its own namespace, idle: podinit in
# init mode (`-- sleep 1000`), pause mode, the 20-entry pod of pod20.sh (10
# init steps done, 10 apps `sleep 1000`, no probes), tini, catatonit and
# dumb-init with `sleep 1000`. Sets IDLE_PID[NAME] for those that started,
# in IDLE_ORDER; waits for their children and for the pod to be Running; a
# pod that is not is stopped and left out (a problem row).
IDLE_ORDER="podinit-init podinit-pause podinit-pod20 tini catatonit dumb-init"
idle_set() {
    declare -gA IDLE_PID=()
    local k
    POD20=$WORK/pod20
    bash "$ROOT/scripts/bench/pod20.sh" "$POD20"
    ns_start "$POD20/podinit.log" "$PODINIT" run -c "$POD20/pod.toml" && IDLE_PID[podinit-pod20]=$NSP
    ns_start "$WORK/idle-init.log" "$PODINIT" -- sleep 1000 && IDLE_PID[podinit-init]=$NSP
    ns_start "$WORK/idle-pause.log" "$PODINIT" pause && IDLE_PID[podinit-pause]=$NSP
    ns_start "$WORK/idle-tini.log" "$TINI" -- sleep 1000 && IDLE_PID[tini]=$NSP
    ns_start "$WORK/idle-catatonit.log" "$CATATONIT" -- sleep 1000 && IDLE_PID[catatonit]=$NSP
    ns_start "$WORK/idle-dumb-init.log" "$DUMB_INIT" sleep 1000 && IDLE_PID[dumb-init]=$NSP
    for k in podinit-init tini catatonit dumb-init; do
        [ -n "${IDLE_PID[$k]:-}" ] && { wait_children "${IDLE_PID[$k]}" 1 5 || log "$k: no child after 5s"; }
    done
    if [ -n "${IDLE_PID[podinit-pod20]:-}" ] && ! { wait_children "${IDLE_PID[podinit-pod20]}" 10 10 && wait_pod "$POD20/state" running 10; }; then
        problem "20-entry pod did not reach Running within 10 s (log: $(tail -n 3 "$POD20/podinit.log" | tr '\n' ' '))"
        ns_stop "${IDLE_PID[podinit-pod20]}"; unset 'IDLE_PID[podinit-pod20]'
    fi
    sleep 1   # let start-up settle
}
