/* broker: the 7/MDP broker (MDPC01 clients, MDPW01 workers on one ROUTER) with
 * 8/MMI, the 9/TSP Titanic services backed by the spool, the XPUB publication
 * and the reportd.replay / reportd.deadletter services. One thread owns it. */
#ifndef REPORTD_BROKER_H
#define REPORTD_BROKER_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct broker;

/* Open the spool, bind the ROUTER on cfg->broker_bind (and every extra endpoint
 * in binds, may be NULL) and the XPUB on cfg->publish_bind, and queue the
 * pending jobs found in the spool. cfg is borrowed for the broker's life.
 * Events go to base/log. Returns NULL with err. */
struct broker *broker_new(void *ctx, const struct config *cfg, const char *const *binds,
                          char *err, size_t errlen);
/* Commit the spool, tell workers DISCONNECT, close. NULL-safe. */
void broker_destroy(struct broker **bp);

/* Serve until stopfd (a signalfd or eventfd, never read here) is readable:
 * returns 0 then; -1 with err on a fatal socket or spool error. */
int broker_run(struct broker *b, int stopfd, char *err, size_t errlen);

/* After broker_run returned for TERM: hand out nothing new, refuse new
 * submissions ("500": retry later), wait up to timeout_ms for the workers'
 * jobs in flight to come back (Titanic ones still out stay pending in the
 * spool), commit. 0, or -1 with err — also when the spool file was deleted
 * under the running broker (spool_lost): the exit status must tell. */
int broker_drain(struct broker *b, int timeout_ms, char *err, size_t errlen);

/* Take the reloadable settings of next (heartbeat, liveness, expiry, batching,
 * max_attempts, alert policy) into the broker's config. Endpoints, spool path
 * and limits need a restart: returns how many of those differ (not applied). */
int broker_reload(struct broker *b, struct config *live, const struct config *next);

/* Call tick(arg) from the broker's loop, in broker_run and broker_drain, about
 * every interval_ms (for the watchdog, STATUS= and metrics). */
typedef void broker_tick_fn(void *arg);
void broker_set_tick(struct broker *b, int interval_ms, broker_tick_fn *tick, void *arg);

/* Record per-stage latencies into t (borrowed; NULL: none). */
struct telemetry;
void broker_set_telemetry(struct broker *b, struct telemetry *t);

/* Counters, for logs, metrics and tests. */
#define BROKER_NPROVINCES 35    /* 34 provincial codes and "unknown" */

struct broker_stats {
    uint64_t requests;          /* client REQUESTs accepted */
    uint64_t replies;           /* worker REPLYs accepted */
    uint64_t dropped;           /* invalid messages dropped */
    uint64_t redelivered;       /* jobs handed out again after a worker died */
    uint64_t dead;              /* jobs dead-lettered */
    size_t workers;             /* live workers */
    uint64_t received;          /* titanic.request messages (durable submissions) */
    uint64_t accepted;          /* … stored as a new job */
    uint64_t duplicate;         /* … whose submission id was already known */
    uint64_t rejected;          /* … refused: malformed, draining, spool error */
    uint64_t results[4];        /* Results recorded, by Status (PASS … REJECTED) */
    uint64_t alerts;            /* Results that raised an Alert */
    size_t queued;              /* jobs waiting for a worker (in memory or the spool) */
    size_t resident;            /* Titanic jobs held in memory (at most spool.window) */
    size_t in_flight;           /* jobs held by workers */
    uint64_t last_seq;          /* last published (committed) sequence number */
    int spool_ok;               /* 1 unless the last commit failed or the spool is lost */
    int spool_lost;             /* the spool file was deleted under the broker */
    int draining;               /* 1 after TERM */
    uint64_t spool_failures;    /* spool writes and commits that failed */
    size_t dead_waiting;        /* dead letters in the spool, not retried */
    int64_t oldest_queued_us;   /* µs the oldest waiting job has waited; 0: none waits */
    uint64_t zap_denied;        /* CURVE peers refused for their key */
    uint64_t zap_failed;        /* CURVE handshakes that failed */
    uint64_t alerts_by_province[BROKER_NPROVINCES];   /* telemetry_province_index */
    size_t services;            /* service names known */
    uint64_t pruned;            /* rows retention removed from the spool */
    int64_t oldest_at[4];       /* Unix s of the oldest retained item by spool_kind; 0: none */
    int leader;                 /* 1: hands out pending jobs (always with SQLite); 0: standby */
    uint64_t lead_epoch;        /* the leader's epoch (several brokers on PostgreSQL; 0: SQLite) */
    int store_down;             /* 1 while the store's database is unreachable */
    uint64_t store_reconnects;  /* times the store's connection was made again */
    int64_t store_down_ms;      /* monotonic ms the store went down (while down) */
    char store_why[400];        /* while down: the error, one line */
    int64_t store_bytes;        /* the store's size in its database (PostgreSQL) … */
    int store_sized;            /* … when 1; 0: the file's size is the spool's */
};
void broker_stats(const struct broker *b, struct broker_stats *st);

/* The seam for the dispatch fuzzer (tests/fuzz/fuzz_dispatch.c): drive the
 * broker's state machine without its ROUTER. broker_set_send sends what the
 * broker would send on its ROUTER to fn instead (fn returns 0, or -1 for an
 * unreachable peer); broker_feed handles m (frame 0 the peer's identity) as
 * if the ROUTER received it, then commits the spool batch; broker_advance
 * runs the heartbeat as if the monotonic clock read now_ms. */
struct mdp_msg;
typedef int broker_send_fn(void *arg, const struct mdp_msg *m);
void broker_set_send(struct broker *b, broker_send_fn *fn, void *arg);
void broker_feed(struct broker *b, struct mdp_msg *m);
void broker_advance(struct broker *b, int64_t now_ms);
/* The broker's invariants: a job is in one place (one queue or one worker's
 * hands, a worker's job of that worker's service); each queue's tail is its
 * last job; every Titanic job in memory is pending, and — while none waits
 * in the spool beyond spool.window — every pending job is in memory once; at most limits.max_services names
 * unless Titanic jobs forced their queues. 0, or -1 with what broke in err. */
int broker_check(struct broker *b, char *err, size_t errlen);

#endif
