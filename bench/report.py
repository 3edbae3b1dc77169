#!/usr/bin/env python3
"""bench/report.py - turns docs/bench/results.json (written by runner.py)
into the console table, docs/bench/README.md and one SVG chart per workload
(gnuplot).  It can be rerun on a saved results.json without measuring again:
    python3 bench/report.py docs/bench/results.json docs/bench

Every ratio divides two medians of the same run (Linux: by glibc malloc's
time on the same workload; Windows build: by HeapAlloc on the process heap).
Below 1 means faster than the baseline.

Owns: presentation.  Must never: measure, or mix figures of different runs.
"""
import json
import os
import shutil
import subprocess
import sys

FAMILY_TEXT = {
    "pair": ("alloc + free at once", "time per pair"),
    "batch": ("allocate 100,000 then free (LIFO / FIFO / random; 64 B or mixed 16 B-64 KiB; after one untimed batch)",
              "time per block (alloc + free)"),
    "realloc": ("realloc growth of a vector from 64 B to 64 MiB (x1.125 per step)", "time per growth"),
    "frame": ("game frame: 10,000 mixed objects, then free all (arena: reset)", "time per frame"),
    "entities": ("entity churn: 10,000 live 192 B entities, free one + alloc one", "time per step"),
    "request": ("server request: 200 mixed objects then free all (arena: reset); t1/t2 = threads",
                "time per request at the combined rate"),
    "large": ("large blocks: alloc, touch every page, free; 1-64 MiB log-uniform", "time per block"),
    "prodcons": ("producer/consumer: blocks allocated on one thread, freed on another",
                 "time per block"),
}
ORDER_LINUX = ["bump", "rsv-arena", "rsv-pool", "rsv-heap", "rsv_malloc", "rsv-preload",
               "RsvHeapAlloc", "RsvGlobalAlloc-moveable", "glibc", "mimalloc", "mimalloc-linked", "jemalloc", "tcmalloc"]
ORDER_WIN = ["bump", "rsv-arena", "rsv-pool", "rsv-heap", "rsv_malloc", "RsvHeapAlloc",
             "RsvGlobalAlloc-moveable", "HeapAlloc-process", "HeapAlloc-private",
             "HeapAlloc-private-noser", "GlobalAlloc-fixed", "GlobalAlloc-moveable", "LocalAlloc",
             "VirtualAlloc", "crt-malloc", "new-delete"]
BASE = {"linux": "glibc", "windows": "HeapAlloc-process"}
# 16 distinguishable bar colours (gnuplot's default 8 repeat).
COLORS = "\n".join('set linetype %d lc rgb "%s"' % (i + 1, c) for i, c in enumerate([
    "#222222", "#1b9e77", "#66a61e", "#d95f02", "#e7298a", "#7570b3", "#a6761d", "#e6ab02",
    "#e41a1c", "#377eb8", "#984ea3", "#ff7f00", "#4daf4a", "#a65628", "#f781bf", "#999999"]))
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return "%.3g %s" % (ns / scale, unit)
    return "%.3g ns" % ns


def fmt_ratio(r):
    if r < 0.1:
        return "%.2g×" % r
    return "%.2f×" % r if r < 10 else "%.0f×" % r


def spread(b):
    """' ±N%' (half the min-max range of the rounds), or '' for one round."""
    return " ±%.0f%%" % (100 * b["spread"]) if b.get("repetitions", 1) > 1 else ""


def order_key(order):
    def k(a):
        return (order.index(a) if a in order else len(order), a)
    return k


class Data:
    def __init__(self, path):
        with open(path) as f:
            self.doc = json.load(f)
        self.ctx = self.doc["context"]
        self.meta = self.ctx.get("rsvb", {})
        self.med = {}
        for b in self.doc["benchmarks"]:
            if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median":
                b["ns"] = b["time"] * UNIT_NS.get(b["time_unit"], 1.0)
                self.med[(b["platform"], b["run_name"])] = b

    def rows(self, platform, family):
        """Medians of one platform and family; debug-feature rows ("+")
        only in the debug table."""
        return [b for (p, _), b in self.med.items() if p == platform and b["family"] == family
                and (p == "linux-debug" or "+" not in b["allocator"])]

    def get(self, platform, family, variant, alloc):
        for b in self.rows(platform, family):
            if b["variant"] == variant and b["allocator"] == alloc:
                return b
        return None

    def ratio(self, platform, family, variant, alloc, base):
        a, b = self.get(platform, family, variant, alloc), self.get(platform, family, variant, base)
        if a and b and b["ns"] > 0:
            return a["ns"] / b["ns"]
        return None


def variants_of(rows):
    seen = []
    for b in sorted(rows, key=lambda b: b["run_name"]):
        if b["variant"] not in seen:
            seen.append(b["variant"])
    pref = ["16", "64", "256", "1KiB", "4KiB", "64KiB", "1MiB", "lifo-64", "fifo-64", "random-64",
            "lifo-mixed", "fifo-mixed", "random-mixed", "t1", "t2"]
    return sorted(seen, key=lambda v: (pref.index(v) if v in pref else 99, v))


def time_table(d, platform, family, order):
    """Markdown table: allocators x variants, 'median ±spread (ratio)'."""
    rows = [b for b in d.rows(platform, family) if not b["family"] == "rss"]
    if not rows:
        return None, None
    variants = variants_of(rows)
    allocs = sorted({b["allocator"] for b in rows}, key=order_key(order))
    base = BASE[platform]
    lines = ["| allocator | " + " | ".join(variants) + " |",
             "|---|" + "---|" * len(variants)]
    data = []
    for al in allocs:
        cells, dl = [], [al]
        for v in variants:
            b = d.get(platform, family, v, al)
            r = d.ratio(platform, family, v, al, base)
            if not b:
                cells.append("—")
                dl.append("-")
                continue
            cell = fmt_time(b["ns"]) + spread(b)
            if r is not None:
                cell += " (**%s**)" % fmt_ratio(r) if al != base else " (1×)"
                dl.append("%.4g" % r)
            else:
                dl.append("-")
            cells.append(cell)
        lines.append("| %s | %s |" % (al, " | ".join(cells)))
        data.append(dl)
    return "\n".join(lines), (variants, data)


def rss_table(d, platform, order):
    rows = d.rows(platform, "rss")
    if not rows:
        return None
    variants = variants_of(rows)
    allocs = sorted({b["allocator"] for b in rows}, key=order_key(order))
    lines = ["| allocator | " + " | ".join(variants) + " |", "|---|" + "---|" * len(variants)]
    for al in allocs:
        cells = []
        for v in variants:
            b = d.get(platform, "rss", v, al)
            if not b or "peak_kib" not in b:
                cells.append("—")
                continue
            cells.append("%.1f / %.1f" % (b["peak_kib"] / 1024, b["after_kib"] / 1024))
        lines.append("| %s | %s |" % (al, " | ".join(cells)))
    return "\n".join(lines)


DEBUG_FEATS = ("fill", "canary", "quarantine", "guard", "leaks", "all")


def debug_base(al):
    """The debug-off row a debug row is compared with."""
    if al == "rsv-preload-checks-off":
        return "rsv-preload"
    return al.split("+", 1)[0]


def debug_table(d):
    """Issue 7: rows = allocators with one debug feature on (and the
    baselines), columns = workloads, cells = median (ratio vs the same
    allocator with debug off, same run)."""
    rows = [b for (p, _), b in d.med.items() if p == "linux-debug"]
    if not rows:
        return None
    fams = list(FAMILY_TEXT)
    cols = sorted({(b["family"], b["variant"]) for b in rows},
                  key=lambda c: (fams.index(c[0]) if c[0] in fams else 99, variants_of(
                      [x for x in rows if x["family"] == c[0]]).index(c[1])))
    order = []
    for base in ("rsv-preload", "rsv-heap", "rsv-arena", "rsv-pool"):
        if base == "rsv-preload":
            order.append("rsv-preload-checks-off")
        order += [base] + [base + "+" + f for f in DEBUG_FEATS]
    allocs = sorted({b["allocator"] for b in rows}, key=order_key(order))
    failed = {f["name"].split("/real_time")[0] for f in d.meta.get("failed", [])
              if f["platform"] == "linux-debug"}
    lines = ["| allocator (debug) | " + " | ".join("%s/%s" % c for c in cols) + " |",
             "|---|" + "---|" * len(cols)]
    for al in allocs:
        cells = []
        for fam, var in cols:
            b = d.get("linux-debug", fam, var, al)
            r = d.ratio("linux-debug", fam, var, al, debug_base(al))
            if not b:
                cells.append("failed" if "%s/%s/%s" % (fam, var, al) in failed else "—")
                continue
            cells.append("%s%s (**%s**)" % (fmt_time(b["ns"]), spread(b),
                                            fmt_ratio(r) if r is not None else "?"))
        label = {"rsv-preload": "rsv-preload (debug off)",
                 "rsv-preload-checks-off": "rsv-preload, rsv_checks=off build"}.get(al, al)
        if al in ("rsv-heap", "rsv-arena", "rsv-pool"):
            label += " (debug off)"
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    return "\n".join(lines)


def program_table(d):
    progs = d.doc.get("programs", [])
    if not progs:
        return None
    import statistics
    names = []
    allocs = []
    for p in progs:
        if p["program"] not in names:
            names.append(p["program"])
        if p["allocator"] not in allocs:
            allocs.append(p["allocator"])
    lines = ["| program | " + " | ".join(allocs) + " |", "|---|" + "---|" * len(allocs)]
    for n in names:
        base = None
        cells = []
        for al in allocs:
            runs = [p for p in progs if p["program"] == n and p["allocator"] == al]
            ok = [p for p in runs if p["exit_status"] == 0]
            if not ok:
                cells.append("failed (exit %s)" % (runs[0]["exit_status"] if runs else "?"))
                continue
            wall = statistics.median(p["wall_s"] for p in ok)
            rss = max(p["peak_rss_kib"] for p in ok)
            if al == "glibc":
                base = (wall, rss)
            txt = "%.3g s, %.1f MiB" % (wall, rss / 1024)
            if base and al != "glibc":
                txt += " (**%s** time, %s RSS)" % (fmt_ratio(wall / base[0]), fmt_ratio(rss / base[1]))
            cells.append(txt)
        lines.append("| %s | %s |" % (n, " | ".join(cells)))
    return "\n".join(lines)


def headlines(d):
    """The ratios the issues ask for, where both rows exist."""
    out = []

    def add(text, vals):
        vals = [v for v in vals if v is not None]
        if vals:
            out.append("| %s | %s |" % (text, ", ".join(fmt_ratio(v) for v in vals)))

    L = "linux"
    for al in ("rsv-arena",):
        add("arena / raw bump, pair 16 B–1 KiB (target ≤ 1.2×)",
            [d.ratio(L, "pair", v, al, "bump") for v in ("16", "64", "256", "1KiB")])
        add("arena / raw bump, frame and request/t1",
            [d.ratio(L, "frame", "10k", al, "bump"), d.ratio(L, "request", "t1", al, "bump")])
    add("pool / raw bump, pair 16–256 B (target ≤ 2×)",
        [d.ratio(L, "pair", v, "rsv-pool", "bump") for v in ("16", "64", "256")])
    add("pool / glibc, entities", [d.ratio(L, "entities", "192", "rsv-pool", "glibc")])
    for al in ("rsv_malloc", "rsv-heap", "rsv-preload"):
        add("%s / mimalloc, pair 16–256 B (target ≤ 0.8×)" % al,
            [d.ratio(L, "pair", v, al, "mimalloc") for v in ("16", "64", "256")])
        add("%s / glibc, pair 16–256 B" % al,
            [d.ratio(L, "pair", v, al, "glibc") for v in ("16", "64", "256")])
        add("%s / mimalloc, batch lifo/fifo/random mixed" % al,
            [d.ratio(L, "batch", v, al, "mimalloc") for v in ("lifo-mixed", "fifo-mixed", "random-mixed")])
        add("%s / mimalloc, prodcons (target ≤ 1×)" % al, [d.ratio(L, "prodcons", "small", al, "mimalloc")])
        add("%s / glibc, large 1–64 MiB (target ≤ 1×)" % al, [d.ratio(L, "large", "1-64MiB", al, "glibc")])
    # Both linked into the program: the like-for-like comparison of the
    # rsv_malloc row (bench/alloc_mimalloc_linked.c).
    add("rsv_malloc / mimalloc-linked (both linked in), pair 16–256 B (target ≤ 0.8×)",
        [d.ratio(L, "pair", v, "rsv_malloc", "mimalloc-linked") for v in ("16", "64", "256")])
    add("rsv_malloc / mimalloc-linked, batch lifo/fifo/random mixed",
        [d.ratio(L, "batch", v, "rsv_malloc", "mimalloc-linked") for v in ("lifo-mixed", "fifo-mixed", "random-mixed")])
    add("rsv_malloc / mimalloc-linked, prodcons (target ≤ 1×)",
        [d.ratio(L, "prodcons", "small", "rsv_malloc", "mimalloc-linked")])
    # Across every timed workload: how often, and by how much at worst.
    for al, other in (("rsv-preload", "mimalloc"), ("rsv_malloc", "mimalloc-linked"), ("rsv_malloc", "mimalloc"),
                      ("rsv_malloc", "glibc")):
        rs = []
        for (p, _), b in d.med.items():
            if p == L and b["allocator"] == al and b["family"] != "rss":
                r = d.ratio(L, b["family"], b["variant"], al, other)
                if r is not None:
                    rs.append(r)
        if rs:
            out.append("| %s / %s over all %d timed workloads (< 1× = faster) | "
                       "faster on %d; median %s, worst %s |" % (
                           al, other, len(rs), sum(1 for r in rs if r < 1),
                           fmt_ratio(sorted(rs)[len(rs) // 2]), fmt_ratio(max(rs))))
    for al in ("rsv-preload", "rsv_malloc"):
        rs = []
        for (p, _), b in d.med.items():
            if p == L and b["family"] == "rss" and b["allocator"] == al:
                g = d.get(L, "rss", b["variant"], "glibc")
                if g and g.get("peak_kib", 0) > 0:
                    rs.append((b["peak_kib"] / g["peak_kib"], b["variant"], b["peak_kib"], g["peak_kib"]))
        if rs:
            out.append("| %s peak RSS / glibc's per memory workload (target ≤ 1.1×) | %s |" % (
                al, ", ".join("%s %s (%.1f / %.1f MiB)" % (v, fmt_ratio(r), a / 1024, g / 1024)
                              for r, v, a, g in sorted(rs, key=lambda x: x[1]))))
    D = "linux-debug"
    add("malloc face, debug compiled in but off / compiled out: pair 16–256 B, frame (target ≈ 1×)",
        [d.ratio(D, "pair", v, "rsv-preload", "rsv-preload-checks-off") for v in ("16", "64", "256")]
        + [d.ratio(D, "frame", "10k", "rsv-preload", "rsv-preload-checks-off")])
    for feat in ("fill", "canary", "quarantine", "guard", "all"):
        add("RSV_DEBUG=%s / off: pair 64 B, frame" % feat,
            [d.ratio(D, "pair", "64", "rsv-preload+" + feat, "rsv-preload"),
             d.ratio(D, "frame", "10k", "rsv-preload+" + feat, "rsv-preload")])
    for al in ("rsv-heap", "rsv-arena", "rsv-pool"):
        for feat in ("fill", "canary", "quarantine", "guard"):
            fam, var = ("entities", "192") if al == "rsv-pool" else ("frame", "10k")
            add("%s+%s / debug off: pair 64 B, %s" % (al, feat, fam),
                [d.ratio(D, "pair", "64", al + "+" + feat, al), d.ratio(D, fam, var, al + "+" + feat, al)])
    W = "windows"
    add("Wine: RsvHeapAlloc / HeapAlloc (private heap), pair 16–256 B (target ≤ 0.1×)",
        [d.ratio(W, "pair", v, "RsvHeapAlloc", "HeapAlloc-private") for v in ("16", "64", "256")])
    add("Wine: RsvGlobalAlloc / GlobalAlloc, moveable + lock, pair 16–256 B (target ≤ 0.1×)",
        [d.ratio(W, "pair", v, "RsvGlobalAlloc-moveable", "GlobalAlloc-moveable") for v in ("16", "64", "256")])
    add("Wine: arena / HeapAlloc (process heap), frame", [d.ratio(W, "frame", "10k", "rsv-arena", "HeapAlloc-process")])
    if not out:
        return None
    return "| comparison | ratios (median / median, same run) |\n|---|---|\n" + "\n".join(out)


def svg_chart(outdir, platform, family, variants, data, title):
    """Clustered bars of ratio vs the baseline, log scale, one SVG."""
    if not shutil.which("gnuplot") or not data:
        return None
    name = "%s-%s.svg" % (platform, family)
    dat = os.path.join(outdir, ".%s-%s.dat" % (platform, family))
    with open(dat, "w") as f:
        f.write("variant " + " ".join('"%s"' % row[0] for row in data) + "\n")
        for i, v in enumerate(variants):
            f.write('"%s" ' % v + " ".join(row[i + 1] for row in data) + "\n")
    ncols = len(data) + 1
    script = """
set terminal svg size 960,420 dynamic noenhanced font "sans,11" background rgb "white"
set output "%s"
%s
set title "%s"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 10
set grid ytics
set ylabel "time / %s (log; below 1 = faster)"
set key outside right top
set xtics nomirror
plot for [i=2:%d] "%s" using i:xtic(1) title columnheader(i)
""" % (os.path.join(outdir, name), COLORS, title.replace('"', "'"), BASE[platform], ncols, dat)
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    os.unlink(dat)
    if r.returncode != 0:
        sys.stderr.write("gnuplot failed for %s: %s\n" % (name, r.stderr[-400:]))
        return None
    return name


def console(d):
    for platform, order in (("linux", ORDER_LINUX), ("windows", ORDER_WIN)):
        fams = [f for f in FAMILY_TEXT if d.rows(platform, f)]
        if not fams:
            continue
        print("\n==== %s: median time (ratio vs %s) ====" % (
            "Linux" if platform == "linux" else "Windows build under Wine", BASE[platform]))
        for fam in fams:
            rows = d.rows(platform, fam)
            variants = variants_of(rows)
            allocs = sorted({b["allocator"] for b in rows}, key=order_key(order))
            w = max(len(a) for a in allocs) + 2
            print("\n%s — %s" % (fam, FAMILY_TEXT[fam][1]))
            print(" " * w + "".join("%22s" % v for v in variants))
            for al in allocs:
                cells = []
                for v in variants:
                    b = d.get(platform, fam, v, al)
                    r = d.ratio(platform, fam, v, al, BASE[platform])
                    cells.append("%22s" % ("-" if not b else "%s (%s)" % (
                        fmt_time(b["ns"]), fmt_ratio(r) if r is not None else "?")))
                print(al.ljust(w) + "".join(cells))


def readme(d, outdir, charts):
    m = d.meta
    ctx = d.ctx
    L = []
    L.append("# Reservoir benchmark report\n")
    L.append("Generated by `%s` on %s from the %s (%s run, %.0f s). Every figure below comes from that one run; "
             "ratios divide two medians of it. Below 1× means faster than the baseline "
             "(glibc malloc on Linux, `HeapAlloc` on the process heap in the Windows build).\n" %
             (m.get("command", "bench/run"), m.get("date", "?"), m.get("source", "sources"),
              m.get("mode", "?"), m.get("duration_s", 0)))
    L.append("## Machine\n")
    L.append("- CPU: %s, %s cores at %s MHz (as Google Benchmark saw it); caches: %s" % (
        m.get("cpu_model", "?"), ctx.get("num_cpus", "?"), ctx.get("mhz_per_cpu", "?"),
        ", ".join("L%d %s %d KiB" % (c["level"], c["type"], c["size"] // 1024) for c in ctx.get("caches", []))))
    L.append("- Kernel: %s" % m.get("uname", "?"))
    L.append("- Load average at start: %s (this machine is shared with other builds)" %
             ", ".join("%.2f" % x for x in ctx.get("load_avg", [])))
    L.append("- Google Benchmark %s (Debian libbenchmark-dev; the Windows build: the same Debian "
             "source package compiled with mingw-w64)" % ctx.get("library_version", "1.7.1"))
    if m.get("wine"):
        L.append("- Windows build: x86_64-w64-mingw32 (posix threads), run under %s" % m["wine"])
    by_origin = {}
    for k, v in sorted(m.get("malloc_origin", {}).items()):
        by_origin.setdefault(v, []).append(k.split(":", 1)[1])
    L.append("- malloc each process resolved (dladdr on `malloc`, proving the preload took): " + "; ".join(
        "`%s` ← %s" % (v, ", ".join(sorted(set(ks)))) for v, ks in sorted(by_origin.items())))
    L.append("")
    L.append("## Method\n")
    L.append("- Google Benchmark through a C shim (`bench/shim.cc`); every workload is C "
             "(`bench/workloads.h`), written once against one interface (`bench/alloc.h`) and "
             "compiled into each allocator's file, so inline fast paths are measured as users get them.")
    L.append("- Isolation: %s. glibc's process also runs the raw bump loop, every Reservoir "
             "allocator and `mimalloc-linked` (each statically linked, called by its own names); "
             "`rsv-preload` is `libreservoir-malloc.so` preloaded like the peers." % m.get("isolation", ""))
    fac = m.get("family_min_time_factor", {})
    longer = "".join("; %s %g s" % (f, m.get("min_time_s", 0) * x) for f, x in sorted(fac.items()))
    L.append("- %d interleaved rounds per workload family (minimum %g s per benchmark per round%s); "
             "the figure is the median of the rounds, `±` is half the min–max range. "
             "Single-threaded Linux runs are judged by the thread's CPU time (page faults included), "
             "threaded runs and every Wine run by wall time." % (m.get("rounds", 0), m.get("min_time_s", 0), longer))
    L.append("- Each workload writes the first word of every block (every page of large blocks), "
             "so memory handed out untouched still costs its page faults. Size mixes: "
             "`mixed` = 90% 16–256 B, 9% 257 B–4 KiB, 1% 4–64 KiB; frame/request/prodcons objects "
             "= 90% 16–256 B, 10% 257 B–4 KiB (fixed seeds, identical for every allocator).")
    L.append("- Allocators without `free` (bump, arena) reset at the end of each batch / frame / request "
             "instead (pair: every 1,000 pairs, 128 at 64 KiB, 8 at 1 MiB, so up to 4–8 MiB between "
             "resets); the pool only runs fixed-size workloads.")
    if d.get("linux", "pair", "64", "rsv-arena"):
        L.append("- Reading the arena rows: `rsv_arena_reset` keeps committed what the arena used "
                 "before the reset plus `retain` (default 1 MiB) and gives a spike back at the next "
                 "reset that does not reach it again, so a steady frame or request reuses touched "
                 "pages like the bump row's buffer; large blocks (1 MiB between resets of 8) still "
                 "commit their first cycle.")
    L.append("")
    L.append("## How to reproduce\n")
    L.append("```\nbench/run            # full run, about 10 minutes, rewrites docs/bench/\n"
             "bench/run --quick    # about a minute, same report with fewer rounds\n"
             "bench/run --help     # options (skip Wine, skip programs, output directory)\n```\n")
    L.append("It installs what is missing (apt-get, when root), builds an optimized tree in "
             "`build/bench-rel` (and `build/bench-win` with Google Benchmark for mingw built from "
             "Debian's source package into `bench/.cache/`), runs, and writes `results.json` "
             "(Google Benchmark JSON plus our medians), this README and the charts. "
             "`python3 bench/report.py docs/bench/results.json docs/bench` redraws the report from "
             "the JSON alone.\n")
    L.append("Thread scaling (1-16 threads, request and cross-thread frees) needs more cores than "
             "this machine has: `bench/scale` packages the same benchmark program to run on a "
             "many-core machine, and its report is [scaling.md](scaling.md).\n")
    h = headlines(d)
    if h:
        L.append("## Headline ratios\n")
        L.append(h + "\n")
    for platform, order, title in (("linux", ORDER_LINUX, "Linux"),
                                   ("windows", ORDER_WIN, "Windows build under Wine (the article's comparison)")):
        fams = [f for f in FAMILY_TEXT if d.rows(platform, f)]
        if not fams:
            continue
        L.append("## %s\n" % title)
        L.append("Cells: median time ±spread (**ratio vs %s**); no ± when the run had one round.\n"
                 % BASE[platform])
        for fam in fams:
            t, _ = time_table(d, platform, fam, order)
            L.append("### %s — %s; %s\n" % (fam, FAMILY_TEXT[fam][0], FAMILY_TEXT[fam][1]))
            if (platform, fam) in charts:
                L.append("![%s %s](%s)\n" % (platform, fam, charts[(platform, fam)]))
            L.append(t + "\n")
        r = rss_table(d, platform, order)
        if r:
            L.append("### Memory — peak resident MiB / resident MiB after freeing everything\n")
            L.append("Each cell: one fresh process running the workload twice; peak and final "
                     "resident size minus the resident size before the first run, taken once the "
                     "allocator instance exists and has served one block, so one-time set-up is "
                     "not counted for any row (%s). " % (
                         "Linux VmHWM/VmRSS" if platform == "linux" else
                         "working set and peak working set from GetProcessMemoryInfo, under Wine") +
                     "Arena, pool and heap rows hold their memory until destroyed: *after* is after "
                     "free/reset, before destroy.\n")
            L.append(r + "\n")
    t = debug_table(d)
    if t:
        L.append("## Debug features' cost (issue 7)\n")
        L.append("Two ways in: `libreservoir-malloc.so` preloaded with `RSV_DEBUG=<feature>` (one "
                 "process per setting), and the heap, arena and pool created with one "
                 "`rsv_debug_opts_t` flag (`rsv-heap+fill`, ...; one process). Interleaved rounds "
                 "like the rest; each ratio is against the same allocator with the debug layer "
                 "compiled in but switched off. `rsv-preload, rsv_checks=off build` is the library "
                 "built with `-Drsv_checks=off` (debug layer compiled out): a ratio near 1× there "
                 "means switched-off debugging costs nothing on the fast path. `all` = "
                 "fill, canary, quarantine, leaks (RSV_DEBUG's meaning).\n")
        L.append(t + "\n")
    p = program_table(d)
    if p:
        L.append("## Real programs under LD_PRELOAD\n")
        L.append("Wall time (median of %d rounds) and peak RSS (GNU time's maximum resident size, "
                 "largest of the rounds) of unmodified "
                 "programs with each malloc preloaded; ratios vs glibc.\n" % m.get("program_rounds", 0))
        L.append(p + "\n")
    if m.get("failed"):
        L.append("## Runs that failed\n")
        L.append("Expected ones: under Wine, `GlobalAlloc(GMEM_MOVEABLE)` refuses the 65,537th live "
                 "handle (the batch workload keeps 100,000); `VirtualAlloc` per block makes one Linux "
                 "mapping per block and is not run in the batch workload (vm.max_map_count).\n")
        for f in m["failed"]:
            L.append("- %s `%s`: %s" % (f["platform"], f["name"], f["error"]))
        L.append("")
    with open(os.path.join(outdir, "README.md"), "w") as f:
        f.write("\n".join(L))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: report.py results.json outdir")
    d = Data(sys.argv[1])
    outdir = sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    charts = {}
    for platform, order in (("linux", ORDER_LINUX), ("windows", ORDER_WIN)):
        for fam in FAMILY_TEXT:
            t, data = time_table(d, platform, fam, order)
            if t:
                name = svg_chart(outdir, platform, fam, data[0], data[1],
                                 "%s: %s" % ("Linux" if platform == "linux" else "Wine", FAMILY_TEXT[fam][0]))
                if name:
                    charts[(platform, fam)] = name
    console(d)
    readme(d, outdir, charts)
    print("\nwrote %s/README.md and %d charts" % (outdir, len(charts)))


if __name__ == "__main__":
    main()
