/* tests/article/article_heap.c — the seed article's HeapCreate example as a
 * call sequence of our own: HeapCreate, GetProcessHeap, GetProcessHeaps,
 * HeapAlloc(HEAP_ZERO_MEMORY), HeapReAlloc in place, HeapSize, HeapFree and
 * HeapDestroy of the process heap (the article's slip, which must fail).
 *
 * Built twice: on Windows against kernel32, elsewhere against the Reservoir
 * façade through RSV_WIN32_NAMES.  Both print the same lines; compare.py
 * masks addresses and the heap count (Wine's processes own more heaps).
 */
#include "article.h"

int main(void)
{
    HANDLE heap = HeapCreate(HEAP_CREATE_ENABLE_EXECUTE, 0, 0);
    if (heap == NULL) return stop("HeapCreate()");
    printf("HeapCreate : %#llx\n", addr(heap));

    HANDLE process = GetProcessHeap();
    if (process == NULL) return stop("GetProcessHeap()");
    printf("GetProcessHeap : %#llx\n", addr(process));

    static HANDLE heaps[1024];
    DWORD count = GetProcessHeaps(1024, heaps);
    printf("Heap number : %lu\n", (unsigned long)count);
    int listed = 0;
    for (DWORD i = 0; i < count && i < 1024; i++) listed |= heaps[i] == heap;
    printf("process heap first : %s, new heap listed : %s\n", heaps[0] == process ? "yes" : "no",
           listed ? "yes" : "no");

    char *text = HeapAlloc(process, HEAP_ZERO_MEMORY, 1000);
    if (text == NULL) return stop("HeapAlloc()");
    size_t nonzero = 0;
    for (size_t i = 0; i < 1000; i++) nonzero += text[i] != 0;
    printf("HeapAlloc(HEAP_ZERO_MEMORY, 1000) : %#llx, %lu non-zero bytes\n", addr(text),
           (unsigned long)nonzero);

    void *same = HeapReAlloc(process, HEAP_ZERO_MEMORY | HEAP_REALLOC_IN_PLACE_ONLY, text, 24);
    printf("HeapReAlloc in place to 24 : %s\n", same == text ? "same block" : "failed");
    strcpy(text, "HEllo");
    SIZE_T size = HeapSize(process, HEAP_NO_SERIALIZE, text);
    printf("HeapSize : %lu\n", (unsigned long)size);
    printf("%s\n", text);

    BOOL freed = HeapFree(process, HEAP_NO_SERIALIZE, text);
    printf("HeapFree : %s\n", freed ? "TRUE" : "FALSE");

    SetLastError(0);
    BOOL destroyed = HeapDestroy(process);
    printf("HeapDestroy(GetProcessHeap()) : %s, last error %lu\n", destroyed ? "TRUE" : "FALSE",
           (unsigned long)GetLastError());
    printf("Success ... \n");
    return 0;
}
