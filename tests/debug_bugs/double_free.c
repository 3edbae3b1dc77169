/* Bug 5b: the same block freed twice.  Any of RSV_DEBUG=fill, canary,
 * quarantine reports it with the block and both sites (with quarantine,
 * also long after the first free).  An arena has no free: not applicable. */
#include "bug.h"

int main(int argc, char **argv)
{
    bug_open(argc, argv, 40, 0);
    if (bug_which == BUG_ARENA) return 77;
    char *p = bug_alloc(40);
    bug_free(p);
    bug_free(p); /* the bug */
    bug_close();
    return 0;
}
