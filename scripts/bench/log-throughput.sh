#!/usr/bin/env bash
# log_prefix throughput: one app writing 200 MB of 33-byte lines
# (`yes '...' | head -c 200000000`), podinit's stdout /dev/null; log_prefix
# true, false, and the generator without podinit. hyperfine, 1 warm-up + 3
# runs. Also: one run through a pipe that counts the lines and those without
# the "[app] " prefix (with perf: podinit's own CPU time in it), and podinit's
# own read/write calls for 20 MB (strace -c, no -f).
#
# Rows (RUN: prefix noprefix none):
#   log-throughput.RUN.{mean,sd,min,max,median}   ms
#   log-throughput.lines, .lines_expected, .unprefixed
#   log-throughput.cpu                            ms (perf only)
#   log-throughput.strace_write, .strace_read     calls for 20 MB
# shellcheck source=scripts/bench/lib.sh
source "$(dirname "$0")/lib.sh"
need_root
need strace
podinit_bin
hyperfine_flags
LOGP=$WORK/logp
mkdir -p "$LOGP"
GEN="yes 'some log line of moderate length' | head -c 200000000"
for lp in true false; do
    cat > "$LOGP/pod-$lp.toml" <<TOML
name = "logs"
restart_policy = "Never"
log_prefix = $lp
marker_dir = "$LOGP/markers"
state_dir = "$LOGP/state-$lp"

[[app]]
name = "app"
command = ["sh", "-c", "$GEN"]
TOML
done
J=$WORK/log.json
# Sanity run first: every line arrives once, prefixed.
PERF_LP=()
# shellcheck disable=SC2054  # "-x," is perf's CSV separator, not a list
[ -n "$HAVE_PERF" ] && PERF_LP=(perf stat --no-inherit -x, -e task-clock -o "$LOGP/perf.txt" --)
out=$("${PERF_LP[@]}" "$PODINIT" run -c "$LOGP/pod-true.toml" 2>/dev/null | LC_ALL=C awk '
    { n++ } substr($0, 1, 6) != "[app] " { bad++ } END { printf "%d %d", n, bad + 0 }')
read -r LINES BAD <<< "$out"
row lines "$LINES"
row lines_expected $(( 200000000 / 33 + 1 ))   # 33-byte lines, plus the cut-off last one
row unprefixed "$BAD"
# shellcheck disable=SC2086
if hyperfine $HF_N --warmup 1 --runs 3 --export-json "$J" \
    -n "podinit, log_prefix = true" "$PODINIT run -c $LOGP/pod-true.toml" \
    -n "podinit, log_prefix = false" "$PODINIT run -c $LOGP/pod-false.toml" \
    -n "no podinit" "sh -c \"$GEN\"" >/dev/null 2>"$WORK/hf.err"; then
    mapfile -t T < <(hf "$J")
    hf_rows prefix "${T[0]}"
    hf_rows noprefix "${T[1]}"
    hf_rows none "${T[2]}"
else
    cat "$WORK/hf.err" >&2
    problem "hyperfine of the log_prefix pod failed"
fi
if [ -n "$HAVE_PERF" ]; then
    row cpu "$(awk -F, '$3 == "task-clock" { printf "%.0f", $1 }' "$LOGP/perf.txt")" ms
fi
# System calls podinit itself makes for 20 MB (a tenth of the app's output).
sed 's/head -c 200000000/head -c 20000000/' "$LOGP/pod-true.toml" > "$LOGP/pod-20mb.toml"
strace -c -o "$LOGP/strace.txt" "$PODINIT" run -c "$LOGP/pod-20mb.toml" >/dev/null 2>&1
row strace_write "$(awk '$NF == "write" { print $4 }' "$LOGP/strace.txt")"
row strace_read "$(awk '$NF == "read" { print $4 }' "$LOGP/strace.txt")"
