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

RSVB_DEFINE_MALLOC_LIKE(mimalloc_linked, mi_malloc, mi_free, mi_realloc)
