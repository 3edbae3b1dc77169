/* lib/heap/debug_hook.c — where the debug layer (issue 7, lib/debug/)
 * takes over a heap's blocks when rsv_heap_t.debug != 0.
 *
 * The public entry points test h->debug with one predictable branch and
 * call these functions only when it is set; h->dbg then holds the debug
 * state, whose raw backend is the heap's plain path.  A state that carries
 * only an OOM policy (RSV_DEBUG=oom_abort) sends blocks down the plain path
 * and applies the policy when it returns NULL.
 *
 * Lock order: an explicit serialized heap's API lock (recursive), then the
 * debug state's lock, then the heap's own locks inside the plain path.
 * Must never be reached with debug == 0 and must not change the plain
 * paths.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "debug/dbg.h"
#include "heap/heap_internal.h"
#include "os/thread.h"

atomic_int rsvi_heap_debug_count;

/* ---- the raw backend: the heap's plain path ---------------------------- */

static void *hook_raw_alloc(void *ctx, size_t size, size_t align)
{
    return rsvi_heap_plain_alloc(ctx, size, align > RSVH_ALIGN ? align : 0, 0);
}

static void hook_raw_free(void *ctx, void *raw)
{
    rsvi_heap_plain_free(ctx, raw);
}

static size_t hook_usable(void *ctx, const void *p)
{
    rsvh_segment_t *seg;
    rsvh_page_t *pg;
    if (rsvh_lookup(p, &seg, &pg) != RSVH_OK || seg->heap != ctx) return 0;
    return rsvh_block_usable(seg, pg);
}

/* ---- attach / detach --------------------------------------------------- */

/* With RSV_DEBUG set, the default heap is made (and its debug layer
 * attached) before main, so that a program's first rsv_malloc is already
 * decorated.  (Under LD_PRELOAD the C library may allocate even earlier;
 * those blocks stay plain and are freed quietly.) */
__attribute__((constructor)) static void hook_early_init(void)
{
    if (rsvi_env()->debug) rsvh_default_init();
}

/* fork() while another thread is inside the default heap's debug layer
 * would leave its lock held in the child.  Registered after the heap's own
 * hooks, so prepare runs first: debug lock, then the heap's locks -- the
 * order every diverted call takes them in. */
static void hook_fork_prepare(void)
{
    if (rsvh_default_heap.dbg) rsvi_dbg_fork_lock(rsvh_default_heap.dbg);
}

static void hook_fork_release(void)
{
    if (rsvh_default_heap.dbg) rsvi_dbg_fork_unlock(rsvh_default_heap.dbg);
}

static void hook_exit_report(void)
{
    rsvi_dbg_t *d = rsvh_default_heap.dbg;
    if (d && (rsvi_dbg_opts(d)->flags & RSV_DEBUG_LEAKS)) (void)rsvi_dbg_report_leaks_at_exit(d);
}

int rsvi_heap_debug_attach(rsv_heap_t *h, const rsv_debug_opts_t *o)
{
#if RSV_CHECKS >= 1
    rsv_debug_opts_t env;
    if (!o) {
        rsvi_dbg_opts_from_env(rsvi_env()->debug, &env);
        o = &env;
    }
    if (!rsvi_dbg_wanted(o) && o->oom == RSV_OOM_NULL) return 0;
    rsvi_dbg_backend_t be = {hook_raw_alloc, hook_raw_free, h, 0, hook_usable, 0, 0};
    rsvi_dbg_t *d = rsvi_dbg_create(o, &be, "heap", h->name ? h->name : "");
    if (!d) return ENOMEM;
    h->dbg = d;
    atomic_fetch_add(&rsvi_heap_debug_count, 1);
    if (h->is_default && (o->flags & RSV_DEBUG_LEAKS)) (void)rsvi_os_at_exit(hook_exit_report);
    if (h->is_default) (void)rsvi_os_atfork(hook_fork_prepare, hook_fork_release, hook_fork_release);
    /* Last: from here on the entry points divert. */
    atomic_thread_fence(memory_order_release);
    h->debug = 1;
    h->fast_below = 0;   /* rsv_malloc's fast path (see struct rsv_heap) */
    return 0;
#else
    (void)h;
    (void)o;
    return 0;
#endif
}

void rsvi_heap_debug_detach(rsv_heap_t *h, const void *site)
{
    if (!h->dbg) return;
    h->debug = 0;
    if (h->is_default) h->fast_below = RSVH_DIRECT_MAX + 1;
    (void)rsvi_dbg_destroy(h->dbg, site);
    h->dbg = NULL;
    atomic_fetch_sub(&rsvi_heap_debug_count, 1);
}

/* ---- the diverted operations ------------------------------------------- */

static int hook_serialized(const rsv_heap_t *h, unsigned flags)
{
    return !h->is_default && !((h->flags | flags) & RSV_HEAP_NO_SERIALIZE);
}

static int hook_wraps(const rsv_heap_t *h)
{
    return rsvi_dbg_wanted(rsvi_dbg_opts(h->dbg));
}

void *rsvi_heap_debug_alloc(rsv_heap_t *h, size_t size, size_t align, unsigned flags, const void *site)
{
    rsvi_dbg_t *d = h->dbg;
    if (!hook_wraps(h)) {
        void *p = rsvi_heap_plain_alloc(h, size, align, flags);
        if (!p) rsvi_dbg_oom(rsvi_dbg_opts(d), "heap", h->name ? h->name : "", size);
        return p;
    }
    if (align & (align - 1) || align > RSVH_MAX_ALIGN) {
        rsvi_error(EINVAL, "heap: alignment is not a power of two up to 1 GiB");
        return NULL;
    }
    int ser = hook_serialized(h, flags);
    if (ser) rsvi_rlock(&h->api_lock);
    void *p = rsvi_dbg_alloc(d, size, align, ((h->flags | flags) & RSV_HEAP_ZERO) != 0, site);
    if (ser) rsvi_runlock(&h->api_lock);
    return p;
}

void rsvi_heap_debug_free(rsv_heap_t *h, void *p, const void *site)
{
    if (!hook_wraps(h)) {
        rsvi_heap_plain_free(h, p);
        return;
    }
    int ser = hook_serialized(h, 0);
    if (ser) rsvi_rlock(&h->api_lock);
    (void)rsvi_dbg_free(h->dbg, p, site);
    if (ser) rsvi_runlock(&h->api_lock);
}

void *rsvi_heap_debug_realloc(rsv_heap_t *h, void *p, size_t size, const void *site)
{
    if (!hook_wraps(h)) {
        void *q = rsvi_heap_plain_realloc(h, p, size);
        if (!q) rsvi_dbg_oom(rsvi_dbg_opts(h->dbg), "heap", h->name ? h->name : "", size);
        return q;
    }
    int ser = hook_serialized(h, 0);
    if (ser) rsvi_rlock(&h->api_lock);
    size_t old = p ? rsvi_dbg_usable(h->dbg, p) : 0;
    void *q = p ? rsvi_dbg_realloc(h->dbg, p, size, site)
                : rsvi_dbg_alloc(h->dbg, size, 0, (h->flags & RSV_HEAP_ZERO) != 0, site);
    if (q && p && (h->flags & RSV_HEAP_ZERO) && size > old) memset((char *)q + old, 0, size - old);
    if (ser) rsvi_runlock(&h->api_lock);
    return q;
}

size_t rsvi_heap_debug_usable(rsv_heap_t *h, const void *p)
{
    return hook_wraps(h) ? rsvi_dbg_usable(h->dbg, p) : 0;
}

int rsvi_heap_debug_knows(rsv_heap_t *h, const void *p)
{
    return h->dbg && hook_wraps(h) && rsvi_dbg_knows(h->dbg, p);
}

int rsvi_heap_debug_validate(rsv_heap_t *h, const void *p, const void *site)
{
    return hook_wraps(h) ? rsvi_dbg_validate(h->dbg, p, site) : 0;
}
