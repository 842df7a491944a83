#!/usr/bin/env bash
# Runs every shell integration suite in tests/integration and prints one total
# line ("integration: N passed, N failed, N skipped suites"). Needs root
# (unshare, nsenter).
#
# A suite that could not run (it printed "SUITE: skipped: REASON", e.g. no PID
# namespaces) is counted and listed as skipped, never as passed; under CI=true
# a skipped suite fails the run. A suite with no summary line, or one that
# exits non-zero while its summary says 0 failed, counts as failed. SUITES=DIR
# runs the suites of another directory (the runner's own test does).
set -u
cd "$(dirname "$0")/.."
export PODINIT=${PODINIT:-$PWD/target/debug/podinit}
[ -x "$PODINIT" ] || { echo "no binary at $PODINIT: run 'cargo build' first" >&2; exit 1; }
pass=0 fail=0 failed="" skipped="" nskip=0

# leftovers ID: pids of live processes that carry the suite's mark in their
# environment (PODINIT_TEST_RUN=ID, inherited by everything a suite starts,
# pods and their entries included): what it left behind. The mark, not a
# path or a name, so a concurrent run elsewhere on the machine is not touched.
leftovers() {
    local p
    for p in /proc/[0-9]*; do
        [ "${p#/proc/}" = "$$" ] && continue
        # A process may end between the glob and the read: the redirection's error is silenced too.
        { tr '\0' '\n' < "$p/environ"; } 2>/dev/null | grep -qx "PODINIT_TEST_RUN=$1" && echo "${p#/proc/}"
    done
}
for t in "${SUITES:-tests/integration}"/test_*.sh; do
    [ -n "${ONLY:-}" ] && case "$t" in *"$ONLY"*) ;; *) continue ;; esac
    echo "== $t"
    start=$(date +%s)
    mark="$$.$RANDOM.$(basename "$t")"
    log=$(mktemp /tmp/podinit-suite.XXXXXX)
    PODINIT_TEST_RUN=$mark bash "$t" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    # Nothing a suite started may outlive it (a leaked pod holds ports and
    # makes the next run's checks pass against the old services).
    sleep 0.2
    left=$(leftovers "$mark" | tr '\n' ' ')
    leaked=0
    if [ -n "${left// /}" ]; then
        for p in $left; do echo "   LEFT BEHIND by $t: pid $p: $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)"; done
        leaked=1
        # shellcheck disable=SC2086 # one pid per word
        kill -KILL $left 2>/dev/null
    fi
    skip=$(grep -E '^[a-z_-]+: skipped: ' "$log" | tail -n1)
    out=$(grep -E '^[a-z_-]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1)
    rm -f "$log"
    if [ -n "$skip" ] && [ -z "$out" ]; then
        echo "   SKIPPED $t (${skip#*: skipped: })"
        skipped="$skipped $t"; nskip=$((nskip + 1))
        echo "   ($(( $(date +%s) - start ))s)"
        continue
    fi
    p=$(echo "$out" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p')
    f=$(echo "$out" | sed -n 's/.* \([0-9]*\) failed$/\1/p')
    if [ -z "$p" ]; then f=1; p=0; echo "   $t: no summary line (crashed?)"; fi
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; echo "   $t: exited $rc although its summary says 0 failed"; fi
    f=$((f + leaked))
    pass=$((pass + p)); fail=$((fail + f))
    [ "$f" != 0 ] && failed="$failed $t"
    echo "   ($(( $(date +%s) - start ))s)"
done
[ -n "$failed" ] && echo "failed suites:$failed"
[ -n "$skipped" ] && echo "skipped suites (did not run):$skipped"
echo "integration: $pass passed, $fail failed, $nskip skipped suites"
[ "$fail" = 0 ] || exit 1
if [ "$nskip" != 0 ] && [ "${CI:-}" = true ]; then
    echo "CI=true: a skipped suite fails the run" >&2
    exit 1
fi
exit 0
