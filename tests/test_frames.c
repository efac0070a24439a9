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

#include "broker.h"
#include "config.h"
#include "mdp.h"
#include "util.h"

#define MAX_MESSAGE 65536       /* bytes: limits.max_message for these tests */

struct fixture {
    void *ctx;
    struct config cfg;
    char dir[64];
    int stopfd;
    pthread_t thread;
    int run_rc;
    void *socks[8];
    int nsocks;
};

static void *broker_thread(void *arg)
{
    struct fixture *f = arg;
    char err[256];
    struct broker *b = broker_new(f->ctx, &f->cfg, NULL, NULL, err, sizeof err);
    if (!b) {
        fprintf(stderr, "broker_new: %s\n", err);
        f->run_rc = -1;
        return NULL;
    }
    f->run_rc = broker_run(b, f->stopfd, err, sizeof err);
    broker_destroy(&b);
    return NULL;
}

static int setup(void **state)
{
    static int n;
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_frames.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    config_defaults(&f->cfg);
    int port = 1100 + (int)(getpid() % 240) * 16 + ++n * 2;   /* below the ephemeral range */
    free(f->cfg.broker_bind);
    free(f->cfg.publish_bind);
    free(f->cfg.spool_path);
    f->cfg.broker_bind = xasprintf("tcp://127.0.0.1:%d", port);
    f->cfg.publish_bind = xasprintf("tcp://127.0.0.1:%d", port + 1);
    f->cfg.spool_path = xasprintf("%s/spool.db", f->dir);
    f->cfg.max_message = MAX_MESSAGE;
    f->cfg.heartbeat_ms = 100;
    f->ctx = zmq_ctx_new();
    f->stopfd = eventfd(0, 0);
    pthread_create(&f->thread, NULL, broker_thread, f);
    usleep(100000);
    *state = f;
    return f->run_rc;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    eventfd_write(f->stopfd, 1);
    pthread_join(f->thread, NULL);
    for (int i = 0; i < f->nsocks; i++)
        zmq_close(f->socks[i]);
    zmq_ctx_term(f->ctx);
    close(f->stopfd);
    config_free(&f->cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void *dealer(struct fixture *f)
{
    void *s = zmq_socket(f->ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    assert_true(f->nsocks < 8);
    f->socks[f->nsocks++] = s;
    assert_int_equal(zmq_connect(s, f->cfg.broker_bind), 0);
    return s;
}

static struct mdp_msg *recv_within(void *s, int ms)
{
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) <= 0)
        return NULL;
    return mdp_msg_recv(s, 0, 64);
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
    void *s = dealer(f);
    send_mmi(s, 0);
    struct mdp_msg *r = recv_within(s, 3000);
    assert_non_null(r);
    assert_true(mdp_msg_is(r, 1, "MDPC01"));
    assert_true(mdp_msg_is(r, 3, "404"));
    mdp_msg_destroy(&r);
}

static void test_frames_more_than_64_dropped(void **state)
{
    struct fixture *f = *state;
    void *s = dealer(f);
    /* identity, "", MDPC01, service and 61 body frames: 65 at the ROUTER */
    struct mdp_msg *m = mdp_client_cmd(NULL, 0, "mmi.service");
    for (int i = 0; i < 61; i++)
        mdp_msg_addstr(m, "report.check");
    assert_int_equal(mdp_msg_send(m, s, 0), 0);
    mdp_msg_destroy(&m);
    assert_null(recv_within(s, 300));
    /* the same request with 60 body frames (64 in all) is answered */
    m = mdp_client_cmd(NULL, 0, "mmi.service");
    for (int i = 0; i < 60; i++)
        mdp_msg_addstr(m, "report.check");
    assert_int_equal(mdp_msg_send(m, s, 0), 0);
    mdp_msg_destroy(&m);
    struct mdp_msg *r = recv_within(s, 3000);
    assert_non_null(r);
    assert_true(mdp_msg_is(r, 3, "404"));
    mdp_msg_destroy(&r);
}

static void test_frames_oversized_disconnects(void **state)
{
    struct fixture *f = *state;
    void *s = zmq_socket(f->ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    f->socks[f->nsocks++] = s;
    assert_int_equal(zmq_socket_monitor(s, "inproc://test-frames-mon", ZMQ_EVENT_DISCONNECTED), 0);
    void *mon = zmq_socket(f->ctx, ZMQ_PAIR);
    f->socks[f->nsocks++] = mon;
    assert_int_equal(zmq_connect(mon, "inproc://test-frames-mon"), 0);
    assert_int_equal(zmq_connect(s, f->cfg.broker_bind), 0);
    send_mmi(s, MAX_MESSAGE + 1);
    /* libzmq (ZMQ_MAXMSGSIZE) closes the connection; nothing is answered */
    zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 3000), 1);
    uint8_t ev[6];
    assert_int_equal(zmq_recv(mon, ev, sizeof ev, 0), 6);
    uint16_t id;
    memcpy(&id, ev, 2);
    assert_int_equal(id, ZMQ_EVENT_DISCONNECTED);
    assert_null(recv_within(s, 300));
    /* a frame of exactly max_message is served */
    void *ok = dealer(f);
    send_mmi(ok, MAX_MESSAGE);
    struct mdp_msg *r = recv_within(ok, 3000);
    assert_non_null(r);
    assert_true(mdp_msg_is(r, 3, "404"));
    mdp_msg_destroy(&r);
    assert_broker_serves(f);
}

static void test_frames_registered_worker_garbage(void **state)
{
    struct fixture *f = *state;
    void *w = dealer(f);
    struct mdp_msg *m = mdp_worker_cmd(NULL, 0, MDP_READY);
    mdp_msg_addstr(m, "report.check");
    assert_int_equal(mdp_msg_send(m, w, 0), 0);
    mdp_msg_destroy(&m);
    /* registered: mmi.service says 200 */
    void *c = dealer(f);
    struct mdp_msg *r = NULL;
    for (int i = 0; i < 50 && !r; i++) {
        send_mmi(c, 0);
        r = recv_within(c, 200);
        if (r && !mdp_msg_is(r, 3, "200"))
            mdp_msg_destroy(&r);
    }
    assert_non_null(r);
    mdp_msg_destroy(&r);
    /* a garbage frame from it: DISCONNECT, and it is gone (404) */
    assert_int_equal(zmq_send(w, "\xff\xfe", 2, 0), 2);
    for (int i = 0; i < 20; i++) {
        r = recv_within(w, 200);
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
