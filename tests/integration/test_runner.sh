#!/usr/bin/env bash
# The test runner itself (issue 22): it never reads green when a suite did not
# run. A suite that skips is counted and listed as skipped (and fails the run
# under CI=true); a suite that calls an undefined command stops at once and
# fails, instead of bash printing "command not found" and carrying on.
#
#   bash tests/integration/test_runner.sh

. "$(dirname "$0")/../lib.sh"
T_SUITE=runner

S=$T_TMP/suites
mkdir -p "$S"
# fake_suite NAME BODY: a suite in $S that sources the real lib.sh.
fake_suite() {
    { echo ". \"$ROOT/tests/lib.sh\""; echo "T_SUITE=$1"; echo "$2"; } >"$S/test_$1.sh"
}
# run_runner [ENV...]: tests/run.sh over $S. Sets RC and OUT.
run_runner() {
    RC=0
    OUT=$(env -u ONLY "$@" SUITES="$S" PODINIT=/bin/true bash "$ROOT/tests/run.sh" 2>&1) || RC=$?
}

fake_suite good 't_begin one; assert_eq 1 1; t_end; t_summary'
fake_suite skips 't_skip_suite "no PID namespaces here"; t_begin never; t_fail "ran after the skip"; t_end; t_summary'

t_begin "a skipped suite is counted and listed, never as passed"
run_runner CI=
assert_eq 0 "$RC" "exit code without CI"
assert_contains "$OUT" "SKIPPED $S/test_skips.sh (no PID namespaces here)"
assert_contains "$OUT" "skipped suites (did not run): $S/test_skips.sh"
assert_contains "$OUT" "integration: 1 passed, 0 failed, 1 skipped suites"
assert_not_contains "$OUT" "ran after the skip"
t_end

t_begin "under CI=true a skipped suite fails the run"
run_runner CI=true
assert_eq 1 "$RC" "exit code under CI=true"
assert_contains "$OUT" "CI=true: a skipped suite fails the run"
t_end

rm -f "$S/test_skips.sh"
t_begin "all suites ran and passed: green under CI=true"
run_runner CI=true
assert_eq 0 "$RC" "exit code"
assert_contains "$OUT" "integration: 1 passed, 0 failed, 0 skipped suites"
t_end

fake_suite typo 't_begin before; t_end
no_such_helper_xyz --flag
t_begin after; t_fail "the suite carried on after an undefined command"; t_end
t_summary'
t_begin "an undefined command stops the suite and fails it"
run_runner CI=
assert_eq 1 "$RC" "exit code"
assert_contains "$OUT" "FATAL: undefined command 'no_such_helper_xyz'"
assert_contains "$OUT" "test_typo.sh:4"
assert_not_contains "$OUT" "carried on"
assert_contains "$OUT" "failed suites: $S/test_typo.sh"
t_end
rm -f "$S/test_typo.sh"

fake_suite crash 't_begin one; t_end; exit 3'
t_begin "a suite with no summary line fails"
run_runner CI=
assert_eq 1 "$RC" "exit code"
assert_contains "$OUT" "no summary line"
t_end
rm -f "$S/test_crash.sh"

fake_suite liar 't_begin one; t_end; t_summary; exit 4'
t_begin "a suite that exits non-zero fails although its summary says 0 failed"
run_runner CI=
assert_eq 1 "$RC" "exit code"
assert_contains "$OUT" "exited 4"
t_end
rm -f "$S/test_liar.sh"

t_begin "an optional tool that is missing is only bash's usual 127"
OUT=$(T_OPTIONAL_COMMANDS="no_such_tool_q" bash -c ". \"$ROOT/tests/lib.sh\"; no_such_tool_q; echo rc=\$?; t_summary" 2>&1)
assert_contains "$OUT" "rc=127"
assert_not_contains "$OUT" "FATAL"
t_end

t_summary
