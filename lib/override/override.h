/* lib/override/override.h — private to lib/override/: what the libc-named
 * entry points (override.c) share with the start-up/exit hooks (init.c) and
 * the stats printer (stats.c).  Built only into the override targets
 * (libreservoir-malloc.so / libreservoir-malloc.a), never into
 * libreservoir.  Nothing here allocates or uses stdio.
 */
#ifndef RSV_OVERRIDE_H
#define RSV_OVERRIDE_H

#include <stddef.h>
#include "reservoir/heap.h"

/* Formats the default heap's statistics as lines starting "reservoir: "
 * into buf (always NUL-terminated when size > 0) and returns the length
 * written, truncating at size - 1.  `title` opens the first line.  Never
 * allocates; safe at exit while other threads still run. */
size_t rsvi_override_format_stats(char *buf, size_t size, const char *title);

/* Formats the stats (above) into a stack buffer and writes them to stderr
 * with rsvi_os_write_stderr. */
void rsvi_override_print_stats(const char *title);

/* Called by the override's constructor once the process may run
 * instrumented code; before it, a sanitizer build serves allocations from a
 * static bootstrap buffer (override.c).  No effect in other builds. */
void rsvi_override_start(void);

/* Errors the heap reported through the override's error handler since
 * start-up (foreign or double frees, failed allocations). */
size_t rsvi_override_error_count(void);

#endif /* RSV_OVERRIDE_H */
