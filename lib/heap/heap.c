/* lib/heap/heap.c — the public heap API (reservoir/heap.h): heap creation
 * and destruction, the default heap and its per-thread states (created on
 * first use, abandoned at thread exit, kept sane across fork), the API lock
 * of explicit heaps, and the alloc/free/realloc entry points with the one
 * debug branch each.
 *
 * Must never walk blocks on destroy (decision 5), never allocate on a
 * failure path, never let a bad pointer reach a free list.
 */
#include <errno.h>
#include <string.h>

#include "debug/dbg.h"
#include "heap/heap_internal.h"
#include "os/thread.h"

uintptr_t rsvh_key;
struct rsv_heap rsvh_default_heap = {.fast_below = RSVH_DIRECT_MAX + 1};
rsvh_page_t rsvh_page_empty;
_Static_assert(RSVH_DIRECT == 4 * 64 + 1, "rsvh_tld_empty.direct lists RSVH_DIRECT entries");
rsvh_tld_t rsvh_tld_empty = {
    .direct = {
#define E1 &rsvh_page_empty
#define E8 E1, E1, E1, E1, E1, E1, E1, E1
#define E64 E8, E8, E8, E8, E8, E8, E8, E8
        E64, E64, E64, E64, E1
#undef E64
#undef E8
#undef E1
    },
    .heap = &rsvh_default_heap,
};
#if !RSVI_OS_TLS_SLOT
RSVH_TLS rsvh_tld_t *rsvh_tls = &rsvh_tld_empty;
#endif

static atomic_int heap_init_state;      /* 0 no, 1 initialising, 2 ready */
static rsvi_lock_t heap_list_lock;      /* explicit heaps list */
static rsvi_lock_t heap_tld_lock;       /* tld pool */
static rsvh_tld_t *heap_tld_pool;

/* Free segments are purged 0.5-1 s after release (two aging ticks), at
 * once when more than 1 GiB is free and dirty. */
#define HEAP_DEFAULT_PURGE_MS 500
#define HEAP_PURGE_ABOVE ((size_t)1 << 30)
#define HEAP_FIRST_AREA_DEFAULT ((size_t)4 << 30)
#define HEAP_FIRST_AREA_EXPLICIT ((size_t)256 << 20)

static void heap_common_init(rsv_heap_t *h)
{
    const rsvi_env_t *env = rsvi_env();
    long ms = env->purge_delay_ms >= 0 ? env->purge_delay_ms : HEAP_DEFAULT_PURGE_MS;
    h->purge_delay_ns = (uint64_t)ms * 1000000u;
    h->purge_above = HEAP_PURGE_ABOVE;
    h->tld.heap = h;
    for (unsigned i = 0; i < RSVH_DIRECT; i++) h->tld.direct[i] = &rsvh_page_empty;
}

/* ---- fork ------------------------------------------------------------------- */

static void heap_fork_prepare(void)
{
    rsvi_lock(&heap_list_lock);
    for (rsv_heap_t *h = rsvh_default_heap.next_heap; h; h = h->next_heap)
        if (!(h->flags & RSV_HEAP_NO_SERIALIZE)) rsvi_rlock(&h->api_lock);
    rsvi_lock(&rsvh_default_heap.shared_lock);
    rsvi_lock(&rsvh_default_heap.lock);
    rsvi_lock(&heap_tld_lock);
    rsvh_meta_fork(1);
    /* The vm book's lock is taken under heap locks, so it is taken last
     * here: its own hook may have been registered after ours (a preloaded
     * malloc runs before constructors) and would then run first. */
    rsvi_vm_fork_lock();
}

static void heap_fork_release(void)
{
    rsvi_vm_fork_unlock();
    rsvh_meta_fork(0);
    rsvi_unlock(&heap_tld_lock);
    rsvi_unlock(&rsvh_default_heap.lock);
    rsvi_unlock(&rsvh_default_heap.shared_lock);
    for (rsv_heap_t *h = rsvh_default_heap.next_heap; h; h = h->next_heap)
        if (!(h->flags & RSV_HEAP_NO_SERIALIZE)) rsvi_runlock(&h->api_lock);
    rsvi_unlock(&heap_list_lock);
}

/* ---- the default heap --------------------------------------------------------- */

void rsvh_default_init(void)
{
    if (RSV_LIKELY(atomic_load_explicit(&heap_init_state, memory_order_acquire) == 2)) return;
    int expect = 0;
    if (!atomic_compare_exchange_strong(&heap_init_state, &expect, 1)) {
        while (atomic_load_explicit(&heap_init_state, memory_order_acquire) != 2) rsvi_os_yield();
        return;
    }
    /* The slot behind rsvh_tls_set (Windows x64; nothing elsewhere).
     * Without it every allocation would build a new tld: refuse to run. */
    if (rsvi_os_tls_init() != 0) rsvi_fatal("heap: no thread-local storage index left");
    int local;
    uint64_t seed = rsvi_os_now_ns() ^ (uint64_t)(uintptr_t)&local ^ ((uint64_t)(uintptr_t)&heap_init_state << 17);
    seed ^= seed >> 29;
    seed *= 0x9E3779B97F4A7C15ull;
    seed ^= seed >> 32;
    rsvh_key = (uintptr_t)seed | 1;

    rsv_heap_t *h = &rsvh_default_heap;
    const rsvi_env_t *env = rsvi_env();
    h->is_default = 1;
    h->name = "default";
    h->next_area = env->reserve ? ((env->reserve + RSVH_SEG_MASK) & ~(size_t)RSVH_SEG_MASK)
                                : HEAP_FIRST_AREA_DEFAULT;
    if (h->next_area < RSVH_SEG_SIZE) h->next_area = RSVH_SEG_SIZE;
    if (env->large_pages) h->region_flags |= RSV_REGION_LARGE_PAGES;
    heap_common_init(h);
    atomic_store_explicit(&heap_init_state, 2, memory_order_release);
    /* After "ready": pthread_atfork may itself call malloc.  Adopting the
     * vm lock only once our hooks are in (internal.h). */
    (void)rsvi_os_atfork(heap_fork_prepare, heap_fork_release, heap_fork_release);
    rsvi_vm_fork_adopt();
    /* Debug layer (issue 7) last, for the same reason: priming the
     * unwinder may call malloc, which then takes the plain path. */
    if (env->debug) (void)rsvi_heap_debug_attach(h, NULL);
}

rsv_heap_t *rsv_heap_default(void)
{
    rsvh_default_init();
    return &rsvh_default_heap;
}

static void heap_thread_exit(void *arg)
{
    rsvh_tld_t *t = arg;
    rsvh_tld_abandon(t);
    if (rsvh_tls_get() == t) rsvh_tls_set(&rsvh_tld_empty);
    if (t->registered) {
        rsvi_lock(&heap_tld_lock);
        t->next_free = heap_tld_pool;
        heap_tld_pool = t;
        rsvi_unlock(&heap_tld_lock);
    }
}

rsvh_tld_t *rsvh_tld_get(void)
{
    rsvh_tld_t *t = rsvh_tls_get();
    if (t != &rsvh_tld_empty) return t;
    rsvh_default_init();
    rsvi_lock(&heap_tld_lock);
    t = heap_tld_pool;
    if (t) heap_tld_pool = t->next_free;
    rsvi_unlock(&heap_tld_lock);
    if (!t) {
        t = rsvh_meta_alloc(sizeof *t);
        if (!t) return NULL;
    }
    memset(t, 0, sizeof *t);
    for (unsigned i = 0; i < RSVH_DIRECT; i++) t->direct[i] = &rsvh_page_empty;
    t->heap = &rsvh_default_heap;
    /* Published before registering: registration may allocate (and so
     * re-enter here) on some C libraries. */
    rsvh_tls_set(t);
    if (rsvi_os_on_thread_exit(heap_thread_exit, t) == 0) t->registered = 1;
    else rsvi_error(ENOMEM, "heap: cannot register the thread-exit hook (thread's memory kept)");
    return t;
}

/* ---- explicit heaps ------------------------------------------------------------ */

rsv_heap_t *rsv_heap_create(const rsv_heap_opts_t *opts)
{
    static const rsv_heap_opts_t defaults;
    rsvh_default_init();
    if (!opts) opts = &defaults;
    unsigned all = RSV_HEAP_NO_SERIALIZE | RSV_HEAP_ZERO | RSV_HEAP_EXECUTABLE;
    if (opts->flags & ~all) {
        rsvi_error(EINVAL, "heap: unknown flags");
        return NULL;
    }
    if (opts->max_size > ((size_t)1 << 38) ||
        (opts->max_size && opts->initial_commit > opts->max_size)) {
        rsvi_error(EINVAL, "heap: max_size too large or below initial_commit");
        return NULL;
    }
    rsv_heap_t *h = rsvh_meta_alloc(sizeof *h);
    if (!h) return NULL;
    h->flags = opts->flags;
    h->name = opts->name;
    h->max_size = opts->max_size;
    if (opts->max_size) {
        /* The cap counts live blocks.  The reservation adds room for one
         * page of every size class (1 small, 2 medium and 16 large-page
         * segments) so that any mix of sizes can reach the cap. */
        h->next_area = ((opts->max_size + RSVH_SEG_MASK) & ~(size_t)RSVH_SEG_MASK) + 19 * RSVH_SEG_SIZE;
    } else {
        size_t want = opts->initial_commit > HEAP_FIRST_AREA_EXPLICIT ? opts->initial_commit
                                                                        : HEAP_FIRST_AREA_EXPLICIT;
        h->next_area = (want + RSVH_SEG_MASK) & ~(size_t)RSVH_SEG_MASK;
    }
    if (opts->flags & RSV_HEAP_EXECUTABLE) h->region_flags |= RSV_REGION_EXECUTABLE;
    heap_common_init(h);
    if (rsvh_area_first(h, opts->initial_commit) != 0) {
        rsvh_areas_release(h);
        rsvh_meta_free(h, sizeof *h);
        return NULL;
    }
    rsvi_lock(&heap_list_lock);
    h->prev_heap = &rsvh_default_heap;
    h->next_heap = rsvh_default_heap.next_heap;
    if (h->next_heap) h->next_heap->prev_heap = h;
    rsvh_default_heap.next_heap = h;
    rsvi_unlock(&heap_list_lock);
    /* Debug layer (issue 7): opts->debug, else what RSV_DEBUG says. */
    if (rsvi_heap_debug_attach(h, opts->debug) != 0) {
        rsv_heap_destroy(h);
        return NULL;
    }
    return h;
}

void rsv_heap_destroy(rsv_heap_t *h)
{
    if (!h) return;
    if (h->is_default) {
        rsvi_error(EINVAL, "heap: the default heap cannot be destroyed");
        return;
    }
    rsvi_lock(&heap_list_lock);
    h->prev_heap->next_heap = h->next_heap;
    if (h->next_heap) h->next_heap->prev_heap = h->prev_heap;
    rsvi_unlock(&heap_list_lock);
    rsvi_heap_debug_detach(h, RSVI_DBG_SITE()); /* checks, leak report (issue 7) */
    rsvh_areas_release(h);
    rsvh_meta_free(h, sizeof *h);
}

void rsv_heap_lock(rsv_heap_t *h)
{
    if (h && !(h->flags & RSV_HEAP_NO_SERIALIZE)) rsvi_rlock(&h->api_lock);
}

void rsv_heap_unlock(rsv_heap_t *h)
{
    if (h && !(h->flags & RSV_HEAP_NO_SERIALIZE)) {
        if (!rsvi_rlock_held(&h->api_lock)) {
            rsvi_error(EPERM, "heap: unlock by a thread that does not hold the lock");
            return;
        }
        rsvi_runlock(&h->api_lock);
    }
}

/* 1 when calls on h take its API lock. */
static int heap_serialized(const rsv_heap_t *h, unsigned call_flags)
{
    return !h->is_default && !((h->flags | call_flags) & RSV_HEAP_NO_SERIALIZE);
}

/* ---- the operations, API lock held (explicit) --------------------------------- */

static size_t heap_usable_of(const void *p)
{
    rsvh_segment_t *seg = rsvh_seg_of(p);
    if (seg->kind == RSVH_HUGE) return seg->huge_size;
    return seg->pages[((uintptr_t)p - (uintptr_t)seg) >> seg->page_shift].block_size;
}

static void heap_free_checked(rsv_heap_t *h, rsvh_segment_t *seg, rsvh_page_t *pg, void *p);

static void *heap_alloc_locked(rsv_heap_t *h, size_t size, size_t align, unsigned flags)
{
    rsvh_tld_t *t = rsvh_tld_of(h);
    int zero = ((h->flags | flags) & RSV_HEAP_ZERO) != 0;
    if (h->max_size && size > h->max_size - (h->tld.in_use < h->max_size ? h->tld.in_use : h->max_size)) {
        rsvi_error(ENOMEM, "heap: capped heap is full");
        return NULL;
    }
    void *p;
    if (zero) p = rsvh_calloc_in(t, size, align);
    else if (align > RSVH_ALIGN) p = rsvh_alloc_aligned(t, size, align);
    else p = rsvh_alloc_fast(t, size);
    if (!p) return NULL;   /* the failing layer reported it */
    if (!h->is_default) {
        size_t u = heap_usable_of(p);
        if (h->max_size && u > h->max_size - h->tld.in_use) {
            /* The class rounding would pass the cap: give it back. */
            rsvh_segment_t *seg = rsvh_seg_of(p);
            rsvh_page_t *pg = seg->kind == RSVH_HUGE
                                  ? NULL
                                  : &seg->pages[((uintptr_t)p - (uintptr_t)seg) >> seg->page_shift];
            h->tld.in_use += u;
            h->tld.live_blocks++;
            heap_free_checked(h, seg, pg, p);
            rsvi_error(ENOMEM, "heap: capped heap is full");
            return NULL;
        }
        h->tld.in_use += u;
        h->tld.live_blocks++;
        if (h->tld.in_use > h->tld.peak_in_use) h->tld.peak_in_use = h->tld.in_use;
    }
    return p;
}

static void heap_free_checked(rsv_heap_t *h, rsvh_segment_t *seg, rsvh_page_t *pg, void *p)
{
    if (!h->is_default) {
        h->tld.in_use -= rsvh_block_usable(seg, pg);
        h->tld.live_blocks--;
    }
    if (!pg) {
        rsvh_free_huge(h, seg);
        return;
    }
    rsvh_tld_t *t = rsvh_tld_of(h);
    if (atomic_load_explicit(&pg->owner, memory_order_relaxed) == t)
        rsvh_free_local(t, pg, (rsvh_block_t *)p);
    else
        rsvh_free_foreign(t, pg, (rsvh_block_t *)p);
}

/* Checks p belongs to h; reports and returns non-zero when it does not. */
static int heap_check(rsv_heap_t *h, const void *p, rsvh_segment_t **seg, rsvh_page_t **pg)
{
    int why = rsvh_lookup(p, seg, pg);
    if (why == RSVH_OK && (*seg)->heap != h) why = RSVH_BAD_FOREIGN;
    if (why) rsvh_report_bad(why, "heap");
    return why;
}

static void *heap_realloc_locked(rsv_heap_t *h, void *p, size_t size)
{
    rsvh_segment_t *seg;
    rsvh_page_t *pg;
    if (heap_check(h, p, &seg, &pg)) {
        errno = EINVAL;
        return NULL;
    }
    size_t old = rsvh_block_usable(seg, pg);
    if (rsvh_resize_in_place(h, seg, pg, size, 1)) {
        if (!h->is_default) {
            size_t now = rsvh_block_usable(seg, pg);
            h->tld.in_use = h->tld.in_use - old + now;
            if (h->tld.in_use > h->tld.peak_in_use) h->tld.peak_in_use = h->tld.in_use;
        }
        return p;
    }
    int span;   /* the default heap's growth to 256 KiB - 1 MiB: a span */
    void *q = rsvh_realloc_span(h, size, old, &span);
    if (!span) q = heap_alloc_locked(h, size, RSVH_ALIGN, 0);
    if (!q) return NULL;
    memcpy(q, p, old < size ? old : size);
    if ((h->flags & RSV_HEAP_ZERO) && size > old) memset((char *)q + old, 0, size - old);
    heap_free_checked(h, seg, pg, p);
    return q;
}

/* ---- explicit-heap fast paths (lock held or NO_SERIALIZE) ------------------------
 * The common calls of an explicit heap, without the general path's detours:
 * one direct-table pop or one push onto the page's free list, the exact
 * in_use accounting from the page's block size (no second lookup), and the
 * same pointer checks as rsv_free.  Anything else (a refill, a huge block,
 * a capped heap at its cap, a bad pointer, the default heap) returns to the
 * general path, which does the same thing slowly and reports errors. */

/* A block of size <= RSVH_DIRECT_MAX from the first page of its class, or
 * NULL (nothing taken: use heap_alloc_locked).  h explicit, not ZERO. */
RSV_INLINE void *heap_alloc_fast(rsv_heap_t *h, size_t size)
{
    rsvh_tld_t *t = &h->tld;
    rsvh_page_t *pg = t->direct[(size + 15) >> 4];
    if (RSV_UNLIKELY(pg->free == NULL)) return NULL;
    size_t bs = pg->block_size;
    if (RSV_UNLIKELY(h->max_size != 0) && t->in_use + bs > h->max_size) return NULL;
    /* The heap's own fast path pops from the same page (pg->free is set,
     * so it takes no slow path), keeping whatever per-block state it keeps. */
    void *b = rsvh_alloc_fast(t, size);
    t->in_use += bs;
    t->live_blocks++;
    if (t->in_use > t->peak_in_use) t->peak_in_use = t->in_use;
    return b;
}

/* Frees p when it is a live small block of explicit heap h on one of its
 * pages: 1.  0 when p needs the general path (huge, other heap, bad
 * pointer, the default heap, a page in the full queue): nothing changed.
 * Like rsv_free (rsvh_live_ok, rsvh_page_quiet), it checks p against the
 * segment's live bitmap, so a cold block is written, not read.
 * An explicit heap's pages never have remote frees pending (every free is
 * its owner's, under the lock), so a set bit is the whole check there. */
RSV_INLINE int heap_free_fast(rsv_heap_t *h, void *p)
{
    rsvh_segment_t *seg = rsvh_seg_of(p);
    if (RSV_UNLIKELY(!rsvh_segmap_has(seg))) return 0;
    /* Any p - seg in 1 .. 4 MiB indexes a descriptor.  Explicit heaps own
     * their pages through h->tld; free and huge descriptors are owned by
     * nobody, the default heap's by thread tlds: only h's pages pass. */
    rsvh_page_t *pg = rsvh_page_at(seg, p);
    if (RSV_UNLIKELY(atomic_load_explicit(&pg->owner, memory_order_relaxed) != &h->tld)) return 0;
    _Atomic uint64_t *w;
    uint64_t word;
    if (RSV_UNLIKELY(!rsvh_live_ok(seg, p, &w, &word) || !rsvh_page_quiet(pg))) return 0;
    h->tld.in_use -= pg->block_size;
    h->tld.live_blocks--;
    rsvh_free_push(pg, (rsvh_block_t *)p, w, word, rsvh_live_bit(p));
    return 1;
}

/* 1 when plain rsv_heap_alloc calls on h may try heap_alloc_fast. */
RSV_INLINE int heap_fast_ok(const rsv_heap_t *h)
{
    return !h->is_default && !(h->flags & RSV_HEAP_ZERO);
}

/* The rest of a locked fast-path call (refill, cap, contention): kept out
 * of line so the fast paths stay leaf functions with no stack frame.
 * `locked`: the caller holds h's API lock and this releases it. */
__attribute__((noinline)) static void *heap_alloc_rest(rsv_heap_t *h, size_t size, int locked)
{
    void *p = heap_alloc_locked(h, size, 0, 0);
    if (locked) rsvi_runlock(&h->api_lock);
    return p;
}

__attribute__((noinline)) static void heap_free_rest(rsv_heap_t *h, void *p, int locked)
{
    rsvh_segment_t *seg;
    rsvh_page_t *pg;
    if (heap_check(h, p, &seg, &pg) == 0) heap_free_checked(h, seg, pg, p);
    if (locked) rsvi_runlock(&h->api_lock);
}

/* The API lock taken by the caller's thread when the uncontended attempt
 * failed (held by another thread, or by this one: HeapLock recursion). */
__attribute__((noinline)) static void *heap_alloc_contended(rsv_heap_t *h, size_t size)
{
    rsvi_rlock(&h->api_lock);
    void *p = heap_alloc_fast(h, size);
    if (!p) return heap_alloc_rest(h, size, 1);
    rsvi_runlock(&h->api_lock);
    return p;
}

__attribute__((noinline)) static void heap_free_contended(rsv_heap_t *h, void *p)
{
    rsvi_rlock(&h->api_lock);
    if (!heap_free_fast(h, p)) heap_free_rest(h, p, 1);
    else rsvi_runlock(&h->api_lock);
}

/* One try at taking an unowned API lock: 1 when taken (depth stays 0). */
RSV_INLINE int heap_trylock(rsv_heap_t *h)
{
    uintptr_t expect = 0;
    return atomic_compare_exchange_strong_explicit(&h->api_lock.owner, &expect, rsvi_lock_self(),
                                                   memory_order_acquire, memory_order_relaxed);
}

/* Releases a lock heap_trylock took: its depth is 0 (only a recursive
 * acquisition, which heap_trylock never makes, raises it), so no need to
 * read it as rsvi_runlock does. */
RSV_INLINE void heap_unlock_tried(rsv_heap_t *h)
{
    atomic_store_explicit(&h->api_lock.owner, 0, memory_order_release);
}

/* rsv_heap_alloc's body past the debug branch. */
static void *heap_alloc_plain0(rsv_heap_t *h, size_t size)
{
    if (RSV_UNLIKELY(!heap_fast_ok(h) || size > RSVH_DIRECT_MAX)) return rsvi_heap_plain_alloc(h, size, 0, 0);
    if (h->flags & RSV_HEAP_NO_SERIALIZE) {
        void *p = heap_alloc_fast(h, size);
        return RSV_LIKELY(p != NULL) ? p : heap_alloc_rest(h, size, 0);
    }
    if (RSV_UNLIKELY(!heap_trylock(h))) return heap_alloc_contended(h, size);
    void *p = heap_alloc_fast(h, size);
    if (RSV_UNLIKELY(!p)) return heap_alloc_rest(h, size, 1);
    heap_unlock_tried(h);
    return p;
}

/* rsv_heap_free's body past the debug branch (p != NULL). */
static void heap_free_plain0(rsv_heap_t *h, void *p)
{
    /* The double-free check reads the block, often a cache miss (a batch
     * freed long after it was allocated).  Start that line before the
     * lock's atomic instruction, which would otherwise keep the load from
     * overlapping it (batch/fifo-mixed: docs/heap.md). */
    __builtin_prefetch(p, 1, 3);
    if (RSV_UNLIKELY(h->is_default)) {
        rsvi_heap_plain_free(h, p);
        return;
    }
    if (h->flags & RSV_HEAP_NO_SERIALIZE) {
        if (RSV_UNLIKELY(!heap_free_fast(h, p))) heap_free_rest(h, p, 0);
        return;
    }
    if (RSV_UNLIKELY(!heap_trylock(h))) {
        heap_free_contended(h, p);
        return;
    }
    if (RSV_UNLIKELY(!heap_free_fast(h, p))) {
        heap_free_rest(h, p, 1);
        return;
    }
    heap_unlock_tried(h);
}

/* ---- plain entry points (no debug branch) -------------------------------------- */

void *rsvi_heap_plain_alloc(rsv_heap_t *h, size_t size, size_t align, unsigned flags)
{
    if (align & (align - 1) || align > RSVH_MAX_ALIGN) {
        rsvi_error(EINVAL, "heap: alignment is not a power of two up to 1 GiB");
        return NULL;
    }
    if (!heap_serialized(h, flags)) return heap_alloc_locked(h, size, align, flags);
    rsvi_rlock(&h->api_lock);
    void *p = heap_alloc_locked(h, size, align, flags);
    rsvi_runlock(&h->api_lock);
    return p;
}

void rsvi_heap_plain_free(rsv_heap_t *h, void *p)
{
    rsvh_segment_t *seg;
    rsvh_page_t *pg;
    if (!heap_serialized(h, 0)) {
        if (heap_free_fast(h, p)) return;
        if (heap_check(h, p, &seg, &pg) == 0) heap_free_checked(h, seg, pg, p);
        return;
    }
    rsvi_rlock(&h->api_lock);
    if (RSV_UNLIKELY(!heap_free_fast(h, p)) && heap_check(h, p, &seg, &pg) == 0)
        heap_free_checked(h, seg, pg, p);
    rsvi_runlock(&h->api_lock);
}

void *rsvi_heap_plain_realloc(rsv_heap_t *h, void *p, size_t size)
{
    if (!p) return rsvi_heap_plain_alloc(h, size, 0, 0);
    if (!heap_serialized(h, 0)) return heap_realloc_locked(h, p, size);
    rsvi_rlock(&h->api_lock);
    void *q = heap_realloc_locked(h, p, size);
    rsvi_runlock(&h->api_lock);
    return q;
}

void rsvh_free_any(void *p, const void *site)
{
    rsvh_segment_t *seg;
    rsvh_page_t *pg;
    int why = rsvh_lookup(p, &seg, &pg);
    if (why) {
        /* A decorated or guard block of a debug heap (issue 7)? */
        rsv_heap_t *dh = atomic_load_explicit(&rsvi_heap_debug_count, memory_order_relaxed)
                       ? rsvi_heap_debug_owner(p) : NULL;
        if (dh) rsvi_heap_debug_free(dh, p, site);
        else rsvh_report_bad(why, "free");
        return;
    }
    rsv_heap_t *h = seg->heap;
    if (RSV_UNLIKELY(h->debug)) {
        rsvi_heap_debug_free(h, p, site);
        return;
    }
    if (h->is_default) heap_free_checked(h, seg, pg, p);
    else rsvi_heap_plain_free(h, p);
}

/* ---- public entry points ---------------------------------------------------------- */

#define HEAP_ARG_CHECK(h, ret)                                   \
    do {                                                         \
        if (RSV_UNLIKELY(!(h))) {                                \
            rsvi_error(EINVAL, "heap: NULL heap");               \
            return ret;                                          \
        }                                                        \
    } while (0)

void *rsv_heap_alloc(rsv_heap_t *h, size_t size)
{
    HEAP_ARG_CHECK(h, NULL);
    /* Debug hook (issue 7): one predictable branch. */
    if (RSV_UNLIKELY(h->debug)) return rsvi_heap_debug_alloc(h, size, 0, 0, RSVI_DBG_SITE());
    return heap_alloc_plain0(h, size);
}

void *rsv_heap_alloc_ex(rsv_heap_t *h, size_t size, size_t align, unsigned flags)
{
    HEAP_ARG_CHECK(h, NULL);
    if (flags & ~(unsigned)(RSV_HEAP_NO_SERIALIZE | RSV_HEAP_ZERO)) {
        rsvi_error(EINVAL, "heap: unknown call flags");
        return NULL;
    }
    if (RSV_UNLIKELY(h->debug)) return rsvi_heap_debug_alloc(h, size, align, flags, RSVI_DBG_SITE());
    return rsvi_heap_plain_alloc(h, size, align, flags);
}

void *rsv_heap_alloc_aligned(rsv_heap_t *h, size_t size, size_t align)
{
    HEAP_ARG_CHECK(h, NULL);
    if (align == 0 || (align & (align - 1)) || align > RSVH_MAX_ALIGN) {
        rsvi_error(EINVAL, "heap: alignment is not a power of two up to 1 GiB");
        return NULL;
    }
    if (RSV_UNLIKELY(h->debug)) return rsvi_heap_debug_alloc(h, size, align, 0, RSVI_DBG_SITE());
    return rsvi_heap_plain_alloc(h, size, align, 0);
}

void *rsv_heap_calloc(rsv_heap_t *h, size_t n, size_t size)
{
    HEAP_ARG_CHECK(h, NULL);
    if (size && n > SIZE_MAX / size) {
        rsvi_error(ENOMEM, "heap: calloc size overflows");
        return NULL;
    }
    if (RSV_UNLIKELY(h->debug)) return rsvi_heap_debug_alloc(h, n * size, 0, RSV_HEAP_ZERO, RSVI_DBG_SITE());
    return rsvi_heap_plain_alloc(h, n * size, 0, RSV_HEAP_ZERO);
}

void *rsv_heap_realloc(rsv_heap_t *h, void *p, size_t size)
{
    HEAP_ARG_CHECK(h, NULL);
    if (RSV_UNLIKELY(h->debug)) return rsvi_heap_debug_realloc(h, p, size, RSVI_DBG_SITE());
    return rsvi_heap_plain_realloc(h, p, size);
}

void rsv_heap_free(rsv_heap_t *h, void *p)
{
    HEAP_ARG_CHECK(h, );
    if (!p) return;
    if (RSV_UNLIKELY(h->debug)) {
        rsvi_heap_debug_free(h, p, RSVI_DBG_SITE());
        return;
    }
    heap_free_plain0(h, p);
}

void *rsv_heap_expand(rsv_heap_t *h, void *p, size_t size)
{
    HEAP_ARG_CHECK(h, NULL);
    if (!p) return NULL;
    if (RSV_UNLIKELY(h->debug) && rsvi_heap_debug_knows(h, p)) /* never moves a decorated block */
        return size <= rsvi_heap_debug_usable(h, p) ? p : NULL;
    int ser = heap_serialized(h, 0);
    if (ser) rsvi_rlock(&h->api_lock);
    rsvh_segment_t *seg;
    rsvh_page_t *pg;
    void *r = NULL;
    if (heap_check(h, p, &seg, &pg) == 0) {
        size_t old = rsvh_block_usable(seg, pg);
        if (rsvh_resize_in_place(h, seg, pg, size, 0)) {
            r = p;
            if (!h->is_default) {
                h->tld.in_use = h->tld.in_use - old + rsvh_block_usable(seg, pg);
                if (h->tld.in_use > h->tld.peak_in_use) h->tld.peak_in_use = h->tld.in_use;
            }
        }
    }
    if (ser) rsvi_runlock(&h->api_lock);
    return r;
}

size_t rsv_heap_usable_size(rsv_heap_t *h, const void *p)
{
    HEAP_ARG_CHECK(h, 0);
    if (!p) return 0;
    if (RSV_UNLIKELY(h->debug) && rsvi_heap_debug_knows(h, p)) return rsvi_heap_debug_usable(h, p);
    int ser = heap_serialized(h, 0);
    if (ser) rsvi_rlock(&h->api_lock);
    rsvh_segment_t *seg;
    rsvh_page_t *pg;
    size_t n = 0;
    if (rsvh_lookup(p, &seg, &pg) == RSVH_OK && seg->heap == h) n = rsvh_block_usable(seg, pg);
    if (ser) rsvi_runlock(&h->api_lock);
    return n;
}

rsv_heap_t *rsv_heap_of(const void *p)
{
    rsvh_segment_t *seg;
    rsvh_page_t *pg;
    if (!p) return NULL;
    if (rsvh_lookup(p, &seg, &pg) != RSVH_OK) {
        if (!atomic_load_explicit(&rsvi_heap_debug_count, memory_order_relaxed)) return NULL;
        rsv_heap_t *h = rsvi_heap_debug_owner(p);
        return h && rsvi_heap_debug_knows(h, p) ? h : NULL;
    }
    return seg->heap;
}

rsv_heap_t *rsvi_heap_debug_owner(const void *p)
{
    rsv_heap_t *found = NULL;
    if (rsvh_default_heap.debug && rsvi_heap_debug_knows(&rsvh_default_heap, p)) return &rsvh_default_heap;
    rsvi_lock(&heap_list_lock);
    for (rsv_heap_t *h = rsvh_default_heap.next_heap; h && !found; h = h->next_heap)
        if (h->debug && rsvi_heap_debug_knows(h, p)) found = h;
    rsvi_unlock(&heap_list_lock);
    /* Unknown everywhere: the default heap's debug layer reports it. */
    if (!found && rsvh_default_heap.debug) found = &rsvh_default_heap;
    return found;
}
