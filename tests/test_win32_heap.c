/* tests/test_win32_heap.c — Criterion suite for the Win32 Heap* façade:
 * one test per behavior of ../shared/win32-memory-spec.md sections 2-8,
 * named after its number (HC_1 ... HI_10).  Behaviors the spec marks as
 * optional fidelity or that docs/win32.md lists as deviations are noted
 * where they would be.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reservoir/win32.h"

#define P sizeof(void *)


#define A ((SIZE_T)0x8000 * P)
#define T .timeout = 30

static HANDLE new_heap(DWORD flags, SIZE_T init, SIZE_T max)
{
    HANDLE h = RsvHeapCreate(flags, init, max);
    cr_assert_not_null(h);
    return h;
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i]) return 0;
    return 1;
}

/* ---- exception handler used by the non-death tests ----------------------- */
static _Thread_local DWORD seen_status;
static _Thread_local int seen_count;
static void record_exception(DWORD status)
{
    seen_status = status;
    seen_count++;
}

/* ---- 2. HeapCreate / HeapDestroy / GetProcessHeap(s) ---------------------- */

Test(heap, HC_1_create_growable, T)
{
    HANDLE h = RsvHeapCreate(0, 0, 0);
    cr_assert_not_null(h);
    void *p = RsvHeapAlloc(h, 0, 100);
    cr_assert_not_null(p);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HC_2_handles_64k_aligned, T)
{
    HANDLE hs[6];
    for (int i = 0; i < 6; i++) {
        hs[i] = new_heap(i & 1 ? HEAP_NO_SERIALIZE : 0, 0, i < 3 ? 0 : 0x100000);
        cr_assert_eq((uintptr_t)hs[i] & 0xFFFF, 0);
    }
    for (int i = 0; i < 6; i++) cr_assert(RsvHeapDestroy(hs[i]));
}

Test(heap, HC_3_count_tracks_create_destroy, T)
{
    DWORD n0 = RsvGetProcessHeaps(0, NULL);
    HANDLE a = new_heap(0, 0, 0);
    cr_assert_eq(RsvGetProcessHeaps(0, NULL), n0 + 1);
    HANDLE b = new_heap(0, 0, 0);
    cr_assert_eq(RsvGetProcessHeaps(0, NULL), n0 + 2);
    cr_assert(RsvHeapDestroy(a));
    cr_assert_eq(RsvGetProcessHeaps(0, NULL), n0 + 1);
    cr_assert(RsvHeapDestroy(b));
    cr_assert_eq(RsvGetProcessHeaps(0, NULL), n0);
}

Test(heap, HC_4_only_meaningful_create_flags, T)
{
    /* Debug and shared flags are dropped: the heap is an ordinary serialised
     * heap, so the LFH can be enabled (it cannot with HEAP_NO_SERIALIZE). */
    HANDLE h = new_heap(HEAP_TAIL_CHECKING_ENABLED | HEAP_FREE_CHECKING_ENABLED | 0x04000000, 0, 0);
    ULONG two = 2;
    cr_assert(RsvHeapSetInformation(h, HeapCompatibilityInformation, &two, sizeof two));
    HANDLE n = new_heap(HEAP_NO_SERIALIZE | HEAP_TAIL_CHECKING_ENABLED, 0, 0);
    cr_assert_not(RsvHeapSetInformation(n, HeapCompatibilityInformation, &two, sizeof two));
    cr_assert(RsvHeapDestroy(h));
    cr_assert(RsvHeapDestroy(n));
}

Test(heap, HC_5_growable_takes_large_blocks, T)
{
    HANDLE h = new_heap(0, 0, 0);
    void *p = RsvHeapAlloc(h, 0, 5 * A + 1);
    cr_assert_not_null(p);
    cr_assert_eq(RsvHeapSize(h, 0, p), 5 * A + 1);
    memset(p, 0x5A, 5 * A + 1);
    void *q = RsvHeapAlloc(h, 0, 64 * A);
    cr_assert_not_null(q);
    cr_assert(RsvHeapFree(h, 0, p));
    cr_assert(RsvHeapFree(h, 0, q));
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HC_6_fixed_heap_never_grows, T)
{
    HANDLE h = new_heap(0, 0, 0x100000);
    SIZE_T total = 0;
    void *p;
    while ((p = RsvHeapAlloc(h, 0, 0x10000)) != NULL) total += 0x10000;
    cr_assert_eq(RsvGetLastError(), ERROR_NOT_ENOUGH_MEMORY);
    cr_assert_leq(total, 0x100000);
    cr_assert_geq(total, 0x100000 - 0x20000);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HC_7_fixed_heap_max_block, T)
{
    HANDLE h = new_heap(0, 8 * A, 8 * A);
    void *p = RsvHeapAlloc(h, 0, A);
    cr_assert_not_null(p);
    p = RsvHeapReAlloc(h, 0, p, 2 * A);
    cr_assert_not_null(p);
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvHeapAlloc(h, 0, 4 * A));
    cr_assert_eq(RsvGetLastError(), ERROR_NOT_ENOUGH_MEMORY);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HC_8_fixed_heap_overhead_window, T)
{
    HANDLE h = new_heap(0, A, A);
    SIZE_T ok = A - (0x400 + 0x100 * P);
    void *p = RsvHeapAlloc(h, 0, ok);
    cr_assert_not_null(p);
    cr_assert_eq(RsvHeapSize(h, 0, p), ok);
    cr_assert(RsvHeapFree(h, 0, p));
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvHeapAlloc(h, 0, A - (0x200 + 0x80 * P)));
    cr_assert_eq(RsvGetLastError(), ERROR_NOT_ENOUGH_MEMORY);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HC_9_initial_size_any_value, T)
{
    SIZE_T sizes[] = {0, 1, 4095, 4097, 12345, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        HANDLE h = new_heap(0, sizes[i], 0);
        cr_assert_not_null(RsvHeapAlloc(h, 0, 10));
        cr_assert(RsvHeapDestroy(h));
    }
}

Test(heap, HC_10_initial_above_maximum_is_clamped, T)
{
    HANDLE h = new_heap(0, 0x200000, 0x40000);
    SIZE_T total = 0;
    while (RsvHeapAlloc(h, 0, 0x8000)) total += 0x8000;
    cr_assert_lt(total, 0x40000);
    cr_assert_gt(total, 0);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HC_11_create_failure_sets_error, T)
{
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvHeapCreate(0, 0, ~(SIZE_T)0));
    cr_assert_eq(RsvGetLastError(), ERROR_NOT_ENOUGH_MEMORY);
}

Test(heap, HC_12_generate_exceptions_at_create_aborts, .signal = SIGABRT, T)
{
    HANDLE h = RsvHeapCreate(HEAP_GENERATE_EXCEPTIONS, 0, 0);
    RsvHeapAlloc(h, 0, ~(SIZE_T)0);
}

Test(heap, HC_12_generate_exceptions_reaches_handler, T)
{
    rsv_win32_exception_fn old = rsv_win32_set_exception_handler(record_exception);
    HANDLE h = new_heap(HEAP_GENERATE_EXCEPTIONS, 0, 0);
    seen_count = 0;
    cr_assert_null(RsvHeapAlloc(h, 0, ~(SIZE_T)0));
    cr_assert_eq(seen_count, 1);
    cr_assert_eq(seen_status, STATUS_NO_MEMORY);
    cr_assert_eq(RsvGetLastError(), ERROR_NOT_ENOUGH_MEMORY);
    void *p = RsvHeapAlloc(h, 0, 16);
    cr_assert_null(RsvHeapReAlloc(h, 0, p, ~(SIZE_T)0));
    cr_assert_eq(seen_count, 2);
    rsv_win32_set_exception_handler(old);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HC_13_enable_execute_gives_executable_pages, T)
{
    HANDLE h = new_heap(HEAP_CREATE_ENABLE_EXECUTE, 0, 0);
    void *p = RsvHeapAlloc(h, 0, 64);
    cr_assert_not_null(p);
    MEMORY_BASIC_INFORMATION m;
    cr_assert_eq(RsvVirtualQuery(p, &m, sizeof m), sizeof m);
    cr_assert_eq(m.State, MEM_COMMIT);
    cr_assert_eq(m.Protect, PAGE_EXECUTE_READWRITE);
    HANDLE n = new_heap(0, 0, 0);
    void *q = RsvHeapAlloc(n, 0, 64);
    cr_assert_eq(RsvVirtualQuery(q, &m, sizeof m), sizeof m);
    cr_assert_eq(m.Protect, PAGE_READWRITE);
    cr_assert(RsvHeapDestroy(h));
    cr_assert(RsvHeapDestroy(n));
}

Test(heap, HC_14_call_flags_cannot_clear_create_flags, T)
{
    rsv_win32_exception_fn old = rsv_win32_set_exception_handler(record_exception);
    HANDLE h = new_heap(HEAP_GENERATE_EXCEPTIONS, 0, 0);
    seen_count = 0;
    cr_assert_null(RsvHeapAlloc(h, 0, ~(SIZE_T)0));
    cr_assert_eq(seen_count, 1);
    /* and a per-call flag adds the option on a plain heap */
    HANDLE g = new_heap(0, 0, 0);
    cr_assert_null(RsvHeapAlloc(g, 0, ~(SIZE_T)0));
    cr_assert_eq(seen_count, 1);
    cr_assert_null(RsvHeapAlloc(g, HEAP_GENERATE_EXCEPTIONS, ~(SIZE_T)0));
    cr_assert_eq(seen_count, 2);
    rsv_win32_set_exception_handler(old);
    cr_assert(RsvHeapDestroy(h));
    cr_assert(RsvHeapDestroy(g));
}

Test(heap, HC_15_no_serialize_heap_never_gets_lfh, T)
{
    HANDLE h = new_heap(HEAP_NO_SERIALIZE, 0, 0);
    ULONG two = 2, v = 9;
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvHeapSetInformation(h, HeapCompatibilityInformation, &two, sizeof two));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_PARAMETER);
    cr_assert(RsvHeapQueryInformation(h, HeapCompatibilityInformation, &v, sizeof v, NULL));
    cr_assert_eq(v, 0);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HD_1_destroy_releases_live_blocks, T)
{
    HANDLE h = new_heap(0, 0, 0);
    for (int i = 0; i < 1000; i++) cr_assert_not_null(RsvHeapAlloc(h, 0, (SIZE_T)(i * 37 % 5000)));
    cr_assert_not_null(RsvHeapAlloc(h, 0, 3 * 1024 * 1024));
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HD_2_process_heap_cannot_be_destroyed, T)
{
    HANDLE ph = RsvGetProcessHeap();
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvHeapDestroy(ph));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
    void *p = RsvHeapAlloc(ph, 0, 10);
    cr_assert_not_null(p);
    cr_assert(RsvHeapFree(ph, 0, p));
}

Test(heap, HD_3_destroy_invalid_handle, T)
{
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvHeapDestroy((HANDLE)(uintptr_t)0x12340000));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
    cr_assert_not(RsvHeapDestroy(NULL));
    int local;
    cr_assert_not(RsvHeapDestroy((HANDLE)&local));
}

Test(heap, HD_4_destroyed_handle_is_invalid, T)
{
    HANDLE h = new_heap(0, 0, 0);
    cr_assert(RsvHeapDestroy(h));
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvHeapDestroy(h));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
    cr_assert_null(RsvHeapAlloc(h, 0, 1));
    cr_assert_eq(RsvHeapSize(h, 0, NULL), (SIZE_T)-1);
}

Test(heap, PH_1_process_heap_is_stable_and_first, T)
{
    HANDLE a = RsvGetProcessHeap(), b = RsvGetProcessHeap();
    cr_assert_not_null(a);
    cr_assert_eq(a, b);
    HANDLE hs[64];
    DWORD n = RsvGetProcessHeaps(64, hs);
    cr_assert_geq(n, 1);
    cr_assert_eq(hs[0], a);
}

Test(heap, PH_2_count_without_writing, T)
{
    DWORD n = RsvGetProcessHeaps(0, NULL);
    cr_assert_geq(n, 1);
    cr_assert_leq(n, 6);
    HANDLE sentinel[2] = {(HANDLE)1, (HANDLE)2};
    cr_assert_eq(RsvGetProcessHeaps(0, sentinel), n);
    cr_assert_eq(sentinel[0], (HANDLE)1);
}

Test(heap, PH_3_creation_order, T)
{
    HANDLE a = new_heap(0, 0, 0), b = new_heap(0, 0, 0);
    HANDLE hs[64];
    DWORD n = RsvGetProcessHeaps(64, hs);
    cr_assert_geq(n, 3);
    cr_assert_eq(hs[0], RsvGetProcessHeap());
    int ia = -1, ib = -1;
    for (DWORD i = 0; i < n; i++) {
        if (hs[i] == a) ia = (int)i;
        if (hs[i] == b) ib = (int)i;
    }
    cr_assert(ia > 0 && ib > ia);
    /* a destroyed-and-reused slot still sorts by creation time */
    cr_assert(RsvHeapDestroy(a));
    HANDLE c = new_heap(0, 0, 0);
    n = RsvGetProcessHeaps(64, hs);
    cr_assert_eq(hs[n - 1], c);
    cr_assert(RsvHeapDestroy(b));
    cr_assert(RsvHeapDestroy(c));
}

Test(heap, PH_4_short_buffer_partial_fill, T)
{
    HANDLE a = new_heap(0, 0, 0);
    HANDLE hs[2] = {NULL, NULL};
    DWORD n = RsvGetProcessHeaps(1, hs);
    cr_assert_geq(n, 2);
    cr_assert_eq(hs[0], RsvGetProcessHeap());
    cr_assert_null(hs[1]);
    cr_assert(RsvHeapDestroy(a));
}

Test(heap, PH_5_never_zero, T) { cr_assert_neq(RsvGetProcessHeaps(0, NULL), 0); }

/* ---- 3. HeapAlloc ------------------------------------------------------------ */

Test(heap, HA_1_zero_bytes_unique, T)
{
    HANDLE hs[2] = {new_heap(0, 0, 0), new_heap(0, 0, 0x10000)};
    for (int k = 0; k < 2; k++) {
        void *a = RsvHeapAlloc(hs[k], 0, 0), *b = RsvHeapAlloc(hs[k], 0, 0);
        cr_assert_not_null(a);
        cr_assert_not_null(b);
        cr_assert_neq(a, b);
        cr_assert_eq(RsvHeapSize(hs[k], 0, a), 0);
        cr_assert(RsvHeapValidate(hs[k], 0, a));
        cr_assert(RsvHeapFree(hs[k], 0, a));
        cr_assert(RsvHeapFree(hs[k], 0, b));
        cr_assert(RsvHeapDestroy(hs[k]));
    }
}

Test(heap, HA_2_size_is_exact, T)
{
    HANDLE h = new_heap(0, 0, 0);
    SIZE_T sizes[] = {0, 1, 17, 123, 456, A, 5 * A, 1 << 20, 3000 * 1024 + 37};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        void *p = RsvHeapAlloc(h, 0, sizes[i]);
        cr_assert_not_null(p);
        cr_assert_eq(RsvHeapSize(h, 0, p), sizes[i]);
        cr_assert_eq(RsvHeapSize(RsvGetProcessHeap(), 0, p), (SIZE_T)-1);
    }
    void *q = RsvHeapAlloc(RsvGetProcessHeap(), 0, 77);
    cr_assert_eq(RsvHeapSize(RsvGetProcessHeap(), 0, q), 77);
    cr_assert(RsvHeapFree(RsvGetProcessHeap(), 0, q));
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HA_3_zero_memory, T)
{
    HANDLE h = new_heap(0, 0, 0);
    SIZE_T sizes[] = {1, A, 1 << 20};
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < 3; i++) {
            /* dirty then free, so a reused block would show stale bytes */
            void *d = RsvHeapAlloc(h, 0, sizes[i]);
            memset(d, 0xAB, sizes[i]);
            cr_assert(RsvHeapFree(h, 0, d));
            void *p = RsvHeapAlloc(h, HEAP_ZERO_MEMORY, sizes[i]);
            cr_assert_not_null(p);
            cr_assert(all_zero(p, sizes[i]));
            memset(p, 0xCD, sizes[i]);
            cr_assert(RsvHeapFree(h, 0, p));
        }
    }
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HA_4_max_size_fails_without_wrap, T)
{
    HANDLE hs[3] = {RsvGetProcessHeap(), new_heap(0, 0, 0), new_heap(0, 0, 0x100000)};
    for (int k = 0; k < 3; k++) {
        RsvSetLastError(0xdeadbeef);
        cr_assert_null(RsvHeapAlloc(hs[k], 0, ~(SIZE_T)0));
        cr_assert_eq(RsvGetLastError(), ERROR_NOT_ENOUGH_MEMORY);
    }
    cr_assert(RsvHeapDestroy(hs[1]));
    cr_assert(RsvHeapDestroy(hs[2]));
}

Test(heap, HA_5_near_max_sizes_never_wrap, T)
{
    HANDLE h = new_heap(0, 0, 0);
    for (SIZE_T d = 0; d < 4200; d += 7) {
        cr_assert_null(RsvHeapAlloc(h, 0, ~(SIZE_T)0 - d));
        cr_assert_null(RsvHeapAlloc(h, HEAP_ZERO_MEMORY, ((SIZE_T)1 << (8 * P - 1)) + d));
    }
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HA_6_failure_sets_not_enough_memory, T)
{
    HANDLE h = new_heap(0, 0, 0x20000);
    void *p;
    while ((p = RsvHeapAlloc(h, 0, 0x1000)) != NULL) {
    }
    cr_assert_eq(RsvGetLastError(), ERROR_NOT_ENOUGH_MEMORY);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HA_7_generate_exceptions_per_call_aborts, .signal = SIGABRT, T)
{
    RsvHeapAlloc(RsvGetProcessHeap(), HEAP_GENERATE_EXCEPTIONS, ~(SIZE_T)0);
}

Test(heap, HA_7_exception_handler_gets_status, T)
{
    rsv_win32_exception_fn old = rsv_win32_set_exception_handler(record_exception);
    seen_count = 0;
    cr_assert_null(RsvHeapAlloc(RsvGetProcessHeap(), HEAP_GENERATE_EXCEPTIONS, ~(SIZE_T)0));
    cr_assert_eq(seen_count, 1);
    cr_assert_eq(seen_status, STATUS_NO_MEMORY);
    /* an invalid heap handle does not raise (Wine's behaviour) */
    cr_assert_null(RsvHeapAlloc((HANDLE)(uintptr_t)0x10000, HEAP_GENERATE_EXCEPTIONS, 1));
    cr_assert_eq(seen_count, 1);
    cr_assert_eq(rsv_win32_set_exception_handler(old), record_exception);
}

Test(heap, HA_8_alignment, T)
{
    HANDLE h = new_heap(0, 0, 0);
    int under = 0;
    for (int i = 0; i < 128; i++) {
        void *p = RsvHeapAlloc(h, 0, A);
        cr_assert_not_null(p);
        cr_assert_eq((uintptr_t)p % MEMORY_ALLOCATION_ALIGNMENT, 0);
        if ((uintptr_t)p % (4 * P)) under = 1;
    }
    cr_assert(under);
    for (SIZE_T n = 0; n < 300; n++) cr_assert_eq((uintptr_t)RsvHeapAlloc(h, 0, n) % (2 * P), 0);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HA_9_large_blocks_apart_and_aligned, T)
{
    HANDLE h = new_heap(0, 0, 0);
    SIZE_T big = (SIZE_T)0x10000 * 2 * P - 0x1000;
    char *a = RsvHeapAlloc(h, 0, big), *b = RsvHeapAlloc(h, 0, big);
    cr_assert_not_null(a);
    cr_assert_not_null(b);
    cr_assert_eq((uintptr_t)a % (8 * P), 0);
    cr_assert_eq((uintptr_t)b % (8 * P), 0);
    cr_assert(b > a + big || a > b + big);
    cr_assert_neq(a + big, b);
    cr_assert_neq(b + big, a);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HA_11_no_serialize_call_skips_lock, T)
{
    /* HA-11 and HL-1 together, in one thread pair; see below. */
    HANDLE h = new_heap(0, 0, 0);
    cr_assert(RsvHeapLock(h));
    void *p = RsvHeapAlloc(h, HEAP_NO_SERIALIZE, 0); /* owner: never blocks */
    cr_assert_not_null(p);
    cr_assert(RsvHeapFree(h, HEAP_NO_SERIALIZE, p));
    cr_assert(RsvHeapUnlock(h));
    cr_assert(RsvHeapDestroy(h));
}

typedef struct lock_probe {
    HANDLE h;
    DWORD flags;
    atomic_int done;
} lock_probe_t;

static void *probe_thread(void *arg)
{
    lock_probe_t *pr = arg;
    void *p = RsvHeapAlloc(pr->h, pr->flags, 0);
    RsvHeapFree(pr->h, pr->flags, p);
    atomic_store(&pr->done, 1);
    return NULL;
}

/* Runs a probe thread while this thread holds HeapLock; returns whether it
 * finished before the unlock.  A probe expected to finish gets up to 10 s
 * (a loaded 2-core CI machine may not schedule it for a while: no false
 * failure); one expected to block is given 200 ms to prove it does not. */
static int probe_while_locked(HANDLE h, DWORD flags, int expect_done)
{
    lock_probe_t pr = {h, flags, 0};
    pthread_t t;
    int wait_ms = expect_done ? 10000 : 200;
    cr_assert(RsvHeapLock(h));
    cr_assert_eq(pthread_create(&t, NULL, probe_thread, &pr), 0);
    for (int i = 0; i < wait_ms && !atomic_load(&pr.done); i++) usleep(1000);
    int before = atomic_load(&pr.done);
    cr_assert(RsvHeapUnlock(h));
    pthread_join(t, NULL);
    cr_assert_eq(atomic_load(&pr.done), 1);
    return before;
}

Test(heap, HA_11_other_thread_no_serialize_proceeds, T)
{
    HANDLE h = new_heap(0, 0, 0);
    cr_assert(probe_while_locked(h, HEAP_NO_SERIALIZE, 1));
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HA_13_unknown_flags_tolerated, T)
{
    HANDLE h = new_heap(0, 0, 0);
    void *p = RsvHeapAlloc(h, 0x100 | 0x200 | 0xC00, 24);
    cr_assert_not_null(p);
    cr_assert_eq(RsvHeapSize(h, 0xF00, p), 24);
    cr_assert(RsvHeapFree(h, 0xF00, p));
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HA_14_blocks_do_not_move, T)
{
    HANDLE h = new_heap(0, 0, 0);
    unsigned char *p = RsvHeapAlloc(h, 0, 1000);
    memset(p, 0x77, 1000);
    void *others[500];
    for (int i = 0; i < 500; i++) others[i] = RsvHeapAlloc(h, 0, (SIZE_T)(i * 13));
    for (int i = 0; i < 500; i += 2) cr_assert(RsvHeapFree(h, 0, others[i]));
    for (int i = 0; i < 1000; i++) cr_assert_eq(p[i], 0x77);
    cr_assert(RsvHeapValidate(h, 0, p));
    cr_assert(RsvHeapDestroy(h));
}

/* ---- 4. HeapReAlloc ---------------------------------------------------------- */

Test(heap, HR_1_null_pointer_is_not_alloc, T)
{
    HANDLE h = new_heap(0, 0, 0);
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvHeapReAlloc(h, 0, NULL, 10));
    cr_assert_eq(RsvGetLastError(), NO_ERROR);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HR_2_realloc_to_zero_keeps_block, T)
{
    HANDLE h = new_heap(0, 0, 0);
    void *p = RsvHeapAlloc(h, 0, 100);
    void *q = RsvHeapReAlloc(h, 0, p, 0);
    cr_assert_not_null(q);
    cr_assert_eq(RsvHeapSize(h, 0, q), 0);
    cr_assert(RsvHeapValidate(h, 0, q));
    cr_assert(RsvHeapFree(h, 0, q));
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HR_3_oversize_realloc_fails_block_intact, T)
{
    HANDLE h = new_heap(0, 0, 0);
    unsigned char *p = RsvHeapAlloc(h, 0, 50);
    memset(p, 0x3C, 50);
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvHeapReAlloc(h, 0, p, ~(SIZE_T)0));
    cr_assert_eq(RsvGetLastError(), ERROR_NOT_ENOUGH_MEMORY);
    cr_assert_null(RsvHeapReAlloc(h, 0, p, ~(SIZE_T)0 - 7));
    cr_assert(RsvHeapValidate(h, 0, p));
    cr_assert_eq(RsvHeapSize(h, 0, p), 50);
    for (int i = 0; i < 50; i++) cr_assert_eq(p[i], 0x3C);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HR_4_failure_leaves_block_owned, T)
{
    HANDLE h = new_heap(0, 0, 0x20000);
    unsigned char *p = RsvHeapAlloc(h, 0, 0x1000);
    memset(p, 0x11, 0x1000);
    cr_assert_null(RsvHeapReAlloc(h, 0, p, 0x40000));
    for (int i = 0; i < 0x1000; i++) cr_assert_eq(p[i], 0x11);
    cr_assert(RsvHeapFree(h, 0, p));
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HR_5_content_preserved_on_move, T)
{
    HANDLE h = new_heap(0, 0, 0);
    unsigned char *p = RsvHeapAlloc(h, 0, 40);
    for (int i = 0; i < 40; i++) p[i] = (unsigned char)i;
    void *block = RsvHeapAlloc(h, 0, 40); /* likely neighbour: forces a move */
    unsigned char *q = RsvHeapReAlloc(h, 0, p, 100000);
    cr_assert_not_null(q);
    for (int i = 0; i < 40; i++) cr_assert_eq(q[i], i);
    q = RsvHeapReAlloc(h, 0, q, 10);
    for (int i = 0; i < 10; i++) cr_assert_eq(q[i], i);
    cr_assert(RsvHeapFree(h, 0, block));
    cr_assert(RsvHeapDestroy(h));
}

static void check_zero_tail(HANDLE h, SIZE_T from, SIZE_T to)
{
    unsigned char *p = RsvHeapAlloc(h, 0, from);
    cr_assert_not_null(p);
    memset(p, 0xEE, from);
    /* shrink and dirty the spare capacity so in-place growth must zero */
    unsigned char *q = RsvHeapReAlloc(h, HEAP_ZERO_MEMORY, p, to);
    cr_assert_not_null(q);
    for (SIZE_T i = 0; i < from; i++) cr_assert_eq(q[i], 0xEE);
    cr_assert(all_zero(q + from, to - from));
    cr_assert(RsvHeapFree(h, 0, q));
}

Test(heap, HR_6_zero_memory_zeroes_only_grown_tail, T)
{
    HANDLE g = new_heap(0, 0, 0);
    check_zero_tail(g, 1, 1 << 20);
    check_zero_tail(g, A, 3 * A);
    HANDLE f = new_heap(0, 8 * A, 8 * A);
    check_zero_tail(f, A, 2 * A);
    /* in place: shrink, dirty the old tail through the old size, regrow */
    unsigned char *p = RsvHeapAlloc(g, 0, 256);
    memset(p, 0x99, 256);
    cr_assert_eq(RsvHeapReAlloc(g, HEAP_REALLOC_IN_PLACE_ONLY, p, 16), p);
    cr_assert_eq(RsvHeapReAlloc(g, HEAP_REALLOC_IN_PLACE_ONLY | HEAP_ZERO_MEMORY, p, 256), p);
    for (int i = 0; i < 16; i++) cr_assert_eq(p[i], 0x99);
    cr_assert(all_zero(p + 16, 240));
    cr_assert(RsvHeapDestroy(g));
    cr_assert(RsvHeapDestroy(f));
}

Test(heap, HR_7_in_place_only_fails_cleanly, T)
{
    HANDLE h = new_heap(0, 0, 0);
    unsigned char *p = RsvHeapAlloc(h, 0, 32);
    memset(p, 0x42, 32);
    void *neighbours[64];
    for (int i = 0; i < 64; i++) neighbours[i] = RsvHeapAlloc(h, 0, 32);
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvHeapReAlloc(h, HEAP_REALLOC_IN_PLACE_ONLY, p, 100 * A));
    cr_assert_eq(RsvGetLastError(), ERROR_NOT_ENOUGH_MEMORY);
    cr_assert_eq(RsvHeapSize(h, 0, p), 32);
    for (int i = 0; i < 32; i++) cr_assert_eq(p[i], 0x42);
    void *q = RsvHeapReAlloc(h, HEAP_REALLOC_IN_PLACE_ONLY, p, 8);
    cr_assert_eq(q, p);
    for (int i = 0; i < 64; i++) cr_assert(RsvHeapFree(h, 0, neighbours[i]));
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HR_7_in_place_only_raises_with_exceptions, T)
{
    rsv_win32_exception_fn old = rsv_win32_set_exception_handler(record_exception);
    HANDLE h = new_heap(0, 0, 0);
    void *p = RsvHeapAlloc(h, 0, 32);
    seen_count = 0;
    cr_assert_null(RsvHeapReAlloc(h, HEAP_REALLOC_IN_PLACE_ONLY | HEAP_GENERATE_EXCEPTIONS, p, 100 * A));
    cr_assert_eq(seen_count, 1);
    cr_assert_eq(seen_status, STATUS_NO_MEMORY);
    rsv_win32_set_exception_handler(old);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HR_8_shrink_then_regrow_in_place, T)
{
    HANDLE hs[2] = {new_heap(0, 0, 0), new_heap(0, 8 * A, 8 * A)};
    for (int k = 0; k < 2; k++) {
        void *p = RsvHeapAlloc(hs[k], 0, 3 * A);
        cr_assert_not_null(p);
        cr_assert_eq(RsvHeapReAlloc(hs[k], HEAP_REALLOC_IN_PLACE_ONLY, p, 3 * A / 2), p);
        cr_assert_eq(RsvHeapReAlloc(hs[k], HEAP_REALLOC_IN_PLACE_ONLY, p, 2 * A), p);
        cr_assert_eq(RsvHeapSize(hs[k], 0, p), 2 * A);
        cr_assert(RsvHeapDestroy(hs[k]));
    }
}

Test(heap, HR_9_large_block_regrow_fails, T)
{
    HANDLE h = new_heap(0, 0, 0);
    SIZE_T big = 8 * A; /* above the large-block threshold */
    void *p = RsvHeapAlloc(h, 0, big);
    cr_assert_eq(RsvHeapReAlloc(h, HEAP_REALLOC_IN_PLACE_ONLY, p, big / 2), p);
    RsvSetLastError(0xdeadbeef);
    cr_assert_null(RsvHeapReAlloc(h, HEAP_REALLOC_IN_PLACE_ONLY, p, big / 2 + 0x10000));
    cr_assert_eq(RsvGetLastError(), ERROR_NOT_ENOUGH_MEMORY);
    cr_assert_eq(RsvHeapSize(h, 0, p), big / 2);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HR_11_moved_block_old_pointer_invalid, T)
{
    HANDLE h = new_heap(0, 0, 0);
    void *p = RsvHeapAlloc(h, 0, 16);
    void *q = RsvHeapReAlloc(h, 0, p, 64 * A);
    cr_assert_not_null(q);
    if (q != p) cr_assert_not(RsvHeapValidate(h, 0, p));
    cr_assert(RsvHeapValidate(h, 0, q));
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HR_12_realloc_flags_as_alloc, T)
{
    HANDLE h = new_heap(0, 0, 0);
    cr_assert(RsvHeapLock(h));
    void *p = RsvHeapAlloc(h, 0, 8);
    p = RsvHeapReAlloc(h, HEAP_NO_SERIALIZE | HEAP_ZERO_MEMORY, p, 4000);
    cr_assert_not_null(p);
    cr_assert(all_zero((char *)p + 8, 3992));
    cr_assert(RsvHeapUnlock(h));
    cr_assert(RsvHeapDestroy(h));
}

/* ---- 5. HeapFree, HeapSize, HeapValidate -------------------------------------- */

Test(heap, HF_1_free_null_is_true, T)
{
    cr_assert(RsvHeapFree(RsvGetProcessHeap(), 0, NULL));
    cr_assert(RsvHeapFree(NULL, 0, NULL));
    cr_assert(RsvHeapFree((HANDLE)(uintptr_t)0xdead0000, 0, NULL));
}

Test(heap, HF_2_freed_block_fails_validate, T)
{
    HANDLE h = new_heap(0, 0, 0);
    void *p = RsvHeapAlloc(h, 0, 64);
    cr_assert(RsvHeapFree(h, 0, p));
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvHeapValidate(h, 0, p));
    cr_assert_eq(RsvGetLastError(), 0xdeadbeef);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HF_3_wild_pointers_fail_without_crash, T)
{
    HANDLE h = RsvGetProcessHeap();
    static char buffer[256];
    int local;
    void *wild[] = {(void *)(uintptr_t)0xdeadbee0, buffer + 16, &local, (void *)(uintptr_t)16,
                    (void *)(uintptr_t)0x7ffffffff000};
    for (size_t i = 0; i < sizeof wild / sizeof *wild; i++) {
        RsvSetLastError(0xdeadbeef);
        cr_assert_not(RsvHeapFree(h, 0, wild[i]));
        cr_assert_eq(RsvGetLastError(), ERROR_INVALID_PARAMETER);
        cr_assert_eq(RsvHeapSize(h, 0, wild[i]), (SIZE_T)-1);
        cr_assert_null(RsvHeapReAlloc(h, 0, wild[i], 10));
    }
    char *p = RsvHeapAlloc(h, 0, 64);
    cr_assert_not(RsvHeapFree(h, 0, p + 16)); /* interior pointer */
    cr_assert_not(RsvHeapFree(h, 0, p + 1));
    cr_assert(RsvHeapFree(h, 0, p));
}

Test(heap, HF_4_double_free_detected, T)
{
    HANDLE h = new_heap(0, 0, 0);
    void *p = RsvHeapAlloc(h, 0, 48);
    cr_assert(RsvHeapFree(h, 0, p));
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvHeapFree(h, 0, p));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_PARAMETER);
    void *a = RsvHeapAlloc(h, 0, 48), *b = RsvHeapAlloc(h, 0, 48);
    cr_assert_neq(a, b);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HF_4_double_free_with_termination_aborts, .signal = SIGABRT, T)
{
    HANDLE h = RsvHeapCreate(0, 0, 0);
    void *p = RsvHeapAlloc(h, 0, 48);
    RsvHeapFree(h, 0, p);
    RsvHeapSetInformation(NULL, HeapEnableTerminationOnCorruption, NULL, 0);
    RsvHeapFree(h, 0, p);
}

Test(heap, HF_5_other_heap_refused, T)
{
    HANDLE a = new_heap(0, 0, 0), b = new_heap(0, 0, 0);
    void *p = RsvHeapAlloc(a, 0, 10);
    cr_assert_not(RsvHeapFree(b, 0, p));
    cr_assert(RsvHeapValidate(a, 0, p));
    cr_assert(RsvHeapFree(a, 0, p));
    cr_assert(RsvHeapDestroy(a));
    cr_assert(RsvHeapDestroy(b));
}

Test(heap, HF_6_free_returns_nonzero, T)
{
    void *p = RsvHeapAlloc(RsvGetProcessHeap(), 0, 10);
    cr_assert_eq(RsvHeapFree(RsvGetProcessHeap(), 0, p), TRUE);
    cr_assert_eq(RsvHeapFree((HANDLE)(uintptr_t)0x30000, 0, p), FALSE);
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
}

Test(heap, HS_1_size_after_realloc, T)
{
    HANDLE h = RsvGetProcessHeap();
    void *p = RsvHeapAlloc(h, 0, 10);
    SIZE_T sizes[] = {11, 5, 1000, 0, 70000, 3};
    for (size_t i = 0; i < 6; i++) {
        p = RsvHeapReAlloc(h, 0, p, sizes[i]);
        cr_assert_eq(RsvHeapSize(h, 0, p), sizes[i]);
    }
    cr_assert(RsvHeapFree(h, 0, p));
}

Test(heap, HS_2_invalid_block_size, T)
{
    HANDLE h = RsvGetProcessHeap();
    void *p = RsvHeapAlloc(h, 0, 10);
    cr_assert(RsvHeapFree(h, 0, p));
    RsvSetLastError(0xdeadbeef);
    cr_assert_eq(RsvHeapSize(h, 0, p), (SIZE_T)-1);
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_PARAMETER);
    cr_assert_eq(RsvHeapSize(h, 0, NULL), (SIZE_T)-1);
}

Test(heap, HS_3_other_heap_block, T)
{
    HANDLE a = new_heap(0, 0, 0);
    void *p = RsvHeapAlloc(a, 0, 10);
    cr_assert_eq(RsvHeapSize(RsvGetProcessHeap(), 0, p), (SIZE_T)-1);
    cr_assert(RsvHeapDestroy(a));
}

Test(heap, HV_1_whole_heap, T)
{
    HANDLE h = new_heap(0, 0, 0);
    for (int i = 0; i < 100; i++) RsvHeapAlloc(h, 0, (SIZE_T)i * 10);
    RsvSetLastError(0xdeadbeef);
    cr_assert(RsvHeapValidate(h, 0, NULL));
    cr_assert(RsvHeapValidate(RsvGetProcessHeap(), 0, NULL));
    cr_assert_eq(RsvGetLastError(), 0xdeadbeef);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HV_2_live_freed_foreign, T)
{
    HANDLE h = new_heap(0, 0, 0);
    void *p = RsvHeapAlloc(h, 0, 10);
    static char foreign[64];
    RsvSetLastError(0xdeadbeef);
    cr_assert(RsvHeapValidate(h, 0, p));
    cr_assert_not(RsvHeapValidate(h, 0, foreign + 16));
    cr_assert(RsvHeapFree(h, 0, p));
    cr_assert_not(RsvHeapValidate(h, 0, p));
    cr_assert_eq(RsvGetLastError(), 0xdeadbeef);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HV_3_unmapped_pointer_no_crash, T)
{
    cr_assert_not(RsvHeapValidate(RsvGetProcessHeap(), 0, (void *)(uintptr_t)0xdeadbee0));
    cr_assert_not(RsvHeapValidate(RsvGetProcessHeap(), 0, (void *)(uintptr_t)0x10));
}

Test(heap, HV_4_validate_never_sets_error, T)
{
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvHeapValidate((HANDLE)(uintptr_t)0x50000, 0, NULL));
    cr_assert_not(RsvHeapValidate(RsvGetProcessHeap(), 0, (void *)(uintptr_t)0x1234));
    cr_assert_eq(RsvGetLastError(), 0xdeadbeef);
}

Test(heap, HV_5_moveable_entry_is_not_a_block, T)
{
    HGLOBAL g = RsvGlobalAlloc(GMEM_MOVEABLE, 32);
    void *p = RsvGlobalLock(g);
    cr_assert_not(RsvHeapValidate(RsvGetProcessHeap(), 0, (char *)g - P));
    cr_assert(RsvHeapValidate(RsvGetProcessHeap(), 0, p));
    RsvGlobalUnlock(g);
    cr_assert_null(RsvGlobalFree(g));
}

/* ---- 6. HeapWalk --------------------------------------------------------------- */

static int walk_count(HANDLE h, void *busy, DWORD busy_size, int *seen_busy, int *bad_flags)
{
    PROCESS_HEAP_ENTRY e;
    int n = 0;
    memset(&e, 0, sizeof e);
    while (RsvHeapWalk(h, &e)) {
        n++;
        if (e.wFlags & (PROCESS_HEAP_ENTRY_MOVEABLE | PROCESS_HEAP_ENTRY_DDESHARE)) *bad_flags = 1;
        if ((e.wFlags & PROCESS_HEAP_ENTRY_BUSY) && e.lpData == busy) {
            cr_assert_eq(e.wFlags, PROCESS_HEAP_ENTRY_BUSY);
            cr_assert_eq(e.cbData, busy_size);
            cr_assert_neq(e.cbOverhead, 0);
            *seen_busy = 1;
        }
        cr_assert_lt(n, 100000);
    }
    cr_assert_eq(RsvGetLastError(), ERROR_NO_MORE_ITEMS);
    return n;
}

Test(heap, HW_1_walk_ends_with_no_more_items, T)
{
    HANDLE h = new_heap(0, 0, 0);
    int seen = 0, bad = 0;
    cr_assert_gt(walk_count(h, NULL, 0, &seen, &bad), 0);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HW_2_walk_is_repeatable, T)
{
    HANDLE h = new_heap(0, 0, 0);
    for (int i = 0; i < 20; i++) RsvHeapAlloc(h, 0, (SIZE_T)(i * 50));
    PROCESS_HEAP_ENTRY a[64], b[64];
    int na = 0, nb = 0;
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    PROCESS_HEAP_ENTRY e;
    memset(&e, 0, sizeof e);
    while (na < 64 && RsvHeapWalk(h, &e)) a[na++] = e;
    memset(&e, 0, sizeof e);
    while (nb < 64 && RsvHeapWalk(h, &e)) b[nb++] = e;
    cr_assert_eq(na, nb);
    cr_assert_eq(memcmp(a, b, sizeof(PROCESS_HEAP_ENTRY) * (size_t)na), 0);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HW_7_busy_block_entry, T)
{
    HANDLE h = new_heap(0, 0, 0);
    void *p = RsvHeapAlloc(h, 0, 123), *q = RsvHeapAlloc(h, 0, 456);
    int seen = 0, bad = 0;
    walk_count(h, p, 123, &seen, &bad);
    cr_assert(seen);
    seen = 0;
    walk_count(h, q, 456, &seen, &bad);
    cr_assert(seen);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HW_8_large_block_listed_then_gone, T)
{
    HANDLE h = new_heap(0, 0, 0);
    int seen = 0, bad = 0;
    int before = walk_count(h, NULL, 0, &seen, &bad);
    void *big = RsvHeapAlloc(h, 0, 5 * A);
    walk_count(h, big, (DWORD)(5 * A), &seen, &bad);
    cr_assert(seen);
    cr_assert(RsvHeapFree(h, 0, big));
    seen = 0;
    int after = walk_count(h, big, (DWORD)(5 * A), &seen, &bad);
    cr_assert_not(seen);
    cr_assert_leq(after, before + 2);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HW_9_no_moveable_or_ddeshare_flags, T)
{
    HGLOBAL g[16];
    for (int i = 0; i < 16; i++) g[i] = RsvGlobalAlloc(GMEM_MOVEABLE | GMEM_DDESHARE, 20);
    int seen = 0, bad = 0;
    walk_count(RsvGetProcessHeap(), NULL, 0, &seen, &bad);
    cr_assert_not(bad);
    for (int i = 0; i < 16; i++) cr_assert_null(RsvGlobalFree(g[i]));
}

Test(heap, HW_12_null_entry, T)
{
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvHeapWalk(RsvGetProcessHeap(), NULL));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_PARAMETER);
}

/* ---- 7. HeapLock / HeapUnlock / HeapCompact / HeapSummary --------------------- */

Test(heap, HL_1_lock_blocks_other_threads, T)
{
    HANDLE h = new_heap(0, 0, 0);
    cr_assert_not(probe_while_locked(h, 0, 0));
    cr_assert(RsvHeapDestroy(h));
}

static void *lock_thread(void *arg)
{
    lock_probe_t *pr = arg;
    RsvHeapLock(pr->h);
    RsvHeapUnlock(pr->h);
    atomic_store(&pr->done, 1);
    return NULL;
}

/* HL-4: the process heap behaves like an LFH heap: HeapLock excludes other
 * HeapLock callers (small allocations of other threads may proceed). */
Test(heap, HL_4_process_heap_lock_excludes_lockers, T)
{
    HANDLE h = RsvGetProcessHeap();
    lock_probe_t pr = {h, 0, 0};
    pthread_t t;
    cr_assert(RsvHeapLock(h));
    cr_assert_eq(pthread_create(&t, NULL, lock_thread, &pr), 0);
    for (int i = 0; i < 50 && !atomic_load(&pr.done); i++) usleep(1000);
    cr_assert_eq(atomic_load(&pr.done), 0);
    cr_assert(RsvHeapUnlock(h));
    pthread_join(t, NULL);
    cr_assert_eq(atomic_load(&pr.done), 1);
}

Test(heap, HL_2_lock_is_recursive, T)
{
    HANDLE h = new_heap(0, 0, 0);
    cr_assert(RsvHeapLock(h));
    cr_assert(RsvHeapLock(h));
    void *p = RsvHeapAlloc(h, 0, 10);
    PROCESS_HEAP_ENTRY e;
    memset(&e, 0, sizeof e);
    cr_assert(RsvHeapWalk(h, &e));
    cr_assert(RsvHeapFree(h, 0, p));
    cr_assert(RsvHeapUnlock(h));
    cr_assert(RsvHeapUnlock(h));
    cr_assert(probe_while_locked(h, HEAP_NO_SERIALIZE, 1));
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HL_3_no_serialize_heap_lock_excludes_nothing, T)
{
    HANDLE h = new_heap(HEAP_NO_SERIALIZE, 0, 0);
    cr_assert(probe_while_locked(h, 0, 1));
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HL_5_invalid_heap, T)
{
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvHeapLock((HANDLE)(uintptr_t)0x70000));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
    cr_assert_not(RsvHeapUnlock((HANDLE)(uintptr_t)0x70000));
    HANDLE h = new_heap(0, 0, 0);
    cr_assert_not(RsvHeapUnlock(h)); /* not held */
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HCo_1_compact_reports_free_space, T)
{
    HANDLE h = new_heap(0, 0, 0);
    void *p[100];
    for (int i = 0; i < 100; i++) p[i] = RsvHeapAlloc(h, 0, 1000);
    for (int i = 0; i < 100; i++) RsvHeapFree(h, 0, p[i]);
    RsvSetLastError(0xdeadbeef);
    SIZE_T n = RsvHeapCompact(h, 0);
    if (n == 0) cr_assert_eq(RsvGetLastError(), NO_ERROR);
    cr_assert_eq(RsvHeapCompact((HANDLE)(uintptr_t)0x70000, 0), 0);
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HSu_1_summary, T)
{
    HANDLE h = new_heap(0, 0, 0);
    RsvHeapAlloc(h, 0, 1000);
    RsvHeapAlloc(h, 0, 24);
    HEAP_SUMMARY s;
    memset(&s, 0, sizeof s);
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvHeapSummary(h, 0, &s));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_PARAMETER);
    s.cb = sizeof s;
    cr_assert_not(RsvHeapSummary(h, 1, &s));
    cr_assert(RsvHeapSummary(h, 0, &s));
    cr_assert_eq(s.cbAllocated, 1024);
    cr_assert_geq(s.cbReserved, s.cbCommitted);
    cr_assert_geq(s.cbMaxReserve, s.cbReserved);
    cr_assert(RsvHeapDestroy(h));
}

/* ---- the per-thread front (lib/win32/front.c) ------------------------------------ */

typedef struct walk_find {
    int busy_at, free_covering, entries;
    size_t busy_bytes;
} walk_find_t;

/* Walks h: is p listed busy, and is there a free entry covering p? */
static walk_find_t walk_find(HANDLE h, const void *p)
{
    walk_find_t f = {0, 0, 0, 0};
    PROCESS_HEAP_ENTRY e;
    memset(&e, 0, sizeof e);
    while (RsvHeapWalk(h, &e)) {
        f.entries++;
        cr_assert_lt(f.entries, 1000000);
        const char *d = e.lpData;
        if (e.wFlags == PROCESS_HEAP_ENTRY_BUSY) {
            f.busy_bytes += e.cbData;
            if (e.lpData == p) f.busy_at = 1;
        } else if (e.wFlags == 0 && (const char *)p >= d && (const char *)p < d + e.cbData) {
            f.free_covering = 1;
        }
    }
    cr_assert_eq(RsvGetLastError(), ERROR_NO_MORE_ITEMS);
    return f;
}

static SIZE_T summary_allocated(HANDLE h)
{
    HEAP_SUMMARY s;
    memset(&s, 0, sizeof s);
    s.cb = sizeof s;
    cr_assert(RsvHeapSummary(h, 0, &s));
    return s.cbAllocated;
}

/* A freed small block sits in this thread's bin, still allocated as far
 * as the memory behind it goes: every inspection must call it free. */
static void check_cached_block_reads_free(HANDLE h)
{
    char *keep = RsvHeapAlloc(h, 0, 40);
    char *p = RsvHeapAlloc(h, 0, 100);
    cr_assert_not_null(p);
    cr_assert_not_null(keep);
    walk_find_t before = walk_find(h, p);
    cr_assert(before.busy_at, "a live block is listed busy");
    SIZE_T alloc_before = summary_allocated(h);
    cr_assert(RsvHeapFree(h, 0, p));
    walk_find_t after = walk_find(h, p);
    cr_assert_not(after.busy_at, "a block in a bin is not busy");
    cr_assert(after.free_covering, "a block in a bin is listed as a free entry");
    cr_assert_eq(after.busy_bytes, before.busy_bytes - 100);
    cr_assert_eq(summary_allocated(h), alloc_before - 100, "HeapSummary does not count it");
    RsvSetLastError(0);
    cr_assert_eq(RsvHeapSize(h, 0, p), (SIZE_T)-1);
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_PARAMETER);
    cr_assert_not(RsvHeapValidate(h, 0, p));
    cr_assert_not(RsvHeapFree(h, 0, p), "freeing it again fails");
    cr_assert(RsvHeapValidate(h, 0, NULL));
    /* The next block of that size is the cached one, live again. */
    char *q = RsvHeapAlloc(h, 0, 100);
    cr_assert_eq(q, p);
    cr_assert_eq(RsvHeapSize(h, 0, q), 100);
    cr_assert(walk_find(h, q).busy_at);
    cr_assert(RsvHeapFree(h, 0, q));
    cr_assert(RsvHeapFree(h, 0, keep));
}

Test(front, cached_block_is_free_in_walk_summary_size_validate, T)
{
    HANDLE h = new_heap(0, 0, 0);
    check_cached_block_reads_free(h);
    cr_assert(RsvHeapDestroy(h));
    check_cached_block_reads_free(RsvGetProcessHeap());
}

/* Compact counts a cached block's room as free space. */
Test(front, compact_sees_cached_blocks, T)
{
    HANDLE h = new_heap(0, 0, 0);
    void *p[64];
    for (int i = 0; i < 64; i++) p[i] = RsvHeapAlloc(h, 0, 500);
    for (int i = 0; i < 64; i++) cr_assert(RsvHeapFree(h, 0, p[i]));
    cr_assert_geq(RsvHeapCompact(h, 0), 500);
    cr_assert(RsvHeapDestroy(h));
}

/* Blocks of a destroyed heap still in this thread's bins are dropped
 * unread: a new heap (same handle, its runs recycled) hands out each block
 * once, and fresh contents survive this thread's later calls. */
Test(front, destroyed_heap_bins_are_dropped, T)
{
    HANDLE x = new_heap(0, 0, 0);
    void *p[200];
    for (int i = 0; i < 200; i++) p[i] = RsvHeapAlloc(x, 0, (SIZE_T)(16 + i % 10 * 16));
    for (int i = 0; i < 200; i++) cr_assert(RsvHeapFree(x, 0, p[i]));
    cr_assert(RsvHeapDestroy(x));
    HANDLE z = new_heap(0, 0, 0);
    enum { N = 3000 };
    static char *q[N];
    for (int i = 0; i < N; i++) {
        SIZE_T n = (SIZE_T)(16 + i % 10 * 16);
        q[i] = RsvHeapAlloc(z, 0, n);
        cr_assert_not_null(q[i]);
        memset(q[i], (int)(i & 0xFF), n);
    }
    for (int i = 0; i < N; i++) {
        SIZE_T n = (SIZE_T)(16 + i % 10 * 16);
        cr_assert_eq(RsvHeapSize(z, 0, q[i]), n);
        for (SIZE_T k = 0; k < n; k++) cr_assert_eq((unsigned char)q[i][k], (unsigned char)(i & 0xFF));
    }
    for (int i = 0; i < N; i++) cr_assert(RsvHeapFree(z, 0, q[i]));
    cr_assert(RsvHeapValidate(z, 0, NULL));
    cr_assert(RsvHeapDestroy(z));
    /* A stale pointer of the destroyed heap is refused, never trusted. */
    cr_assert_not(RsvHeapFree(z, 0, p[0]));
}

/* The front serves heaps with any handle slot: more live heaps than a
 * thread has slots, used in turn, keep their blocks apart. */
Test(front, more_heaps_than_slots, T)
{
    enum { H = 20, B = 50 };
    HANDLE h[H];
    static void *p[H][B];
    for (int i = 0; i < H; i++) h[i] = new_heap(0, 0, 0);
    for (int r = 0; r < 3; r++) {
        for (int i = 0; i < H; i++)
            for (int j = 0; j < B; j++) {
                p[i][j] = RsvHeapAlloc(h[i], 0, 64);
                cr_assert_not_null(p[i][j]);
                memset(p[i][j], i, 64);
            }
        for (int i = 0; i < H; i++)
            for (int j = 0; j < B; j++) {
                cr_assert_eq(((unsigned char *)p[i][j])[63], (unsigned char)i);
                cr_assert_not(RsvHeapFree(h[(i + 1) % H], 0, p[i][j]), "wrong heap refused");
                cr_assert(RsvHeapFree(h[i], 0, p[i][j]));
            }
    }
    for (int i = 0; i < H; i++) {
        cr_assert(RsvHeapValidate(h[i], 0, NULL));
        cr_assert(RsvHeapDestroy(h[i]));
    }
}

/* HEAP_ZERO_MEMORY on a block that comes back from a bin is zeroed. */
Test(front, zero_memory_on_a_cached_block, T)
{
    HANDLE h = new_heap(0, 0, 0);
    unsigned char *p = RsvHeapAlloc(h, 0, 200);
    memset(p, 0xAB, 200);
    cr_assert(RsvHeapFree(h, 0, p));
    unsigned char *q = RsvHeapAlloc(h, HEAP_ZERO_MEMORY, 200);
    cr_assert_eq(q, p);
    cr_assert(all_zero(q, 200));
    cr_assert(RsvHeapDestroy(h));
}

/* ---- 8. HeapQueryInformation / HeapSetInformation ------------------------------ */

Test(heap, HI_1_fresh_heap_is_standard, T)
{
    HANDLE h = new_heap(0, 0, 0);
    ULONG v = 9;
    SIZE_T len = 0;
    cr_assert(RsvHeapQueryInformation(h, HeapCompatibilityInformation, &v, sizeof v, &len));
    cr_assert_eq(v, 0);
    cr_assert_eq(len, sizeof(ULONG));
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HI_2_buffer_checks, T)
{
    HANDLE h = RsvGetProcessHeap();
    SIZE_T len = 0;
    unsigned char big[5];
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvHeapQueryInformation(h, HeapCompatibilityInformation, NULL, 0, &len));
    cr_assert_eq(RsvGetLastError(), ERROR_INSUFFICIENT_BUFFER);
    cr_assert_eq(len, 4);
    cr_assert_not(RsvHeapQueryInformation(h, HeapCompatibilityInformation, big, 3, NULL));
    cr_assert_eq(RsvGetLastError(), ERROR_INSUFFICIENT_BUFFER);
    cr_assert(RsvHeapQueryInformation(h, HeapCompatibilityInformation, big, 5, NULL));
}

Test(heap, HI_3_null_heap_handle, T)
{
    SIZE_T len = 77;
    ULONG v;
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvHeapQueryInformation(NULL, HeapCompatibilityInformation, &v, sizeof v, &len));
    cr_assert_eq(RsvGetLastError(), ERROR_NOACCESS);
    cr_assert_eq(len, 77);
}

Test(heap, HI_4_set_lfh, T)
{
    HANDLE h = new_heap(0, 0, 0);
    ULONG two = 2, v = 0;
    cr_assert(RsvHeapSetInformation(h, HeapCompatibilityInformation, &two, sizeof two));
    cr_assert(RsvHeapQueryInformation(h, HeapCompatibilityInformation, &v, sizeof v, NULL));
    cr_assert_eq(v, 2);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HI_5_lfh_is_one_way, T)
{
    HANDLE h = new_heap(0, 0, 0);
    ULONG two = 2, zero = 0, one = 1, v = 0;
    cr_assert(RsvHeapSetInformation(h, HeapCompatibilityInformation, &two, sizeof two));
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvHeapSetInformation(h, HeapCompatibilityInformation, &zero, sizeof zero));
    cr_assert_eq(RsvGetLastError(), ERROR_GEN_FAILURE);
    cr_assert_not(RsvHeapSetInformation(h, HeapCompatibilityInformation, &one, sizeof one));
    cr_assert_eq(RsvGetLastError(), ERROR_GEN_FAILURE);
    cr_assert(RsvHeapQueryInformation(h, HeapCompatibilityInformation, &v, sizeof v, NULL));
    cr_assert_eq(v, 2);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HI_7_no_serialize_lfh_refused, T)
{
    HANDLE h = new_heap(HEAP_NO_SERIALIZE, 0, 0);
    ULONG two = 2;
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvHeapSetInformation(h, HeapCompatibilityInformation, &two, sizeof two));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_PARAMETER);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HI_8_set_argument_errors, T)
{
    ULONG two = 2, three = 3;
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvHeapSetInformation(RsvGetProcessHeap(), HeapCompatibilityInformation, &two, 3));
    cr_assert_eq(RsvGetLastError(), ERROR_INSUFFICIENT_BUFFER);
    cr_assert_not(RsvHeapSetInformation((HANDLE)(uintptr_t)0x90000, HeapCompatibilityInformation, &two, 4));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_HANDLE);
    HANDLE h = new_heap(0, 0, 0);
    cr_assert_not(RsvHeapSetInformation(h, HeapCompatibilityInformation, &three, 4));
    cr_assert_eq(RsvGetLastError(), ERROR_GEN_FAILURE);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HI_9_termination_on_corruption_null_heap, T)
{
    cr_assert(RsvHeapSetInformation(NULL, HeapEnableTerminationOnCorruption, NULL, 0));
    cr_assert(RsvHeapSetInformation(NULL, HeapEnableTerminationOnCorruption, NULL, 0));
}

Test(heap, HI_10_optimize_resources, T)
{
    struct { DWORD Version, Flags; } info = {HEAP_OPTIMIZE_RESOURCES_CURRENT_VERSION, 0}, bad = {7, 0};
    cr_assert(RsvHeapSetInformation(NULL, HeapOptimizeResources, &info, sizeof info));
    HANDLE h = new_heap(0, 0, 0);
    cr_assert(RsvHeapSetInformation(h, HeapOptimizeResources, &info, sizeof info));
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvHeapSetInformation(h, HeapOptimizeResources, &bad, sizeof bad));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_PARAMETER);
    cr_assert(RsvHeapDestroy(h));
}

Test(heap, HI_11_query_meanings, T)
{
    ULONG v = 9;
    cr_assert(RsvHeapQueryInformation(RsvGetProcessHeap(), HeapCompatibilityInformation, &v, 4, NULL));
    cr_assert(v == 0 || v == 2);
    RsvSetLastError(0xdeadbeef);
    cr_assert_not(RsvHeapQueryInformation(RsvGetProcessHeap(), HeapEnableTerminationOnCorruption, &v, 4, NULL));
    cr_assert_eq(RsvGetLastError(), ERROR_INVALID_PARAMETER);
}

/* ---- last error is per thread ------------------------------------------------ */

static void *set_error_thread(void *arg)
{
    RsvSetLastError(1234);
    *(DWORD *)arg = RsvGetLastError();
    return NULL;
}

Test(heap, last_error_is_thread_local, T)
{
    DWORD other = 0;
    pthread_t t;
    RsvSetLastError(42);
    cr_assert_eq(pthread_create(&t, NULL, set_error_thread, &other), 0);
    pthread_join(t, NULL);
    cr_assert_eq(other, 1234);
    cr_assert_eq(RsvGetLastError(), 42);
}

Test(heap, default_exception_handler_names_status, T)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        dup2(fds[1], 2);
        RsvHeapAlloc(RsvGetProcessHeap(), HEAP_GENERATE_EXCEPTIONS, ~(SIZE_T)0);
        _exit(0); /* not reached: the default handler aborts */
    }
    close(fds[1]);
    char buf[256] = {0};
    size_t got = 0;
    ssize_t r;
    while (got < sizeof buf - 1 && (r = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)r;
    close(fds[0]);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    cr_assert_not_null(strstr(buf, "reservoir: win32 exception STATUS_NO_MEMORY (0xC0000017)\n"), "got: %s", buf);
}

/* ---- fault injection: failures leave heaps as they were ------------------ */

#include "internal.h"

Test(heap, faults_heap_create, T)
{
    DWORD n0 = RsvGetProcessHeaps(0, NULL);
    for (unsigned n = 1; n <= 3; n++)
        for (int persistent = 0; persistent < 2; persistent++) {
            rsvi_fault_set(RSVI_FAULT_RESERVE, n, persistent);
            HANDLE hs[4];
            for (int i = 0; i < 4; i++) {
                RsvSetLastError(0xdeadbeef);
                hs[i] = RsvHeapCreate(0, 0, 0);
                if (!hs[i]) cr_assert_eq(RsvGetLastError(), ERROR_NOT_ENOUGH_MEMORY);
                else cr_assert_not_null(RsvHeapAlloc(hs[i], 0, 100));
            }
            rsvi_fault_clear();
            DWORD live = 0;
            for (int i = 0; i < 4; i++) live += hs[i] != NULL;
            cr_assert_eq(RsvGetProcessHeaps(0, NULL), n0 + live);
            for (int i = 0; i < 4; i++)
                if (hs[i]) cr_assert(RsvHeapDestroy(hs[i]));
            cr_assert_eq(RsvGetProcessHeaps(0, NULL), n0);
        }
}

Test(heap, faults_large_alloc_and_realloc, T)
{
    HANDLE h = new_heap(0, 0, 0);
    unsigned char *small = RsvHeapAlloc(h, 0, 100);
    memset(small, 0x6B, 100);
    enum rsvi_fault_kind kinds[] = {RSVI_FAULT_RESERVE, RSVI_FAULT_COMMIT};
    for (int k = 0; k < 2; k++)
        for (int persistent = 0; persistent < 2; persistent++) {
            rsvi_fault_set(kinds[k], 1, persistent);
            RsvSetLastError(0xdeadbeef);
            void *big = RsvHeapAlloc(h, 0, 16 * A);
            void *moved = RsvHeapReAlloc(h, 0, small, 32 * A);
            rsvi_fault_clear();
            if (!big) cr_assert_eq(RsvGetLastError(), ERROR_NOT_ENOUGH_MEMORY);
            else cr_assert(RsvHeapFree(h, 0, big));
            if (moved) small = moved;
            cr_assert(RsvHeapValidate(h, 0, small));
            for (int i = 0; i < 100; i++) cr_assert_eq(small[i], 0x6B);
            cr_assert(RsvHeapValidate(h, 0, NULL));
        }
    cr_assert_not_null(RsvHeapAlloc(h, 0, 16 * A));
    cr_assert(RsvHeapDestroy(h));
}

/* ---- seeded multi-thread stress: blocks cross threads, contents intact --- */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define STRESS_OPS 20000
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#    define STRESS_OPS 20000
#  endif
#endif
#ifndef STRESS_OPS
#  define STRESS_OPS 200000
#endif

typedef struct stress {
    HANDLE heap;
    unsigned seed;
    void *shared[64];       /* handed to the next thread to free */
    int failures;
} stress_t;

static unsigned rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void *stress_thread(void *arg)
{
    stress_t *st = arg;
    void *live[128] = {0};
    SIZE_T sizes[128] = {0};
    unsigned s = st->seed;
    for (int op = 0; op < STRESS_OPS; op++) {
        unsigned i = rnd(&s) % 128;
        if (live[i]) {
            const unsigned char *c = live[i];
            for (SIZE_T k = 0; k < sizes[i]; k++)
                if (c[k] != (unsigned char)(i + sizes[i])) st->failures++;
            if (RsvHeapSize(st->heap, 0, live[i]) != sizes[i]) st->failures++;
            if (!RsvHeapFree(st->heap, 0, live[i])) st->failures++;
            live[i] = NULL;
        } else {
            SIZE_T n = rnd(&s) % 3 ? rnd(&s) % 200 : rnd(&s) % 5000;
            live[i] = RsvHeapAlloc(st->heap, 0, n);
            if (!live[i]) {
                st->failures++;
                continue;
            }
            sizes[i] = n;
            memset(live[i], (int)(unsigned char)(i + n), n);
        }
    }
    for (int i = 0; i < 128; i++) {
        if (!live[i]) continue;
        if (i < 64) st->shared[i] = live[i]; /* freed by another thread */
        else if (!RsvHeapFree(st->heap, 0, live[i])) st->failures++;
    }
    return NULL;
}

Test(heap, stress_threads_process_and_private_heaps, .timeout = 120)
{
    HANDLE heaps[2] = {RsvGetProcessHeap(), new_heap(0, 0, 0)};
    for (int k = 0; k < 2; k++) {
        static stress_t st[4];
        pthread_t t[4];
        memset(st, 0, sizeof st);
        for (int i = 0; i < 4; i++) {
            st[i].heap = heaps[k];
            st[i].seed = 1234u + (unsigned)i * 77u + (unsigned)k;
            cr_assert_eq(pthread_create(&t[i], NULL, stress_thread, &st[i]), 0);
        }
        for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
        for (int i = 0; i < 4; i++) {
            cr_assert_eq(st[i].failures, 0, "thread %d heap %d", i, k);
            for (int j = 0; j < 64; j++)
                if (st[i].shared[j]) cr_assert(RsvHeapFree(heaps[k], 0, st[i].shared[j]));
        }
        cr_assert(RsvHeapValidate(heaps[k], 0, NULL));
    }
    cr_assert(RsvHeapDestroy(heaps[1]));
}
