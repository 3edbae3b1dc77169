/* Bug 5: a write through a pointer whose block was freed (a dangling
 * pointer).  RSV_DEBUG=quarantine holds the freed block filled with 0xDD
 * and reports the changed byte when the block leaves quarantine (for an
 * arena: when its memory is handed out again); RSV_DEBUG=guard,quarantine
 * faults at the write. */
#include "bug.h"

int main(int argc, char **argv)
{
    bug_open(argc, argv, 32, 0);
    char *p = bug_alloc(32);
    bug_free(p);
    p[8] = 1; /* the bug */
    if (bug_which == BUG_ARENA) bug_alloc(64); /* reuses the memory */
    else bug_churn(32);
    bug_close();
    return 0;
}
