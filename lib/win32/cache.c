/* lib/win32/cache.c — the process heap's small-block front: blocks of up to
 * RSVI_W32_CACHE_MAX bytes served from per-thread bins, so HeapAlloc /
 * HeapFree / GlobalAlloc on the process heap take no lock and make no heap
 * or OS call on the fast path (issue 5's 10x target under Wine, where every
 * call into kernel32 and every emulated-TLS access is expensive).
 *
 * Memory comes in 4 MiB chunks (reserved, committed once, never released),
 * marked in a bitmap of the address space (one bit per 4 MiB, 4 MiB of
 * zero-initialised static data on x64) so any pointer can be vetted
 * without touching memory the façade does not own.  Chunks are carved into
 * 64 KiB runs of one size class:
 *
 *   run:   [ run header 64 B | block | block | ... ]
 *   block: [ size | tag | user bytes (capacity 16*c) ]   stride 16*(c+1)
 *          ^ façade header (w32.h), written by heap.c
 *
 * Free blocks link through their first user word: in the owning thread's
 * bin, or on a per-class shared list under a spin lock when a bin overflows
 * or a thread exits.  A block freed by another thread simply joins that
 * thread's bin (blocks have no owner).
 *
 * Must never: read an address before the chunk bitmap vouches for it, print,
 * or call an OS function directly.
 */
#include <string.h>

#include "internal.h"
#include "os/thread.h"
#include "os/w32err.h"
#include "reservoir/vm.h"
#include "win32/w32.h"

#define C_CHUNK RSVI_W32_C_CHUNK
#define C_RUN RSVI_W32_C_RUN
#define C_RUN_HDR RSVI_W32_C_RUN_HDR
#define C_MAGIC RSVI_W32_C_MAGIC
#define C_BIN_MAX RSVI_W32_C_BIN_MAX
#define C_BATCH 32u

typedef rsvi_w32_run_t c_run_t;

typedef struct c_class {
    void *free;          /* shared free list */
    c_run_t *run;        /* run being carved */
} c_class_t;

_Atomic uint64_t rsvi_w32_chunkbits[RSVI_W32_C_WORDS];
static rsvi_lock_t c_lock;
static c_class_t c_classes[RSVI_W32_CLASSES];
static char *c_chunk;      /* chunk being cut into runs (under c_lock) */
static size_t c_chunk_used;

/* Caller holds c_lock.  A new 64 KiB run for class cls, or NULL. */
static c_run_t *c_new_run_locked(unsigned cls)
{
    if (!c_chunk || c_chunk_used + C_RUN > C_CHUNK) {
        void *base = NULL;
        if (rsv_vm_reserve(C_CHUNK, C_CHUNK, 0, &base, NULL) != 0) return NULL;
        uint64_t chunk = (uint64_t)(uintptr_t)base / C_CHUNK;
        if ((uint64_t)(uintptr_t)base >= RSVI_W32_C_SPAN || rsv_vm_commit(base, C_CHUNK) != 0) {
            (void)rsv_vm_release(base, C_CHUNK);
            return NULL;
        }
        atomic_fetch_or_explicit(&rsvi_w32_chunkbits[chunk / 64], (uint64_t)1 << (chunk % 64),
                                 memory_order_release);
        c_chunk = base;
        c_chunk_used = 0;
    }
    c_run_t *r = (c_run_t *)(c_chunk + c_chunk_used);
    c_chunk_used += C_RUN;
    r->cls = cls;
    r->stride = 16u * (cls + 1);
    r->recip = (uint32_t)((((uint64_t)1 << 32) + r->stride - 1) / r->stride);
    r->carved = 0;
    r->capacity = (uint32_t)((C_RUN - C_RUN_HDR) / r->stride);
    atomic_thread_fence(memory_order_release);
    r->magic = C_MAGIC;
    return r;
}

/* Caller holds c_lock.  Up to `want` free blocks of class cls chained
 * through their user word into *head; returns how many. */
static unsigned c_take_locked(unsigned cls, void **head, unsigned want)
{
    c_class_t *k = &c_classes[cls];
    unsigned got = 0;
    while (got < want && k->free) {
        void *u = k->free;
        k->free = *(void **)u;
        *(void **)u = *head;
        *head = u;
        got++;
    }
    while (got < want) {
        c_run_t *r = k->run;
        if (!r || r->carved == r->capacity) {
            r = c_new_run_locked(cls);
            if (!r) break;
            k->run = r;
        }
        char *b = (char *)r + C_RUN_HDR + (size_t)r->carved++ * r->stride;
        void *u = b + RSVI_W32_HDR;
        *(void **)u = *head;
        *head = u;
        got++;
    }
    return got;
}

/* ---- per-thread state ---------------------------------------------------------- */

static void c_thread_exit(void *arg);

/* Thread states are carved from 1 MiB areas (never released) and
 * recycled through a free list, all under c_lock. */
static char *c_tc_area;
static size_t c_tc_left;
static rsvi_w32_tcache_t *c_tc_free;

/* Caller holds nothing.  Creates the calling thread's cache (kept in the
 * façade's TLS slot); NULL when memory or the exit hook is unavailable. */
static rsvi_w32_tcache_t *c_tcache_create(void)
{
    const size_t sz = (sizeof(rsvi_w32_tcache_t) + 63) & ~(size_t)63, area = (size_t)1 << 20;
    rsvi_w32_tcache_t *tc = NULL;
    rsvi_lock(&c_lock);
    if (c_tc_free) {
        tc = c_tc_free;
        c_tc_free = *(rsvi_w32_tcache_t **)tc;
    } else {
        if (c_tc_left < sz) {
            void *base = NULL;
            if (rsv_vm_reserve(area, 0, 0, &base, NULL) == 0) {
                if (rsv_vm_commit(base, area) == 0) {
                    c_tc_area = base;
                    c_tc_left = area;
                } else {
                    (void)rsv_vm_release(base, area);
                }
            }
        }
        if (c_tc_left >= sz) {
            tc = (rsvi_w32_tcache_t *)c_tc_area;
            c_tc_area += sz;
            c_tc_left -= sz;
        }
    }
    rsvi_unlock(&c_lock);
    if (!tc) return NULL;
    memset(tc, 0, sizeof *tc);
    if (rsvi_os_w32_tls_set(tc) != 0 || rsvi_os_on_thread_exit(c_thread_exit, tc) != 0) {
        (void)rsvi_os_w32_tls_set(NULL);
        rsvi_lock(&c_lock);
        *(rsvi_w32_tcache_t **)tc = c_tc_free;
        c_tc_free = tc;
        rsvi_unlock(&c_lock);
        return NULL;
    }
    return tc;
}

rsvi_w32_tcache_t *rsvi_w32_tcache_slow(void)
{
    rsvi_w32_tcache_t *tc = rsvi_os_w32_tls_get();
    return tc ? tc : c_tcache_create();
}

/* Returns n blocks of bin cls to the shared list. */
static void c_flush(rsvi_w32_tcache_t *tc, unsigned cls, unsigned n)
{
    rsvi_lock(&c_lock);
    while (n-- && tc->bins[cls].head) {
        void *u = tc->bins[cls].head;
        tc->bins[cls].head = *(void **)u;
        if (tc->bins[cls].count) tc->bins[cls].count--;
        *(void **)u = c_classes[cls].free;
        c_classes[cls].free = u;
    }
    rsvi_unlock(&c_lock);
}

static void c_thread_exit(void *arg)
{
    rsvi_w32_tcache_t *tc = arg;
    rsvi_w32_entries_flush(tc);
    for (unsigned c = 1; c < RSVI_W32_CLASSES; c++) c_flush(tc, c, (unsigned)-1);
    (void)rsvi_os_w32_tls_set(NULL);
    rsvi_lock(&c_lock);
    *(rsvi_w32_tcache_t **)tc = c_tc_free;
    c_tc_free = tc;
    rsvi_unlock(&c_lock);
}

/* ---- the block interface (w32.h) ----------------------------------------------- */

void *rsvi_w32_cache_alloc(rsvi_w32_tcache_t *tc, size_t n)
{
    void *u = rsvi_w32_cache_pop(tc, n);
    if (RSV_LIKELY(u != NULL)) return u;
    unsigned cls = rsvi_w32_cache_class(n);
    void *head = NULL;
    rsvi_lock(&c_lock);
    unsigned got = c_take_locked(cls, &head, C_BATCH);
    rsvi_unlock(&c_lock);
    if (!got) return NULL;
    u = head;
    tc->bins[cls].head = *(void **)u;
    tc->bins[cls].count = got - 1;
    return u;
}

void rsvi_w32_cache_free(rsvi_w32_tcache_t *tc, void *u)
{
    if (RSV_UNLIKELY(rsvi_w32_cache_push(tc, u))) rsvi_w32_cache_trim(tc, u);
}

void rsvi_w32_cache_trim(rsvi_w32_tcache_t *tc, const void *u)
{
    unsigned cls = rsvi_w32_cache_run(u)->cls;
    size_t n = 0;
    for (void *x = tc->bins[cls].head; x && n <= C_BIN_MAX; x = *(void **)x) n++;
    tc->bins[cls].count = n;
    if (n > C_BIN_MAX) c_flush(tc, cls, C_BIN_MAX / 2);
}
