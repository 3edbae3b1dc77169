/* examples/static_override/main.c — replacing malloc at link time.
 *
 * This program is ordinary C: it calls malloc, free and asprintf and knows
 * nothing of Reservoir.  Its build (meson.build next to it) links the
 * static override, libreservoir-malloc.a, whole into the executable; the
 * executable then defines malloc & co. itself, and the dynamic linker binds
 * every caller in the process to them — the program, the C library's own
 * internal calls (asprintf, stdio buffers, ...) and every shared library.
 * No LD_PRELOAD, no source change.
 *
 * By hand:  cc main.c -Wl,--whole-archive libreservoir-malloc.a \
 *              -Wl,--no-whole-archive -pthread -o main
 *
 * It checks, through Reservoir's public API, that the blocks really come
 * from Reservoir's default heap and prints "allocator: reservoir"; it exits
 * non-zero otherwise.  meson test runs it (suite "override").
 */
#define _GNU_SOURCE /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reservoir/heap.h>

int main(void)
{
    char *name = malloc(64);
    char *copy = NULL;   /* asprintf calls malloc from inside the C library */
    if (!name || asprintf(&copy, "%s", "allocated inside the C library") < 0) return 1;
    snprintf(name, 64, "%s", "allocated by the program");

    rsv_heap_t *heap = rsv_heap_default();
    int live = rsv_heap_of(name) == heap && rsv_heap_of(copy) == heap;
    printf("allocator: %s\n", live ? "reservoir" : "the C library");

    rsv_heap_stats_t st;
    rsv_heap_stats(heap, &st);
    printf("default heap: %zu live blocks, %zu bytes in use\n", st.blocks, st.in_use);

    free(copy);
    free(name);
    return live ? 0 : 1;
}
