/* tests/win/test_heap.c — the heap and the malloc family on Windows (TAP,
 * run under Wine here): the same behaviours as tests/test_heap.c and
 * tests/test_malloc.c minus /proc — sizes and alignment, realloc/expand
 * contents, bad pointers reported and harmless, walk/validate/stats
 * agreement, capped/zero/executable heaps, destroy releasing every
 * reservation, trim, fault injection, blocks freed by other threads and
 * pages handed back at thread exit (FLS callbacks), the TEB-based thread
 * identity and thread-local slot (lib/os/tls.h), and glibc semantics of
 * the rsv_malloc family.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "internal.h"
#include "os/tls.h"
#include "reservoir/heap.h"
#include "reservoir/malloc.h"
#include "reservoir/vm.h"
#include "../test_errors.h"
#include "../test_fill.h"
#include "tap.h"

#define MIB ((size_t)1 << 20)


static int valid(rsv_heap_t *h)
{
    return rsv_heap_validate(h, NULL, NULL, 0) == 0;
}


static void test_sizes_and_alignment(void)
{
    rsv_heap_t *h = rsv_heap_create(NULL);
    CHECK(h != NULL, "heap created");
    int ok = 1;
    static void *v[200];
    int n = 0;
    for (size_t s = 0; s <= 3 * MIB; s = s < 64 ? s + 1 : s + s / 3) {
        void *p = rsv_heap_alloc(h, s);
        if (!p || (uintptr_t)p % 16 || rsv_heap_usable_size(h, p) < s || rsv_heap_of(p) != h) ok = 0;
        if (p) fill(p, s, (unsigned)s);
        v[n++] = p;
    }
    CHECK(ok, "every size class and huge: aligned, usable, owned");
    CHECK(valid(h), "validates with live blocks");
    for (int i = 0; i < n; i++) rsv_heap_free(h, v[i]);
    ok = 1;
    for (size_t a = 1; a <= 64 * MIB; a <<= 1) {
        void *p = rsv_heap_alloc_aligned(h, 1000, a);
        if (!p || (uintptr_t)p % a) ok = 0;
        rsv_heap_free(h, p);
    }
    CHECK(ok, "alignments 1 B .. 64 MiB");
    err_count = 0;
    CHECK(rsv_heap_alloc_aligned(h, 10, 48) == NULL && err_code == EINVAL, "bad alignment: EINVAL");
    CHECK(rsv_heap_alloc(h, SIZE_MAX) == NULL, "impossible size: NULL");
    CHECK(rsv_heap_calloc(h, SIZE_MAX / 2, 4) == NULL, "calloc overflow: NULL");
    CHECK(valid(h), "validates after frees and failures");
    rsv_heap_destroy(h);
}

static void test_realloc_expand(void)
{
    rsv_heap_t *h = rsv_heap_create(NULL);
    static const size_t steps[] = {1, 200, 5000, 70000, 2 * MIB, 9 * MIB, 3000, 8};
    unsigned char *p = NULL;
    size_t n = 0;
    int ok = 1;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        unsigned char *q = rsv_heap_realloc(h, p, steps[i]);
        if (!q || !filled(q, n < steps[i] ? n : steps[i], 9)) ok = 0;
        if (!q) break;
        fill(q, steps[i], 9);
        p = q;
        n = steps[i];
    }
    CHECK(ok, "realloc across classes and huge keeps contents");
    size_t u = rsv_heap_usable_size(h, p);
    CHECK(rsv_heap_expand(h, p, u) == p && rsv_heap_expand(h, p, u + 1) == NULL, "expand in place or fail");
    rsv_heap_free(h, p);
    unsigned char *b = rsv_heap_alloc(h, 2 * MIB);
    fill(b, 2 * MIB, 3);
    CHECK(rsv_heap_expand(h, b, 20 * MIB) == b && filled(b, 2 * MIB, 3), "huge block grows in place");
    memset(b, 1, 20 * MIB);
    rsv_heap_free(h, b);
    CHECK(valid(h), "validates");
    rsv_heap_destroy(h);
}

static void test_bad_pointers(void)
{
    rsv_heap_t *h = rsv_heap_create(NULL);
    char *p = rsv_heap_alloc(h, 64);
    int local = 0;
    err_count = 0;
    rsv_heap_free(h, &local);
    rsv_heap_free(h, p + 16);
    rsv_heap_free(h, p);
    rsv_heap_free(h, p);
    CHECK(err_count == 3 && err_code == EINVAL, "foreign, interior and double free reported (%d)", err_count);
    CHECK(rsv_heap_of(&local) == NULL && rsv_heap_of(p + 16) == NULL, "rsv_heap_of rejects them");
    CHECK(valid(h), "heap intact after bad frees");
    void *a = rsv_heap_alloc(h, 64), *c = rsv_heap_alloc(h, 64);
    CHECK(a != c, "distinct blocks afterwards");
    rsv_heap_free(h, a);
    rsv_heap_free(h, c);
    rsv_heap_destroy(h);
}

typedef struct walk_count {
    size_t used, regions, bad;
} walk_count_t;

static int walk_cb(void *user, const rsv_heap_walk_entry_t *e)
{
    walk_count_t *w = user;
    if (e->kind == RSV_WALK_REGION) w->regions++;
    else if (e->kind == RSV_WALK_BLOCK_USED) w->used++;
    else if (e->kind != RSV_WALK_BLOCK_FREE && e->kind != RSV_WALK_UNCOMMITTED) w->bad++;
    return 0;
}

static void test_walk_stats(void)
{
    rsv_heap_t *h = rsv_heap_create(NULL);
    static void *v[300];
    for (int i = 0; i < 300; i++) v[i] = rsv_heap_alloc(h, (size_t)(i * 997) % 50000 + (i % 100 == 0 ? 2 * MIB : 0));
    for (int i = 0; i < 300; i += 2) rsv_heap_free(h, v[i]);
    walk_count_t w = {0, 0, 0};
    CHECK(rsv_heap_walk(h, walk_cb, &w) == 0 && w.used == 150 && w.regions >= 1 && w.bad == 0,
          "walk sees the 150 live blocks (%u)", (unsigned)w.used);
    rsv_heap_stats_t st;
    rsv_heap_stats(h, &st);
    size_t bytes = 0;
    for (int i = 1; i < 300; i += 2) bytes += rsv_heap_usable_size(h, v[i]);
    CHECK(st.blocks == 150 && st.in_use == bytes && st.reserved >= st.committed, "stats agree");
    for (int i = 1; i < 300; i += 2) rsv_heap_free(h, v[i]);
    CHECK(valid(h), "validates");
    size_t released = rsv_heap_trim(h);
    CHECK(released > 0, "trim returns memory (%u bytes)", (unsigned)released);
    rsv_heap_destroy(h);
}

static void test_flavours(void)
{
    rsv_heap_opts_t o = {0};
    o.max_size = 2 * MIB;
    rsv_heap_t *h = rsv_heap_create(&o);
    size_t total = 0;
    static void *v[10000];
    int n = 0;
    for (; n < 10000; n++) {
        v[n] = rsv_heap_alloc(h, 1000 + (size_t)(n % 7) * 3000);
        if (!v[n]) break;
        total += rsv_heap_usable_size(h, v[n]);
    }
    CHECK(n < 10000 && total <= 2 * MIB && total > MIB, "capped heap stops at its cap (%u)", (unsigned)total);
    for (int i = 0; i < n; i++) rsv_heap_free(h, v[i]);
    CHECK(valid(h), "capped heap validates");
    rsv_heap_destroy(h);

    rsv_heap_opts_t z = {0};
    z.flags = RSV_HEAP_ZERO;
    h = rsv_heap_create(&z);
    unsigned char *p = rsv_heap_alloc(h, 5000);
    memset(p, 0xEE, 5000);
    rsv_heap_free(h, p);
    p = rsv_heap_alloc(h, 5000);
    int zero = 1;
    for (int i = 0; i < 5000; i++) zero &= p[i] == 0;
    CHECK(zero, "zero heap zeroes a reused block");
    rsv_heap_destroy(h);

    rsv_heap_opts_t x = {0};
    x.flags = RSV_HEAP_EXECUTABLE;
    h = rsv_heap_create(&x);
    p = rsv_heap_alloc(h, 100);
    MEMORY_BASIC_INFORMATION mbi;
    CHECK(VirtualQuery(p, &mbi, sizeof mbi) == sizeof mbi && (mbi.Protect & PAGE_EXECUTE_READWRITE),
          "executable heap memory is PAGE_EXECUTE_READWRITE (0x%lx)", (unsigned long)mbi.Protect);
    rsv_heap_destroy(h);
}

static void test_destroy_and_faults(void)
{
    rsv_heap_destroy(rsv_heap_create(NULL));
    size_t base = rsvi_vm_reservations();
    for (int r = 0; r < 10; r++) {
        rsv_heap_t *h = rsv_heap_create(NULL);
        for (int i = 0; i < 1000; i++) rsv_heap_alloc(h, (size_t)(i * 37) % 70000);
        rsv_heap_alloc(h, 5 * MIB);
        rsv_heap_destroy(h);
    }
    CHECK(rsvi_vm_reservations() == base, "destroy with live blocks releases every reservation");

    int ok = 1;
    static void *v[100];
    for (int kind = RSVI_FAULT_RESERVE; kind <= RSVI_FAULT_COMMIT; kind++)
        for (unsigned n = 1; n <= 6; n++) {
            rsvi_fault_set((enum rsvi_fault_kind)kind, n, 1);
            rsv_heap_t *h = rsv_heap_create(NULL);
            int got = 0;
            if (h)
                for (; got < 100; got++) {
                    v[got] = rsv_heap_alloc(h, got % 5 == 4 ? 2 * MIB : (size_t)(got * 7919) % 100000);
                    if (!v[got]) break;
                }
            if (h && !valid(h)) ok = 0;
            for (int i = 0; i < got; i++) rsv_heap_free(h, v[i]);
            rsvi_fault_clear();
            if (h) {
                void *p = rsv_heap_alloc(h, 3 * MIB);
                if (!p || !valid(h)) ok = 0;
                rsv_heap_destroy(h);
            }
            if (rsvi_vm_reservations() != base) ok = 0;
        }
    CHECK(ok, "fault injection: heap consistent after every failure, nothing leaks");
}

#define XT_N 20000
static void *xt_blocks[XT_N];

static DWORD WINAPI xt_free_all(LPVOID arg)
{
    (void)arg;
    for (int i = 0; i < XT_N; i++) rsv_free(xt_blocks[i]);
    return 0;
}

static DWORD WINAPI xt_leave_blocks(LPVOID arg)
{
    (void)arg;
    for (int i = 0; i < XT_N; i++) xt_blocks[i] = rsv_malloc((size_t)(16 + i % 400));
    return 0;
}

static void test_threads(void)
{
    for (int i = 0; i < XT_N; i++) xt_blocks[i] = rsv_malloc((size_t)(16 + (i * 13) % 3000));
    HANDLE t = CreateThread(NULL, 0, xt_free_all, NULL, 0, NULL);
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
    CHECK(valid(rsv_heap_default()), "blocks freed by another thread: validates");
    t = CreateThread(NULL, 0, xt_leave_blocks, NULL, 0, NULL);
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
    CHECK(valid(rsv_heap_default()), "after a thread exits with live blocks: validates");
    for (int i = 0; i < XT_N; i++) rsv_free(xt_blocks[i]);
    rsv_heap_trim(rsv_heap_default());
    rsv_heap_stats_t st;
    rsv_heap_stats(rsv_heap_default(), &st);
    CHECK(st.blocks == 0, "its pages came back (%u blocks)", (unsigned)st.blocks);
}

/* LARGE blocks (64 KiB - 1 MiB) live on pages all threads share; each
 * thread parks the one it freed last (lib/heap/alloc.c large_shared).
 * Runs first, on a heap no other test has used, so that the blocks a
 * third thread gets can only be the ones freed. */
#define LS_SIZE ((size_t)128 << 10)
#define LS_N 8
static void *ls_blocks[LS_N], *ls_again[LS_N];

static DWORD WINAPI ls_free(LPVOID arg)
{
    (void)arg;
    rsv_free(rsv_malloc(16));   /* with state of its own, it parks the last one */
    for (int i = 0; i < LS_N; i++) rsv_free(ls_blocks[i]);
    return 0;   /* its exit (an FLS callback) hands the parked block back */
}
static DWORD WINAPI ls_alloc_again(LPVOID arg)
{
    (void)arg;
    for (int i = 0; i < LS_N; i++) ls_again[i] = rsv_malloc(LS_SIZE);
    return 0;
}
static void on_thread(LPTHREAD_START_ROUTINE fn)
{
    HANDLE t = CreateThread(NULL, 0, fn, NULL, 0, NULL);
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}

static void test_large_shared(void)
{
    for (int i = 0; i < LS_N; i++) {
        ls_blocks[i] = rsv_malloc(LS_SIZE);
        memset(ls_blocks[i], i + 1, LS_SIZE);
    }
    on_thread(ls_free);
    on_thread(ls_alloc_again);
    int reused = 0;
    for (int i = 0; i < LS_N; i++)
        for (int j = 0; j < LS_N; j++)
            if (ls_again[i] == ls_blocks[j]) reused++;
    CHECK(reused == LS_N, "LARGE blocks freed on one thread serve another (%d of %d)", reused, LS_N);
    for (int i = 0; i < LS_N; i++) rsv_free(ls_again[i]);
    void *p = rsv_malloc(LS_SIZE);
    CHECK(p == ls_again[LS_N - 1], "the block a thread parked comes back to it first");
    rsv_free(p);
    err_reset();
    rsv_free(p);
    CHECK(err_count == 1 && err_code == EINVAL, "a parked block's second free is reported");
    rsv_heap_trim(rsv_heap_default());
    rsv_heap_stats_t st;
    rsv_heap_stats(rsv_heap_default(), &st);
    CHECK(st.blocks == 0 && valid(rsv_heap_default()), "trim hands the parked block back (%u blocks)",
          (unsigned)st.blocks);
}

/* What a fresh thread sees of lib/os/tls.h before and after its first
 * allocation. */
struct tls_seen {
    uintptr_t self;
    int self_is_teb;
    void *before, *after, *via_os;
};

/* Checks through the OS, not %gs: the TEB's NT_TIB brackets this thread's
 * stack and names itself, and TlsGetValue reads the slot's index. */
static void tls_look(struct tls_seen *s)
{
    int local;
    s->self = rsvi_os_tls_self();
    const NT_TIB *tib = (const NT_TIB *)s->self;
    s->self_is_teb = tib && (uintptr_t)tib->Self == s->self &&
                     (char *)&local < (char *)tib->StackBase && (char *)&local >= (char *)tib->StackLimit;
    s->after = rsvi_os_tls_get();
    uint32_t off = atomic_load(&rsvi_os_tls_off);
    s->via_os = off ? TlsGetValue((off - RSVI_OS_TEB_TLS_SLOTS) / 8) : NULL;
}

static DWORD WINAPI tls_thread(LPVOID arg)
{
    struct tls_seen *s = arg;
    s->before = rsvi_os_tls_get();
    rsv_free(rsv_malloc(32));
    tls_look(s);
    return 0;
}

static void test_tls_slot(void)
{
    rsv_free(rsv_malloc(32));
    struct tls_seen m = {0}, t = {0};
    tls_look(&m);
    uint32_t off = atomic_load(&rsvi_os_tls_off);
    CHECK(off >= RSVI_OS_TEB_TLS_SLOTS && off < RSVI_OS_TEB_TLS_SLOTS + 8 * 64 && off % 8 == 0,
          "the heap's slot is one of the TEB's 64 TlsSlots (offset %#x)", (unsigned)off);
    CHECK(m.self != 0 && m.self_is_teb, "rsvi_os_tls_self is the TEB address");
    CHECK(m.after != NULL && m.after == m.via_os, "the slot read through %%gs is what TlsGetValue sees");
    HANDLE h = CreateThread(NULL, 0, tls_thread, &t, 0, NULL);
    WaitForSingleObject(h, INFINITE);
    CloseHandle(h);
    CHECK(t.before == NULL, "a new thread's slot starts empty");
    CHECK(t.after != NULL && t.after != m.after && t.after == t.via_os,
          "a thread's first allocation fills its own slot only");
    CHECK(t.self_is_teb && t.self != m.self, "threads have distinct identities");
    CHECK(rsvi_os_tls_get() == m.after, "the main thread's slot is unchanged");
    rsv_heap_t *xh = rsv_heap_create(NULL);
    CHECK(xh != NULL, "explicit heap for the recursive lock");
    if (xh) {
        rsv_heap_lock(xh);
        rsv_heap_lock(xh); /* same identity: recursion, no deadlock */
        void *p = rsv_heap_alloc(xh, 64);
        CHECK(p != NULL, "allocating while holding the heap lock twice");
        rsv_heap_free(xh, p);
        rsv_heap_unlock(xh);
        rsv_heap_unlock(xh);
        rsv_heap_destroy(xh);
    }
}

static void test_malloc_family(void)
{
    errno = 0;
    CHECK(rsv_malloc(SIZE_MAX) == NULL && errno == ENOMEM, "malloc failure: ENOMEM");
    void *p = rsv_realloc(NULL, 10);
    CHECK(p != NULL, "realloc(NULL, n) allocates");
    CHECK(rsv_realloc(p, 0) == NULL && rsv_malloc_usable_size(p) == 0, "realloc(p, 0) frees");
    void *out = (void *)0x1234;
    CHECK(rsv_posix_memalign(&out, 3, 10) == EINVAL && out == (void *)0x1234, "posix_memalign EINVAL");
    CHECK(rsv_posix_memalign(&out, 64, 10) == 0 && (uintptr_t)out % 64 == 0, "posix_memalign aligns");
    rsv_free(out);
    errno = 0;
    CHECK(rsv_calloc(SIZE_MAX / 2, 3) == NULL && errno == ENOMEM, "calloc overflow: ENOMEM");
    errno = 0;
    CHECK(rsv_aligned_alloc(3, 10) == NULL && errno == EINVAL, "aligned_alloc bad alignment: EINVAL");
    void *v = rsv_valloc(10), *pv = rsv_pvalloc(0);
    CHECK(v && pv && (uintptr_t)v % 4096 == 0 && rsv_malloc_usable_size(pv) >= 4096, "valloc/pvalloc");
    rsv_free(v);
    rsv_free(pv);
    int *a = rsv_reallocarray(NULL, 4, sizeof(int));
    errno = 0;
    CHECK(a && rsv_reallocarray(a, SIZE_MAX / 2, 4) == NULL && errno == ENOMEM, "reallocarray overflow");
    rsv_free(a);
}

int main(void)
{
    rsv_error_handler_t eh = {err_capture, NULL};
    rsv_set_error_handler(eh);
    test_large_shared();
    test_sizes_and_alignment();
    test_realloc_expand();
    test_bad_pointers();
    test_walk_stats();
    test_flavours();
    test_destroy_and_faults();
    test_threads();
    test_tls_slot();
    test_malloc_family();
    return tap_done();
}
