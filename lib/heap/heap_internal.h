/* lib/heap/heap_internal.h — the heap layer's private data layout and the
 * inline fast paths shared by the lib/heap/ sources and lib/malloc.c.
 *
 * Owns the structures of DESIGN decisions 3 and 4; never included outside
 * the heap layer (and tests that inspect it).  Includes no OS header.
 *
 * Memory layout
 * -------------
 *   area  (one rsv_region_t: reserve once, commit a prefix in segment steps)
 *   |seg 0 |seg 1 |seg 2 .........................................|
 *   each segment is RSVH_SEG_SIZE (4 MiB) and aligned to it:
 *
 *   segment  [header 8 KiB: rsvh_segment_t + page descriptors][page 0 ...]...[last page][live bitmap 32 KiB]
 *     kind SMALL : 64 pages of 64 KiB   blocks    16 B ..   8 KiB
 *     kind MEDIUM:  8 pages of 512 KiB  blocks  >8 KiB .. 64 KiB
 *     kind LARGE :  1 page of 4 MiB     blocks >64 KiB ..  1 MiB
 *     kind HUGE  :  a span of n segments holding one block > 1 MiB (or a
 *                   block with an alignment the classes cannot give)
 *   Page 0 starts after the header, the last page ends where the live
 *   bitmap starts (paged kinds); a huge block starts at huge_block.
 *
 * Finding metadata from a pointer (no per-block header):
 *   seg  = (p - 1) & ~(SEG_SIZE - 1)    (p - 1 so that a huge block aligned
 *                                        to 4 MiB still finds its header)
 *   ok   = segment map bit of seg is set (a global bitmap, one bit per
 *          4 MiB of address space, set only while seg is a live segment)
 *   page = seg->pages[(p - seg) >> seg->page_shift]
 *   idx  = (p - page start) / block_size    (multiply by a reciprocal)
 *   p must equal page start + idx * block_size and idx < capacity.
 *
 * Live bitmap: the segment's last 32 KiB hold one bit per 16 B of the
 * segment (rsvh_live_word), set exactly at the start of every block its
 * page's owner handed out and has not seen freed (p must also be 16-byte
 * aligned: p + 8 finds p's bit).  A bit word covers 1 KiB, inside one page
 * (pages start and end on 1 KiB multiples).  Only the page's owner writes
 * it (relaxed atomic loads and stores, plain moves on x86: no locked
 * instruction); other threads only read it.  A set bit at p means: p is a
 * carved block start, neither freed locally nor collected from the remote
 * lists.  So a clear bit is a free (or never carved) block, whoever looks.
 *
 * Cookie: a block another thread frees is marked [next | key ^ address]
 * before it goes onto the page's xfree or the owner's delayed list; the
 * owner (or the heap lock's holder, for an abandoned page) clears the mark
 * when it collects the block.  So a marked block with its live bit set is
 * a pending remote free.  The owner's own frees and allocations write no
 * cookie (two stores fewer per alloc/free pair; a pair is bound by its
 * stores).  Checks:
 *   owner's free   bit set, and no remote free pending on the page (else
 *                  the cookie: rsvh_free_owned_checked)
 *   anyone else    bit set and no cookie (rsvh_check_block): catches a
 *                  block freed by its owner (bit clear) and one freed by
 *                  another thread and not yet collected (cookie)
 *
 * Threads (default heap): each thread owns a rsvh_tld_t with its own pages.
 * A block freed by its page's owner goes straight onto page->free; any other
 * thread pushes it onto page->xfree (atomic), or, when the owner parked the
 * page in its full queue, onto the owner's `delayed` list so that the owner
 * notices.  The two low bits of xfree are the page's delay state:
 *   NORMAL   remote frees go onto the page's list
 *   DELAY    the page is in its owner's full queue: go to owner->delayed
 *   DELAYING a remote thread is pushing onto owner->delayed right now
 *   NEVER    no owner (abandoned) or owner leaving: always the page's list
 * The owner changes the state only when it is not DELAYING, so a thread in
 * DELAYING may still use the owner's tld.
 */
#ifndef RSV_HEAP_INTERNAL_H
#define RSV_HEAP_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "lock.h"
#include "os/tls.h"
#include "reservoir/heap.h"
#include "reservoir/region.h"

/* Thread-local storage for the hot pointer: initial-exec where the object
 * format has it (no __tls_get_addr call from a shared library). */
#if defined(__ELF__) && defined(__GNUC__)
#define RSVH_TLS _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define RSVH_TLS _Thread_local
#endif

#define RSVH_SEG_SHIFT 22
#define RSVH_SEG_SIZE ((size_t)1 << RSVH_SEG_SHIFT)
#define RSVH_SEG_MASK (RSVH_SEG_SIZE - 1)
#define RSVH_HDR ((size_t)8192)           /* segment header bytes */
#define RSVH_MAX_PAGES 64
#define RSVH_CLASSES 60
#define RSVH_SMALL_MAX ((size_t)8 << 10)  /* largest block in a SMALL page */
#define RSVH_MEDIUM_MAX ((size_t)64 << 10)
#define RSVH_LARGE_MAX ((size_t)1 << 20)  /* largest class; bigger is HUGE */
#define RSVH_DIRECT_MAX 4096              /* sizes with a direct page pointer */
#define RSVH_DIRECT (RSVH_DIRECT_MAX / 16 + 1)
#define RSVH_ALIGN 16
#define RSVH_MAX_ALIGN ((size_t)1 << 30)
/* Alignments the size classes give for free: power-of-two classes are
 * aligned to min(class size, 8 KiB) because every page starts on 8 KiB. */
#define RSVH_CLASS_ALIGN_MAX ((size_t)8192)
/* The live bitmap of a paged segment: one bit per 16 B of the segment, in
 * its last 32 KiB (not after the header: page 0, the page a class takes
 * first, keeps its 56 KiB; the last page, taken last, has 32 KiB). */
#define RSVH_LIVE_WORDS (RSVH_SEG_SIZE / 16 / 64)
#define RSVH_LIVE_OFF (RSVH_SEG_SIZE - RSVH_LIVE_WORDS * 8)

/* Offset from the segment of the end of page i (page_shift sh). */
RSV_INLINE size_t rsvh_page_end_off(unsigned sh, unsigned i)
{
    size_t e = (size_t)(i + 1) << sh;
    return e > RSVH_LIVE_OFF ? RSVH_LIVE_OFF : e;
}

enum rsvh_kind { RSVH_SMALL = 0, RSVH_MEDIUM = 1, RSVH_LARGE = 2, RSVH_HUGE = 3, RSVH_KINDS_PAGED = 3 };

/* rsvh_page_t.sole: alone in its class queue (kept when it empties); carved
 * past 8 KiB (rewound when it empties).  The free fast path skips the
 * empty-page call only for exactly RSVH_SOLE. */
enum { RSVH_SOLE = 1, RSVH_SPREAD = 2 };

enum { RSVH_NORMAL = 0, RSVH_DELAY = 1, RSVH_DELAYING = 2, RSVH_NEVER = 3, RSVH_TAG = 3 };

typedef struct rsvh_block {
    struct rsvh_block *next;
    uintptr_t cookie;
} rsvh_block_t;

struct rsvh_tld;

/* One page of equal-size blocks.  `free`, `capacity` growth and the queue
 * links belong to the owner; `used` and `capacity` are read by other threads
 * (stats, remote free checks) and so are relaxed atomics written only by the
 * owner.  block_size/start/magic are set before any block exists. */
typedef struct rsvh_page {
    rsvh_block_t *free;           /* blocks ready for allocation */
    _Atomic uint16_t used;        /* live blocks (remote frees counted when collected) */
    _Atomic uint16_t capacity;    /* blocks carved so far (bump frontier) */
    uint32_t block_size;          /* 0: page not in use */
    uint32_t magic;               /* idx = (off * magic) >> shift */
    uint32_t start_off;           /* first block, from the segment's start */
    uint16_t reserved;            /* blocks that fit (<= 4096) */
    uint8_t shift;
    uint8_t cls;
    uint8_t in_full;              /* in the owner's full queue */
    uint8_t sole;                 /* RSVH_SOLE | RSVH_SPREAD (page.c) */
    uint16_t touched;             /* blocks carved before a rewind or a release: resident */
    struct rsvh_tld *_Atomic owner; /* NULL: abandoned (or explicit heap not yet set) */
    _Atomic uintptr_t xfree;      /* remote frees | delay state */
    struct rsvh_page *next, *prev;
} rsvh_page_t;   /* 64 bytes: one cache line each (the array is line-aligned) */

/* The first block of pg (page descriptors live in their segment's header). */
RSV_INLINE char *rsvh_page_start(const rsvh_page_t *pg)
{
    return (char *)((uintptr_t)pg & ~(uintptr_t)RSVH_SEG_MASK) + pg->start_off;
}

typedef struct rsvh_area rsvh_area_t;

typedef struct rsvh_segment {
    uintptr_t cookie;             /* rsvh_key ^ address: header sanity */
    uint8_t kind;
    uint8_t page_shift;
    uint16_t page_count;
    uint16_t pages_used;
    uint16_t zero;                /* huge: block known to read zero */
    uint8_t desc_shift;           /* page_shift - 6: see rsvh_page_at */
    rsv_heap_t *heap;
    rsvh_area_t *area;
    size_t index;                 /* first segment index in the area */
    size_t span;                  /* segments in this span (1 unless HUGE) */
    char *huge_block;             /* HUGE: the block */
    size_t huge_size;             /* HUGE: usable bytes at huge_block */
    uint64_t free_mask;           /* bit i: page i free */
    struct rsvh_segment *next, *prev; /* heap->avail[kind] */
    /* One more than the most pages: a pointer at exactly 4 MiB past a SMALL
     * segment maps to descriptor 64, a zeroed guard that nothing uses. */
    _Alignas(64) rsvh_page_t pages[RSVH_MAX_PAGES + 1];
} rsvh_segment_t;

/* An area: one region carved into segments.  Its header lives in the
 * metadata region (meta.c), not in the area. */
struct rsvh_area {
    rsv_region_t region;
    size_t nsegs;                 /* segments in the area */
    size_t hint;                  /* no free segment below this index */
    size_t used_segs;
    rsvh_area_t *next;
    uint64_t *used;               /* bit: segment belongs to a live segment/span */
    uint64_t *dirty;              /* bit: free segment holding touched pages */
    uint64_t *decommitted;        /* bit: free segment below region.committed left decommitted */
    uint64_t *aged;               /* bit: dirty at the last aging tick (purged at the next) */
};

typedef struct rsvh_queue {
    rsvh_page_t *first, *last;
} rsvh_queue_t;

/* A thread's (default heap) or an explicit heap's allocation state. */
typedef struct rsvh_tld {
    rsvh_page_t *direct[RSVH_DIRECT];    /* size <= 4096: first page of its class */
    rsvh_queue_t queues[RSVH_CLASSES];   /* pages that may have free blocks */
    rsvh_queue_t full;                   /* pages with none (all classes) */
    /* SMALL classes with more than one page: the empty page kept (in its
     * queue) when another empties, the one carved furthest (page.c); a
     * hint, the page may have been allocated from since.  NULL: none. */
    rsvh_page_t *spare[RSVH_CLASSES];
    rsv_heap_t *heap;
    _Atomic(rsvh_block_t *) delayed;     /* blocks freed by others into full pages */
    struct rsvh_tld *next_free;          /* tld pool link */
    size_t in_use, peak_in_use;          /* explicit heaps: exact bytes of live blocks */
    size_t live_blocks;                  /* explicit heaps: live blocks */
    /* Default heap: the LARGE block this thread freed last, parked (its
     * cookie set, so it reads as freed) for its next allocation of the
     * same class (its page's); NULL: none.  See rsvh_free_foreign. */
    rsvh_block_t *parked;
    int registered;                      /* thread-exit hook installed */
} rsvh_tld_t;

struct rsv_heap {
    unsigned debug;       /* hook word for the debug layer (issue 7); 0 = off */
    void *dbg;            /* the debug layer's state (rsvi_dbg_t) while debug != 0 */
    /* Default heap: rsv_malloc takes its direct fast path for sizes below
     * this, RSVH_DIRECT_MAX + 1 while the debug hook is off and 0 while it
     * is on (one compare instead of a flag test and a size test); 0 in
     * explicit heaps, which do not read it. */
    size_t fast_below;
    unsigned flags;       /* RSV_HEAP_* */
    int is_default;
    rsvi_rlock_t api_lock;   /* explicit serialized heaps: held across each call */
    rsvi_lock_t lock;        /* segments, areas, abandoned pages, purge state */
    /* Default heap: held while h->tld allocates.  There h->tld owns the
     * pages of the LARGE classes (blocks over 64 KiB) for every thread,
     * so a block one thread frees serves the next allocation of any
     * thread.  Taken before `lock`, never after it. */
    rsvi_lock_t shared_lock;
    rsvh_area_t *areas;
    size_t next_area;        /* size of the next area to reserve */
    size_t max_size;         /* 0: growable */
    size_t reserved;         /* bytes reserved by areas */
    size_t committed_peak;
    size_t huge_live, huge_bytes;
    size_t peak_sampled;
    rsvh_segment_t *avail[RSVH_KINDS_PAGED]; /* segments with a free page */
    rsvh_page_t *abandoned[RSVH_CLASSES];    /* default heap: pages without owner */
    size_t dirty_bytes;      /* free segments not purged */
    uint64_t dirty_since;    /* ns of the last aging tick (rsvh_purge) */
    uint64_t purge_delay_ns;
    size_t purge_above;      /* purge at once when dirty_bytes exceeds this */
    unsigned region_flags;   /* RSV_REGION_* for new areas */
    const char *name;
    struct rsv_heap *next_heap, *prev_heap;  /* all heaps (fork handling) */
    rsvh_tld_t tld;          /* explicit heaps: the one allocation state;
                              * default heap: the LARGE classes' (shared_lock) */
};

_Static_assert(sizeof(rsvh_page_t) == 64 || sizeof(void *) != 8, "page descriptor is one cache line");
_Static_assert(sizeof(rsvh_segment_t) <= RSVH_HDR,
               "segment header fits before page 0");
_Static_assert(RSVH_HDR % RSVH_CLASS_ALIGN_MAX == 0, "page 0 starts on 8 KiB");
_Static_assert(RSVH_LIVE_OFF % 1024 == 0, "a bitmap word never covers two pages");

/* Hides how a pointer was computed from the compiler, so it keeps one base
 * register for it instead of re-deriving field addresses from its parts
 * (which cost the free fast path two callee-saved registers). */
#if defined(__GNUC__)
#define RSVH_OPAQUE(p) __asm__("" : "+r"(p))
#else
#define RSVH_OPAQUE(p) ((void)0)
#endif

/* ---- globals (heap.c / meta.c) ------------------------------------------ */
/* Hidden on the declarations too, so the fast paths in a shared library
 * reach these PC-relative instead of through the GOT (one load less each). */
#if defined(__ELF__) && defined(__GNUC__)
#define RSVH_HIDDEN __attribute__((visibility("hidden")))
#else
#define RSVH_HIDDEN
#endif
extern RSVH_HIDDEN uintptr_t rsvh_key;                 /* random, odd; cookies */
extern RSVH_HIDDEN struct rsv_heap rsvh_default_heap;
extern RSVH_HIDDEN rsvh_tld_t rsvh_tld_empty;
extern RSVH_HIDDEN rsvh_page_t rsvh_page_empty;

/* This thread's tld for the default heap, or &rsvh_tld_empty: read with
 * rsvh_tls_get, written with rsvh_tls_set.  On Windows x64 it lives in a
 * TEB slot (lib/os/tls.h; NULL there means &rsvh_tld_empty), because
 * mingw-w64's _Thread_local is emutls, a call per access; elsewhere in an
 * initial-exec _Thread_local. */
#if RSVI_OS_TLS_SLOT
RSV_INLINE rsvh_tld_t *rsvh_tls_get(void)
{
    rsvh_tld_t *t = rsvi_os_tls_get();
    return t ? t : &rsvh_tld_empty;
}
/* Precondition: rsvh_default_init has run (it allocates the slot). */
RSV_INLINE void rsvh_tls_set(rsvh_tld_t *t)
{
    rsvi_os_tls_set(t == &rsvh_tld_empty ? NULL : t);
}
#else
extern RSVH_HIDDEN RSVH_TLS rsvh_tld_t *rsvh_tls;
RSV_INLINE rsvh_tld_t *rsvh_tls_get(void)
{
    return rsvh_tls;
}
RSV_INLINE void rsvh_tls_set(rsvh_tld_t *t)
{
    rsvh_tls = t;
}
#endif

extern RSVH_HIDDEN const uint32_t rsvh_class_size[RSVH_CLASSES];

/* ---- the segment map (meta.c) -------------------------------------------- */
#if UINTPTR_MAX > 0xFFFFFFFFu
#define RSVH_SEGMAP_BITS ((uintptr_t)1 << (48 - RSVH_SEG_SHIFT))
#else
#define RSVH_SEGMAP_BITS ((uintptr_t)1 << (32 - RSVH_SEG_SHIFT))
#endif
extern RSVH_HIDDEN _Atomic uint64_t rsvh_segmap[RSVH_SEGMAP_BITS / 64];

RSV_INLINE rsvh_segment_t *rsvh_seg_of(const void *p)
{
    return (rsvh_segment_t *)(((uintptr_t)p - 1) & ~(uintptr_t)RSVH_SEG_MASK);
}

/* The page descriptor for p in seg (p - seg in 1 .. 4 MiB; 64 is a zeroed
 * guard): ((p - seg) >> page_shift) * 64 is ((p - seg) >> desc_shift) with
 * the low 6 bits cleared, one shift less. */
RSV_INLINE rsvh_page_t *rsvh_page_at(rsvh_segment_t *seg, const void *p)
{
    uintptr_t off = ((uintptr_t)p - (uintptr_t)seg) >> seg->desc_shift;
    return (rsvh_page_t *)((char *)seg->pages + (off & ~(uintptr_t)63));
}

/* The page descriptor of block b, a block start of a live paged segment. */
RSV_INLINE rsvh_page_t *rsvh_page_of(const void *b)
{
    return rsvh_page_at(rsvh_seg_of(b), b);
}

/* 1 when seg is a live segment of some Reservoir heap (never faults). */
RSV_INLINE int rsvh_segmap_has(const rsvh_segment_t *seg)
{
    uintptr_t i = (uintptr_t)seg >> RSVH_SEG_SHIFT;
    if (RSV_UNLIKELY(i >= RSVH_SEGMAP_BITS)) return 0;
    return (int)((atomic_load_explicit(&rsvh_segmap[i / 64], memory_order_acquire) >> (i % 64)) & 1);
}
void rsvh_segmap_set(const void *seg, int on);
void rsvh_segmap_clear_range(const void *base, size_t size);

/* ---- metadata memory (meta.c): never returned to the OS ------------------ */
/* Zeroed memory of `size` bytes (any size up to 1 MiB), or NULL (ENOMEM,
 * error reported).  Thread-safe. */
void *rsvh_meta_alloc(size_t size);
void rsvh_meta_free(void *p, size_t size);
/* Fork handling: lock != 0 takes the metadata lock, 0 releases it. */
void rsvh_meta_fork(int lock);

/* ---- size classes -------------------------------------------------------- */
RSV_INLINE unsigned rsvh_class_of(size_t size)
{
    if (size <= 128) return size ? (unsigned)((size - 1) >> 4) : 0;
    size_t s = size - 1;
    unsigned w = (unsigned)(sizeof(size_t) * 8 - 1) - (unsigned)__builtin_clzll((unsigned long long)s);
    return 8 + (w - 7) * 4 + (unsigned)((s >> (w - 2)) & 3);
}

RSV_INLINE unsigned rsvh_kind_of_class(unsigned cls)
{
    size_t bs = rsvh_class_size[cls];
    return bs <= RSVH_SMALL_MAX ? RSVH_SMALL : bs <= RSVH_MEDIUM_MAX ? RSVH_MEDIUM : RSVH_LARGE;
}

/* ---- pointer checks (alloc.c) ------------------------------------------- */
enum rsvh_check {
    RSVH_OK = 0,
    RSVH_BAD_FOREIGN = 1,   /* no Reservoir segment there */
    RSVH_BAD_INTERIOR = 2,  /* inside a segment but not a block start */
    RSVH_BAD_FREED = 3      /* a block that is already free */
};

RSV_INLINE uintptr_t rsvh_cookie(const void *b)
{
    return rsvh_key ^ (uintptr_t)b;
}

/* ---- the live bitmap (written by the owner only) ----------------------- */
/* The bitmap word holding p's bit; p - seg in 1 .. 4 MiB - 1 (seg from
 * rsvh_seg_of(p); p on a page owned by the caller, so never 4 MiB: that
 * maps to the ownerless guard descriptor).  Bit (off / 16) % 64 of word
 * off / 1024 is set at a block start its owner has handed out (see the top
 * of this file).  Written by the owner only (rsvh_live_store), read by
 * anyone (rsvh_live_load); zero in a new segment; unused (never read) in
 * a huge segment, whose block covers it. */
RSV_INLINE _Atomic uint64_t *rsvh_live_word(rsvh_segment_t *seg, const void *p)
{
    return (_Atomic uint64_t *)((char *)seg + RSVH_LIVE_OFF) + (((uintptr_t)p - (uintptr_t)seg) >> 10);
}
RSV_INLINE uint64_t rsvh_live_load(_Atomic uint64_t *w)
{
    return atomic_load_explicit(w, memory_order_relaxed);
}
/* The owner's write (no other thread writes the word: load + store, no
 * locked read-modify-write). */
RSV_INLINE void rsvh_live_store(_Atomic uint64_t *w, uint64_t v)
{
    atomic_store_explicit(w, v, memory_order_relaxed);
}
RSV_INLINE uint64_t rsvh_live_bit(const void *p)
{
    return (uint64_t)1 << (((uintptr_t)p >> 4) & 63);
}
/* p's bit number in its word (bt/btr take it mod 64 anyway). */
RSV_INLINE unsigned rsvh_live_pos(const void *p)
{
    return (unsigned)(((uintptr_t)p >> 4) & 63);
}
/* Marks block b (a carved block start) live / not live.  Caller owns its
 * page. */
RSV_INLINE void rsvh_live_set(rsvh_block_t *b)
{
    rsvh_segment_t *seg = (rsvh_segment_t *)((uintptr_t)b & ~(uintptr_t)RSVH_SEG_MASK);
    _Atomic uint64_t *w = rsvh_live_word(seg, b);
    rsvh_live_store(w, rsvh_live_load(w) | rsvh_live_bit(b));
}
RSV_INLINE void rsvh_live_clear(rsvh_block_t *b)
{
    rsvh_segment_t *seg = (rsvh_segment_t *)((uintptr_t)b & ~(uintptr_t)RSVH_SEG_MASK);
    _Atomic uint64_t *w = rsvh_live_word(seg, b);
    rsvh_live_store(w, rsvh_live_load(w) & ~rsvh_live_bit(b));
}
/* A block taken off a remote list by the thread that collects it: its
 * cookie cleared (see the top of this file), its live bit cleared. */
RSV_INLINE void rsvh_collected(rsvh_block_t *b)
{
    b->cookie = 0;
    rsvh_live_clear(b);
}

/* Finds the page of a small block p in seg and checks p is a live block
 * start.  Returns RSVH_OK and *out, or the reason it is not. */
RSV_INLINE int rsvh_check_block(rsvh_segment_t *seg, const void *p, rsvh_page_t **out)
{
    /* idx <= 64 always (p - seg <= 4 MiB, page_shift >= 16).  Descriptors of
     * free pages, of pages past page_count and the first two of a huge
     * segment have capacity 0, so the capacity test rejects them too. */
    size_t idx = ((uintptr_t)p - (uintptr_t)seg) >> seg->page_shift;
    rsvh_page_t *pg = &seg->pages[idx];
    uintptr_t off = (uintptr_t)p - ((uintptr_t)seg + pg->start_off);
    if (RSV_UNLIKELY(off >= ((size_t)1 << RSVH_SEG_SHIFT))) return RSVH_BAD_INTERIOR;
    uint64_t bi = ((uint64_t)off * pg->magic) >> pg->shift;
    if (RSV_UNLIKELY(bi * pg->block_size != off ||
                     bi >= atomic_load_explicit(&pg->capacity, memory_order_relaxed)))
        return RSVH_BAD_INTERIOR;
    /* Freed by its owner (or handed out by nobody): the live bit is clear;
     * freed by another thread and not yet collected: the cookie. */
    if (RSV_UNLIKELY(!(rsvh_live_load(rsvh_live_word(seg, p)) & rsvh_live_bit(p)))) return RSVH_BAD_FREED;
    if (RSV_UNLIKELY(((const rsvh_block_t *)p)->cookie == rsvh_cookie(p))) return RSVH_BAD_FREED;
    *out = pg;
    return RSVH_OK;
}

/* ---- owner-only counters ------------------------------------------------- */
RSV_INLINE uint32_t rsvh_used(const rsvh_page_t *pg)
{
    return atomic_load_explicit(&((rsvh_page_t *)pg)->used, memory_order_relaxed);
}
RSV_INLINE void rsvh_used_set(rsvh_page_t *pg, uint32_t v)
{
    atomic_store_explicit(&pg->used, (uint16_t)v, memory_order_relaxed);
}
/* used + d (d = 1 or -1 as uint16_t), stored and returned: in 16 bits all
 * the way, so no zero-extension between the add and the store. */
RSV_INLINE uint16_t rsvh_used_add(rsvh_page_t *pg, uint16_t d)
{
    uint16_t u = (uint16_t)(atomic_load_explicit(&pg->used, memory_order_relaxed) + d);
    atomic_store_explicit(&pg->used, u, memory_order_relaxed);
    return u;
}

/* ---- alloc.c / page.c ---------------------------------------------------- */
/* Allocation slow path for tld t: refills the class's page (collecting
 * remote frees, extending, taking a new page) or takes a huge span.
 * Returns NULL on failure (error reported; errno untouched). */
void *rsvh_alloc_slow(rsvh_tld_t *t, size_t size);
/* The refill behind rsvh_alloc_slow (page.c): a block of size's class from
 * t's queue, collecting remote frees, carving, or taking a fresh or
 * abandoned page.  The caller owns t (t's thread, or the lock guarding
 * it: an explicit heap's API lock, the default heap's shared_lock for
 * h->tld).  NULL on failure (reported). */
void *rsvh_page_alloc_slow(rsvh_tld_t *t, size_t size);
/* size bytes aligned to align (a power of two, <= 1 GiB). */
void *rsvh_alloc_aligned(rsvh_tld_t *t, size_t size, size_t align);
/* A block freed by its owner whose page became empty or was full. */
void rsvh_free_local_slow(rsvh_tld_t *t, rsvh_page_t *pg);
/* The owner's free of a live-bit block on a page that is not quiet
 * (rsvh_page_quiet: pending remote frees, or in the
 * full queue: checks b's cookie, then frees it.  1, or 0 when b is free
 * already (nothing changed). */
int rsvh_free_owned_checked(rsvh_tld_t *t, rsvh_page_t *pg, rsvh_block_t *b);
/* A block of a page owned by another thread (or by nobody). */
void rsvh_free_remote(rsvh_page_t *pg, rsvh_block_t *b);
/* A checked block on a page that t (the caller's tld for the block's heap,
 * possibly rsvh_tld_empty) does not own: a block of the default heap's
 * shared LARGE pages is parked in t (the one parked before is pushed to
 * its page); anything else goes to rsvh_free_remote. */
void rsvh_free_foreign(rsvh_tld_t *t, rsvh_page_t *pg, rsvh_block_t *b);
/* Hands t's parked block (if any) back to its page. */
void rsvh_tld_unpark(rsvh_tld_t *t);
/* Frees a huge block (seg kind HUGE, p == seg->huge_block checked). */
void rsvh_free_huge(rsv_heap_t *h, rsvh_segment_t *seg);
/* Zeroed allocation (skips the memset on fresh huge spans). */
void *rsvh_calloc_in(rsvh_tld_t *t, size_t size, size_t align);
/* Looks p up: RSVH_OK with *seg and *pg (pg NULL for a huge block) or an
 * RSVH_BAD_* reason.  Never faults. */
int rsvh_lookup(const void *p, rsvh_segment_t **seg, rsvh_page_t **pg);
/* Makes the checked block hold size bytes without moving: 1 on success.
 * With for_realloc, refuses a shrink that a smaller class would serve. */
int rsvh_resize_in_place(rsv_heap_t *h, rsvh_segment_t *seg, rsvh_page_t *pg, size_t size,
                         int for_realloc);
/* Where h's realloc moves a block of `old` usable bytes that must grow to
 * size (> old): *tried = 0 and NULL when the size classes serve it (h
 * explicit, size not in (256 KiB, RSVH_LARGE_MAX], or not growth); else
 * *tried = 1 and a span of its own, or NULL on failure (reported). */
void *rsvh_realloc_span(rsv_heap_t *h, size_t size, size_t old, int *tried);
/* Reports a bad pointer once through rsvi_error. */
void rsvh_report_bad(int why, const char *what);
/* Usable bytes of a checked block. */
size_t rsvh_block_usable(rsvh_segment_t *seg, rsvh_page_t *pg);

/* Frees everything the explicit tld or thread tld t holds back to segments
 * (thread exit: abandon pages with live blocks). */
void rsvh_tld_abandon(rsvh_tld_t *t);
/* Collects pending frees of t's pages and retires empty ones. */
void rsvh_tld_collect(rsvh_tld_t *t, int retire_all);
/* Processes t->delayed. */
void rsvh_tld_delayed(rsvh_tld_t *t);
/* Default heap: collect abandoned pages; retire empty ones.  Heap lock held. */
void rsvh_abandoned_collect(rsv_heap_t *h);

/* ---- area.c --------------------------------------------------------------- */
/* Claims n contiguous free segments with (first + 4 MiB) aligned to
 * `align` when align > 4 MiB; commits them.  Heap lock held.  Returns the
 * first segment's address and sets *zero when all of it reads zero, or NULL
 * (errors reported). */
void *rsvh_area_claim(rsv_heap_t *h, size_t n, size_t align, int *zero, rsvh_area_t **area,
                      size_t *index);
/* Returns the n segments starting at index of area to the free pool. */
void rsvh_area_release(rsv_heap_t *h, rsvh_area_t *a, size_t index, size_t n);
/* Grows a span in place by n segments after index+span; 0 or ENOMEM. */
int rsvh_area_grow(rsv_heap_t *h, rsvh_area_t *a, size_t end, size_t n, int *zero);
/* Purges dirty free segments when the delay passed or too much is dirty;
 * force != 0 purges now.  Returns bytes purged.  Heap lock held. */
size_t rsvh_purge(rsv_heap_t *h, int force);
/* Reserves h's first area now (heap creation) and commits `commit` bytes
 * of it; 0 or an error code. */
int rsvh_area_first(rsv_heap_t *h, size_t commit);
/* The next live segment (span head) of a at index >= *i, advancing *i past
 * it; NULL at the end.  Heap lock held. */
rsvh_segment_t *rsvh_area_next(rsvh_area_t *a, size_t *i);
/* State of segment i of a: 0 in use, 1 free and committed, 2 free and not
 * committed. */
int rsvh_area_seg_state(const rsvh_area_t *a, size_t i);
/* Releases every area of h (destroy). */
void rsvh_areas_release(rsv_heap_t *h);
/* Segment paged kinds: claim a page / return a page.  Heap lock held. */
rsvh_page_t *rsvh_page_claim(rsv_heap_t *h, unsigned cls);
void rsvh_page_release(rsv_heap_t *h, rsvh_page_t *pg);

/* Locks the heap's shared state when it has more than one user. */
RSV_INLINE void rsvh_lock(rsv_heap_t *h)
{
    if (h->is_default) rsvi_lock(&h->lock);
}
RSV_INLINE void rsvh_unlock(rsv_heap_t *h)
{
    if (h->is_default) rsvi_unlock(&h->lock);
}

/* ---- heap.c ---------------------------------------------------------------- */
/* This thread's tld for the default heap, created on first use; NULL when
 * out of memory. */
rsvh_tld_t *rsvh_tld_get(void);
/* Makes sure the default heap is initialised. */
void rsvh_default_init(void);
/* The allocation state to use for h from this thread. */
RSV_INLINE rsvh_tld_t *rsvh_tld_of(rsv_heap_t *h)
{
    return h->is_default ? rsvh_tls_get() : &h->tld;
}

/* Frees p into whichever heap owns it, reporting a bad pointer (the
 * malloc face's free for anything but the default heap's small blocks). */
void rsvh_free_any(void *p, const void *site);

/* ---- debug hook (debug_hook.c) --------------------------------------------
 * When h->debug != 0 every public alloc/free/realloc entry point diverts,
 * with ONE predictable branch, to these functions, passing its caller's
 * address (RSVI_DBG_SITE()) for the reports.  The debug layer (issue 7)
 * owns their bodies; h->dbg is its state.  Pointers the plain lookup
 * rejects are offered to rsvi_heap_debug_owner before being reported (a
 * decorated block starts inside a heap block, a guard block in no
 * segment at all). */
void *rsvi_heap_debug_alloc(rsv_heap_t *h, size_t size, size_t align, unsigned flags, const void *site);
void rsvi_heap_debug_free(rsv_heap_t *h, void *p, const void *site);
void *rsvi_heap_debug_realloc(rsv_heap_t *h, void *p, size_t size, const void *site);
/* The requested size of a decorated live block, or 0. */
size_t rsvi_heap_debug_usable(rsv_heap_t *h, const void *p);
/* 1 when p is a decorated block of h (live or quarantined). */
int rsvi_heap_debug_knows(rsv_heap_t *h, const void *p);
/* Canary/quarantine check of p (or everything when NULL): 0 or a kind. */
int rsvi_heap_debug_validate(rsv_heap_t *h, const void *p, const void *site);
/* Creates h->dbg from o (NULL: from RSV_DEBUG) and sets h->debug when o
 * asks for anything; 0 or ENOMEM.  Call once h is usable. */
int rsvi_heap_debug_attach(rsv_heap_t *h, const rsv_debug_opts_t *o);
/* Checks, reports leaks (when asked) and frees h->dbg. */
void rsvi_heap_debug_detach(rsv_heap_t *h, const void *site);
/* Heaps with a debug state; read on failure paths only. */
extern atomic_int rsvi_heap_debug_count;
/* The heap whose debug layer knows p (heap.c, walks the heap list), or NULL. */
rsv_heap_t *rsvi_heap_debug_owner(const void *p);
/* The plain operations the hooks may call (no debug branch inside). */
void *rsvi_heap_plain_alloc(rsv_heap_t *h, size_t size, size_t align, unsigned flags);
void rsvi_heap_plain_free(rsv_heap_t *h, void *p);
void *rsvi_heap_plain_realloc(rsv_heap_t *h, void *p, size_t size);

/* ---- the inline fast paths ------------------------------------------------ */
/* Takes the first free block of pg (pg->free != NULL).  Caller owns pg. */
RSV_INLINE rsvh_block_t *rsvh_block_take(rsvh_page_t *pg)
{
    rsvh_block_t *b = pg->free;
    pg->free = b->next;
    rsvh_used_add(pg, 1);
    rsvh_live_set(b);
    return b;
}

RSV_INLINE void *rsvh_alloc_fast(rsvh_tld_t *t, size_t size)
{
    if (RSV_LIKELY(size <= RSVH_DIRECT_MAX)) {
        rsvh_page_t *pg = t->direct[(size + 15) >> 4];
        if (RSV_LIKELY(pg->free != NULL)) return rsvh_block_take(pg);
    }
    return rsvh_alloc_slow(t, size);
}

/* Pushes block b onto pg->free (live bit word *w holding `word` before,
 * bit `bit`).  Caller owns pg.  (The owner is read again only on the rare
 * retire path: one register less on the hot one.) */
RSV_INLINE void rsvh_free_push(rsvh_page_t *pg, rsvh_block_t *b, _Atomic uint64_t *w, uint64_t word,
                               uint64_t bit)
{
    rsvh_live_store(w, word & ~bit);
    b->next = pg->free;
    pg->free = b;
    uint16_t u = rsvh_used_add(pg, (uint16_t)0xFFFF);
    if (RSV_UNLIKELY(u == 0) && pg->sole != RSVH_SOLE)
        rsvh_free_local_slow(atomic_load_explicit(&pg->owner, memory_order_relaxed), pg);
}

/* Frees a block already checked (rsvh_lookup) of pg, owned by t. */
RSV_INLINE void rsvh_free_local(rsvh_tld_t *t, rsvh_page_t *pg, rsvh_block_t *b)
{
    rsvh_segment_t *seg = (rsvh_segment_t *)((uintptr_t)b & ~(uintptr_t)RSVH_SEG_MASK);
    _Atomic uint64_t *w = rsvh_live_word(seg, b);
    uint64_t bit = rsvh_live_bit(b);
    if (RSV_UNLIKELY(pg->in_full)) {
        rsvh_live_store(w, rsvh_live_load(w) & ~bit);
        b->next = pg->free;
        pg->free = b;
        rsvh_used_set(pg, rsvh_used(pg) - 1);
        rsvh_free_local_slow(t, pg);
        return;
    }
    rsvh_free_push(pg, b, w, rsvh_live_load(w), bit);
}

/* The owner's free check, shared by rsv_free and the explicit heaps' fast
 * free: p lies in live segment seg on a page its caller owns.  1 when p is
 * a live block start — its live bit is set and it is 16-byte aligned (a bit
 * covers 16 bytes: p + 8 would find p's) — with *w and *word set for
 * rsvh_free_push; 0 (nothing read but the bitmap) when it is not a block
 * start or is free already. */
RSV_INLINE int rsvh_live_ok(rsvh_segment_t *seg, const void *p, _Atomic uint64_t **w, uint64_t *word)
{
    *w = rsvh_live_word(seg, p);
    *word = rsvh_live_load(*w);
    return ((*word >> rsvh_live_pos(p)) & 1) && !((uintptr_t)p & (RSVH_ALIGN - 1));
}

/* 1 when the owner may push onto pg's list on the spot: no remote free is
 * pending (a block another thread freed keeps its live bit until the
 * owner collects it, so only the cookie tells it apart then) and pg is not
 * parked in the full queue.  Otherwise rsvh_free_owned_checked decides. */
RSV_INLINE int rsvh_page_quiet(const rsvh_page_t *pg)
{
    return (atomic_load_explicit(&((rsvh_page_t *)pg)->xfree, memory_order_relaxed) | pg->in_full) == 0;
}

#endif /* RSV_HEAP_INTERNAL_H */
