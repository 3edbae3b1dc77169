/* reservoir/base.h — what every Reservoir header shares: the export macro,
 * the version, and the one pluggable error handler.
 *
 * Owns: RSV_API, RSV_INLINE, rsv_error_handler_t.  Includes no OS header.
 *
 * Error convention (DESIGN decision 6): the OS layer returns errno-style
 * codes (0 = success, ENOMEM, EINVAL, ...); the region layer turns a failure
 * into a result plus one message passed to the error handler; the public
 * faces translate that into their own convention.  The default handler does
 * nothing, so a failure is seen only as the return value (NULL / error code).
 */
#ifndef RESERVOIR_BASE_H
#define RESERVOIR_BASE_H

#include <stddef.h>
#include <stdint.h>

#define RSV_VERSION_MAJOR 0
#define RSV_VERSION_MINOR 1
#define RSV_VERSION_PATCH 0

/* RSV_API marks every exported function.  The library is compiled with
 * -fvisibility=hidden; RSV_BUILDING_DLL / RSV_USING_DLL select the Windows
 * DLL attributes (the static library needs neither). */
#if defined(_WIN32) && defined(RSV_BUILDING_DLL)
#  define RSV_API __declspec(dllexport)
#elif defined(_WIN32) && defined(RSV_USING_DLL)
#  define RSV_API __declspec(dllimport)
#elif defined(__GNUC__) && !defined(_WIN32)
#  define RSV_API __attribute__((visibility("default")))
#else
#  define RSV_API
#endif

#if defined(__GNUC__)
#  define RSV_INLINE static inline __attribute__((always_inline))
#  define RSV_LIKELY(x) __builtin_expect(!!(x), 1)
#  define RSV_UNLIKELY(x) __builtin_expect(!!(x), 0)
#  define RSV_MALLOC_ATTR __attribute__((malloc))
#else
#  define RSV_INLINE static inline
#  define RSV_LIKELY(x) (x)
#  define RSV_UNLIKELY(x) (x)
#  define RSV_MALLOC_ATTR
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Called once per failure with an errno-style code and a short static
 * message ("region: commit failed").  It runs on the failure path: it must
 * not assume it may allocate from the allocator that failed.  Called with
 * whatever locks the failing operation holds, so it must not call back into
 * the same allocator. */
typedef void (*rsv_error_fn)(void *user, int code, const char *message);

typedef struct rsv_error_handler {
    rsv_error_fn fn;   /* NULL: ignore errors (the default) */
    void *user;
} rsv_error_handler_t;

/* Installs `handler` process-wide and returns the previous one.  Thread-safe. */
RSV_API rsv_error_handler_t rsv_set_error_handler(rsv_error_handler_t handler);

/* A ready-made handler that writes "reservoir: error: <message> (code N)\n"
 * to stderr with a single write(2) and no allocation. */
RSV_API void rsv_error_to_stderr(void *user, int code, const char *message);

#ifdef __cplusplus
}
#endif

#endif /* RESERVOIR_BASE_H */
