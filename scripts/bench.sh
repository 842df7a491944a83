#!/usr/bin/env bash
# podinit benchmark runner: podinit measured against tini, catatonit and
# dumb-init, one script per measurement (scripts/bench/NAME.sh), the way
# ripgrep's benchsuite is laid out; the targets and verdicts are the renderer's.
#
#   make bench                          # as root: build, run every measurement, render
#   scripts/bench.sh                    # run every measurement (PODINIT or `make static`)
#   scripts/bench.sh --only 'size|startup'   # re-run only these; keep the other rows
#   BENCH_ONLY=startup make bench       # the same through make, then render
#   scripts/bench.sh --list             # the measurements, in report order
#   python3 scripts/bench/render.py     # docs/benchmarks.md from the rows
#
# Every measurement script prints rows `METRIC<TAB>VALUE[<TAB>UNIT]` on stdout,
# METRIC starting with its own name (size.podinit.bytes); it can be run alone
# (`bash scripts/bench/size.sh`). The runner runs the selected ones in report
# order and writes their rows into the results file (TSV), replacing the rows
# of the measurements it ran and keeping the others, so one number can be
# re-measured and the report re-rendered without re-running the rest (the
# file is updated after each measurement: an interrupted run keeps what it
# finished). It adds meta rows: the machine, and per measurement its run (the
# runner's start), its date, the podinit version measured and the load average
# before and after. It prints this run's rows on stdout.
#
# Measurements (the report's sections): size, startup, idle (wakeups), rss,
# init-steps, probe-cpu, log-throughput, control, signals, orphans, idle-cost,
# crash-restart (crash -> running again), logs (the entries' output: buffers,
# throughput, `logs -f`); a new scripts/bench/NAME.sh runs after them (the renderer lists its rows).
#
# Env: PODINIT (default: build with `make static`), BENCH_ONLY (--only's
# default), BENCH_RESULTS (results file, docs/benchmarks.tsv), BENCH_SECONDS
# (probe-CPU window, 60), BENCH_IDLE_SECONDS (idle windows, 10), BENCH_SIGNALS
# (2000) and BENCH_SIG_ROUNDS (5) for signals, BENCH_ORPHANS (5000) and
# BENCH_REAP_ROUNDS (7) for orphans, BENCH_CRASH_ROUNDS (15) for
# crash-restart; BENCH_OUT (the renderer's report,
# docs/benchmarks.md; "-" = stdout only). Installs the peers and tools it needs when they are missing
# (apt-get). Not part of the test suite: it checks nothing, it measures; the
# renderer marks the targets. Exit status: 0, or 2 when a measurement failed
# (its rows say how; the results are written either way), 1 on bad usage.

# shellcheck source=scripts/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench/lib.sh"
# shellcheck disable=SC2034  # read by lib.sh's row
BENCH_NAME=meta   # the runner's own rows: meta.*

usage() { sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit "${1:-1}"; }

ONLY=${BENCH_ONLY:-}
LIST=""
while [ $# -gt 0 ]; do
    case $1 in
        --only) [ $# -ge 2 ] || usage; ONLY=$2; shift 2 ;;
        --only=*) ONLY=${1#--only=}; shift ;;
        --list) LIST=1; shift ;;
        -h|--help) usage 0 ;;
        *) echo "bench: unknown argument: $1" >&2; usage ;;
    esac
done

ORDER=(size startup idle rss init-steps probe-cpu log-throughput control signals orphans idle-cost
    crash-restart logs)
# Any other measurement script (one that sources lib.sh; not lib.sh itself
# nor a helper like pod20.sh) runs after those, by name.
for f in "$ROOT"/scripts/bench/*.sh; do
    n=$(basename "$f" .sh)
    grep -q '^source .*/lib\.sh"' "$f" || continue
    [[ " ${ORDER[*]} " == *" $n "* ]] || ORDER+=("$n")
done
# A script that does not exist any more is not run.
ALL=()
for n in "${ORDER[@]}"; do [ -f "$ROOT/scripts/bench/$n.sh" ] && ALL+=("$n"); done
if [ -n "$LIST" ]; then printf '%s\n' "${ALL[@]}" >&3; exit 0; fi

SEL=()
for n in "${ALL[@]}"; do
    if [ -z "$ONLY" ] || [[ $n =~ $ONLY ]]; then SEL+=("$n"); fi
done
[ ${#SEL[@]} -gt 0 ] || die "--only '$ONLY' matches none of: ${ALL[*]}"
need_root
podinit_bin   # once here, so the scripts do not each run `make static`

RESULTS=${BENCH_RESULTS:-$ROOT/docs/benchmarks.tsv}
mkdir -p "$(dirname "$RESULTS")"

# machine: the meta rows of the machine and the binary of this run.
machine() {
    printf 'meta.kernel\t%s\n' "$(uname -sr) ($(uname -m))"
    printf 'meta.cpu\t%s\n' "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    printf 'meta.nproc\t%s\n' "$(nproc)"
    printf 'meta.podinit\t%s\n' "$("$PODINIT" -V 2>&1 | head -n1)"
    printf 'meta.podinit_bytes\t%s\tbytes\n' "$(stat -L -c %s "$PODINIT")"
    # (the peers' versions when they are installed: the runner installs nothing itself)
    if command -v tini >/dev/null && command -v dumb-init >/dev/null && catatonit_path >/dev/null &&
        command -v hyperfine >/dev/null && peers; then
        printf 'meta.peers\t%s\n' "$("$TINI" --version 2>&1 | head -n1); catatonit ($("$CATATONIT" --version 2>&1 | head -n1)); $("$DUMB_INIT" --version 2>&1 | head -n1); $(hyperfine --version)"
    fi
}

# merge: RESULTS = the machine, then for every measurement in report order
# its rows of this run (WORK/NAME.rows) or else its rows already in RESULTS.
# Run after each measurement, so an interrupted run keeps what it finished.
merge() {
    local n
    {
        machine
        for n in "${ALL[@]}"; do
            if [ -f "$WORK/$n.rows" ]; then
                cat "$WORK/$n.rows"
            elif [ -f "$RESULTS" ]; then
                awk -F'\t' -v n="$n" 'index($1, "meta." n ".") == 1 || index($1, n ".") == 1' "$RESULTS"
            fi
        done
    } > "$WORK/merged.tsv"
    cp "$WORK/merged.tsv" "$RESULTS"
}

RUN=$(date -u '+%Y-%m-%dT%H:%M:%SZ')   # which rows were measured together
FAILED=""
i=0
for n in "${SEL[@]}"; do
    i=$((i + 1))
    log "$i/${#SEL[@]} $n"
    load0=$(cut -d' ' -f1-3 /proc/loadavg)
    date=$(date -u '+%Y-%m-%d %H:%M UTC')
    out=$WORK/$n.out
    # stdout to a file, not a pipe: a process a script leaves behind cannot hold the runner up.
    bash "$ROOT/scripts/bench/$n.sh" > "$out"
    rc=$?
    {
        printf 'meta.%s.run\t%s\n' "$n" "$RUN"
        printf 'meta.%s.date\t%s\n' "$n" "$date"
        printf 'meta.%s.load_start\t%s\n' "$n" "$load0"
        printf 'meta.%s.load_end\t%s\n' "$n" "$(cut -d' ' -f1-3 /proc/loadavg)"
        printf 'meta.%s.podinit\t%s\n' "$n" "$("$PODINIT" -V 2>&1 | head -n1)"
        # Only well-formed rows of this script's own name go in.
        awk -F'\t' -v p="$n." -v n="$n" '
            (NF == 2 || NF == 3) && index($1, p) == 1 && $1 != p { print; next }
            { printf "bench: %s: not a result row, dropped: %s\n", n, $0 > "/dev/stderr"; bad++ }
            END { if (bad) printf "%sproblem.rows\t%s.sh: %d lines on stdout were not result rows\n", p, n, bad }' "$out"
        [ "$rc" = 0 ] || printf '%s.problem.exit\t%s.sh exited with status %s (its stderr above has why)\n' "$n" "$n" "$rc"
    } > "$WORK/$n.rows"
    [ "$rc" = 0 ] || { FAILED="$FAILED $n"; log "$n.sh exited with status $rc"; }
    grep -v '^meta\.' "$WORK/$n.rows" >&3
    merge
done
log "rows written to $RESULTS; render the report: python3 scripts/bench/render.py"
[ -z "$FAILED" ] || { log "failed:$FAILED"; exit 2; }
