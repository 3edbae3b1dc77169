/* lib/heap/debug_hook.c — the hook point where the debug layer (issue 7)
 * takes over a heap's alloc/free/realloc when rsv_heap_t.debug != 0.
 *
 * The public entry points test h->debug with one predictable branch and
 * call these functions only when it is set.  Until the debug layer
 * replaces these bodies (fill, canaries, quarantine, leak records) they
 * forward to the plain paths, so a set RSV_DEBUG changes nothing.  Must
 * never be reached with debug == 0 and must not change the plain paths.
 */
#include "heap/heap_internal.h"

void *rsvi_heap_debug_alloc(rsv_heap_t *h, size_t size, size_t align, unsigned flags)
{
    return rsvi_heap_plain_alloc(h, size, align, flags);
}

void rsvi_heap_debug_free(rsv_heap_t *h, void *p)
{
    rsvi_heap_plain_free(h, p);
}

void *rsvi_heap_debug_realloc(rsv_heap_t *h, void *p, size_t size)
{
    return rsvi_heap_plain_realloc(h, p, size);
}
