/* brokerfix: the broker in a thread, for the tests that drive it over real
 * sockets (test_broker, test_frames, test_zap): a temporary directory for the
 * spool, a ZeroMQ context, the stop eventfd, the DEALERs a test makes (closed
 * for it), and teardown in the right order. Header-only: each test program is
 * one translation unit. Include after cmocka.h. */
#ifndef REPORTD_BROKERFIX_H
#define REPORTD_BROKERFIX_H

#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "broker/broker.h"
#include "conf/config.h"
#include "base/util.h"
#include "report.pb-c.h"
#include "wire/mdp.h"

#define BROKERFIX_SOCKS 24

struct brokerfix {
    void *ctx;
    struct config cfg;
    char dir[64];
    int stopfd;
    pthread_t thread;
    int run_rc;
    int running;                /* the thread was started and not yet joined */
    int drain;                  /* 1: broker_drain after the run, as main.c does on TERM */
    int drain_rc;               /* what broker_drain returned */
    struct broker_stats final;  /* the broker's counters just before it was destroyed */
    void *socks[BROKERFIX_SOCKS];  /* closed by bf_free */
    int nsocks;
};

static inline void *bf_thread(void *arg)
{
    struct brokerfix *b = arg;
    char err[256];
    struct broker *br = broker_new(b->ctx, &b->cfg, NULL, err, sizeof err);
    if (!br) {
        fprintf(stderr, "broker_new: %s\n", err);
        b->run_rc = -1;
        return NULL;
    }
    b->run_rc = broker_run(br, b->stopfd, err, sizeof err);
    if (b->run_rc != 0)
        fprintf(stderr, "broker_run: %s\n", err);
    if (b->drain)
        b->drain_rc = broker_drain(br, 1000, err, sizeof err);
    broker_stats(br, &b->final);
    broker_destroy(&br);
    return NULL;
}

/* A temporary directory /tmp/NAME.XXXXXX, the default config with the spool
 * in it and the broker on broker_ep / publish_ep, a context and a stop fd.
 * Returns 0, or -1 when the directory cannot be made. */
static inline int bf_init(struct brokerfix *b, const char *name, char *broker_ep, char *publish_ep)
{
    snprintf(b->dir, sizeof b->dir, "/tmp/%s.XXXXXX", name);
    if (!mkdtemp(b->dir))
        return -1;
    config_defaults(&b->cfg);
    free(b->cfg.broker_bind);
    free(b->cfg.publish_bind);
    free(b->cfg.spool_path);
    b->cfg.broker_bind = broker_ep;
    b->cfg.publish_bind = publish_ep;
    b->cfg.spool_path = xasprintf("%s/spool.db", b->dir);
    b->ctx = zmq_ctx_new();
    b->stopfd = eventfd(0, 0);
    return 0;
}

/* Start the broker thread and give it settle_us to bind; its result so far. */
static inline int bf_start(struct brokerfix *b, useconds_t settle_us)
{
    pthread_create(&b->thread, NULL, bf_thread, b);
    b->running = 1;
    usleep(settle_us);
    return b->run_rc;
}

/* Keep s to be closed by bf_free; returns s. */
static inline void *bf_keep(struct brokerfix *b, void *s)
{
    assert_true(b->nsocks < BROKERFIX_SOCKS);
    b->socks[b->nsocks++] = s;
    return s;
}

/* A SUB connected to the broker's publication, subscribed to everything,
 * closed by bf_free. */
static inline void *bf_subscriber(struct brokerfix *b)
{
    void *s = bf_keep(b, zmq_socket(b->ctx, ZMQ_SUB));
    zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    zmq_connect(s, b->cfg.publish_bind);
    return s;
}

/* A DEALER (linger 0) connected to the broker, closed by bf_free. */
static inline void *bf_dealer(struct brokerfix *b)
{
    void *s = zmq_socket(b->ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    bf_keep(b, s);
    assert_int_equal(zmq_connect(s, b->cfg.broker_bind), 0);
    return s;
}

/* The next message on s within ms (at most 4096 frames), or NULL. */
static inline struct mdp_msg *bf_recv(void *s, int ms)
{
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) <= 0)
        return NULL;
    return mdp_msg_recv(s, 0, 4096);
}

/* The next worker command other than HEARTBEAT on s within ms, or NULL. */
static inline struct mdp_msg *bf_recv_cmd(void *s, int ms)
{
    for (int waited = 0; waited < ms; waited += 20) {
        struct mdp_msg *m = bf_recv(s, 20);
        if (m && mdp_msg_is(m, 2, "\x04")) {
            mdp_msg_destroy(&m);
            continue;
        }
        if (m)
            return m;
    }
    return NULL;
}

/* Send n string frames on s. */
static inline void bf_send(void *s, int n, ...)
{
    struct mdp_msg *m = mdp_msg_new();
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *p = va_arg(ap, const char *);
        mdp_msg_add(m, p, strlen(p));
    }
    va_end(ap);
    assert_int_equal(mdp_msg_send(m, s, 0), 0);
    mdp_msg_destroy(&m);
}

/* A client REQUEST for service (body frames b1, b2 when not NULL) on the
 * DEALER client and its answer within 2 s: the answer's body frames. */
static inline struct mdp_msg *bf_call(void *client, const char *service, const void *b1,
                                      size_t l1, const void *b2, size_t l2)
{
    struct mdp_msg *m = mdp_client_cmd(NULL, 0, service);
    if (b1)
        mdp_msg_add(m, b1, l1);
    if (b2)
        mdp_msg_add(m, b2, l2);
    mdp_msg_send(m, client, 0);
    mdp_msg_destroy(&m);
    struct mdp_msg *r = bf_recv(client, 2000);
    assert_non_null(r);
    assert_true(mdp_msg_is(r, 0, ""));
    assert_true(mdp_msg_is(r, 1, "MDPC01"));
    assert_true(mdp_msg_is(r, 2, service));
    struct mdp_msg *body = mdp_msg_new();
    for (size_t i = 3; i < r->n; i++)
        mdp_msg_addframe(body, r, i);
    mdp_msg_destroy(&r);
    return body;
}

/* A DEALER that said READY for service. */
static inline void *bf_worker(struct brokerfix *b, const char *service)
{
    void *w = bf_dealer(b);
    bf_send(w, 4, "", "MDPW01", "\x01", service);
    usleep(30000);
    return w;
}

/* A packed Submission with this id (region 430381, no document); *len its size. */
static inline uint8_t *bf_submission(const char *sid, size_t *len)
{
    Reportd__Submission s = REPORTD__SUBMISSION__INIT;
    Reportd__Body body = REPORTD__BODY__INIT;
    s.schema_version = 1;
    s.submission_id = (char *)sid;
    body.region_code = (char *)"430381";
    s.body = &body;
    *len = reportd__submission__get_packed_size(&s);
    uint8_t *buf = xmalloc(*len);
    reportd__submission__pack(&s, buf);
    return buf;
}

/* A packed Result of status for sid (region 430381); *len its size. */
static inline uint8_t *bf_result(const char *sid, Reportd__Status status, size_t *len)
{
    Reportd__Result r = REPORTD__RESULT__INIT;
    Reportd__Body body = REPORTD__BODY__INIT;
    r.schema_version = 1;
    r.submission_id = (char *)sid;
    r.status = status;
    body.region_code = (char *)"430381";
    r.body = &body;
    *len = reportd__result__get_packed_size(&r);
    uint8_t *buf = xmalloc(*len);
    reportd__result__pack(&r, buf);
    return buf;
}

/* A packed FAIL Result for sid (region 430381): published on result.* and alert.*. */
static inline uint8_t *bf_fail_result(const char *sid, size_t *len)
{
    return bf_result(sid, REPORTD__STATUS__STATUS_FAIL, len);
}

/* Worker w answers REQUEST req (as received) with body. */
static inline void bf_reply(void *w, const struct mdp_msg *req, const void *body, size_t len)
{
    struct mdp_msg *rep = mdp_worker_cmd(NULL, 0, MDP_REPLY);
    mdp_msg_addframe(rep, req, 3);
    mdp_msg_add(rep, "", 0);
    mdp_msg_add(rep, body, len);
    assert_int_equal(mdp_msg_send(rep, w, 0), 0);
    mdp_msg_destroy(&rep);
}

/* Stop the broker and wait for its thread (nothing when it is not running). */
static inline void bf_stop(struct brokerfix *b)
{
    if (!b->running)
        return;
    eventfd_write(b->stopfd, 1);
    pthread_join(b->thread, NULL);
    b->running = 0;
    eventfd_t n;
    eventfd_read(b->stopfd, &n);    /* so bf_start can run the broker again */
}

/* Stop the broker and start it again on the same spool (a restart; bf_stop
 * resets the stop fd). Returns what bf_start returns. */
static inline int bf_restart(struct brokerfix *b, useconds_t settle_us)
{
    bf_stop(b);
    return bf_start(b, settle_us);
}

/* Close the kept sockets, end the context, free the config, remove the
 * directory. Call after bf_stop and after anything else using the context. */
static inline int bf_free(struct brokerfix *b)
{
    for (int i = 0; i < b->nsocks; i++)
        zmq_close(b->socks[i]);
    zmq_ctx_term(b->ctx);
    close(b->stopfd);
    config_free(&b->cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", b->dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
