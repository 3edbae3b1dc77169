/* lib/malloc.c — the malloc family (reservoir/malloc.h) on the default
 * heap with glibc's semantics: errno ENOMEM on failure, calloc and
 * reallocarray overflow -> NULL + ENOMEM, realloc(NULL, n) == malloc(n),
 * realloc(p, 0) frees p and returns NULL, posix_memalign returns EINVAL for
 * a bad alignment and leaves *out untouched on any error, aligned_alloc
 * rejects a non-power-of-two alignment with EINVAL, memalign rounds one up.
 *
 * The hot paths (malloc, free) are the heap's inline fast paths plus one
 * debug branch each.  free/realloc/usable_size accept a block of any
 * Reservoir heap and route it to its owner.  Must never trust a pointer it
 * has not looked up, and never print or allocate on a failure path.
 */
#include <errno.h>
#include <string.h>

#include "debug/dbg.h"
#include "heap/heap_internal.h"
#include "reservoir/malloc.h"
#include "reservoir/vm.h"

/* The paths off the fast path, kept out of line so that rsv_malloc and
 * rsv_free are leaf functions with tail calls: no register spills, no
 * stack traffic (a stack store 4 KiB-aliasing a block or descriptor load
 * made pair timings bimodal across runs). */
__attribute__((noinline)) static void *malloc_slow(rsvh_tld_t *t, size_t size, const void *site)
{
    void *p = RSV_UNLIKELY(rsvh_default_heap.debug)
                  ? rsvi_heap_debug_alloc(&rsvh_default_heap, size, 0, 0, site)
                  : rsvh_alloc_slow(t, size);
    if (RSV_UNLIKELY(!p)) errno = ENOMEM;
    return p;
}

/* The owner's free of a live-bit block on a page with pending remote frees
 * (or in the full queue): out of line, so rsv_free stays a leaf. */
__attribute__((noinline)) static void free_owned_slow(rsvh_page_t *pg, void *p, const void *site)
{
    rsvh_tld_t *t = atomic_load_explicit(&pg->owner, memory_order_relaxed);
    if (!rsvh_free_owned_checked(t, pg, (rsvh_block_t *)p)) rsvh_free_any(p, site);   /* reports it */
}

/* Everything rsv_free's fast path does not take, NULL included (it fails
 * the segment map's range test): out of line, a tail call. */
__attribute__((noinline)) static void free_other(void *p, const void *site)
{
    if (p) rsvh_free_any(p, site);   /* huge blocks, other heaps, bad pointers, debug */
}

/* rsv_malloc and rsv_free start on a 64-byte line of their own: where a
 * hot path falls against the line and fetch boundaries moved the pair
 * timings by up to 17% between builds that did not touch it (bench/ab). */
#if defined(__GNUC__)
#define MALLOC_HOT __attribute__((aligned(64)))
#else
#define MALLOC_HOT
#endif

MALLOC_HOT void *rsv_malloc(size_t size)
{
    rsvh_tld_t *t = rsvh_tls_get();
    /* The debug hook (issue 7) and the size limit in one predictable
     * branch: fast_below is 0 while the hook is on. */
    if (RSV_LIKELY(size < rsvh_default_heap.fast_below)) {
        rsvh_page_t *pg = t->direct[(size + 15) >> 4];
        if (RSV_LIKELY(pg->free != NULL)) return rsvh_block_take(pg);
    }
    return malloc_slow(t, size, RSVI_DBG_SITE());
}

MALLOC_HOT void rsv_free(void *p)
{
    if (RSV_UNLIKELY(rsvh_default_heap.debug)) {
        free_other(p, RSVI_DBG_SITE());
        return;
    }
    rsvh_segment_t *seg = rsvh_seg_of(p);   /* NULL: fails the map's range test */
    if (RSV_LIKELY(rsvh_segmap_has(seg))) {
        /* Any p - seg in 1 .. 4 MiB indexes a descriptor (64 is a zeroed
         * guard); only default-heap pages are owned by a thread's tld, and
         * free or huge descriptors by nobody. */
        rsvh_page_t *pg = rsvh_page_at(seg, p);
        RSVH_OPAQUE(pg);
        rsvh_tld_t *t = rsvh_tls_get();
        if (RSV_LIKELY(atomic_load_explicit(&pg->owner, memory_order_relaxed) == t)) {
            /* Our page: the live bitmap checks p without reading it. */
            _Atomic uint64_t *w;
            uint64_t word;
            if (RSV_LIKELY(rsvh_live_ok(seg, p, &w, &word))) {
                if (RSV_UNLIKELY(!rsvh_page_quiet(pg))) {
                    free_owned_slow(pg, p, RSVI_DBG_SITE());
                    return;
                }
                rsvh_free_push(pg, (rsvh_block_t *)p, w, word, rsvh_live_bit(p));
                return;
            }
        } else if (seg->heap == &rsvh_default_heap && rsvh_check_block(seg, p, &pg) == RSVH_OK) {
            rsvh_free_foreign(t, pg, (rsvh_block_t *)p);
            return;
        }
    }
    free_other(p, RSVI_DBG_SITE());
}

void *rsv_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    void *p;
    if (RSV_UNLIKELY(rsvh_default_heap.debug))
        p = rsvi_heap_debug_alloc(&rsvh_default_heap, n * size, 0, RSV_HEAP_ZERO, RSVI_DBG_SITE());
    else
        p = rsvh_calloc_in(rsvh_tls_get(), n * size, RSVH_ALIGN);
    if (!p) errno = ENOMEM;
    return p;
}

void *rsv_realloc(void *p, size_t size)
{
    if (!p) return rsv_malloc(size);
    if (size == 0) {
        rsv_free(p);
        return NULL;
    }
    rsv_heap_t *h = rsv_heap_of(p);
    if (!h && RSV_UNLIKELY(rsvh_default_heap.debug)) h = &rsvh_default_heap; /* it reports p */
    if (!h) {
        rsvh_segment_t *seg;
        rsvh_page_t *pg;
        rsvh_report_bad(rsvh_lookup(p, &seg, &pg), "realloc");
        errno = EINVAL;
        return NULL;
    }
    void *q = RSV_UNLIKELY(h->debug) ? rsvi_heap_debug_realloc(h, p, size, RSVI_DBG_SITE())
                                     : rsv_heap_realloc(h, p, size);
    if (!q) errno = ENOMEM;
    return q;
}

void *rsv_reallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return rsv_realloc(p, n * size);
}

/* memalign's core: align a power of two. */
static void *malloc_aligned(size_t align, size_t size)
{
    if (align > RSVH_MAX_ALIGN) {
        errno = ENOMEM;
        return NULL;
    }
    void *p;
    if (RSV_UNLIKELY(rsvh_default_heap.debug))
        p = rsvi_heap_debug_alloc(&rsvh_default_heap, size, align, 0, RSVI_DBG_SITE());
    else
        p = rsvh_alloc_aligned(rsvh_tls_get(), size, align);
    if (!p) errno = ENOMEM;
    return p;
}

int rsv_posix_memalign(void **out, size_t align, size_t size)
{
    if (!out || align < sizeof(void *) || (align & (align - 1))) return EINVAL;
    int saved = errno;
    void *p = malloc_aligned(align, size);
    errno = saved;
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

void *rsv_aligned_alloc(size_t align, size_t size)
{
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    return malloc_aligned(align, size);
}

void *rsv_memalign(size_t align, size_t size)
{
    if (align <= RSVH_ALIGN) return rsv_malloc(size);
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    size_t a = RSVH_ALIGN;
    while (a < align) a <<= 1;   /* glibc rounds a non-power-of-two up */
    return malloc_aligned(a, size);
}

void *rsv_valloc(size_t size)
{
    return malloc_aligned(rsv_vm_page_size(), size);
}

void *rsv_pvalloc(size_t size)
{
    size_t page = rsv_vm_page_size();
    if (size > SIZE_MAX - (page - 1)) {
        errno = ENOMEM;
        return NULL;
    }
    size_t n = (size + page - 1) & ~(page - 1);
    return malloc_aligned(page, n ? n : page);
}

size_t rsv_malloc_usable_size(const void *p)
{
    if (!p) return 0;
    rsv_heap_t *h = rsv_heap_of(p);
    return h ? rsv_heap_usable_size(h, p) : 0;
}
