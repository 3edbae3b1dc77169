/* tests/test_win32_global.c — Criterion suite for the Win32 Global* and
 * Local* façade: one test per behavior of ../shared/win32-memory-spec.md
 * section 9, named after its number (GL_1 ... GL_105).  S is a 12-byte
 * block and L a 0x20000-byte block, as in the spec.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "reservoir/win32.h"

#define P sizeof(void *)


#define S ((SIZE_T)12)
#define L ((SIZE_T)0x20000)
#define T .timeout = 60
#define GARBAGE_HANDLE ((HGLOBAL)(uintptr_t)(0xdeadbee0 + P))
#define GARBAGE_PTR ((HGLOBAL)(uintptr_t)0xdeadbee0)

static uintptr_t entry_flags(HGLOBAL h) { return *(uintptr_t *)((char *)h - P); }

static HGLOBAL moveable(SIZE_T n)
{
    HGLOBAL h = RsvGlobalAlloc(GMEM_MOVEABLE, n);
    cr_assert_not_null(h);
    return h;
}

static HGLOBAL freed_handle(void)
{
    HGLOBAL h = moveable(10);
    cr_assert_null(RsvGlobalFree(h));
    return h;
}

/* ---- 9.1 representation -------------------------------------------------------- */

Test(global, GL_1_fixed_is_process_heap_block, T)
{
    void *p = RsvGlobalAlloc(GMEM_FIXED, 40);
    cr_assert_not_null(p);
    cr_assert_eq((uintptr_t)p & (2 * P - 1), 0);
    cr_assert(RsvHeapValidate(RsvGetProcessHeap(), 0, p));
    cr_assert_eq(RsvHeapSize(RsvGetProcessHeap(), 0, p), 40);
    cr_assert_null(RsvGlobalFree(p));
}

Test(global, GL_2_moveable_handle_layout, T)
{
    HGLOBAL h = moveable(32);
    cr_assert_eq((uintptr_t)h % (2 * P), P);
    void *p = RsvGlobalLock(h);
    cr_assert_not_null(p);
    cr_assert_neq(p, h);
    cr_assert_eq(*(void **)h, p);
    RsvGlobalUnlock(h);
    cr_assert_null(RsvGlobalFree(h));
}

Test(global, GL_3_entry_flag_words, T)
{
    HGLOBAL a = moveable(5), b = moveable(0);
    HGLOBAL c = RsvGlobalAlloc(GMEM_MOVEABLE | GMEM_DISCARDABLE, 0);
    HGLOBAL d = RsvGlobalAlloc(GMEM_MOVEABLE | GMEM_DISCARDABLE, 5);
    HGLOBAL e = RsvGlobalAlloc(GMEM_MOVEABLE | GMEM_DISCARDABLE | GMEM_DDESHARE, 5);
    cr_assert_eq(entry_flags(a), 0x3);
    cr_assert_eq(entry_flags(b), 0xB);
    cr_assert_eq(entry_flags(c), 0xF);
    cr_assert_eq(entry_flags(d), 0x7);
    cr_assert_eq(entry_flags(e), 0x8007);
    RsvGlobalLock(a);
    cr_assert_eq(entry_flags(a), 0x10003);
    HGLOBAL all[] = {a, b, c, d, e};
    for (int i = 0; i < 5; i++) cr_assert_null(RsvGlobalFree(all[i]));
    cr_assert_eq(entry_flags(a) & 1, 0);
    cr_assert_null(*(void **)a);
}

Test(global, GL_4_data_block_records_handle, T)
{
    HGLOBAL h = moveable(77);
    void *p = RsvGlobalLock(h);
    cr_assert_eq(RsvHeapSize(RsvGetProcessHeap(), 0, p), 77);
    cr_assert_eq(RsvGlobalHandle(p), h);
    RsvGlobalUnlock(h);
    cr_assert_null(RsvGlobalFree(h));
}

/* GL-5 is a deliberate deviation (docs/win32.md): no 65,536 cap.  At least
 * 2^24 handles can be alive at once; 0-byte handles keep it fast. */
Test(global, GL_5_at_least_2_pow_24_live_handles, .timeout = 240)
{
    size_t n = (size_t)1 << 24;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    n = (size_t)1 << 18;
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    n = (size_t)1 << 18;
#  endif
#endif
    HGLOBAL *hs = RsvVirtualAlloc(NULL, n * sizeof *hs, MEM_COMMIT, PAGE_READWRITE);
    cr_assert_not_null(hs);
    for (size_t i = 0; i < n; i++) {
        hs[i] = RsvGlobalAlloc(GMEM_MOVEABLE, 0);
        if (!hs[i]) cr_assert_fail("handle %zu failed", i);
    }
    HGLOBAL fixed = RsvGlobalAlloc(GMEM_FIXED, 10);
    cr_assert_not_null(fixed);
    cr_assert_neq(hs[0], hs[n - 1]);
    cr_assert_eq(RsvGlobalFlags(hs[n / 2]), GMEM_DISCARDED);
    for (size_t i = 0; i < n; i++)
        if (RsvGlobalFree(hs[i])) cr_assert_fail("free %zu failed", i);
    cr_assert_null(RsvGlobalFree(fixed));
    cr_assert(RsvVirtualFree(hs, 0, MEM_RELEASE));
}

Test(global, GL_6_global_and_local_interchange, T)
{
    HGLOBAL g = moveable(20);
    HLOCAL l = RsvLocalAlloc(LMEM_MOVEABLE, 20);
    void *gp = RsvLocalLock(g), *lp = RsvGlobalLock(l);
    cr_assert_not_null(gp);
    cr_assert_not_null(lp);
    cr_assert_eq(RsvLocalSize(g), 20);
    cr_assert_eq(RsvGlobalSize(l), 20);
    cr_assert_eq(RsvLocalHandle(gp), g);
    RsvGlobalUnlock(g);
    RsvLocalUnlock(l);
    cr_assert_null(RsvLocalFree(g));
    cr_assert_null(RsvGlobalFree(l));
}

/* ---- 9.2 GlobalAlloc / LocalAlloc ------------------------------------------------ */

Test(global, GL_10_fixed_zero_sizes, T)
{
    void *g = RsvGlobalAlloc(GMEM_FIXED, 0), *l = RsvLocalAlloc(LMEM_FIXED, 0);
    cr_assert_not_null(g);
    cr_assert_not_null(l);
    cr_assert_eq(RsvGlobalSize(g), 1);
    cr_assert_eq(RsvLocalSize(l), 0);
    cr_assert_null(RsvGlobalFree(g));
    cr_assert_null(RsvLocalFree(l));
}

Test(global, GL_11_moveable_zero_is_discarded, T)
{
    HGLOBAL h = moveable(0);
    HGLOBAL d = RsvGlobalAlloc(GMEM_MOVEABLE | GMEM_DISCARDABLE, 0);
    cr_assert_eq(RsvGlobalSize(h), 0);
    cr_assert_eq(RsvGlobalFlags(h), GMEM_DISCARDED);
    cr_assert_eq(RsvGlobalFlags(d), GMEM_DISCARDED | GMEM_DISCARDABLE);
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvGlobalLock(h));
    cr_assert_eq(RsvGetLastError(), ERROR_DISCARDED);
    cr_assert_null(RsvGlobalFree(h));
    cr_assert_null(RsvGlobalFree(d));
}

static int zeroed(const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i]) return 0;
    return 1;
}

Test(global, GL_12_zeroinit, T)
{
    for (int round = 0; round < 2; round++) {
        void *dirty = RsvGlobalAlloc(GMEM_FIXED, 100000);
        memset(dirty, 0x5A, 100000);
        RsvGlobalFree(dirty);
        void *p = RsvGlobalAlloc(GMEM_ZEROINIT, 100000);
        cr_assert(zeroed(p, 100000));
        void *q = RsvGlobalAlloc(GPTR, 100);
        cr_assert(zeroed(q, 100));
        HGLOBAL h = RsvGlobalAlloc(GHND, 1000);
        cr_assert(zeroed(RsvGlobalLock(h), 1000));
        HLOCAL l = RsvLocalAlloc(LHND, 1000);
        cr_assert(zeroed(RsvLocalLock(l), 1000));
        memset(p, 1, 100000);
        RsvGlobalFree(p);
        RsvGlobalFree(q);
        RsvGlobalFree(h);
        RsvLocalFree(l);
    }
}

Test(global, GL_13_obsolete_flags_accepted, T)
{
    UINT flags[] = {GMEM_DDESHARE, GMEM_DISCARDABLE, GMEM_LOWER, GMEM_NOCOMPACT, GMEM_NODISCARD, GMEM_NOTIFY};
    for (int i = 0; i < 6; i++) {
        HGLOBAL f = RsvGlobalAlloc(flags[i], 10);
        cr_assert_not_null(f);
        cr_assert_eq(RsvGlobalFlags(f), 0);
        HGLOBAL m = RsvGlobalAlloc(flags[i] | GMEM_MOVEABLE, 10);
        cr_assert_not_null(m);
        cr_assert_eq(RsvGlobalFlags(m), flags[i] & (GMEM_DISCARDABLE | GMEM_DDESHARE));
        RsvGlobalFree(f);
        RsvGlobalFree(m);
    }
    HLOCAL l = RsvLocalAlloc(LMEM_MOVEABLE | LMEM_DISCARDABLE, 10);
    cr_assert_eq(RsvLocalFlags(l), LMEM_DISCARDABLE);
    RsvLocalFree(l);
}

Test(global, GL_14_invalid_flags_rejected, T)
{
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvGlobalAlloc(GMEM_MODIFY, 10));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_PARAMETER);
    cr_assert_null(RsvGlobalAlloc(0x8000, 10));
    cr_assert_null(RsvLocalAlloc(LMEM_MODIFY, 10));
    cr_assert_null(RsvLocalAlloc(0x2000, 10));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_PARAMETER);
}

Test(global, GL_15_alignment, T)
{
    for (SIZE_T n = 1; n < 200; n += 7) {
        void *p = RsvGlobalAlloc(GMEM_FIXED, n);
        cr_assert_eq((uintptr_t)p % (2 * P), 0);
        HGLOBAL h = moveable(n);
        cr_assert_eq((uintptr_t)RsvGlobalLock(h) % (2 * P), 0);
        RsvGlobalFree(p);
        RsvGlobalFree(h);
    }
}

Test(global, GL_16_failure_not_enough_memory, T)
{
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvGlobalAlloc(GMEM_FIXED, ~(SIZE_T)0));
    cr_assert_eq(RsvGetLastError(), ERROR_NOT_ENOUGH_MEMORY);
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvGlobalAlloc(GMEM_MOVEABLE, ~(SIZE_T)0));
    cr_assert_eq(RsvGetLastError(), ERROR_NOT_ENOUGH_MEMORY);
    cr_assert_null(RsvLocalAlloc(LMEM_MOVEABLE, ~(SIZE_T)0 - 100));
}

/* ---- 9.3 / 9.4 Lock and Unlock --------------------------------------------------- */

Test(global, GL_20_lock_returns_data, T)
{
    HGLOBAL h = moveable(10);
    void *a = RsvGlobalLock(h), *b = RsvGlobalLock(h);
    cr_assert_not_null(a);
    cr_assert_eq(a, b);
    cr_assert_neq(a, h);
    cr_assert_eq(RsvGlobalFlags(h) & GMEM_LOCKCOUNT, 2);
    RsvGlobalFree(h);
}

Test(global, GL_21_lock_count_saturates, T)
{
    HGLOBAL h = moveable(10);
    void *p = RsvGlobalLock(h);
    for (int i = 1; i < 300; i++) cr_assert_eq(RsvGlobalLock(h), p);
    cr_assert_eq(RsvGlobalFlags(h) & GMEM_LOCKCOUNT, 0xFF);
    RsvGlobalFree(h);
}

Test(global, GL_22_lock_fixed_pointer, T)
{
    void *p = RsvGlobalAlloc(GMEM_FIXED, 10);
    cr_assert_eq(RsvGlobalLock(p), p);
    cr_assert_eq(RsvLocalLock(p), p);
    cr_assert_eq(RsvGlobalFlags(p), 0);
    RsvGlobalFree(p);
}

Test(global, GL_23_lock_discarded, T)
{
    HGLOBAL h = moveable(10);
    cr_assert_eq(RsvGlobalDiscard(h), h);
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvGlobalLock(h));
    cr_assert_eq(RsvGetLastError(), ERROR_DISCARDED);
    cr_assert_null(RsvLocalLock(h));
    cr_assert_eq(RsvGetLastError(), ERROR_DISCARDED);
    RsvGlobalFree(h);
}

Test(global, GL_24_lock_freed_or_garbage_handle, T)
{
    HGLOBAL f = freed_handle();
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvGlobalLock(f));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvGlobalLock(GARBAGE_HANDLE));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvLocalLock(GARBAGE_HANDLE));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
}

Test(global, GL_25_lock_garbage_pointer, T)
{
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvGlobalLock(GARBAGE_PTR));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvLocalLock(GARBAGE_PTR));
    cr_assert_eq(RsvGetLastError(), 0xdeadbeef);
}

Test(global, GL_30_unlock_counts_down, T)
{
    HGLOBAL h = moveable(10);
    RsvGlobalLock(h);
    RsvGlobalLock(h);
    cr_assert(RsvGlobalUnlock(h));
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvGlobalUnlock(h));
    cr_assert_eq(RsvGetLastError(), NO_ERROR);
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvGlobalUnlock(h));
    cr_assert_eq(RsvGetLastError(), ERROR_NOT_LOCKED);
    HLOCAL l = RsvLocalAlloc(LMEM_MOVEABLE, 10);
    cr_assert_not(RsvLocalUnlock(l));
    cr_assert_eq(RsvGetLastError(), ERROR_NOT_LOCKED);
    RsvGlobalFree(h);
    RsvLocalFree(l);
}

Test(global, GL_31_unlock_after_saturation, T)
{
    HGLOBAL h = moveable(10);
    for (int i = 0; i < 300; i++) RsvGlobalLock(h);
    for (int i = 0; i < 254; i++) cr_assert(RsvGlobalUnlock(h));
    cr_assert_not(RsvGlobalUnlock(h));
    cr_assert_eq(RsvGlobalFlags(h) & GMEM_LOCKCOUNT, 0);
    RsvGlobalFree(h);
}

Test(global, GL_32_unlock_fixed_pointer, T)
{
    void *p = RsvGlobalAlloc(GMEM_FIXED, 10);
    cr_assert(RsvGlobalUnlock(p));
    cr_assert(RsvGlobalUnlock(p));
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvLocalUnlock(p));
    cr_assert_eq(RsvGetLastError(), ERROR_NOT_LOCKED);
    RsvGlobalFree(p);
}

Test(global, GL_33_unlock_freed_or_garbage_handle, T)
{
    HGLOBAL handles[] = {freed_handle(), GARBAGE_HANDLE};
    for (int i = 0; i < 2; i++) {
        RsvSetLastError(0xdeadbeef);
        cr_assert(RsvGlobalUnlock(handles[i]));
        cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
        RsvSetLastError(0xdeadbeef);
        cr_assert_not(RsvLocalUnlock(handles[i]));
        cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
    }
}

Test(global, GL_34_unlock_garbage_pointer, T)
{
    RsvSetLastError(0xdeadbeef);
    cr_assert(RsvGlobalUnlock(GARBAGE_PTR));
    cr_assert_eq(RsvGetLastError(), 0xdeadbeef);
    cr_assert_not(RsvLocalUnlock(GARBAGE_PTR));
    cr_assert_eq(RsvGetLastError(), ERROR_NOT_LOCKED);
}

/* ---- 9.5 Flags, 9.6 Size ------------------------------------------------------------ */

Test(global, GL_40_flags_lock_count, T)
{
    HGLOBAL h = moveable(10);
    RsvGlobalLock(h);
    cr_assert_eq(RsvGlobalFlags(h), 1);
    RsvGlobalLock(h);
    cr_assert_eq(RsvGlobalFlags(h), 2);
    RsvGlobalUnlock(h);
    RsvGlobalUnlock(h);
    cr_assert_eq(RsvGlobalFlags(h), 0);
    RsvGlobalFree(h);
}

Test(global, GL_41_fixed_flags_zero, T)
{
    void *p = RsvGlobalAlloc(GMEM_FIXED, 10);
    RsvGlobalLock(p);
    cr_assert_eq(RsvGlobalFlags(p), 0);
    cr_assert_eq(RsvLocalFlags(p), 0);
    RsvGlobalFree(p);
}

Test(global, GL_42_flag_bits, T)
{
    HGLOBAL h = RsvGlobalAlloc(GMEM_MOVEABLE | GMEM_DISCARDABLE | GMEM_DDESHARE, 10);
    cr_assert_eq(RsvGlobalFlags(h), 0x2100);
    cr_assert_eq(RsvGlobalDiscard(h), h);
    cr_assert_eq(RsvGlobalFlags(h), 0x6100);
    RsvGlobalFree(h);
}

Test(global, GL_43_flags_freed_or_garbage_handle, T)
{
    HGLOBAL handles[] = {freed_handle(), GARBAGE_HANDLE};
    for (int i = 0; i < 2; i++) {
        RsvSetLastError(0xdeadbeef);
        cr_assert_eq(RsvGlobalFlags(handles[i]), GMEM_INVALID_HANDLE);
        cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
        RsvSetLastError(0xdeadbeef);
        cr_assert_eq(RsvLocalFlags(handles[i]), LMEM_INVALID_HANDLE);
        cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
    }
}

Test(global, GL_44_flags_garbage_pointer, T)
{
    RsvSetLastError(0xdeadbeef);
    cr_assert_eq(RsvGlobalFlags(GARBAGE_PTR), GMEM_INVALID_HANDLE);
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
    cr_assert_eq(RsvLocalFlags(GARBAGE_PTR), LMEM_INVALID_HANDLE);
    cr_assert_eq(RsvGetLastError(), ERROR_NOACCESS);
}

Test(global, GL_45_local_flags_mask, T)
{
    HLOCAL l = RsvLocalAlloc(LMEM_MOVEABLE | 0x0200, 10);
    UINT f = RsvLocalFlags(l);
    cr_assert_eq(f & ~(UINT)(0x0F00 | LMEM_LOCKCOUNT | LMEM_DISCARDED), 0);
    cr_assert_neq(f & LMEM_DISCARDABLE, 0);
    RsvLocalFree(l);
}

Test(global, GL_50_size_of_moveable, T)
{
    HGLOBAL h = moveable(10);
    cr_assert_eq(RsvGlobalSize(h), 10);
    RsvGlobalFree(h);
}

Test(global, GL_51_size_of_discarded, T)
{
    HGLOBAL h = moveable(10);
    RsvGlobalDiscard(h);
    cr_assert_eq(RsvGlobalSize(h), 0);
    RsvGlobalFree(h);
}

Test(global, GL_52_size_of_invalid, T)
{
    HGLOBAL bad[] = {freed_handle(), GARBAGE_HANDLE, GARBAGE_PTR, (HGLOBAL)(uintptr_t)0xC042};
    for (int i = 0; i < 4; i++) {
        RsvSetLastError(0xdeadbeef);
        cr_assert_eq(RsvGlobalSize(bad[i]), 0);
        cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
    }
}

Test(global, GL_53_size_of_fixed, T)
{
    void *s = RsvGlobalAlloc(GMEM_FIXED, S), *l = RsvGlobalAlloc(GMEM_FIXED, L);
    cr_assert_eq(RsvGlobalSize(s), S);
    cr_assert_eq(RsvGlobalSize(l), L);
    RsvGlobalFree(s);
    RsvGlobalFree(l);
}

/* ---- 9.7 Handle -------------------------------------------------------------------- */

Test(global, GL_60_handle_of_data, T)
{
    HGLOBAL h = moveable(10);
    void *p = RsvGlobalLock(h);
    cr_assert_eq(RsvGlobalHandle(p), h);
    cr_assert_eq(RsvLocalHandle(p), h);
    RsvGlobalFree(h);
}

Test(global, GL_61_handle_of_fixed, T)
{
    void *p = RsvGlobalAlloc(GMEM_FIXED, 10);
    cr_assert_eq(RsvGlobalHandle(p), p);
    void *q = RsvHeapAlloc(RsvGetProcessHeap(), 0, 10);
    cr_assert_eq(RsvGlobalHandle(q), q);
    RsvGlobalFree(p);
    RsvHeapFree(RsvGetProcessHeap(), 0, q);
}

Test(global, GL_62_handle_follows_back_pointer, T)
{
    void *p = RsvGlobalAlloc(GMEM_FIXED, 10);
    HGLOBAL h = RsvGlobalReAlloc(p, 0, GMEM_MODIFY | GMEM_MOVEABLE);
    cr_assert_neq(h, p);
    cr_assert_eq(RsvGlobalHandle(p), h);
    RsvGlobalFree(h);
}

Test(global, GL_63_handle_of_invalid, T)
{
    HGLOBAL bad[] = {freed_handle(), GARBAGE_HANDLE, GARBAGE_PTR};
    DWORD local_err[] = {ERROR_INVALID_HANDLE, ERROR_INVALID_HANDLE, ERROR_NOACCESS};
    for (int i = 0; i < 3; i++) {
        RsvSetLastError(0xdeadbeef);
        cr_assert_null(RsvGlobalHandle(bad[i]));
        cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
        cr_assert_null(RsvLocalHandle(bad[i]));
        cr_assert_eq(RsvGetLastError(), local_err[i]);
    }
}

Test(global, GL_64_handle_of_null, T)
{
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvGlobalHandle(NULL));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_PARAMETER);
}

/* ---- 9.8 ReAlloc --------------------------------------------------------------------- */

Test(global, GL_70_realloc_null, T) { cr_assert_null(RsvGlobalReAlloc(NULL, 10, GMEM_MOVEABLE)); }

Test(global, GL_71_realloc_garbage, T)
{
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvGlobalReAlloc(GARBAGE_HANDLE, 10, GMEM_MOVEABLE));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
    cr_assert_null(RsvGlobalReAlloc(GARBAGE_PTR, 10, GMEM_MOVEABLE));
    cr_assert_eq(RsvGetLastError(), ERROR_NOACCESS);
}

Test(global, GL_72_modify_ignores_size, T)
{
    void *p = RsvGlobalAlloc(GMEM_FIXED, S);
    cr_assert_eq(RsvGlobalReAlloc(p, 1 << 20, GMEM_MODIFY), p);
    cr_assert_eq(RsvGlobalSize(p), S);
    HGLOBAL h = moveable(S);
    cr_assert_eq(RsvGlobalReAlloc(h, 1 << 20, GMEM_MODIFY | GMEM_DISCARDABLE), h);
    cr_assert_eq(RsvGlobalSize(h), S);
    cr_assert_eq(RsvGlobalFlags(h) & GMEM_DISCARDABLE, GMEM_DISCARDABLE);
    RsvGlobalFree(p);
    RsvGlobalFree(h);
}

Test(global, GL_73_modify_moveable_converts_fixed, T)
{
    unsigned char *p = RsvGlobalAlloc(GMEM_FIXED, S);
    memset(p, 0x61, S);
    HGLOBAL h = RsvGlobalReAlloc(p, 0, GMEM_MODIFY | GMEM_MOVEABLE);
    cr_assert_eq((uintptr_t)h % (2 * P), P);
    cr_assert_eq(entry_flags(h), 0x3);
    cr_assert_eq(RsvGlobalSize(h), S);
    unsigned char *q = RsvGlobalLock(h);
    cr_assert_neq((void *)q, (void *)h);
    for (SIZE_T i = 0; i < S; i++) cr_assert_eq(q[i], 0x61);
    RsvGlobalUnlock(h);
    RsvGlobalFree(h);
    void *f = RsvGlobalAlloc(GMEM_FIXED, S);
    HGLOBAL d = RsvGlobalReAlloc(f, 0, GMEM_MODIFY | GMEM_MOVEABLE | GMEM_DISCARDABLE);
    cr_assert_eq(entry_flags(d), 0x7);
    RsvGlobalFree(d);
    /* LocalReAlloc does not convert */
    void *l = RsvLocalAlloc(LMEM_FIXED, S);
    cr_assert_eq(RsvLocalReAlloc(l, 0, LMEM_MODIFY | LMEM_MOVEABLE), l);
    RsvLocalFree(l);
}

Test(global, GL_74_fixed_with_moveable_may_move, T)
{
    void *s = RsvGlobalAlloc(GMEM_FIXED, S);
    void *s2 = RsvGlobalReAlloc(s, 512, GMEM_MOVEABLE);
    cr_assert_not_null(s2);
    cr_assert_eq(RsvGlobalLock(s2), s2);
    cr_assert_eq(RsvGlobalSize(s2), 512);
    void *l = RsvGlobalAlloc(GMEM_FIXED, L);
    cr_assert_eq(RsvGlobalReAlloc(l, L + 512, GMEM_MOVEABLE), l);
    void *l0 = RsvGlobalReAlloc(l, 0, GMEM_MOVEABLE);
    cr_assert_not_null(l0);
    cr_assert_eq(RsvGlobalSize(l0), 0);
    void *s0 = RsvGlobalReAlloc(s2, 0, GMEM_MOVEABLE);
    cr_assert_not_null(s0);
    cr_assert_eq(RsvGlobalSize(s0), 0);
    RsvGlobalFree(l0);
    RsvGlobalFree(s0);
}

Test(global, GL_75_fixed_in_place_only, T)
{
    void *l = RsvGlobalAlloc(GMEM_FIXED, L);
    cr_assert_eq(RsvGlobalReAlloc(l, L + 512, 0), l);
    cr_assert_eq(RsvGlobalReAlloc(l, 10, 0), l);
    cr_assert_eq(RsvGlobalReAlloc(l, 0, 0), l);
    cr_assert_eq(RsvGlobalSize(l), 0);
    void *s = RsvGlobalAlloc(GMEM_FIXED, S);
    void *keep[32];
    for (int i = 0; i < 32; i++) keep[i] = RsvGlobalAlloc(GMEM_FIXED, S);
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvGlobalReAlloc(s, 0x100000, 0));
    cr_assert_eq(RsvGetLastError(), ERROR_NOT_ENOUGH_MEMORY);
    cr_assert_eq(RsvGlobalSize(s), S);
    for (int i = 0; i < 32; i++) RsvGlobalFree(keep[i]);
    RsvGlobalFree(s);
    RsvGlobalFree(l);
}

Test(global, GL_76_discardable_without_modify_fails, T)
{
    void *f = RsvGlobalAlloc(GMEM_FIXED, S);
    HGLOBAL m = moveable(S);
    cr_assert_null(RsvGlobalReAlloc(f, 20, GMEM_DISCARDABLE));
    cr_assert_null(RsvGlobalReAlloc(m, 20, GMEM_MOVEABLE | GMEM_DISCARDABLE));
    cr_assert_eq(RsvGlobalSize(f), S);
    cr_assert_eq(RsvGlobalSize(m), S);
    RsvGlobalFree(f);
    RsvGlobalFree(m);
}

Test(global, GL_77_unlocked_moveable_resize, T)
{
    UINT fl[] = {0, GMEM_MOVEABLE};
    for (int k = 0; k < 2; k++) {
        HGLOBAL h = moveable(S);
        memset(RsvGlobalLock(h), 0x33, S);
        RsvGlobalUnlock(h);
        cr_assert_eq(RsvGlobalReAlloc(h, 512, fl[k]), h);
        cr_assert_eq(RsvGlobalSize(h), 512);
        unsigned char *p = RsvGlobalLock(h);
        for (SIZE_T i = 0; i < S; i++) cr_assert_eq(p[i], 0x33);
        RsvGlobalUnlock(h);
        cr_assert_eq(RsvGlobalReAlloc(h, 10, fl[k]), h);
        cr_assert_eq(RsvGlobalSize(h), 10);
        RsvGlobalFree(h);
    }
}

Test(global, GL_78_unlocked_moveable_to_zero, T)
{
    HGLOBAL h = moveable(S);
    cr_assert_null(RsvGlobalReAlloc(h, 0, 0));
    cr_assert_eq(RsvGlobalSize(h), S);
    cr_assert_eq(RsvGlobalReAlloc(h, 0, GMEM_MOVEABLE), h);
    cr_assert_null(*(void **)h);
    cr_assert_eq(RsvGlobalSize(h), 0);
    cr_assert_neq(RsvGlobalFlags(h) & GMEM_DISCARDED, 0);
    RsvGlobalFree(h);
}

Test(global, GL_79_discarded_reallocates_under_same_handle, T)
{
    HGLOBAL h = moveable(S);
    RsvGlobalDiscard(h);
    cr_assert_eq(RsvGlobalReAlloc(h, 10, GMEM_MOVEABLE), h);
    cr_assert_eq(RsvGlobalSize(h), 10);
    cr_assert_not_null(RsvGlobalLock(h));
    cr_assert_eq(RsvGlobalFlags(h) & GMEM_DISCARDED, 0);
    RsvGlobalFree(h);
}

Test(global, GL_80_locked_moveable_rules, T)
{
    HGLOBAL s = moveable(S), l = moveable(L);
    RsvGlobalLock(s);
    RsvGlobalLock(l);
    void *keep[32];
    for (int i = 0; i < 32; i++) keep[i] = RsvGlobalAlloc(GMEM_FIXED, S);
    /* flags 0: in place only */
    cr_assert_eq(RsvGlobalReAlloc(l, L + 512, 0), l);
    cr_assert_eq(RsvGlobalReAlloc(s, 10, 0), s);
    cr_assert_eq(RsvGlobalReAlloc(l, 10, 0), l);
    cr_assert_null(RsvGlobalReAlloc(s, 0x100000, 0));
    /* size 0 never discards a locked object */
    cr_assert_null(RsvGlobalReAlloc(s, 0, GMEM_MOVEABLE));
    cr_assert_null(RsvGlobalReAlloc(s, 0, 0));
    /* GMEM_MOVEABLE: may move despite the lock, lock count kept */
    cr_assert_eq(RsvGlobalReAlloc(s, 0x100000, GMEM_MOVEABLE), s);
    cr_assert_eq(RsvGlobalSize(s), 0x100000);
    cr_assert_eq(RsvGlobalFlags(s) & GMEM_LOCKCOUNT, 1);
    cr_assert_eq(RsvGlobalHandle(*(void **)s), s);
    for (int i = 0; i < 32; i++) RsvGlobalFree(keep[i]);
    RsvGlobalFree(s);
    RsvGlobalFree(l);
}

Test(global, GL_81_zeroinit_growth, T)
{
    HGLOBAL h = moveable(100000);
    memset(RsvGlobalLock(h), 0x7F, 100000);
    RsvGlobalUnlock(h);
    cr_assert_eq(RsvGlobalReAlloc(h, 200000, GMEM_MOVEABLE | GMEM_ZEROINIT), h);
    unsigned char *p = RsvGlobalLock(h);
    cr_assert_eq(p[99999], 0x7F);
    cr_assert(zeroed(p + 100000, 100000));
    RsvGlobalFree(h);
}

Test(global, GL_82_failure_leaves_object, T)
{
    HGLOBAL h = moveable(S);
    memset(RsvGlobalLock(h), 0x21, S);
    RsvGlobalUnlock(h);
    cr_assert_null(RsvGlobalReAlloc(h, ~(SIZE_T)0, GMEM_MOVEABLE));
    cr_assert_eq(RsvGlobalSize(h), S);
    unsigned char *p = RsvGlobalLock(h);
    for (SIZE_T i = 0; i < S; i++) cr_assert_eq(p[i], 0x21);
    RsvGlobalFree(h);
}

Test(global, GL_83_local_realloc_matrix, T)
{
    HLOCAL h = RsvLocalAlloc(LMEM_MOVEABLE, S);
    cr_assert_eq(RsvLocalReAlloc(h, 512, LMEM_MOVEABLE), h);
    cr_assert_eq(RsvLocalSize(h), 512);
    cr_assert_null(RsvLocalReAlloc(h, 0, 0));
    cr_assert_eq(RsvLocalReAlloc(h, 0, LMEM_MOVEABLE), h);
    cr_assert_eq(RsvLocalSize(h), 0);
    cr_assert_null(RsvLocalReAlloc(h, 10, LMEM_MOVEABLE | LMEM_DISCARDABLE));
    RsvLocalFree(h);
}

/* ---- 9.9 Discard, 9.10 Free ------------------------------------------------------------ */

Test(global, GL_90_discard_needs_unlocked, T)
{
    HGLOBAL h = moveable(S);
    RsvGlobalLock(h);
    cr_assert_null(RsvGlobalDiscard(h));
    RsvGlobalUnlock(h);
    cr_assert_eq(RsvGlobalDiscard(h), h);
    cr_assert_eq(RsvGlobalSize(h), 0);
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvGlobalLock(h));
    cr_assert_eq(RsvGetLastError(), ERROR_DISCARDED);
    cr_assert_eq(RsvGlobalReAlloc(h, 5, GMEM_MOVEABLE), h);
    RsvGlobalFree(h);
}

Test(global, GL_91_local_discard_fixed, T)
{
    void *p = RsvLocalAlloc(LMEM_FIXED, L);
    cr_assert_eq(RsvLocalDiscard(p), p);
    cr_assert_eq(RsvLocalSize(p), 0);
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvLocalUnlock(p));
    cr_assert_eq(RsvGetLastError(), ERROR_NOT_LOCKED);
    RsvLocalFree(p);
}

Test(global, GL_100_free_null, T)
{
    cr_assert_null(RsvGlobalFree(NULL));
    cr_assert_null(RsvLocalFree(NULL));
}

Test(global, GL_101_free_returns_null_on_success, T)
{
    cr_assert_null(RsvGlobalFree(RsvGlobalAlloc(GMEM_FIXED, 3)));
    cr_assert_null(RsvGlobalFree(moveable(3)));
    cr_assert_null(RsvLocalFree(RsvLocalAlloc(LMEM_MOVEABLE, 3)));
    cr_assert_eq(RsvGlobalFree(GARBAGE_HANDLE), GARBAGE_HANDLE);
}

Test(global, GL_102_locked_object_freed, T)
{
    HGLOBAL h = moveable(S);
    RsvGlobalLock(h);
    RsvGlobalLock(h);
    cr_assert_null(RsvGlobalFree(h));
    cr_assert_eq(RsvGlobalFlags(h), GMEM_INVALID_HANDLE);
}

Test(global, GL_103_double_free, T)
{
    HGLOBAL h = freed_handle();
    RsvSetLastError(0xdeadbeef);
    cr_assert_eq(RsvGlobalFree(h), h);
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
    void *p = RsvGlobalAlloc(GMEM_FIXED, 10);
    cr_assert_null(RsvGlobalFree(p));
    RsvSetLastError(0xdeadbeef);
    cr_assert_eq(RsvGlobalFree(p), p); /* [R]: no crash on 64-bit either */
}

Test(global, GL_104_free_garbage, T)
{
    RsvSetLastError(0xdeadbeef);
    cr_assert_eq(RsvGlobalFree(GARBAGE_HANDLE), GARBAGE_HANDLE);
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
    RsvSetLastError(0xdeadbeef);
    cr_assert_eq(RsvGlobalFree(GARBAGE_PTR), GARBAGE_PTR);
    cr_assert_eq(RsvGetLastError(), ERROR_NOACCESS);
}

Test(global, GL_105_size_after_free, T)
{
    HGLOBAL h = freed_handle();
    cr_assert_eq(RsvGlobalSize(h), 0);
}

/* ---- threads: handles allocated in one thread, freed in another ------------------- */

static void *alloc_many(void *arg)
{
    HGLOBAL *hs = arg;
    for (int i = 0; i < 5000; i++) hs[i] = RsvGlobalAlloc(GMEM_MOVEABLE, (SIZE_T)(i % 50) + 1);
    return NULL;
}

Test(global, handles_cross_threads, T)
{
    static HGLOBAL hs[4][5000];
    pthread_t t[4];
    for (int k = 0; k < 4; k++) cr_assert_eq(pthread_create(&t[k], NULL, alloc_many, hs[k]), 0);
    for (int k = 0; k < 4; k++) pthread_join(t[k], NULL);
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 5000; i++) {
            cr_assert_eq(RsvGlobalSize(hs[k][i]), (SIZE_T)(i % 50) + 1);
            cr_assert_null(RsvGlobalFree(hs[k][i]));
        }
}
