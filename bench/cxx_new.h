/* bench/cxx_new.h — C++ operator new/delete made callable from C, for the
 * article's "new vs malloc" row.  Implemented in cxx_new.cc.
 * Must never: do anything but forward to the global operators. */
#ifndef RSVB_CXX_NEW_H
#define RSVB_CXX_NEW_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ::operator new(size, std::nothrow): NULL on failure. */
void *rsvb_cxx_new(size_t size);
/* ::operator delete(p). */
void rsvb_cxx_delete(void *p);

#ifdef __cplusplus
}
#endif

#endif /* RSVB_CXX_NEW_H */
