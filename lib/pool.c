/* lib/pool.c — the out-of-line half of reservoir/pool.h: creating and
 * destroying pools, carving blocks in batches, slow mode (shared pools,
 * memory tools, the debug layer), reporting bad frees and corrupted links,
 * reset, ownership and stats.
 *
 * Owns the pool's private header (struct pool_full) and the in-use map.
 * Must never follow a free-list link it has not validated, never change a
 * pool on a refused free, never allocate from anything but the pool's own
 * regions, never print.  region.c reports commit/reserve failures; this
 * file reports misuse, corruption and a full reservation.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "arena_internal.h"
#include "arena_san.h"
#include "debug/dbg.h"
#include "internal.h"
#include "os/thread.h"
#include "reservoir/region.h"
#include "reservoir/vm.h"

#if UINTPTR_MAX > 0xFFFFFFFFu
#define POOL_DEFAULT_RESERVE ((size_t)1 << 30)
#else
#define POOL_DEFAULT_RESERVE ((size_t)64 << 20)
#endif
#define POOL_DEFAULT_BLOCK 64

/* The whole header at the start of the blocks region:
 *
 *   [rsv_pool_t pub | cold fields ... ][pad][block 0][block 1]...
 */
typedef struct pool_full {
    rsv_pool_t pub;
    rsv_pool_list_t locked;   /* the list while in slow mode (pub.fast is zero) */
    unsigned slow;            /* RSVI_POOL_SLOW_* */
    unsigned flags;           /* RSV_POOL_* */
    atomic_int lock;          /* spin lock of slow mode */
    size_t stride;            /* block size after rounding */
    size_t block_size;        /* as asked (at least 1) */
    size_t align;
    size_t capacity;          /* blocks the reservation holds */
    size_t corrupted, bad_frees;
    void *debug;              /* the debug layer's state (issue 7); NULL when off */
    const char *name;
    rsv_region_t usemap;      /* the in-use map's region */
    rsv_region_t region;      /* the blocks region; this struct lives in it */
} pool_full_t;

static pool_full_t *pool_full(rsv_pool_t *p)
{
    return (pool_full_t *)(void *)p;
}

static size_t pool_round(size_t n, size_t unit)
{
    return (n + unit - 1) & ~(unit - 1);
}

/* The list the pool runs on now. */
static rsv_pool_list_t *pool_list(pool_full_t *f)
{
    return f->slow ? &f->locked : &f->pub.fast;
}

/* ---- slow-mode lock ----------------------------------------------------- */

static void pool_lock(pool_full_t *f)
{
    if (!(f->slow & RSVI_POOL_SLOW_SHARED)) return;
    unsigned spins = 0;
    while (atomic_exchange_explicit(&f->lock, 1, memory_order_acquire)) {
        while (atomic_load_explicit(&f->lock, memory_order_relaxed)) {
            if (++spins > 64) {
                rsvi_os_yield();
                spins = 0;
            }
        }
    }
}

static void pool_unlock(pool_full_t *f)
{
    if (f->slow & RSVI_POOL_SLOW_SHARED)
        atomic_store_explicit(&f->lock, 0, memory_order_release);
}

/* ---- creation ----------------------------------------------------------- */

/* A per-pool secret: not cryptographic, but unknown to code that has not
 * read the pool header (time, addresses under ASLR, a counter, mixed). */
static uintptr_t pool_secret(const void *pool)
{
    static atomic_uint counter;
    uint64_t x = rsvi_os_now_ns() ^ (uint64_t)(uintptr_t)pool
               ^ ((uint64_t)(uintptr_t)&counter << 17)
               ^ ((uint64_t)atomic_fetch_add(&counter, 1) * 0x9E3779B97F4A7C15ull);
    /* splitmix64 finaliser */
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    uintptr_t s = (uintptr_t)x;
    return s ? s : (uintptr_t)0x5A5A5A5Au;
}

/* Inverse of an odd number modulo 2^N by Newton's iteration (each step
 * doubles the correct low bits: 3 -> 6 -> 12 -> 24 -> 48 -> 96). */
static uintptr_t pool_inverse(uintptr_t odd)
{
    uintptr_t x = odd;   /* correct to 3 bits: odd * odd == 1 mod 8 */
    for (int k = 0; k < 5; k++) x *= 2 - odd * x;
    return x;
}

/* The natural alignment of a block: the largest power of two dividing it,
 * at most alignof(max_align_t). */
static size_t pool_natural_align(size_t block)
{
    size_t a = block & (~block + 1);
    return a < alignof(max_align_t) ? a : alignof(max_align_t);
}

#if RSV_CHECKS >= 1
static rsv_pool_t *pool_create_debug(const rsv_pool_opts_t *opts); /* debug layer, issue 7 */
#endif

rsv_pool_t *rsv_pool_create(const rsv_pool_opts_t *opts)
{
    static const rsv_pool_opts_t defaults;
    if (!opts) opts = &defaults;
#if RSV_CHECKS >= 1
    if (opts->debug && (rsvi_dbg_wanted(opts->debug) || opts->debug->oom != RSV_OOM_NULL))
        return pool_create_debug(opts);
#endif
    if (opts->flags & ~(unsigned)(RSV_POOL_SHARED | RSV_POOL_NO_HARDEN)) {
        rsvi_error(EINVAL, "pool: unknown flags");
        return NULL;
    }
    size_t want = opts->block_size ? opts->block_size : POOL_DEFAULT_BLOCK;
    size_t align = opts->alignment;
    if (align & (align - 1) || align > RSV_POOL_MAX_ALIGN) {
        rsvi_error(EINVAL, "pool: alignment must be a power of two <= 1 GiB");
        return NULL;
    }
    if (want > SIZE_MAX / 4) {
        rsvi_error(EINVAL, "pool: block size too large");
        return NULL;
    }
    size_t block = pool_round(want, sizeof(uintptr_t));
    if (!align) align = pool_natural_align(block);
    size_t stride = pool_round(block, align);
    size_t reserve = opts->reserve ? opts->reserve : POOL_DEFAULT_RESERVE;
    size_t hdr = pool_round(sizeof(pool_full_t), align);
    if (reserve > SIZE_MAX / 4 || reserve < hdr + stride) {
        if (reserve > SIZE_MAX / 4) {
            rsvi_error(EINVAL, "pool: reserve too large");
            return NULL;
        }
        reserve = hdr + stride;
    }

    rsv_region_opts_t ro;
    memset(&ro, 0, sizeof ro);
    ro.reserve = reserve;
    ro.commit_step = opts->commit_step;
    ro.alignment = align > rsv_vm_granularity() ? align : 0;
    rsv_region_t r;
    if (rsv_region_init(&r, &ro) != 0) return NULL;
    size_t capacity = (r.usable - hdr) / stride;

    rsv_region_opts_t bo;
    memset(&bo, 0, sizeof bo);
    bo.reserve = capacity;
    rsv_region_t bm;
    if (rsv_region_init(&bm, &bo) != 0) {
        rsv_region_release(&r);
        return NULL;
    }
    if (rsv_region_commit_to(&r, hdr) != 0) {
        rsv_region_release(&bm);
        rsv_region_release(&r);
        return NULL;
    }

    pool_full_t *f = (pool_full_t *)(void *)r.base;
    memset(f, 0, sizeof *f);
    f->region = r;
    f->usemap = bm;
    f->stride = stride;
    f->block_size = want;
    f->align = align;
    f->capacity = capacity;
    f->flags = opts->flags;
    f->name = opts->name;
    atomic_init(&f->lock, 0);
    rsv_pool_t *p = &f->pub;
    p->lo = (uintptr_t)r.base + hdr;
    unsigned shift = 0;
    while (!((stride >> shift) & 1)) shift++;
    p->shift = shift;
    p->inv = pool_inverse((uintptr_t)(stride >> shift));
    p->used = (unsigned char *)bm.base;
    p->secret = (opts->flags & RSV_POOL_NO_HARDEN) ? 0 : pool_secret(f);
    SAN_VG_CREATE(f, 0);
    SAN_POISON(r.base + hdr, r.committed - hdr);
    if (opts->flags & RSV_POOL_SHARED) rsvi_pool_set_slow(p, RSVI_POOL_SLOW_SHARED, 1);
    if (SAN_TRACKING()) rsvi_pool_set_slow(p, RSVI_POOL_SLOW_TOOLS, 1);
    return p;
}

void rsv_pool_destroy(rsv_pool_t *p)
{
    if (!p) return;
    pool_full_t *f = pool_full(p);
    /* Debug layer (issue 7): final checks and leak report. */
    if (f->debug) rsvi_dbg_destroy(f->debug, RSVI_DBG_SITE());
    f->debug = NULL;
    rsv_region_t bm = f->usemap, r = f->region;
    SAN_VG_DESTROY(f);
    SAN_UNPOISON(r.base, r.peak);
    rsv_region_release(&bm);
    rsv_region_release(&r);
}

void rsvi_pool_set_slow(rsv_pool_t *p, unsigned reason, int on)
{
    pool_full_t *f = pool_full(p);
    int was = f->slow != 0;
    if (on) f->slow |= reason;
    else f->slow &= ~reason;
    int now = f->slow != 0;
    if (was == now) return;
    if (now) {
        f->locked = p->fast;
        memset(&p->fast, 0, sizeof p->fast);
    } else {
        p->fast = f->locked;
        memset(&f->locked, 0, sizeof f->locked);
    }
}

/* ---- in-use map --------------------------------------------------------- */

static int pool_used(const rsv_pool_t *p, size_t i)
{
    return p->used[i];
}

static void pool_set_used(rsv_pool_t *p, size_t i, int on)
{
    p->used[i] = (unsigned char)(on != 0);
}

/* Blocks marked in use among the first n.  The fast paths keep no
 * counters (each would be one more store-to-load chain per call). */
static size_t pool_count_used(const rsv_pool_t *p, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += p->used[i];
    return total;
}

/* ---- alloc -------------------------------------------------------------- */

/* Commits block `i` and its in-use byte.  0, or an error with the pool's
 * state unchanged (a commit that succeeded stays: it is invisible). */
static int pool_commit_block(pool_full_t *f, size_t i)
{
    size_t hdr = (size_t)(f->pub.lo - (uintptr_t)f->region.base);
    size_t end = hdr + (i + 1) * f->stride;
    if (end > f->region.committed) {
        size_t before = f->region.committed;
        int e = rsv_region_commit_to(&f->region, end);
        if (e) return e;
        SAN_POISON(f->region.base + before, f->region.committed - before);
        SAN_VG_NOACCESS(f->region.base + before, f->region.committed - before);
    }
    size_t wend = i + 1;
    if (wend > f->usemap.committed) return rsv_region_commit_to(&f->usemap, wend);
    return 0;
}

/* Validates a decoded link: 0 (end of list) or a carved block that is
 * free.  Returns 1 when it may be followed. */
static int pool_link_ok(const rsv_pool_t *p, const rsv_pool_list_t *l, uintptr_t next)
{
    if (next == 0) return 1;
    size_t j = rsv_pool_block_index(p, next);
    return j < l->nblocks && !pool_used(p, j);
}

static void *pool_alloc_locked(pool_full_t *f)
{
    rsv_pool_t *p = &f->pub;
    rsv_pool_list_t *l = pool_list(f);
    uintptr_t b = l->head;
    if (b) {
        SAN_UNPOISON((void *)b, f->stride);
        SAN_VG_DEFINED((void *)b, sizeof(uintptr_t));
        uintptr_t next = *(const uintptr_t *)b ^ p->secret;
        if (!pool_link_ok(p, l, next)) {
            /* Never follow it: b itself was validated when it became the
             * head, so hand it out, but drop the rest of the list (those
             * blocks stay unusable until rsv_pool_reset). */
            next = 0;
            f->corrupted++;
            rsvi_error(EFAULT, "pool: corrupted free-list link (write after free?); free list dropped");
        }
        SAN_POISON((char *)b + f->block_size, f->stride - f->block_size);
        l->head = next;
        pool_set_used(p, rsv_pool_block_index(p, b), 1);
        /* HOOK(debug, issue 7): fill / check the quarantine here. */
        SAN_VG_ALLOC(f, (void *)b, f->block_size);
        return (void *)b;
    }
    if (l->nblocks >= f->capacity) {
        rsvi_error(ENOMEM, "pool: reservation full");
        return NULL;
    }
    size_t i = l->nblocks;
    if (pool_commit_block(f, i) != 0) return NULL;
    l->nblocks = i + 1;
    pool_set_used(p, i, 1);
    void *blk = (void *)(p->lo + i * f->stride);
    SAN_UNPOISON(blk, f->block_size);
    SAN_VG_ALLOC(f, blk, f->block_size);
    return blk;
}

void *rsv_pool_alloc_slow(rsv_pool_t *p)
{
    pool_full_t *f = pool_full(p);
    if (RSV_UNLIKELY(f->slow & RSVI_POOL_SLOW_DEBUG)) {
        const rsvi_dbg_backend_t *be = rsvi_dbg_backend(f->debug);
        return rsvi_dbg_alloc(f->debug, be->block_size, be->block_align, 0, RSVI_DBG_SITE());
    }
    pool_lock(f);
    void *b = pool_alloc_locked(f);
    pool_unlock(f);
    if (RSV_UNLIKELY(!b) && f->debug)
        rsvi_dbg_oom(rsvi_dbg_opts(f->debug), "pool", f->name ? f->name : "", f->block_size);
    return b;
}

/* ---- free --------------------------------------------------------------- */

static void pool_free_locked(pool_full_t *f, void *block)
{
    rsv_pool_t *p = &f->pub;
    rsv_pool_list_t *l = pool_list(f);
    size_t i = rsv_pool_block_index(p, (uintptr_t)block);
    const char *msg = NULL;
    if (i < l->nblocks) {
        if (!pool_used(p, i)) msg = "pool: double free (block already free)";
    } else if ((uintptr_t)block - p->lo < l->nblocks * f->stride) {
        msg = "pool: free of a pointer that is not the start of a block";
    } else {
        msg = "pool: free of a pointer the pool does not own";
    }
    if (msg) {
        f->bad_frees++;
        rsvi_error(EINVAL, msg);
        return;
    }
    /* HOOK(debug, issue 7): fill with the freed pattern / quarantine here. */
    pool_set_used(p, i, 0);
    SAN_UNPOISON(block, sizeof(uintptr_t));
    *(uintptr_t *)block = l->head ^ p->secret;
    l->head = (uintptr_t)block;
    SAN_VG_FREE(f, block);
    SAN_POISON(block, f->stride);
}

void rsv_pool_free_slow(rsv_pool_t *p, void *block)
{
    if (!block) return;
    pool_full_t *f = pool_full(p);
    if (RSV_UNLIKELY(f->slow & RSVI_POOL_SLOW_DEBUG)) {
        (void)rsvi_dbg_free(f->debug, block, RSVI_DBG_SITE());
        return;
    }
    pool_lock(f);
    pool_free_locked(f, block);
    pool_unlock(f);
}

/* ---- debug layer (issue 7) ---------------------------------------------- */

#if RSV_CHECKS >= 1
/* The debug layer's raw backend: the pool's own slots. */
static void *pool_dbg_raw(void *ctx, size_t size, size_t align)
{
    pool_full_t *f = ctx;
    (void)size;
    (void)align;
    pool_lock(f);
    void *b = pool_alloc_locked(f);
    pool_unlock(f);
    return b;
}

static void pool_dbg_free(void *ctx, void *raw)
{
    pool_full_t *f = ctx;
    pool_lock(f);
    pool_free_locked(f, raw);
    pool_unlock(f);
}

/* A pool whose slots hold the user's block plus its decoration, in slow
 * mode, with the debug state in f->debug. */
static rsv_pool_t *pool_create_debug(const rsv_pool_opts_t *opts)
{
    size_t want = opts->block_size ? opts->block_size : POOL_DEFAULT_BLOCK;
    size_t align = opts->alignment;
    if (!align && want <= SIZE_MAX / 4) align = pool_natural_align(pool_round(want, sizeof(uintptr_t)));
    rsv_pool_opts_t o = *opts;
    o.debug = NULL;
    if (rsvi_dbg_wanted(opts->debug)) {
        o.block_size = rsvi_dbg_raw_size(opts->debug, want, align);
        o.alignment = align;
    }
    rsv_pool_t *p = rsv_pool_create(&o);
    if (!p) return NULL;
    pool_full_t *f = pool_full(p);
    rsvi_dbg_backend_t be = {pool_dbg_raw, pool_dbg_free, f, RSVI_DBG_BE_RECLAIMS, NULL, want, align};
    f->debug = rsvi_dbg_create(opts->debug, &be, "pool", opts->name ? opts->name : "");
    if (!f->debug) {
        rsv_pool_destroy(p);
        return NULL;
    }
    if (rsvi_dbg_wanted(opts->debug)) rsvi_pool_set_slow(p, RSVI_POOL_SLOW_DEBUG, 1);
    return p;
}
#endif

/* ---- whole-pool operations ---------------------------------------------- */

void rsv_pool_reset(rsv_pool_t *p)
{
    pool_full_t *f = pool_full(p);
    /* Debug layer (issue 7): blocks still in use die here (checked, filled
     * 0xDD, checked again when their slots are handed out). */
    if (RSV_UNLIKELY(f->slow & RSVI_POOL_SLOW_DEBUG)) rsvi_dbg_reclaim(f->debug, NULL, NULL, RSVI_DBG_SITE());
    pool_lock(f);
    rsv_pool_list_t *l = pool_list(f);
    memset(p->used, 0, f->usemap.committed);
    size_t hdr = (size_t)(p->lo - (uintptr_t)f->region.base);
    SAN_POISON(f->region.base + hdr, f->region.committed - hdr);
    SAN_VG_DESTROY(f);
    SAN_VG_CREATE(f, 0);
    SAN_VG_NOACCESS(f->region.base + hdr, f->region.committed - hdr);
    l->head = 0;
    l->nblocks = 0;
    pool_unlock(f);
}

int rsv_pool_owns(rsv_pool_t *p, const void *ptr)
{
    pool_full_t *f = pool_full(p);
    if (RSV_UNLIKELY(f->slow & RSVI_POOL_SLOW_DEBUG)) return rsvi_dbg_owns(f->debug, ptr);
    pool_lock(f);
    int r = (uintptr_t)ptr - p->lo < pool_list(f)->nblocks * f->stride;
    pool_unlock(f);
    return r;
}

void rsv_pool_stats(rsv_pool_t *p, rsv_pool_stats_t *out)
{
    pool_full_t *f = pool_full(p);
    pool_lock(f);
    out->block_size = f->stride;
    out->alignment = f->align;
    out->in_use = pool_count_used(p, pool_list(f)->nblocks);
    out->peak = pool_list(f)->nblocks;
    out->carved = pool_list(f)->nblocks;
    out->capacity = f->capacity;
    out->committed = f->region.committed + f->usemap.committed;
    out->reserved = f->region.reserved + f->usemap.reserved;
    out->corrupted = f->corrupted;
    out->bad_frees = f->bad_frees;
    pool_unlock(f);
}

const char *rsv_pool_name(const rsv_pool_t *p)
{
    return ((const pool_full_t *)(const void *)p)->name;
}

int rsvi_pool_validate(rsv_pool_t *p)
{
    pool_full_t *f = pool_full(p);
    pool_lock(f);
    rsv_pool_list_t *l = pool_list(f);
    int ok = 1;
    size_t used = 0, nfree = 0;
    for (size_t i = 0; i < l->nblocks; i++) used += (size_t)pool_used(p, i);
    if (used != pool_count_used(p, l->nblocks)) ok = 0;
    /* No block past the carved ones is marked. */
    for (size_t i = l->nblocks; ok && i < f->usemap.committed; i++)
        if (p->used[i]) ok = 0;
    /* A list longer than the free blocks has a cycle. */
    for (uintptr_t b = l->head; ok && b; nfree++) {
        size_t i = rsv_pool_block_index(p, b);
        if (i >= l->nblocks || pool_used(p, i) || nfree > l->nblocks - used) {
            ok = 0;
            break;
        }
        SAN_UNPOISON((void *)b, sizeof(uintptr_t));
        SAN_VG_DEFINED((void *)b, sizeof(uintptr_t));
        uintptr_t next = *(const uintptr_t *)b ^ p->secret;
        SAN_POISON((void *)b, sizeof(uintptr_t));
        b = next;
    }
    pool_unlock(f);
    return ok;
}
