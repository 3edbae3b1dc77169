/* reservoir/malloc.h — the malloc family on the default heap, with glibc's
 * semantics (errno ENOMEM on failure, posix_memalign's EINVAL, calloc
 * overflow -> NULL, realloc(p, 0) frees and returns NULL as glibc does).
 * The override build exports the same functions under the libc names.
 */
#ifndef RESERVOIR_MALLOC_H
#define RESERVOIR_MALLOC_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

RSV_API void *rsv_malloc(size_t size) RSV_MALLOC_ATTR;
RSV_API void rsv_free(void *p);
RSV_API void *rsv_calloc(size_t n, size_t size) RSV_MALLOC_ATTR;
RSV_API void *rsv_realloc(void *p, size_t size);
RSV_API void *rsv_reallocarray(void *p, size_t n, size_t size);
RSV_API int rsv_posix_memalign(void **out, size_t align, size_t size);
RSV_API void *rsv_aligned_alloc(size_t align, size_t size) RSV_MALLOC_ATTR;
RSV_API void *rsv_memalign(size_t align, size_t size) RSV_MALLOC_ATTR;
RSV_API void *rsv_valloc(size_t size) RSV_MALLOC_ATTR;
RSV_API void *rsv_pvalloc(size_t size) RSV_MALLOC_ATTR;
RSV_API size_t rsv_malloc_usable_size(const void *p);

#ifdef __cplusplus
}
#endif

#endif /* RESERVOIR_MALLOC_H */
