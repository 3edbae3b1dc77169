/* bench/origin.h — which module the process's malloc resolves to, so a
 * report can prove that LD_PRELOAD took effect (origin_linux.c uses
 * dladdr; origin_win32.c names the CRT).  Must never: allocate. */
#ifndef RSVB_ORIGIN_H
#define RSVB_ORIGIN_H

/* A path or module name (static storage); "unknown" when it cannot tell. */
const char *rsvb_malloc_origin(void);

#endif /* RSVB_ORIGIN_H */
