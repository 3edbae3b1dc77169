/* lib/win32/w32.h — private contract between the Win32 façade's files:
 * error.c (flag and error translation, last error, exceptions), heap.c
 * (Heap*), global.c (Global* and Local*) and virtual.c (Virtual*).  Nothing
 * outside lib/win32/ includes it; it includes no OS header.
 */
#ifndef RSV_WIN32_W32_H
#define RSV_WIN32_W32_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lock.h"
#include "os/w32err.h"
#include "reservoir/win32.h"

/* ---- error.c: error translation ----------------------------------------- */
/* Sets the thread's last error. */
void rsvi_w32_set_error(DWORD code);
/* Maps an errno-style code from the vm/heap layers onto a Win32 error. */
DWORD rsvi_w32_error_from_errno(int e);
/* A heap allocation failed: sets ERROR_NOT_ENOUGH_MEMORY and, when `flags`
 * (effective heap flags) include HEAP_GENERATE_EXCEPTIONS, raises
 * STATUS_NO_MEMORY (spec HA-6, HA-7, HR-7).  Returns when the exception was
 * handled (Windows) or the installed handler returned. */
void rsvi_w32_alloc_failed(DWORD flags);
/* Raises `status`: the real exception on Windows, else the installed
 * handler (default: message on stderr + abort). */
void rsvi_w32_raise(DWORD status);
/* Flag translation shared by Global*, Local* and Heap*. */
DWORD rsvi_w32_heap_call_flags(DWORD create_flags, DWORD call_flags);
/* 1 when `prot` is a PAGE_* value VirtualAlloc/VirtualProtect accept. */
int rsvi_w32_prot_valid(DWORD prot);
/* RSV_PROT_* bits the pages get for a valid PAGE_* value (GUARD: none). */
unsigned rsvi_w32_prot_to_rsv(DWORD prot);

/* Locks: HeapLock's critical section is lib/lock.h's recursive
 * rsvi_rlock_t; short internal sections use its rsvi_lock_t. */

/* ---- heap.c: blocks with a façade header --------------------------------
 *
 *   rsv_heap block:  [ pad (large blocks only) | size | tag | user bytes ... ]
 *                                               ^ hdr      ^ pointer returned
 *
 * `size` is the exact requested size (HeapSize, spec HA-2).  `tag` is the
 * owner's address with the state in its low bits: a heap (64 KiB aligned)
 * or a moveable handle entry (2P aligned) for GlobalAlloc's data blocks
 * (the back-pointer of spec GL-4/GL-62).  Freed blocks get tag 0. */
#define RSVI_W32_HDR (2 * sizeof(void *))
typedef struct rsvi_w32_hdr {
    size_t size;
    uintptr_t tag;
} rsvi_w32_hdr_t;
enum {
    RSVI_W32_LIVE = 1,      /* block is allocated */
    RSVI_W32_MOVEABLE = 2,  /* tag holds a moveable handle entry */
    RSVI_W32_LARGE = 4,     /* block starts 8P before the pointer */
    RSVI_W32_TAGBITS = 7
};

typedef struct rsvi_w32_heap rsvi_w32_heap_t;
/* The process heap (created on first use; NULL only if that failed). */
rsvi_w32_heap_t *rsvi_w32_process_heap(void);
/* Allocates n bytes from the process heap with HeapAlloc semantics
 * (flags: HEAP_ZERO_MEMORY); `owner` is a handle entry (RSVI_W32_MOVEABLE
 * tag) or 0 for a plain block.  NULL + last error on failure. */
void *rsvi_w32_palloc(DWORD flags, size_t n, uintptr_t owner);
/* Resizes a process-heap block keeping its tag; flags as HeapReAlloc
 * (HEAP_ZERO_MEMORY, HEAP_REALLOC_IN_PLACE_ONLY). */
void *rsvi_w32_prealloc(DWORD flags, void *p, size_t n);
/* Frees a block previously checked with rsvi_w32_pblock. */
void rsvi_w32_pfree(void *p);
/* The header of p when p is a live block of the process heap, else NULL;
 * *known is set to 1 when the address belongs to the heap at all (so a
 * freed block can be told from garbage).  Never faults. */
rsvi_w32_hdr_t *rsvi_w32_pblock(const void *p, int *known);
/* Re-tags a live process-heap block (fixed <-> moveable conversion). */
void rsvi_w32_retag(void *p, uintptr_t owner);

/* ---- cache.c: the process heap's small-block front ----------------------
 * Layout and invariants are described in cache.c; the fast paths are inline
 * here so HeapAlloc/HeapFree/GlobalAlloc make no further call. */
#define RSVI_W32_CLASSES 64u                       /* classes 1..63 */
#define RSVI_W32_CACHE_MAX ((size_t)16 * (RSVI_W32_CLASSES - 1)) /* 1008 bytes */
#define RSVI_W32_C_CHUNK ((size_t)4 << 20)
#define RSVI_W32_C_RUN ((size_t)64 << 10)
#define RSVI_W32_C_RUN_HDR ((size_t)64)
#define RSVI_W32_C_MAGIC 0x52735743u /* "RsWC" */
#define RSVI_W32_C_BIN_MAX 256u      /* blocks a bin holds before half go back */

/* A thread's façade state, found through the one façade TLS slot. */
typedef struct rsvi_w32_tcache {
    struct {
        void *head;                    /* free blocks (user pointers), linked */
        size_t count;                  /* pushes since the last recount: an
                                          upper bound on the length (pops do
                                          not decrement it) */
    } bins[RSVI_W32_CLASSES];          /* per class; [0] unused */
    void *entries;                     /* global.c: cached free handle entries */
    size_t nentries;
} rsvi_w32_tcache_t;

typedef struct rsvi_w32_run {
    uint32_t magic;
    uint32_t cls;        /* size class: capacity 16*cls */
    uint32_t stride;     /* 16*(cls+1) */
    uint32_t recip;      /* ceil(2^32 / stride): block index by multiply */
    uint32_t carved;     /* blocks handed out so far */
    uint32_t capacity;   /* blocks the run holds */
} rsvi_w32_run_t;

/* One bit per 4 MiB of user address space: set for the cache's chunks. */
#define RSVI_W32_C_SPAN ((uint64_t)sizeof(void *) == 8 ? ((uint64_t)1 << 47) : ((uint64_t)1 << 32))
#define RSVI_W32_C_WORDS ((size_t)(RSVI_W32_C_SPAN / RSVI_W32_C_CHUNK / 64))
extern _Atomic uint64_t rsvi_w32_chunkbits[RSVI_W32_C_WORDS];

/* Creates the calling thread's state; NULL if that failed. */
rsvi_w32_tcache_t *rsvi_w32_tcache_slow(void);
/* The calling thread's state, created on first use; NULL if that failed. */
RSV_INLINE rsvi_w32_tcache_t *rsvi_w32_tcache(void)
{
    rsvi_w32_tcache_t *tc = rsvi_os_w32_tls_fast();
    return RSV_LIKELY(tc != NULL) ? tc : rsvi_w32_tcache_slow();
}

RSV_INLINE unsigned rsvi_w32_cache_class(size_t n) { return n ? (unsigned)((n + 15) >> 4) : 1u; }
RSV_INLINE const rsvi_w32_run_t *rsvi_w32_cache_run(const void *u)
{
    return (const rsvi_w32_run_t *)(((uintptr_t)u - RSVI_W32_HDR) & ~(uintptr_t)(RSVI_W32_C_RUN - 1));
}

/* The capacity of the cache block whose user pointer is u, or 0 when u is
 * not one (any value; never faults: memory is read only once the chunk
 * bitmap vouches for it, and chunks are committed whole and never freed).
 * Blocks never carved read as zero, so their tag never looks live. */
RSV_INLINE size_t rsvi_w32_cache_block(const void *u)
{
    uint64_t b = (uint64_t)(uintptr_t)u - RSVI_W32_HDR;
    if ((uintptr_t)u < RSVI_W32_HDR || b >= RSVI_W32_C_SPAN) return 0;
    uint64_t chunk = b / RSVI_W32_C_CHUNK;
    if (!((atomic_load_explicit(&rsvi_w32_chunkbits[chunk / 64], memory_order_acquire) >> (chunk % 64)) & 1))
        return 0;
    /* Inside a run header, off wraps to ~2^64 and can never equal idx *
     * stride (< 2^42); a run not yet carved reads as zero (stride 0, cls 0)
     * and yields 0; so no separate magic or bounds test is needed. */
    const rsvi_w32_run_t *r = rsvi_w32_cache_run(u);
    uint64_t off = b - (uintptr_t)r - RSVI_W32_C_RUN_HDR;
    uint32_t idx = (uint32_t)((off * r->recip) >> 32);
    if ((uint64_t)idx * r->stride != off) return 0;
    return (size_t)r->cls * 16;
}

/* Pops a cached block of capacity >= n from tc's bin; NULL when empty. */
RSV_INLINE void *rsvi_w32_cache_pop(rsvi_w32_tcache_t *tc, size_t n)
{
    unsigned cls = rsvi_w32_cache_class(n);
    void *u = tc->bins[cls].head;
    if (u) tc->bins[cls].head = *(void **)u;
    return u;
}

/* Pushes a vetted cache block; returns 1 when the bin must be trimmed. */
RSV_INLINE int rsvi_w32_cache_push(rsvi_w32_tcache_t *tc, void *u)
{
    unsigned cls = rsvi_w32_cache_run(u)->cls;
    *(void **)u = tc->bins[cls].head;
    tc->bins[cls].head = u;
    return ++tc->bins[cls].count > RSVI_W32_C_BIN_MAX;
}

/* A block of capacity >= n (n <= RSVI_W32_CACHE_MAX): its user pointer,
 * with RSVI_W32_HDR bytes of header room before it; NULL when memory ran
 * out.  The header is the caller's to write. */
void *rsvi_w32_cache_alloc(rsvi_w32_tcache_t *tc, size_t n);
/* Returns a block from rsvi_w32_cache_alloc (the caller has vetted it). */
void rsvi_w32_cache_free(rsvi_w32_tcache_t *tc, void *u);
/* Recounts the bin of u's class and, when it holds more than
 * RSVI_W32_C_BIN_MAX blocks, moves half of them to the shared list. */
void rsvi_w32_cache_trim(rsvi_w32_tcache_t *tc, const void *u);

/* ---- global.c ------------------------------------------------------------ */
/* Called at thread exit: returns tc's cached handle entries to the table. */
void rsvi_w32_entries_flush(rsvi_w32_tcache_t *tc);

#endif /* RSV_WIN32_W32_H */
