/* test_frames: the broker's answers to bad frames over tcp://127.0.0.1, the
 * rows of the README's bad-input table not covered by test_broker: a message
 * of more than 64 frames, a frame over limits.max_message (libzmq drops the
 * connection), one just under it (served), and a registered worker that sends
 * garbage (DISCONNECT, deregistered). After each, the broker still answers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "broker/broker.h"
#include "brokerfix.h"
#include "conf/config.h"
#include "wire/mdp.h"
#include "base/util.h"

#define MAX_MESSAGE 65536       /* bytes: limits.max_message for these tests */

struct fixture {
    struct brokerfix b;         /* the broker thread, context, spool directory */
};

static int setup(void **state)
{
    static int n;
    struct fixture *f = calloc(1, sizeof *f);
    int port = 1100 + (int)(getpid() % 240) * 16 + ++n * 2;   /* below the ephemeral range */
    if (bf_init(&f->b, "test_frames", xasprintf("tcp://127.0.0.1:%d", port),
                xasprintf("tcp://127.0.0.1:%d", port + 1)) < 0)
        return -1;
    f->b.cfg.max_message = MAX_MESSAGE;
    f->b.cfg.heartbeat_ms = 100;
    *state = f;
    return bf_start(&f->b, 100000);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    bf_stop(&f->b);
    int rc = bf_free(&f->b);
    free(f);
    return rc;
}

/* mmi.service report.check with an extra body frame of pad bytes (may be 0). */
static void send_mmi(void *s, size_t pad)
{
    struct mdp_msg *m = mdp_client_cmd(NULL, 0, "mmi.service");
    mdp_msg_addstr(m, "report.check");
    if (pad) {
        char *zeros = xcalloc(1, pad);
        mdp_msg_add(m, zeros, pad);
        free(zeros);
    }
    assert_int_equal(mdp_msg_send(m, s, 0), 0);
    mdp_msg_destroy(&m);
}

/* A fresh client gets mmi.service's "404" (no worker): the broker serves. */
static void assert_broker_serves(struct fixture *f)
{
    void *s = bf_dealer(&f->b);
    send_mmi(s, 0);
    struct mdp_msg *r = bf_recv(s, 3000);
    assert_non_null(r);
    assert_true(mdp_msg_is(r, 1, "MDPC01"));
    assert_true(mdp_msg_is(r, 3, "404"));
    mdp_msg_destroy(&r);
}

static void test_frames_more_than_64_dropped(void **state)
{
    struct fixture *f = *state;
    void *s = bf_dealer(&f->b);
    /* identity, "", MDPC01, service and 61 body frames: 65 at the ROUTER */
    struct mdp_msg *m = mdp_client_cmd(NULL, 0, "mmi.service");
    for (int i = 0; i < 61; i++)
        mdp_msg_addstr(m, "report.check");
    assert_int_equal(mdp_msg_send(m, s, 0), 0);
    mdp_msg_destroy(&m);
    assert_null(bf_recv(s, 300));
    /* the same request with 60 body frames (64 in all) is answered */
    m = mdp_client_cmd(NULL, 0, "mmi.service");
    for (int i = 0; i < 60; i++)
        mdp_msg_addstr(m, "report.check");
    assert_int_equal(mdp_msg_send(m, s, 0), 0);
    mdp_msg_destroy(&m);
    struct mdp_msg *r = bf_recv(s, 3000);
    assert_non_null(r);
    assert_true(mdp_msg_is(r, 3, "404"));
    mdp_msg_destroy(&r);
}

static void test_frames_oversized_disconnects(void **state)
{
    struct fixture *f = *state;
    void *s = zmq_socket(f->b.ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    bf_keep(&f->b, s);
    assert_int_equal(zmq_socket_monitor(s, "inproc://test-frames-mon", ZMQ_EVENT_DISCONNECTED), 0);
    void *mon = zmq_socket(f->b.ctx, ZMQ_PAIR);
    bf_keep(&f->b, mon);
    assert_int_equal(zmq_connect(mon, "inproc://test-frames-mon"), 0);
    assert_int_equal(zmq_connect(s, f->b.cfg.broker_bind), 0);
    send_mmi(s, MAX_MESSAGE + 1);
    /* libzmq (ZMQ_MAXMSGSIZE) closes the connection; nothing is answered */
    zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 3000), 1);
    uint8_t ev[6];
    assert_int_equal(zmq_recv(mon, ev, sizeof ev, 0), 6);
    uint16_t id;
    memcpy(&id, ev, 2);
    assert_int_equal(id, ZMQ_EVENT_DISCONNECTED);
    assert_null(bf_recv(s, 300));
    /* a frame of exactly max_message is served */
    void *ok = bf_dealer(&f->b);
    send_mmi(ok, MAX_MESSAGE);
    struct mdp_msg *r = bf_recv(ok, 3000);
    assert_non_null(r);
    assert_true(mdp_msg_is(r, 3, "404"));
    mdp_msg_destroy(&r);
    assert_broker_serves(f);
}

static void test_frames_registered_worker_garbage(void **state)
{
    struct fixture *f = *state;
    void *w = bf_dealer(&f->b);
    struct mdp_msg *m = mdp_worker_cmd(NULL, 0, MDP_READY);
    mdp_msg_addstr(m, "report.check");
    assert_int_equal(mdp_msg_send(m, w, 0), 0);
    mdp_msg_destroy(&m);
    /* registered: mmi.service says 200 */
    void *c = bf_dealer(&f->b);
    struct mdp_msg *r = NULL;
    for (int i = 0; i < 50 && !r; i++) {
        send_mmi(c, 0);
        r = bf_recv(c, 200);
        if (r && !mdp_msg_is(r, 3, "200"))
            mdp_msg_destroy(&r);
    }
    assert_non_null(r);
    mdp_msg_destroy(&r);
    /* a garbage frame from it: DISCONNECT, and it is gone (404) */
    assert_int_equal(zmq_send(w, "\xff\xfe", 2, 0), 2);
    for (int i = 0; i < 20; i++) {
        r = bf_recv(w, 200);
        if (r && mdp_msg_is(r, 2, "\x05"))
            break;
        mdp_msg_destroy(&r);
    }
    assert_non_null(r);
    assert_int_equal(r->n, 3);
    mdp_msg_destroy(&r);
    assert_broker_serves(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_frames_more_than_64_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames_oversized_disconnects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames_registered_worker_garbage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
