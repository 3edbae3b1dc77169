/* bench/rss.h — resident memory of this process, for the memory workload.
 * rss_linux.c reads /proc/self/status; rss_win32.c asks
 * GetProcessMemoryInfo (working set).  Must never: allocate. */
#ifndef RSVB_RSS_H
#define RSVB_RSS_H

#include <stddef.h>

/* Current and peak resident bytes; 0 on success, -1 when unknown. */
int rsvb_rss(size_t *current, size_t *peak);
/* Restarts the peak at the current value where the OS allows it (Linux
 * clear_refs 5); returns 0, or -1 when the peak cannot be reset. */
int rsvb_rss_reset_peak(void);

#endif /* RSVB_RSS_H */
