/* Bug 1: an allocation fails and the program uses it anyway.
 * Without a policy the NULL write faults; RSV_DEBUG=oom_abort stops the
 * program at the failed allocation with a message naming size and heap. */
#include "bug.h"

int main(int argc, char **argv)
{
    size_t cap = (size_t)1 << 20, want = (size_t)4 << 20;
    bug_open(argc, argv, 4096, cap);
    char *p = NULL;
    if (bug_which == BUG_POOL) {
        for (int i = 0; i < 1000 && (p = bug_alloc(4096)) != NULL; i++) {}
    } else if (bug_which == BUG_MALLOC) {
        p = bug_alloc((size_t)1 << 62);
    } else {
        p = bug_alloc(want);
    }
    volatile char *v = p;
    v[0] = 1; /* the bug: p was never checked */
    bug_close();
    return 0;
}
