/* bench/alloc_cxx_new.c — C++ new/delete behind rsvb_alloc_t (the
 * article's comparison of new with malloc).  realloc is new + copy +
 * delete, as std::vector grows.  Must never: call malloc directly. */
#include "cxx_new.h"
#include "workloads.h"

static void *cn_create(size_t block)
{
    (void)block;
    static char dummy;
    return &dummy;
}
static void cn_destroy(void *ctx) { (void)ctx; }
static void *cn_alloc(void *ctx, size_t size) { (void)ctx; return rsvb_cxx_new(size); }
static void cn_free(void *ctx, void *p, size_t size) { (void)ctx; (void)size; rsvb_cxx_delete(p); }
static void *cn_realloc(void *ctx, void *p, size_t old, size_t size)
{
    void *q = cn_alloc(ctx, size);
    if (!q) return NULL;
    memcpy(q, p, old < size ? old : size);
    rsvb_cxx_delete(p);
    return q;
}

static const rsvb_alloc_t cn_ops = {
    RSVB_CAP_FREE | RSVB_CAP_REALLOC | RSVB_CAP_SHARED | RSVB_CAP_LARGE,
    cn_create, cn_destroy, cn_alloc, cn_free, cn_realloc, NULL,
};

RSVB_DEFINE_ALLOCATOR(cxx_new, cn_ops)
