#!/usr/bin/env bash
# Pod files that must be refused (SPEC §4: "Unknown keys, duplicate names,
# empty commands, bad durations and bad signal names are errors that name the
# file, line and column, and podinit then starts nothing").
#
# For every tests/pods/bad/*.toml (first line: `# expect: <substring>`),
# `podinit run` (as PID 1) exits 1 with that message and starts nothing: a copy
# of the file with a canary init step appended (and its own state_dir/
# marker_dir) creates neither the canary file nor those dirs. Plus: run with a
# missing pod file, and a valid file whose app names an unknown user (run exits
# 1 before the init step).
#
# What `check` prints for each of these files, for the good ones, unreadable
# ones, several errors in one file and usage errors is pinned whole (stdout,
# stderr, exit code) in tests/cli.rs.

. "$(dirname "$0")/../lib.sh"
T_SUITE=pod_config
BAD=$ROOT/tests/pods/bad

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

    t_begin "bad: $name: run exits 1 with check's message and starts nothing"
    [ -n "$expect" ] || t_fail "first line is not '# expect: <substring>'"
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

# --- files that cannot be read -------------------------------------------------

t_begin "unreadable: a missing pod file: run exits 1 naming it"
missing=$T_TMP/no-such-dir/pod.toml
run_podinit run -c "$missing"
assert_eq 1 "$RC" "run exit status"
assert_contains "$ERR" "$missing"
no_panic "$ERR" "$RC"
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
