/* lib/arena_san.h — how the arena and the pool tell memory tools which
 * bytes are live: AddressSanitizer's manual poisoning when the library is
 * compiled with ASan, Valgrind memcheck's mempool client requests when
 * <valgrind/memcheck.h> was found (RSV_HAVE_VALGRIND).  Without either,
 * every macro here compiles to nothing.
 *
 * Private to lib/arena.c, lib/scratch.c and lib/pool.c.  Must never change
 * what the allocators do, only what the tools are told.
 */
#ifndef RSV_ARENA_SAN_H
#define RSV_ARENA_SAN_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#  define RSVI_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define RSVI_ASAN 1
#  endif
#endif
#ifndef RSVI_ASAN
#  define RSVI_ASAN 0
#endif

#if RSVI_ASAN
#  include <sanitizer/asan_interface.h>
#  define SAN_POISON(p, n) __asan_poison_memory_region((p), (n))
#  define SAN_UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#  define SAN_POISON(p, n) ((void)(p), (void)(n))
#  define SAN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#if defined(RSV_HAVE_VALGRIND) && RSV_HAVE_VALGRIND
#  include <valgrind/memcheck.h>
#  define SAN_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#  define SAN_VG_CREATE(pool, zeroed) VALGRIND_CREATE_MEMPOOL((pool), 0, (zeroed))
#  define SAN_VG_DESTROY(pool) VALGRIND_DESTROY_MEMPOOL(pool)
#  define SAN_VG_ALLOC(pool, p, n) VALGRIND_MEMPOOL_ALLOC((pool), (p), (n))
#  define SAN_VG_FREE(pool, p) VALGRIND_MEMPOOL_FREE((pool), (p))
#  define SAN_VG_CHANGE(pool, p, n) VALGRIND_MEMPOOL_CHANGE((pool), (p), (p), (n))
#  define SAN_VG_TRIM(pool, p, n) VALGRIND_MEMPOOL_TRIM((pool), (p), (n))
#  define SAN_VG_NOACCESS(p, n) VALGRIND_MAKE_MEM_NOACCESS((p), (n))
#  define SAN_VG_DEFINED(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#  define SAN_VG_UNDEFINED(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#else
#  define SAN_VALGRIND() 0
#  define SAN_VG_CREATE(pool, zeroed) ((void)(pool))
#  define SAN_VG_DESTROY(pool) ((void)(pool))
#  define SAN_VG_ALLOC(pool, p, n) ((void)(pool), (void)(p), (void)(n))
#  define SAN_VG_FREE(pool, p) ((void)(pool), (void)(p))
#  define SAN_VG_CHANGE(pool, p, n) ((void)(pool), (void)(p), (void)(n))
#  define SAN_VG_TRIM(pool, p, n) ((void)(pool), (void)(p), (void)(n))
#  define SAN_VG_NOACCESS(p, n) ((void)(p), (void)(n))
#  define SAN_VG_DEFINED(p, n) ((void)(p), (void)(n))
#  define SAN_VG_UNDEFINED(p, n) ((void)(p), (void)(n))
#endif

/* 1 when some tool must see every allocation (so the inline fast paths
 * have to be bypassed). */
#define SAN_TRACKING() (RSVI_ASAN || SAN_VALGRIND())

#endif /* RSV_ARENA_SAN_H */
