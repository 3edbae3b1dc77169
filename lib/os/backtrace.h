/* lib/os/backtrace.h — stack walking and address naming for the debug
 * layer's reports.  Implemented by backtrace_posix.c (execinfo + dladdr)
 * and backtrace_win32.c (CaptureStackBackTrace + module names).
 *
 * Never allocates after rsvi_os_backtrace_init() has run: the unwinder may
 * allocate on its first use, so the debug layer primes it when it is set
 * up, never on a failure path.
 */
#ifndef RSV_OS_BACKTRACE_H
#define RSV_OS_BACKTRACE_H

#include <stddef.h>

/* Primes the unwinder (loads what it loads on first use).  Idempotent,
 * thread-safe; may allocate the first time. */
void rsvi_os_backtrace_init(void);

/* Stores up to max return addresses of the calling thread, innermost
 * first, into frames; returns how many (0 when unsupported). */
unsigned rsvi_os_backtrace(void **frames, unsigned max);

/* Writes "module+0xoffset" for addr into buf (NUL terminated, truncated to
 * size) and returns its length, or returns 0 when addr is in no known
 * module.  Does not allocate. */
size_t rsvi_os_symbolize(const void *addr, char *buf, size_t size);

/* 1 when addr lies in the C/C++ runtime (libc, the dynamic loader,
 * libstdc++, libgcc), whose allocations live until exit by design. */
int rsvi_os_in_runtime(const void *addr);

#endif /* RSV_OS_BACKTRACE_H */
