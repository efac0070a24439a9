/* test_dispatch: the broker's state machine through its seam (no sockets:
 * broker_feed, broker_advance, broker_set_send), with the invariants of
 * tests/fuzz/dispatch_driver.h checked after every step — scripted
 * sequences (the late reply of item 4, close and resubmit of item 5, worker
 * deaths and unreachable workers, the service bound) and the kept inputs of
 * the dispatch fuzzer in tests/regress/dispatch/. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdlib.h>

#include "fuzz/dispatch_driver.h"

#define OP(o, a) (uint8_t)(o), (uint8_t)(a)

/* arg: worker = arg % 4, job = (arg / 4) % 4 */
static void test_dispatch_late_reply_after_expiry(void **state)
{
    (void)state;
    static const uint8_t seq[] = {
        OP(DD_READY, 0), OP(DD_REQUEST, 0),         /* w0 holds job 0 */
        OP(DD_ADVANCE, 4),                          /* w0 expires: job 0 queued again */
        OP(DD_READY, 1),                            /* w1 takes job 0 */
        OP(DD_REQUEST, 4),                          /* job 1 queued */
        OP(DD_READY, 0),                            /* w0 again, on the same socket: job 1 */
        OP(DD_REPLY_STALE, 0),                      /* w0's late reply for job 0 */
        OP(DD_REPLY, 1), OP(DD_REPLY, 0), OP(DD_POLL, 0), OP(DD_POLL, 4),
    };
    assert_int_equal(dispatch_run(seq, sizeof seq), 0);
}

static void test_dispatch_close_and_resubmit(void **state)
{
    (void)state;
    static const uint8_t seq[] = {
        OP(DD_REQUEST, 0), OP(DD_CLOSE, 0),         /* pending: refused */
        OP(DD_READY, 0), OP(DD_REPLY, 0), OP(DD_CLOSE, 0),
        OP(DD_REQUEST, 0),                          /* after close: runs again */
        OP(DD_READY, 1), OP(DD_REPLY, 1), OP(DD_POLL, 0), OP(DD_CLOSE, 0),
    };
    assert_int_equal(dispatch_run(seq, sizeof seq), 0);
}

static void test_dispatch_deaths_and_unreachable_workers(void **state)
{
    (void)state;
    static const uint8_t seq[] = {
        OP(DD_READY, 0), OP(DD_READY, 1), OP(DD_UNREACHABLE, 2), OP(DD_READY, 2),
        OP(DD_REQUEST, 0), OP(DD_REQUEST, 4), OP(DD_REQUEST, 8), OP(DD_REQUEST, 12),
        OP(DD_DISCONNECT, 0), OP(DD_READY, 0), OP(DD_ADVANCE, 7), OP(DD_READY, 3),
        OP(DD_REPLY, 3), OP(DD_HEARTBEAT, 1), OP(DD_REPLY, 1 + 128), OP(DD_READY, 1),
        OP(DD_ADVANCE, 7), OP(DD_ADVANCE, 7), OP(DD_READY, 0), OP(DD_REPLY, 0),
        OP(DD_PLAIN, 1), OP(DD_PLAIN, 2), OP(DD_PLAIN, 4), OP(DD_PLAIN, 6), OP(DD_PLAIN, 8),
        OP(DD_GARBAGE, 1), 3, 0, 7, 1, OP(DD_ADVANCE, 6), OP(DD_PLAIN, 10),
    };
    assert_int_equal(dispatch_run(seq, sizeof seq), 0);
}

/* Every input kept under tests/regress/dispatch/ (none may be there yet). */
static void test_dispatch_regressions_replay(void **state)
{
    (void)state;
    DIR *dd = opendir("tests/regress/dispatch");
    for (struct dirent *e; dd && (e = readdir(dd));) {
        if (e->d_name[0] == '.')
            continue;
        char *path = xasprintf("tests/regress/dispatch/%s", e->d_name), err[256];
        size_t n;
        char *data = util_read_file(path, 1 << 20, &n, err, sizeof err);
        assert_non_null(data);
        if (dispatch_run((const uint8_t *)data, n) != 0)
            fail_msg("%s: an invariant broke", path);
        free(data);
        free(path);
    }
    if (dd)
        closedir(dd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch_late_reply_after_expiry),
        cmocka_unit_test(test_dispatch_close_and_resubmit),
        cmocka_unit_test(test_dispatch_deaths_and_unreachable_workers),
        cmocka_unit_test(test_dispatch_regressions_replay),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    dispatch_end();
    return rc;
}
