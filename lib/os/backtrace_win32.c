/* lib/os/backtrace_win32.c — rsvi_os_backtrace* on Windows:
 * CaptureStackBackTrace for frames, GetModuleHandleEx/GetModuleFileName
 * for "module+0xoffset".  Never allocates, never prints.
 */
#include "os/backtrace.h"

#include <stdint.h>
#include <string.h>
#include <windows.h>

void rsvi_os_backtrace_init(void)
{
}

unsigned rsvi_os_backtrace(void **frames, unsigned max)
{
    if (max == 0) return 0;
    if (max > 62) max = 62; /* CaptureStackBackTrace: skip + count < 63 on old systems */
    return (unsigned)CaptureStackBackTrace(0, (DWORD)max, frames, NULL);
}

static void bt_hex(char *buf, size_t size, size_t *n, uintptr_t v)
{
    char tmp[2 * sizeof v];
    size_t k = 0;
    do { tmp[k++] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
    while (k && *n + 1 < size) buf[(*n)++] = tmp[--k];
}

size_t rsvi_os_symbolize(const void *addr, char *buf, size_t size)
{
    HMODULE mod = NULL;
    char path[MAX_PATH];
    if (size == 0) return 0;
    buf[0] = '\0';
    if (!GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS
                            | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                            (LPCSTR)addr, &mod) || mod == NULL)
        return 0;
    DWORD len = GetModuleFileNameA(mod, path, (DWORD)sizeof path);
    if (len == 0 || len >= sizeof path) return 0;
    path[len] = '\0';
    const char *base = path;
    for (const char *s = path; *s; s++)
        if (*s == '\\' || *s == '/') base = s + 1;
    size_t n = strlen(base);
    if (n > size - 1) n = size - 1;
    memcpy(buf, base, n);
    static const char plus[] = "+0x";
    for (size_t i = 0; i < sizeof plus - 1 && n + 1 < size; i++) buf[n++] = plus[i];
    bt_hex(buf, size, &n, (uintptr_t)addr - (uintptr_t)mod);
    buf[n] = '\0';
    return n;
}

int rsvi_os_in_runtime(const void *addr)
{
    (void)addr; /* the CRT's malloc is not replaced on Windows */
    return 0;
}
