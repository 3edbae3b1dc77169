/* tests/article/article.h — what both article programs share: the Win32
 * names (kernel32 on Windows, the Reservoir façade through RSV_WIN32_NAMES
 * elsewhere) and the two printing helpers, so the programs hold only their
 * call sequences. */
#ifndef RSV_TESTS_ARTICLE_H
#define RSV_TESTS_ARTICLE_H

#ifdef _WIN32
#  include <windows.h>
#else
#  define RSV_WIN32_NAMES
#  include "reservoir/win32.h"
#endif
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Prints the article's failure line; returns the exit status. */
static inline int stop(const char *what)
{
    printf("Error %s ...\n", what);
    return 1;
}

/* p as an integer for printing (compare.py masks it). */
static inline unsigned long long addr(const void *p) { return (unsigned long long)(uintptr_t)p; }

#endif
