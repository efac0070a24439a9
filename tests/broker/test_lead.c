/* test_lead: the broker on a PostgreSQL spool shared with other brokers
 * (issue 11 item 2), against the real server (make check runs this program
 * again under scripts/pg-test-server.sh; without PGHOST it says it skipped).
 * A late Result to a deposed leader: the broker leads (epoch 1) and hands a
 * job out; meanwhile leader_epoch is raised under it (as when another broker
 * led while it was cut off); the worker's Result then comes back — the
 * broker's write finds the epoch gone, so the Result is not stored and
 * nothing is published; the broker steps down, drops the job, leads again
 * (epoch 3: the lock was its own) and hands the same job out again; that
 * Result is the one stored and published, once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brokerfix.h"
#include "pgq.h"
#include "broker/spool.h"
#include "wire/titanic_id.h"

#define SID "00000000000000000000000000000a11"

struct fixture {
    struct brokerfix b;
    char db[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->db, sizeof f->db, "test_lead_%d", (int)getpid());
    char cmd[128];
    snprintf(cmd, sizeof cmd, "createdb %s", f->db);
    if (system(cmd) != 0 || bf_init(&f->b, "test_lead", NULL, NULL) != 0)
        return -1;
    f->b.cfg.broker_bind = xasprintf("ipc://%s/broker", f->b.dir);
    f->b.cfg.publish_bind = xasprintf("ipc://%s/publish", f->b.dir);
    free(f->b.cfg.spool_backend);
    f->b.cfg.spool_backend = xstrdup("postgresql");
    free(f->b.cfg.spool_dsn);
    f->b.cfg.spool_dsn = xasprintf("dbname=%s", f->db);
    f->b.cfg.lead_poll_ms = 50;
    *state = f;
    if (bf_start(&f->b, 0) != 0)
        return -1;
    /* bound and leading (valgrind makes the start slow) */
    for (int i = 0; i < 1000; i++) {
        if (pgq_long(f->db, "SELECT value FROM reportd_meta WHERE key = 'leader_epoch'") == 1)
            return 0;
        usleep(20000);
    }
    return -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    bf_stop(&f->b);
    int rc = bf_free(&f->b);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "dropdb --force %s", f->db);
    if (system(cmd) != 0)
        rc = -1;
    free(f);
    return rc;
}

/* The REQUEST the worker gets next (HEARTBEATs skipped): its job's UUID in *uuid. */
static struct mdp_msg *next_job(void *w, char uuid[33])
{
    struct mdp_msg *req = bf_recv_cmd(w, 5000);
    assert_non_null(req);
    assert_true(mdp_msg_is(req, 2, "\x02"));
    assert_int_equal(titanic_id_parse(mdp_msg_data(req, 3), mdp_msg_size(req, 3), uuid), 0);
    return req;
}

static void test_lead_late_result_to_a_deposed_leader_is_not_stored(void **state)
{
    struct fixture *f = *state;
    void *w = bf_worker(&f->b, "report.check");
    void *client = bf_dealer(&f->b);
    size_t len, rlen;
    uint8_t *sub = bf_submission(SID, &len);
    struct mdp_msg *r = bf_call(client, "titanic.request", "report.check", 12, sub, len);
    assert_true(mdp_msg_is(r, 0, "200"));
    mdp_msg_destroy(&r);
    char uuid[33], again[33];
    struct mdp_msg *req = next_job(w, uuid);
    assert_int_equal(pgq_long(f->db, "SELECT value FROM reportd_meta WHERE key = 'leader_epoch'"),
                     1);
    /* another leader's epoch, while the worker holds the job */
    assert_int_equal(pgq_long(f->db, "UPDATE reportd_meta SET value = '2' WHERE key ="
                               " 'leader_epoch' RETURNING 0"), 0);
    uint8_t *res = bf_fail_result(SID, &rlen);
    bf_reply(w, req, res, rlen);
    mdp_msg_destroy(&req);
    /* the broker steps down, leads again, and the same job comes back */
    req = next_job(w, again);
    assert_string_equal(again, uuid);
    assert_int_equal(pgq_long(f->db, "SELECT count(*) FROM published"), 0);
    assert_int_equal(pgq_long(f->db, "SELECT state FROM job"), SPOOL_PENDING);
    assert_int_equal(pgq_long(f->db, "SELECT value FROM reportd_meta WHERE key = 'leader_epoch'"),
                     3);
    bf_reply(w, req, res, rlen);
    mdp_msg_destroy(&req);
    for (int i = 0; i < 500 && pgq_long(f->db, "SELECT state FROM job") != SPOOL_DONE; i++)
        usleep(10000);
    bf_stop(&f->b);
    assert_int_equal(pgq_long(f->db, "SELECT state FROM job"), SPOOL_DONE);
    /* one Result published (and its alert), the sequence from 1 without a gap */
    assert_int_equal(pgq_long(f->db, "SELECT count(*) FROM published WHERE topic LIKE 'result.%'"),
                     1);
    assert_int_equal(pgq_long(f->db, "SELECT count(*) FROM published WHERE topic LIKE 'alert.%'"),
                     1);
    assert_int_equal(pgq_long(f->db, "SELECT max(seq) FROM published"), 2);
    assert_int_equal(f->b.final.leader, 1);
    assert_int_equal(f->b.final.lead_epoch, 3);
    assert_int_equal(f->b.final.results[REPORTD__STATUS__STATUS_FAIL], 1);
    free(res);
    free(sub);
}

int main(void)
{
    if (!getenv("PGHOST")) {
        printf("lead: skipped: no server (PGHOST unset; make check runs it under sh "
               "scripts/pg-test-server.sh run)\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lead_late_result_to_a_deposed_leader_is_not_stored,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("lead", tests, NULL, NULL);
}
