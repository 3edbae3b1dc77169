/* tests/preload/foreign.c — free/realloc/malloc_usable_size of pointers
 * Reservoir did not allocate: a static array, the stack, a page of our own
 * mmap, and an interior pointer of a live block.  Under Reservoir each call
 * must be ignored (realloc returns NULL, usable size 0), nothing they point
 * at may change, and the heap must validate and keep working.  Run only
 * with Reservoir live (glibc aborts on these, by design): exits 77 (skip)
 * otherwise.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "probe.h"

static char static_buf[256];

/* The pointer as the program would hold it, hidden from the compiler's
 * free()-of-non-heap-object warnings. */
static void *volatile launder;
#define HIDE(p) (launder = (p), launder)

int main(void)
{
    probe_t pr;
    if (!probe_reservoir(&pr)) {
        printf("foreign: Reservoir not live, skipped\n");
        return 77;
    }
    char stack_buf[256];
    memset(static_buf, 's', sizeof static_buf);
    memset(stack_buf, 't', sizeof stack_buf);
    char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return 2;
    memset(page, 'm', 4096);
    char *live = malloc(1000);
    if (!live) return 2;
    memset(live, 'l', 1000);

    void *foreign[] = {static_buf + 16, stack_buf + 32, page + 64, live + 8};
    const char *what[] = {"static", "stack", "mmap", "interior"};
    for (int i = 0; i < 4; i++) {
        char label[64];
        free(HIDE(foreign[i]));
        snprintf(label, sizeof label, "%s: malloc_usable_size is 0", what[i]);
        CHECK(malloc_usable_size(HIDE(foreign[i])) == 0, label);
        snprintf(label, sizeof label, "%s: realloc returns NULL", what[i]);
        CHECK(realloc(HIDE(foreign[i]), 64) == NULL, label);
    }
    int intact = 1;
    for (size_t i = 0; i < sizeof static_buf; i++) intact &= static_buf[i] == 's';
    for (size_t i = 0; i < sizeof stack_buf; i++) intact &= stack_buf[i] == 't';
    for (size_t i = 0; i < 4096; i++) intact &= page[i] == 'm';
    for (size_t i = 0; i < 1000; i++) intact &= live[i] == 'l';
    CHECK(intact, "foreign memory and the live block unchanged");
    char msg[256] = "";
    CHECK(pr.heap_validate(pr.heap_default(), NULL, msg, sizeof msg) == 0, "heap validates");
    if (msg[0]) fprintf(stderr, "validate: %s\n", msg);
    free(live);
    char *again = malloc(1000);
    CHECK(again && pr.heap_of(again) == pr.heap_default(), "heap still serves malloc");
    free(again);
    munmap(page, 4096);
    return probe_failures ? 1 : 0;
}
