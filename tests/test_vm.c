/* tests/test_vm.c — Criterion suite for the vm layer (reservoir/vm.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "reservoir/vm.h"

Test(vm, reserve_commit_release, .timeout = 10)
{
    void *p = NULL;
    cr_assert_eq(rsv_vm_reserve(1 << 20, 0, 0, &p, NULL), 0);
    cr_assert_not_null(p);
    cr_assert_eq(rsv_vm_commit(p, 4096), 0);
    cr_assert_eq(((unsigned char *)p)[100], 0);
    memset(p, 0xAB, 4096);
    cr_assert_eq(rsv_vm_release(p, 1 << 20), 0);
}
