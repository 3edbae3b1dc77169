/* reservoir/debug.h — the debug layer's options and reports: how an arena,
 * pool or heap is told to catch the memory errors of the seed article, and
 * what it says when it catches one.
 *
 * Owns: rsv_debug_opts_t (embedded by pointer in each allocator's options),
 * the OOM policy, the report handler and the report format.  Includes no OS
 * header and never allocates.
 *
 * The article's errors and the feature that catches each:
 *
 *   failed allocation used    oom policy: return NULL / abort / call a handler
 *   uninitialised read        RSV_DEBUG_FILL: new blocks read 0xCD (zeroing
 *                             variants such as calloc still read 0)
 *   overrun / underrun        RSV_DEBUG_CANARY: 0xFD bytes before and after each
 *                             block, checked on free, realloc, validate, reset
 *                             and destroy; RSV_DEBUG_GUARD: each block against
 *                             an inaccessible page, so the overrunning
 *                             instruction faults (RSV_DEBUG_GUARD_UNDER: the
 *                             page is before the block, for underruns)
 *   leak                      RSV_DEBUG_LEAKS: live blocks reported at destroy
 *                             (and at exit for the default heap), grouped by
 *                             allocation site, largest first
 *   use after free,           RSV_DEBUG_FILL / RSV_DEBUG_QUARANTINE: freed
 *   double / wild free        blocks read 0xDD and are held back from reuse;
 *                             the fill is checked when they leave quarantine;
 *                             double, foreign and interior frees are reported
 *                             with the block and both sites
 *
 * Report format (one write, no allocation; every line starts "reservoir: "):
 *
 *   reservoir: <kind>: <allocator> "<name>": block 0x... size N: <detail>
 *   reservoir:   allocated at 0x... (module+0x...)
 *   reservoir:   freed at 0x... (module+0x...)
 *
 * where <kind> is one of the rsv_debug_kind_name() strings below
 * (out-of-memory, overrun, underrun, use-after-free, double-free,
 * invalid-free, interior-free, leak).
 */
#ifndef RESERVOIR_DEBUG_H
#define RESERVOIR_DEBUG_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Feature bits of rsv_debug_opts_t.flags.  Any subset. */
enum {
    RSV_DEBUG_FILL = 1u << 0,        /* new blocks 0xCD, freed blocks 0xDD */
    RSV_DEBUG_CANARY = 1u << 1,      /* 0xFD canaries around each block */
    RSV_DEBUG_GUARD = 1u << 2,       /* each block ends at an inaccessible page */
    RSV_DEBUG_QUARANTINE = 1u << 3,  /* freed blocks held (0xDD) before reuse */
    RSV_DEBUG_LEAKS = 1u << 4,       /* leak report at destroy / exit */
    RSV_DEBUG_GUARD_UNDER = 1u << 6, /* with GUARD: the page precedes the block */
    RSV_DEBUG_BACKTRACE = 1u << 7,   /* keep a backtrace per block, not just the caller */
    RSV_DEBUG_ABORT = 1u << 8,       /* abort() after reporting a corruption */
    /* With GUARD: align a block to the largest power of two (<= 16) that
     * divides its size instead of 16, so it ends exactly at the guard and a
     * one-byte overrun faults whatever the size.  Breaks programs that
     * assume malloc's 16-byte alignment (CPython does). */
    RSV_DEBUG_GUARD_EXACT = 1u << 9,
    RSV_DEBUG_ALL = RSV_DEBUG_FILL | RSV_DEBUG_CANARY | RSV_DEBUG_QUARANTINE | RSV_DEBUG_LEAKS
};

/* Byte patterns (those of the Microsoft debug CRT). */
enum {
    RSV_DEBUG_NEW_BYTE = 0xCD,   /* fresh block, never written */
    RSV_DEBUG_FREE_BYTE = 0xDD,  /* freed block */
    RSV_DEBUG_CANARY_BYTE = 0xFD /* no man's land around a block */
};

/* Most frames a backtrace keeps. */
#define RSV_DEBUG_MAX_FRAMES 32

/* What an allocation that fails does.  RSV_OOM_NULL is the default. */
typedef enum rsv_oom_policy {
    RSV_OOM_NULL = 0,   /* return NULL (with the allocator's error convention) */
    RSV_OOM_ABORT = 1,  /* print "reservoir: out-of-memory: ..." and abort() */
    RSV_OOM_CALL = 2    /* call oom_handler.fn, then return NULL */
} rsv_oom_policy_t;

/* Called on the failure path with the allocator kind ("heap", "arena",
 * "pool"), its name ("" when unnamed) and the size asked for.  It may
 * longjmp or exit; it must not allocate from the allocator that failed. */
typedef void (*rsv_oom_fn)(void *user, const char *allocator, const char *name, size_t size);
typedef struct rsv_oom_handler {
    rsv_oom_fn fn;
    void *user;
} rsv_oom_handler_t;

/* The errors a report names. */
typedef enum rsv_debug_kind {
    RSV_BUG_OUT_OF_MEMORY = 1,
    RSV_BUG_OVERRUN = 2,        /* canary after the block (or guard slack) overwritten */
    RSV_BUG_UNDERRUN = 3,       /* canary before the block overwritten */
    RSV_BUG_USE_AFTER_FREE = 4, /* a freed block's 0xDD fill changed */
    RSV_BUG_DOUBLE_FREE = 5,    /* the block was already freed */
    RSV_BUG_INVALID_FREE = 6,   /* the pointer is no block of this allocator */
    RSV_BUG_INTERIOR_FREE = 7,  /* the pointer is inside a live block */
    RSV_BUG_LEAK = 8            /* blocks still live at destroy / exit */
} rsv_debug_kind_t;

/* One report, as the handler receives it.  Pointers are valid only during
 * the call.  Fields that do not apply are 0 / NULL. */
typedef struct rsv_debug_report {
    rsv_debug_kind_t kind;
    const char *allocator;      /* "heap", "arena", "pool" */
    const char *name;           /* the allocator's name, "" when unnamed */
    const void *block;          /* the block concerned */
    size_t size;                /* its size as requested */
    const void *addr;           /* the pointer passed, or the first bad byte */
    ptrdiff_t offset;           /* addr - block */
    const void *alloc_site;     /* caller of the allocating function */
    const void *free_site;      /* caller of the (first) free */
    const void *site;           /* caller of the operation that found it */
    size_t leak_blocks;         /* RSV_BUG_LEAK: live blocks */
    size_t leak_bytes;          /* RSV_BUG_LEAK: their bytes */
    size_t leak_sites;          /* RSV_BUG_LEAK: distinct allocation sites */
    const char *text;           /* the formatted report, lines ending '\n' */
    size_t text_len;
} rsv_debug_report_t;

/* Receives every report.  Called with the reporting allocator's locks
 * held and on paths that must not allocate: a handler must not call into
 * the allocator that reports (copy what it needs; r->text is complete). */
typedef void (*rsv_debug_report_fn)(void *user, const rsv_debug_report_t *r);
typedef struct rsv_debug_report_handler {
    rsv_debug_report_fn fn;     /* NULL: rsv_debug_report_to_stderr */
    void *user;
} rsv_debug_report_handler_t;

/* Zero in any field means its default; a NULL options pointer in an
 * allocator's options means "debug off". */
typedef struct rsv_debug_opts {
    unsigned flags;             /* RSV_DEBUG_* */
    size_t quarantine_bytes;    /* bytes held in quarantine; default 16 MiB */
    size_t quarantine_blocks;   /* blocks held in quarantine; default 4096 */
    unsigned backtrace_depth;   /* frames kept with RSV_DEBUG_BACKTRACE; default 16,
                                   at most RSV_DEBUG_MAX_FRAMES */
    rsv_oom_policy_t oom;       /* default RSV_OOM_NULL */
    rsv_oom_handler_t oom_handler;       /* for RSV_OOM_CALL */
    rsv_debug_report_handler_t report;   /* default: stderr */
} rsv_debug_opts_t;

/* 1 when the debug layer is compiled in (meson rsv_checks >= on); when it
 * is 0 the debug options of the allocators are ignored. */
RSV_API int rsv_debug_available(void);

/* "overrun", "double-free", ... : the word a report's first line carries
 * after "reservoir: ".  "unknown" for an out-of-range value. */
RSV_API const char *rsv_debug_kind_name(rsv_debug_kind_t kind);

/* The default report handler: writes r->text to stderr in one write. */
RSV_API void rsv_debug_report_to_stderr(void *user, const rsv_debug_report_t *r);

#ifdef __cplusplus
}
#endif

#endif /* RESERVOIR_DEBUG_H */
