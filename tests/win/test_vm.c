/* tests/win/test_vm.c — the vm layer's behaviors in the Windows build (TAP). */
#include <string.h>

#include "reservoir/vm.h"
#include "tap.h"

int main(void)
{
    void *p = NULL;
    CHECK(rsv_vm_reserve(1 << 20, 0, 0, &p, NULL) == 0, "reserve 1 MiB");
    CHECK(rsv_vm_commit(p, 4096) == 0, "commit one page");
    CHECK(((unsigned char *)p)[100] == 0, "fresh page reads zero");
    CHECK(rsv_vm_release(p, 1 << 20) == 0, "release");
    return tap_done();
}
