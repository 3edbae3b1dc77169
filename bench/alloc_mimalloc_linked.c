/* bench/alloc_mimalloc_linked.c — mimalloc linked into the benchmark
 * program, called as mi_malloc / mi_free / mi_realloc: the peer of the
 * rsv_malloc row linked in the same way (the `mimalloc` row preloads
 * libmimalloc.so, the peer of rsv-preload).  Where an allocator's code
 * sits moves its pair time by about 2 ns either way (in one run:
 * Reservoir 4.7 ns linked, 6.0 preloaded; mimalloc 8.2 linked, 5.9
 * preloaded, the same instructions), so the report compares each way of
 * linking with its like.
 *
 * bench/run builds the static library from Debian's source package (the
 * version the preloaded row uses) with MI_OVERRIDE=OFF and hands its
 * prefix to meson (bench/meson.build); without it this file is not built.
 * Must never: replace the process malloc. */
#include "workloads.h"

#include <mimalloc.h>

static void *mil_create(size_t block)
{
    (void)block;
    static char dummy;
    return &dummy;
}
static void mil_destroy(void *ctx) { (void)ctx; }
static void *mil_alloc(void *ctx, size_t size) { (void)ctx; return mi_malloc(size); }
static void mil_free(void *ctx, void *p, size_t size) { (void)ctx; (void)size; mi_free(p); }
static void *mil_realloc(void *ctx, void *p, size_t old, size_t size)
{
    (void)ctx;
    (void)old;
    return mi_realloc(p, size);
}

static const rsvb_alloc_t mil_ops = {
    RSVB_CAP_FREE | RSVB_CAP_REALLOC | RSVB_CAP_SHARED | RSVB_CAP_LARGE,
    mil_create, mil_destroy, mil_alloc, mil_free, mil_realloc, NULL,
};

RSVB_DEFINE_ALLOCATOR(mimalloc_linked, mil_ops)
