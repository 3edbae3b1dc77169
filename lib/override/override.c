/* lib/override/override.c — the malloc family under the C library's own
 * names, for libreservoir-malloc.so (LD_PRELOAD) and libreservoir-malloc.a
 * (link-time replacement).  Built only when meson option
 * rsv_malloc_override is true on a non-Windows host.
 *
 * Owns: the exported libc names (malloc, free, calloc, realloc,
 * reallocarray, posix_memalign, aligned_alloc, memalign, valloc, pvalloc,
 * malloc_usable_size, malloc_trim, mallinfo, mallinfo2, mallopt,
 * malloc_stats, malloc_info, cfree and glibc's __libc_* aliases).  Each is
 * a thin forward to the rsv_malloc family (reservoir/malloc.h), which owns
 * the semantics (errno, EINVAL, overflow, realloc(p, 0)).
 *
 * Must never: keep state of its own on the hot path, call anything that
 * allocates from the C library (it would recurse into itself), or trust a
 * pointer it is given — the heap checks ownership (rsv_heap_of) before
 * touching a block, so a pointer Reservoir did not allocate is reported
 * through the error handler and otherwise ignored.
 *
 * <malloc.h> and <stdio.h> are included only to check these definitions
 * against the C library's own prototypes (and for malloc_info's FILE *);
 * this file is the C library's face, so that is the one exception to "no
 * libc-specific header above lib/os/".
 *
 * C++: libstdc++'s operator new/delete (all forms, aligned included) call
 * malloc/aligned_alloc/free by their dynamic symbol names, so they reach
 * Reservoir with no operator defined here.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reservoir/malloc.h"
#include "override.h"

/* ---- sanitizer builds: blocks the ASan runtime allocated ----------------
 * When the library itself is built with -fsanitize=address and preloaded in
 * front of the ASan runtime (see docs/malloc.md), the runtime's own
 * interceptors (strdup, getline, ...) still allocate from ASan's allocator.
 * Those blocks come back through our free/realloc; they are handed back to
 * the runtime instead of being reported as foreign.  Compiled out otherwise. */
#if defined(__SANITIZE_ADDRESS__)
#  define OVR_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define OVR_ASAN 1
#  endif
#endif
#ifndef OVR_ASAN
#  define OVR_ASAN 0
#endif

#if OVR_ASAN
#include <stdatomic.h>
#include <sanitizer/allocator_interface.h>
/* The runtime's own free (LLVM's name); weak so that a runtime without it
 * simply never takes the hand-off path. */
extern void __interceptor_free(void *p) __attribute__((weak));

/* 1 when p is a block of the ASan runtime's allocator, not Reservoir's. */
static int ovr_asan_owns(const void *p)
{
    return p && rsv_heap_of(p) == NULL && __interceptor_free && __sanitizer_get_ownership(p);
}

/* Bootstrap.  Preloaded in front of the ASan runtime, our malloc is called
 * while the runtime initialises (its dlsym calls allocate) — before shadow
 * memory exists, when any instrumented code faults.  Until our constructor
 * has run (the runtime's ran first), blocks come from this static buffer,
 * by code compiled without instrumentation.  Its blocks are never reused;
 * free ignores them, realloc moves them into the heap. */
#define OVR_NOASAN __attribute__((no_sanitize("address")))
#define OVR_BOOT_SIZE (4u << 20)
static _Alignas(64) unsigned char ovr_boot[OVR_BOOT_SIZE];
static atomic_size_t ovr_boot_used;
static atomic_int ovr_started;

void rsvi_override_start(void)
{
    atomic_store(&ovr_started, 1);
}

/* 16-byte header holding the size; NULL when the buffer is spent. */
OVR_NOASAN static void *ovr_boot_alloc(size_t size)
{
    size_t need = (size + 31) & ~(size_t)15;
    if (size > OVR_BOOT_SIZE) return NULL;
    size_t at = atomic_fetch_add(&ovr_boot_used, need);
    if (at + need > OVR_BOOT_SIZE) return NULL;
    size_t *h = (size_t *)(void *)(ovr_boot + at);
    h[0] = size;
    return ovr_boot + at + 16;
}

OVR_NOASAN static int ovr_is_boot(const void *p)
{
    return (const unsigned char *)p >= ovr_boot && (const unsigned char *)p < ovr_boot + OVR_BOOT_SIZE;
}

OVR_NOASAN static size_t ovr_boot_size(const void *p)
{
    return ((const size_t *)p)[-2];
}
#define OVR_BOOTING() (!atomic_load_explicit(&ovr_started, memory_order_relaxed))
#else
#define OVR_NOASAN
void rsvi_override_start(void)
{
}
#endif

/* ---- the standard and POSIX functions ---------------------------------- */

/* RSV_OVERRIDE_ALIASED (the .so outside ASan builds, lib/meson.build): the
 * linker defines malloc and free as other names of rsv_malloc and rsv_free,
 * so a preloaded program runs exactly the static build's fast paths, with
 * no wrapper's jump in between.  Everywhere else they are the wrappers
 * below. */
#ifndef RSV_OVERRIDE_ALIASED
#define RSV_OVERRIDE_ALIASED 0
#endif
#if RSV_OVERRIDE_ALIASED && OVR_ASAN
#error "an ASan build needs the malloc/free wrappers (bootstrap buffer)"
#endif

#if !RSV_OVERRIDE_ALIASED
OVR_NOASAN RSV_API void *malloc(size_t size)
{
#if OVR_ASAN
    if (OVR_BOOTING()) return ovr_boot_alloc(size);
#endif
    return rsv_malloc(size);
}

/* free leaves errno alone (POSIX.1-2024; glibc's manual asks replacements
 * the same) without saving it: the heap's free makes no system call on its
 * fast path, and one on a slow path (returning a huge block, purging)
 * changes errno only when it fails, which the heap reports as an error.
 * Saving and restoring errno here cost about 4 ns per malloc/free pair
 * (median of 11 runs, 48 M pairs, LD_PRELOAD, this machine): 11%. */
OVR_NOASAN RSV_API void free(void *p)
{
#if OVR_ASAN
    if (!p || ovr_is_boot(p)) return;
    if (ovr_asan_owns(p)) {
        __interceptor_free(p);
        return;
    }
#endif
    rsv_free(p);
}
#endif /* !RSV_OVERRIDE_ALIASED */

OVR_NOASAN RSV_API void *calloc(size_t n, size_t size)
{
#if OVR_ASAN
    if (OVR_BOOTING()) return size && n > SIZE_MAX / size ? NULL : ovr_boot_alloc(n * size);
#endif
    return rsv_calloc(n, size);
}

OVR_NOASAN RSV_API void *realloc(void *p, size_t size)
{
#if OVR_ASAN
    int boot = ovr_is_boot(p);
    if (boot || OVR_BOOTING()) {
        /* Bootstrap blocks move into the heap once it may run. */
        void *q = OVR_BOOTING() ? ovr_boot_alloc(size) : rsv_malloc(size);
        if (q && p) {
            size_t old = boot ? ovr_boot_size(p) : rsv_malloc_usable_size(p);
            unsigned char *d = q;
            const unsigned char *s = p;
            for (size_t i = 0; i < old && i < size; i++) d[i] = s[i];
        }
        if (q && p && !boot) rsv_free(p);
        return q;
    }
    if (ovr_asan_owns(p)) {
        /* Move the block into Reservoir: copy what ASan says is there. */
        if (size == 0) {
            __interceptor_free(p);
            return NULL;
        }
        void *q = rsv_malloc(size);
        if (!q) return NULL;
        size_t old = __sanitizer_get_allocated_size(p);
        memcpy(q, p, old < size ? old : size);
        __interceptor_free(p);
        return q;
    }
#endif
    return rsv_realloc(p, size);
}

RSV_API void *reallocarray(void *p, size_t n, size_t size)
{
    return rsv_reallocarray(p, n, size);
}

RSV_API int posix_memalign(void **out, size_t align, size_t size)
{
    return rsv_posix_memalign(out, align, size);
}

RSV_API void *aligned_alloc(size_t align, size_t size)
{
    return rsv_aligned_alloc(align, size);
}

/* ---- glibc's obsolete and extension functions -------------------------- */

RSV_API void *memalign(size_t align, size_t size)
{
    return rsv_memalign(align, size);
}

RSV_API void *valloc(size_t size)
{
    return rsv_valloc(size);
}

RSV_API void *pvalloc(size_t size)
{
    return rsv_pvalloc(size);
}

/* 0 for NULL and for a pointer Reservoir does not own (glibc would read a
 * chunk header there; Reservoir never trusts one). */
OVR_NOASAN RSV_API size_t malloc_usable_size(void *p)
{
#if OVR_ASAN
    if (ovr_is_boot(p)) return ovr_boot_size(p);
    if (ovr_asan_owns(p)) return __sanitizer_get_allocated_size(p);
#endif
    return rsv_malloc_usable_size(p);
}

/* `pad` is ignored: the heap keeps what its retention policy says.  Returns
 * 1 when memory went back to the OS, 0 otherwise (glibc's convention). */
RSV_API int malloc_trim(size_t pad)
{
    (void)pad;
    rsv_heap_t *h = rsv_heap_default();
    return h && rsv_heap_trim(h) > 0;
}

/* mallinfo2 from Reservoir's own statistics (glibc's names, our meaning):
 *   arena     bytes committed by the default heap (its whole footprint)
 *   ordblks   live blocks          hblks  live blocks in their own region
 *   uordblks  bytes in live blocks fordblks committed but not in use
 *   usmblks   peak committed bytes the other fields are 0. */
static void ovr_info(size_t out[10])
{
    rsv_heap_stats_t st;
    memset(out, 0, 10 * sizeof out[0]);
    rsv_heap_t *h = rsv_heap_default();
    if (!h) return;
    rsv_heap_stats(h, &st);
    out[0] = st.committed;
    out[1] = st.blocks;
    out[3] = st.large_blocks;
    out[5] = st.peak_committed;
    out[7] = st.in_use;
    out[8] = st.committed > st.in_use ? st.committed - st.in_use : 0;
}

#ifdef RSV_HAVE_MALLINFO2
RSV_API struct mallinfo2 mallinfo2(void)
{
    size_t v[10];
    ovr_info(v);
    struct mallinfo2 m = {
        .arena = v[0], .ordblks = v[1], .smblks = v[2], .hblks = v[3], .hblkhd = v[4],
        .usmblks = v[5], .fsmblks = v[6], .uordblks = v[7], .fordblks = v[8], .keepcost = v[9],
    };
    return m;
}
#endif

/* The old int-sized mallinfo: the same values, clamped to INT_MAX. */
RSV_API struct mallinfo mallinfo(void)
{
    size_t v[10];
    int c[10];
    ovr_info(v);
    for (int i = 0; i < 10; i++) c[i] = v[i] > INT_MAX ? INT_MAX : (int)v[i];
    struct mallinfo m = {
        .arena = c[0], .ordblks = c[1], .smblks = c[2], .hblks = c[3], .hblkhd = c[4],
        .usmblks = c[5], .fsmblks = c[6], .uordblks = c[7], .fordblks = c[8], .keepcost = c[9],
    };
    return m;
}

/* Reservoir has no glibc tunables: every parameter is accepted and ignored
 * (returns 1, success), so programs that tune glibc keep running. */
RSV_API int mallopt(int param, int value)
{
    (void)param;
    (void)value;
    return 1;
}

/* glibc prints its arenas to stderr; we print the default heap's stats. */
RSV_API void malloc_stats(void)
{
    rsvi_override_print_stats("malloc_stats");
}

/* A small XML document in the spirit of glibc's, from our stats.  Returns 0,
 * or -1 with errno EINVAL when options is not 0 (glibc's rule). */
RSV_API int malloc_info(int options, FILE *fp)
{
    if (options != 0 || !fp) {
        errno = EINVAL;
        return -1;
    }
    size_t v[10];
    char buf[256];
    char *w = buf;
    ovr_info(v);
    static const char *const names[] = {"committed", "blocks", "", "large_blocks", "",
                                        "peak_committed", "", "in_use", "free_committed", ""};
    w += snprintf(w, sizeof buf, "<malloc version=\"reservoir-1\">\n");
    for (int i = 0; i < 10 && w < buf + sizeof buf; i++)
        if (names[i][0])
            w += snprintf(w, (size_t)(buf + sizeof buf - w), "<%s>%zu</%s>\n", names[i], v[i], names[i]);
    if (w >= buf + sizeof buf) w = buf + sizeof buf - 1;
    fwrite(buf, 1, (size_t)(w - buf), fp);
    fputs("</malloc>\n", fp);
    return 0;
}

/* Removed from glibc's headers in 2.26 but still exported for old binaries. */
RSV_API void cfree(void *p);
RSV_API void cfree(void *p)
{
    free(p);
}

/* ---- glibc's internal entry points -------------------------------------
 * A few programs and libraries call these directly; they must land in the
 * same allocator as the standard names or their blocks would be foreign. */
RSV_API void *__libc_malloc(size_t size);
RSV_API void __libc_free(void *p);
RSV_API void *__libc_calloc(size_t n, size_t size);
RSV_API void *__libc_realloc(void *p, size_t size);
RSV_API void *__libc_memalign(size_t align, size_t size);

RSV_API void *__libc_malloc(size_t size) { return malloc(size); }
RSV_API void __libc_free(void *p) { free(p); }
RSV_API void *__libc_calloc(size_t n, size_t size) { return calloc(n, size); }
RSV_API void *__libc_realloc(void *p, size_t size) { return realloc(p, size); }
RSV_API void *__libc_memalign(size_t align, size_t size) { return memalign(align, size); }
