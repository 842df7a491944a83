# Shared helpers for podinit's shell integration tests. Source it; then call
# `t_begin NAME`, assertions, and finally `t_summary` (prints "N passed, N failed").
#
# Every test runs the real binary, usually as PID 1 of a fresh PID namespace
# (`unshare --pid --fork --mount-proc`). Waits are bounded so a hang fails.

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PODINIT=${PODINIT:-$ROOT/target/debug/podinit}
T_PASS=0
T_FAIL=0
T_NAME=""
T_FAILED=""
T_TMP=$(mktemp -d /tmp/podinit-test.XXXXXX)
trap 'rm -rf "$T_TMP"' EXIT

# t_begin NAME: start a test case.
t_begin() { T_NAME=$1; T_CASE_OK=1; }

# t_fail MSG: record a failed assertion in the current case.
t_fail() { T_CASE_OK=0; echo "    FAIL [$T_NAME]: $*" >&2; }

# t_end: close the current case and count it.
t_end() {
    if [ "$T_CASE_OK" = 1 ]; then T_PASS=$((T_PASS + 1)); echo "ok   $T_NAME"
    else T_FAIL=$((T_FAIL + 1)); T_FAILED="$T_FAILED $T_NAME"; echo "FAIL $T_NAME"; fi
}

# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq() { [ "$1" = "$2" ] || t_fail "${3:-value}: expected '$1', got '$2'"; }

# assert_ne UNEXPECTED ACTUAL [WHAT]
assert_ne() { [ "$1" != "$2" ] || t_fail "${3:-value}: did not expect '$1'"; }

# assert_contains HAYSTACK NEEDLE [WHAT]
assert_contains() { case "$1" in *"$2"*) ;; *) t_fail "${3:-output} lacks '$2': $(printf %s "$1" | head -c 600)";; esac; }

# assert_not_contains HAYSTACK NEEDLE [WHAT]
assert_not_contains() { case "$1" in *"$2"*) t_fail "${3:-output} has '$2': $(printf %s "$1" | head -c 600)";; esac; }

# assert_file FILE: the file exists.
assert_file() { [ -e "$1" ] || t_fail "missing file $1"; }

# assert_no_file FILE: the file does not exist.
assert_no_file() { [ ! -e "$1" ] || t_fail "unexpected file $1"; }

# wait_for SECONDS CMD...: poll CMD every 50 ms until it succeeds; 1 on timeout.
wait_for() {
    local limit=$1; shift
    local end=$(( $(date +%s%N) + limit * 1000000000 ))
    while [ "$(date +%s%N)" -lt "$end" ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}

# as_pid1 [TIMEOUT] -- ARGS...: run podinit ARGS as PID 1 of a new PID namespace,
# killed after TIMEOUT seconds (default 30). Sets RC; stdout/stderr pass through.
as_pid1() {
    local limit=30
    if [ "$1" != "--" ]; then limit=$1; shift; fi
    shift
    RC=0
    timeout -s KILL "$limit" unshare --pid --fork --mount-proc "$PODINIT" "$@" || RC=$?
}

# pid1_bg OUT ERR -- ARGS...: start podinit as PID 1 in the background. Sets BG
# (the unshare pid) and waits until podinit is running; P1 = podinit's host pid.
pid1_bg() {
    local out=$1 err=$2; shift 3
    unshare --pid --fork --mount-proc "$PODINIT" "$@" >"$out" 2>"$err" &
    BG=$!
    P1=""
    local i
    for i in $(seq 1 200); do
        P1=$(pgrep -P "$BG" 2>/dev/null | head -n1)
        [ -n "$P1" ] && return 0
        sleep 0.02
    done
    return 1
}

# bg_wait [TIMEOUT]: wait for the background podinit; sets RC (137 + kill when it hangs).
bg_wait() {
    local limit=${1:-30} i
    for i in $(seq 1 $((limit * 20))); do
        kill -0 "$BG" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$BG" 2>/dev/null; then
        t_fail "podinit still running after ${limit}s"
        kill -KILL "$BG" 2>/dev/null
    fi
    RC=0; wait "$BG" || RC=$?
}

# t_summary: print the totals in the form CI reads and exit non-zero on failure.
t_summary() {
    echo "${T_SUITE:-tests}: $T_PASS passed, $T_FAIL failed"
    [ -n "$T_FAILED" ] && echo "failed:$T_FAILED"
    [ "$T_FAIL" = 0 ]
}
