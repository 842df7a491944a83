#!/usr/bin/env python3
"""Render docs/benchmarks.md from the bench's result rows.

    python3 scripts/bench/render.py [--check] [RESULTS]

RESULTS: the TSV that scripts/bench.sh writes (BENCH_RESULTS, default
docs/benchmarks.tsv): one row `METRIC<TAB>VALUE[<TAB>UNIT]` a line. The report
goes to stdout and to BENCH_OUT (default docs/benchmarks.md; "-": stdout only).
--check writes nothing and exits 1 when BENCH_OUT is not what RESULTS renders
to (a hand edit, or a renderer change without a re-render).

The measurement scripts only measure; the explanations, the targets and the
verdicts are here. A section whose measurement is not in RESULTS is left out;
a measurement script this file does not know gets a plain table of its rows.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIZE_TARGET = 900000  # make static, manifests included (README)

# The known measurements, in report order, with their section numbers.
SECTIONS = ["size", "startup", "idle", "rss", "init-steps", "probe-cpu",
            "log-throughput", "control", "signals", "orphans", "idle-cost",
            "crash-restart", "logs"]


def section_number(name):
    """The section number of a known measurement: its place in SECTIONS."""
    return SECTIONS.index(name) + 1


def awk_num(x):
    """x as awk prints a number with %s (CONVFMT %.6g; integers whole)."""
    if x == int(x) and abs(x) < 1e16:
        return str(int(x))
    return "%.6g" % x


def calc(x):
    """The bench's `calc`: a float rounded as awk's %s would print it."""
    return float(awk_num(x))


def le(a, b):
    return float(a) <= float(b)


def verdict(v, t):
    if v in (None, "", "-"):
        return "n/a"
    return "**met**" if le(v, t) else "**MISSED**"


class Rows:
    def __init__(self, path):
        self.v = {}
        self.unit = {}
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line:
                    continue
                parts = line.split("\t")
                self.v[parts[0]] = parts[1] if len(parts) > 1 else ""
                if len(parts) > 2:
                    self.unit[parts[0]] = parts[2]

    def get(self, m, default=None):
        return self.v.get(m, default)

    def has(self, prefix):
        return any(k.startswith(prefix + ".") for k in self.v)

    def keys(self, prefix):
        return [k for k in self.v if k.startswith(prefix + ".")]

    def problems(self, name):
        return [self.v[k] for k in self.keys(name + ".problem")]


class Report:
    def __init__(self, rows):
        self.rows = rows
        self.body = []
        self.summary = []
        self.issues = []
        self.i11 = []

    def r(self, *lines):
        self.body.extend(lines)

    def sum(self, *cells):
        self.summary.append("| %s | %s | %s | %s | %s |" % cells)

    def issue(self, text):
        self.issues.append("- " + text)


def s_size(rep, R):
    rep.r("## 1. Binary size", "", "| binary | bytes | static |", "|---|---:|---|")
    for k in ("podinit", "tini", "catatonit", "dumb-init"):
        if R.get("size.%s.bytes" % k) is None:
            continue
        name = "podinit (`make static`)" if k == "podinit" else R.get("size.%s.file" % k, k)
        rep.r("| %s | %s | %s |" % (name, R.get("size.%s.bytes" % k), R.get("size.%s.static" % k, "?")))
    rep.r("")
    p = R.get("size.podinit.bytes")
    if p is None:
        return
    rep.sum("Static binary size", "%s bytes" % p,
            "%s %s, catatonit %s, dumb-init %s" % (R.get("size.tini.file", "tini"), R.get("size.tini.bytes", "?"),
                                                  R.get("size.catatonit.bytes", "?"), R.get("size.dumb-init.bytes", "?")),
            "≤ %d bytes" % SIZE_TARGET, verdict(p, SIZE_TARGET))
    if not le(p, SIZE_TARGET):
        rep.issue("static binary is %s bytes, over the %d-byte target (%s over)."
                  % (p, SIZE_TARGET, awk_num(int(p) - SIZE_TARGET)))


def s_startup(rep, R):
    g = lambda m: R.get("startup." + m, "?")
    hfn = R.get("startup.hyperfine_flags", "")
    rep.r("## 2. Start-up and exit: `INIT -- /bin/true`", "",
          "hyperfine%s: 300 runs per command in 3 alternating rounds of 100 (10 warm-up runs each), run directly" % (" " + hfn if hfn else ""),
          "(not PID 1: podinit registers as a subreaper; tini warns that it is not PID 1); then 100 runs (2 rounds of 50) as",
          "PID 1 via `unshare --pid --fork --mount-proc`, which adds the same namespace and /proc mount cost to every row.",
          "",
          "| command | mean ms | ± σ ms | median ms | min ms | as PID 1: mean ms | ± σ ms | median ms | min ms |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    names = [("podinit", "podinit -- /bin/true"), ("tini", "tini -- /bin/true"), ("catatonit", "catatonit -- /bin/true"),
             ("dumb-init", "dumb-init /bin/true"), ("none", "/bin/true (no init)")]
    for k, name in names:
        d = "direct." + k
        p = "pid1." + k
        rep.r("| `%s` | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, g(d + ".mean"), g(d + ".sd"), g(d + ".median"), g(d + ".min"),
            g(p + ".mean"), g(p + ".sd"), g(p + ".median"), g(p + ".min")))
    rep.r("")
    if R.get("startup.cpu.podinit") is not None:
        rep.r("CPU time of the init process itself, without its child (`perf stat --no-inherit -e task-clock`, mean of 50 runs, not",
              "PID 1): podinit %s ms, tini %s ms, catatonit %s ms, dumb-init %s ms."
              % (g("cpu.podinit"), g("cpu.tini"), g("cpu.catatonit"), g("cpu.dumb-init")), "")
    rep.r("Target: podinit no slower than catatonit: met when its median is at most 5 % above catatonit's (the median, as",
          "other load on the machine inflates means and σ).", "",
          "System calls of one run, not PID 1 (`strace -f -c`, init and child together):", "",
          "| command | syscalls | most frequent |", "|---|---:|---|")
    for k, name in names[:4]:
        if R.get("startup.syscalls." + k) is not None:
            rep.r("| `%s` | %s | %s |" % (name, g("syscalls." + k), g("syscalls_top." + k)))
    rep.r("")

    def true_verdict(p, c):
        if le(p, calc(float(c) * 1.05)):
            return "**met**"
        return "**MISSED** (×%.2f)" % calc(float(p) / float(c))

    for d, what, issue in (("direct", "`-- /bin/true` median, not PID 1 (subreaper)", "podinit -- /bin/true (not PID 1)"),
                           ("pid1", "`-- /bin/true` median as PID 1 (incl. unshare)", "podinit -- /bin/true as PID 1")):
        p, c = R.get("startup.%s.podinit.median" % d), R.get("startup.%s.catatonit.median" % d)
        if p is None or c is None:
            continue
        v = true_verdict(p, c)
        rep.sum(what, "%s ms" % p, "catatonit %s, tini %s, dumb-init %s ms"
                % (c, g(d + ".tini.median"), g(d + ".dumb-init.median")), "≤ catatonit", v)
        if "MISSED" in v:
            rep.issue("%s: median %s ms vs catatonit %s ms." % (issue, p, c))


IDLE_ORDER = ["podinit-init", "podinit-pause", "podinit-pod20", "tini", "catatonit", "dumb-init"]


def s_idle(rep, R):
    w = R.get("idle.window", "?")
    rep.r("## 3. Idle wakeups", "",
          "Each init runs as PID 1 of its own PID namespace (`unshare --pid --fork --mount-proc`) with `sleep 1000` as its child",
          "(`podinit pause`: no child; podinit-pod20: `podinit run` with 10 init steps done and 10 apps `sleep 1000`, no",
          "probes). Context switches (voluntary + nonvoluntary, /proc/PID/status) over %s s of idling," % w,
          "then `strace -f -c -p PID` for 5 s. Attaching strace interrupts the blocked system call, so a few calls at attach and",
          "detach are an artefact of strace itself: catatonit (which never wakes) shows the baseline.", "",
          "| init | ctxt switches in %s s | per second | strace: syscalls in 5 s | which |" % w,
          "|---|---:|---:|---:|---|")
    d = {}
    sc = {}
    for k in IDLE_ORDER:
        c = R.get("idle.%s.ctxt" % k)
        if c is None:
            rep.r("| %s | failed to start | | | |" % k)
            continue
        d[k] = c
        sc[k] = R.get("idle.%s.strace_calls" % k, "0")
        rep.r("| %s | %s | %.1f | %s | %s |" % (k, c, calc(int(c) / float(w)), sc[k],
                                              R.get("idle.%s.strace_which" % k) or "none"))
    rep.r("")
    for k in ("podinit-init", "podinit-pause", "podinit-pod20"):
        if d.get(k) != "0":
            rep.issue("%s: %s context switches in %s s idle (expected 0); reproduce: unshare --pid --fork --mount-proc podinit ..., read /proc/PID/status twice."
                      % (k, d.get(k, "?"), w))
    if "podinit-init" in sc and "catatonit" in sc and int(sc["podinit-init"]) > int(sc["catatonit"]) + 2:
        rep.issue("strace shows %s syscalls in 5 s for idle podinit (catatonit: %s): %s"
                  % (sc["podinit-init"], sc["catatonit"], R.get("idle.podinit-init.strace_which", "")))
    ok = all(d.get(k) == "0" for k in ("podinit-init", "podinit-pause", "podinit-pod20"))
    rep.sum("Idle wakeups (ctxt switches in %s s)" % w,
            "init %s, pause %s, 20-entry pod %s" % (d.get("podinit-init", "?"), d.get("podinit-pause", "?"), d.get("podinit-pod20", "?")),
            "tini %s, catatonit %s, dumb-init %s" % (d.get("tini", "?"), d.get("catatonit", "?"), d.get("dumb-init", "?")),
            "0", "**met**" if ok else "**MISSED**")


def s_rss(rep, R):
    g = lambda k, f: R.get("rss.%s.%s" % (k, f)) or "?"
    rep.r("## 4. Peak RSS while supervising", "",
          "VmHWM and VmRSS of the PID-1 process (/proc/PID/status) after an idle window as in section 3 (the same inits, started",
          "afresh); the 20-entry pod is",
          "10 init steps `true` and 10 apps `sleep 1000` (`podinit run`, no probes). VmRSS splits into RssAnon (the",
          "process's own memory: heap, stack, data) and RssFile (pages of the executable itself, shared with the page cache;",
          "it grows with the binary's size, as the kernel maps already-cached neighbouring pages on each fault).", "",
          "| process | VmHWM kB | VmRSS kB | RssAnon kB | RssFile kB | target |",
          "|---|---:|---:|---:|---:|---|")
    for k in ("podinit-init", "podinit-pause", "podinit-pod20", "tini", "catatonit", "dumb-init"):
        t = {"podinit-init": "≤ 500 kB", "podinit-pause": "≤ 500 kB", "podinit-pod20": "≤ 600 kB"}.get(k, "-")
        name = "podinit run (20 entries)" if k == "podinit-pod20" else k
        rep.r("| %s | %s | %s | %s | %s | %s |" % (name, g(k, "hwm"), g(k, "rss"), g(k, "anon"), g(k, "file"), t))
    rep.r("")
    n = 1
    if R.get("rss.smaps.1.mapping") is not None:
        rep.r("Where podinit-init's resident kB are (/proc/PID/smaps, summed per mapping):", "",
              "| mapping | size kB | Rss kB |", "|---|---:|---:|")
        while R.get("rss.smaps.%d.mapping" % n) is not None:
            rep.r("| %s | %s | %s |" % tuple(R.get("rss.smaps.%d.%s" % (n, f)) for f in ("mapping", "size", "rss")))
            n += 1
        rep.r("")
    if R.get("rss.touched.1.mode") is not None:
        rep.r("How much of each segment of the binary each mode really uses: every instruction fetch and data access of",
              "`podinit -- sleep 0.3` (init) and of the 20-entry pod from its start until SIGTERM has stopped it (pod; valgrind",
              "lackey), by 4 kB page, and the 64 kB-aligned windows those pages fall in. The kernel",
              "maps a file page together with its cached neighbours (fault-around, and the page cache's large folios), so a segment",
              "is resident wherever one of its windows is touched: RssFile follows the windows, not the pages.", "",
              "| mode | segment | size kB | touched kB | 64 kB windows touched |", "|---|---|---:|---:|---|")
        n = 1
        while R.get("rss.touched.%d.mode" % n) is not None:
            rep.r("| %s | %s | %s | %s | %s |" % tuple(R.get("rss.touched.%d.%s" % (n, f))
                                                      for f in ("mode", "segment", "size", "touched", "windows")))
            n += 1
        rep.r("")
    h = lambda k: R.get("rss.%s.hwm" % k) or None
    ok = h("podinit-init") and h("podinit-pause") and le(h("podinit-init"), 500) and le(h("podinit-pause"), 500)
    rep.sum("Peak RSS, init / pause", "%s / %s kB" % (g("podinit-init", "hwm"), g("podinit-pause", "hwm")),
            "tini %s, catatonit %s, dumb-init %s kB" % (g("tini", "hwm"), g("catatonit", "hwm"), g("dumb-init", "hwm")),
            "≤ 500 kB", "**met**" if ok else "**MISSED**")
    rep.sum("Peak RSS, 20-entry pod", "%s kB" % g("podinit-pod20", "hwm"), "-", "≤ 600 kB", verdict(h("podinit-pod20"), 600))
    for k in ("podinit-init", "podinit-pause"):
        if h(k) and not le(h(k), 500):
            rep.issue("VmHWM of %s is %s kB (target ≤ 500 kB); RssAnon %s kB, RssFile (the binary's pages) %s kB."
                      % (k, h(k), g(k, "anon"), g(k, "file")))
    if h("podinit-pod20") and not le(h("podinit-pod20"), 600):
        rep.issue("VmHWM of the 20-entry pod is %s kB (target ≤ 600 kB); RssAnon %s kB, RssFile %s kB."
                  % (h("podinit-pod20"), g("podinit-pod20", "anon"), g("podinit-pod20", "file")))


def s_steps(rep, R):
    g = lambda m: R.get("init-steps." + m)
    rep.r("## 5. 100 trivial init steps", "",
          "A pod of 100 init steps `command = [\"true\"]`, `once = false`, then one app `true`, `restart_policy = \"Never\"`:",
          "wall time of `podinit run -c FILE` (not PID 1; marker_dir and state_dir in a temp dir; default log level, stderr",
          "to /dev/null), against `sh -c 'for i in $(seq 100); do /bin/true; done'`. hyperfine, 2 alternating rounds of",
          "1 warm-up + 8 runs. Verdict and overheads on the median.", "",
          "| command | mean ms | ± σ ms | median ms | min ms |", "|---|---:|---:|---:|---:|")
    if g("podinit.median") is None:
        rep.r("| podinit run | failed | | | |")
        rep.sum("100 init steps + 1 app, wall time", "failed", "-", "< 100 ms", "n/a")
        rep.r("")
        return
    for k, name in (("podinit", "podinit run (100 steps + 1 app)"), ("sh", "sh: 100 × /bin/true"),
                    ("nostate", "podinit run, no status file (state_dir not creatable)")):
        rep.r("| %s | %s | %s | %s | %s |" % (name, g(k + ".mean"), g(k + ".sd"), g(k + ".median"), g(k + ".min")))
    s, sh, ns = float(g("podinit.median")), float(g("sh.median")), float(g("nostate.median"))
    over = "%.3f" % calc((s - sh) / 101)
    over_ns = "%.3f" % calc((ns - sh) / 101)
    rep.r("", "podinit's overhead over sh: %s ms per process (101 processes); %s ms without the status file (so" % (over, over_ns),
          "the status.json rewrites cost %.3f ms per process). The sh loop is the floor of this" % calc((s - ns) / 101),
          "measure: the < 100 ms target needs a fork+exec+exit of `true` well under 1 ms on the machine.")
    if g("cpu.podinit") is not None:
        c1, c2 = g("cpu.podinit"), g("cpu.nostate")
        rep.r("", "CPU time of podinit itself, without its children (`perf stat --no-inherit -e task-clock`, mean of 5 runs): %s ms" % c1,
              "(%.3f ms per process); without the status file %s ms (%.3f ms per process)."
              % (calc(float(c1) / 101), c2, calc(float(c2) / 101)))
    rep.sum("100 init steps + 1 app, median wall time", "%s ms" % g("podinit.median"),
            "sh loop %s ms (%s ms/step overhead; %s without status file)" % (g("sh.median"), over, over_ns),
            "< 100 ms", verdict(g("podinit.median"), 100))
    if not le(s, 100):
        rep.issue("100 init steps took %s ms (median; target < 100 ms; the same 100 processes from sh: %s ms; podinit without a status file: %s ms)."
                  % (g("podinit.median"), g("sh.median"), g("nostate.median")))
    rep.r("")


def s_probe(rep, R):
    g = lambda m: R.get("probe-cpu." + m)
    rep.r("## 6. CPU with 10 http readiness probes", "",
          "10 apps, each `busybox httpd -f` on its own 127.0.0.1 port with `readiness_probe = { http = \"http://127.0.0.1:PORT/\", period = \"1s\" }`",
          "(10 HTTP GETs per second), podinit as PID 1. From the moment the pod is Ready (+2 s), podinit's own CPU",
          "time (utime+stime of /proc/PID/stat; also /proc/PID/schedstat in ns, finer than the %s Hz ticks) and context switches."
          % (g("hz") or "100"), "")
    if g("cpu_pct") is None:
        rep.r("Not measured (the pod did not become Ready).")
        rep.sum("CPU, 10 http probes / s", "failed", "-", "< 0.5 %", "n/a")
        rep.r("")
        return
    rep.r("| window | CPU (utime+stime) | % of one core | % (schedstat) | ctxt switches / s | VmHWM kB | pod after the window |",
          "|---:|---:|---:|---:|---:|---:|---|",
          "| %s s | %s ticks = %s s | %s | %s | %s | %s | %s |" % (g("window"), g("ticks"), g("cpu"), g("cpu_pct"),
                                                            g("cpu_pct_ns"), g("ctxt_per_s"), g("hwm") or "?", g("after")))
    rep.sum("CPU, 10 http probes / s", "%s %% of a core, %s wakeups/s" % (g("cpu_pct"), g("ctxt_per_s")), "-", "< 0.5 %",
            verdict(g("cpu_pct"), 0.5))
    if not le(g("cpu_pct"), 0.5):
        rep.issue("podinit used %s %% of a core with 10 http probes per second (target < 0.5 %%)." % g("cpu_pct"))
    if g("after") != "Running ready 0":
        rep.issue("after the probe window the pod was: %s (expected: Running ready 0 restarts)" % g("after"))
    rep.r("")


GEN = "yes 'some log line of moderate length' | head -c 200000000"


def s_log(rep, R):
    g = lambda m: R.get("log-throughput." + m)
    rep.r("## 7. log_prefix throughput", "",
          "One app: `sh -c \"%s\"` (200 MB, 33-byte lines); podinit's stdout is /dev/null. hyperfine, 1 warm-up + 3 runs." % GEN, "")
    if g("prefix.mean") is not None:
        rep.r("| run | mean s | ± σ s | MB/s |", "|---|---:|---:|---:|")
        mbs = {}
        for k, name in (("prefix", "podinit, log_prefix = true"),
                        ("noprefix", "podinit, log_prefix = false (inherited stdout)"),
                        ("none", "no podinit, straight to /dev/null")):
            mean, sd = float(g(k + ".mean")), float(g(k + ".sd"))
            mbs[k] = "%.0f" % calc(200 / calc(mean / 1000))
            rep.r("| %s | %.3f | %.3f | %s |" % (name, calc(mean / 1000), calc(sd / 1000), mbs[k]))
        rep.r("")
        rep.sum("log_prefix throughput", "%s MB/s" % mbs["prefix"], "straight to /dev/null %s MB/s" % mbs["none"], "-", "-")
    rep.r("Correctness check (one run through a pipe): %s lines out (expected %s), %s without the `[app] ` prefix."
          % (g("lines"), g("lines_expected"), g("unprefixed")), "")
    if g("cpu") is not None:
        rep.r("CPU time of podinit itself during that run (`perf stat --no-inherit`): %s ms for 200 MB (%.2f ms per MB)."
              % (g("cpu"), calc(float(g("cpu")) / 200)), "")
    rep.r("System calls of podinit itself for 20 MB (606,061 lines) with log_prefix (`strace -c`, no -f): %s write, %s read."
          % (g("strace_write") or "?", g("strace_read") or "?"), "")
    if g("lines") != g("lines_expected") or g("unprefixed") != "0":
        rep.issue("log_prefix: %s lines out (expected %s), %s without the prefix; reproduce: podinit run -c pod.toml | wc -l with the app `%s` and log_prefix = true."
                  % (g("lines"), g("lines_expected"), g("unprefixed"), GEN))


def s_control(rep, R):
    g = lambda m: R.get("control." + m)
    rep.r("## 8. Control-socket latency", "")
    if g("restart.median") is None:
        why = "; ".join(p.replace("control socket not measurable: ", "") for p in R.problems("control"))
        rep.r("not available: %s" % (why or "podinit could not be started"))
        rep.sum("`podinit restart NAME` latency", "not available", "-", "< 5 ms + app start", "n/a")
        rep.r("")
        return
    rep.r("An app `sleep 1000` (exits at once on SIGTERM), podinit as PID 1; `podinit restart -c FILE a` replies once the new",
          "process runs; `podinit status -c FILE` asks the socket. hyperfine, 3 warm-up runs + 30; the client's own start and",
          "the app's start for reference.", "",
          "| command | mean ms | ± σ ms | median ms | min ms | max ms |", "|---|---:|---:|---:|---:|---:|")
    for k, name in (("restart", "podinit restart a"), ("status", "podinit status (socket)"),
                    ("version", "podinit -V (process start only)"), ("sleep0", "sleep 0 (the app's own start)")):
        rep.r("| `%s` | %s | %s | %s | %s | %s |" % (name, g(k + ".mean"), g(k + ".sd"), g(k + ".median"), g(k + ".min"), g(k + ".max")))
    rep.r("", "Verdict on the medians: restart < 5 ms + the median start of `sleep 0`.")
    rst, sts, app0 = g("restart.median"), g("status.median"), g("sleep0.median")
    rep.r("", "`podinit status` after the %s restarts (VmHWM of podinit then: %s kB):" % (g("restarts"), g("hwm") or "?"), "", "```")
    n = 1
    while g("status_out.%d" % n) is not None:
        rep.r(g("status_out.%d" % n))
        n += 1
    rep.r("```")
    target = calc(5 + float(app0))
    rep.sum("`podinit restart NAME` median latency", "%s ms" % rst, "app start (`sleep 0`) %s ms" % app0,
            "< 5 ms + app start", verdict(rst, target))
    rep.sum("`podinit status` (socket), median", "%s ms" % sts, "-", "-", "-")
    if not le(rst, target):
        rep.issue("podinit restart took %s ms (median; target < 5 ms + the app's start, %s ms)." % (rst, app0))
    rep.r("")


SIG_INITS = ["podinit", "tini", "catatonit", "dumb-init", "dumb-init-sc"]


def s_signals(rep, R):
    g = lambda m, d="?": R.get("signals." + m) or d
    rep.r("## 9. Signal forwarding", "",
          "Each init as PID 1 of a fresh PID namespace with `sigping child` (scripts/bench/sigping.c) as its child: the host sends",
          "SIGUSR1 to the init, the child waits in sigwaitinfo(2) and reports the CLOCK_MONOTONIC time of arrival; latency = arrival -",
          "time of the kill(2). %s signals per run, %s µs apart after each arrival (the init is idle in its wait for" % (g("n"), g("gap_us")),
          "every one), %s runs per init and placement, inits in rotating order; each cell is the median over the runs of" % g("rounds"),
          "each run's p50 / p99 (µs). Placements: *free* (the scheduler's choice, everything in the bench's own cgroup),",
          "*cgroup* (the same, but the init and its child in a cpu cgroup of their own, as a container runtime puts a container),",
          "*same* (sender, init and child on CPU 0: no wake-up crosses CPUs, so this is the init's own path plus two context",
          "switches), *split* (init and child on CPU 1, sender on CPU 0: one cross-CPU wake-up per signal for every init). On",
          "this VM waking an idle vCPU costs tens of µs, so *free* and *cgroup* mostly measure where the scheduler put the three",
          "processes; p99 is mostly other load on the machine. In *free*, dumb-init's child runs in a session of its own",
          "(dumb-init calls setsid(2) for it; tini, catatonit and podinit keep it in their session, in a process group of",
          "its own that gets the terminal, as tini does), which with sched_autogroup (%s here) is a" % g("autogroup"),
          "scheduling group of its own. The control row *dumb-init-sc* is dumb-init with its own `--single-child` switch",
          "(no setsid): the same program, the child in the init's session. Autogroups apply only to tasks in the root cpu",
          "cgroup, so in *cgroup* (and in any container a runtime starts) the difference is gone.", "",
          "| init | free p50 / p99 | cgroup p50 / p99 | same CPU p50 / p99 | split p50 / p99 | min µs | free: p50 of each run | user-space instructions per signal (callgrind) | system calls of one loop iteration |",
          "|---|---:|---:|---:|---:|---:|---|---:|---|")
    for k in SIG_INITS:
        rep.r("| %s | %s / %s | %s / %s | %s / %s | %s / %s | %s | %s | %s | %s |" % (
            k, g("free.%s.p50" % k), g("free.%s.p99" % k), g("cgroup.%s.p50" % k, "n/a"), g("cgroup.%s.p99" % k, "n/a"),
            g("same.%s.p50" % k), g("same.%s.p99" % k), g("split.%s.p50" % k, "n/a"), g("split.%s.p99" % k, "n/a"),
            g("%s.min" % k), g("free.%s.runs_p50" % k, ""), g("%s.instructions" % k, "n/a"), g("%s.syscalls" % k)))
    rep.r("")


def ms(us):
    return "%.1f" % calc(float(us) / 1000) if us not in (None, "") else ""


def s_orphans(rep, R):
    g = lambda m, d="": R.get("orphans." + m) or d
    n, rounds = g("n", "?"), g("rounds", "?")
    rep.r("## 10. Reaping orphans", "",
          "Each init as PID 1 with `orphans` (scripts/bench/orphans.c) as its main child. Burst: a middle process forks %s" % n,
          "children that exit at once and stay zombies, then exits, so all %s are re-parented to the init together. One by" % n,
          "one: %s re-parented children exit 50 µs apart, so every exit is a wake-up of its own. The init's CPU time" % n,
          "(/proc/PID/schedstat) from the moment they are released until the last one is gone; median over %s bursts and" % rounds,
          "3 one-by-one runs. The kernel's share (wait4 and its exit bookkeeping) is the same for every init and dominates.", "",
          "| init | burst: CPU ms per %s (median) | each burst, µs | one by one: CPU ms per %s (median) | each run, µs | user-space instructions per orphan (callgrind, burst) |" % (n, n),
          "|---|---:|---|---:|---|---:|")
    for k in SIG_INITS[:4]:
        rep.r("| %s | %s | %s | %s | %s | %s |" % (k, ms(g(k + ".burst")), g(k + ".burst_runs"), ms(g(k + ".trickle")),
                                                  g(k + ".trickle_runs"), g(k + ".instructions", "n/a")))
    rep.r("")


def s_idle_cost(rep, R):
    w = R.get("idle-cost.window", "?")
    rep.r("## 11. Idle cost per configuration", "",
          "Each configuration of `scripts/idle-cost.sh` as its own pod (probes with period 1 s), all started together and left",
          "alone; podinit's own CPU time (schedstat) and context switches (wakeups: it sleeps in poll/read) over %s s," % w,
          "next to the probe attempts the configuration makes in that window. Target: ~0 beyond the attempts.", "",
          "| configuration | CPU (ms / %s s) | wakeups / %s s | probe attempts |" % (w, w), "|---|---:|---:|---:|")
    for k in R.keys("idle-cost"):
        if k.endswith(".cpu"):
            c = k[len("idle-cost."):-len(".cpu")]
            rep.r("| %s | %s | %s | %s |" % (c, R.get(k), R.get("idle-cost.%s.wakeups" % c), R.get("idle-cost.%s.attempts" % c)))
    rep.r("")


def s_crash(rep, R):
    g = lambda m, d="?": R.get("crash-restart." + m) or d
    rep.r("## %d. Crash → running again" % section_number("crash-restart"), "",
          "An app (`bash -c`, stamps its start and its exit with `$EPOCHREALTIME`) that crashes twice and then exits 0,",
          "`restart_policy = \"OnFailure\"`, in %s fresh pods; a gap is the app's exit → podinit reaps it → fork/exec →" % g("rounds"),
          "the new bash running. The first crash restarts at once (the kubelet's curve: `doBackOff` finds no back-off yet);",
          "the second waits `backoff.initial`, 100 ms here (10 s by default). Plain fork/exec: the same app run twice by a",
          "bash loop. Target: the first crash within 2x the plain spawn.", "",
          "| | median ms | min..max ms |", "|---|---:|---:|")
    for k, name in (("first", "first crash → running again"), ("second", "second crash → running again (back-off 100 ms)"),
                    ("plain", "plain fork/exec (bash loop)")):
        spread = "%s..%s" % (g(k + ".min", ""), g(k + ".max", "")) if g(k + ".min", "") else ""
        rep.r("| %s | %s | %s |" % (name, g(k + ".median"), spread))
    rep.r("")
    c1, cp = R.get("crash-restart.first.median"), R.get("crash-restart.plain.median")
    if c1 and cp:
        target = calc(2 * float(cp))
        rep.sum("first crash → running again, median", "%s ms" % c1, "plain fork/exec %s ms" % cp, "< 2x plain", verdict(c1, target))
        rep.sum("second crash → running again (back-off 100 ms), median", "%s ms" % g("second.median"), "-", "100 ms + ~first", "-")
        if not le(c1, target):
            rep.issue("the first crash took %s ms to run again (median; target < 2x a plain fork/exec, %s ms)." % (c1, cp))
    else:
        rep.sum("first crash → running again", "not available", "-", "< 2x plain", "n/a")


def s_logs(rep, R):
    g = lambda m, d="?": R.get("logs." + m) or d
    rep.r("## %d. Entries' output: buffers, logs -f, log_dir" % section_number("logs"), "",
          "VmHWM of the 20-entry pod that prints nothing (default settings: log_buffer 64Ki, pipes for every entry): **%s kB** (target: today's 588 kB)." % g("quiet_hwm"),
          "",
          "VmHWM once each of the 20 entries (10 init steps, 10 apps) printed 300 kB, filling its buffer:", "",
          "| log_buffer | VmHWM kB |", "|---|---:|")
    for b in ("0", "16Ki", "64Ki", "256Ki"):
        rep.r("| %s | %s |" % (b, g("fill.%s.hwm" % b)))
    rep.r("", "Throughput of 200 MB of 33-byte lines from one app through podinit to /dev/null (best of 3):", "",
          "| settings | MB/s |", "|---|---:|",
          "| default (log_buffer 64Ki, unchanged pass-through) | %s |" % g("throughput.default"),
          "| log_prefix = true | %s |" % g("throughput.prefix"),
          "| log_dir (CRI files, 10Mi × 5 rotation) | %s |" % g("throughput.dir"), "",
          "`podinit logs -f` latency, an entry's write (its clock before print) to the reader's read, 300 lines 10 ms apart: median **%s µs**, p99 %s µs, max %s µs."
          % (g("follow.p50"), g("follow.p99"), g("follow.max")), "",
          "podinit's context switches in 5 s, 20-entry pod with log_dir and %s `logs -f` readers attached: **%s** (target 0)."
          % (g("idle.readers"), g("idle.ctxt")), "")
    rep.sum("Peak RSS, 20-entry pod, no output", "%s kB" % g("quiet_hwm"), "-", "≤ 588 kB", "-")
    rep.sum("Peak RSS, 20 entries with full buffers (64Ki each)", "%s kB" % g("fill.64Ki.hwm"), "-", "-", "-")
    rep.sum("Output throughput (default / log_prefix / log_dir)", "%s / %s / %s MB/s" % (g("throughput.default"), g("throughput.prefix"), g("throughput.dir")), "-", "≥ 215 MB/s", "-")
    rep.sum("logs -f latency (median / p99)", "%s / %s µs" % (g("follow.p50"), g("follow.p99")), "-", "-", "-")
    rep.sum("Idle wakeups with 3 logs -f readers and log_dir (5 s)", g("idle.ctxt"), "-", "0", "-")


def s_generic(rep, R, name, number):
    """A measurement this renderer has no section for: its rows as they are."""
    rep.r("## %d. %s" % (number, name), "", "Rows of `scripts/bench/%s.sh` (see its header)." % name, "",
          "| metric | value | unit |", "|---|---:|---|")
    for k in R.keys(name):
        if not k.startswith(name + ".problem."):
            rep.r("| %s | %s | %s |" % (k[len(name) + 1:], R.get(k), R.unit.get(k, "")))
    rep.r("")


RENDER = {"size": s_size, "startup": s_startup, "idle": s_idle, "rss": s_rss, "init-steps": s_steps,
          "probe-cpu": s_probe, "log-throughput": s_log, "control": s_control, "signals": s_signals,
          "orphans": s_orphans, "idle-cost": s_idle_cost, "crash-restart": s_crash, "logs": s_logs}


def best_peer(vals, peers):
    """(name, best, worst) among PEERS with a value; ties go to the later peer, as the bench's bash did."""
    best = bv = wv = None
    for k in peers:
        v = vals.get(k)
        if v in (None, ""):
            continue
        if bv is None or le(v, bv):
            best, bv = k, v
        if wv is None or le(wv, v):
            wv = v
    return best, bv, wv


def issue11(rep, R):
    peers = ["tini", "catatonit", "dumb-init"]

    def row(metric, pv, vals, among=None):
        best, bv, wv = best_peer(vals, among or peers)
        ratio = spread = "-"
        if bv is not None and le(1e-7, bv):
            if pv not in (None, ""):
                ratio = "%.2f" % calc(float(pv) / float(bv))
            spread = "%.2f" % calc(float(wv) / float(bv))
        rep.i11.append("| %s | %s | %s %s | %s | %s |" % (metric, pv or "?", best or "?", bv or "?", ratio, spread))

    def of(fmt, inits=SIG_INITS, f=lambda x: x):
        return {k: f(R.get(fmt % k)) if R.get(fmt % k) not in (None, "") else None for k in inits}

    if R.has("signals"):
        for pl, what in (("free", "free placement"), ("free-session", "free, child in the init's session"),
                         ("cgroup", "in a cpu cgroup (as in a container)"), ("same", "all on one CPU"),
                         ("split", "sender on the other CPU")):
            for p in ("p50", "p99"):
                src = "free" if pl == "free-session" else pl
                vals = of("signals.%s.%%s.%s" % (src, p))
                among = ["tini", "catatonit", "dumb-init-sc"] if pl == "free-session" else None
                row("signal forward %s (µs), %s" % (p, what), vals["podinit"], vals, among)
        vals = of("signals.%s.min")
        row("signal forward, fastest single one (µs)", vals["podinit"], vals)
        vals = of("signals.%s.instructions")
        row("user-space instructions per forwarded signal", vals["podinit"], vals)
    if R.has("orphans"):
        n = R.get("orphans.n", "?")
        for f, what in (("burst", "in a burst"), ("trickle", "one by one")):
            vals = of("orphans.%%s.%s" % f, SIG_INITS[:4], ms)
            row("reap %s orphans %s, init CPU (ms)" % (n, what), vals["podinit"], vals)
        vals = of("orphans.%s.instructions", SIG_INITS[:4])
        row("user-space instructions per reaped orphan", vals["podinit"], vals)
    if R.has("rss"):
        vals = of("rss.%s.hwm", peers)
        row("init peak RSS, VmHWM (kB; target 500)", R.get("rss.podinit-init.hwm"), vals)
    if R.has("init-steps"):
        s, sh = R.get("init-steps.podinit.median"), R.get("init-steps.sh.median")
        rep.i11.append("| %s | %s | %s | %s | - |" % (
            "100 trivial init steps + app (ms; target < 100)", s or "?", "sh loop %s (no peer has init steps)" % (sh or "?"),
            "%.2f" % calc(float(s) / float(sh)) if s and sh else "-"))


def main():
    args = sys.argv[1:]
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    results = args[0] if args else os.environ.get("BENCH_RESULTS", os.path.join(ROOT, "docs", "benchmarks.tsv"))
    out = os.environ.get("BENCH_OUT", os.path.join(ROOT, "docs", "benchmarks.md"))
    R = Rows(results)
    rep = Report(R)
    names = []
    for k in R.v:
        n = k.split(".", 1)[0]
        if n != "meta" and n not in names:
            names.append(n)
    known = [n for n in SECTIONS if n in names]
    extra = [n for n in names if n not in SECTIONS]
    dates = {}
    builds = {}
    for n in known + extra:
        dates[n] = (R.get("meta.%s.date" % n), R.get("meta.%s.load_start" % n), R.get("meta.%s.load_end" % n))
        builds[n] = R.get("meta.%s.podinit" % n) or R.get("meta.podinit")
    # One run of the runner (or rows from before runs were recorded: one date) or several.
    separate = len({R.get("meta.%s.run" % n) or dates[n][0] for n in dates if dates[n][0]}) > 1
    several = len(set(builds.values())) > 1
    for n in known + extra:
        before = len(rep.body)
        if n in RENDER:
            RENDER[n](rep, R)
        else:
            s_generic(rep, R, n, len(SECTIONS) + 1 + extra.index(n))
        if separate and dates[n][0]:
            # Sections measured in different runs: each says when, of which
            # build (when they differ), and under what load.
            build = " (%s)" % builds[n] if several else ""
            rep.body.insert(before + 2, "Measured %s%s; load average %s at its start, %s at its end."
                            % (dates[n][0], build, dates[n][1], dates[n][2]))
            rep.body.insert(before + 3, "")
        for p in R.problems(n):
            rep.issue(p)
    issue11(rep, R)

    order = [dates[n] for n in known + extra if dates[n][0]]
    first = min(order) if order else (None, None, None)
    last = max(order) if order else (None, None, None)
    windows = []
    idle_w = R.get("idle.window") or R.get("idle-cost.window")
    if idle_w:
        windows.append("idle %s s" % idle_w)
    if R.get("probe-cpu.seconds"):
        windows.append("probe CPU %s s" % R.get("probe-cpu.seconds"))
    size = R.get("size.podinit.bytes") or R.get("meta.podinit_bytes", "?")
    lines = ["# podinit benchmarks", "",
             "Generated by `make bench` (scripts/bench.sh runs the measurements of scripts/bench/ into docs/benchmarks.tsv,",
             "scripts/bench/render.py writes this file); do not edit by hand: re-run (`scripts/bench.sh --only NAME` for one",
             "measurement) and render.", ""]
    if separate:
        lines.append("- Dates: %s to %s (the sections were measured in separate runs; each says when)" % (first[0], last[0]))
    else:
        lines.append("- Date: %s" % (first[0] or "?"))
    lines += ["- Kernel: %s" % R.get("meta.kernel", "?"),
              "- CPU: %s, %s online CPUs" % (R.get("meta.cpu") or "unknown", R.get("meta.nproc", "?")),
              "- podinit: %s, %s bytes" % (R.get("meta.podinit", "?"), size) if not several else
              "- podinit: several builds, each section says which; the latest: %s, %s bytes" % (R.get("meta.podinit", "?"), size)]
    if R.get("meta.peers"):
        lines.append("- Peers: %s" % R.get("meta.peers"))
    if windows:
        lines.append("- Windows: " + ", ".join(windows))
    lines += ["- Load average (1/5/15 min) at start: %s; at the end: %s. Timings are" % (first[1] or "?", last[2] or "?"),
              "  wall-clock: other load on the machine inflates means and σ, so the verdicts use medians where noted.", ""]
    if rep.i11:
        lines += ["## Issue 11: podinit against the best peer of this run", "",
                  "Best peer: the lowest of tini, catatonit and dumb-init in the same run; ratio = podinit / best peer (≤ 1: as good or",
                  "better). Peer spread: the worst peer / the best peer. tini, catatonit and dumb-init wait for a signal and kill(2)",
                  "the child with the same two or three system calls, so for the wall-clock rows the spread is how far this machine",
                  "moves programs that do the same work: a podinit ratio inside it is a tie, not a loss or a win. The instruction",
                  "counts (callgrind) and RSS do not move between runs. Sections 4, 5, 9 and 10 below have the details.", "",
                  "| metric | podinit | best peer | ratio | peer spread |", "|---|---:|---|---:|---:|"]
        lines += rep.i11 + [""]
    if rep.summary:
        lines += ["## Summary", "", "| measure | podinit | comparison | target | |", "|---|---|---|---|---|"]
        lines += rep.summary + [""]
    if rep.issues:
        lines += ["### Off target or unexpected", ""] + rep.issues + [""]
    text = "\n".join(lines + rep.body) + "\n"
    if check:
        try:
            with open(out, encoding="utf-8") as f:
                same = f.read() == text
        except OSError:
            same = False
        print("render: %s %s the rendering of %s" % (out, "is" if same else "is NOT", results), file=sys.stderr)
        sys.exit(0 if same else 1)
    sys.stdout.write(text)
    if out != "-":
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
        print("render: report written to %s" % out, file=sys.stderr)


if __name__ == "__main__":
    main()
