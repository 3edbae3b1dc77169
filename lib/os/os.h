/* lib/os/os.h — the narrow contract between Reservoir and the operating
 * system's virtual memory.  Implemented by posix.c and win32.c, the only
 * files (with the other lib/os/ files) allowed to include an OS header.
 *
 * Every function returns 0 or an errno-style code (EINVAL, ENOMEM, ...),
 * never prints, never allocates from a heap, and checks every OS call.
 * Preconditions are the caller's (vm.c checks the arguments first): sizes
 * are non-zero multiples of the page size and addresses are page-aligned.
 */
#ifndef RSV_OS_OS_H
#define RSV_OS_OS_H

#include <stddef.h>
#include "reservoir/vm.h"

/* What the backend can do; filled once at start-up and read by the code
 * above, which branches on these fields and never on the OS name. */
typedef struct rsvi_os_caps {
    size_t page_size;          /* 4096 on x86-64 */
    size_t granularity;        /* reservation alignment: 64 KiB on Windows */
    size_t large_page_size;    /* 2 MiB, or 0 when unsupported */
    int can_release_part;      /* part of a reservation can be released (POSIX munmap) */
    int recommit_zeroed;       /* decommitted then recommitted pages read zero */
    int overcommits;           /* commit does not charge memory up front */
    int large_commits_at_reserve; /* a large-page reservation arrives committed (Windows) */
} rsvi_os_caps_t;

/* The capabilities; valid at any time (initialises on first call). */
const rsvi_os_caps_t *rsvi_os_caps(void);

/* Reserves size bytes (multiple of granularity) aligned to align (power of
 * two >= granularity): inaccessible, uncommitted.  RSV_VM_LARGE_PAGES in
 * flags asks for large pages; *granted says what was obtained: the flags
 * asked for, RSV_VM_LARGE_PAGES cleared on fallback, and RSVI_VM_HARD_LARGE
 * added when the reservation is made of large pages (MAP_HUGETLB,
 * MEM_LARGE_PAGES), so every later range in it must be a multiple of
 * large_page_size; without it RSV_VM_LARGE_PAGES means a hint the kernel
 * honours (transparent huge pages). */
#define RSVI_VM_HARD_LARGE (1u << 31)
int rsvi_os_reserve(size_t size, size_t align, unsigned flags, void **out, unsigned *granted);
/* Makes [p, p+n) committed with protection prot (RSV_PROT_*). */
int rsvi_os_commit(void *p, size_t n, unsigned prot);
/* Returns [p, p+n) to reserved; later commits read zero. */
int rsvi_os_decommit(void *p, size_t n);
/* Contents of [p, p+n) may be dropped; pages stay accessible. */
int rsvi_os_purge(void *p, size_t n);
/* Sets protection of committed [p, p+n). */
int rsvi_os_protect(void *p, size_t n, unsigned prot);
/* Releases a whole reservation [base, base+size). */
int rsvi_os_release(void *base, size_t size);
/* Description of an address the library does not track: exact from
 * VirtualQuery on Windows (exact = 1), best effort from /proc/self/maps on
 * Linux (exact = 0).  Never allocates. */
int rsvi_os_query(const void *p, rsv_vm_info_t *info);

/* Writes n bytes to standard error with no allocation (write(2) /
 * WriteFile).  Returns 0 or an error code. */
int rsvi_os_write_stderr(const char *s, size_t n);

/* getenv without allocating: copies the value of `name` into buf (NUL
 * terminated, truncated to size) and returns 1, or returns 0 when unset. */
int rsvi_os_getenv(const char *name, char *buf, size_t size);

#endif /* RSV_OS_OS_H */
