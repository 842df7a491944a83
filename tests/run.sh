#!/usr/bin/env bash
# Runs every shell integration suite in tests/integration and prints one total
# line ("integration: N passed, N failed"). Needs root (unshare, nsenter).
set -u
cd "$(dirname "$0")/.."
export PODINIT=${PODINIT:-$PWD/target/debug/podinit}
[ -x "$PODINIT" ] || { echo "no binary at $PODINIT: run 'cargo build' first" >&2; exit 1; }
pass=0 fail=0 failed=""
for t in tests/integration/test_*.sh; do
    [ -n "${ONLY:-}" ] && case "$t" in *"$ONLY"*) ;; *) continue ;; esac
    echo "== $t"
    start=$(date +%s)
    log=$(mktemp /tmp/podinit-suite.XXXXXX)
    bash "$t" 2>&1 | tee "$log"
    out=$(grep -E '^[a-z_-]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1)
    rm -f "$log"
    p=$(echo "$out" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p')
    f=$(echo "$out" | sed -n 's/.* \([0-9]*\) failed$/\1/p')
    if [ -z "$p" ]; then f=1; p=0; echo "   $t: no summary line (crashed?)"; fi
    pass=$((pass + p)); fail=$((fail + f))
    [ "$f" != 0 ] && failed="$failed $t"
    echo "   ($(( $(date +%s) - start ))s)"
done
[ -n "$failed" ] && echo "failed suites:$failed"
echo "integration: $pass passed, $fail failed"
[ "$fail" = 0 ]
