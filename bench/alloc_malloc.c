/* bench/alloc_malloc.c — the process's malloc/free/realloc behind
 * rsvb_alloc_t: glibc's, or whichever allocator bench/run preloads
 * (mimalloc, jemalloc, tcmalloc, libreservoir-malloc.so), or the CRT's in
 * the Windows build.  Must never: assume which malloc is live (the row
 * name says it, set by bench/run). */
#include "workloads.h"

RSVB_DEFINE_MALLOC_LIKE(malloc, malloc, free, realloc)
