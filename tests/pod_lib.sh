# shellcheck shell=bash
# Helpers for the pod-mode suites (source after lib.sh): write a pod file per
# case, run it as PID 1 of a fresh PID namespace, and make sure no pod of the
# suite outlives it. A suite may define pod_filter (extra @NAME@ substitutions
# in pod files) and suite_cleanup (which should call pod_cleanup) after
# sourcing this file.

# pod_filter: stdin to stdout, @D@ replaced by the case directory (a suite may
# redefine it after sourcing this file).
pod_filter() { sed "s|@D@|$D|g"; }

# newpod NAME: write the pod file of case NAME from stdin. D is the case's
# directory, P its pod file; marker_dir and state_dir (in D) come first, so the
# text may add other top-level keys. Readable by other users (the uid cases).
newpod() {
    D=$T_TMP/$1
    P=$D/pod.toml
    rm -rf "$D"
    mkdir -p "$D"
    chmod 755 "$D"
    { printf 'marker_dir = "%s/markers"\nstate_dir = "%s/state"\n' "$D" "$D"; pod_filter; } >"$P"
    chmod 644 "$P"
}

# kill_left: SIGKILL a podinit of $P that is still running (a timeout killed
# its unshare, which leaves the podinit below it alive).
kill_left() {
    local p
    for p in $(pgrep -f -- "run -c $P\$" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
}

# run_pod [TIMEOUT]: run $P as PID 1 to its end. Sets RC, MS (wall time in ms),
# OUT and ERR (podinit's and the children's stdout / stderr).
run_pod() {
    local t0
    t0=$(now_ms)
    as_pid1 "${1:-30}" -- run -c "$P" >"$D/out" 2>"$D/err"
    kill_left
    MS=$(($(now_ms) - t0))
    OUT=$(cat "$D/out")
    ERR=$(cat "$D/err")
}

# Every pod started in the background (unshare pids), for pod_cleanup.
BGS=""

# start_pod: run $P as PID 1 in the background (BG: unshare, P1: podinit).
start_pod() {
    pid1_bg "$D/out" "$D/err" -- run -c "$P" || t_fail "podinit did not start"
    BGS="$BGS $BG"
}

# stop_wait [TIMEOUT]: wait for the background pod to end. Sets RC, OUT, ERR.
stop_wait() {
    bg_wait "${1:-15}"
    kill_left
    OUT=$(cat "$D/out")
    ERR=$(cat "$D/err")
}

# term_pod [TIMEOUT]: SIGTERM the background pod (graceful stop) and wait for
# it, TIMEOUT s (10) at most. Sets RC, OUT, ERR.
term_pod() {
    kill -TERM "$P1"
    stop_wait "${1:-10}"
}

# term_pod_ok [TIMEOUT]: term_pod, and the pod exited 0.
term_pod_ok() {
    term_pod "$@"
    assert_eq 0 "$RC" "exit status"
}

# kill_pod UNSHARE_PID: SIGKILL the podinit that unshare started (PID 1 of its
# namespace, so the kernel kills the rest of the namespace with it).
kill_pod() {
    local p
    p=$(pgrep -P "$1" 2>/dev/null) && kill -KILL $p 2>/dev/null
}

# pod_cleanup: no pod of the suite outlives it, not even a podinit whose
# unshare a timeout killed.
pod_cleanup() {
    local b
    for b in $BGS; do kill -0 "$b" 2>/dev/null && kill_pod "$b"; done
    for b in $(pgrep -f -- "run -c $T_TMP/" 2>/dev/null); do kill -KILL "$b" 2>/dev/null; done
    wait 2>/dev/null
}
suite_cleanup() { pod_cleanup; }

# json_field EXPR: a value from $D/state/status.json, EXPR in Python over `s`
# (a bare name means s["name"]; e["x"] is the entry named x).
json_field() {
    python3 -S - "$D/state/status.json" "$1" <<'EOF' 2>/dev/null
import json, sys
s = json.load(open(sys.argv[1]))
e = {x["name"]: x for x in s["entries"]}
expr = sys.argv[2]
print(s[expr] if expr in s else eval(expr))
EOF
}

# ready FILE...: wait (5 s at most) until every FILE exists (an entry touches
# it once it runs); a missing one fails the case.
ready() {
    local f
    for f in "$@"; do wait_for 5 test -e "$f" || t_fail "timed out waiting for $f"; done
}

# status_is WANT: the pod STATUS in $D's status.json is WANT (for wait_for).
status_is() { [ "$(json_field status)" = "$1" ]; }

# ef NAME KEY: field KEY of entry NAME in status.json.
ef() { json_field "e[\"$1\"][\"$2\"]"; }

# entry_is NAME KEY WANT: field KEY of entry NAME is WANT (for wait_for).
entry_is() { [ "$(ef "$1" "$2")" = "$3" ]; }

# ctl CMD ARGS...: `podinit CMD -c $P ARGS...` from the host (bounded); sets
# CRC, COUT, CERR. (Output files per shell, so a background ctl may overlap.)
# With CTL_NOBODY=1, as uid nobody (AS_NOBODY).
ctl() {
    local cmd=$1 f=$D/ctl.$BASHPID as=(); shift
    [ "${CTL_NOBODY:-}" = 1 ] && as=("${AS_NOBODY[@]}")
    CRC=0
    timeout -s KILL 30 "${as[@]}" "$PODINIT" "$cmd" -c "$P" "$@" >"$f.out" 2>"$f.err" || CRC=$?
    COUT=$(cat "$f.out")
    CERR=$(cat "$f.err")
}

# pod_wait SECONDS [NAME...] [--for WHAT]: `podinit wait` until the pod (or the
# entries NAME) is ready (or WHAT), SECONDS at most; a timeout or a refusal
# fails the case with podinit wait's one line and the pod's stderr. Blocks on
# status.json changes instead of polling it.
pod_wait() {
    local limit=$1 out rc=0; shift
    out=$(timeout -s KILL $((limit + 5)) "$PODINIT" wait -c "$P" --timeout "${limit}s" "$@" 2>&1) || rc=$?
    [ "$rc" = 0 ] || t_fail "podinit wait${*:+ $*} (${limit}s): exit $rc: $out; pod stderr: $(tail -n3 "$D/err" 2>/dev/null)"
    return "$rc"
}
