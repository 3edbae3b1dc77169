#!/usr/bin/env python3
"""tests/count.py — turns one meson test log (meson-logs/testlog.json) into
counts of individual tests: a Criterion executable counts its Criterion
tests (from its "Synthesis" line), a TAP program its "ok"/"not ok" lines,
anything else counts as one.  A test whose process failed although its own
counts show no failure (a crash at exit, a sanitizer report) adds one
failure.  Prints "<passed> <failed>" on the last line and one line per
failing executable before it."""
import json
import re
import sys

SYNTH = re.compile(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)")
TAP = re.compile(r"^(not ok|ok)\b", re.M)
GOOD = {"OK", "EXPECTEDFAIL"}

passed = failed = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    t = json.loads(line)
    out = (t.get("stdout") or "") + (t.get("stderr") or "")
    result = t.get("result", "ERROR")
    if result == "SKIP":
        continue
    p = f = 0
    m = SYNTH.findall(out)
    if m:
        _, ps, fs, cs = map(int, m[-1])
        p, f = ps, fs + cs
    else:
        marks = TAP.findall(out)
        if marks:
            p = sum(1 for x in marks if x == "ok")
            f = len(marks) - p
        else:
            p = 1 if result in GOOD else 0
    if result not in GOOD and f == 0:
        f = 1
    if f:
        print(f"FAILED: {t['name']} ({result}, {f} failing)")
    passed += p
    failed += f
print(passed, failed)
