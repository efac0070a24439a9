/* brokerfix: the broker in a thread, for the tests that drive it over real
 * sockets (test_broker, test_frames, test_zap): a temporary directory for the
 * spool, a ZeroMQ context, the stop eventfd, the DEALERs a test makes (closed
 * for it), and teardown in the right order. Header-only: each test program is
 * one translation unit. Include after cmocka.h. */
#ifndef REPORTD_BROKERFIX_H
#define REPORTD_BROKERFIX_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "broker/broker.h"
#include "conf/config.h"
#include "base/util.h"

#define BROKERFIX_SOCKS 8

struct brokerfix {
    void *ctx;
    struct config cfg;
    char dir[64];
    int stopfd;
    pthread_t thread;
    int run_rc;
    int drain;                  /* 1: broker_drain after the run, as main.c does on TERM */
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
    if (b->drain)
        broker_drain(br, 1000, err, sizeof err);
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

/* Stop the broker and wait for its thread. */
static inline void bf_stop(struct brokerfix *b)
{
    eventfd_write(b->stopfd, 1);
    pthread_join(b->thread, NULL);
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
