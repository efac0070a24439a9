/* test_broker: the broker in a thread over inproc://, driven frame by frame by
 * a hand-rolled client (DEALER) and workers (DEALER) — exact 7/MDP, 8/MMI and
 * 9/TSP frames, dedup by submission id, publication with sequence numbers,
 * redelivery on heartbeat expiry, dead letters, invalid input that is
 * dropped without disturbing anything else, and a spool that refuses a write
 * (an error in the log, "500" to the client). The broker's log lines are
 * captured through log_write_hook; the spool fault through -Wl,--wrap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "base/log.h"
#include "broker/broker.h"
#include "brokerfix.h"
#include "conf/config.h"
#include "wire/mdp.h"
#include "report.pb-c.h"
#include "broker/spool.h"
#include "base/util.h"

#define SID "6f9619ff-8b86-4011-b42d-00c04fc964ff"
#define SID_UUID "6f9619ff8b864011b42d00c04fc964ff"

struct fixture {
    struct brokerfix b;         /* the broker thread, context, spool directory */
    void *client;
    void *sub;
};

static int fixture_n;

/* Seam: the Makefile links this program with -Wl,--wrap=spool_put, so a case
 * can make the spool refuse a write as a full disk does. */
static atomic_int spool_put_fails;
int __real_spool_put(struct spool *sp, const char *uuid, const char *submission_id,
                     const char *service, const void *body, size_t len, char *err,
                     size_t errlen);
int __wrap_spool_put(struct spool *sp, const char *uuid, const char *submission_id,
                     const char *service, const void *body, size_t len, char *err,
                     size_t errlen)
{
    if (atomic_load(&spool_put_fails))
        return errf(err, errlen, "spool: put: database or disk is full");
    return __real_spool_put(sp, uuid, submission_id, service, body, len, err, errlen);
}

/* The log lines of the broker thread (log_write_hook, set before any thread). */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct buf logged;

static void capture_log(const char *line, size_t len)
{
    pthread_mutex_lock(&log_lock);
    buf_append(&logged, line, len);
    pthread_mutex_unlock(&log_lock);
}

/* What was logged since the last call; the caller frees it. */
static char *logged_take(void)
{
    pthread_mutex_lock(&log_lock);
    buf_append(&logged, "", 1);
    char *text = buf_take(&logged);
    pthread_mutex_unlock(&log_lock);
    return text;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    fixture_n++;
    if (bf_init(&f->b, "test_broker", xasprintf("inproc://test-broker-%d", fixture_n),
                xasprintf("inproc://test-publish-%d", fixture_n)) < 0)
        return -1;
    f->b.drain = 1;
    f->b.cfg.heartbeat_ms = 100;
    f->b.cfg.liveness = 3;
    f->b.cfg.max_attempts = 2;
    f->b.cfg.batch_ms = 0;
    bf_start(&f->b, 100000);
    f->client = bf_dealer(&f->b);
    f->sub = bf_keep(&f->b, zmq_socket(f->b.ctx, ZMQ_SUB));
    zmq_setsockopt(f->sub, ZMQ_SUBSCRIBE, "", 0);
    zmq_connect(f->sub, f->b.cfg.publish_bind);
    usleep(50000);
    *state = f;
    return f->b.run_rc;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    bf_stop(&f->b);
    int rc = bf_free(&f->b);
    free(f);
    return rc;
}

/* A client REQUEST and its answer's body frames. */
static struct mdp_msg *call(struct fixture *f, const char *service, const void *b1, size_t l1,
                            const void *b2, size_t l2)
{
    return bf_call(f->client, service, b1, l1, b2, l2);
}

static void *ready_worker(struct fixture *f, const char *service)
{
    return bf_worker(&f->b, service);
}

static void test_broker_mmi_service(void **state)
{
    struct fixture *f = *state;
    struct mdp_msg *r = call(f, "mmi.service", "report.check", 12, NULL, 0);
    assert_true(mdp_msg_is(r, 0, "404"));
    mdp_msg_destroy(&r);
    ready_worker(f, "report.check");
    r = call(f, "mmi.service", "report.check", 12, NULL, 0);
    assert_true(mdp_msg_is(r, 0, "200"));
    mdp_msg_destroy(&r);
    r = call(f, "mmi.service", "titanic.request", 15, NULL, 0);
    assert_true(mdp_msg_is(r, 0, "200"));
    mdp_msg_destroy(&r);
    r = call(f, "mmi.workers", "x", 1, NULL, 0);
    assert_true(mdp_msg_is(r, 0, "501"));
    mdp_msg_destroy(&r);
}

static void test_broker_plain_request_round_trip(void **state)
{
    struct fixture *f = *state;
    void *w = ready_worker(f, "echo");
    bf_send(f->client, 4, "", "MDPC01", "echo", "hello");
    struct mdp_msg *req = bf_recv_cmd(w, 2000);
    assert_non_null(req);
    assert_int_equal(req->n, 6);
    assert_true(mdp_msg_is(req, 1, "MDPW01"));
    assert_true(mdp_msg_is(req, 2, "\x02"));
    assert_true(mdp_msg_is(req, 4, ""));
    assert_true(mdp_msg_is(req, 5, "hello"));
    struct mdp_msg *rep = mdp_worker_cmd(NULL, 0, MDP_REPLY);
    mdp_msg_addframe(rep, req, 3);
    mdp_msg_add(rep, "", 0);
    mdp_msg_addstr(rep, "HELLO");
    mdp_msg_send(rep, w, 0);
    struct mdp_msg *got = bf_recv(f->client, 2000);
    assert_non_null(got);
    assert_int_equal(got->n, 4);
    assert_true(mdp_msg_is(got, 2, "echo"));
    assert_true(mdp_msg_is(got, 3, "HELLO"));
    mdp_msg_destroy(&got);
    mdp_msg_destroy(&rep);
    mdp_msg_destroy(&req);
}

static void test_broker_titanic_one_job_per_submission(void **state)
{
    struct fixture *f = *state;
    void *w = ready_worker(f, "report.check");
    size_t len, rlen;
    uint8_t *sub = bf_submission(SID, &len);
    for (int i = 0; i < 2; i++) {
        struct mdp_msg *r = call(f, "titanic.request", "report.check", 12, sub, len);
        assert_int_equal(r->n, 2);
        assert_true(mdp_msg_is(r, 0, "200"));
        assert_true(mdp_msg_is(r, 1, SID_UUID));
        mdp_msg_destroy(&r);
    }
    struct mdp_msg *req = bf_recv_cmd(w, 2000);
    assert_non_null(req);
    assert_memory_equal(mdp_msg_data(req, 5), sub, len);
    struct mdp_msg *r = call(f, "titanic.reply", SID_UUID, 32, NULL, 0);
    assert_true(mdp_msg_is(r, 0, "300"));
    mdp_msg_destroy(&r);
    uint8_t *res = bf_fail_result(SID, &rlen);
    struct mdp_msg *rep = mdp_worker_cmd(NULL, 0, MDP_REPLY);
    mdp_msg_addframe(rep, req, 3);
    mdp_msg_add(rep, "", 0);
    mdp_msg_add(rep, res, rlen);
    mdp_msg_send(rep, w, 0);
    /* the same submission was one job: no second REQUEST */
    assert_null(bf_recv_cmd(w, 300));
    struct mdp_msg *pub = bf_recv(f->sub, 2000);
    assert_non_null(pub);
    assert_true(mdp_msg_is(pub, 0, "result.43.4303.430381"));
    assert_true(mdp_msg_is(pub, 1, "1"));
    assert_memory_equal(mdp_msg_data(pub, 2), res, rlen);
    mdp_msg_destroy(&pub);
    pub = bf_recv(f->sub, 2000);
    assert_non_null(pub);
    assert_true(mdp_msg_is(pub, 0, "alert.43.4303.430381"));
    assert_true(mdp_msg_is(pub, 1, "2"));
    mdp_msg_destroy(&pub);
    r = call(f, "titanic.reply", SID_UUID, 32, NULL, 0);
    assert_true(mdp_msg_is(r, 0, "200"));
    assert_memory_equal(mdp_msg_data(r, 1), res, rlen);
    mdp_msg_destroy(&r);
    r = call(f, "reportd.replay", "2", 1, NULL, 0);
    assert_int_equal(r->n, 6);
    assert_true(mdp_msg_is(r, 1, "3"));        /* next */
    assert_true(mdp_msg_is(r, 2, "2"));        /* last */
    assert_true(mdp_msg_is(r, 3, "alert.43.4303.430381"));
    mdp_msg_destroy(&r);
    r = call(f, "titanic.close", SID_UUID, 32, NULL, 0);
    assert_true(mdp_msg_is(r, 0, "200"));
    mdp_msg_destroy(&r);
    r = call(f, "titanic.reply", SID_UUID, 32, NULL, 0);
    assert_true(mdp_msg_is(r, 0, "400"));
    mdp_msg_destroy(&r);
    free(res);
    free(sub);
    mdp_msg_destroy(&rep);
    mdp_msg_destroy(&req);
}

static void test_broker_invalid_input_is_dropped(void **state)
{
    struct fixture *f = *state;
    bf_send(f->client, 1, "garbage");
    bf_send(f->client, 4, "", "MDPX01", "report.check", "x");
    bf_send(f->client, 3, "", "MDPW01", "\x09");
    bf_send(f->client, 2, "", "MDPC01");
    assert_null(bf_recv(f->client, 200));
    /* a REPLY from a worker that never said READY: valid but unexpected */
    void *w = bf_dealer(&f->b);
    bf_send(w, 6, "", "MDPW01", "\x03", "someone", "", "x");
    struct mdp_msg *d = bf_recv_cmd(w, 2000);
    assert_non_null(d);
    assert_int_equal(d->n, 3);
    assert_true(mdp_msg_is(d, 2, "\x05"));
    mdp_msg_destroy(&d);
    /* registering an mmi.* service is refused the same way */
    w = bf_dealer(&f->b);
    bf_send(w, 4, "", "MDPW01", "\x01", "mmi.service");
    d = bf_recv_cmd(w, 2000);
    assert_non_null(d);
    assert_true(mdp_msg_is(d, 2, "\x05"));
    mdp_msg_destroy(&d);
    /* and the broker still answers */
    struct mdp_msg *r = call(f, "mmi.service", "nothing", 7, NULL, 0);
    assert_true(mdp_msg_is(r, 0, "404"));
    mdp_msg_destroy(&r);
}

static void test_broker_redelivers_then_dead_letters(void **state)
{
    struct fixture *f = *state;
    size_t len;
    uint8_t *sub = bf_submission(SID, &len);
    free(logged_take());
    void *a = ready_worker(f, "report.check");
    void *b = ready_worker(f, "report.check");
    struct mdp_msg *r = call(f, "titanic.request", "report.check", 12, sub, len);
    assert_true(mdp_msg_is(r, 0, "200"));
    mdp_msg_destroy(&r);
    /* whichever got it stays silent; the other one must get it again */
    struct mdp_msg *first = bf_recv_cmd(a, 500);
    void *other = first ? b : a;
    if (!first)
        first = bf_recv_cmd(b, 500);
    assert_non_null(first);
    struct mdp_msg *again = NULL;
    for (int i = 0; i < 40 && !again; i++) {
        bf_send(other, 3, "", "MDPW01", "\x04");     /* keep the other alive */
        struct mdp_msg *m = bf_recv(other, 50);
        if (m && mdp_msg_is(m, 2, "\x02"))
            again = m;
        else
            mdp_msg_destroy(&m);
    }
    assert_non_null(again);
    assert_memory_equal(mdp_msg_data(again, 5), sub, len);
    /* second death: max_attempts 2 → dead letter and a deadletter event */
    struct mdp_msg *pub = bf_recv(f->sub, 3000);
    assert_non_null(pub);
    assert_true(mdp_msg_is(pub, 0, "deadletter"));
    char *json = mdp_msg_strdup(pub, 2);
    assert_non_null(strstr(json, "\"uuid\":\"" SID_UUID "\""));
    assert_non_null(strstr(json, "\"submission_id\":\"" SID "\""));
    free(json);
    /* the log: a redelivery is a warning, a dead letter an error, with the job */
    char *text = logged_take();
    assert_non_null(strstr(text, "<4>job " SID_UUID " handed out again: worker expired "
                                 "submission=" SID " attempt=1 worker="));
    assert_non_null(strstr(text, "<3>dead letter " SID_UUID ": worker died while holding only "
                                 "this job, 2 times (last: worker expired) submission=" SID
                                 " attempt=2 worker="));
    free(text);
    r = call(f, "titanic.reply", SID_UUID, 32, NULL, 0);
    assert_int_equal(strncmp(mdp_msg_data(r, 0), "500", 3), 0);
    mdp_msg_destroy(&r);
    r = call(f, "reportd.deadletter", "list", 4, NULL, 0);
    assert_true(mdp_msg_is(r, 0, "200"));
    char *list = mdp_msg_strdup(r, 1);
    assert_non_null(strstr(list, SID_UUID));
    free(list);
    mdp_msg_destroy(&r);
    mdp_msg_destroy(&pub);
    mdp_msg_destroy(&again);
    mdp_msg_destroy(&first);
    free(sub);
    bf_stop(&f->b);                       /* reportd_dead_letters_waiting */
    assert_int_equal(f->b.final.dead, 1);
    assert_int_equal(f->b.final.dead_waiting, 1);
}

static void test_broker_term_drains_jobs_in_flight(void **state)
{
    struct fixture *f = *state;
    void *w = ready_worker(f, "report.check");
    size_t len, rlen;
    uint8_t *sub = bf_submission(SID, &len);
    struct mdp_msg *r = call(f, "titanic.request", "report.check", 12, sub, len);
    assert_true(mdp_msg_is(r, 0, "200"));
    mdp_msg_destroy(&r);
    struct mdp_msg *req = bf_recv_cmd(w, 2000);
    assert_non_null(req);
    eventfd_write(f->b.stopfd, 1);               /* TERM while the worker holds it */
    usleep(100000);
    uint8_t *res = bf_fail_result(SID, &rlen);
    struct mdp_msg *rep = mdp_worker_cmd(NULL, 0, MDP_REPLY);
    mdp_msg_addframe(rep, req, 3);
    mdp_msg_add(rep, "", 0);
    mdp_msg_add(rep, res, rlen);
    mdp_msg_send(rep, w, 0);
    pthread_join(f->b.thread, NULL);
    struct spool *sp = spool_open(f->b.cfg.spool_path, NULL, 0);
    assert_non_null(sp);
    assert_int_equal(spool_get(sp, SID_UUID, NULL, NULL), SPOOL_DONE);
    spool_close(&sp);
    bf_start(&f->b, 0);                                     /* for teardown */
    mdp_msg_destroy(&rep);
    mdp_msg_destroy(&req);
    free(res);
    free(sub);
}

static void test_broker_spool_failure_is_an_error(void **state)
{
    struct fixture *f = *state;
    size_t len;
    uint8_t *sub = bf_submission(SID, &len);
    free(logged_take());
    atomic_store(&spool_put_fails, 1);
    struct mdp_msg *r = call(f, "titanic.request", "report.check", 12, sub, len);
    atomic_store(&spool_put_fails, 0);
    /* 9/TSP: "500", try again later — nothing was stored */
    assert_int_equal(r->n, 1);
    assert_true(mdp_msg_is(r, 0, "500"));
    mdp_msg_destroy(&r);
    char *text = logged_take();
    assert_non_null(strstr(text, "<3>spool: put: database or disk is full submission=" SID "\n"));
    free(text);
    r = call(f, "titanic.reply", SID_UUID, 32, NULL, 0);
    assert_true(mdp_msg_is(r, 0, "400"));
    mdp_msg_destroy(&r);
    /* the spool takes writes again: the resend is stored */
    r = call(f, "titanic.request", "report.check", 12, sub, len);
    assert_int_equal(r->n, 2);
    assert_true(mdp_msg_is(r, 0, "200"));
    assert_true(mdp_msg_is(r, 1, SID_UUID));
    mdp_msg_destroy(&r);
    free(sub);
    bf_stop(&f->b);                       /* reportd_spool_write_failures_total */
    assert_int_equal(f->b.final.spool_failures, 1);
}

int main(void)
{
    /* before any broker thread runs: no timestamps, every line captured */
    setenv("JOURNAL_STREAM", "8:1234", 1);
    log_write_hook = capture_log;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_broker_mmi_service, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broker_plain_request_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broker_titanic_one_job_per_submission, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_broker_invalid_input_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broker_redelivers_then_dead_letters, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_broker_term_drains_jobs_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broker_spool_failure_is_an_error, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    buf_free(&logged);
    return rc;
}
