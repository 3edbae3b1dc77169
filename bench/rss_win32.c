/* bench/rss_win32.c — rsvb_rss on Windows: the working set and its peak
 * from GetProcessMemoryInfo (psapi).  The peak cannot be reset, so the
 * Windows report runs each memory measurement from a process baseline.
 * Must never: allocate. */
#include "rss.h"

#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <psapi.h>

int rsvb_rss(size_t *current, size_t *peak)
{
    PROCESS_MEMORY_COUNTERS pmc;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc)) return -1;
    *current = pmc.WorkingSetSize;
    *peak = pmc.PeakWorkingSetSize;
    return 0;
}

int rsvb_rss_reset_peak(void)
{
    return -1;
}
