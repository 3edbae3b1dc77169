/* bench/main.c — the benchmark program: builds the shared input tables,
 * registers every allocator this build has, and hands over to Google
 * Benchmark (all --benchmark_* flags work).
 *
 * Environment (set by bench/run):
 *   RSVB_MALLOC_NAME  row name of the process malloc (default glibc, or
 *                     crt-malloc in the Windows build); bench/run sets it to
 *                     the allocator it preloads.
 *   RSVB_ONLY_MALLOC  if set, register only the process malloc's rows (the
 *                     preloaded processes measure nothing else).
 *   RSVB_ONLY_DEBUG   if set, register only the debug-feature rows and their
 *                     debug-off baselines (the debug-cost phase).
 *   RSVB_NO_DEBUG     if set, leave the debug-feature rows out.
 * Must never: measure anything itself. */
#include "alloc.h"
#include "origin.h"
#include "shim.h"
#include "tables.h"

#include <stdlib.h>

int main(int argc, char **argv)
{
    const char *malloc_name = getenv("RSVB_MALLOC_NAME");
    rsvb_tables_init();
    rsvb_context("rsvb_malloc_origin", rsvb_malloc_origin());
#if RSVB_HAVE_DEBUG
    if (getenv("RSVB_ONLY_DEBUG")) {
        rsvb_register_debug(1);
        return rsvb_main(argc, argv);
    }
#endif
#if RSVB_WINDOWS
    rsvb_register_malloc(malloc_name ? malloc_name : "crt-malloc");
#else
    rsvb_register_malloc(malloc_name ? malloc_name : "glibc");
#endif
    if (getenv("RSVB_ONLY_MALLOC")) return rsvb_main(argc, argv);

    rsvb_register_bump("bump");
#if RSVB_WINDOWS
    rsvb_register_cxx_new("new-delete");
    rsvb_register_k32_process_heap("HeapAlloc-process");
    rsvb_register_k32_private_heap("HeapAlloc-private");
    rsvb_register_k32_private_heap_noser("HeapAlloc-private-noser");
    rsvb_register_k32_global_fixed("GlobalAlloc-fixed");
    rsvb_register_k32_global_moveable("GlobalAlloc-moveable");
    rsvb_register_k32_local("LocalAlloc");
    rsvb_register_k32_virtual("VirtualAlloc");
#endif
#if RSVB_HAVE_ARENA
    rsvb_register_arena("rsv-arena");
#endif
#if RSVB_HAVE_POOL
    rsvb_register_pool("rsv-pool");
#endif
#if RSVB_HAVE_HEAP
    rsvb_register_heap("rsv-heap");
#endif
#if RSVB_HAVE_RSV_MALLOC
    rsvb_register_rsv_malloc("rsv_malloc");
#endif
#if RSVB_HAVE_MIMALLOC_LINKED
    rsvb_register_mimalloc_linked("mimalloc-linked");
#endif
#if RSVB_HAVE_DEBUG
    if (!getenv("RSVB_NO_DEBUG")) rsvb_register_debug(0);
#endif
#if RSVB_HAVE_FACADE
    rsvb_register_facade_heap("RsvHeapAlloc");
    rsvb_register_facade_global("RsvGlobalAlloc-moveable");
#endif
    return rsvb_main(argc, argv);
}
