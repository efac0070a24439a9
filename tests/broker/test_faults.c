/* test_faults: the broker under faults found by chaos and interop runs (issue
 * 9), each reproduced over real sockets against the broker in a thread, with
 * a hand-rolled third-party worker and client (DEALERs speaking the frames of
 * 7/MDP and 9/TSP):
 *  - a late REPLY for a job the worker no longer holds is dropped, not taken
 *    for the job it holds now (item 4);
 *  - titanic.close of a pending job is refused, and a request identical to a
 *    closed one runs again (item 5);
 *  - titanic.request and titanic.reply carry every body frame (item 6);
 *  - reportd.replay answers are bounded in bytes and per client (item 8);
 *  - service names are bounded and expire when idle (item 9);
 *  - a REJECTED Result from a known submitter is published on its region's
 *    topic (item 12). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "brokerfix.h"
#include "broker/spool.h"
#include "check/check.h"
#include "report.pb-c.h"
#include "testutil.h"
#include "wire/mdp.h"

#define SID_A "11111111-1111-4111-8111-111111111111"
#define UUID_A "11111111111141118111111111111111"
#define SID_B "22222222-2222-4222-8222-222222222222"
#define UUID_B "22222222222242228222222222222222"

struct fixture {
    struct brokerfix b;
    void *client;
    void *sub;
};

static int fixture_n;

/* The broker with a short heartbeat (100 ms × 3) and immediate commits. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    fixture_n++;
    if (bf_init(&f->b, "test_faults", xasprintf("inproc://test-faults-%d", fixture_n),
                xasprintf("inproc://test-faults-pub-%d", fixture_n)) < 0)
        return -1;
    f->b.cfg.heartbeat_ms = 100;
    f->b.cfg.liveness = 3;
    f->b.cfg.max_attempts = 3;
    f->b.cfg.batch_ms = 0;
    f->b.cfg.request_expiry_ms = 300;
    *state = f;
    return 0;
}

/* Start the broker (after a test changed cfg or filled the spool). */
static void start(struct fixture *f)
{
    assert_int_equal(bf_start(&f->b, 100000), 0);
    f->client = bf_dealer(&f->b);
    f->sub = bf_subscriber(&f->b);
    usleep(50000);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    bf_stop(&f->b);
    int rc = bf_free(&f->b);
    free(f);
    return rc;
}

/* A client REQUEST for service with body frames (data, len) pairs ending with
 * NULL; returns the answer's frames after the service name. */
static struct mdp_msg *call(struct fixture *f, const char *service, ...)
{
    struct mdp_msg *m = mdp_client_cmd(NULL, 0, service);
    va_list ap;
    va_start(ap, service);
    for (const void *p; (p = va_arg(ap, const void *));)
        mdp_msg_add(m, p, va_arg(ap, size_t));
    va_end(ap);
    assert_int_equal(mdp_msg_send(m, f->client, 0), 0);
    mdp_msg_destroy(&m);
    struct mdp_msg *r = bf_recv(f->client, 3000);
    assert_non_null(r);
    assert_true(mdp_msg_is(r, 1, "MDPC01"));
    assert_true(mdp_msg_is(r, 2, service));
    struct mdp_msg *body = mdp_msg_new();
    for (size_t i = 3; i < r->n; i++)
        mdp_msg_addframe(body, r, i);
    mdp_msg_destroy(&r);
    return body;
}

/* The answer's first frame equals status exactly. */
static void expect_status(struct mdp_msg *r, const char *status)
{
    char *got = r->n ? mdp_msg_strdup(r, 0) : xstrdup("(no frames)");
    if (strcmp(got, status) != 0)
        fail_msg("answer %s, expected %s", got, status);
    free(got);
}

static void ready(void *w, const char *service)
{
    bf_send(w, 4, "", "MDPW01", "\x01", service);
}

/* Send a REPLY for client address addr with body frames (data, len) … NULL. */
static void reply_frames(void *w, const void *addr, size_t alen, ...)
{
    struct mdp_msg *rep = mdp_worker_cmd(NULL, 0, MDP_REPLY);
    mdp_msg_add(rep, addr, alen);
    mdp_msg_add(rep, "", 0);
    va_list ap;
    va_start(ap, alen);
    for (const void *p; (p = va_arg(ap, const void *));)
        mdp_msg_add(rep, p, va_arg(ap, size_t));
    va_end(ap);
    assert_int_equal(mdp_msg_send(rep, w, 0), 0);
    mdp_msg_destroy(&rep);
}

/* A PASS Result for sid (published on result.* only: no alert). */
static uint8_t *pass_result(const char *sid, size_t *len)
{
    return bf_result(sid, REPORTD__STATUS__STATUS_PASS, len);
}

/* titanic.request of sid for report.check: expect 200 and uuid. */
static void request(struct fixture *f, const char *sid, const char *uuid)
{
    size_t len;
    uint8_t *sub = bf_submission(sid, &len);
    struct mdp_msg *r = call(f, "titanic.request", "report.check", (size_t)12, sub, len, NULL);
    expect_status(r, "200");
    assert_int_equal(r->n, 2);
    assert_true(mdp_msg_is(r, 1, uuid));
    mdp_msg_destroy(&r);
    free(sub);
}

/* The submission_id of the Result in frame i of a REQUEST/publication. */
static char *result_sid(const struct mdp_msg *m, size_t i)
{
    Reportd__Result *r = reportd__result__unpack(NULL, mdp_msg_size(m, i), mdp_msg_data(m, i));
    assert_non_null(r);
    char *sid = xstrdup(r->submission_id);
    reportd__result__free_unpacked(r, NULL);
    return sid;
}

/* Wait (bounded) until mmi.service NAME answers want. */
static void wait_mmi(struct fixture *f, const char *name, const char *want)
{
    for (int i = 0; i < 100; i++) {
        struct mdp_msg *r = call(f, "mmi.service", name, strlen(name), NULL);
        int ok = mdp_msg_is(r, 0, want);
        mdp_msg_destroy(&r);
        if (ok)
            return;
        usleep(30000);
    }
    fail_msg("mmi.service %s never answered %s", name, want);
}

/* Item 4: worker W1 holds A, goes silent and expires; A goes to W2. W1 says
 * READY again on the same socket and is given B; then W1's late REPLY for A
 * arrives. It must be dropped: B stays pending until its own reply, and A's
 * Result is published once. */
static void test_faults_late_reply_is_matched_to_its_job(void **state)
{
    struct fixture *f = *state;
    start(f);
    void *w1 = bf_worker(&f->b, "report.check");
    request(f, SID_A, UUID_A);
    struct mdp_msg *ra = bf_recv_cmd(w1, 2000);
    assert_non_null(ra);
    assert_true(mdp_msg_is(ra, 3, UUID_A));
    wait_mmi(f, "report.check", "404");         /* W1 expired: A is queued again */
    void *w2 = bf_worker(&f->b, "report.check");
    struct mdp_msg *ra2 = bf_recv_cmd(w2, 2000);
    assert_non_null(ra2);
    assert_true(mdp_msg_is(ra2, 3, UUID_A));
    request(f, SID_B, UUID_B);
    ready(w1, "report.check");                  /* the same socket registers again */
    struct mdp_msg *rb = bf_recv_cmd(w1, 2000);
    assert_non_null(rb);
    assert_true(mdp_msg_is(rb, 2, "\x02"));
    assert_true(mdp_msg_is(rb, 3, UUID_B));
    size_t la, lb;
    uint8_t *res_a = pass_result(SID_A, &la), *res_b = pass_result(SID_B, &lb);
    bf_send(w2, 3, "", "MDPW01", "\x04");   /* W2 stays alive, however slow the run */
    reply_frames(w1, UUID_A, (size_t)32, res_a, la, NULL);     /* the late reply for A */
    usleep(50000);
    struct mdp_msg *r = call(f, "titanic.reply", UUID_B, (size_t)32, NULL);
    expect_status(r, "300");                    /* B was not finished with A's Result */
    mdp_msg_destroy(&r);
    reply_frames(w2, UUID_A, (size_t)32, res_a, la, NULL);
    reply_frames(w1, UUID_B, (size_t)32, res_b, lb, NULL);
    /* exactly two publications: A once, B once */
    int seen_a = 0, seen_b = 0;
    for (struct mdp_msg *p; (p = bf_recv(f->sub, 500));) {
        char *sid = result_sid(p, 2);
        seen_a += strcmp(sid, SID_A) == 0;
        seen_b += strcmp(sid, SID_B) == 0;
        free(sid);
        mdp_msg_destroy(&p);
    }
    assert_int_equal(seen_a, 1);
    assert_int_equal(seen_b, 1);
    r = call(f, "titanic.reply", UUID_B, (size_t)32, NULL);
    expect_status(r, "200");
    char *sid = result_sid(r, 1);
    assert_string_equal(sid, SID_B);
    free(sid);
    mdp_msg_destroy(&r);
    free(res_a);
    free(res_b);
    mdp_msg_destroy(&rb);
    mdp_msg_destroy(&ra2);
    mdp_msg_destroy(&ra);
}

/* Item 5: closing a pending job is refused ("300": still pending, not
 * closed); it runs and is answered as acknowledged. */
static void test_faults_close_of_pending_job_is_refused(void **state)
{
    struct fixture *f = *state;
    start(f);
    request(f, SID_A, UUID_A);
    struct mdp_msg *r = call(f, "titanic.close", UUID_A, (size_t)32, NULL);
    expect_status(r, "300 pending: not closed; close it after its reply");
    mdp_msg_destroy(&r);
    void *w = bf_worker(&f->b, "report.check");
    struct mdp_msg *req = bf_recv_cmd(w, 2000);
    assert_non_null(req);
    assert_true(mdp_msg_is(req, 3, UUID_A));
    size_t la;
    uint8_t *res = pass_result(SID_A, &la);
    reply_frames(w, UUID_A, (size_t)32, res, la, NULL);
    struct mdp_msg *p = bf_recv(f->sub, 2000);
    assert_non_null(p);
    mdp_msg_destroy(&p);
    r = call(f, "titanic.reply", UUID_A, (size_t)32, NULL);
    expect_status(r, "200");
    assert_memory_equal(mdp_msg_data(r, 1), res, la);
    mdp_msg_destroy(&r);
    r = call(f, "titanic.close", UUID_A, (size_t)32, NULL);
    expect_status(r, "200");
    mdp_msg_destroy(&r);
    free(res);
    mdp_msg_destroy(&req);
}

/* Item 5: a request identical to a closed one is acknowledged, so it must be
 * answered: it runs again (never "200" then "400" forever). */
static void test_faults_request_after_close_runs_again(void **state)
{
    struct fixture *f = *state;
    start(f);
    void *w = bf_worker(&f->b, "report.check");
    size_t la;
    uint8_t *res = pass_result(SID_A, &la);
    for (int round = 0; round < 2; round++) {
        request(f, SID_A, UUID_A);
        struct mdp_msg *req = bf_recv_cmd(w, 2000);
        assert_non_null(req);
        assert_true(mdp_msg_is(req, 3, UUID_A));
        reply_frames(w, UUID_A, (size_t)32, res, la, NULL);
        struct mdp_msg *p = bf_recv(f->sub, 2000);
        assert_non_null(p);
        mdp_msg_destroy(&p);
        struct mdp_msg *r = call(f, "titanic.reply", UUID_A, (size_t)32, NULL);
        expect_status(r, "200");
        mdp_msg_destroy(&r);
        r = call(f, "titanic.close", UUID_A, (size_t)32, NULL);
        expect_status(r, "200");
        mdp_msg_destroy(&r);
        r = call(f, "titanic.reply", UUID_A, (size_t)32, NULL);
        expect_status(r, "400");                /* closed: as the client asked */
        mdp_msg_destroy(&r);
        mdp_msg_destroy(&req);
    }
    free(res);
}

/* Item 6: 9/TSP "frames 1+": a request body of three frames reaches the worker
 * whole, and a worker's reply of two frames is stored and returned whole —
 * also after a restart (from the spool). */
static void test_faults_titanic_carries_every_frame(void **state)
{
    struct fixture *f = *state;
    start(f);
    struct mdp_msg *r = call(f, "titanic.request", "echo", (size_t)4, "one", (size_t)3, "",
                             (size_t)0, "three", (size_t)5, NULL);
    expect_status(r, "200");
    assert_int_equal(r->n, 2);
    assert_int_equal(mdp_msg_size(r, 1), 32);
    char uuid[33];
    memcpy(uuid, mdp_msg_data(r, 1), 32);
    uuid[32] = '\0';
    mdp_msg_destroy(&r);
    void *w = bf_worker(&f->b, "echo");
    struct mdp_msg *req = bf_recv_cmd(w, 2000);
    assert_non_null(req);
    assert_int_equal(req->n, 8);
    assert_true(mdp_msg_is(req, 3, uuid));
    assert_true(mdp_msg_is(req, 5, "one"));
    assert_true(mdp_msg_is(req, 6, ""));
    assert_true(mdp_msg_is(req, 7, "three"));
    reply_frames(w, uuid, (size_t)32, "ONE", (size_t)3, "THREE", (size_t)5, NULL);
    for (int i = 0; i < 2; i++) {
        for (int k = 0; k < 100; k++) {         /* bounded wait for the reply */
            r = call(f, "titanic.reply", uuid, (size_t)32, NULL);
            if (!mdp_msg_is(r, 0, "300"))
                break;
            mdp_msg_destroy(&r);
            usleep(20000);
        }
        expect_status(r, "200");
        assert_int_equal(r->n, 3);
        assert_true(mdp_msg_is(r, 1, "ONE"));
        assert_true(mdp_msg_is(r, 2, "THREE"));
        mdp_msg_destroy(&r);
        if (i == 0) {                           /* again from the spool after a restart */
            assert_int_equal(bf_restart(&f->b, 100000), 0);
            f->client = bf_dealer(&f->b);       /* inproc: the old pipe ended with the broker */
        }
    }
    mdp_msg_destroy(&req);
}

/* Fill the spool's publication log with n messages of size bytes each. */
static void fill_published(struct fixture *f, int n, size_t size)
{
    char err[256];
    struct spool *sp = spool_open(f->b.cfg.spool_path, err, sizeof err);
    assert_non_null(sp);
    uint8_t *body = xcalloc(1, size);
    for (int i = 0; i < n; i++)
        assert_int_not_equal(spool_log(sp, "result.43.4303.430381", body, size, err, sizeof err),
                             0);
    assert_int_equal(spool_commit(sp, err, sizeof err), 0);
    spool_close(&sp);
    free(body);
}

/* Item 8: 300 published messages of 16 KiB. One reportd.replay answer holds at
 * most limits.replay_bytes (1 MiB by default: 64 messages, NEXT says where to
 * go on); a client asking again and again without reading gets at most
 * limits.replay_budget (8 MiB) per window (limits.replay_window), then "500 …: retry later". */
static void test_faults_replay_is_bounded_per_client(void **state)
{
    struct fixture *f = *state;
    fill_published(f, 300, 16384);
    f->b.cfg.replay_window = 3600;              /* the whole test is one window */
    start(f);
    struct mdp_msg *r = call(f, "reportd.replay", "1", (size_t)1, NULL);
    expect_status(r, "200");
    assert_true(mdp_msg_is(r, 1, "65"));        /* next */
    assert_true(mdp_msg_is(r, 2, "300"));       /* last */
    assert_int_equal(r->n, 3 + 3 * 64);
    mdp_msg_destroy(&r);
    /* 20 more requests before reading any answer */
    for (int i = 0; i < 20; i++) {
        struct mdp_msg *m = mdp_client_cmd(NULL, 0, "reportd.replay");
        mdp_msg_addstr(m, "1");
        assert_int_equal(mdp_msg_send(m, f->client, 0), 0);
        mdp_msg_destroy(&m);
    }
    int served = 0, refused = 0;
    for (int i = 0; i < 20; i++) {
        struct mdp_msg *m = bf_recv(f->client, 3000);
        assert_non_null(m);
        if (mdp_msg_is(m, 3, "200"))
            served++;
        else if (mdp_msg_is(m, 3, "500 replay budget of this client spent: retry later"))
            refused++;
        else
            fail_msg("unexpected replay answer of %zu frames", m->n);
        mdp_msg_destroy(&m);
    }
    assert_int_equal(served, 7);                /* 8 × ~1 MiB in the window, one sent above */
    assert_int_equal(refused, 13);
}

/* Item 9: plain requests for one-off service names; a service with no worker
 * and nothing queued is forgotten at the next heartbeat after its requests
 * expired; at most limits.max_services (10,000) names at once: beyond, the
 * request is answered "503 …" instead of queued. */
static void test_faults_service_names_are_bounded_and_expire(void **state)
{
    struct fixture *f = *state;
    f->b.cfg.request_expiry_ms = 60000;         /* keep them queued for the bound */
    start(f);
    char name[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(name, sizeof name, "oneoff.%d", i);
        struct mdp_msg *m = mdp_client_cmd(NULL, 0, name);
        mdp_msg_addstr(m, "x");
        assert_int_equal(mdp_msg_send(m, f->client, 0), 0);
        mdp_msg_destroy(&m);
    }
    assert_null(bf_recv(f->client, 300));   /* all queued: no answer */
    struct mdp_msg *r = call(f, "oneoff.last", "x", (size_t)1, NULL);
    expect_status(r, "503 too many services (limits.max_services 10000): not queued");
    mdp_msg_destroy(&r);
    /* a name already known is still served: a worker for oneoff.7 gets its request */
    void *w = bf_worker(&f->b, "oneoff.7");
    struct mdp_msg *req = bf_recv_cmd(w, 2000);
    assert_non_null(req);
    assert_true(mdp_msg_is(req, 5, "x"));
    mdp_msg_destroy(&req);
}

/* Item 9: an idle service (no worker, nothing queued) is forgotten once its
 * requests expired, which makes room under the bound. */
static void test_faults_idle_services_expire(void **state)
{
    struct fixture *f = *state;
    f->b.cfg.max_services = 3;
    start(f);
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "idle.%d", i);
        bf_send(f->client, 4, "", "MDPC01", name, "x");
    }
    struct mdp_msg *r = call(f, "idle.new", "x", (size_t)1, NULL);
    expect_status(r, "503 too many services (limits.max_services 3): not queued");
    mdp_msg_destroy(&r);
    /* request_expiry_ms 300: the queued requests expire, then their services */
    for (int i = 0; i < 100; i++) {
        struct mdp_msg *m = mdp_client_cmd(NULL, 0, "idle.new");
        mdp_msg_addstr(m, "x");
        mdp_msg_send(m, f->client, 0);
        mdp_msg_destroy(&m);
        m = bf_recv(f->client, 50);
        int refused = m != NULL;
        mdp_msg_destroy(&m);
        if (!refused)
            return;                             /* queued: room was made */
        usleep(50000);
    }
    fail_msg("idle services never expired");
}

/* Item 12: a worker answers an unreadable document from 湘乡市民政局 (430381)
 * with the checker's REJECTED Result; it is published on the region's topics
 * with the submitter's name. */
static void test_faults_rejected_reaches_its_region(void **state)
{
    struct fixture *f = *state;
    f->b.cfg.alert_statuses |= 1u << REPORTD__STATUS__STATUS_REJECTED;
    start(f);
    Reportd__Submission s = REPORTD__SUBMISSION__INIT;
    Reportd__Body body = REPORTD__BODY__INIT;
    Reportd__Document d = REPORTD__DOCUMENT__INIT;
    s.schema_version = 1;
    s.submission_id = (char *)SID_A;
    body.name = (char *)"湘乡市民政局";
    body.region_code = (char *)"430381";
    s.body = &body;
    s.has_year = 1;
    s.year = 2024;
    d.data.data = (uint8_t *)"\xff\xfe";
    d.data.len = 2;
    d.has_form = 1;
    d.form = REPORTD__DOCUMENT_FORM__FORM_TEXT;
    s.content_case = REPORTD__SUBMISSION__CONTENT_DOCUMENT;
    s.document = &d;
    size_t len = reportd__submission__get_packed_size(&s);
    uint8_t *sub = xmalloc(len);
    reportd__submission__pack(&s, sub);
    struct mdp_msg *r = call(f, "titanic.request", "report.check", (size_t)12, sub, len, NULL);
    expect_status(r, "200");
    mdp_msg_destroy(&r);
    /* the checker's answer first: a worker silent for 300 ms (a slow run
     * loading the checker) would be declared dead */
    struct checker *c = tu_checker();
    Reportd__Result *res = checker_run_bytes(c, sub, len);
    size_t rlen = reportd__result__get_packed_size(res);
    uint8_t *rb = xmalloc(rlen);
    reportd__result__pack(res, rb);
    void *w = bf_worker(&f->b, "report.check");
    struct mdp_msg *req = bf_recv_cmd(w, 2000);
    assert_non_null(req);
    assert_int_equal(mdp_msg_size(req, 5), len);
    assert_memory_equal(mdp_msg_data(req, 5), sub, len);
    reply_frames(w, UUID_A, (size_t)32, rb, rlen, NULL);
    struct mdp_msg *p = bf_recv(f->sub, 5000);
    assert_non_null(p);
    if (!mdp_msg_is(p, 0, "result.43.4303.430381"))
        fail_msg("published on %s", mdp_msg_strdup(p, 0));
    mdp_msg_destroy(&p);
    p = bf_recv(f->sub, 5000);
    assert_non_null(p);
    assert_true(mdp_msg_is(p, 0, "alert.43.4303.430381"));
    Reportd__Alert *a = reportd__alert__unpack(NULL, mdp_msg_size(p, 2), mdp_msg_data(p, 2));
    assert_non_null(a);
    assert_int_equal(a->status, REPORTD__STATUS__STATUS_REJECTED);
    assert_non_null(a->body);
    assert_string_equal(a->body->name, "湘乡市民政局");
    reportd__alert__free_unpacked(a, NULL);
    mdp_msg_destroy(&p);
    free(rb);
    checker_result_free(res);
    checker_destroy(&c);
    mdp_msg_destroy(&req);
    free(sub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_faults_late_reply_is_matched_to_its_job, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_faults_close_of_pending_job_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_faults_request_after_close_runs_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_faults_titanic_carries_every_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults_replay_is_bounded_per_client, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_faults_service_names_are_bounded_and_expire, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_faults_idle_services_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults_rejected_reaches_its_region, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
