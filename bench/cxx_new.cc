// bench/cxx_new.cc — operator new/delete for C callers (see cxx_new.h).
// Must never: hold benchmark logic.
#include "cxx_new.h"

#include <new>

extern "C" void *rsvb_cxx_new(size_t size) { return ::operator new(size, std::nothrow); }
extern "C" void rsvb_cxx_delete(void *p) { ::operator delete(p); }
