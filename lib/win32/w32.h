/* lib/win32/w32.h — private contract between the Win32 façade's files:
 * error.c (flag and error translation, last error, exceptions), heap.c
 * (Heap*), global.c (Global* and Local*) and virtual.c (Virtual*).  Nothing
 * outside lib/win32/ includes it; it includes no OS header.
 */
#ifndef RSV_WIN32_W32_H
#define RSV_WIN32_W32_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "reservoir/win32.h"

/* ---- error.c: error translation ----------------------------------------- */
/* Sets the thread's last error. */
void rsvi_w32_set_error(DWORD code);
/* Maps an errno-style code from the vm/heap layers onto a Win32 error. */
DWORD rsvi_w32_error_from_errno(int e);
/* A heap allocation failed: sets ERROR_NOT_ENOUGH_MEMORY and, when `flags`
 * (effective heap flags) include HEAP_GENERATE_EXCEPTIONS, raises
 * STATUS_NO_MEMORY (spec HA-6, HA-7, HR-7).  Returns when the exception was
 * handled (Windows) or the installed handler returned. */
void rsvi_w32_alloc_failed(DWORD flags);
/* Raises `status`: the real exception on Windows, else the installed
 * handler (default: message on stderr + abort). */
void rsvi_w32_raise(DWORD status);
/* Flag translation shared by Global*, Local* and Heap*. */
DWORD rsvi_w32_heap_call_flags(DWORD create_flags, DWORD call_flags);
/* 1 when `prot` is a PAGE_* value VirtualAlloc/VirtualProtect accept. */
int rsvi_w32_prot_valid(DWORD prot);
/* RSV_PROT_* bits the pages get for a valid PAGE_* value (GUARD: none). */
unsigned rsvi_w32_prot_to_rsv(DWORD prot);

/* ---- small recursive lock (HeapLock's critical section) ----------------- */
typedef struct rsvi_w32_lock {
    _Atomic uintptr_t owner;   /* rsvi_os_thread_id() of the holder, 0 = free */
    unsigned depth;            /* recursion depth; only the owner touches it */
} rsvi_w32_lock_t;
void rsvi_w32_lock(rsvi_w32_lock_t *l);
/* Returns 0, or -1 when the caller does not hold the lock. */
int rsvi_w32_unlock(rsvi_w32_lock_t *l);
/* A plain spinlock for short internal critical sections (no recursion). */
void rsvi_w32_spin_lock(_Atomic int *l);
void rsvi_w32_spin_unlock(_Atomic int *l);

/* ---- heap.c: blocks with a façade header --------------------------------
 *
 *   rsv_heap block:  [ pad (large blocks only) | size | tag | user bytes ... ]
 *                                               ^ hdr      ^ pointer returned
 *
 * `size` is the exact requested size (HeapSize, spec HA-2).  `tag` is the
 * owner's address with the state in its low bits: a heap (64 KiB aligned)
 * or a moveable handle entry (2P aligned) for GlobalAlloc's data blocks
 * (the back-pointer of spec GL-4/GL-62).  Freed blocks get tag 0. */
#define RSVI_W32_HDR (2 * sizeof(void *))
typedef struct rsvi_w32_hdr {
    size_t size;
    uintptr_t tag;
} rsvi_w32_hdr_t;
enum {
    RSVI_W32_LIVE = 1,      /* block is allocated */
    RSVI_W32_MOVEABLE = 2,  /* tag holds a moveable handle entry */
    RSVI_W32_LARGE = 4,     /* block starts 8P before the pointer */
    RSVI_W32_TAGBITS = 7
};

typedef struct rsvi_w32_heap rsvi_w32_heap_t;
/* The process heap (created on first use; NULL only if that failed). */
rsvi_w32_heap_t *rsvi_w32_process_heap(void);
/* Allocates n bytes from the process heap with HeapAlloc semantics
 * (flags: HEAP_ZERO_MEMORY); `owner` is a handle entry (RSVI_W32_MOVEABLE
 * tag) or 0 for a plain block.  NULL + last error on failure. */
void *rsvi_w32_palloc(DWORD flags, size_t n, uintptr_t owner);
/* Resizes a process-heap block keeping its tag; flags as HeapReAlloc
 * (HEAP_ZERO_MEMORY, HEAP_REALLOC_IN_PLACE_ONLY). */
void *rsvi_w32_prealloc(DWORD flags, void *p, size_t n);
/* Frees a block previously checked with rsvi_w32_pblock. */
void rsvi_w32_pfree(void *p);
/* The header of p when p is a live block of the process heap, else NULL;
 * *known is set to 1 when the address belongs to the heap at all (so a
 * freed block can be told from garbage).  Never faults. */
rsvi_w32_hdr_t *rsvi_w32_pblock(const void *p, int *known);
/* Re-tags a live process-heap block (fixed <-> moveable conversion). */
void rsvi_w32_retag(void *p, uintptr_t owner);

#endif /* RSV_WIN32_W32_H */
