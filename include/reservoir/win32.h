/* reservoir/win32.h — the Win32 memory façade: Heap*, Global* and Local* and
 * Virtual* with kernel32's exact signatures, prefixed Rsv, on the Reservoir
 * heap and vm layers.  Behaviour follows ../shared/win32-memory-spec.md; the
 * deviations are listed in docs/win32.md.
 *
 * Owns: the Rsv* declarations; on non-Windows also the Win32 types and the
 * constants (with their real values) that these functions take and return.
 * On Windows it includes <windows.h> for those types (this is the façade's
 * own header; nothing else in Reservoir's public headers does that).
 *
 * Defining RSV_WIN32_NAMES before including this header maps the plain Win32
 * names (HeapAlloc, GetProcessHeap, GlobalLock, GetLastError, VirtualAlloc,
 * ...) onto the façade, so Win32 code builds against Reservoir unchanged.
 *
 * Must never: declare anything without the Rsv/rsv_ prefix unless it is a
 * Win32 type or constant under its documented name and value.
 */
#ifndef RESERVOIR_WIN32_H
#define RESERVOIR_WIN32_H

#include "base.h"

#if defined(_WIN32)
#  ifndef WIN32_LEAN_AND_MEAN
#    define WIN32_LEAN_AND_MEAN
#  endif
#  include <windows.h>
#  define RSV_WINAPI WINAPI
#  ifndef HeapOptimizeResources
#    define HeapOptimizeResources ((HEAP_INFORMATION_CLASS)3)
#  endif
#  ifndef HEAP_OPTIMIZE_RESOURCES_CURRENT_VERSION
#    define HEAP_OPTIMIZE_RESOURCES_CURRENT_VERSION 1
#  endif
#else
#  define RSV_WINAPI

/* ---- Win32 types (LP64 model: DWORD is 32 bits) ------------------------- */
typedef int BOOL;
typedef unsigned char BYTE;
typedef unsigned short WORD;
typedef uint32_t DWORD;
typedef uint32_t ULONG;
typedef unsigned int UINT;
typedef size_t SIZE_T;
typedef uintptr_t ULONG_PTR;
typedef void VOID;
typedef void *PVOID;
typedef void *LPVOID;
typedef const void *LPCVOID;
typedef void *HANDLE;
typedef HANDLE *PHANDLE;
typedef HANDLE HGLOBAL;
typedef HANDLE HLOCAL;
typedef DWORD *PDWORD;
typedef DWORD *LPDWORD;
typedef SIZE_T *PSIZE_T;

#ifndef TRUE
#  define TRUE 1
#endif
#ifndef FALSE
#  define FALSE 0
#endif

typedef struct _MEMORY_BASIC_INFORMATION {
    PVOID BaseAddress;
    PVOID AllocationBase;
    DWORD AllocationProtect;
    SIZE_T RegionSize;
    DWORD State;
    DWORD Protect;
    DWORD Type;
} MEMORY_BASIC_INFORMATION, *PMEMORY_BASIC_INFORMATION;

typedef struct _PROCESS_HEAP_ENTRY {
    PVOID lpData;
    DWORD cbData;
    BYTE cbOverhead;
    BYTE iRegionIndex;
    WORD wFlags;
    union {
        struct {
            HANDLE hMem;
            DWORD dwReserved[3];
        } Block;
        struct {
            DWORD dwCommittedSize;
            DWORD dwUnCommittedSize;
            LPVOID lpFirstBlock;
            LPVOID lpLastBlock;
        } Region;
    };
} PROCESS_HEAP_ENTRY, *LPPROCESS_HEAP_ENTRY, *PPROCESS_HEAP_ENTRY;

typedef struct _HEAP_SUMMARY {
    DWORD cb;
    SIZE_T cbAllocated;
    SIZE_T cbCommitted;
    SIZE_T cbReserved;
    SIZE_T cbMaxReserve;
} HEAP_SUMMARY, *PHEAP_SUMMARY, *LPHEAP_SUMMARY;

typedef enum _HEAP_INFORMATION_CLASS {
    HeapCompatibilityInformation = 0,
    HeapEnableTerminationOnCorruption = 1,
    HeapOptimizeResources = 3
} HEAP_INFORMATION_CLASS;

/* ---- heap flags (winnt.h) ----------------------------------------------- */
#define HEAP_NO_SERIALIZE 0x00000001
#define HEAP_GROWABLE 0x00000002
#define HEAP_GENERATE_EXCEPTIONS 0x00000004
#define HEAP_ZERO_MEMORY 0x00000008
#define HEAP_REALLOC_IN_PLACE_ONLY 0x00000010
#define HEAP_TAIL_CHECKING_ENABLED 0x00000020
#define HEAP_FREE_CHECKING_ENABLED 0x00000040
#define HEAP_DISABLE_COALESCE_ON_FREE 0x00000080
#define HEAP_CREATE_ALIGN_16 0x00010000
#define HEAP_CREATE_ENABLE_TRACING 0x00020000
#define HEAP_CREATE_ENABLE_EXECUTE 0x00040000
#define MEMORY_ALLOCATION_ALIGNMENT (2 * sizeof(void *))
#define HEAP_OPTIMIZE_RESOURCES_CURRENT_VERSION 1

/* ---- PROCESS_HEAP_ENTRY.wFlags ------------------------------------------ */
#define PROCESS_HEAP_REGION 0x0001
#define PROCESS_HEAP_UNCOMMITTED_RANGE 0x0002
#define PROCESS_HEAP_ENTRY_BUSY 0x0004
#define PROCESS_HEAP_SEG_ALLOC 0x0008
#define PROCESS_HEAP_ENTRY_MOVEABLE 0x0010
#define PROCESS_HEAP_ENTRY_DDESHARE 0x0020

/* ---- Global / Local flags ----------------------------------------------- */
#define GMEM_FIXED 0x0000
#define GMEM_MOVEABLE 0x0002
#define GMEM_NOCOMPACT 0x0010
#define GMEM_NODISCARD 0x0020
#define GMEM_ZEROINIT 0x0040
#define GMEM_MODIFY 0x0080
#define GMEM_DISCARDABLE 0x0100
#define GMEM_NOT_BANKED 0x1000
#define GMEM_LOWER GMEM_NOT_BANKED
#define GMEM_SHARE 0x2000
#define GMEM_DDESHARE 0x2000
#define GMEM_NOTIFY 0x4000
#define GMEM_VALID_FLAGS 0x7F72
#define GMEM_INVALID_HANDLE 0x8000
#define GMEM_DISCARDED 0x4000
#define GMEM_LOCKCOUNT 0x00FF
#define GHND (GMEM_MOVEABLE | GMEM_ZEROINIT)
#define GPTR (GMEM_FIXED | GMEM_ZEROINIT)

#define LMEM_FIXED 0x0000
#define LMEM_MOVEABLE 0x0002
#define LMEM_NOCOMPACT 0x0010
#define LMEM_NODISCARD 0x0020
#define LMEM_ZEROINIT 0x0040
#define LMEM_MODIFY 0x0080
#define LMEM_DISCARDABLE 0x0F00
#define LMEM_VALID_FLAGS 0x0F72
#define LMEM_INVALID_HANDLE 0x8000
#define LMEM_DISCARDED 0x4000
#define LMEM_LOCKCOUNT 0x00FF
#define LHND (LMEM_MOVEABLE | LMEM_ZEROINIT)
#define LPTR (LMEM_FIXED | LMEM_ZEROINIT)
#define NONZEROLHND LMEM_MOVEABLE
#define NONZEROLPTR LMEM_FIXED

/* ---- virtual memory (winnt.h) ------------------------------------------- */
#define MEM_COMMIT 0x00001000
#define MEM_RESERVE 0x00002000
#define MEM_DECOMMIT 0x00004000
#define MEM_RELEASE 0x00008000
#define MEM_FREE 0x00010000
#define MEM_PRIVATE 0x00020000
#define MEM_MAPPED 0x00040000
#define MEM_RESET 0x00080000
#define MEM_TOP_DOWN 0x00100000
#define MEM_WRITE_WATCH 0x00200000
#define MEM_PHYSICAL 0x00400000
#define MEM_RESET_UNDO 0x01000000
#define MEM_IMAGE 0x01000000
#define MEM_LARGE_PAGES 0x20000000
#define MEM_4MB_PAGES 0x80000000
#define MEM_COALESCE_PLACEHOLDERS 0x00000001
#define MEM_PRESERVE_PLACEHOLDER 0x00000002
#define MEM_RESERVE_PLACEHOLDER 0x00040000
#define MEM_REPLACE_PLACEHOLDER 0x00004000
#define PAGE_NOACCESS 0x01
#define PAGE_READONLY 0x02
#define PAGE_READWRITE 0x04
#define PAGE_WRITECOPY 0x08
#define PAGE_EXECUTE 0x10
#define PAGE_EXECUTE_READ 0x20
#define PAGE_EXECUTE_READWRITE 0x40
#define PAGE_EXECUTE_WRITECOPY 0x80
#define PAGE_GUARD 0x100
#define PAGE_NOCACHE 0x200
#define PAGE_WRITECOMBINE 0x400
#define PAGE_TARGETS_INVALID 0x40000000
#define PAGE_TARGETS_NO_UPDATE 0x40000000

/* ---- status codes (ntstatus.h) ------------------------------------------ */
#define STATUS_GUARD_PAGE_VIOLATION ((DWORD)0x80000001)
#define STATUS_ACCESS_VIOLATION ((DWORD)0xC0000005)
#define STATUS_NO_MEMORY ((DWORD)0xC0000017)
#define STATUS_HEAP_CORRUPTION ((DWORD)0xC0000374)

/* ---- error codes the façade sets (winerror.h) --------------------------- */
#define ERROR_SUCCESS 0
#define NO_ERROR 0
#define ERROR_ACCESS_DENIED 5
#define ERROR_INVALID_HANDLE 6
#define ERROR_NOT_ENOUGH_MEMORY 8
#define ERROR_OUTOFMEMORY 14
#define ERROR_BAD_LENGTH 24
#define ERROR_GEN_FAILURE 31
#define ERROR_INVALID_PARAMETER 87
#define ERROR_INSUFFICIENT_BUFFER 122
#define ERROR_DISCARDED 157
#define ERROR_NOT_LOCKED 158
#define ERROR_NO_MORE_ITEMS 259
#define ERROR_INVALID_ADDRESS 487
#define ERROR_NOACCESS 998
#define ERROR_PRIVILEGE_NOT_HELD 1314
#define ERROR_COMMITMENT_LIMIT 1455
#endif /* !_WIN32 */

#ifdef __cplusplus
extern "C" {
#endif

/* GlobalDiscard/LocalDiscard are macros in Win32 too (spec 1.3). */
#define RsvGlobalDiscard(h) RsvGlobalReAlloc((h), 0, GMEM_MOVEABLE)
#define RsvLocalDiscard(h) RsvLocalReAlloc((h), 0, LMEM_MOVEABLE)

/* ---- last error (thread-local; the real one on Windows) ----------------- */
RSV_API DWORD RSV_WINAPI RsvGetLastError(void);
RSV_API void RSV_WINAPI RsvSetLastError(DWORD dwErrCode);

/* ---- HEAP_GENERATE_EXCEPTIONS without structured exceptions -------------
 * On Windows the façade raises the real exception (RaiseException).  Where
 * the OS has no structured exceptions it calls this handler with the status
 * code (STATUS_NO_MEMORY, STATUS_ACCESS_VIOLATION).  The default handler
 * writes "reservoir: win32 exception STATUS_NO_MEMORY (0xC0000017)" to
 * stderr and aborts.  A handler that returns makes the call fail as if the
 * flag were absent (NULL + last error).  NULL restores the default.
 * Returns the previous handler; thread-safe. */
typedef void (*rsv_win32_exception_fn)(DWORD status);
RSV_API rsv_win32_exception_fn rsv_win32_set_exception_handler(rsv_win32_exception_fn fn);

/* ---- Heap* (heapapi.h) --------------------------------------------------- */
RSV_API HANDLE RSV_WINAPI RsvHeapCreate(DWORD flOptions, SIZE_T dwInitialSize, SIZE_T dwMaximumSize);
RSV_API BOOL RSV_WINAPI RsvHeapDestroy(HANDLE hHeap);
RSV_API LPVOID RSV_WINAPI RsvHeapAlloc(HANDLE hHeap, DWORD dwFlags, SIZE_T dwBytes);
RSV_API LPVOID RSV_WINAPI RsvHeapReAlloc(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem, SIZE_T dwBytes);
RSV_API BOOL RSV_WINAPI RsvHeapFree(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem);
RSV_API SIZE_T RSV_WINAPI RsvHeapSize(HANDLE hHeap, DWORD dwFlags, LPCVOID lpMem);
RSV_API BOOL RSV_WINAPI RsvHeapValidate(HANDLE hHeap, DWORD dwFlags, LPCVOID lpMem);
RSV_API BOOL RSV_WINAPI RsvHeapWalk(HANDLE hHeap, LPPROCESS_HEAP_ENTRY lpEntry);
RSV_API BOOL RSV_WINAPI RsvHeapLock(HANDLE hHeap);
RSV_API BOOL RSV_WINAPI RsvHeapUnlock(HANDLE hHeap);
RSV_API SIZE_T RSV_WINAPI RsvHeapCompact(HANDLE hHeap, DWORD dwFlags);
RSV_API BOOL RSV_WINAPI RsvHeapSummary(HANDLE hHeap, DWORD dwFlags, LPHEAP_SUMMARY lpSummary);
RSV_API BOOL RSV_WINAPI RsvHeapQueryInformation(HANDLE HeapHandle,
    HEAP_INFORMATION_CLASS HeapInformationClass, PVOID HeapInformation,
    SIZE_T HeapInformationLength, PSIZE_T ReturnLength);
RSV_API BOOL RSV_WINAPI RsvHeapSetInformation(HANDLE HeapHandle,
    HEAP_INFORMATION_CLASS HeapInformationClass, PVOID HeapInformation,
    SIZE_T HeapInformationLength);
RSV_API HANDLE RSV_WINAPI RsvGetProcessHeap(void);
RSV_API DWORD RSV_WINAPI RsvGetProcessHeaps(DWORD NumberOfHeaps, PHANDLE ProcessHeaps);

/* ---- Global* / Local* (winbase.h) --------------------------------------- */
RSV_API HGLOBAL RSV_WINAPI RsvGlobalAlloc(UINT uFlags, SIZE_T dwBytes);
RSV_API HGLOBAL RSV_WINAPI RsvGlobalReAlloc(HGLOBAL hMem, SIZE_T dwBytes, UINT uFlags);
RSV_API HGLOBAL RSV_WINAPI RsvGlobalFree(HGLOBAL hMem);
RSV_API LPVOID RSV_WINAPI RsvGlobalLock(HGLOBAL hMem);
RSV_API BOOL RSV_WINAPI RsvGlobalUnlock(HGLOBAL hMem);
RSV_API HGLOBAL RSV_WINAPI RsvGlobalHandle(LPCVOID pMem);
RSV_API SIZE_T RSV_WINAPI RsvGlobalSize(HGLOBAL hMem);
RSV_API UINT RSV_WINAPI RsvGlobalFlags(HGLOBAL hMem);

RSV_API HLOCAL RSV_WINAPI RsvLocalAlloc(UINT uFlags, SIZE_T uBytes);
RSV_API HLOCAL RSV_WINAPI RsvLocalReAlloc(HLOCAL hMem, SIZE_T uBytes, UINT uFlags);
RSV_API HLOCAL RSV_WINAPI RsvLocalFree(HLOCAL hMem);
RSV_API LPVOID RSV_WINAPI RsvLocalLock(HLOCAL hMem);
RSV_API BOOL RSV_WINAPI RsvLocalUnlock(HLOCAL hMem);
RSV_API HLOCAL RSV_WINAPI RsvLocalHandle(LPCVOID pMem);
RSV_API SIZE_T RSV_WINAPI RsvLocalSize(HLOCAL hMem);
RSV_API UINT RSV_WINAPI RsvLocalFlags(HLOCAL hMem);

/* ---- Virtual* (memoryapi.h) ---------------------------------------------- */
RSV_API LPVOID RSV_WINAPI RsvVirtualAlloc(LPVOID lpAddress, SIZE_T dwSize,
                                          DWORD flAllocationType, DWORD flProtect);
RSV_API BOOL RSV_WINAPI RsvVirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType);
RSV_API BOOL RSV_WINAPI RsvVirtualProtect(LPVOID lpAddress, SIZE_T dwSize,
                                          DWORD flNewProtect, PDWORD lpflOldProtect);
RSV_API SIZE_T RSV_WINAPI RsvVirtualQuery(LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer,
                                          SIZE_T dwLength);

#ifdef __cplusplus
}
#endif

/* ---- plain names --------------------------------------------------------- */
#ifdef RSV_WIN32_NAMES
#  define GetLastError RsvGetLastError
#  define SetLastError RsvSetLastError
#  define HeapCreate RsvHeapCreate
#  define HeapDestroy RsvHeapDestroy
#  define HeapAlloc RsvHeapAlloc
#  define HeapReAlloc RsvHeapReAlloc
#  define HeapFree RsvHeapFree
#  define HeapSize RsvHeapSize
#  define HeapValidate RsvHeapValidate
#  define HeapWalk RsvHeapWalk
#  define HeapLock RsvHeapLock
#  define HeapUnlock RsvHeapUnlock
#  define HeapCompact RsvHeapCompact
#  define HeapSummary RsvHeapSummary
#  define HeapQueryInformation RsvHeapQueryInformation
#  define HeapSetInformation RsvHeapSetInformation
#  define GetProcessHeap RsvGetProcessHeap
#  define GetProcessHeaps RsvGetProcessHeaps
#  define GlobalAlloc RsvGlobalAlloc
#  define GlobalReAlloc RsvGlobalReAlloc
#  define GlobalFree RsvGlobalFree
#  define GlobalLock RsvGlobalLock
#  define GlobalUnlock RsvGlobalUnlock
#  define GlobalHandle RsvGlobalHandle
#  define GlobalSize RsvGlobalSize
#  define GlobalFlags RsvGlobalFlags
#  undef GlobalDiscard
#  define GlobalDiscard RsvGlobalDiscard
#  define LocalAlloc RsvLocalAlloc
#  define LocalReAlloc RsvLocalReAlloc
#  define LocalFree RsvLocalFree
#  define LocalLock RsvLocalLock
#  define LocalUnlock RsvLocalUnlock
#  define LocalHandle RsvLocalHandle
#  define LocalSize RsvLocalSize
#  define LocalFlags RsvLocalFlags
#  undef LocalDiscard
#  define LocalDiscard RsvLocalDiscard
#  define VirtualAlloc RsvVirtualAlloc
#  define VirtualFree RsvVirtualFree
#  define VirtualProtect RsvVirtualProtect
#  define VirtualQuery RsvVirtualQuery
#endif

#endif /* RESERVOIR_WIN32_H */
