/* broker_private: the broker's state, for the broker's own modules only (as
 * hiredis keeps its async_private.h): roster.c (workers and queues),
 * titanic.c (9/TSP), services.c (the other internal services) and broker.c,
 * which owns a struct broker and wires them. Includes point one way:
 * broker.c → services.c → outage.c → titanic.c → roster.c → this header.
 * Nothing outside daemon/broker/ includes it; the public face is broker.h.
 * One thread. */
#ifndef REPORTD_BROKER_PRIVATE_H
#define REPORTD_BROKER_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"
#include "broker/spool.h"
#include "wire/keys.h"

struct mdp_msg;
struct Reportd__Result;

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
    int64_t rowid;              /* Titanic: its row in the spool (its place in line) */
    int suspect;                /* Titanic: a worker died holding it among others */
    int isolated;               /* handed out while no other job was out … */
    uint64_t epoch;             /* … as dispatch number epoch (alone while it is the last) */
    int outcome;                /* in b->unrecorded: JOB_RESULT, JOB_BURIED, else 0 */
    struct mdp_msg *reply;      /* in b->replied: its worker's reply frames, kept for the commit's end */
    void *result;               /* JOB_RESULT: the Result's checked bytes, for the counts (or NULL) */
    size_t result_len;
    char worker[33];            /* JOB_RESULT: who answered (hex), for the log */
};

enum { JOB_RESULT = 1, JOB_BURIED = 2 };

struct ack {                    /* a titanic.request answer waiting for the commit */
    struct mdp_msg *msg;        /* "200", UUID */
    struct job *job;            /* the new job, queued once committed; NULL: duplicate … */
    int fresh;                  /* … or stored by a standby for the leader to claim */
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
    size_t len;                 /* of name */
    uint64_t hash;              /* of name (roster.c) */
    struct service *hnext;      /* next in its hash bucket */
    size_t index;               /* in broker.svcs */
    struct job *head, *tail;    /* queued jobs */
    struct worker **waiting;    /* idle workers, longest idle first */
    size_t nwaiting;
    size_t nworkers;
};

struct replay_credit {          /* a client that got reportd.replay bytes in this window */
    void *id;                   /* ROUTER identity */
    size_t idlen;
    uint64_t spent;
};

struct checker;

struct broker {
    const struct config *cfg;
    struct checker *checker;    /* for checker_body_key (history.c); NULL: no history */
    void *router;
    struct spool *sp;
    struct publisher *pub;
    struct service **svcs;      /* every service, in no order (for ticks and stats) */
    size_t nsvcs;
    struct service **buckets;   /* the same, by the hash of their name */
    size_t nbuckets;            /* a power of two, or 0 before the first */
    struct replay_credit *credits;  /* reportd.replay bytes per client in this window */
    size_t ncredits;
    uint64_t replay_spent;      /* … for all clients */
    int64_t replay_window_end;  /* ms (monotonic): the counts start again */
    struct worker **workers;
    size_t nworkers;
    struct ack *acks;           /* titanic.request answers waiting for the commit */
    size_t nacks, capacks;
    struct job *unrecorded;     /* jobs whose end (Result, dead letter) is in the open batch */
    size_t resident;            /* Titanic jobs in memory: queued, out, or in unrecorded */
    size_t spooled;             /* pending jobs left in the spool (window full), at most */
    int64_t cursor;             /* every pending job up to this rowid is in memory */
    size_t nsuspects;           /* suspect jobs: while any, they go out one at a time */
    uint64_t dispatches;        /* jobs handed out so far */
    int64_t hold_until;         /* ms (monotonic): a commit failed, hand nothing out */
    int spool_lost;             /* the spool file was deleted: acknowledge nothing */
    int leader;                 /* hands out pending jobs (always with SQLite; spool_lead) */
    uint64_t lead_epoch;        /* the leader's epoch as last seen (0: SQLite) */
    int64_t lead_at;            /* ms (monotonic): next try to lead, or look for claims */
    size_t claimed;             /* jobs claimed in the open batch: in line once committed */
    int woken;                  /* the spool's wake-up descriptor was readable */
    int stopping;               /* broker_run returned: take no lead any more */
    int64_t heartbeat_at;       /* ms */
    int64_t batch_started;      /* ms: first write of the open batch */
    int draining;               /* stopping: hand out nothing new */
    int spool_failed;           /* the last commit failed */
    int committing;             /* a commit runs in the spool's writer: no spool call now */
    int64_t commit_t0;          /* µs (monotonic): when it began */
    struct mdp_msg **deferred;  /* messages that need the spool, received meanwhile */
    size_t ndeferred, capdeferred;
    struct job *held;           /* plain jobs answered meanwhile: their publication waits */
    struct job *replied, *replied_tail; /* Titanic jobs answered meanwhile, oldest first: their
                                           workers took the next job; their Results wait */
    broker_tick_fn *tick;       /* the owner's periodic callback, or NULL */
    void *tick_arg;
    int tick_ms;                /* ms */
    int64_t tick_at;            /* ms (monotonic): next tick */
    struct telemetry *tm;       /* latency histograms, or NULL */
    int oldest_ticks;           /* retention ticks since the oldest items were read */
    int store_down;             /* the store's database is unreachable (outage.c) */
    struct spool_link link;     /* the store's link as outage_follow last saw it */
    int resyncing;              /* titanic_resync reads: skip what workers hold */
    int64_t size_at;            /* ms (monotonic): the store's size is read again then */
    struct broker_stats st;
    struct curve_keys keys;     /* the server's CURVE key; off without security.curve */
    struct zap *zap;            /* the ZAP handler thread, with security.curve */
    broker_send_fn *send;       /* the seam: where ROUTER messages go instead (NULL: ROUTER) */
    void *send_arg;
};

#endif
