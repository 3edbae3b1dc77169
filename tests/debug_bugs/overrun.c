/* Bug 3: an off-by-one write past the end of a block.  RSV_DEBUG=canary
 * reports it when the block is freed; RSV_DEBUG=guard faults at the write. */
#include "bug.h"

int main(int argc, char **argv)
{
    bug_open(argc, argv, 32, 0);
    char *p = bug_alloc(32);
    for (int i = 0; i <= 32; i++) p[i] = 'x'; /* the bug: <= instead of < */
    bug_free(p);
    bug_close();
    return 0;
}
