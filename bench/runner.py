#!/usr/bin/env python3
"""bench/runner.py - runs the benchmark program side by side for every
allocator and writes docs/bench/results.json (Google Benchmark's JSON:
its context with the machine description, every run, and our median
aggregates).  bench/run builds everything and calls this; report.py turns
the JSON into the tables, README and charts.

How the peers are kept apart: one process per allocator.  glibc's process
(no preload) measures glibc and every Reservoir allocator linked in; each
peer malloc (mimalloc, jemalloc, tcmalloc, libreservoir-malloc.so) gets a
process of its own through LD_PRELOAD and measures only the process malloc
(RSVB_ONLY_MALLOC).  Processes run interleaved A B C A B C ..., one
workload family at a time, so slow drift of this shared machine hits every
allocator alike; the figure of a benchmark is the median of its rounds,
with the spread (half the min-max range) next to it.

Owns: process orchestration, progress lines, aggregation.
Must never: compute anything a benchmark should (all timing is in C).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

EXE = []  # the Linux benchmark program, set by main
TIME = "/usr/bin/time"  # GNU time (Debian package "time")
FAMILIES = ["pair", "batch", "realloc", "frame", "entities", "request", "large", "prodcons"]


T0 = time.monotonic()


def log(msg):
    if msg.startswith("=="):
        msg = "%s [%.0f s]" % (msg, time.monotonic() - T0)
    print(msg, flush=True)


def metric(entry, platform):
    """The time a benchmark is judged by: CPU time of the benchmark thread
    for single-threaded Linux runs (robust against other processes on this
    shared machine; page faults are charged to it), wall time for threaded
    runs and under Wine (whose CPU clock ticks in 10 ms steps)."""
    return entry["real_time"] if metric_is_real(entry, platform) else entry["cpu_time"]


def metric_is_real(entry, platform):
    return not platform.startswith("linux") or "/real_time" in entry["name"] or entry.get("threads", 1) > 1


def split_name(name):
    parts = name.split("/")
    return parts[0], parts[1], parts[2]


class Proc:
    """One benchmark process configuration."""

    def __init__(self, alloc, cmd, env, platform):
        self.alloc, self.cmd, self.env, self.platform = alloc, cmd, env, platform

    def run(self, args, tag, out_json, cwd):
        env = dict(os.environ)
        env.update(self.env)
        cmd = self.cmd + args + ["--benchmark_out=" + out_json, "--benchmark_out_format=json",
                                 "--benchmark_color=false", "--benchmark_counters_tabular=false"]
        p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, errors="replace")
        for line in p.stdout:
            line = line.rstrip()
            if re.match(r"^(%s|rss)/" % "|".join(FAMILIES), line):
                log("  %-9s %s" % (tag, re.sub(r"\s+", " ", line)))
            elif "ERROR" in line or "error" in line.lower() and "Library was built" not in line:
                log("  %-9s %s" % (tag, line))
        rc = p.wait()
        path = os.path.join(cwd, out_json)
        if rc not in (0, 3) or not os.path.exists(path):  # 3: some benchmark failed, JSON says which
            log("  %-9s process %s exited %d" % (tag, self.alloc, rc))
            if os.path.exists(path):
                os.unlink(path)
            return None
        try:
            with open(path) as f:
                data = json.load(f)
        except ValueError:
            log("  %-9s process %s wrote no results" % (tag, self.alloc))
            data = None
        os.unlink(path)
        return data

    def measure(self, args, tag, tmp, rnd, results, contexts):
        """run(), then file every benchmark of it under this process and
        round; the first context seen per process is kept."""
        data = self.run(args, tag, "out.json", tmp)
        if not data:
            return
        contexts.setdefault(self.platform + ":" + self.alloc, data["context"])
        for b in data["benchmarks"]:
            b["round"] = rnd
            b["platform"] = self.platform
            b["process"] = self.alloc
            results.append(b)

    def list(self, regex, cwd):
        env = dict(os.environ)
        env.update(self.env)
        out = subprocess.run(self.cmd + ["--benchmark_list_tests", "--benchmark_filter=" + regex],
                             env=env, cwd=cwd, capture_output=True, text=True)
        return [l.strip() for l in out.stdout.splitlines() if l.strip()]


# Families whose one timed step is long or threaded get this many times the
# minimum time: a batch of 100,000 blocks is 1-25 ms, so at the plain minimum
# a round timed 1-20 batches; prodcons at 0.02 s mostly timed its threads
# starting (rounds of one allocator read 23-50 ns, +-247%).
FAMILY_MIN_TIME_FACTOR = {"batch": 5, "prodcons": 10}


def family_min_time(fam, min_time):
    return min_time * FAMILY_MIN_TIME_FACTOR.get(fam, 1)


def run_timed(procs, rounds, min_time, tmp, results, contexts, families):
    """Interleaved rounds, one family at a time."""
    for fam in families:
        mt = family_min_time(fam, min_time)
        for r in range(rounds):
            for pr in procs:
                pr.measure(["--benchmark_filter=^%s/" % fam, "--benchmark_min_time=%g" % mt],
                           "%s %d/%d" % (fam, r + 1, rounds), tmp, r, results, contexts)


DEBUG_FILTER = "^(pair/(16|64|256|4KiB)|frame/10k|entities/192|request/t1)/"
DEBUG_FEATURES = ["fill", "canary", "quarantine", "guard", "leaks", "all"]


def run_debug(lib, nochecks_lib, rounds, min_time, tmp, results, contexts):
    """Issue 7: each debug feature's cost, switched on through RSV_DEBUG in
    libreservoir-malloc.so, against the same library with debug off, and
    against a library built with rsv_checks=off (debug compiled out); and
    switched on through the options of the heap, arena and pool (one
    process, rows "rsv-heap+fill", ... and their debug-off baselines).
    Platform "linux-debug": these rows are compared only with each other."""
    base = {"RSVB_ONLY_MALLOC": "1", "LD_PRELOAD": lib}
    procs = [Proc("rsv-preload", [EXE[0]], dict(base, RSVB_MALLOC_NAME="rsv-preload"), "linux-debug")]
    for feat in DEBUG_FEATURES:
        name = "rsv-preload+" + feat
        procs.append(Proc(name, [EXE[0]], dict(base, RSVB_MALLOC_NAME=name, RSV_DEBUG=feat), "linux-debug"))
    procs.append(Proc("rsv-debug-rows", [EXE[0]], {"RSVB_ONLY_DEBUG": "1"}, "linux-debug"))
    if nochecks_lib:
        name = "rsv-preload-checks-off"
        procs.append(Proc(name, [EXE[0]], dict(base, RSVB_MALLOC_NAME=name, LD_PRELOAD=nochecks_lib),
                          "linux-debug"))
    for r in range(rounds):
        for pr in procs:
            pr.measure(["--benchmark_filter=" + DEBUG_FILTER, "--benchmark_min_time=%g" % min_time],
                       "debug %d/%d" % (r + 1, rounds), tmp, r, results, contexts)


def run_rss(procs, tmp, results, contexts, regex):
    """Each memory benchmark in a fresh process, so one workload's cached
    memory never flatters or hurts the next."""
    for pr in procs:
        for name in pr.list(regex, tmp):
            base = name.split("/iterations")[0]
            pr.measure(["--benchmark_filter=^%s/" % base.replace(".", "[.]")], "rss", tmp, 0,
                       results, contexts)


PY_WORKLOAD = r"""
import threading, random
def work(seed):
    rnd = random.Random(seed)
    for _ in range(ROUNDS):
        d = {}
        for i in range(10000):
            d["k%d" % i] = [i, str(i) * (1 + i % 7), (i, i * 2)]
        s = sorted(d.items(), key=lambda kv: len(kv[1][1]))
        l = [x[1][1] * 3 for x in s[:5000]]
        rnd.shuffle(l)
        del d, s, l
ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
"""


def make_inputs(tmp, quick):
    """A text file for sort and xz, the same bytes every run."""
    import random
    path = os.path.join(tmp, "lines.txt")
    rnd = random.Random(8)
    n = 40000 if quick else 100000
    words = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(3, 12)))
             for _ in range(5000)]
    with open(path, "w") as f:
        for i in range(n):
            f.write(" ".join(rnd.choice(words) for _ in range(rnd.randint(2, 9))) + "\n")
    small = os.path.join(tmp, "lines-small.txt")
    with open(path) as f, open(small, "w") as g:
        for i, line in zip(range(n // 8), f):
            g.write(line)
    return path, small


def run_programs(preloads, rounds, tmp, quick, programs_out, cpp_stress):
    """Real programs (issue 6) under each malloc via LD_PRELOAD: wall time
    and peak RSS (ru_maxrss of the child), interleaved rounds."""
    text, small = make_inputs(tmp, quick)
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    progs = [
        ("python-objects", [py, "-c", PY_WORKLOAD.replace("ROUNDS", "2" if quick else "4")]),
        ("sort", ["sort", "-S", "256M", "--parallel=1", text]),
        ("xz", ["xz", "-T1", "-3", "-c", small]),
        ("gzip", ["gzip", "-6", "-c", text]),
    ]
    if cpp_stress:  # tests/preload/cpp_stress.cpp: 8 threads, cross-thread frees
        progs.append(("cpp-stress-8-threads", [cpp_stress]))
    for name, cmd in progs:
        for r in range(rounds):
            for alloc, lib in preloads:
                # PYTHONMALLOC=malloc: every Python object from malloc, not
                # only those pymalloc does not take (the allocator is what we measure).
                env = dict(os.environ, LC_ALL="C", PYTHONMALLOC="malloc",
                           RSV_PRELOAD_SCALE="25" if quick else "50")
                if lib:
                    env["LD_PRELOAD"] = lib
                # GNU time measures the peak: ru_maxrss survives exec, so a
                # child forked from this Python would inherit Python's RSS.
                rss_file = os.path.join(tmp, "maxrss")
                t0 = time.monotonic()
                with open(os.devnull, "w") as devnull:
                    p = subprocess.run([TIME, "-f", "%M %U %S", "-o", rss_file] + cmd, env=env,
                                       stdout=devnull, stderr=subprocess.PIPE)
                wall = time.monotonic() - t0
                try:
                    with open(rss_file) as f:
                        maxrss, utime, stime = f.read().split()[-3:]
                except (OSError, ValueError):
                    maxrss, utime, stime = 0, 0, 0
                err = p.stderr.decode(errors="replace").strip()
                ok = p.returncode == 0
                log("  program %-15s %-14s round %d: %.3f s, peak RSS %s KiB%s" %
                    (name, alloc, r + 1, wall, maxrss, "" if ok else " FAILED: " + err[:200]))
                programs_out.append({"program": name, "allocator": alloc, "round": r,
                                     "wall_s": wall, "user_s": float(utime), "sys_s": float(stime),
                                     "peak_rss_kib": int(maxrss), "exit_status": p.returncode})


def aggregate(results):
    """Median and spread per (platform, benchmark) over its rounds."""
    groups = {}
    for b in results:
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        groups.setdefault((b["platform"], b["name"]), []).append(b)
    aggs = []
    for (platform, name), runs in sorted(groups.items()):
        vals = [metric(b, platform) for b in runs]
        med = statistics.median(vals)
        fam, var, alloc = split_name(name)
        agg = {"name": name + "_median", "run_name": name, "run_type": "aggregate",
               "aggregate_name": "median", "platform": platform, "family": fam,
               "variant": var, "allocator": alloc, "repetitions": len(vals),
               "time_unit": runs[0]["time_unit"], "time": med,
               "time_metric": "real_time" if metric_is_real(runs[0], platform) else "cpu_time",
               "min": min(vals), "max": max(vals),
               "spread": (max(vals) - min(vals)) / 2 / med if med else 0.0,
               "iterations": statistics.median(b["iterations"] for b in runs)}
        for c in ("peak_kib", "after_kib"):
            if c in runs[0]:
                agg[c] = statistics.median(b[c] for b in runs)
        aggs.append(agg)
    failed = sorted({(b["platform"], b["name"], b.get("error_message", ""))
                     for b in results if b.get("error_occurred")})
    return aggs, [{"platform": p, "name": n, "error": e} for p, n, e in failed]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", required=True, help="the Linux rsv-bench")
    ap.add_argument("--preload", action="append", default=[], metavar="NAME=LIB")
    ap.add_argument("--win-exe", default="", help="rsv-bench.exe, run under wine")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.1)
    ap.add_argument("--win-rounds", type=int, default=3)
    ap.add_argument("--win-min-time", type=float, default=0.05)
    ap.add_argument("--program-rounds", type=int, default=3)
    ap.add_argument("--debug-lib", default="", help="libreservoir-malloc.so for the debug-cost phase")
    ap.add_argument("--nochecks-lib", default="", help="the same built with rsv_checks=off")
    ap.add_argument("--cpp-stress", default="", help="the C++ stress program of tests/preload")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--win-families", default="", help="default: --families")
    ap.add_argument("--debug-rounds", type=int, default=0, help="default: --rounds")
    ap.add_argument("--rss-filter", default="^rss/", help="which memory benchmarks")
    ap.add_argument("--win-rss-filter", default="", help="memory benchmarks under Wine (none by default)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--command", default="bench/run")
    ap.add_argument("--source", default="", help="what was built (commit)")
    a = ap.parse_args()

    families = [f for f in a.families.split(",") if f]
    tmp = tempfile.mkdtemp(prefix="rsvb.")
    exe = os.path.abspath(a.exe)
    EXE.append(exe)
    procs = [Proc("glibc", [exe], {"RSVB_MALLOC_NAME": "glibc", "RSVB_NO_DEBUG": "1"}, "linux")]
    preloads = [("glibc", "")]
    for spec in a.preload:
        name, lib = spec.split("=", 1)
        procs.append(Proc(name, [exe], {"RSVB_MALLOC_NAME": name, "RSVB_ONLY_MALLOC": "1",
                                        "LD_PRELOAD": lib}, "linux"))
        preloads.append((name, lib))

    results, contexts, programs = [], {}, []
    t0 = time.monotonic()
    log("== Linux: %d processes (%s), %d interleaved rounds, min time %gs per benchmark" %
        (len(procs), ", ".join(p.alloc for p in procs), a.rounds, a.min_time))
    run_timed(procs, a.rounds, a.min_time, tmp, results, contexts, families)
    if a.debug_lib:
        log("== Linux: debug features' cost (RSV_DEBUG in libreservoir-malloc.so)")
        run_debug(os.path.abspath(a.debug_lib), os.path.abspath(a.nochecks_lib) if a.nochecks_lib else "",
                  a.debug_rounds or a.rounds, a.min_time, tmp, results, contexts)
    log("== Linux: memory (each in a fresh process)")
    run_rss(procs, tmp, results, contexts, a.rss_filter)
    if a.program_rounds > 0:
        log("== Linux: real programs under LD_PRELOAD")
        run_programs(preloads, a.program_rounds, tmp, a.quick, programs,
                     os.path.abspath(a.cpp_stress) if a.cpp_stress else "")
    win_note = ""
    if a.win_exe:
        log("== Windows build under Wine: %d rounds, min time %gs" % (a.win_rounds, a.win_min_time))
        wexe = os.path.abspath(a.win_exe)
        wp = Proc("crt-malloc", ["wine", wexe], {"WINEDEBUG": "-all", "RSVB_NO_DEBUG": "1"}, "windows")
        wfam = [f for f in (a.win_families or a.families).split(",") if f]
        run_timed([wp], a.win_rounds, a.win_min_time, tmp, results, contexts, wfam)
        if a.win_rss_filter:
            log("== Windows build under Wine: memory (each in a fresh process)")
            run_rss([wp], tmp, results, contexts, a.win_rss_filter)
        try:
            win_note = subprocess.run(["wine", "--version"], capture_output=True, text=True).stdout.strip()
        except OSError:
            win_note = "wine"
    aggs, failed = aggregate(results)

    ctx = dict(contexts.get("linux:glibc", {}))
    ctx["rsvb"] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": a.command,
        "source": a.source,
        "mode": "quick" if a.quick else "full",
        "rounds": a.rounds, "min_time_s": a.min_time, "family_min_time_factor": FAMILY_MIN_TIME_FACTOR,
        "win_rounds": a.win_rounds if a.win_exe else 0, "win_min_time_s": a.win_min_time,
        "program_rounds": a.program_rounds,
        "isolation": "one process per allocator via LD_PRELOAD, interleaved rounds per workload family",
        "peers": {p.alloc: p.env.get("LD_PRELOAD", "") for p in procs},
        "malloc_origin": {k: v.get("rsvb_malloc_origin", "") for k, v in contexts.items()},
        "uname": " ".join(os.uname()),
        "cpu_model": cpu_model(),
        "wine": win_note,
        "duration_s": round(time.monotonic() - t0, 1),
        "failed": failed,
    }
    if "windows:crt-malloc" in contexts:
        ctx["rsvb"]["windows_context"] = contexts["windows:crt-malloc"]
    out = {"context": ctx, "benchmarks": results + aggs, "programs": programs}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(out, f, indent=0)  # one field a line: diffable, half the size
    log("== %d runs, %d medians, %d failed, %.0f s; wrote %s" %
        (len(results), len(aggs), len(failed), time.monotonic() - t0, a.out))
    shutil.rmtree(tmp, ignore_errors=True)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
