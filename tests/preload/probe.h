/* tests/preload/probe.h — finds Reservoir's public functions at run time
 * (dlsym), so the same test binary runs under glibc and under
 * LD_PRELOAD=libreservoir-malloc.so and can tell which allocator is live.
 * Test-only; header-only so each program stays one file.
 */
#ifndef RSV_PRELOAD_PROBE_H
#define RSV_PRELOAD_PROBE_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reservoir/heap.h"

typedef struct probe {
    rsv_heap_t *(*heap_default)(void);
    rsv_heap_t *(*heap_of)(const void *p);
    int (*heap_walk)(rsv_heap_t *h, rsv_heap_walk_fn fn, void *user);
    void (*heap_stats)(rsv_heap_t *h, rsv_heap_stats_t *out);
    int (*heap_validate)(rsv_heap_t *h, const void *p, char *msg, size_t msg_size);
} probe_t;

/* Fills *p and returns 1 when Reservoir's functions are in the process
 * (preloaded or linked in), 0 otherwise (plain C library). */
static int probe_reservoir(probe_t *p)
{
    /* Object-pointer to function-pointer conversion through dlsym is what
     * POSIX specifies; memcpy keeps -Wpedantic quiet. */
    void *s[5] = {dlsym(RTLD_DEFAULT, "rsv_heap_default"), dlsym(RTLD_DEFAULT, "rsv_heap_of"),
                  dlsym(RTLD_DEFAULT, "rsv_heap_walk"), dlsym(RTLD_DEFAULT, "rsv_heap_stats"),
                  dlsym(RTLD_DEFAULT, "rsv_heap_validate")};
    for (int i = 0; i < 5; i++)
        if (!s[i]) return 0;
    memcpy(&p->heap_default, &s[0], sizeof s[0]);
    memcpy(&p->heap_of, &s[1], sizeof s[1]);
    memcpy(&p->heap_walk, &s[2], sizeof s[2]);
    memcpy(&p->heap_stats, &s[3], sizeof s[3]);
    memcpy(&p->heap_validate, &s[4], sizeof s[4]);
    return 1;
}

/* Counts failed checks; every check prints one line so that the outputs
 * with and without the preload can be compared line by line. */
static int probe_failures;
#define CHECK(cond, what) do { \
        if (cond) printf("ok: %s\n", what); \
        else { printf("FAILED: %s (%s:%d)\n", what, __FILE__, __LINE__); probe_failures++; } \
    } while (0)

#endif /* RSV_PRELOAD_PROBE_H */
