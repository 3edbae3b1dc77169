/* Bug 5c: freeing a wild pointer — one inside a block (argv[2] "interior",
 * the default) or one no allocator gave out ("foreign").  Reported as
 * interior-free / invalid-free and refused.  An arena has no free: not
 * applicable. */
#include "bug.h"

int main(int argc, char **argv)
{
    static char not_a_block[64];
    bug_open(argc, argv, 40, 0);
    if (bug_which == BUG_ARENA) return 77;
    char *p = bug_alloc(40);
    if (argc > 2 && strcmp(argv[2], "foreign") == 0) bug_free(not_a_block); /* the bug */
    else bug_free(p + 16);                                                 /* the bug */
    bug_free(p);
    bug_close();
    return 0;
}
