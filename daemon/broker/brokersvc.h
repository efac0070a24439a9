/* brokersvc: the services the broker answers itself — 8/MMI (mmi.*), 9/TSP
 * (titanic.request/reply/close), reportd.replay and reportd.deadletter — and
 * the broker's internal structures they share with broker.c. Not for use
 * outside the broker. */
#ifndef REPORTD_BROKERSVC_H
#define REPORTD_BROKERSVC_H

#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"
#include "wire/keys.h"

struct zap;

struct mdp_msg;
struct mdp_parsed;

struct job {                    /* a request waiting for, or held by, a worker */
    struct job *next;
    char uuid[33];              /* Titanic job; "" for a plain MDP request */
    char submission_id[64];     /* Titanic: for dead-letter events */
    const char *service;        /* borrowed from its struct service */
    void *client;               /* plain: the client's ROUTER identity */
    size_t clen;
    struct mdp_msg *body;       /* body frames only */
    int deliveries;             /* plain: workers that died holding it */
    int64_t expires;            /* ms (monotonic); plain requests only */
    int64_t queued_us;          /* µs (monotonic): first queued, for latency metrics */
    int64_t sent_us;            /* µs (monotonic): handed to its worker */
};

struct worker {
    void *id;                   /* ROUTER identity */
    size_t idlen;
    struct service *svc;
    struct job *job;            /* in flight, or NULL */
    int64_t expiry;             /* ms (monotonic): dead after this without traffic */
};

struct service {
    char *name;
    struct job *head, *tail;    /* queued jobs */
    struct worker **waiting;    /* idle workers, longest idle first */
    size_t nwaiting;
    size_t nworkers;
};

struct broker {
    const struct config *cfg;
    broker_log_fn *log;
    void *router;
    struct spool *sp;
    struct publisher *pub;
    struct service **svcs;
    size_t nsvcs;
    struct worker **workers;
    size_t nworkers;
    struct mdp_msg **acks;      /* titanic.request answers waiting for the commit */
    size_t nacks, capacks;
    int64_t heartbeat_at;       /* ms */
    int64_t batch_started;      /* ms: first write of the open batch */
    int draining;               /* stopping: hand out nothing new */
    int spool_failed;           /* the last commit failed */
    broker_tick_fn *tick;       /* the owner's periodic callback, or NULL */
    void *tick_arg;
    int tick_ms;                /* ms */
    int64_t tick_at;            /* ms (monotonic): next tick */
    struct telemetry *tm;       /* latency histograms, or NULL */
    int64_t log_sec;
    int log_lines, log_suppressed;
    struct broker_stats st;
    struct curve_keys keys;     /* the server's CURVE key; off without security.curve */
    struct zap *zap;            /* the ZAP handler thread, with security.curve */
};

/* broker.c */
void broker_log(struct broker *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Nonzero for names the broker serves itself (mmi.*, titanic.*, reportd.*). */
int brokersvc_internal(const char *name, size_t len);
/* Answer a client REQUEST m (identity at frame 0) for an internal service. */
void brokersvc_handle(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p);
/* Queue a Titanic job already in the spool; submission_id may be NULL. */
void brokersvc_queue_titanic(struct broker *b, const char *uuid, const char *submission_id,
                             const char *service, const void *body, size_t len);
/* The batch committed: send the 200s. It failed: send 500s instead. */
void brokersvc_acks_flush(struct broker *b);
void brokersvc_acks_fail(struct broker *b);

#endif
