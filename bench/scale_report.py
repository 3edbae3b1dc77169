#!/usr/bin/env python3
"""bench/scale_report.py - turns the JSON files of `bench/scale measure`
into docs/bench/scaling.md: per allocator, the median over rounds of each
benchmark, the thread-scaling tables (request/tN, xthread/tN) and the
single-thread rows measured on the same many-core machine.

Usage: python3 bench/scale_report.py RESULTS_DIR OUT_DIR
(RESULTS_DIR/note.md, when present, is printed under the method.)

Owns: aggregation and the scaling page.  Must never: measure anything.
"""
import glob
import json
import os
import re
import statistics
import sys

ORDER = ["rsv_malloc", "rsv-preload", "rsv-heap", "glibc", "mimalloc", "jemalloc", "tcmalloc"]


def load(d):
    runs, context = {}, None
    for f in sorted(glob.glob(os.path.join(d, "scale-*.json"))):
        with open(f) as fh:
            j = json.load(fh)
        context = context or j.get("context", {})
        for b in j.get("benchmarks", []):
            if b.get("run_type") == "aggregate" or b.get("error_occurred"):
                continue
            m = re.match(r"([^/]+)/([^/]+)/([^/]+)", b["name"])
            if not m:
                continue
            wl, var, alloc = m.groups()
            t = b["real_time"] if ("/real_time" in b["name"] or b.get("threads", 1) > 1) else b["cpu_time"]
            unit = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
            runs.setdefault((wl, var, alloc), []).append(t * unit)
    med = {k: (statistics.median(v), len(v), (max(v) - min(v)) / 2 / statistics.median(v) if v else 0)
           for k, v in runs.items()}
    return med, context


def fmt(ns):
    if ns >= 1e6:
        return "%.3g ms" % (ns / 1e6)
    if ns >= 1e3:
        return "%.3g µs" % (ns / 1e3)
    return "%.3g ns" % ns


def allocs_of(med):
    seen = {a for (_, _, a) in med}
    return [a for a in ORDER if a in seen] + sorted(seen - set(ORDER))


def scaling_table(med, wl, what):
    threads = sorted({int(v[1:]) for (w, v, _) in med if w == wl})
    if not threads:
        return []
    lines = ["| allocator | " + " | ".join("%d thr" % t for t in threads) + " | speed-up %d→%d thr |" % (threads[0], threads[-1]),
             "|---" * (len(threads) + 2) + "|"]
    for a in allocs_of(med):
        cells, first, last = [], None, None
        for t in threads:
            k = (wl, "t%d" % t, a)
            if k not in med:
                cells.append("—")
                continue
            v, n, s = med[k]
            ref = med.get((wl, "t%d" % t, "mimalloc"))
            r = " (**%.2f×** mi)" % (v / ref[0]) if ref and a != "mimalloc" else ""
            cells.append("%s ±%.0f%%%s" % (fmt(v), 100 * s, r))
            first = v if first is None else first
            last = v
        if first is None:
            continue
        lines.append("| %s | %s | %.1f× |" % (a, " | ".join(cells), first / last if last else 0))
    return ["### %s" % what, ""] + lines + [""]


def single_table(med):
    keys = [("pair", "16"), ("pair", "64"), ("pair", "256"), ("batch", "lifo-mixed"),
            ("batch", "fifo-mixed"), ("batch", "random-mixed"), ("prodcons", "small")]
    keys = [k for k in keys if any((k[0], k[1], a) in med for a in ORDER)]
    lines = ["| allocator | " + " | ".join("%s %s" % k for k in keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for a in allocs_of(med):
        cells = []
        for w, v in keys:
            k = (w, v, a)
            if k not in med:
                cells.append("—")
                continue
            x, _, s = med[k]
            g, mi = med.get((w, v, "glibc")), med.get((w, v, "mimalloc"))
            rs = []
            if g and a != "glibc":
                rs.append("%.2f× gl" % (x / g[0]))
            if mi and a != "mimalloc":
                rs.append("**%.2f×** mi" % (x / mi[0]))
            cells.append("%s ±%.0f%% (%s)" % (fmt(x), 100 * s, ", ".join(rs)) if rs else "%s ±%.0f%%" % (fmt(x), 100 * s))
        lines.append("| %s | %s |" % (a, " | ".join(cells)))
    return lines


def main():
    src, out = sys.argv[1], sys.argv[2]
    med, ctx = load(src)
    if not med:
        sys.exit("no results in " + src)
    rounds = max(n for (_, n, _) in med.values())
    cpu = ""
    lscpu = os.path.join(src, "lscpu.txt")
    if os.path.exists(lscpu):
        for line in open(lscpu):
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    commit = open(os.path.join(src, "commit")).read().strip() if os.path.exists(os.path.join(src, "commit")) else "?"
    L = ["# Reservoir thread-scaling report", "",
         "Measured by `bench/scale` on a %s-core machine (%s; %s threads online as Google Benchmark saw it) "
         "from the commit %s: one process per allocator, %d interleaved rounds, each figure the median of the "
         "rounds, `±` half the min–max range. Threaded rows are wall time per unit at the combined rate of all "
         "threads (lower is better; perfect scaling divides the 1-thread time by N); single-thread rows are the "
         "thread's CPU time. Ratios divide two medians of this run (`mi` = mimalloc, `gl` = glibc)."
         % (ctx.get("num_cpus", "?"), cpu or "cpu unknown", ctx.get("num_cpus", "?"), commit, rounds), "",
         "How to reproduce: `bench/scale prepare` (here, after `bench/run` built `build/bench-rel`), copy `.scale/` to "
         "the many-core machine, `bench/scale measure .scale OUT` there (ROUNDS and THREADS override 3 rounds of "
         "1,2,4,8,16 threads), then `python3 bench/scale_report.py OUT docs/bench`.", "",
         "Workloads (bench/workloads.h): `request/tN` — N threads, each with its own allocator instance (for malloc: the "
         "one process heap), allocate 200 small-table objects and free them all; time per request. `xthread/tN` — N "
         "threads share one instance; each allocates 200 objects and hands them to the next thread, which frees them "
         "(blocks freed on another thread); time per block. Single-thread rows as in docs/bench/README.md.", ""]
    note = os.path.join(src, "note.md")
    if os.path.exists(note):
        L += [open(note).read().strip(), ""]
    L += scaling_table(med, "request", "request/tN — time per request (200 objects allocated and freed)")
    L += scaling_table(med, "xthread", "xthread/tN — time per block, blocks freed by another thread")
    L += ["### Single-thread and two-thread rows on the same machine", ""] + single_table(med) + [""]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "scaling.md"), "w") as fh:
        fh.write("\n".join(L))
    print("\n".join(L))


if __name__ == "__main__":
    main()
