#!/usr/bin/env bash
# Peak RSS while supervising: VmHWM, VmRSS, RssAnon and RssFile of every init
# of lib.sh's idle set (as idle.sh starts them) after BENCH_IDLE_SECONDS (10)
# of idling; where podinit-init's resident pages are (/proc/PID/smaps); and,
# with valgrind, how much of each LOAD segment of the binary init mode and the
# 20-entry pod really touch (lackey: every instruction fetch and data access,
# by 4 kB page and 64 kB window).
#
# Rows (NAME: podinit-init podinit-pause podinit-pod20 tini catatonit dumb-init):
#   rss.NAME.{hwm,rss,anon,file}                        kB
#   rss.smaps.N.{mapping,size,rss}                      podinit-init's mappings, kB
#   rss.touched.N.{mode,segment,size,touched,windows}   valgrind only; kB
# shellcheck source=scripts/bench/lib.sh
source "$(dirname "$0")/lib.sh"
need_root
need unshare python3
podinit_bin
peers
idle_set
sleep "$IDLE_SECONDS"
for k in $IDLE_ORDER; do
    [ -n "${IDLE_PID[$k]:-}" ] || continue
    p=${IDLE_PID[$k]}
    row "$k.hwm" "$(st_field "$p" VmHWM)" kB
    row "$k.rss" "$(st_field "$p" VmRSS)" kB
    row "$k.anon" "$(st_field "$p" RssAnon)" kB
    row "$k.file" "$(st_field "$p" RssFile)" kB
done
# Where podinit-init's resident pages are (smaps, summed per mapping).
if [ -n "${IDLE_PID[podinit-init]:-}" ]; then
    awk -v bin="$PODINIT" '
        /^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "" ? "anonymous" : $6); if (name == bin) name = "podinit " $2 " (" $1 ")"; sz = 0 }
        /^Size:/ { sz = $2 }
        /^Rss:/ { if (!(name in rss)) order[++n] = name; rss[name] += $2; size[name] += sz }
        END { for (i = 1; i <= n; i++) printf "%s\t%d\t%d\n", order[i], size[order[i]], rss[order[i]] }' \
        "/proc/${IDLE_PID[podinit-init]}/smaps" 2>/dev/null > "$WORK/smaps.tsv"
    n=0
    while IFS=$'\t' read -r m s r; do
        n=$((n + 1)); row "smaps.$n.mapping" "$m"; row "smaps.$n.size" "$s" kB; row "smaps.$n.rss" "$r" kB
    done < "$WORK/smaps.tsv"
fi
for k in $IDLE_ORDER; do ns_stop "${IDLE_PID[$k]:-}"; done

# touched MODE TRACE: one TSV line per LOAD segment of the binary for one lackey
# trace: mode, segment, size kB, touched kB, "W of N" 64 kB windows.
touched() {
    python3 - "$PODINIT" "$2" "$1" <<'PY'
import subprocess, sys
loads = []
for l in subprocess.run(["readelf", "-lW", sys.argv[1]], capture_output=True, text=True).stdout.splitlines():
    f = l.split()
    if f and f[0] == "LOAD":
        va, msz = int(f[2], 16), int(f[5], 16)
        loads.append((va, va + msz, " ".join(f[6:-1])))
pages = [set() for _ in loads]
for line in open(sys.argv[2], errors="replace"):
    if len(line) < 4 or line[0] not in " I" or line[1] not in " LSM":
        continue
    try:
        addr = int(line[2:].split(",")[0], 16)
    except ValueError:
        continue
    for i, (a, b, _) in enumerate(loads):
        if a <= addr < b:
            pages[i].add(addr // 4096)
for (a, b, flags), p in zip(loads, pages):
    size = (b - (a & ~4095) + 4095) // 4096 * 4
    windows = {x // 16 for x in p}
    print(f"{sys.argv[3]}\t{flags} {a:#x}-{b:#x}\t{size}\t{len(p) * 4}\t{len(windows)} of {(b - 1) // 65536 - a // 65536 + 1}")
PY
}
if [ -n "$HAVE_VALGRIND" ]; then
    valgrind --tool=lackey --trace-mem=yes --log-file="$WORK/lackey.txt" "$PODINIT" -- sleep 0.3 >/dev/null 2>&1
    touched init "$WORK/lackey.txt" > "$WORK/touched.tsv"
    # The 20-entry pod from its start (fresh marker and state dirs: the steps
    # run) until SIGTERM has stopped it: parser, spawns, status file, stop.
    bash "$ROOT/scripts/bench/pod20.sh" "$WORK/lackey-pod"
    timeout -s TERM 4 valgrind --tool=lackey --trace-mem=yes --log-file="$WORK/lackey-pod.txt" \
        "$PODINIT" run -c "$WORK/lackey-pod/pod.toml" >/dev/null 2>&1
    touched "pod (20 entries)" "$WORK/lackey-pod.txt" >> "$WORK/touched.tsv"
    n=0
    while IFS=$'\t' read -r mode seg size tk win; do
        n=$((n + 1))
        row "touched.$n.mode" "$mode"; row "touched.$n.segment" "$seg"; row "touched.$n.size" "$size" kB
        row "touched.$n.touched" "$tk" kB; row "touched.$n.windows" "$win"
    done < "$WORK/touched.tsv"
fi
