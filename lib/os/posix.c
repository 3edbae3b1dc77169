/* lib/os/posix.c — the POSIX (Linux first) backend of lib/os/os.h.
 *
 * Reserve = mmap(PROT_NONE, MAP_NORESERVE) trimmed to the alignment (large
 * pages: MAP_HUGETLB, else MADV_HUGEPAGE); commit = mprotect(RW);
 * decommit = MADV_DONTNEED + mprotect(PROT_NONE) (never MADV_FREE: a
 * recommitted page must read zero); purge = MADV_FREE, else MADV_DONTNEED.  Query outside the library's own
 * reservations = a scan of /proc/self/maps through a stack buffer.
 * Must never allocate, print through stdio or leave an OS result unchecked.
 */
#include "os/os.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static rsvi_os_caps_t posix_caps;
static pthread_once_t posix_caps_once = PTHREAD_ONCE_INIT;

static void posix_caps_init(void)
{
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
    posix_caps = c;
}

const rsvi_os_caps_t *rsvi_os_caps(void)
{
    /* pthread_once never fails with a valid once control. */
    (void)pthread_once(&posix_caps_once, posix_caps_init);
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

/* Maps size + align - unit bytes and trims both ends so that `size` bytes
 * aligned to `align` remain (munmap can release part of a mapping). */
static int posix_map_aligned(size_t size, size_t align, size_t unit, int mflags, void **out)
{
    size_t total = size + align - unit;
    if (total < size) return ENOMEM;
    void *m = mmap(NULL, total, PROT_NONE, mflags, -1, 0);
    if (m == MAP_FAILED) return posix_errno(ENOMEM);
    uintptr_t start = (uintptr_t)m;
    uintptr_t aligned = (start + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = aligned - start;
    size_t tail = total - head - size;
    if (head && munmap(m, head) != 0) {
        int e = posix_errno(EINVAL);
        (void)munmap(m, total);
        return e;
    }
    if (tail && munmap((char *)aligned + size, tail) != 0) {
        int e = posix_errno(EINVAL);
        (void)munmap((void *)aligned, size + tail);
        return e;
    }
    *out = (void *)aligned;
    return 0;
}

/* 1 unless transparent huge pages are switched off ("[never]"); read
 * without allocating. */
static int posix_thp_enabled(void)
{
    char buf[128];
    int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    (void)close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    return strstr(buf, "[never]") == NULL;
}

int rsvi_os_reserve(size_t size, size_t align, unsigned flags, void **out, unsigned *granted)
{
    const rsvi_os_caps_t *caps = rsvi_os_caps();
    size_t page = caps->page_size, lp = caps->large_page_size;
    unsigned got = flags & ~(unsigned)RSV_VM_LARGE_PAGES;
    const int base_flags = MAP_PRIVATE | MAP_ANONYMOUS;
    if (align < page) align = page;

    if ((flags & RSV_VM_LARGE_PAGES) && lp && size >= lp) {
#ifdef MAP_HUGETLB
        /* Hard large pages: no MAP_NORESERVE, so that an empty hugetlb pool
         * fails here instead of raising SIGBUS at first touch. */
        if (size % lp == 0 && posix_map_aligned(size, align > lp ? align : lp, lp,
                                                base_flags | MAP_HUGETLB, out) == 0) {
            if (granted) *granted = got | RSV_VM_LARGE_PAGES | RSVI_VM_HARD_LARGE;
            return 0;
        }
#endif
        if (align < lp) align = lp; /* lets the kernel use whole huge pages */
    }

    void *m = NULL;
    int e = posix_map_aligned(size, align, page, base_flags | MAP_NORESERVE, &m);
    if (e) return e;
#ifdef MADV_HUGEPAGE
    if ((flags & RSV_VM_LARGE_PAGES) && lp && size >= lp && posix_thp_enabled() &&
        madvise(m, size, MADV_HUGEPAGE) == 0)
        got |= RSV_VM_LARGE_PAGES;
#endif
    *out = m;
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

/* One line of /proc/self/maps, as far as the query needs it. */
struct maps_line {
    uintptr_t start, end;
    char perms[4];
};

/* Streams /proc/self/maps through a stack buffer, calling visit for each
 * line until it returns non-zero.  Returns 0, or an error code when the
 * file cannot be read.  Never allocates. */
static int maps_scan(int (*visit)(const struct maps_line *, void *), void *ctx)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return posix_errno(ENOENT);
    char buf[4096];
    struct maps_line line = {0, 0, {0}};
    int field = 0;   /* 0 start, 1 end, 2 perms, 3 rest of line */
    unsigned pi = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            (void)close(fd);
            return e;
        }
        if (n == 0) break;
        for (ssize_t i = 0; i < n; i++) {
            char c = buf[i];
            if (c == '\n') {
                if (field >= 2 && visit(&line, ctx)) {
                    (void)close(fd);
                    return 0;
                }
                memset(&line, 0, sizeof line);
                field = 0;
                pi = 0;
                continue;
            }
            if (field <= 1) {
                unsigned d;
                if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
                else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
                else { field++; continue; } /* '-' or ' ' ends the number */
                if (field == 0) line.start = line.start << 4 | d;
                else line.end = line.end << 4 | d;
            } else if (field == 2) {
                if (c == ' ') field = 3;
                else if (pi < sizeof line.perms) line.perms[pi++] = c;
            }
        }
    }
    (void)close(fd);
    return 0;
}

struct maps_query {
    uintptr_t addr, prev_end;
    rsv_vm_info_t *info;
    int found;
};

static int maps_visit(const struct maps_line *l, void *ctx)
{
    struct maps_query *q = ctx;
    if (q->addr < l->start) { /* in the hole before this mapping */
        q->info->state = RSV_VM_FREE;
        q->info->base = (void *)q->prev_end;
        q->info->size = l->start - q->prev_end;
        return q->found = 1;
    }
    if (q->addr < l->end) {
        unsigned prot = 0;
        if (l->perms[0] == 'r') prot |= RSV_PROT_READ;
        if (l->perms[1] == 'w') prot |= RSV_PROT_WRITE;
        if (l->perms[2] == 'x') prot |= RSV_PROT_EXEC;
        /* An inaccessible mapping is taken for a reservation. */
        q->info->state = prot ? RSV_VM_COMMITTED : RSV_VM_RESERVED;
        q->info->prot = prot;
        q->info->base = (void *)l->start;
        q->info->size = l->end - l->start;
        q->info->alloc_base = (void *)l->start;
        q->info->alloc_size = l->end - l->start;
        q->info->page_size = rsvi_os_caps()->page_size;
        return q->found = 1;
    }
    q->prev_end = l->end;
    return 0;
}

int rsvi_os_query(const void *p, rsv_vm_info_t *info)
{
    /* Best effort: the vm layer answers exactly for its own reservations. */
    memset(info, 0, sizeof *info);
    size_t page = rsvi_os_caps()->page_size;
    struct maps_query q = {(uintptr_t)p & ~(uintptr_t)(page - 1), 0, info, 0};
    info->exact = 0;
    if (maps_scan(maps_visit, &q) == 0 && !q.found) {
        /* Past the last mapping: free up to the top of the address space. */
        info->state = RSV_VM_FREE;
        info->base = (void *)q.prev_end;
        info->size = (UINTPTR_MAX & ~(uintptr_t)(page - 1)) - q.prev_end;
        q.found = 1;
    }
    if (!q.found) { /* no /proc: say nothing more than "not ours" */
        info->state = RSV_VM_FREE;
        info->base = (void *)q.addr;
        info->size = page;
    }
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
