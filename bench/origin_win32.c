/* bench/origin_win32.c — rsvb_malloc_origin in the Windows build: mingw
 * programs call the CRT's malloc (msvcrt.dll); nothing is preloaded there.
 * Must never: allocate. */
#include "origin.h"

const char *rsvb_malloc_origin(void)
{
    return "msvcrt.dll (mingw CRT)";
}
