#!/usr/bin/env bash
# Regenerates scripts/podinit.order, the lld --symbol-ordering-file of `make static`.
#
# Why: the kernel maps the whole 64 KiB window of cached file pages around every
# page fault (fault-around), so peak RSS counts every window the start-up code
# touches, not the pages it touches. The order file puts the functions that init
# mode, pause mode and a running pod execute first in .text, so they share a few
# windows (docs/benchmarks.md, "Peak RSS while supervising").
#
# How: links the static binary with a map file (-Wl,-Map, mangled names), runs it
# as PID 1 under valgrind lackey for (a) init mode with a forwarded signal and a
# reaped orphan, (b) pause until SIGTERM, (c) a 20-entry pod until SIGTERM, as PID 1
# and as a subreaper, maps every touched address to its input section, and writes
# one symbol per section: those all three modes touch first, then init+pause,
# init+pod, init, pause+pod, pause, pod; first-touched first within each group.
#
# Symbol names carry hashes that change with the code: a stale file only loses
# effect (lld skips unknown names). Rerun this after changes to start-up code or
# a toolchain bump, then `make static` and compare VmHWM. Needs root, valgrind,
# python3, unshare. Usage: bash scripts/symbol-order.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-scripts/podinit.order}
BIN=target/x86_64-unknown-linux-musl/release/podinit
MAP=$PWD/target/podinit.map
WORK=$(mktemp -d /tmp/podinit-order.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
for c in valgrind python3 unshare; do
    command -v $c >/dev/null || { echo "symbol-order: needs $c" >&2; exit 1; }
done

# The exact `make static` link (current order file included) plus a map file.
make --no-print-directory static STATIC_LINK_EXTRA="-C link-arg=-Wl,-Map=$MAP -C link-arg=-Wl,--no-demangle"
grep -q 'Linker: LLD' <(readelf -p .comment "$BIN") || { echo "symbol-order: binary not linked by lld" >&2; exit 1; }

# lackey NAME ARGS...: runs BIN ARGS as PID 1 of a new PID namespace under lackey
# (run it with &: exec, so that the job's child is valgrind, the PID 1).
lackey() {
    local name=$1; shift
    exec unshare --pid --fork --mount-proc valgrind --tool=lackey --trace-mem=yes \
        --log-file="$WORK/$name.trace" "$PWD/$BIN" "$@" >"$WORK/$name.out" 2>&1
}
# lackey_term NAME SECONDS ARGS...: the same in the background, SIGTERM after SECONDS.
lackey_term() {
    local name=$1 secs=$2 u p
    shift 2
    lackey "$name" "$@" &
    u=$!
    sleep "$secs"
    signal TERM "$u"
    wait "$u" || true
}
# signal SIG U: sends SIG to the PID 1 (valgrind) under unshare U.
signal() {
    local p
    p=$(pgrep -P "$2" | head -n1)
    [ -n "$p" ] && kill -"$1" "$p"
}

# (a) init: a child that gets SIGUSR1 forwarded (from outside, as `docker kill -s`
# would) and leaves an orphan for PID 1 to reap.
lackey init -- sh -c 'trap "echo usr1" USR1; (sleep 0.2 &); sleep 1; kill -USR1 1 2>/dev/null; sleep 2' &
u=$!
sleep 2.5
signal USR1 "$u"
wait "$u" || true
# (b) pause, then SIGTERM.
lackey_term pause 3 pause
# (c) the bench's 20-entry pod (scripts/bench/pod20.sh: more than 11 names, so
# the name index's B-tree splits), running, then SIGTERM; once as PID 1 and once
# from a shell (a subreaper), the two ways it is started.
bash scripts/bench/pod20.sh "$WORK/pod"
lackey_term pod1 5 run -c "$WORK/pod/pod.toml"
rm -rf "$WORK/pod/markers" "$WORK/pod/state"
timeout -s TERM 5 valgrind --tool=lackey --trace-mem=yes --log-file="$WORK/pod2.trace" \
    "$PWD/$BIN" run -c "$WORK/pod/pod.toml" >"$WORK/pod2.out" 2>&1 || true
for n in init pause pod1 pod2; do
    [ -s "$WORK/$n.trace" ] || { echo "symbol-order: no trace for $n ($(tail -n 3 "$WORK/$n.out"))" >&2; exit 1; }
done
cat "$WORK/pod1.trace" "$WORK/pod2.trace" >"$WORK/pod.trace"

python3 - "$MAP" "$OUT" "$WORK/init.trace" "$WORK/pause.trace" "$WORK/pod.trace" <<'EOF'
import bisect, sys
mapfile, out, traces = sys.argv[1], sys.argv[2], sys.argv[3:]
# lld map: "VMA LMA Size Align Out/In/Symbol"; input sections are indented 8
# past the output section, their symbols 16.
secs = []  # (start, end, output section, first symbol or None)
for line in open(mapfile):
    # Fixed columns: VMA 16, LMA 17, Size 9, Align 6, a space, then the name.
    try:
        va, size = int(line[:16], 16), int(line[33:42], 16)
    except ValueError:
        continue
    rest = line[49:].rstrip("\n")
    depth = len(rest) - len(rest.lstrip(" "))
    name = rest.strip()
    if depth == 0:
        out_sec = name
    elif depth == 8:
        secs.append([va, va + size, out_sec, None])
    elif depth == 16 and secs and secs[-1][3] is None and secs[-1][0] <= va < secs[-1][1] + 1:
        secs[-1][3] = name
secs = [s for s in secs if s[1] > s[0]]
secs.sort()
starts = [s[0] for s in secs]
first = []  # per trace: {section index: first-touch rank}
for t in traces:
    seen, cache = {}, {}
    for line in open(t, errors="replace"):
        if len(line) < 4 or line[0] not in " I" or line[1] not in " LSM":
            continue
        try:
            a = int(line[3:].split(",", 1)[0], 16)
        except ValueError:
            continue
        k = a >> 4
        i = cache.get(k)
        if i is None:
            i = bisect.bisect_right(starts, a) - 1
            if i < 0 or a >= secs[i][1]:
                i = -1
            cache[k] = i
        if i >= 0 and i not in seen:
            seen[i] = len(seen)
    first.append(seen)
A, B, C = 1, 2, 4
groups = [A | B | C, A | B, A | C, A, B | C, B, C]
def mask(i):
    return sum(1 << n for n, s in enumerate(first) if i in s)
def rank(i):
    return min(s[i] for s in first if i in s)
touched = set().union(*first)
names, unnamed = [], {}
for g in groups:
    for i in sorted((i for i in touched if mask(i) == g), key=rank):
        s = secs[i]
        if s[3] is None:
            unnamed[s[2]] = unnamed.get(s[2], 0) + s[1] - s[0]
        elif s[3] not in names:
            names.append(s[3])
with open(out, "w") as f:
    f.write("# lld --symbol-ordering-file for make static: generated by scripts/symbol-order.sh, do not edit.\n")
    f.write("\n".join(names) + "\n")
by = {}
for i in touched:
    by[secs[i][2]] = by.get(secs[i][2], 0) + secs[i][1] - secs[i][0]
print("symbol-order: %d symbols -> %s; touched bytes by section: %s; without a symbol (not orderable): %s"
      % (len(names), out, by, unnamed))
EOF
