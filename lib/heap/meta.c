/* lib/heap/meta.c — the heap layer's process-wide bookkeeping: the segment
 * map (one bit per 4 MiB of address space saying "a live heap segment
 * starts here") and the metadata allocator that holds heap, tld and area
 * headers in one region of its own.
 *
 * Must never allocate from a heap (it is what the heaps stand on) and
 * never return metadata memory to the OS: a remote thread may still read a
 * tld or heap header it found through a page, so these stay mapped.
 */
#include <errno.h>
#include <string.h>

#include "heap/heap_internal.h"

_Atomic uint64_t rsvh_segmap[RSVH_SEGMAP_BITS / 64];

#if defined(__ELF__) && defined(__GNUC__)
_Thread_local __attribute__((tls_model("initial-exec"))) char rsvi_lock_anchor; /* lock.h */
#endif

void rsvh_segmap_set(const void *seg, int on)
{
    uintptr_t i = (uintptr_t)seg >> RSVH_SEG_SHIFT;
    if (i >= RSVH_SEGMAP_BITS) return;
    uint64_t bit = (uint64_t)1 << (i % 64);
    if (on) atomic_fetch_or_explicit(&rsvh_segmap[i / 64], bit, memory_order_release);
    else atomic_fetch_and_explicit(&rsvh_segmap[i / 64], ~bit, memory_order_release);
}

void rsvh_segmap_clear_range(const void *base, size_t size)
{
    uintptr_t lo = (uintptr_t)base >> RSVH_SEG_SHIFT;
    uintptr_t hi = ((uintptr_t)base + size) >> RSVH_SEG_SHIFT;
    for (uintptr_t i = lo; i < hi && i < RSVH_SEGMAP_BITS; i++)
        atomic_fetch_and_explicit(&rsvh_segmap[i / 64], ~((uint64_t)1 << (i % 64)),
                                  memory_order_release);
}

/* ---- metadata allocator ---------------------------------------------------
 * Power-of-two classes from 64 B to 1 MiB, bump-allocated from one region
 * (1 GiB reserved, committed in 64 KiB steps) with a free list per class. */

#define META_MIN_SHIFT 6
#define META_MAX_SHIFT 20
#define META_CLASSES (META_MAX_SHIFT - META_MIN_SHIFT + 1)

typedef struct meta_free {
    struct meta_free *next;
} meta_free_t;

static rsvi_lock_t meta_lock;
static rsv_region_t meta_region;
/* The first metadata starts 76 KiB into the region.  The kernel tends to
 * place this region right above the default heap's 4 GiB area, so a tld at
 * its very start had the same low 32 bits as the first segment's header and
 * page descriptors: on this AMD EPYC the L1 way predictor (hashing address
 * bits 12-27) then evicts one for the other on every access, and an
 * alloc/free pair took 13-14 ns instead of 6 in about half the processes
 * (always with ASLR off).  The offset changes bits 12-16. */
#define META_COLOR ((size_t)0x13000)
static size_t meta_top = META_COLOR;
static meta_free_t *meta_free_lists[META_CLASSES];

static unsigned meta_class(size_t size)
{
    unsigned c = 0;
    while (((size_t)1 << (c + META_MIN_SHIFT)) < size) c++;
    return c;
}

void *rsvh_meta_alloc(size_t size)
{
    if (size == 0 || size > ((size_t)1 << META_MAX_SHIFT)) {
        rsvi_error(ENOMEM, "heap: metadata request too large");
        return NULL;
    }
    unsigned c = meta_class(size);
    size_t bytes = (size_t)1 << (c + META_MIN_SHIFT);
    void *p = NULL;
    rsvi_lock(&meta_lock);
    if (meta_free_lists[c]) {
        meta_free_t *f = meta_free_lists[c];
        meta_free_lists[c] = f->next;
        p = f;
    } else {
        if (!meta_region.base) {
            rsv_region_opts_t o = {0};
            o.reserve = (size_t)1 << 30;
            o.commit_step = (size_t)64 << 10;
            if (rsv_region_init(&meta_region, &o) != 0) goto out;
        }
        size_t start = (meta_top + bytes - 1) & ~(bytes - 1);
        if (start + bytes > meta_region.usable) {
            rsvi_error(ENOMEM, "heap: metadata region full");
            goto out;
        }
        if (rsv_region_commit_to(&meta_region, start + bytes) != 0) goto out;
        meta_top = start + bytes;
        p = meta_region.base + start;
    }
out:
    rsvi_unlock(&meta_lock);
    if (p) memset(p, 0, bytes);
    return p;
}

void rsvh_meta_free(void *p, size_t size)
{
    if (!p) return;
    unsigned c = meta_class(size);
    meta_free_t *f = p;
    rsvi_lock(&meta_lock);
    f->next = meta_free_lists[c];
    meta_free_lists[c] = f;
    rsvi_unlock(&meta_lock);
}

void rsvh_meta_fork(int lock)
{
    if (lock) rsvi_lock(&meta_lock);
    else rsvi_unlock(&meta_lock);
}
