/* bench/rss_linux.c — rsvb_rss on Linux from /proc/self/status (VmRSS,
 * VmHWM); the peak is reset through /proc/self/clear_refs.  Must never:
 * allocate (it runs between a workload's frees and its measurement), so it
 * uses open/read into a stack buffer, not stdio. */
#define _POSIX_C_SOURCE 200809L
#include "rss.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static size_t rss_field(const char *buf, const char *key)
{
    const char *p = strstr(buf, key);
    size_t kib = 0;
    if (!p) return 0;
    p += strlen(key);
    while (*p == ' ' || *p == '\t') p++;
    while (*p >= '0' && *p <= '9') kib = kib * 10 + (size_t)(*p++ - '0');
    return kib * 1024;
}

int rsvb_rss(size_t *current, size_t *peak)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    *current = rss_field(buf, "VmRSS:");
    *peak = rss_field(buf, "VmHWM:");
    return *current ? 0 : -1;
}

int rsvb_rss_reset_peak(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, "5", 1);
    close(fd);
    return n == 1 ? 0 : -1;
}
