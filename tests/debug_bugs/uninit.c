/* Bug 2: a block is read before it is written.  RSV_DEBUG=fill makes the
 * value read the recognisable 0xcdcdcdcd. */
#include "bug.h"

int main(int argc, char **argv)
{
    bug_open(argc, argv, 64, 0);
    unsigned *p = bug_alloc(64);
    printf("uninitialised word: 0x%08x\n", p[3]); /* the bug */
    bug_free(p);
    bug_close();
    return 0;
}
