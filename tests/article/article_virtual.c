/* tests/article/article_virtual.c — the seed article's VirtualAlloc example
 * as a call sequence of our own: VirtualAlloc(MEM_COMMIT, 2 KiB),
 * VirtualQuery of the block, writing a string, VirtualFree(MEM_RELEASE),
 * plus a VirtualQuery after the release to show the page is free again.
 *
 * Built twice: on Windows against kernel32, elsewhere against the Reservoir
 * façade through RSV_WIN32_NAMES.  Both print the same lines; compare.py
 * masks the addresses.
 */
#include "article.h"

static const char *state(DWORD s)
{
    return s == MEM_COMMIT ? "MEM_COMMIT" : s == MEM_RESERVE ? "MEM_RESERVE" : s == MEM_FREE ? "MEM_FREE" : "?";
}

int main(void)
{
    printf("Success ... \n");
    DWORD size = 2 * 1024;
    char *mem = VirtualAlloc(NULL, size, MEM_COMMIT, PAGE_READWRITE);
    if (mem == NULL) return stop("VirtualAlloc()");

    MEMORY_BASIC_INFORMATION mbi;
    SIZE_T got = VirtualQuery(mem, &mbi, sizeof mbi);
    printf("VirtualQuery : %lu bytes\n", (unsigned long)got);
    printf("Virtual BaseAddress :%#llx\n", addr(mbi.BaseAddress));
    printf("AllocationBase :%#llx\n", addr(mbi.AllocationBase));
    printf("AllocationProtect :%lu\n", (unsigned long)mbi.AllocationProtect);
    printf("base == allocation base == block : %s\n",
           mbi.BaseAddress == mem && mbi.AllocationBase == mem ? "yes" : "no");
    printf("RegionSize :%#lx State :%s Protect :%lu Type :%#lx\n", (unsigned long)mbi.RegionSize,
           state(mbi.State), (unsigned long)mbi.Protect, (unsigned long)mbi.Type);

    memset(mem, 0, size);
    memcpy(mem, "Hello World !!!", sizeof "Hello World !!!");
    printf("%s | %u\n", mem, (unsigned)sizeof mem);

    BOOL freed = VirtualFree(mem, 0, MEM_RELEASE);
    printf("VirtualFree(MEM_RELEASE) : %s\n", freed ? "TRUE" : "FALSE");
    got = VirtualQuery(mem, &mbi, sizeof mbi);
    printf("after release : %s, Protect :%lu, AllocationBase :%#llx\n", state(mbi.State),
           (unsigned long)mbi.Protect, addr(mbi.AllocationBase));
    return 0;
}
