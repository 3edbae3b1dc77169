/* lib/heap/alloc.c — the allocation engine under every public entry point:
 * the slow path behind the inline fast path, huge blocks (a span of
 * segments each), aligned allocation, and the checks a pointer passes
 * before free/realloc/usable_size trust it.
 *
 * Locking is the caller's: explicit serialized heaps hold their API lock;
 * the default heap's shared state is locked here around segment work.
 * Never prints or allocates on a failure path; errors go to rsvi_error.
 */
#include <errno.h>
#include <string.h>

#include "heap/heap_internal.h"

const uint32_t rsvh_class_size[RSVH_CLASSES] = {
    16, 32, 48, 64, 80, 96, 112, 128,
    160, 192, 224, 256, 320, 384, 448, 512,
    640, 768, 896, 1024, 1280, 1536, 1792, 2048,
    2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192,
    10240, 12288, 14336, 16384, 20480, 24576, 28672, 32768,
    40960, 49152, 57344, 65536, 81920, 98304, 114688, 131072,
    163840, 196608, 229376, 262144, 327680, 393216, 458752, 524288,
    655360, 786432, 917504, 1048576,
};

void rsvh_report_bad(int why, const char *what)
{
    (void)what;
    switch (why) {
    case RSVH_BAD_FOREIGN:
        rsvi_error(EINVAL, "heap: pointer not allocated by this heap");
        break;
    case RSVH_BAD_INTERIOR:
        rsvi_error(EINVAL, "heap: pointer is not the start of a block");
        break;
    case RSVH_BAD_FREED:
        rsvi_error(EINVAL, "heap: block already freed (double free)");
        break;
    default:
        rsvi_error(EINVAL, "heap: bad pointer");
        break;
    }
}

/* ---- huge blocks ------------------------------------------------------------ */

/* Where a huge block aligned to align starts in its first segment: after
 * the header, on a multiple of align. */
static size_t huge_offset(size_t align)
{
    if (align <= RSVH_CLASS_ALIGN_MAX) return RSVH_HDR;   /* a multiple of 8 KiB */
    if (align < RSVH_SEG_SIZE) return (RSVH_HDR + align - 1) & ~(align - 1);
    return RSVH_SEG_SIZE;
}

/* A block of size bytes aligned to align in a span of its own.  *zero set
 * when it reads zero.  Takes the heap lock. */
static void *huge_alloc(rsv_heap_t *h, size_t size, size_t align, int *zero)
{
    size_t off = huge_offset(align);
    if (size > ((size_t)1 << 40) || size > SIZE_MAX / 4) {
        rsvi_error(ENOMEM, "heap: request too large");
        return NULL;
    }
    size_t n = (off + size + RSVH_SEG_MASK) >> RSVH_SEG_SHIFT;
    rsvh_area_t *a;
    size_t index;
    int z = 0;
    rsvh_lock(h);
    rsvh_segment_t *s = rsvh_area_claim(h, n, align > RSVH_SEG_SIZE ? align : 0, &z, &a, &index);
    if (s) {
        memset(s, 0, offsetof(rsvh_segment_t, pages));
        s->cookie = rsvh_cookie(s);
        s->kind = RSVH_HUGE;
        s->page_shift = RSVH_SEG_SHIFT;
        s->desc_shift = RSVH_SEG_SHIFT - 6;
        s->page_count = 0;
        /* p - 1 masking maps the block to descriptor 0 (or 1 when the block
         * starts at 4 MiB): capacity 0 keeps the small-block check off it. */
        memset(s->pages, 0, 2 * sizeof s->pages[0]);
        s->heap = h;
        s->area = a;
        s->index = index;
        s->span = n;
        s->huge_block = (char *)s + off;
        s->huge_size = n * RSVH_SEG_SIZE - off;
        s->zero = (uint16_t)z;
        h->huge_live++;
        h->huge_bytes += n * RSVH_SEG_SIZE;
        rsvh_segmap_set(s, 1);
    }
    rsvh_unlock(h);
    if (!s) return NULL;
    *zero = z;
    return s->huge_block;
}

void rsvh_free_huge(rsv_heap_t *h, rsvh_segment_t *seg)
{
    rsvh_lock(h);
    rsvh_segmap_set(seg, 0);
    seg->cookie = 0;
    h->huge_live--;
    h->huge_bytes -= seg->span * RSVH_SEG_SIZE;
    rsvh_area_release(h, seg->area, seg->index, seg->span);
    rsvh_unlock(h);
}

/* Resizes a huge block in place to hold size bytes.  0 or ENOMEM. */
static int huge_resize(rsv_heap_t *h, rsvh_segment_t *seg, size_t size)
{
    size_t off = (size_t)(seg->huge_block - (char *)seg);
    if (size > ((size_t)1 << 40)) return ENOMEM;
    size_t n = (off + size + RSVH_SEG_MASK) >> RSVH_SEG_SHIFT;
    if (n == seg->span) return 0;
    int e = 0;
    rsvh_lock(h);
    if (n < seg->span) {
        rsvh_area_release(h, seg->area, seg->index + n, seg->span - n);
        h->huge_bytes -= (seg->span - n) * RSVH_SEG_SIZE;
    } else {
        int z;
        e = rsvh_area_grow(h, seg->area, seg->index + seg->span, n - seg->span, &z);
        if (e == 0) h->huge_bytes += (n - seg->span) * RSVH_SEG_SIZE;
    }
    if (e == 0) {
        seg->span = n;
        seg->huge_size = n * RSVH_SEG_SIZE - off;
    }
    rsvh_unlock(h);
    return e;
}

/* ---- allocation -------------------------------------------------------------- */

/* A LARGE block (64 KiB < size <= 1 MiB) of the default heap: the block
 * this thread parked when it freed one of the class last, else one of
 * the heap's shared pages, which h->tld owns for all threads.  Per-thread
 * pages kept every thread's own peak of such blocks resident: eight
 * threads passing 128 KiB vectors to each other held 3.7 MiB of them,
 * 0.9 MiB live (docs/malloc.md).
 * A thread never waits for the shared pages: when another thread is in
 * them, it takes the block from a page of its own (as for any other
 * class), and the medium fast path serves the class from that page until
 * it runs dry.  Waiting made two threads that churn eight 128 KiB blocks
 * each take 72-128 ns per allocation instead of 18 (docs/heap.md). */
__attribute__((noinline)) static void *large_shared(rsvh_tld_t *t, size_t size)
{
    rsvh_block_t *b = t->parked;
    if (b && rsvh_page_of(b)->cls == rsvh_class_of(size)) {
        t->parked = NULL;
        b->cookie = 0;   /* live again: no longer reads as freed */
        return b;
    }
    rsv_heap_t *h = t->heap;
    if (!rsvi_trylock(&h->shared_lock)) return rsvh_page_alloc_slow(t, size);
    void *p = rsvh_page_alloc_slow(&h->tld, size);
    rsvi_unlock(&h->shared_lock);
    return p;
}

void *rsvh_alloc_slow(rsvh_tld_t *t, size_t size)
{
    if (RSV_UNLIKELY(t == &rsvh_tld_empty)) {
        t = rsvh_tld_get();
        if (!t) return NULL;
        return rsvh_alloc_fast(t, size);
    }
    if (size > RSVH_LARGE_MAX) {
        int zero;
        return huge_alloc(t->heap, size, RSVH_ALIGN, &zero);
    }
    if (size > RSVH_DIRECT_MAX) {
        /* Medium fast path: the first page of the class (for the
         * default heap's LARGE classes, a page the thread took while
         * another was in the shared pages, see large_shared). */
        rsvh_page_t *pg = t->queues[rsvh_class_of(size)].first;
        if (pg && pg->free) return rsvh_block_take(pg);
        if (size > RSVH_MEDIUM_MAX && t->heap->is_default) return large_shared(t, size);
    }
    return rsvh_page_alloc_slow(t, size);
}

void *rsvh_alloc_aligned(rsvh_tld_t *t, size_t size, size_t align)
{
    if (align <= RSVH_ALIGN) return rsvh_alloc_fast(t, size);
    if (t == &rsvh_tld_empty) {
        t = rsvh_tld_get();
        if (!t) return NULL;
    }
    size_t s = size > align ? size : align;
    if (align <= RSVH_CLASS_ALIGN_MAX && s <= RSVH_LARGE_MAX) {
        size_t p2 = RSVH_ALIGN;
        while (p2 < s) p2 <<= 1;   /* power-of-two classes are naturally aligned */
        return rsvh_alloc_fast(t, p2);
    }
    int zero;
    return huge_alloc(t->heap, size, align, &zero);
}

void *rsvh_calloc_in(rsvh_tld_t *t, size_t size, size_t align)
{
    if (size > RSVH_LARGE_MAX) {
        if (t == &rsvh_tld_empty) {
            t = rsvh_tld_get();
            if (!t) return NULL;
        }
        int zero = 0;
        void *p = huge_alloc(t->heap, size, align < RSVH_ALIGN ? RSVH_ALIGN : align, &zero);
        if (p && !zero) memset(p, 0, size);
        return p;
    }
    void *p = rsvh_alloc_aligned(t, size, align);
    if (p) memset(p, 0, size);
    return p;
}

size_t rsvh_block_usable(rsvh_segment_t *seg, rsvh_page_t *pg)
{
    return seg->kind == RSVH_HUGE ? seg->huge_size : pg->block_size;
}

int rsvh_lookup(const void *p, rsvh_segment_t **segp, rsvh_page_t **pgp)
{
    rsvh_segment_t *seg = rsvh_seg_of(p);
    if (!p || !rsvh_segmap_has(seg)) return RSVH_BAD_FOREIGN;
    if (seg->cookie != rsvh_cookie(seg)) return RSVH_BAD_FOREIGN;
    *segp = seg;
    if (seg->kind == RSVH_HUGE) {
        if ((const char *)p != seg->huge_block) return RSVH_BAD_INTERIOR;
        *pgp = NULL;
        return RSVH_OK;
    }
    return rsvh_check_block(seg, p, pgp);
}

/* The default heap's realloc growth to more than this that has to move
 * goes to a span of its own (rsvh_realloc_span), not to a LARGE class. */
#define RSVH_REALLOC_SPAN_MIN ((size_t)256 << 10)

/* A span of its own, not the next LARGE class, whose page would keep the
 * block's memory resident once it moves on (a buffer grown from 256 KiB
 * to 1 MiB passed eight classes, 5.1 MiB); later growth resizes the span
 * in place (huge_resize: no copy, and only the bytes written become
 * resident). */
void *rsvh_realloc_span(rsv_heap_t *h, size_t size, size_t old, int *tried)
{
    *tried = h->is_default && size > old && size > RSVH_REALLOC_SPAN_MIN && size <= RSVH_LARGE_MAX;
    if (!*tried) return NULL;
    int zero;
    return huge_alloc(h, size, RSVH_ALIGN, &zero);
}

int rsvh_resize_in_place(rsv_heap_t *h, rsvh_segment_t *seg, rsvh_page_t *pg, size_t size,
                         int for_realloc)
{
    if (!pg) {
        /* realloc moves a huge block that shrinks into the size classes,
         * except, in the default heap, a one-segment span that keeps more
         * than RSVH_REALLOC_SPAN_MIN (a buffer that rsvh_realloc_span
         * put there, growing; a shrink from more segments still moves). */
        if (for_realloc && size <= RSVH_LARGE_MAX &&
            (!h->is_default || size <= RSVH_REALLOC_SPAN_MIN || seg->span > 1))
            return 0;
        return huge_resize(h, seg, size) == 0;
    }
    if (size > pg->block_size) return 0;
    /* realloc moves a block that shrinks below half its class (a smaller
     * class exists); expand keeps it. */
    return !for_realloc || size >= pg->block_size / 2 || pg->block_size <= 32;
}
