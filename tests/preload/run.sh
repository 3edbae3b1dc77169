#!/usr/bin/env bash
# tests/preload/run.sh — real programs under LD_PRELOAD=libreservoir-malloc.so
# with the same results as without it, and their exit status checked.
#
#   tests/preload/run.sh BUILD-DIR
#
# BUILD-DIR is a meson build of this project with rsv_malloc_override=true
# (tests/run passes build/ci-release and build/ci-asan).  Prints one TAP line
# per check ("ok N - ..." / "not ok N - ..."), then "N passed, N failed", and
# exits non-zero when a check failed.
#
# Programs: the project's own probes (live, early, fork, foreign, verbose),
# a C++ program (cpp_stress, 8 threads), python3 (workload.py, 8 threads,
# PYTHONMALLOC=malloc), cpp_stress and fork again under RSV_DEBUG=all,
# sort of a 100 MiB file, gzip and xz round trips, and the static-override
# example.  A library built with AddressSanitizer is preloaded in front of
# the sanitizer runtime (see docs/malloc.md, "Sanitizers"); there the
# workloads shrink (RSV_PRELOAD_SCALE) because every heap access is checked.
#
# The generated input and glibc's reference outputs are cached in
# $RSV_PRELOAD_CACHE (default /tmp/reservoir-preload-$UID) so a second build
# does not redo them.  Nothing is left running; temporary files are removed.
set -u
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 BUILD-DIR" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
so=$build/lib/libreservoir-malloc.so
bin=$build/tests/preload
cache=${RSV_PRELOAD_CACHE:-${TMPDIR:-/tmp}/reservoir-preload-$(id -u)}
limit=${RSV_PRELOAD_TIMEOUT:-120}
work=$(mktemp -d "${TMPDIR:-/tmp}/rsv-preload.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache" || exit 2

n=0 passed=0 failed=0
report() {  # report STATUS(0=ok) DESCRIPTION [detail file]
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        passed=$((passed + 1)); echo "ok $n - $2"
    else
        failed=$((failed + 1)); echo "not ok $n - $2"
        if [ $# -ge 3 ] && [ -s "$3" ]; then sed 's/^/#   /' "$3" | head -20; fi
    fi
}

if [ ! -f "$so" ]; then
    report 1 "libreservoir-malloc.so built in $build/lib (configure with -Drsv_malloc_override=true)"
    echo "$passed passed, $failed failed"
    exit 1
fi

# ---- which library: release, or sanitizer-instrumented ---------------------
# An ASan-instrumented library needs the ASan runtime in the process.  It is
# preloaded *after* Reservoir so that Reservoir's malloc wins the symbol
# lookup (the runtime first would make ASan's allocator the live one), and
# ASan's start-up check of the library order is switched off.
preload=$so
flavour=release
scale=${RSV_PRELOAD_SCALE:-100}
if nm -D --undefined-only "$so" 2>/dev/null | grep -q ' __asan_init$'; then
    flavour=asan
    rt=$(readelf -d "$so" | sed -n 's/.*Shared library: \[\(libasan\.so[^]]*\)\].*/\1/p' | head -1)
    if [ -n "$rt" ]; then
        rt=$(gcc -print-file-name="$rt")
    else
        rt=$(${CC:-clang} -print-file-name=libclang_rt.asan-x86_64.so 2>/dev/null)
        [ -f "$rt" ] || rt=$(clang -print-file-name=libclang_rt.asan-x86_64.so)
    fi
    if [ ! -f "$rt" ]; then
        report 1 "ASan runtime for the sanitized library not found"
        echo "$passed passed, $failed failed"
        exit 1
    fi
    preload=$so:$rt
    export ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0:abort_on_error=0:halt_on_error=1
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    scale=${RSV_PRELOAD_SCALE:-25}
fi
export RSV_PRELOAD_SCALE=$scale
unset RSV_VERBOSE RSV_DEBUG
echo "# preload: $flavour library $so (LD_PRELOAD=$preload, scale $scale%)"

py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)

# plain NAME CMD...: runs CMD under the C library's malloc, stdout to
# $work/NAME.plain, stderr to $work/NAME.plain.err; returns its status.
plain() {
    local name=$1; shift
    timeout "$limit" "$@" >"$work/$name.plain" 2>"$work/$name.plain.err"
}
# pre NAME CMD...: the same under Reservoir (files $work/NAME.pre*).
pre() {
    local name=$1; shift
    LD_PRELOAD=$preload timeout "$limit" "$@" >"$work/$name.pre" 2>"$work/$name.pre.err"
}
# both NAME DESCRIPTION CMD...: runs CMD both ways and reports one check:
# both exit 0, identical stdout, and nothing on stderr under Reservoir.
both() {
    local name=$1 desc=$2 rc1 rc2 why; shift 2
    why=$work/$name.why
    plain "$name" "$@"; rc1=$?
    pre "$name" "$@"; rc2=$?
    : >"$why"
    [ $rc1 -eq 0 ] || echo "exit $rc1 without preload" >>"$why"
    [ $rc2 -eq 0 ] || { echo "exit $rc2 under Reservoir"; cat "$work/$name.pre.err"; } >>"$why"
    cmp -s "$work/$name.plain" "$work/$name.pre" \
        || { echo "stdout differs:"; diff "$work/$name.plain" "$work/$name.pre" | head; } >>"$why"
    [ $rc2 -ne 0 ] || [ ! -s "$work/$name.pre.err" ] \
        || { echo "stderr under Reservoir:"; cat "$work/$name.pre.err"; } >>"$why"
    report "$([ -s "$why" ] && echo 1 || echo 0)" "$desc" "$why"
}

# ---- the project's probes ---------------------------------------------------
plain live "$bin/preload_live" libc; rc1=$?
pre live "$bin/preload_live" reservoir; rc2=$?
grep -v '^allocator:' "$work/live.plain" >"$work/live.a"
grep -v '^allocator:' "$work/live.pre" >"$work/live.b"
{ [ $rc1 -eq 0 ] || { echo "without preload: exit $rc1"; cat "$work/live.plain" "$work/live.plain.err"; }
  [ $rc2 -eq 0 ] || { echo "under Reservoir: exit $rc2"; cat "$work/live.pre" "$work/live.pre.err"; }
  cmp -s "$work/live.a" "$work/live.b" || diff "$work/live.a" "$work/live.b"; } >"$work/live.why" 2>&1
report "$([ -s "$work/live.why" ] && echo 1 || echo 0)" \
    "live: malloc family served by Reservoir (heap_of + heap_walk), same results as glibc" "$work/live.why"

RSV_VERBOSE=1 pre verbose "$bin/preload_live" reservoir; rc=$?
grep -q '^reservoir: at exit: default heap statistics' "$work/verbose.pre.err"
report $((rc | $?)) "RSV_VERBOSE=1 prints the heap statistics at exit" "$work/verbose.pre.err"

# The release library's malloc and free are rsv_malloc and rsv_free under a
# second name (lib/meson.build: no wrapper between the program and the fast
# path); the ASan library keeps wrappers for its bootstrap buffer.
if [ "$flavour" = release ]; then
    nm -D --defined-only "$so" >"$work/syms" 2>&1
    addr() { awk -v n="$1" '$3 == n { print $1 }' "$work/syms"; }
    { for pair in malloc:rsv_malloc free:rsv_free; do
          a=$(addr "${pair%%:*}"); b=$(addr "${pair#*:}")
          [ -n "$a" ] && [ "$a" = "$b" ] || echo "${pair%%:*} at '$a', ${pair#*:} at '$b'"
      done; } >"$work/alias.why"
    report "$([ -s "$work/alias.why" ] && echo 1 || echo 0)" \
        "malloc and free are rsv_malloc and rsv_free themselves (no wrapper)" "$work/alias.why"
fi

both early "early: constructors, dlopen/dlsym/dlerror, threads before main, atexit, 200 thread exits" \
    "$bin/preload_early"
both fork "fork: 24 children with threads and grandchildren while 3 threads allocate" "$bin/preload_fork"

pre foreign "$bin/preload_foreign"; rc=$?
{ [ $rc -eq 0 ] || { echo "exit $rc"; cat "$work/foreign.pre" "$work/foreign.pre.err"; }
  [ ! -s "$work/foreign.pre.err" ] || { echo "stderr without RSV_VERBOSE:"; cat "$work/foreign.pre.err"; }
} >"$work/foreign.why"
report "$([ -s "$work/foreign.why" ] && echo 1 || echo 0)" \
    "foreign: free/realloc of pointers Reservoir did not allocate are ignored silently" "$work/foreign.why"
RSV_VERBOSE=1 pre foreignv "$bin/preload_foreign"; rc=$?
grep -q '^reservoir: error' "$work/foreignv.pre.err" && grep -q 'errors reported: [1-9]' "$work/foreignv.pre.err"
report $((rc | $?)) "foreign: with RSV_VERBOSE=1 each is reported and counted" "$work/foreignv.pre.err"

if [ -x "$bin/preload_cpp_stress" ]; then
    both cpp "C++ std::string/map/vector, 8 threads, cross-thread frees" "$bin/preload_cpp_stress"
else
    report 1 "C++ stress program built (needs a C++ compiler)"
fi

if [ -n "$py" ]; then
    # PYTHONMALLOC=malloc: every object, not only those over 512 bytes, comes
    # from malloc instead of CPython's own small-object allocator.
    both python "python3 workload (PYTHONMALLOC=malloc): dicts, lists, strings, json, 8 threads" \
        env PYTHONMALLOC=malloc "$py" "$(dirname "$0")/workload.py"
else
    report 1 "python3 found"
fi

# The debug layer switched on from the environment changes no result (its
# reports, e.g. leaks at exit, may go to stderr, so only stdout is compared).
# Smaller and with a shorter limit: every block is filled, fenced and
# quarantined, and a lock the debug layer leaves held across fork() would
# otherwise cost the whole default limit.
dscale=$(( scale / 5 > 0 ? scale / 5 : 1 ))
RSV_DEBUG=all RSV_PRELOAD_SCALE=$dscale limit=60 pre dbgcpp "$bin/preload_cpp_stress"; rc1=$?
RSV_DEBUG=all RSV_PRELOAD_SCALE=$dscale limit=60 pre dbgfork "$bin/preload_fork"; rc2=$?
RSV_PRELOAD_SCALE=$dscale plain dbgcpp "$bin/preload_cpp_stress"
RSV_PRELOAD_SCALE=$dscale plain dbgfork "$bin/preload_fork"
{ [ $rc1 -eq 0 ] || { echo "cpp_stress: exit $rc1"; tail -5 "$work/dbgcpp.pre.err"; }
  [ $rc2 -eq 0 ] || { echo "fork: exit $rc2"; tail -5 "$work/dbgfork.pre.err"; }
  [ $rc1 -eq 124 ] && echo "cpp_stress: timed out (60 s)"
  [ $rc2 -eq 124 ] && echo "fork: timed out (60 s): a lock held across fork()?"
  cmp -s "$work/dbgcpp.plain" "$work/dbgcpp.pre" || echo "cpp_stress output differs"
  cmp -s "$work/dbgfork.plain" "$work/dbgfork.pre" || echo "fork output differs"; } >"$work/dbg.why" 2>&1
report "$([ -s "$work/dbg.why" ] && echo 1 || echo 0)" \
    "RSV_DEBUG=all: C++ stress and fork give the same results" "$work/dbg.why"

# ---- sort, gzip, xz on a generated file ---------------------------------
data=$cache/data-100m.txt
bytes=104857600
if [ ! -f "$data" ] || [ "$(stat -c %s "$data")" -lt $bytes ]; then
    "$bin/preload_gen" $bytes >"$data.tmp" && mv "$data.tmp" "$data"
fi
head -c 16777216 "$data" >"$work/gz.in"
head -c 8388608 "$data" >"$work/xz.in"

# ref NAME CMD...: glibc's md5 of CMD's stdout, cached next to the data.
ref() {
    local name=$1; shift
    if [ ! -s "$cache/$name.md5" ] || [ "$cache/$name.md5" -ot "$data" ]; then
        (set -o pipefail; timeout "$limit" "$@" | md5sum | cut -d' ' -f1) >"$cache/$name.md5.tmp" \
            && mv "$cache/$name.md5.tmp" "$cache/$name.md5"
    fi
    cat "$cache/$name.md5" 2>/dev/null
}
# prepipe CMD...: md5 of CMD's stdout under Reservoir; fails if CMD fails.
prepipe() {
    (set -o pipefail; LD_PRELOAD=$preload timeout "$limit" "$@" 2>"$work/pipe.err" | md5sum | cut -d' ' -f1)
}

want=$(LC_ALL=C ref sort sort --parallel=2 "$data")
got=$(LC_ALL=C prepipe sort --parallel=2 "$data"); rc=$?
[ $rc -eq 0 ] && [ -n "$want" ] && [ "$got" = "$want" ]
report $? "sort of a 100 MiB file (2 threads): output identical to glibc's" "$work/pipe.err"

# roundtrip TOOL INPUT DESCRIPTION ARGS...: `TOOL ARGS -c INPUT` under
# Reservoir must write the same bytes as under glibc, and `TOOL -d -c` of
# them under Reservoir must give INPUT back.
roundtrip() {
    local tool=$1 in=$2 desc=$3 want rc; shift 3
    want=$(ref "$tool$(printf '%s' "$*" | tr -dc 'a-zA-Z0-9')" "$tool" "$@" -c "$in")
    LD_PRELOAD=$preload timeout "$limit" "$tool" "$@" -c "$in" >"$work/$tool.z" 2>"$work/pipe.err" \
        && [ "$(md5sum <"$work/$tool.z" | cut -d' ' -f1)" = "$want" ] \
        && LD_PRELOAD=$preload timeout "$limit" "$tool" -d -c "$work/$tool.z" 2>>"$work/pipe.err" \
            | cmp -s - "$in"
    rc=$?
    report $rc "$desc" "$work/pipe.err"
}
roundtrip gzip "$work/gz.in" "gzip round trip of 16 MiB: same compressed bytes, decompresses to the input" -6 -n
roundtrip xz "$work/xz.in" "xz round trip of 8 MiB: same compressed bytes, decompresses to the input" -1 -T1

# ---- the static override (no preload: linked into the program) -------------
ex=$build/examples/static_override/static_override
if [ -x "$ex" ]; then
    timeout "$limit" "$ex" >"$work/static.out" 2>&1
    rc=$?
    grep -q '^allocator: reservoir' "$work/static.out"
    report $((rc | $?)) "static override example: Reservoir live without LD_PRELOAD" "$work/static.out"
fi

echo "1..$n"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
