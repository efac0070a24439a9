/* store_pg_private: the PostgreSQL backend's state and statement helpers,
 * shared by its three files only: store_pg.c (the ops table, the connection
 * and its batch, the jobs, log, replay, history and retention),
 * store_pg_lead.c (several brokers on one database: leadership, fencing,
 * claims) and store_pg_layout.c (the tables made, migrated, and checked by
 * --check-config). Nothing else includes it; the public face is store.h's
 * store_pg. The only files that speak libpq, with pglink.c. */
#ifndef REPORTD_STORE_PG_PRIVATE_H
#define REPORTD_STORE_PG_PRIVATE_H

#include <inttypes.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "broker/store.h"

/* The layout this code writes, in reportd_meta. */
#define STORE_PG_LAYOUT 2

struct spool {
    struct spool_base base;     /* first: spool.c reads the ops */
    PGconn *db;
    size_t uncommitted;         /* writes in the open transaction */
    int in_tx;                  /* BEGIN sent, no COMMIT/ROLLBACK yet */
    int busy;                   /* a commit begun and not ended */
    int done_fd;                /* eventfd: readable once a commit is begun */
    uint64_t committed_seq;     /* highest durable sequence number */
    uint64_t last_seq;          /* highest sequence number, maybe uncommitted */
    int64_t put_rowid;          /* the pos the last put stored */
    int role;                   /* STORE_PG_ALONE until spool_lead, then leader or standby */
    uint64_t epoch;             /* leader_epoch: the one this leader raised, else the last seen */
    int lock_pid;               /* the leader's server process (a reconnect loses the lock) */
    int deposed;                /* a write found another epoch: leading no more */
    char *dsn;                  /* as opened: a reconnection uses it */
    int live;                   /* opened: a broken connection is made again */
    int down;                   /* the connection broke: every op fails until spool_link */
    int batch_lost;             /* the open batch went with it: its commit fails */
    struct pglink *link;        /* while down: the thread making a new connection */
    int64_t down_ms;            /* monotonic ms of the last break */
    uint64_t reconnects;
    char why[300];              /* the error that broke it, one line */
};

/* Several brokers on one database (spool_lead): the one holding the advisory
 * lock LEAD_LOCK (store_pg_lead.c) leads; the others are standby. A spool
 * never asked (tests, tools) is alone: the only broker, as before. */
enum { STORE_PG_ALONE = 0, STORE_PG_LEADER = 1, STORE_PG_STANDBY = 2 };

/* Parameters of one statement: text, or bytes (binary). */
struct params {
    int n;
    const char *v[8];
    int len[8];
    int fmt[8];
    char num[8][24];
};

static inline void p_text(struct params *p, const char *s)
{
    p->v[p->n] = s;
    p->len[p->n] = 0;
    p->fmt[p->n++] = 0;
}

static inline void p_int(struct params *p, int64_t x)
{
    snprintf(p->num[p->n], sizeof p->num[p->n], "%" PRId64, x);
    p_text(p, p->num[p->n]);
}

static inline void p_bytes(struct params *p, const void *b, size_t len)
{
    p->v[p->n] = b ? b : "";
    p->len[p->n] = (int)len;
    p->fmt[p->n++] = 1;
}

static inline int64_t cell_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}
/* store_pg.c: the statement helpers. */
/* The server's message on one line, in err (or that the store is down); -1. */
int store_pg_dberr(struct spool *sp, char *err, size_t errlen, const char *what);
/* Run q; the result (caller PQclear's) when its status is ok, else NULL (a
 * broken connection takes the store down). */
PGresult *store_pg_run(struct spool *sp, const char *q, const struct params *p);
/* Run a write; rows changed, or -1. */
long store_pg_run_changes(struct spool *sp, const char *q, const struct params *p);
/* Every write goes through here: the batch's transaction opened (and fenced)
 * on first use. 0, or -1 with err. */
int store_pg_begin(struct spool *sp, char *err, size_t errlen);

/* store_pg_lead.c: several brokers on one database. */
/* A leader's batch, right after its BEGIN: 0 while leader_epoch is still its
 * own, else -1 with err, rolled back and deposed. */
int store_pg_fence(struct spool *sp, char *err, size_t errlen);
/* 0 when this broker may write what only the leader writes, else -1 with err. */
int store_pg_leader_only(struct spool *sp, char *err, size_t errlen, const char *what);
/* A standby's new pending job: NOTIFY the leader at commit. 0, or -1. */
int store_pg_notify_leader(struct spool *sp);
/* The epoch and the committed sequence read again from the database. 0, or
 * -1 (with err when err is not NULL). */
int store_pg_read_meta(struct spool *sp, char *err, size_t errlen);
/* The ops spool_lead, spool_claim and spool_wake_fd (store.h). */
int store_pg_lead(struct spool *sp, uint64_t *epoch, char *err, size_t errlen);
long store_pg_claim(struct spool *sp, size_t limit, int poll, char *err, size_t errlen);
int store_pg_wake_fd(const struct spool *sp);

/* store_pg_layout.c: reportd's tables. */
/* Bring an opened database to STORE_PG_LAYOUT (made, or migrated), or
 * refuse it: 0, or -1 with err. */
int store_pg_layout(struct spool *sp, char *err, size_t errlen);
/* The op check (reportd --check-config): 0, or a sysexits code with err. */
int store_pg_check(const char *dsn, char *err, size_t errlen);

#endif
