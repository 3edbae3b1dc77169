#!/usr/bin/env python3
"""tests/article/compare.py — runs an article program and compares its
output with the committed expected file, addresses masked: every 0x... hex
number becomes ADDR and the heap count on the 'Heap number' line becomes N
(Wine's processes own more heaps than a Linux one).  Exit 0 when equal.

usage: compare.py EXPECTED PROGRAM [WRAPPER...]
       (the wrapper, e.g. wine, goes before the program)"""
import re
import subprocess
import sys


def mask(text):
    out = []
    for line in text.replace('\r\n', '\n').splitlines():
        line = re.sub(r'0x[0-9a-fA-F]+', 'ADDR', line)
        line = re.sub(r'^(Heap number : )\d+$', r'\1N', line)
        out.append(line)
    return out


def main():
    expected_path, program, wrapper = sys.argv[1], sys.argv[2], sys.argv[3:]
    run = subprocess.run(wrapper + [program], capture_output=True, text=True, timeout=120)
    with open(expected_path, encoding='utf-8') as f:
        expected = mask(f.read())
    got = mask(run.stdout)
    if run.returncode != 0 or got != expected:
        print('exit status', run.returncode)
        print('--- expected (masked)')
        print('\n'.join(expected))
        print('--- got (masked)')
        print('\n'.join(got))
        print(run.stderr)
        return 1
    print('\n'.join(got))
    return 0


if __name__ == '__main__':
    sys.exit(main())
