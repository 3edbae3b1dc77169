/* reservoir/heap.h — the general-purpose heap: size classes in aligned
 * segments, per-thread caches for the default heap, large blocks in their
 * own regions, destroy-everything-at-once.
 *
 * Any thread may call any function on any heap.  A heap created with
 * RSV_HEAP_NO_SERIALIZE leaves locking to the caller.  Pointers the heap did
 * not allocate, interior pointers and double frees are detected and reported
 * through the error handler; they never corrupt the heap.
 */
#ifndef RESERVOIR_HEAP_H
#define RESERVOIR_HEAP_H

#include "base.h"
#include "debug.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rsv_heap rsv_heap_t;

enum {
    RSV_HEAP_NO_SERIALIZE = 1u << 0,  /* caller serialises all calls */
    RSV_HEAP_ZERO = 1u << 1,          /* every block is zeroed */
    RSV_HEAP_EXECUTABLE = 1u << 2     /* memory is executable */
};

/* Zero in any field means its default. */
typedef struct rsv_heap_opts {
    size_t max_size;       /* 0: growable; otherwise a cap on the bytes of live
                              blocks (usable sizes); the heap then reserves
                              once, max_size plus 76 MiB of address space
                              for one page of every size class */
    size_t initial_commit; /* bytes committed at creation */
    unsigned flags;        /* RSV_HEAP_* */
    const char *name;      /* for reports; not copied, must outlive the heap */
    /* Debug layer (reservoir/debug.h); NULL: what RSV_DEBUG says (off when
     * unset).  Copied.  Ignored when rsv_debug_available() is 0. */
    const rsv_debug_opts_t *debug;
} rsv_heap_opts_t;

/* Returns a new heap, or NULL (error handler called) when memory runs out or
 * opts are invalid. */
RSV_API rsv_heap_t *rsv_heap_create(const rsv_heap_opts_t *opts);

/* Releases every region of `h` at once; blocks are not walked.  The default
 * heap cannot be destroyed (ignored, error reported). */
RSV_API void rsv_heap_destroy(rsv_heap_t *h);

/* The process heap, created on first use; never NULL unless the OS refused
 * the very first reservation. */
RSV_API rsv_heap_t *rsv_heap_default(void);

/* Blocks are aligned to 16 bytes (2 * sizeof(void *) on 32-bit).  size 0
 * returns a unique minimal block.  NULL on failure (error handler called). */
RSV_API void *rsv_heap_alloc(rsv_heap_t *h, size_t size) RSV_MALLOC_ATTR;
/* align: any power of two up to 1 GiB; EINVAL otherwise. */
RSV_API void *rsv_heap_alloc_aligned(rsv_heap_t *h, size_t size, size_t align) RSV_MALLOC_ATTR;
RSV_API void *rsv_heap_calloc(rsv_heap_t *h, size_t n, size_t size) RSV_MALLOC_ATTR;
/* One call with per-call options: align (0 = 16; a power of two up to
 * 1 GiB) and flags RSV_HEAP_NO_SERIALIZE (skip the heap's lock for this
 * call: the caller serialises, as Win32's per-call HEAP_NO_SERIALIZE) and
 * RSV_HEAP_ZERO (zero this block).  Other flags: NULL, EINVAL reported. */
RSV_API void *rsv_heap_alloc_ex(rsv_heap_t *h, size_t size, size_t align, unsigned flags) RSV_MALLOC_ATTR;
/* realloc(NULL, n) allocates; realloc(p, 0) returns a minimal block (the
 * malloc face applies glibc's rule itself).  On failure returns NULL and p is
 * untouched. */
RSV_API void *rsv_heap_realloc(rsv_heap_t *h, void *p, size_t size);
/* Resizes in place or fails: returns p or NULL, never moves. */
RSV_API void *rsv_heap_expand(rsv_heap_t *h, void *p, size_t size);
RSV_API void rsv_heap_free(rsv_heap_t *h, void *p);
/* Bytes usable at p (>= the size asked for); 0 for a pointer not owned. */
RSV_API size_t rsv_heap_usable_size(rsv_heap_t *h, const void *p);

/* The heap that owns p (a block start), or NULL.  Cheap, never faults. */
RSV_API rsv_heap_t *rsv_heap_of(const void *p);

/* Recursive lock held across several calls (HeapLock).  On an explicit
 * heap, calls from other threads block meanwhile; no effect on
 * RSV_HEAP_NO_SERIALIZE heaps.  On the default heap (whose threads never
 * wait for each other) it only excludes other rsv_heap_lock holders.
 * rsv_heap_unlock by a thread that does not hold it is reported (EPERM). */
RSV_API void rsv_heap_lock(rsv_heap_t *h);
RSV_API void rsv_heap_unlock(rsv_heap_t *h);

/* Full consistency check of the heap (p == NULL) or of one block.
 * Returns 0 when consistent; otherwise an error code, with a description
 * written into msg (may be NULL) without allocating. */
RSV_API int rsv_heap_validate(rsv_heap_t *h, const void *p, char *msg, size_t msg_size);

enum {
    RSV_WALK_REGION = 1,     /* a region of the heap: addr/size its reservation */
    RSV_WALK_BLOCK_USED = 2, /* a live block */
    RSV_WALK_BLOCK_FREE = 3, /* a free block (or free run) */
    RSV_WALK_UNCOMMITTED = 4 /* an uncommitted range inside a region */
};
typedef struct rsv_heap_walk_entry {
    void *addr;
    size_t size;
    int kind;              /* RSV_WALK_* */
    int committed;         /* 1 when the bytes are committed */
    unsigned region_index; /* which region of the heap */
} rsv_heap_walk_entry_t;
/* Calls fn for every region and block; stops when fn returns non-zero and
 * returns that value.  Must not allocate from or free to h inside fn. */
typedef int (*rsv_heap_walk_fn)(void *user, const rsv_heap_walk_entry_t *e);
RSV_API int rsv_heap_walk(rsv_heap_t *h, rsv_heap_walk_fn fn, void *user);

#define RSV_HEAP_STAT_CLASSES 64
typedef struct rsv_heap_stats {
    size_t reserved, committed, in_use, peak_in_use, peak_committed;
    size_t blocks;                       /* live blocks */
    size_t large_blocks;                 /* live blocks in their own region */
    size_t class_size[RSV_HEAP_STAT_CLASSES];   /* 0 past the last class */
    size_t class_blocks[RSV_HEAP_STAT_CLASSES]; /* live blocks per class */
} rsv_heap_stats_t;
/* in_use counts usable bytes of live blocks (on the default heap, blocks
 * freed by another thread count until their owner collects them, and so
 * does the block over 64 KiB each thread keeps from its last free of one:
 * until the thread frees another, allocates one of its size class, calls
 * rsv_heap_trim or exits).
 * peak_in_use is exact for explicit heaps; for the default heap, whose
 * threads keep no shared counter, it is the largest in_use a
 * rsv_heap_stats call has seen.  Safe while other threads allocate. */
RSV_API void rsv_heap_stats(rsv_heap_t *h, rsv_heap_stats_t *out);

/* Returns free memory to the OS now; returns the bytes released. */
RSV_API size_t rsv_heap_trim(rsv_heap_t *h);

#ifdef __cplusplus
}
#endif

#endif /* RESERVOIR_HEAP_H */
