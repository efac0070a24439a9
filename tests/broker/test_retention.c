/* test_retention: the broker's retention over a real spool (issue 10 item 3).
 * A spool holds 3 closed jobs, 1 pending job and 5 publications; the closed
 * jobs and publications 1-3 are made 40 days old in the file (SQL on the side,
 * as a clock 40 days on would see them). The broker started on it with the
 * default spool.retention (30 days) removes them at its heartbeat between
 * commits — the pending job stays —, and reportd.replay asked for what was
 * removed answers 410 saying what and which is the oldest kept, while a range
 * that is kept, and a request for nothing but LAST (TO < FROM, as reportctl
 * watch asks), are answered 200. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brokerfix.h"
#include "broker/spool.h"

/* The answer's first frame equals status exactly. */
static void expect_status(struct mdp_msg *r, const char *status)
{
    char *got = r->n ? mdp_msg_strdup(r, 0) : xstrdup("(no frames)");
    if (strcmp(got, status) != 0)
        fail_msg("answer %s, expected %s", got, status);
    free(got);
}

static void uuid(char out[33], int i)
{
    snprintf(out, 33, "%032d", i);
}

/* The spool as described above, then aged in the file. */
static void fill(const char *path)
{
    char err[256] = "", u[33];
    struct spool *sp = spool_open(path, err, sizeof err);
    assert_non_null(sp);
    for (int i = 1; i <= 4; i++) {
        uuid(u, i);
        assert_int_equal(spool_put(sp, u, "s", "report.check", "b", 1, err, sizeof err), 1);
    }
    for (int i = 1; i <= 5; i++)
        assert_int_equal(spool_log(sp, "result.1", "x", 1, err, sizeof err), (uint64_t)i);
    for (int i = 1; i <= 3; i++) {
        uuid(u, i);
        assert_int_equal(spool_finish(sp, u, 0, NULL, 0, (uint64_t)i, err, sizeof err), 1);
        assert_int_equal(spool_close_job(sp, u, err, sizeof err), 0);
    }
    assert_int_equal(spool_commit(sp, err, sizeof err), 0);
    spool_close(&sp);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE job SET updated_at = updated_at - 40 * 86400"
                                      " WHERE state = 3;"
                                      "UPDATE published SET at = at - 40 * 86400 WHERE seq <= 3;",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_retention_prunes_and_replay_says_410(void **state)
{
    (void)state;
    struct brokerfix b = {0};
    assert_int_equal(bf_init(&b, "test_retention", xstrdup("inproc://test-retention"),
                             xstrdup("inproc://test-retention-pub")), 0);
    b.cfg.heartbeat_ms = 50;
    b.cfg.batch_ms = 0;
    assert_int_equal(b.cfg.retention_published_days, 30);      /* the defaults */
    assert_int_equal(b.cfg.retention_closed_days, 30);
    assert_int_equal(b.cfg.retention_dead_days, 0);
    fill(b.cfg.spool_path);
    assert_int_equal(bf_start(&b, 100000), 0);
    void *client = bf_dealer(&b);
    /* wait (at most 5 s) for a heartbeat and its commit */
    struct mdp_msg *r = NULL;
    for (int i = 0; i < 100; i++) {
        mdp_msg_destroy(&r);
        r = bf_call(client, "reportd.replay", "1", 1, NULL, 0);
        if (!mdp_msg_is(r, 0, "200"))
            break;
        usleep(50000);
    }
    expect_status(r, "410 sequence 3 and before were removed by retention "
                     "(spool.retention.published_days 30); the oldest kept is 4");
    assert_int_equal(r->n, 1);
    mdp_msg_destroy(&r);
    r = bf_call(client, "reportd.replay", "2", 1, "3", 1);
    expect_status(r, "410 sequence 3 and before were removed by retention "
                     "(spool.retention.published_days 30); the oldest kept is 4");
    mdp_msg_destroy(&r);
    /* what is kept is served */
    r = bf_call(client, "reportd.replay", "4", 1, NULL, 0);
    expect_status(r, "200");
    assert_true(mdp_msg_is(r, 1, "6"));         /* next */
    assert_true(mdp_msg_is(r, 2, "5"));         /* last */
    assert_int_equal(r->n, 3 + 2 * 3);
    assert_true(mdp_msg_is(r, 4, "4"));
    assert_true(mdp_msg_is(r, 7, "5"));
    mdp_msg_destroy(&r);
    /* LAST alone (TO < FROM): still 200 */
    r = bf_call(client, "reportd.replay", "1", 1, "0", 1);
    expect_status(r, "200");
    assert_true(mdp_msg_is(r, 2, "5"));
    mdp_msg_destroy(&r);
    bf_stop(&b);
    assert_int_equal(b.final.pruned, 6);        /* 3 closed jobs, 3 publications */
    assert_true(b.final.oldest_at[SPOOL_KIND_PUBLISHED] > 0);
    assert_int_equal(b.final.oldest_at[SPOOL_KIND_JOB], 0);      /* none done or closed left */

    char err[256] = "", u[33];
    struct spool *sp = spool_open(b.cfg.spool_path, err, sizeof err);
    assert_non_null(sp);
    assert_int_equal(spool_count(sp, SPOOL_CLOSED), 0);
    assert_int_equal(spool_count(sp, SPOOL_PENDING), 1);
    uuid(u, 4);
    assert_int_equal(spool_get(sp, u, NULL, NULL), SPOOL_PENDING);
    assert_int_equal(spool_first_seq(sp), 4);
    assert_int_equal(spool_last_seq(sp), 5);
    spool_close(&sp);
    assert_int_equal(bf_free(&b), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retention_prunes_and_replay_says_410),
    };
    return cmocka_run_group_tests_name("retention", tests, NULL, NULL);
}
