/* Bug 3b: a write just before the start of a block ("minus one").
 * RSV_DEBUG=canary reports it on free; RSV_DEBUG=guard_under faults. */
#include "bug.h"

int main(int argc, char **argv)
{
    bug_open(argc, argv, 32, 0);
    char *p = bug_alloc(32);
    int i = 32;
    while (i-- >= 0) p[i] = 'x'; /* the bug: also writes p[-1] */
    bug_free(p);
    bug_close();
    return 0;
}
