/* test_spool: the durable store's promises — UUIDs from submission ids, one
 * job per UUID, one pending→done transition, dead letters and retry, and
 * sequence numbers that only count committed messages and survive reopening. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/spool.h"

struct fixture {
    char dir[64];
    char path[96];
    struct spool *sp;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_spool.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/spool.db", f->dir);
    char err[256];
    f->sp = spool_open(f->path, err, sizeof err);
    if (!f->sp)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    spool_close(&f->sp);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void test_spool_same_uuid_is_one_job(void **state)
{
    struct fixture *f = *state;
    const char *u = "00000000000000000000000000000001";
    assert_int_equal(spool_put(f->sp, u, "s1", "report.check", "abc", 3, NULL, 0), 1);
    assert_int_equal(spool_put(f->sp, u, "s1", "report.check", "abc", 3, NULL, 0), 0);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    assert_int_equal(spool_count(f->sp, SPOOL_PENDING), 1);
    assert_int_equal(spool_get(f->sp, u, NULL, NULL), SPOOL_PENDING);
    assert_int_equal(spool_finish(f->sp, u, 2, "res", 3, 0, NULL, 0), 1);
    assert_int_equal(spool_finish(f->sp, u, 2, "res", 3, 0, NULL, 0), 0);
    void *reply = NULL;
    size_t len = 0;
    assert_int_equal(spool_get(f->sp, u, &reply, &len), SPOOL_DONE);
    assert_int_equal(len, 3);
    assert_memory_equal(reply, "res", 3);
    free(reply);
    assert_int_equal(spool_close_job(f->sp, u, NULL, 0), 0);
    assert_int_equal(spool_get(f->sp, u, NULL, NULL), SPOOL_CLOSED);
    /* closed: the same submission again is a new job under the same UUID (a
     * "200" for it must be answered: issue 9 item 5), the old reply gone */
    assert_int_equal(spool_put(f->sp, u, "s1", "report.check", "abd", 3, NULL, 0), 1);
    assert_int_equal(spool_get(f->sp, u, NULL, NULL), SPOOL_PENDING);
    assert_int_equal(spool_put(f->sp, u, "s1", "report.check", "abd", 3, NULL, 0), 0);
    assert_int_equal(spool_finish(f->sp, u, 1, "re2", 3, 0, NULL, 0), 1);
    assert_int_equal(spool_get(f->sp, u, &reply, &len), SPOOL_DONE);
    assert_memory_equal(reply, "re2", 3);
    free(reply);
    assert_int_equal(spool_get(f->sp, "ffffffffffffffffffffffffffffffff", NULL, NULL), -1);
}

static void test_spool_published_reply_is_stored_once(void **state)
{
    struct fixture *f = *state;
    const char *u = "00000000000000000000000000000003";
    assert_int_equal(spool_put(f->sp, u, "s3", "report.check", "sub", 3, NULL, 0), 1);
    uint64_t seq = spool_log(f->sp, "result.43.4303.430381", "RESULT", 6, NULL, 0);
    assert_true(seq > 0);
    assert_int_equal(spool_finish(f->sp, u, 2, "RESULT", 6, seq, NULL, 0), 1);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    void *reply = NULL;
    size_t len = 0;
    assert_int_equal(spool_get(f->sp, u, &reply, &len), SPOOL_DONE);
    assert_int_equal(len, 6);
    assert_memory_equal(reply, "RESULT", 6);
    free(reply);
}

static void count_dead(void *arg, const struct spool_dead *d)
{
    (*(int *)arg)++;
    assert_string_equal(d->reason, "worker expired on 2 attempts");
}

static void test_spool_dead_letter_and_retry(void **state)
{
    struct fixture *f = *state;
    const char *u = "00000000000000000000000000000002";
    assert_int_equal(spool_put(f->sp, u, "s2", "report.check", "poison", 6, NULL, 0), 1);
    assert_int_equal(spool_attempt(f->sp, u, NULL, 0), 1);
    assert_int_equal(spool_attempt(f->sp, u, NULL, 0), 2);
    assert_int_equal(spool_bury(f->sp, u, "worker expired on 2 attempts", NULL, 0), 0);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    int n = 0;
    assert_int_equal(spool_each_dead(f->sp, count_dead, &n), 0);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(spool_dead_get(f->sp, u, count_dead, &n), 1);
    assert_int_equal(spool_retry(f->sp, u, NULL, 0), 1);
    assert_int_equal(spool_retry(f->sp, u, NULL, 0), 0);
    assert_int_equal(spool_get(f->sp, u, NULL, NULL), SPOOL_PENDING);
}

static int collect(void *arg, uint64_t seq, const char *topic, const void *body, size_t len)
{
    (void)body;
    (void)len;
    char *out = arg;
    sprintf(out + strlen(out), "%llu:%s;", (unsigned long long)seq, topic);
    return 0;
}

static void test_spool_sequence_survives_reopen(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(spool_log(f->sp, "result.43.4303.430381", "r", 1, NULL, 0), 1);
    assert_int_equal(spool_log(f->sp, "alert.43.4303.430381", "a", 1, NULL, 0), 2);
    char out[256] = "";
    /* not committed yet: replay must not show it */
    assert_int_equal(spool_replay(f->sp, 1, UINT64_MAX, 100, collect, out), 0);
    assert_string_equal(out, "");
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    assert_int_equal(spool_last_seq(f->sp), 2);
    spool_close(&f->sp);
    f->sp = spool_open(f->path, NULL, 0);
    assert_non_null(f->sp);
    assert_int_equal(spool_last_seq(f->sp), 2);
    assert_int_equal(spool_log(f->sp, "deadletter", "{}", 2, NULL, 0), 3);
    spool_commit(f->sp, NULL, 0);
    assert_int_equal(spool_replay(f->sp, 2, UINT64_MAX, 100, collect, out), 0);
    assert_string_equal(out, "2:alert.43.4303.430381;3:deadletter;");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_spool_same_uuid_is_one_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_published_reply_is_stored_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_spool_dead_letter_and_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_sequence_survives_reopen, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
