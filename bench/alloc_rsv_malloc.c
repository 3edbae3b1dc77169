/* bench/alloc_rsv_malloc.c — Reservoir's malloc family (rsv_malloc,
 * rsv_free, rsv_realloc on the default heap with its per-thread caches)
 * behind rsvb_alloc_t, linked statically next to the process malloc.
 * Must never: be confused with the LD_PRELOAD row, which measures the same
 * functions under the libc names (bench/run names that row). */
#include "workloads.h"

#include <reservoir/malloc.h>

RSVB_DEFINE_MALLOC_LIKE(rsv_malloc, rsv_malloc, rsv_free, rsv_realloc)
