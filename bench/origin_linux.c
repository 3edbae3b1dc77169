/* bench/origin_linux.c — rsvb_malloc_origin through dladdr on the address
 * malloc resolves to in this executable (after any LD_PRELOAD).
 * Must never: allocate. */
#define _GNU_SOURCE
#include "origin.h"

#include <dlfcn.h>
#include <stdlib.h>

const char *rsvb_malloc_origin(void)
{
    void *(*volatile fn)(size_t) = malloc;
    Dl_info info;
    if (dladdr((void *)fn, &info) && info.dli_fname) return info.dli_fname;
    return "unknown";
}
