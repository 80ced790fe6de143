/* SPDX-License-Identifier: MIT */
/*
 * NUMACLAIM_HOST is read at the first xencall_open() of a process: a bad
 * spec makes xc_interface_open() fail cleanly with EINVAL (and the parser's
 * message on stderr), every time, instead of running on some default host.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <xenctrl.h>

static void test_bad_host_spec_fails_open(void **state)
{
    (void)state;
    assert_int_equal(setenv("NUMACLAIM_HOST", "4x64Q", 1), 0);
    errno = 0;
    assert_null(xc_interface_open(NULL, NULL, 0));
    assert_int_equal(errno, EINVAL);
    /* The process's host is decided once: still no host. */
    assert_int_equal(setenv("NUMACLAIM_HOST", "2x64M", 1), 0);
    assert_null(xc_interface_open(NULL, NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_host_spec_fails_open),
    };

    return cmocka_run_group_tests_name("xen-bad-host", tests, NULL, NULL);
}
