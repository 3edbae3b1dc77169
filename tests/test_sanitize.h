/* tests/test_sanitize.h — RSV_TEST_SLOW is 1 when the test is built with
 * AddressSanitizer or ThreadSanitizer (gcc spells it __SANITIZE_*__, clang
 * __has_feature), so seeded stress tests can shrink their step counts. */
#ifndef RSV_TESTS_TEST_SANITIZE_H
#define RSV_TESTS_TEST_SANITIZE_H

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define RSV_TEST_SLOW 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#    define RSV_TEST_SLOW 1
#  endif
#endif
#ifndef RSV_TEST_SLOW
#  define RSV_TEST_SLOW 0
#endif

#endif
