# shellcheck shell=bash
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

# On exit: the suite's own suite_cleanup (if it defines one), then SIGKILL to the
# pids listed in CLEANUP, then T_TMP goes. A forked bash child killed before it
# execs runs EXIT traps too, so this acts only in the main shell.
CLEANUP=""
T_MAIN_PID=$BASHPID
t_cleanup() {
    [ "$BASHPID" = "$T_MAIN_PID" ] || return 0
    declare -F suite_cleanup >/dev/null && suite_cleanup
    local p
    for p in $CLEANUP; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$T_TMP"
}
trap t_cleanup EXIT

# A command that does not exist (a helper renamed away, a typo) fails the suite
# loudly instead of bash printing "command not found" and carrying on: bash
# runs this handler in a subshell, which tells the main shell (SIGUSR1) to stop.
# T_OPTIONAL_COMMANDS lists tools a suite may try and do without (it checks
# their result), for which the usual 127 is enough.
T_OPTIONAL_COMMANDS=${T_OPTIONAL_COMMANDS:-"curl wget kubectl socat nc"}
command_not_found_handle() {
    case " $T_OPTIONAL_COMMANDS " in *" $1 "*) echo "bash: $1: command not found" >&2; return 127;; esac
    echo "FATAL: undefined command '$1' (${BASH_SOURCE[1]:-?}:${BASH_LINENO[0]:-?}); suite aborted" >&2
    kill -USR1 "$T_MAIN_PID" 2>/dev/null
    return 127
}
t_undefined_command() {
    T_FAIL=$((T_FAIL + 1)); T_FAILED="$T_FAILED undefined-command"
    echo "FAIL undefined command (see FATAL above)"
    t_summary
    exit 1
}
trap t_undefined_command USR1

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
# PID1_EXE, when set, is run instead of $PODINIT (a symlink to it, e.g. `pause`).
pid1_bg() {
    local out=$1 err=$2; shift 3
    unshare --pid --fork --mount-proc "${PID1_EXE:-$PODINIT}" "$@" >"$out" 2>"$err" &
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

# --- Process inspection from the host (used by test_init.sh / test_pause.sh) ---

# pidns_of PID: inode number of PID's PID namespace; empty when PID is gone.
pidns_of() { stat -L -c %i "/proc/$1/ns/pid" 2>/dev/null; }

# ns_procs NS: "PID STATE PPID COMM" (host pids) of every process in the PID
# namespace whose inode is NS (from pidns_of), zombies included.
ns_procs() {
    ps -e -o pid=,pidns=,stat=,ppid=,comm= 2>/dev/null |
        awk -v ns="$1" '$2 == ns { print $1, substr($3, 1, 1), $4, $5 }'
}

# ns_zombies NS: host pids of the zombies in PID namespace NS, one a line.
ns_zombies() { ns_procs "$1" | awk '$2 == "Z" { print $1 }'; }

# proc_state PID: PID's state letter (R, S, T, Z, ...); empty when it is gone.
proc_state() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    s=${s##*) }
    echo "${s%% *}"
}

# proc_ppid PID: PID's parent (host pid); empty when it is gone.
proc_ppid() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    s=${s##*) }
    set -- $s
    echo "$2"
}

# zombie_children PID: pids of PID's children that are zombies, one a line.
zombie_children() { ps -e -o pid=,stat=,ppid= 2>/dev/null | awk -v p="$1" '$3 == p && $2 ~ /^Z/ { print $1 }'; }

# now_ms: a monotonic-enough wall clock in milliseconds, for elapsed-time checks.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Predicates for wait_for (which re-runs a command, so no $(...) in its arguments).

# gone PID: PID has exited (reaped, or a zombie waiting for its parent).
gone() { [ ! -e "/proc/$1" ] || [ "$(proc_state "$1")" = Z ]; }

# ns_empty NS: no process left in PID namespace NS (inode from pidns_of).
ns_empty() { [ -z "$(ns_procs "$1")" ]; }

# child_of PID: the first child of PID (empty if none).
child_of() { pgrep -P "$1" 2>/dev/null | head -n1; }

# has_child PID: PID has a child.
has_child() { [ -n "$(child_of "$1")" ]; }

# orphan_parent_is PID PARENT: PID's parent is PARENT (it was re-parented there).
orphan_parent_is() { [ "$(proc_ppid "$1")" = "$2" ]; }

# assert_orphan_reaped PIDFILE PARENT SETTLE WHO ERRFILE: a child of PARENT
# wrote the pid of an orphan it left (a short sleep) to PIDFILE (3 s at most);
# that orphan is re-parented to PARENT, exits, and SETTLE seconds later PARENT
# (WHO in the messages) has no zombie child. ERRFILE is shown when no pid came.
# Sets ORPHAN (empty when none was made).
assert_orphan_reaped() {
    local pidfile=$1 parent=$2 settle=$3 who=$4 errfile=$5
    ORPHAN=""
    wait_for 3 test -s "$pidfile" && ORPHAN=$(cat "$pidfile")
    if [ -z "$ORPHAN" ]; then
        t_fail "the child did not make its orphan: $(head -c 200 "$errfile")"
        return
    fi
    wait_for 1 orphan_parent_is "$ORPHAN" "$parent"   # settles once the subshell is gone
    assert_eq "$parent" "$(proc_ppid "$ORPHAN")" "orphan's parent"
    wait_for 3 gone "$ORPHAN"
    sleep "$settle"
    assert_eq "" "$(zombie_children "$parent" | tr '\n' ' ')" "zombie children of $who $settle s after the orphan exited"
}

# has_line ERE FILE: some line of FILE matches ERE (grep's basic syntax).
has_line() { grep -q -- "$1" "$2"; }

# bg_kill: stop the background podinit of a failed case (BG = unshare, P1 = podinit).
bg_kill() { kill -KILL "$P1" "$BG" 2>/dev/null; wait "$BG" 2>/dev/null; }

# one_line TEXT [WHAT]: TEXT is exactly one non-empty line (an error message).
one_line() {
    [ -n "$1" ] && [ "$(printf '%s\n' "$1" | wc -l)" = 1 ] || t_fail "${2:-message} is not one line: '$1'"
}

# --- helpers for the pod-mode tests ------------------------------------------

# assert_between LOW HIGH VALUE [WHAT]: LOW <= VALUE <= HIGH (integers).
assert_between() {
    if ! [ "$3" -ge "$1" ] 2>/dev/null || ! [ "$3" -le "$2" ] 2>/dev/null; then
        t_fail "${4:-value}: expected $1..$2, got '$3'"
    fi
}

# assert_match TEXT ERE [WHAT]: some line of TEXT matches the extended regex ERE.
assert_match() { printf '%s\n' "$1" | grep -Eq -- "$2" || t_fail "${3:-output} has no line matching /$2/: $(printf %s "$1" | head -c 600)"; }

# assert_no_match TEXT ERE [WHAT]: no line of TEXT matches the extended regex ERE.
assert_no_match() { ! printf '%s\n' "$1" | grep -Eq -- "$2" || t_fail "${3:-output} has a line matching /$2/: $(printf %s "$1" | grep -E -- "$2" | head -c 600)"; }

# can_unshare_pid: true when this user may create a PID namespace (as_pid1 needs it).
can_unshare_pid() { unshare --pid --fork --mount-proc true >/dev/null 2>&1; }

# t_skip_suite REASON: the suite cannot run here. Prints "SUITE: skipped: REASON",
# which tests/run.sh counts as a skipped suite (and under CI=true, a failure).
t_skip_suite() {
    echo "${T_SUITE:-tests}: skipped: $*"
    exit 0
}

# suite_requires: skip the suite where PID namespaces cannot be made; fail it
# when there is no binary.
suite_requires() {
    if [ ! -x "$PODINIT" ]; then
        t_begin "podinit binary exists"; t_fail "no binary at $PODINIT (cargo build)"; t_end
        t_summary; exit
    fi
    if ! can_unshare_pid; then
        t_skip_suite "cannot create a PID namespace (unshare --pid needs root or user namespaces)"
    fi
}

# suite_needs CMD WHY: without CMD on PATH the suite fails at once, with one
# failed case "CMD is available" that says WHY it is needed.
suite_needs() {
    command -v "$1" >/dev/null && return 0
    t_begin "$1 is available"; t_fail "$1 is needed $2"; t_end
    t_summary; exit
}

# The uid and gid of nobody, and AS_NOBODY: the command prefix that runs what
# follows as nobody, without supplementary groups (the other-uid cases).
NOBODY_UID=$(id -u nobody 2>/dev/null || echo 65534)
NOBODY_GID=$(id -g nobody 2>/dev/null || echo 65534)
AS_NOBODY=(setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --clear-groups)

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
        || echo $(( 20000 + RANDOM % 20000 ))
}
