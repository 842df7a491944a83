#!/usr/bin/env bash
# Fuzz smoke run (`make fuzz`, not part of `make test`): every target of
# fuzz/Cargo.toml for SECONDS (default 30) each, with libFuzzer and ASan.
#
#   bash fuzz/run.sh [SECONDS]        FUZZ_TARGETS="pod_file expand" to pick some;
#                                     FUZZ_FLAGS="-fork=2 -ignore_crashes=1" for more
#
# cargo-fuzz needs nightly-only flags (-Zsanitizer, sancov passes). It uses a
# rustup nightly toolchain when there is one, else the stable toolchain with
# RUSTC_BOOTSTRAP=1 (which works: ASan included). If the ASan build fails, it
# falls back to `--sanitizer none` (Rust code needs no sanitizer to report a
# panic, overflow or out-of-bounds access). The corpus grows in fuzz/corpus/
# (not committed); crashes land in fuzz/artifacts/<target>/: fix them and copy
# the input to tests/fuzz-corpus/<target>/ so `cargo test` replays it.
set -u
cd "$(dirname "$0")"
secs=${1:-30}
targets=${FUZZ_TARGETS:-$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^podinit-fuzz$')}
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz (crates.io)"
    cargo install cargo-fuzz --locked || exit 1
fi
if cargo +nightly --version >/dev/null 2>&1; then
    toolchain=(+nightly)
    echo "fuzz: toolchain $(cargo +nightly --version)"
else
    toolchain=()
    export RUSTC_BOOTSTRAP=1
    echo "fuzz: toolchain $(cargo --version) with RUSTC_BOOTSTRAP=1"
fi
sanitizer=()
if ! cargo "${toolchain[@]}" fuzz build >build.log 2>&1; then
    echo "fuzz: the ASan build failed (see fuzz/build.log); using --sanitizer none"
    sanitizer=(--sanitizer none)
    cargo "${toolchain[@]}" fuzz build "${sanitizer[@]}" >build.log 2>&1 || { tail -n 20 build.log; exit 1; }
fi
mkdir -p logs
failed=""
for t in $targets; do
    mkdir -p "corpus/$t"
    dict=()
    [ -f "dict/$t.dict" ] && dict=("-dict=dict/$t.dict")
    # shellcheck disable=SC2086
    cargo "${toolchain[@]}" fuzz run "${sanitizer[@]}" "$t" "corpus/$t" "../tests/fuzz-corpus/$t" -- \
        -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "${dict[@]}" ${FUZZ_FLAGS:-} >"logs/$t.log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "logs/$t.log" | tail -n1)
    [ -n "$execs" ] || execs=$(grep -Eo '^#[0-9]+' "logs/$t.log" | tail -n1 | tr -d '#')
    if [ "$rc" = 0 ]; then
        printf 'fuzz: %-16s ok     %10s executions in %ss\n' "$t" "${execs:-?}" "$secs"
    else
        failed="$failed $t"
        printf 'fuzz: %-16s CRASH  after %s executions: %s\n' "$t" "${execs:-?}" \
            "$(grep -m1 -E 'panicked at|ERROR: AddressSanitizer|SUMMARY' "logs/$t.log")"
        grep -m1 'Test unit written to' "logs/$t.log" | sed 's/^.*written to /fuzz:                  input: /'
    fi
done
[ -z "$failed" ] || { echo "fuzz: crashes in:$failed (logs in fuzz/logs/)"; exit 1; }
echo "fuzz: no crash"
