#!/usr/bin/env python3
"""tests/debug_bugs/check.py — runs each bug program against each allocator
with the RSV_DEBUG words that should catch it, and checks what it prints
and how it ends (TAP, one line per case).

For every report it checks the first line's kind, the block's size, that a
block address is named, and that the allocation site printed as
module+offset resolves (with nm) to the bug program's own code, not to the
allocator.

    check.py BUILD_TESTS_DIR [--asan]
"""
import os
import re
import signal
import subprocess
import sys

bindir = sys.argv[1]
asan = '--asan' in sys.argv

ALLOCS = ['arena', 'pool', 'heap', 'win32', 'malloc']
# The functions of the bug programs an allocation site may resolve to
# (bug.h's helpers may be inlined into their callers).
OWN = {'main', 'bug_alloc', 'make_name', 'make_node', 'bug_churn'}
# Through the Win32 façade the heap sees the façade's call, not the
# program's: without RSV_DEBUG=backtrace the site is a façade function.


def own(alloc, fn):
    if fn in OWN:
        return True
    return alloc == 'win32' and fn is not None and (fn.startswith('Rsv') or fn.startswith('w32_'))

HEAD = r'reservoir: {kind}: (arena|pool|heap) "[^"]*": '
BLOCK = r'block 0x[0-9a-f]+ size {size}: '


def case(prog, alloc, env, end, stderr=(), stdout=(), args=(), site=True):
    return dict(prog=prog, alloc=alloc, env=env, end=end, stderr=stderr,
                stdout=stdout, args=args, site=site)


def cases():
    out = []
    for a in ALLOCS:
        # The façade puts its own 16-byte header before the caller's bytes,
        # inside the heap block: reports name that block, so sizes and
        # offsets include the header, and a one-byte underrun lands in the
        # header, where the façade's own check refuses the block on free.
        hdr = 16 if a == 'win32' else 0
        refused = [r'^HeapFree failed: last error \d+$']
        # 1. a failed allocation used: a plain fault, or the policy's message
        if asan:
            # UBSan (built with ASan here) stops the NULL use itself.
            out.append(case('oom', a, '', 1, site=False, stderr=[r'runtime error: .*null pointer']))
        else:
            out.append(case('oom', a, '', 'segv', site=False))
        if a == 'win32':
            out.append(case('oom', a, 'oom_abort', 'abort', site=False, stderr=[
                r'^reservoir: win32 exception STATUS_NO_MEMORY \(0xC0000017\)$']))
        else:
            out.append(case('oom', a, 'oom_abort', 'abort', site=False, stderr=[
                HEAD.format(kind='out-of-memory') + r'allocation of \d+ bytes failed$']))
        # 2. uninitialised read
        out.append(case('uninit', a, 'fill', 0, stdout=[r'uninitialised word: 0xcdcdcdcd']))
        # 3. overrun / underrun
        out.append(case('overrun', a, 'canary', 'abort', stderr=[
            HEAD.format(kind='overrun') + BLOCK.format(size=32 + hdr)
            + r'canary after the block overwritten at 0x[0-9a-f]+ \(offset \+%d\)$' % (32 + hdr)]))
        out.append(case('overrun', a, 'guard', 'segv', site=False))
        if a == 'win32':
            out.append(case('underrun', a, 'canary', 0, site=False, stderr=refused))
            out.append(case('underrun', a, 'guard_under', 0, site=False, stderr=refused))
        else:
            out.append(case('underrun', a, 'canary', 'abort', stderr=[
                HEAD.format(kind='underrun') + BLOCK.format(size=32)
                + r'canary before the block overwritten at 0x[0-9a-f]+ \(offset -1\)$']))
            out.append(case('underrun', a, 'guard_under', 'segv', site=False))
        # 4. leaks (at exit for malloc); none reported without them
        when = 'exit' if a == 'malloc' else 'destroy'
        if a == 'arena':
            leak = [HEAD.format(kind='leak') + r'5 blocks, 240 bytes still allocated at destroy from 2 sites$',
                    r'^reservoir:   144 bytes in 3 blocks allocated at 0x[0-9a-f]+ \(',
                    r'^reservoir:   96 bytes in 2 blocks allocated at 0x[0-9a-f]+ \(']
        elif a == 'win32':
            leak = [HEAD.format(kind='leak') + r'4 blocks, 256 bytes still allocated at destroy from 1 site$',
                    r'^reservoir:   256 bytes in 4 blocks allocated at 0x[0-9a-f]+ \(']
        else:
            leak = [HEAD.format(kind='leak') + r'4 blocks, 192 bytes still allocated at %s from 2 sites$' % when,
                    r'^reservoir:   144 bytes in 3 blocks allocated at 0x[0-9a-f]+ \(',
                    r'^reservoir:   48 bytes in 1 block allocated at 0x[0-9a-f]+ \(']
        out.append(case('leak', a, 'leaks', 0, stderr=leak))
        out.append(case('uninit', a, 'leaks,fill,canary,quarantine', 0, stderr=[],
                        stdout=[r'uninitialised word: 0xcdcdcdcd']))  # no leak: nothing printed
        # 5. use after free, double and wild frees
        if a == 'arena' and asan:
            # Under ASan the arena poisons what pop_to frees (arena_san.h), so
            # ASan itself stops the write before the debug layer can see it.
            out.append(case('use_after_free', a, 'quarantine', 1, site=False, stderr=[
                r'ERROR: AddressSanitizer: use-after-poison']))
        else:
            out.append(case('use_after_free', a, 'quarantine', 'abort', stderr=[
                HEAD.format(kind='use-after-free') + BLOCK.format(size=32 + hdr)
                + r'freed block written after free at 0x[0-9a-f]+ \(offset \+%d\)$' % (8 + hdr),
                r'^reservoir:   freed at 0x']))
        out.append(case('use_after_free', a, 'guard,quarantine', 'segv', site=False))
        if a == 'arena':
            continue  # no free in an arena: nothing to free twice
        if a == 'win32':
            for args in ([], ['interior'], ['foreign']):
                out.append(case('double_free' if not args else 'wild_free', a, 'fill', 0,
                                args=args, site=False, stderr=refused))
            continue
        out.append(case('double_free', a, 'fill', 'abort', stderr=[
            HEAD.format(kind='double-free') + BLOCK.format(size=40) + r'block freed twice$',
            r'^reservoir:   freed at 0x', r'^reservoir:   freed again at 0x']))
        out.append(case('double_free', a, 'quarantine', 'abort', stderr=[
            HEAD.format(kind='double-free') + BLOCK.format(size=40) + r'block freed twice$']))
        out.append(case('wild_free', a, 'fill', 'abort', args=['interior'], stderr=[
            HEAD.format(kind='interior-free') + BLOCK.format(size=40)
            + r'pointer inside the block at 0x[0-9a-f]+ \(offset \+16\)$']))
        out.append(case('wild_free', a, 'fill', 'abort', args=['foreign'], site=False, stderr=[
            HEAD.format(kind='invalid-free') + r'pointer 0x[0-9a-f]+: pointer is no block of this allocator$']))
    return out


_syms = {}


def function_at(exe, off):
    """Name of the function of exe containing module offset off, or None."""
    if exe not in _syms:
        rows = []
        try:
            txt = subprocess.run(['nm', '-n', '--defined-only', exe], capture_output=True,
                                 text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            txt = ''
        for line in txt.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in 'tTwW':
                rows.append((int(parts[0], 16), parts[2]))
        with open(exe, 'rb') as f:
            e_type = int.from_bytes(f.read(18)[16:18], 'little')
        base = 0x400000 if e_type == 2 else 0
        _syms[exe] = (rows, base)
    rows, base = _syms[exe]
    best = None
    for addr, name in rows:
        if addr <= off + base:
            best = name
        else:
            break
    return best


def run(c):
    exe = os.path.join(bindir, 'bug_' + c['prog'])
    env = dict(os.environ)
    env['RSV_DEBUG'] = c['env']
    # ASan must let guard-page faults reach the program as SIGSEGV.
    env['ASAN_OPTIONS'] = env.get('ASAN_OPTIONS', '') + ':handle_segv=0:detect_leaks=0'
    # The expected endings assume UBSan stops at its first report.
    env['UBSAN_OPTIONS'] = env.get('UBSAN_OPTIONS', '') + ':halt_on_error=1'
    p = subprocess.run([exe, c['alloc']] + list(c['args']), capture_output=True, text=True,
                       env=env, timeout=60)
    problems = []
    rc = p.returncode
    if rc == 77:
        return 'skip', []
    want = {'abort': -signal.SIGABRT, 'segv': -signal.SIGSEGV}.get(c['end'], c['end'])
    if rc != want:
        problems.append('ended with %s, expected %s' % (rc, want))
    lines = p.stderr.splitlines()
    for pat in c['stderr']:
        if not any(re.search(pat, l) for l in lines):
            problems.append('stderr lacks /%s/' % pat)
    if not c['stderr'] and c['end'] == 0 and 'reservoir:' in p.stderr:
        problems.append('a report where none was due')
    for pat in c['stdout']:
        if not re.search(pat, p.stdout, re.M):
            problems.append('stdout lacks /%s/' % pat)
    if c['site'] and c['stderr']:
        sites = re.findall(r'allocated at 0x[0-9a-f]+ \(([^+)]+)\+0x([0-9a-f]+)\)', p.stderr)
        if not sites:
            problems.append('no allocation site named')
        for mod, off in sites:
            fn = function_at(exe, int(off, 16)) if mod == os.path.basename(exe) else None
            fn = fn.split('.')[0] if fn else fn  # make_name.isra.0 -> make_name
            if not own(c['alloc'], fn):
                problems.append('allocation site %s+0x%s is in %s, not the program' % (mod, off, fn))
    if problems:
        problems += ['stderr: ' + l for l in lines[:12]] + ['stdout: ' + l for l in p.stdout.splitlines()[:4]]
    return ('ok' if not problems else 'not ok'), problems


def main():
    cs = cases()
    n = 0
    failed = 0
    for c in cs:
        n += 1
        status, problems = run(c)
        name = 'RSV_DEBUG=%s bug_%s %s%s' % (c['env'], c['prog'], c['alloc'],
                                             ''.join(' ' + a for a in c['args']))
        if status == 'skip':
            print('ok %d - %s # SKIP not applicable' % (n, name))
            continue
        print('%s %d - %s' % (status, n, name))
        for pr in problems:
            print('# ' + pr)
        failed += status != 'ok'
    print('1..%d' % n)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
