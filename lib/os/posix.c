/* lib/os/posix.c — the POSIX (Linux first) backend of lib/os/os.h.
 *
 * Reserve = mmap(PROT_NONE, MAP_NORESERVE); commit = mprotect(RW);
 * decommit = MADV_DONTNEED + mprotect(PROT_NONE) (never MADV_FREE: a
 * recommitted page must read zero); purge = MADV_FREE, else MADV_DONTNEED.
 * Must never allocate, print through stdio or leave an OS result unchecked.
 */
#include "os/os.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static rsvi_os_caps_t posix_caps;

const rsvi_os_caps_t *rsvi_os_caps(void)
{
    if (posix_caps.page_size == 0) {
        long ps = sysconf(_SC_PAGESIZE);
        rsvi_os_caps_t c;
        c.page_size = ps > 0 ? (size_t)ps : 4096;
        c.granularity = c.page_size;
#if defined(MAP_HUGETLB) || defined(MADV_HUGEPAGE)
        c.large_page_size = (size_t)2 << 20;
#else
        c.large_page_size = 0;
#endif
        c.can_release_part = 1;
        c.recommit_zeroed = 1;
        c.overcommits = 1;
        c.large_commits_at_reserve = 0;
        posix_caps = c; /* idempotent: every thread computes the same value */
    }
    return &posix_caps;
}

static int posix_prot(unsigned prot)
{
    int p = PROT_NONE;
    if (prot & RSV_PROT_READ) p |= PROT_READ;
    if (prot & RSV_PROT_WRITE) p |= PROT_WRITE;
    if (prot & RSV_PROT_EXEC) p |= PROT_EXEC;
    return p;
}

static int posix_errno(int fallback)
{
    int e = errno;
    return e ? e : fallback;
}

int rsvi_os_reserve(size_t size, size_t align, unsigned flags, void **out, unsigned *granted)
{
    size_t page = rsvi_os_caps()->page_size;
    if (align < page) align = page;
    /* Over-reserve by align - page and trim both ends. */
    size_t total = size + align - page;
    if (total < size) return ENOMEM;
    void *m = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return posix_errno(ENOMEM);
    uintptr_t start = (uintptr_t)m;
    uintptr_t aligned = (start + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = aligned - start;
    size_t tail = total - head - size;
    if (head && munmap(m, head) != 0) { int e = posix_errno(EINVAL); munmap(m, total); return e; }
    if (tail && munmap((char *)aligned + size, tail) != 0) {
        int e = posix_errno(EINVAL);
        munmap((void *)aligned, size + tail);
        return e;
    }
    unsigned got = flags & ~(unsigned)RSV_VM_LARGE_PAGES;
#ifdef MADV_HUGEPAGE
    if ((flags & RSV_VM_LARGE_PAGES) && madvise((void *)aligned, size, MADV_HUGEPAGE) == 0)
        got |= RSV_VM_LARGE_PAGES;
#endif
    *out = (void *)aligned;
    if (granted) *granted = got;
    return 0;
}

int rsvi_os_commit(void *p, size_t n, unsigned prot)
{
    if (mprotect(p, n, posix_prot(prot)) != 0) return posix_errno(ENOMEM);
    return 0;
}

int rsvi_os_decommit(void *p, size_t n)
{
    if (madvise(p, n, MADV_DONTNEED) != 0) return posix_errno(EINVAL);
    if (mprotect(p, n, PROT_NONE) != 0) return posix_errno(ENOMEM);
    return 0;
}

int rsvi_os_purge(void *p, size_t n)
{
#ifdef MADV_FREE
    if (madvise(p, n, MADV_FREE) == 0) return 0;
#endif
    if (madvise(p, n, MADV_DONTNEED) != 0) return posix_errno(EINVAL);
    return 0;
}

int rsvi_os_protect(void *p, size_t n, unsigned prot)
{
    if (mprotect(p, n, posix_prot(prot)) != 0) return posix_errno(ENOMEM);
    return 0;
}

int rsvi_os_release(void *base, size_t size)
{
    if (munmap(base, size) != 0) return posix_errno(EINVAL);
    return 0;
}

int rsvi_os_query(const void *p, rsv_vm_info_t *info)
{
    /* Best effort; the vm layer answers exactly for its own reservations. */
    memset(info, 0, sizeof *info);
    size_t page = rsvi_os_caps()->page_size;
    info->base = (void *)((uintptr_t)p & ~(uintptr_t)(page - 1));
    info->size = page;
    info->state = RSV_VM_FREE;
    info->exact = 0;
    return 0;
}

int rsvi_os_write_stderr(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

extern char **environ;

int rsvi_os_getenv(const char *name, char *buf, size_t size)
{
    size_t len = strlen(name);
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, name, len) == 0 && (*e)[len] == '=') {
            const char *v = *e + len + 1;
            size_t i = 0;
            for (; v[i] && i + 1 < size; i++) buf[i] = v[i];
            if (size) buf[i] = '\0';
            return 1;
        }
    }
    return 0;
}
