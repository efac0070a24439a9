/* test_worker: a worker thread (real checker on config/) under a broker played
 * by the test over inproc:// — exact READY, a REPLY carrying the client
 * address back, a REJECTED Result for garbage instead of a crash, heartbeats,
 * and a new socket (new identity) with a new READY after DISCONNECT. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "check/check.h"
#include "conf/config.h"
#include "wire/mdp.h"
#include "report.pb-c.h"
#include "worker/worker.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worker_speaks_mdpw01),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
