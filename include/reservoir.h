/* reservoir.h — includes every Reservoir header.  Each layer's header also
 * compiles on its own; include just the one you need to keep builds lean. */
#ifndef RESERVOIR_H
#define RESERVOIR_H

#include "reservoir/base.h"
#include "reservoir/vm.h"
#include "reservoir/region.h"
#include "reservoir/arena.h"
#include "reservoir/pool.h"
#include "reservoir/heap.h"
#include "reservoir/malloc.h"
#include "reservoir/debug.h"
#include "reservoir/win32.h" /* Win32 types; <windows.h> on Windows */

#endif /* RESERVOIR_H */
