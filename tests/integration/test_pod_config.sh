#!/usr/bin/env bash
# Pod files that must be refused (SPEC §4: "Unknown keys, duplicate names,
# empty commands, bad durations and bad signal names are errors that name the
# file, line and column, and podinit then starts nothing").
#
# For every tests/pods/bad/*.toml (first line: `# expect: <substring>`):
#  - `podinit check` exits 1, prints FILE<substring> on stderr, nothing on
#    stdout, and does not panic;
#  - `podinit run` (as PID 1) exits 1 with the same message and starts nothing:
#    a copy of the file with a canary init step appended (and its own
#    state_dir/marker_dir) creates neither the canary file nor those dirs.
# Plus: files that are fine (tests/pods/good/*.toml) pass `check`; a missing or
# unreadable file, a non-UTF-8 file, several errors in one file, usage errors,
# and a valid file whose app names an unknown user (run exits 1 before the
# init step) .

. "$(dirname "$0")/../lib.sh"
T_SUITE=pod_config
BAD=$ROOT/tests/pods/bad
GOOD=$ROOT/tests/pods/good

if [ ! -x "$PODINIT" ]; then
    t_begin "podinit binary exists"; t_fail "no binary at $PODINIT (cargo build)"; t_end
    t_summary; exit
fi
PID1=1
if ! can_unshare_pid; then
    echo "note: cannot create a PID namespace; 'podinit run' runs as a plain child"
    PID1=0
fi

# run_podinit ARGS...: podinit ARGS as PID 1 when possible (10 s at most).
# Sets RC, OUT, ERR.
run_podinit() {
    if [ "$PID1" = 1 ]; then
        as_pid1 10 -- "$@" >"$T_TMP/out" 2>"$T_TMP/err"
    else
        RC=0
        timeout -s KILL 10 "$PODINIT" "$@" >"$T_TMP/out" 2>"$T_TMP/err" || RC=$?
    fi
    OUT=$(cat "$T_TMP/out")
    ERR=$(cat "$T_TMP/err")
}

# no_panic TEXT RC: podinit did not panic (Rust's message, or exit 101/134).
no_panic() {
    assert_not_contains "$1" "panicked" "stderr"
    assert_ne 101 "$2" "exit status (panic)"
    assert_ne 134 "$2" "exit status (abort)"
}

# --- every bad file ------------------------------------------------------------

n_bad=0
for f in "$BAD"/*.toml; do
    n_bad=$((n_bad + 1))
    name=$(basename "$f")
    expect=$(sed -n '1s/^# expect: //p' "$f")

    t_begin "bad: $name: check exits 1 naming file, line and column"
    [ -n "$expect" ] || t_fail "first line is not '# expect: <substring>'"
    RC=0
    "$PODINIT" check -c "$f" >"$T_TMP/out" 2>"$T_TMP/err" || RC=$?
    ERR=$(cat "$T_TMP/err")
    assert_eq 1 "$RC" "check exit status"
    case "$expect" in
    :*) assert_contains "$ERR" "$f$expect" "check stderr" ;;
    *) assert_contains "$ERR" "$expect" "check stderr" ;;
    esac
    assert_eq "" "$(cat "$T_TMP/out")" "check stdout"
    no_panic "$ERR" "$RC"
    t_end

    t_begin "bad: $name: run exits 1 with the same message and starts nothing"
    run_podinit run -c "$f"
    assert_eq 1 "$RC" "run exit status"
    assert_contains "$ERR" "$expect" "run stderr"
    assert_not_contains "$ERR" "started" "run stderr"
    no_panic "$ERR" "$RC"
    # The same file with its own state/marker dirs and a canary init step.
    d=$T_TMP/canary-${name%.toml}
    mkdir -p "$d"
    {
        printf 'state_dir = "%s/state"\nmarker_dir = "%s/markers"\n' "$d" "$d"
        cat "$f"
        printf '\n[[init]]\nname = "zz-canary"\ncommand = ["touch", "%s/canary"]\n' "$d"
    } >"$d/pod.toml"
    run_podinit run -c "$d/pod.toml"
    assert_eq 1 "$RC" "run exit status (copy with a canary step)"
    assert_no_file "$d/canary"
    assert_no_file "$d/state"
    assert_no_file "$d/markers"
    no_panic "$ERR" "$RC"
    t_end
done

t_begin "bad: there are at least 15 bad pod files"
assert_between 15 1000 "$n_bad" "number of tests/pods/bad/*.toml"
t_end

# --- good files ------------------------------------------------------------------

for f in "$GOOD"/*.toml; do
    t_begin "good: $(basename "$f") passes check"
    RC=0
    out=$("$PODINIT" check -c "$f" 2>&1) || RC=$?
    assert_eq 0 "$RC" "check exit status ($out)"
    assert_contains "$out" "ok: pod"
    t_end
done

t_begin "good: the pod file defaults to \$PODINIT_CONFIG"
RC=0
out=$(PODINIT_CONFIG=$GOOD/spec-example.toml "$PODINIT" check 2>&1) || RC=$?
assert_eq 0 "$RC" "check exit status ($out)"
assert_contains "$out" "spec-example.toml"
t_end

# --- files that cannot be read -------------------------------------------------

t_begin "unreadable: a missing pod file: check and run exit 1 naming it"
missing=$T_TMP/no-such-dir/pod.toml
RC=0
err=$("$PODINIT" check -c "$missing" 2>&1) || RC=$?
assert_eq 1 "$RC" "check exit status"
assert_contains "$err" "$missing"
assert_contains "$err" "cannot read"
run_podinit run -c "$missing"
assert_eq 1 "$RC" "run exit status"
assert_contains "$ERR" "$missing"
no_panic "$ERR" "$RC"
t_end

t_begin "unreadable: a directory given as the pod file: exit 1"
RC=0
err=$("$PODINIT" check -c "$T_TMP" 2>&1) || RC=$?
assert_eq 1 "$RC" "check exit status"
assert_contains "$err" "$T_TMP"
no_panic "$err" "$RC"
t_end

t_begin "unreadable: a file that is not UTF-8: exit 1 with its position"
printf 'name = "web"\nnamespace = "\xff\xfe"\n' >"$T_TMP/latin1.toml"
RC=0
err=$("$PODINIT" check -c "$T_TMP/latin1.toml" 2>&1) || RC=$?
assert_eq 1 "$RC" "check exit status"
assert_contains "$err" "$T_TMP/latin1.toml:2:"
assert_contains "$err" "UTF-8"
no_panic "$err" "$RC"
t_end

# --- several errors ------------------------------------------------------------

t_begin "check prints every error of a file, one line each, in file order"
cat >"$T_TMP/many.toml" <<'EOF'
restart_policy = "Sometimes"
termination_grace_period = "5 seconds"

[[init]]
name = "a"
command = []

[[app]]
name = "a"
command = ["web"]
stop_signal = "SIGNOPE"
EOF
RC=0
err=$("$PODINIT" check -c "$T_TMP/many.toml" 2>&1) || RC=$?
assert_eq 1 "$RC" "check exit status"
assert_eq 5 "$(printf '%s\n' "$err" | grep -c "^$T_TMP/many.toml:[0-9]*:[0-9]*: ")" "error lines ($err)"
assert_eq "1 2 6 9 11" "$(printf '%s\n' "$err" | sed -n "s|^$T_TMP/many.toml:\([0-9]*\):.*|\1|p" | tr '\n' ' ' | sed 's/ $//')" "lines named, in order"
assert_contains "$err" "Sometimes"
assert_contains "$err" "5 seconds"
assert_contains "$err" "empty command"
assert_contains "$err" "duplicate name 'a'"
assert_contains "$err" "SIGNOPE"
t_end

# --- usage errors ------------------------------------------------------------------

t_begin "usage: unknown options and extra arguments exit 2"
for args in "run --bogus" "check -c $GOOD/spec-example.toml extra" "run -c"; do
    RC=0
    # shellcheck disable=SC2086
    err=$("$PODINIT" $args 2>&1) || RC=$?
    assert_eq 2 "$RC" "exit status of 'podinit $args'"
    assert_eq 1 "$(printf '%s\n' "$err" | wc -l)" "lines of the error of 'podinit $args' ($err)"
done
t_end

# --- valid file, but it cannot start ------------------------------------------------

t_begin "run: an app with an unknown user fails the pod (exit 1) before the first init step"
d=$T_TMP/unknown-user
mkdir -p "$d"
cat >"$d/pod.toml" <<EOF
state_dir = "$d/state"
marker_dir = "$d/markers"
[[init]]
name = "setup"
command = ["touch", "$d/setup-ran"]
[[app]]
name = "web"
user = "no-such-user"
command = ["true"]
EOF
run_podinit run -c "$d/pod.toml"
assert_eq 1 "$RC" "run exit status"
assert_contains "$ERR" "no-such-user"
assert_contains "$ERR" "$d/pod.toml"
assert_not_contains "$ERR" "started"
assert_no_file "$d/setup-ran"
assert_no_file "$d/state"
assert_no_file "$d/markers"
no_panic "$ERR" "$RC"
t_end

t_summary
