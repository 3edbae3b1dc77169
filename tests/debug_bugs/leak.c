/* Bug 4: blocks that are never freed.  RSV_DEBUG=leaks lists them at
 * destroy (at exit for malloc), grouped by allocation site. */
#include "bug.h"

static void *__attribute__((noinline)) make_name(void)
{
    char *s = bug_alloc(48);
    if (s) strcpy(s, "name");
    return s;
}

static void *__attribute__((noinline)) make_node(void)
{
    void **n = bug_alloc(48);
    if (n) n[0] = NULL;
    return n;
}

int main(int argc, char **argv)
{
    bug_open(argc, argv, 48, 0);
    void *keep = make_node();
    for (int i = 0; i < 3; i++) make_name(); /* the bug: never freed */
    make_node();                              /* nor this one */
    if (bug_which != BUG_ARENA) bug_free(keep);
    bug_close();
    return 0;
}
