/* lib/win32/w32.h — private contract between the Win32 façade's files:
 * error.c (flag and error translation, last error, exceptions), heap.c
 * (Heap*), front.c (the per-thread small-block front), global.c (Global*
 * and Local*) and virtual.c (Virtual*).  Nothing
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
/* The process heap once created (fast-path compare); NULL before. */
extern rsvi_w32_heap_t *_Atomic rsvi_w32_reg_process;
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

/* ---- front.c: the per-thread small-block front of every façade heap -----
 * Layout and invariants are described in front.c.  The fast paths are
 * inline here so HeapAlloc/HeapFree/GlobalAlloc make no further call. */
#define RSVI_W32_CLASSES 63u      /* class c: sizes up to 16*c (class 0: size 0) */
#define RSVI_W32_FRONT_MAX ((size_t)16 * (RSVI_W32_CLASSES - 1)) /* 992 bytes */
#define RSVI_W32_RUN ((size_t)64 << 10)   /* a run: blocks of one class, one heap */
#define RSVI_W32_RUN_HDR ((size_t)64)
#define RSVI_W32_SLOTS 8u                 /* heaps a thread caches at once */
#define RSVI_W32_BIN_MAX 256u             /* blocks a bin holds before half go back */

/* A run's header (the first 64 bytes of its 64 KiB).  recip/stride/cls are
 * written before any block of the run is handed out; `carved` is 0 while
 * the run is free, so no pointer into it passes rsvi_w32_front_run. */
typedef struct rsvi_w32_run {
    uint32_t recip;                 /* ceil(2^32 / stride): block index by multiply */
    uint32_t stride;                /* header + capacity (16*max(cls,1)) */
    _Atomic uint32_t carved;        /* blocks handed out so far */
    uint32_t capacity;              /* blocks the run holds */
    uint32_t cls;
    uint32_t bin_off;               /* offsetof(rsvi_w32_slot_t, bins[cls]) */
    struct rsvi_w32_front *owner;   /* under the front lock */
    struct rsvi_w32_run *next;      /* owner's list, or the free-run list */
} rsvi_w32_run_t;

/* A heap's front state, the first member of its façade record, so the
 * fast path reaches `gate` from the HANDLE itself.  Written under the front
 * lock (front.c), except `gate` (atomic). */
typedef struct rsvi_w32_front {
    /* == key while lock-free fast paths may serve the heap; 0 while a
     * thread holds HeapLock (or HeapWalk & co. run), for heaps without a
     * front, and once destroyed. */
    _Atomic uint64_t gate;
    uint64_t key;                   /* unique, never reused; 0: no front */
    rsvi_w32_run_t *runs;           /* every run of the heap */
    rsvi_w32_run_t *carving[RSVI_W32_CLASSES]; /* run being carved per class */
    void *free[RSVI_W32_CLASSES];   /* blocks given back by bins, per class */
} rsvi_w32_front_t;

/* A bin: one "hot" block in front of a list.  An alloc/free pair of one
 * size then only moves the hot block in and out: no load of the pair
 * depends on a value the previous pair loaded, where a list makes each
 * pop wait for the last push's link (two store-to-load forwardings a pair,
 * ~10 cycles, the whole budget of issue 5's target under Wine). */
typedef struct rsvi_w32_bin {
    void *hot;                      /* a free block, or NULL */
    void *head;                     /* more free blocks (user pointers), linked */
    size_t count;                   /* pushes onto the list since the last
                                       count: at least its length */
    size_t unused;
} rsvi_w32_bin_t;

/* A thread's cache for one heap; valid while heap->key == key.  2 KiB, so
 * the slot index is a shift. */
typedef struct rsvi_w32_slot {
    rsvi_w32_front_t *heap;         /* never NULL: unused slots name a dummy */
    uint64_t key;
    rsvi_w32_bin_t bins[RSVI_W32_CLASSES];
    uintptr_t pad[2];
} rsvi_w32_slot_t;
_Static_assert(sizeof(rsvi_w32_slot_t) == 2048 || sizeof(void *) != 8, "a slot is 2 KiB");

/* A thread's façade state, found through the one façade TLS slot. */
typedef struct rsvi_w32_tcache {
    rsvi_w32_slot_t slots[RSVI_W32_SLOTS]; /* direct-mapped by heap handle */
    void *hot_entry;                /* global.c: a cached free handle entry, or NULL */
    void *entries;                  /* global.c: more, linked */
    size_t nentries;                /* entries on the list */
} rsvi_w32_tcache_t;

/* The run space: one reservation holding every run; [base, base+size) is
 * committed and stays so (runs of destroyed heaps are purged, never
 * decommitted), so a pointer inside it can be read without faulting. */
typedef struct rsvi_w32_space {
    _Atomic uintptr_t base;         /* set once, before size leaves 0 */
    _Atomic uintptr_t size;         /* committed bytes; 0 before first use */
} rsvi_w32_space_t;
extern rsvi_w32_space_t rsvi_w32_space;

/* Creates the calling thread's state; NULL if that failed. */
rsvi_w32_tcache_t *rsvi_w32_tcache_slow(void);
/* The calling thread's state, created on first use; NULL if that failed. */
RSV_INLINE rsvi_w32_tcache_t *rsvi_w32_tcache(void)
{
    rsvi_w32_tcache_t *tc = rsvi_os_w32_tls_fast();
    return RSV_LIKELY(tc != NULL) ? tc : rsvi_w32_tcache_slow();
}

/* tc's slot for the heap whose record is at h (64 KiB aligned): on 64-bit
 * one shift and one mask, the slots being 2 KiB at the start of tc. */
RSV_INLINE rsvi_w32_slot_t *rsvi_w32_slot(rsvi_w32_tcache_t *tc, const void *h)
{
    if (sizeof(rsvi_w32_slot_t) == 2048)
        return (rsvi_w32_slot_t *)((char *)tc + (((uintptr_t)h >> 5) & ((uintptr_t)(RSVI_W32_SLOTS - 1) << 11)));
    return &tc->slots[((uintptr_t)h >> 16) & (RSVI_W32_SLOTS - 1)];
}

RSV_INLINE unsigned rsvi_w32_front_class(size_t n) { return (unsigned)((n + 15) >> 4); }

/* s's bin for blocks of n bytes: &s->bins[class of n], as one mask. */
RSV_INLINE rsvi_w32_bin_t *rsvi_w32_bin(rsvi_w32_slot_t *s, size_t n)
{
    if (sizeof(rsvi_w32_bin_t) == 32)
        return (rsvi_w32_bin_t *)((char *)s->bins + 2 * ((n + 15) & ~(size_t)15));
    return &s->bins[rsvi_w32_front_class(n)];
}

/* 1 when u lies in the run space (so its run header and header can be
 * read); says nothing about u being a block. */
RSV_INLINE int rsvi_w32_in_space(const void *u)
{
    /* size first: its acquire orders the load of base after it. */
    uintptr_t size = atomic_load_explicit(&rsvi_w32_space.size, memory_order_acquire);
    return (uintptr_t)u - RSVI_W32_HDR - atomic_load_explicit(&rsvi_w32_space.base, memory_order_relaxed) < size;
}

RSV_INLINE rsvi_w32_run_t *rsvi_w32_run_of(const void *u)
{
    return (rsvi_w32_run_t *)(((uintptr_t)u - RSVI_W32_HDR) & ~(uintptr_t)(RSVI_W32_RUN - 1));
}

/* The run of the front block whose user pointer is u, or NULL when u is
 * not one (any value; never faults).  Inside a run header the offset wraps
 * to ~2^64 and can never equal idx * stride; a free run has carved 0. */
RSV_INLINE rsvi_w32_run_t *rsvi_w32_front_run(const void *u)
{
    uintptr_t size = atomic_load_explicit(&rsvi_w32_space.size, memory_order_acquire);
    uintptr_t at = (uintptr_t)u - RSVI_W32_HDR - atomic_load_explicit(&rsvi_w32_space.base, memory_order_relaxed);
    if (at >= size) return NULL;
    rsvi_w32_run_t *r = rsvi_w32_run_of(u);
    /* The space is run-aligned: the block's offset in its run is the low
     * bits of `at` (NULL and the run header wrap to ~2^64). */
    uint64_t off = (uint64_t)(at & (RSVI_W32_RUN - 1)) - RSVI_W32_RUN_HDR;
    uint32_t idx = (uint32_t)((off * r->recip) >> 32);
    if ((uint64_t)idx * r->stride != off || idx >= atomic_load_explicit(&r->carved, memory_order_relaxed))
        return NULL;
    return r;
}

/* Pops a block of capacity >= n from s's bin; NULL when empty. */
RSV_INLINE void *rsvi_w32_bin_pop(rsvi_w32_slot_t *s, size_t n)
{
    rsvi_w32_bin_t *b = rsvi_w32_bin(s, n);
    void *u = b->hot;
    if (RSV_LIKELY(u != NULL)) {
        b->hot = NULL;
        return u;
    }
    u = b->head;
    if (u) b->head = *(void **)u;
    return u;
}

/* Pushes a vetted front block of run r onto s's bin (r: its run; every
 * block of a bin has the same class); 1 when the bin may be over
 * RSVI_W32_BIN_MAX and rsvi_w32_bin_trim must count it. */
RSV_INLINE int rsvi_w32_bin_push(rsvi_w32_slot_t *s, const rsvi_w32_run_t *r, void *u)
{
    rsvi_w32_bin_t *b = (rsvi_w32_bin_t *)((char *)s + r->bin_off);
    void *old = b->hot;
    b->hot = u; /* the newest block stays hot: the bin is exactly LIFO */
    if (RSV_LIKELY(old == NULL)) return 0;
    *(void **)old = b->head;
    b->head = old;
    return ++b->count > RSVI_W32_BIN_MAX;
}

/* 1 when s caches the live heap whose front is f. */
RSV_INLINE int rsvi_w32_slot_holds(const rsvi_w32_slot_t *s, const rsvi_w32_front_t *f)
{
    return s->heap == f && s->key == f->key;
}
/* Makes s cache f (a live heap with a front): the slot's previous heap
 * gets its blocks back, or, when that heap is gone, they are dropped
 * without being read. */
void rsvi_w32_slot_claim(rsvi_w32_slot_t *s, rsvi_w32_front_t *f);
/* A block of capacity >= n (n <= RSVI_W32_FRONT_MAX) for s's heap, from
 * the heap's returned blocks or a run (refilling s's bin); its user
 * pointer, header room before it, tag 0; NULL when memory ran out or the
 * heap is gone.  The header is the caller's to write. */
void *rsvi_w32_front_alloc(rsvi_w32_slot_t *s, size_t n);
/* Gives the vetted front block u of f straight back to f (a thread with
 * no state of its own). */
void rsvi_w32_front_give(rsvi_w32_front_t *f, void *u);
/* Counts s's bin of class cls and, when it holds more than
 * RSVI_W32_BIN_MAX blocks, gives half of them back to its heap. */
void rsvi_w32_bin_trim(rsvi_w32_slot_t *s, unsigned cls);
/* Heap lifetime: gives f a front under `key` (never reused; 0: none). */
void rsvi_w32_front_init(rsvi_w32_front_t *f, uint64_t key);
/* Takes f's runs back (purged) into the free-run list; blocks of f that
 * other threads' bins still hold are dropped by them unread. */
void rsvi_w32_front_destroy(rsvi_w32_front_t *f);
/* Calls fn for every run block of f (used: tag live; free otherwise), then
 * the uncarved rest of each run as one free block; stops when fn returns
 * non-zero.  Caller keeps f's fast paths closed (gate 0) or owns f alone. */
int rsvi_w32_front_walk(rsvi_w32_front_t *f, int (*fn)(void *user, void *block, size_t size, int used),
                        void *user);

/* ---- global.c ------------------------------------------------------------ */
/* Called at thread exit: returns tc's cached handle entries to the table. */
void rsvi_w32_entries_flush(rsvi_w32_tcache_t *tc);

#endif /* RSV_WIN32_W32_H */
