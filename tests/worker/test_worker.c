/* test_worker: a worker thread (real checker on config/) under a broker played
 * by the test over inproc:// — exact READY, a REPLY carrying the client
 * address back, a REJECTED Result for garbage instead of a crash, a real
 * report's Result, invalid broker messages dropped, heartbeats, a new socket
 * (new identity) with a new READY after DISCONNECT or a silent broker, a pool
 * of threads each answering its own request; fifty checks in a row each
 * answered with its own Result, all on one long-lived check thread, the
 * thread count steady; a check whose connection the broker replaced while it
 * ran, its Result not sent, the next request answered; told to stop during
 * a check, that check answered before DISCONNECT; and under
 * the real broker, a check longer than interval × liveness (the fault hook
 * sleeps) that is neither redelivered nor answered twice: the worker
 * heartbeats while it works. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "check/check.h"
#include "conf/config.h"
#include "wire/mdp.h"
#include "report.pb-c.h"
#include "read/pdfread.h"
#include "worker/worker.h"
#include "brokerfix.h"

static struct mdp_msg *recv_cmd(void *s, int ms, int want)
{
    for (int waited = 0; waited < ms; waited += 20) {
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 20) <= 0)
            continue;
        struct mdp_msg *m = mdp_msg_recv(s, 0, 16);
        if (m && m->n >= 4 && mdp_msg_size(m, 3) == 1 &&
            *(const unsigned char *)mdp_msg_data(m, 3) == want)
            return m;
        mdp_msg_destroy(&m);
    }
    return NULL;
}

static void test_worker_speaks_mdpw01(void **state)
{
    (void)state;
    char err[512] = "";
    struct config cfg;
    config_defaults(&cfg);
    cfg.heartbeat_ms = 50;
    cfg.liveness = 100;         /* the test never heartbeats: no reconnect mid-test, even under valgrind */
    cfg.reconnect_min_ms = 10;
    struct checker *chk =
        checker_new(&(struct checker_options){.datadir = "config"}, err, sizeof err);
    assert_non_null(chk);
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    assert_int_equal(zmq_bind(router, "inproc://test-worker"), 0);
    int stopfd = eventfd(0, 0);
    struct worker_pool *pool =
        worker_start(ctx, &cfg, "inproc://test-worker", 1, chk, stopfd, err, sizeof err);
    assert_non_null(pool);

    struct mdp_msg *ready = recv_cmd(router, 2000, MDP_READY);
    assert_non_null(ready);
    assert_int_equal(ready->n, 5);
    assert_true(mdp_msg_is(ready, 1, ""));
    assert_true(mdp_msg_is(ready, 2, "MDPW01"));
    assert_true(mdp_msg_is(ready, 4, "report.check"));

    /* garbage body: answered with a REJECTED Result, address carried back */
    struct mdp_msg *req = mdp_worker_cmd(mdp_msg_data(ready, 0), mdp_msg_size(ready, 0),
                                         MDP_REQUEST);
    mdp_msg_addstr(req, "client-7");
    mdp_msg_add(req, "", 0);
    mdp_msg_add(req, "\xff\xff\xff\xff garbage", 12);
    assert_int_equal(mdp_msg_send(req, router, 0), 0);
    struct mdp_msg *rep = recv_cmd(router, 5000, MDP_REPLY);
    assert_non_null(rep);
    assert_int_equal(rep->n, 7);
    assert_true(mdp_msg_is(rep, 4, "client-7"));
    assert_true(mdp_msg_is(rep, 5, ""));
    Reportd__Result *r = reportd__result__unpack(NULL, mdp_msg_size(rep, 6), mdp_msg_data(rep, 6));
    assert_non_null(r);
    assert_int_equal(r->status, REPORTD__STATUS__STATUS_REJECTED);
    reportd__result__free_unpacked(r, NULL);

    struct mdp_msg *hb = recv_cmd(router, 2000, MDP_HEARTBEAT);
    assert_non_null(hb);

    /* 7/MDP: after DISCONNECT the worker registers again on a new socket */
    struct mdp_msg *bye = mdp_worker_cmd(mdp_msg_data(ready, 0), mdp_msg_size(ready, 0),
                                         MDP_DISCONNECT);
    assert_int_equal(mdp_msg_send(bye, router, 0), 0);
    struct mdp_msg *again = recv_cmd(router, 2000, MDP_READY);
    assert_non_null(again);
    assert_false(mdp_msg_size(again, 0) == mdp_msg_size(ready, 0) &&
                 memcmp(mdp_msg_data(again, 0), mdp_msg_data(ready, 0),
                        mdp_msg_size(ready, 0)) == 0);

    eventfd_write(stopfd, 1);
    worker_join(&pool);
    struct mdp_msg *last = recv_cmd(router, 2000, MDP_DISCONNECT);
    assert_non_null(last);
    mdp_msg_destroy(&last);
    mdp_msg_destroy(&again);
    mdp_msg_destroy(&bye);
    mdp_msg_destroy(&hb);
    mdp_msg_destroy(&rep);
    mdp_msg_destroy(&req);
    mdp_msg_destroy(&ready);
    zmq_close(router);
    zmq_ctx_term(ctx);
    close(stopfd);
    checker_destroy(&chk);
    config_free(&cfg);
}

static atomic_int slow_checks;

/* The fault hook: every check takes 700 ms, over twice interval × liveness. */
static void slow_check(const void *body, size_t len)
{
    (void)body;
    (void)len;
    atomic_fetch_add(&slow_checks, 1);
    struct timespec ts = {0, 700 * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_worker_heartbeats_while_checking(void **state)
{
    (void)state;
    char err[512] = "";
    struct brokerfix b = {0};
    assert_int_equal(bf_init(&b, "test_worker", xstrdup("inproc://test-worker-busy"),
                             xstrdup("inproc://test-worker-busy-pub")), 0);
    b.cfg.heartbeat_ms = 100;
    b.cfg.liveness = 3;
    b.cfg.batch_ms = 0;
    assert_int_equal(bf_start(&b, 100000), 0);
    struct checker *chk =
        checker_new(&(struct checker_options){.datadir = "config"}, err, sizeof err);
    assert_non_null(chk);
    int stopfd = eventfd(0, 0);
    worker_fault_hook = slow_check;
    struct worker_pool *pool =
        worker_start(b.ctx, &b.cfg, b.cfg.broker_bind, 1, chk, stopfd, err, sizeof err);
    assert_non_null(pool);
    void *sub = bf_keep(&b, zmq_socket(b.ctx, ZMQ_SUB));
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "result.", 7);
    zmq_connect(sub, b.cfg.publish_bind);
    void *client = bf_dealer(&b);
    usleep(100000);
    size_t len;
    uint8_t *sub_bytes = bf_submission("00000000-0000-4000-8000-00000000b051", &len);
    struct mdp_msg *r = bf_call(client, "titanic.request", "report.check", 12, sub_bytes, len);
    assert_true(mdp_msg_is(r, 0, "200"));
    mdp_msg_destroy(&r);
    struct mdp_msg *pub = bf_recv(sub, 5000);
    assert_non_null(pub);
    mdp_msg_destroy(&pub);
    /* long enough for a redelivery to have been checked again */
    assert_null(bf_recv(sub, 1500));
    assert_int_equal(atomic_load(&slow_checks), 1);
    assert_int_equal(worker_served(pool), 1);
    r = bf_call(client, "titanic.reply", "0000000000004000800000000000b051", 32, NULL, 0);
    assert_true(mdp_msg_is(r, 0, "200"));
    mdp_msg_destroy(&r);
    eventfd_write(stopfd, 1);
    worker_join(&pool);
    worker_fault_hook = NULL;
    bf_stop(&b);
    assert_int_equal(b.final.redelivered, 0);
    assert_int_equal(b.final.replies, 1);
    free(sub_bytes);
    close(stopfd);
    checker_destroy(&chk);
    assert_int_equal(bf_free(&b), 0);
}

/* A Submission carrying data[0..len) as its document, packed (heap). */
static uint8_t *document_submission(const char *data, size_t len, size_t *outlen)
{
    Reportd__Document doc = REPORTD__DOCUMENT__INIT;
    doc.data.data = (uint8_t *)data;
    doc.data.len = len;
    doc.filename = (char *)"report.pdf";
    Reportd__Submission sub = REPORTD__SUBMISSION__INIT;
    sub.schema_version = 1;
    sub.submission_id = (char *)"pdf-1";
    sub.content_case = REPORTD__SUBMISSION__CONTENT_DOCUMENT;
    sub.document = &doc;
    *outlen = reportd__submission__get_packed_size(&sub);
    uint8_t *b = xmalloc(*outlen);
    reportd__submission__pack(&sub, b);
    return b;
}

/* One REQUEST to the worker, its Result's status and (if REJECTED) reason. */
static int ask(void *router, const struct mdp_msg *ready, const char *doc, size_t len, char *why, size_t whylen)
{
    size_t n;
    uint8_t *body = document_submission(doc, len, &n);
    struct mdp_msg *req = mdp_worker_cmd(mdp_msg_data(ready, 0), mdp_msg_size(ready, 0), MDP_REQUEST);
    mdp_msg_addstr(req, "client-pdf");
    mdp_msg_add(req, "", 0);
    mdp_msg_add(req, body, n);
    assert_int_equal(mdp_msg_send(req, router, 0), 0);
    struct mdp_msg *rep = recv_cmd(router, 20000, MDP_REPLY);
    assert_non_null(rep);
    Reportd__Result *r = reportd__result__unpack(NULL, mdp_msg_size(rep, 6), mdp_msg_data(rep, 6));
    assert_non_null(r);
    int status = r->status;
    snprintf(why, whylen, "%s", r->reject_reason ? r->reject_reason : "");
    reportd__result__free_unpacked(r, NULL);
    mdp_msg_destroy(&rep);
    mdp_msg_destroy(&req);
    free(body);
    return status;
}

/* A worker reading PDFs: a truncated one and one whose extractor crashes
 * (a stand-in pdftotext that kills itself with SIGSEGV) are REJECTED with the
 * reason, and the same worker then reads the real PDF: the child took the
 * blow, not the worker. */
static void test_worker_serves_after_bad_pdfs(void **state)
{
    (void)state;
    char err[512] = "", why[512];
    struct config cfg;
    config_defaults(&cfg);
    struct checker *chk = checker_new(&(struct checker_options){.datadir = "config"}, err, sizeof err);
    assert_non_null(chk);
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    assert_int_equal(zmq_bind(router, "inproc://test-worker-pdf"), 0);
    int stopfd = eventfd(0, 0);
    struct worker_pool *pool = worker_start(ctx, &cfg, "inproc://test-worker-pdf", 1, chk, stopfd, err, sizeof err);
    assert_non_null(pool);
    struct mdp_msg *ready = recv_cmd(router, 2000, MDP_READY);
    assert_non_null(ready);
    size_t len;
    char *pdf = util_read_file("../shared/reports/huaian-2024.pdf", 1u << 24, &len, err, sizeof err);
    assert_non_null(pdf);

    assert_int_equal(ask(router, ready, pdf, len / 2, why, sizeof why), REPORTD__STATUS__STATUS_REJECTED);
    assert_non_null(strstr(why, "report.pdf: not a readable PDF (truncated or damaged?)"));

    struct pdfread_limits saved, l;
    pdfread_get_limits(&saved);
    char dir[] = "/tmp/test_worker.XXXXXX";
    assert_non_null(mkdtemp(dir));
    l = saved;
    snprintf(l.program, sizeof l.program, "%s/pdftotext", dir);
    FILE *f = fopen(l.program, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\nkill -SEGV $$\n", f);
    fclose(f);
    chmod(l.program, 0755);
    pdfread_set_limits(&l);
    int st = ask(router, ready, pdf, len, why, sizeof why);
    pdfread_set_limits(&saved);
    unlink(l.program);
    rmdir(dir);
    assert_int_equal(st, REPORTD__STATUS__STATUS_REJECTED);
    assert_non_null(strstr(why, "report.pdf: pdftotext crashed on this PDF (signal 11, "));

    assert_int_equal(ask(router, ready, pdf, len, why, sizeof why), REPORTD__STATUS__STATUS_PASS);

    eventfd_write(stopfd, 1);
    worker_join(&pool);
    free(pdf);
    mdp_msg_destroy(&ready);
    zmq_close(router);
    zmq_ctx_term(ctx);
    close(stopfd);
    checker_destroy(&chk);
    config_free(&cfg);
}

/* A pool of n threads on a ROUTER the test plays the broker with. Returns
 * the first READY (the caller destroys it). */
struct rig {
    struct config cfg;
    struct checker *chk;
    void *ctx, *router;
    int stopfd;
    struct worker_pool *pool;
};

static struct mdp_msg *rig_start(struct rig *g, const char *ep, int threads, int heartbeat_ms)
{
    char err[512] = "";
    config_defaults(&g->cfg);
    g->cfg.heartbeat_ms = heartbeat_ms;
    g->cfg.reconnect_min_ms = 10;
    g->chk = checker_new(&(struct checker_options){.datadir = "config"}, err, sizeof err);
    assert_non_null(g->chk);
    g->ctx = zmq_ctx_new();
    g->router = zmq_socket(g->ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(g->router, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_bind(g->router, ep), 0);
    g->stopfd = eventfd(0, 0);
    g->pool = worker_start(g->ctx, &g->cfg, ep, threads, g->chk, g->stopfd, err, sizeof err);
    assert_non_null(g->pool);
    struct mdp_msg *ready = recv_cmd(g->router, 2000, MDP_READY);
    assert_non_null(ready);
    return ready;
}

static void rig_stop(struct rig *g)
{
    eventfd_write(g->stopfd, 1);
    worker_join(&g->pool);
    assert_null(g->pool);
    zmq_close(g->router);
    zmq_ctx_term(g->ctx);
    close(g->stopfd);
    checker_destroy(&g->chk);
    config_free(&g->cfg);
}

/* Send a REQUEST carrying body to the worker that sent ready, for client. */
static void send_request(struct rig *g, const struct mdp_msg *ready, const char *client, const void *body,
                         size_t len)
{
    struct mdp_msg *req = mdp_worker_cmd(mdp_msg_data(ready, 0), mdp_msg_size(ready, 0), MDP_REQUEST);
    mdp_msg_addstr(req, client);
    mdp_msg_add(req, "", 0);
    mdp_msg_add(req, body, len);
    assert_int_equal(mdp_msg_send(req, g->router, 0), 0);
    mdp_msg_destroy(&req);
}

static int same_identity(const struct mdp_msg *a, const struct mdp_msg *b)
{
    return mdp_msg_size(a, 0) == mdp_msg_size(b, 0) &&
           !memcmp(mdp_msg_data(a, 0), mdp_msg_data(b, 0), mdp_msg_size(a, 0));
}

/* A real report in, its Result out: the exact REPLY frames and the findings. */
static void test_worker_checks_a_real_report(void **state)
{
    (void)state;
    struct rig g;
    struct mdp_msg *ready = rig_start(&g, "inproc://test-worker-real", 1, 1000);
    char err[256];
    size_t tlen, n;
    char *text = util_read_file("../shared/reports/xiangxiang-minzheng-2024.txt", 1u << 20, &tlen, err, sizeof err);
    assert_non_null(text);
    Reportd__Document doc = REPORTD__DOCUMENT__INIT;
    doc.data.data = (uint8_t *)text;
    doc.data.len = tlen;
    doc.has_form = 1;
    doc.form = REPORTD__DOCUMENT_FORM__FORM_TEXT;
    Reportd__Submission sub = REPORTD__SUBMISSION__INIT;
    sub.schema_version = 1;
    sub.submission_id = (char *)"real-1";
    sub.content_case = REPORTD__SUBMISSION__CONTENT_DOCUMENT;
    sub.document = &doc;
    n = reportd__submission__get_packed_size(&sub);
    uint8_t *body = xmalloc(n);
    reportd__submission__pack(&sub, body);
    send_request(&g, ready, "client-real", body, n);
    struct mdp_msg *rep = recv_cmd(g.router, 20000, MDP_REPLY);
    assert_non_null(rep);
    /* identity, "", MDPW01, REPLY, client address, "", Result */
    assert_int_equal(rep->n, 7);
    assert_true(same_identity(rep, ready));
    assert_true(mdp_msg_is(rep, 1, ""));
    assert_true(mdp_msg_is(rep, 2, "MDPW01"));
    assert_true(mdp_msg_is(rep, 4, "client-real"));
    assert_true(mdp_msg_is(rep, 5, ""));
    Reportd__Result *r = reportd__result__unpack(NULL, mdp_msg_size(rep, 6), mdp_msg_data(rep, 6));
    assert_non_null(r);
    assert_string_equal(r->submission_id, "real-1");
    assert_int_equal(r->status, REPORTD__STATUS__STATUS_FAIL);
    assert_int_equal(r->n_findings, 8);
    assert_string_equal(r->findings[0]->rule, "R-CELL-MISSING");
    assert_string_equal(r->findings[6]->rule, "R-S3-RESULTSUM");
    assert_string_equal(r->enrichment->region->code, "430381");
    reportd__result__free_unpacked(r, NULL);
    assert_int_equal(worker_served(g.pool), 1);
    mdp_msg_destroy(&rep);
    mdp_msg_destroy(&ready);
    free(body);
    free(text);
    rig_stop(&g);
}

/* What is not a worker command for it is dropped; the worker keeps serving. */
static void test_worker_drops_invalid_messages(void **state)
{
    (void)state;
    struct rig g;
    struct mdp_msg *ready = rig_start(&g, "inproc://test-worker-invalid", 1, 1000);
    static const unsigned char bad_cmd[] = {0x09};
    struct mdp_msg *m = mdp_msg_new();                       /* a client frame, not MDPW01 */
    mdp_msg_addframe(m, ready, 0);
    mdp_msg_add(m, "", 0);
    mdp_msg_addstr(m, "MDPC01");
    mdp_msg_addstr(m, "report.check");
    assert_int_equal(mdp_msg_send(m, g.router, 0), 0);
    mdp_msg_destroy(&m);
    m = mdp_msg_new();                                       /* an unknown command */
    mdp_msg_addframe(m, ready, 0);
    mdp_msg_add(m, "", 0);
    mdp_msg_addstr(m, "MDPW01");
    mdp_msg_add(m, bad_cmd, 1);
    assert_int_equal(mdp_msg_send(m, g.router, 0), 0);
    mdp_msg_destroy(&m);
    m = mdp_worker_cmd(mdp_msg_data(ready, 0), mdp_msg_size(ready, 0), MDP_REPLY);   /* a broker never sends it */
    mdp_msg_addstr(m, "client-x");
    mdp_msg_add(m, "", 0);
    mdp_msg_add(m, "x", 1);
    assert_int_equal(mdp_msg_send(m, g.router, 0), 0);
    mdp_msg_destroy(&m);
    m = mdp_worker_cmd(mdp_msg_data(ready, 0), mdp_msg_size(ready, 0), MDP_REQUEST);  /* no address */
    assert_int_equal(mdp_msg_send(m, g.router, 0), 0);
    mdp_msg_destroy(&m);
    send_request(&g, ready, "client-after", "x", 1);
    struct mdp_msg *rep = recv_cmd(g.router, 5000, MDP_REPLY);
    assert_non_null(rep);
    assert_true(same_identity(rep, ready));                  /* the same connection: no reconnect */
    assert_true(mdp_msg_is(rep, 4, "client-after"));
    assert_int_equal(worker_served(g.pool), 1);
    mdp_msg_destroy(&rep);
    mdp_msg_destroy(&ready);
    rig_stop(&g);
}

/* A broker silent for heartbeat × liveness: the worker registers again on a
 * new socket, and answers there. */
static void test_worker_reconnects_to_a_silent_broker(void **state)
{
    (void)state;
    struct rig g;
    struct mdp_msg *ready = rig_start(&g, "inproc://test-worker-silent", 1, 50);
    struct mdp_msg *again = recv_cmd(g.router, 5000, MDP_READY);   /* the test never speaks */
    assert_non_null(again);
    assert_false(same_identity(again, ready));
    send_request(&g, again, "client-new", "x", 1);
    struct mdp_msg *rep = recv_cmd(g.router, 5000, MDP_REPLY);
    assert_non_null(rep);
    assert_true(same_identity(rep, again));
    assert_true(mdp_msg_is(rep, 4, "client-new"));
    mdp_msg_destroy(&rep);
    mdp_msg_destroy(&again);
    mdp_msg_destroy(&ready);
    rig_stop(&g);
}

/* Three threads: three registrations, each answering its own request once. */
static void test_worker_pool_threads(void **state)
{
    (void)state;
    struct rig g;
    struct mdp_msg *ready[3] = {rig_start(&g, "inproc://test-worker-pool", 3, 1000)};
    for (int i = 0; i < 3; i++) {
        if (i)
            ready[i] = recv_cmd(g.router, 2000, MDP_READY);
        assert_non_null(ready[i]);
        for (int j = 0; j < i; j++)
            assert_false(same_identity(ready[i], ready[j]));
    }
    for (int i = 0; i < 3; i++) {
        char client[16];
        snprintf(client, sizeof client, "client-%d", i);
        send_request(&g, ready[i], client, "x", 1);
    }
    int seen[3] = {0};
    for (int k = 0; k < 3; k++) {
        struct mdp_msg *rep = recv_cmd(g.router, 5000, MDP_REPLY);
        assert_non_null(rep);
        for (int i = 0; i < 3; i++) {
            char client[16];
            snprintf(client, sizeof client, "client-%d", i);
            if (mdp_msg_is(rep, 4, client)) {
                assert_true(same_identity(rep, ready[i]));  /* answered by the thread asked */
                seen[i]++;
            }
        }
        mdp_msg_destroy(&rep);
    }
    assert_int_equal(seen[0] + seen[1] + seen[2], 3);
    assert_true(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
    assert_int_equal(worker_served(g.pool), 3);
    for (int i = 0; i < 3; i++)
        mdp_msg_destroy(&ready[i]);
    rig_stop(&g);
}

/* The fault hook of the next test: where each check runs (its thread id) and
 * how many threads the process has while it runs. */
#define MANY_CHECKS 50
static atomic_int noted;
static pid_t noted_tid[MANY_CHECKS];
static int noted_tasks[MANY_CHECKS];

static int count_tasks(void)
{
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void note_check(const void *body, size_t len)
{
    (void)body;
    (void)len;
    int i = atomic_fetch_add(&noted, 1);
    if (i < MANY_CHECKS) {
        noted_tid[i] = gettid();
        noted_tasks[i] = count_tasks();
    }
}

/* Frame i of m is a Result for exactly sid. */
static void assert_result_for(const struct mdp_msg *m, size_t i, const char *sid)
{
    Reportd__Result *r = reportd__result__unpack(NULL, mdp_msg_size(m, i), mdp_msg_data(m, i));
    assert_non_null(r);
    assert_string_equal(r->submission_id, sid);
    reportd__result__free_unpacked(r, NULL);
}

/* The test's side of the next test: REQUEST sid for client on the worker that
 * sent ready; its REPLY, on that connection, carries client and exactly sid. */
static void assert_checked(struct rig *g, const struct mdp_msg *ready, const char *client,
                           const char *sid)
{
    size_t len;
    uint8_t *body = bf_submission(sid, &len);
    send_request(g, ready, client, body, len);
    struct mdp_msg *rep = recv_cmd(g->router, 20000, MDP_REPLY);
    assert_non_null(rep);                                   /* NULL: the check hung */
    assert_int_equal(rep->n, 7);
    assert_true(same_identity(rep, ready));
    assert_true(mdp_msg_is(rep, 4, client));
    assert_result_for(rep, 6, sid);
    mdp_msg_destroy(&rep);
    free(body);
}

/* Fifty checks one after the other on one worker thread: each REPLY carries
 * its own request's client and submission id (none hangs, none gets an
 * earlier Result), every check runs on the same thread (the worker thread's
 * one check thread, not a thread per check), and the process has as many
 * threads during the 50th check as during the first. */
static void test_worker_one_check_thread_for_many_checks(void **state)
{
    (void)state;
    struct rig g;
    atomic_store(&noted, 0);
    worker_fault_hook = note_check;
    struct mdp_msg *ready = rig_start(&g, "inproc://test-worker-many", 1, 1000);
    for (int i = 0; i < MANY_CHECKS; i++) {
        char client[16], sid[40];
        snprintf(client, sizeof client, "client-%d", i);
        snprintf(sid, sizeof sid, "00000000-0000-4000-8000-0000000010%02d", i);
        assert_checked(&g, ready, client, sid);
    }
    assert_int_equal(worker_served(g.pool), MANY_CHECKS);
    rig_stop(&g);
    worker_fault_hook = NULL;
    assert_int_equal(atomic_load(&noted), MANY_CHECKS);
    assert_int_not_equal(noted_tid[0], gettid());
    for (int i = 1; i < MANY_CHECKS; i++) {
        assert_int_equal(noted_tid[i], noted_tid[0]);
        assert_int_equal(noted_tasks[i], noted_tasks[0]);
    }
    mdp_msg_destroy(&ready);
}

/* The fault hook of the next test: the check of SLOW_SID takes 300 ms. */
#define SLOW_SID "00000000-0000-4000-8000-000000002001"
static atomic_int slow_started;

static void slow_for_one(const void *body, size_t len)
{
    if (memmem(body, len, SLOW_SID, strlen(SLOW_SID))) {
        atomic_store(&slow_started, 1);
        struct timespec ts = {0, 300 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Wait (at most ~10 s) until get(arg) reaches want; its last value. */
static long wait_for(long (*get)(void *), void *arg, long want)
{
    long v = get(arg);
    for (int i = 0; i < 1000 && v < want; i++) {
        usleep(10000);
        v = get(arg);
    }
    return v;
}

static long get_slow_started(void *arg)
{
    (void)arg;
    return atomic_load(&slow_started);
}

static long get_served(void *arg)
{
    return (long)worker_served(arg);
}

/* A one-thread worker on ep (the rig's), in the middle of checking SLOW_SID
 * for client: returns its READY once the check has begun. */
static struct mdp_msg *start_slow_check(struct rig *g, const char *ep, const char *client)
{
    atomic_store(&slow_started, 0);
    worker_fault_hook = slow_for_one;
    struct mdp_msg *ready = rig_start(g, ep, 1, 1000);
    size_t len;
    uint8_t *body = bf_submission(SLOW_SID, &len);
    send_request(g, ready, client, body, len);
    free(body);
    assert_int_equal(wait_for(get_slow_started, NULL, 1), 1);
    return ready;
}

/* The broker says DISCONNECT while a check runs: the worker registers again
 * on a new socket; that check's Result is not sent there (its job belongs to
 * the old connection, and no REPLY carries it); the next request, on the new
 * connection, is answered with its own Result. */
static void test_worker_check_outlives_its_connection(void **state)
{
    (void)state;
    struct rig g;
    struct mdp_msg *ready = start_slow_check(&g, "inproc://test-worker-outlive", "client-old");
    struct mdp_msg *bye = mdp_worker_cmd(mdp_msg_data(ready, 0), mdp_msg_size(ready, 0), MDP_DISCONNECT);
    assert_int_equal(mdp_msg_send(bye, g.router, 0), 0);
    mdp_msg_destroy(&bye);
    struct mdp_msg *again = recv_cmd(g.router, 5000, MDP_READY);
    assert_non_null(again);
    assert_false(same_identity(again, ready));
    assert_int_equal(wait_for(get_served, g.pool, 1), 1);   /* the slow check is over */
    /* the first REPLY the test sees is the new request's, on the new connection */
    assert_checked(&g, again, "client-new", "00000000-0000-4000-8000-000000002002");
    assert_int_equal(worker_served(g.pool), 2);
    rig_stop(&g);
    worker_fault_hook = NULL;
    mdp_msg_destroy(&again);
    mdp_msg_destroy(&ready);
}

/* The worker is told to stop (stopfd, what TERM does) while a check runs: it
 * finishes that check and answers it, then says DISCONNECT, and its threads
 * end (worker_join returns). */
static void test_worker_stop_answers_the_check_in_hand(void **state)
{
    (void)state;
    struct rig g;
    struct mdp_msg *ready = start_slow_check(&g, "inproc://test-worker-stop", "client-stop");
    eventfd_write(g.stopfd, 1);
    worker_join(&g.pool);
    /* recv_cmd drops what it does not wait for: a DISCONNECT before the REPLY fails here */
    struct mdp_msg *rep = recv_cmd(g.router, 2000, MDP_REPLY);
    assert_non_null(rep);
    assert_true(same_identity(rep, ready));
    assert_true(mdp_msg_is(rep, 4, "client-stop"));
    assert_result_for(rep, 6, SLOW_SID);
    struct mdp_msg *bye = recv_cmd(g.router, 2000, MDP_DISCONNECT);
    assert_non_null(bye);
    assert_true(same_identity(bye, ready));
    rig_stop(&g);
    worker_fault_hook = NULL;
    mdp_msg_destroy(&bye);
    mdp_msg_destroy(&rep);
    mdp_msg_destroy(&ready);
}

/* A plain report.check through client, answered: the Result names sid. */
static void assert_answered(void *client, const char *sid)
{
    size_t len;
    uint8_t *body = bf_submission(sid, &len);
    struct mdp_msg *r = bf_call(client, "report.check", body, len, NULL, 0);
    assert_int_equal(r->n, 1);
    assert_result_for(r, 0, sid);
    mdp_msg_destroy(&r);
    free(body);
}

/* worker.connect with two brokers: one pool serves both; a request through
 * either is answered; with one broker stopped the other still is; the
 * stopped one, started again, is served again (its threads reconnected). */
static void test_worker_serves_two_brokers(void **state)
{
    (void)state;
    char err[512] = "";
    struct brokerfix a = {0}, b = {0};
    int port = 16000 + (int)(getpid() % 1000) * 4;   /* below the ephemeral range */
    assert_int_equal(bf_init(&a, "test_worker_a", xasprintf("tcp://127.0.0.1:%d", port),
                             xasprintf("tcp://127.0.0.1:%d", port + 1)), 0);
    assert_int_equal(bf_init(&b, "test_worker_b", xasprintf("tcp://127.0.0.1:%d", port + 2),
                             xasprintf("tcp://127.0.0.1:%d", port + 3)), 0);
    struct brokerfix *both[2] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        both[i]->cfg.heartbeat_ms = 100;
        both[i]->cfg.liveness = 3;
        both[i]->cfg.reconnect_min_ms = 10;
        both[i]->cfg.reconnect_max_ms = 100;
        assert_int_equal(bf_start(both[i], 50000), 0);
    }
    struct checker *chk =
        checker_new(&(struct checker_options){.datadir = "config"}, err, sizeof err);
    assert_non_null(chk);
    int stopfd = eventfd(0, 0);
    char *list = xasprintf("%s,%s", a.cfg.broker_bind, b.cfg.broker_bind);
    struct worker_pool *pool = worker_start(a.ctx, &a.cfg, list, 1, chk, stopfd, err, sizeof err);
    assert_non_null(pool);
    void *ca = bf_dealer(&a), *cb = bf_dealer(&b);
    assert_answered(ca, "00000000-0000-4000-8000-0000000000a1");
    assert_answered(cb, "00000000-0000-4000-8000-0000000000b1");
    bf_stop(&a);                                       /* broker A is gone */
    assert_answered(cb, "00000000-0000-4000-8000-0000000000b2");
    assert_answered(cb, "00000000-0000-4000-8000-0000000000b3");
    assert_int_equal(bf_start(&a, 50000), 0);          /* and back: served again */
    assert_answered(ca, "00000000-0000-4000-8000-0000000000a2");
    assert_int_equal(worker_served(pool), 5);
    eventfd_write(stopfd, 1);
    worker_join(&pool);
    bf_stop(&a);
    bf_stop(&b);
    close(stopfd);
    free(list);
    checker_destroy(&chk);
    assert_int_equal(bf_free(&a), 0);
    assert_int_equal(bf_free(&b), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worker_speaks_mdpw01),
        cmocka_unit_test(test_worker_heartbeats_while_checking),
        cmocka_unit_test(test_worker_serves_after_bad_pdfs),
        cmocka_unit_test(test_worker_checks_a_real_report),
        cmocka_unit_test(test_worker_drops_invalid_messages),
        cmocka_unit_test(test_worker_reconnects_to_a_silent_broker),
        cmocka_unit_test(test_worker_pool_threads),
        cmocka_unit_test(test_worker_one_check_thread_for_many_checks),
        cmocka_unit_test(test_worker_check_outlives_its_connection),
        cmocka_unit_test(test_worker_stop_answers_the_check_in_hand),
        cmocka_unit_test(test_worker_serves_two_brokers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
