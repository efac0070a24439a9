/* store_pg: the spool's PostgreSQL backend (store.h), through libpq. Opened
 * with a connection string (a DSN: "host=… dbname=…" or a postgresql:// URI);
 * the same promises as store_sqlite.c: writes open a transaction (BEGIN) on
 * first use and stay in it until the commit, so nothing the broker
 * acknowledges is missing after a crash. The COMMIT runs synchronously in
 * commit_end, on the broker's thread (commit_begin only makes the commit
 * descriptor readable): the loop waits for the server's round trip and fsync,
 * unlike SQLite's writer thread. Layout 2, kept in reportd_meta('layout');
 * layout 1 is migrated on open:
 *   job(pos, uuid PK, submission_id, service, state, attempts, reply, status,
 *       reason, created_at, updated_at, reply_seq) — pos is the place in line
 *       (SQLite's rowid): a reopened or retried job gets max(pos) + 1
 *   body(uuid PK, data), published(seq PK, topic, body, at), history(body_key,
 *       year, report, submission_id, updated_at; PK (body_key, year))
 *   result(seq PK, data) — each published Result once, as in store_sqlite.c:
 *       a result.* publication's body is empty and the done job's reply_seq
 *       and the log both refer to it; deleted once neither does
 * The publication sequence is reportd_meta('seq'), raised by one under the
 * open transaction (not a SEQUENCE: a rolled-back batch must not leave a gap;
 * not max(seq) + 1: retention empties the log from its start). Several brokers
 * per database: the one holding the advisory lock LEAD_LOCK leads, its
 * batches fenced on reportd_meta('leader_epoch'); a standby's job has pos 0
 * (outside the line) until the leader claims it (spool_lead, spool_claim).
 * A connection that breaks (pglink_broken) takes the store down: every op
 * fails at once, the open batch's commit fails (nothing in it is
 * acknowledged), and pglink.c makes a new connection in a thread with
 * back-off, which spool_link takes over between batches (a leader's lock
 * goes with the old connection: it leads again only through spool_lead). */
#include "broker/store.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "broker/pglink.h"

/* The layout this code writes, in reportd_meta. */
#define LAYOUT 2

static const char schema[] =
    "CREATE TABLE reportd_meta(key text PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE job("
    " pos bigint NOT NULL, uuid text PRIMARY KEY, submission_id text, service text NOT NULL,"
    " state integer NOT NULL, attempts integer NOT NULL DEFAULT 0,"
    " reply bytea, status integer, reason text,"
    " created_at bigint NOT NULL, updated_at bigint NOT NULL, reply_seq bigint);"
    "CREATE INDEX job_state_pos ON job(state, pos);"
    "CREATE INDEX job_reply_seq ON job(reply_seq) WHERE state = 1;"
    "CREATE TABLE body(uuid text PRIMARY KEY, data bytea NOT NULL);"
    "CREATE TABLE published(seq bigint PRIMARY KEY, topic text NOT NULL, body bytea NOT NULL,"
    " at bigint NOT NULL);"
    "CREATE TABLE history("
    " body_key text NOT NULL, year integer NOT NULL, report bytea NOT NULL,"
    " submission_id text, updated_at bigint NOT NULL, PRIMARY KEY(body_key, year));"
    "CREATE TABLE result(seq bigint PRIMARY KEY, data bytea NOT NULL);"
    "INSERT INTO reportd_meta VALUES ('layout', '2'), ('seq', '0');";

/* Layout 1 kept a published Result as its publication's body: moved to
 * result, as store_sqlite.c's migrate_1. */
static const char migrate_1[] =
    "CREATE TABLE result(seq bigint PRIMARY KEY, data bytea NOT NULL);"
    "INSERT INTO result(seq, data) SELECT seq, body FROM published WHERE topic LIKE 'result.%';"
    "UPDATE published SET body = '' WHERE topic LIKE 'result.%';"
    "UPDATE job SET reply_seq = NULL WHERE state <> 1;"
    "UPDATE reportd_meta SET value = '2' WHERE key = 'layout';";

/* reportd's tables, for spool_size: a table added to the schema goes here. */
static const char size_query[] =
    "SELECT coalesce(sum(pg_total_relation_size(to_regclass(t))), 0)::bigint FROM"
    " unnest(ARRAY['reportd_meta', 'job', 'body', 'published', 'history', 'result']) t";

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
    int role;                   /* ROLE_ALONE until spool_lead, then leader or standby */
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
 * lock LEAD_LOCK leads; the others are standby. A spool never asked (tests,
 * tools) is alone: the only broker, as before. */
enum { ROLE_ALONE = 0, ROLE_LEADER = 1, ROLE_STANDBY = 2 };
#define LEAD_LOCK "7020597246031872"    /* "reportd" in some bits: one per database */
#define LAYOUT_LOCK "7020597246031873"  /* held while the tables are made or migrated */
#define LOCK_TIMEOUT "250ms"            /* the longest a statement waits for a row lock */
static int fence(struct spool *sp, char *err, size_t errlen);
static int leader_only(struct spool *sp, char *err, size_t errlen, const char *what);
static int notify_leader(struct spool *sp);
static int read_meta(struct spool *sp, char *err, size_t errlen);

static void pg_close(struct spool *sp);
static int pg_commit_end(struct spool *sp, char *err, size_t errlen);
static void fall(struct spool *sp);

static int64_t now(void)
{
    return (int64_t)time(NULL);
}

/* The server's message on one line (libpq's end in a newline). */
static int dberr(struct spool *sp, char *err, size_t errlen, const char *what)
{
    char msg[400];
    if (sp->down)
        return errf(err, errlen, "spool: postgresql: %s: the database is unreachable "
                    "(reconnecting): %s", what, sp->why);
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(sp->db));
    msg[strcspn(msg, "\n")] = '\0';
    return errf(err, errlen, "spool: postgresql: %s: %s", what, msg);
}

/* Parameters of one statement: text, or bytes (binary). */
struct params {
    int n;
    const char *v[8];
    int len[8];
    int fmt[8];
    char num[8][24];
};

static void p_text(struct params *p, const char *s)
{
    p->v[p->n] = s;
    p->len[p->n] = 0;
    p->fmt[p->n++] = 0;
}

static void p_int(struct params *p, int64_t x)
{
    snprintf(p->num[p->n], sizeof p->num[p->n], "%" PRId64, x);
    p_text(p, p->num[p->n]);
}

static void p_bytes(struct params *p, const void *b, size_t len)
{
    p->v[p->n] = b ? b : "";
    p->len[p->n] = (int)len;
    p->fmt[p->n++] = 1;
}

/* Run q; the result (caller PQclear's) when its status is ok, else NULL. */
static PGresult *run(struct spool *sp, const char *q, const struct params *p)
{
    if (sp->down)
        return NULL;
    PGresult *r = PQexecParams(sp->db, q, p ? p->n : 0, NULL, p ? p->v : NULL,
                               p ? p->len : NULL, p ? p->fmt : NULL, 0);
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
        return r;
    if (pglink_broken(sp->db, r))
        fall(sp);
    PQclear(r);
    return NULL;
}

/* Run a write; rows changed, or -1. */
static long run_changes(struct spool *sp, const char *q, const struct params *p)
{
    PGresult *r = run(sp, q, p);
    if (!r)
        return -1;
    long n = atol(PQcmdTuples(r));
    PQclear(r);
    return n;
}

static int64_t cell_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* A bytea cell (text format) as malloc'd bytes; NULL with *len 0 when null. */
static void *cell_bytes(const PGresult *r, int row, int col, size_t *len)
{
    *len = 0;
    if (PQgetisnull(r, row, col))
        return NULL;
    size_t n = 0;
    unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n);
    if (!raw)
        abort();                /* out of memory */
    void *out = xmalloc(n ? n : 1);
    memcpy(out, raw, n);
    PQfreemem(raw);
    *len = n;
    return out;
}

/* Run several statements (not PQexecParams) in one transaction; 0, or -1
 * with err saying what was being done. */
static int exec_tx(struct spool *sp, const char *sql, const char *what, char *err,
                   size_t errlen)
{
    PGresult *r = run(sp, "BEGIN", NULL);
    if (!r)
        return dberr(sp, err, errlen, "begin");
    PQclear(r);
    r = PQexec(sp->db, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        PQclear(r);
        dberr(sp, err, errlen, what);
        PQclear(PQexec(sp->db, "ROLLBACK"));
        return -1;
    }
    PQclear(r);
    if (!(r = run(sp, "COMMIT", NULL)))
        return dberr(sp, err, errlen, what);
    PQclear(r);
    return 0;
}

/* Which layout the database holds: *version 0 when it has no reportd_meta
 * (empty: reportd makes its tables), else the layout row's. -1 with err when
 * it cannot be used: a table job without reportd_meta (not reportd's), no
 * layout row, or a layout from a newer reportd. */
static int read_layout(struct spool *sp, long *version, char *err, size_t errlen)
{
    PGresult *r = run(sp, "SELECT to_regclass('reportd_meta') IS NOT NULL,"
                      " to_regclass('job') IS NOT NULL", NULL);
    if (!r)
        return dberr(sp, err, errlen, "reading the schema");
    int meta = PQgetvalue(r, 0, 0)[0] == 't', job = PQgetvalue(r, 0, 1)[0] == 't';
    PQclear(r);
    *version = 0;
    if (!meta && job)
        return errf(err, errlen, "spool: postgresql database %s: holds a table job but no "
                    "reportd_meta: not made by reportd; use another database", PQdb(sp->db));
    if (!meta)
        return 0;
    if (!(r = run(sp, "SELECT value FROM reportd_meta WHERE key = 'layout'", NULL)))
        return dberr(sp, err, errlen, "reading reportd_meta");
    int found = PQntuples(r) == 1;
    *version = found ? atol(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    if (!found)
        return errf(err, errlen, "spool: postgresql database %s: reportd_meta has no layout "
                    "row: not written by reportd, or damaged; use another database",
                    PQdb(sp->db));
    if (*version < 1 || *version > LAYOUT)
        return errf(err, errlen, "spool: postgresql database %s: layout %ld, written by a newer "
                    "reportd (this one reads layouts 1 to %d): use that reportd, or another "
                    "database", PQdb(sp->db), *version, LAYOUT);
    return 0;
}

/* Bring the database to LAYOUT: an empty one gets the schema, layout 1 is
 * migrated (each in one transaction); a newer layout is refused. Brokers
 * starting together on one database take turns (an advisory lock), so one
 * makes the tables and the others find them. 0, or -1 with err. */
static int layout(struct spool *sp, char *err, size_t errlen)
{
    PQclear(PQexec(sp->db, "SELECT pg_advisory_lock(" LAYOUT_LOCK ")"));
    long version;
    int rc = read_layout(sp, &version, err, errlen);
    if (rc == 0 && version == 0)
        rc = exec_tx(sp, schema, "creating layout 2", err, errlen);
    else if (rc == 0 && version == 1)
        rc = exec_tx(sp, migrate_1, "migrating to layout 2", err, errlen);
    PQclear(PQexec(sp->db, "SELECT pg_advisory_unlock(" LAYOUT_LOCK ")"));
    return rc;
}

static struct spool *pg_open(const char *dsn, char *err, size_t errlen)
{
    struct spool *sp = xcalloc(1, sizeof *sp);
    sp->base.ops = &store_pg;
    sp->done_fd = -1;
    sp->dsn = xstrdup(dsn);
    sp->db = pglink_connect(dsn);
    if (!sp->db || PQstatus(sp->db) != CONNECTION_OK) {
        dberr(sp, err, errlen, "cannot connect");
        goto fail;
    }
    PQclear(PQexec(sp->db, "SET client_min_messages = warning"));
    if (layout(sp, err, errlen) != 0)
        goto fail;
    /* several brokers: two batches inserting the same submission ids in another
     * order (a client failing over resends its window) wait for each other; the
     * server would find the deadlock after deadlock_timeout (1 s) with the loop
     * stalled meanwhile: give up on a lock sooner — the put's savepoint fails
     * alone, answered 500, resent */
    PQclear(PQexec(sp->db, "SET lock_timeout = '" LOCK_TIMEOUT "'"));
    PGresult *r = run(sp, "SELECT value FROM reportd_meta WHERE key = 'seq'", NULL);
    if (!r || PQntuples(r) != 1) {
        PQclear(r);
        errf(err, errlen, "spool: postgresql database %s: reportd_meta holds no seq row",
             PQdb(sp->db));
        goto fail;
    }
    sp->committed_seq = sp->last_seq = (uint64_t)cell_int(r, 0, 0);
    PQclear(r);
    sp->done_fd = eventfd(0, EFD_CLOEXEC);
    if (sp->done_fd < 0) {
        errf(err, errlen, "spool: eventfd: %s", strerror(errno));
        goto fail;
    }
    sp->live = 1;
    return sp;
fail:
    pg_close(sp);
    return NULL;
}

static int pg_commit_begin(struct spool *sp)
{
    if (sp->busy || sp->uncommitted == 0)
        return 0;
    sp->uncommitted = 0;
    sp->busy = 1;
    uint64_t one = 1;
    if (write(sp->done_fd, &one, sizeof one) != sizeof one)
        abort();                /* an eventfd write fails only on overflow */
    return 1;
}

static int pg_commit_fd(const struct spool *sp)
{
    return sp->done_fd;
}

static int pg_commit_end(struct spool *sp, char *err, size_t errlen)
{
    if (!sp->busy)
        return 0;
    uint64_t n;
    while (read(sp->done_fd, &n, sizeof n) != sizeof n)
        if (errno != EINTR)
            abort();
    sp->busy = 0;
    sp->in_tx = 0;
    if (sp->down || sp->batch_lost) {
        /* its writes went with the old connection: none may be acknowledged */
        sp->batch_lost = 0;
        sp->last_seq = sp->committed_seq;
        return errf(err, errlen, "spool: postgresql: commit: the connection broke under the "
                    "batch (%s): rolled back", sp->why);
    }
    /* COMMIT of a failed transaction answers ROLLBACK (COMMAND_OK): check it */
    PGresult *r = PQexec(sp->db, "COMMIT");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "COMMIT") == 0;
    if (!ok && pglink_broken(sp->db, r))
        fall(sp);
    PQclear(r);
    if (!ok) {
        if (!sp->down && PQtransactionStatus(sp->db) != PQTRANS_IDLE)
            PQclear(PQexec(sp->db, "ROLLBACK"));
        if (sp->down)
            errf(err, errlen, "spool: postgresql: commit: the connection broke (%s): the "
                 "batch is not acknowledged", sp->why);
        else if (PQerrorMessage(sp->db)[0])
            dberr(sp, err, errlen, "commit");
        else
            errf(err, errlen, "spool: postgresql: commit: the transaction was rolled back");
        sp->last_seq = sp->committed_seq;
        return -1;
    }
    sp->committed_seq = sp->last_seq;
    return 0;
}

static void pg_close(struct spool *sp)
{
    if (!sp)
        return;
    if (sp->busy)
        pg_commit_end(sp, NULL, 0);
    if (sp->db && !sp->down && PQstatus(sp->db) == CONNECTION_OK && pg_commit_begin(sp))
        pg_commit_end(sp, NULL, 0);
    if (sp->done_fd >= 0)
        close(sp->done_fd);
    pglink_stop(&sp->link);
    PQfinish(sp->db);
    free(sp->dsn);
    free(sp);
}

/* A broken connection is not a lost spool: it is made again (spool_link). */
static int pg_lost(struct spool *sp, char *err, size_t errlen)
{
    (void)sp, (void)err, (void)errlen;
    return 0;
}

/* The connection broke (the error is PQerrorMessage's): the store is down
 * until spool_link takes a new one over from the thread started here. */
static void fall(struct spool *sp)
{
    if (sp->down)
        return;
    pglink_one_line(sp->why, sizeof sp->why, PQerrorMessage(sp->db));
    sp->down = 1;
    sp->down_ms = util_now_ms();
    if (sp->in_tx || sp->uncommitted)
        sp->batch_lost = 1;
    sp->in_tx = 0;
    sp->last_seq = sp->committed_seq;
    if (sp->live)
        sp->link = pglink_start(sp->dsn, LAYOUT);
}

static void pg_link(struct spool *sp, struct spool_link *l)
{
    char last[300] = "";
    if (sp->down && sp->live && !sp->link)
        sp->link = pglink_start(sp->dsn, LAYOUT);
    /* a batch the old connection held must fail its commit first */
    if (sp->down && sp->link && !sp->busy && !sp->uncommitted && !sp->batch_lost) {
        uint64_t seq = 0;
        PGconn *c = pglink_take(sp->link, &seq, last, sizeof last);
        if (c) {
            pglink_stop(&sp->link);
            PQfinish(sp->db);
            sp->db = c;
            sp->down = 0;
            sp->reconnects++;
            /* a commit that broke midway may have gone through: the database tells */
            sp->committed_seq = sp->last_seq = seq;
        }
    }
    memset(l, 0, sizeof *l);
    l->up = !sp->down;
    l->reconnects = sp->reconnects;
    l->down_ms = sp->down_ms;
    if (sp->down)
        snprintf(l->why, sizeof l->why, "%s%s%s", sp->why, *last ? "; last attempt: " : "",
                 last);
}

static int64_t pg_size(struct spool *sp)
{
    PGresult *r = run(sp, size_query, NULL);
    int64_t n = r && PQntuples(r) == 1 ? cell_int(r, 0, 0) : -1;
    PQclear(r);
    return n;
}

static size_t pg_uncommitted(const struct spool *sp)
{
    return sp->uncommitted;
}

/* Every write goes through here: open the batch's transaction on first use. */
static int begin(struct spool *sp, char *err, size_t errlen)
{
    if (sp->down || sp->batch_lost)
        return dberr(sp, err, errlen, "begin");
    if (!sp->in_tx) {
        PGresult *r = run(sp, "BEGIN", NULL);
        if (!r)
            return dberr(sp, err, errlen, "begin");
        PQclear(r);
        sp->in_tx = 1;
        if (fence(sp, err, errlen) != 0)
            return -1;
    }
    sp->uncommitted++;
    return 0;
}

/* A savepoint around a statement group: all of it or none. */
static int save(struct spool *sp)
{
    return run_changes(sp, "SAVEPOINT job_body", NULL) < 0 ? -1 : 0;
}

static int save_end(struct spool *sp, int failed, char *err, size_t errlen, const char *what)
{
    if (failed) {
        dberr(sp, err, errlen, what);
        run_changes(sp, "ROLLBACK TO SAVEPOINT job_body", NULL);
    }
    run_changes(sp, "RELEASE SAVEPOINT job_body", NULL);
    return failed ? -1 : 0;
}

static int drop_body(struct spool *sp, const char *uuid)
{
    struct params p = {0};
    p_text(&p, uuid);
    return run_changes(sp, "DELETE FROM body WHERE uuid = $1", &p) < 0 ? -1 : 0;
}

static int pg_put(struct spool *sp, const char *uuid, const char *submission_id,
                  const char *service, const void *body, size_t len, char *err, size_t errlen)
{
    if (begin(sp, err, errlen))
        return -1;
    if (save(sp) != 0)
        return dberr(sp, err, errlen, "put");
    struct params p = {0};
    p_text(&p, uuid);
    p_text(&p, submission_id);
    p_text(&p, service);
    p_int(&p, now());
    p_text(&p, sp->role == ROLE_STANDBY ? "f" : "t");   /* a standby's job waits for a claim */
    /* a job already there is neither locked nor waited for (ON CONFLICT would
     * wait for a batch that is changing its row): a resubmission to a standby
     * must not wait on the leader's batch finishing it — the two would deadlock
     * or stall the loop. Seen: nothing inserted; only a closed job, reopened,
     * is written. (Two brokers inserting one new id at once still meet on the
     * key: the second waits, at most lock_timeout.) */
    PGresult *r = run(sp, "WITH e AS (SELECT state FROM job WHERE uuid = $1),"
                      " i AS (INSERT INTO job(pos, uuid, submission_id, service, state, attempts,"
                      " created_at, updated_at)"
                      " SELECT CASE WHEN $5::boolean THEN (SELECT coalesce(max(pos), 0) + 1"
                      " FROM job) ELSE 0 END, $1, $2, $3, 0, 0, $4, $4"
                      " WHERE NOT EXISTS (SELECT 1 FROM e)"
                      " ON CONFLICT(uuid) DO NOTHING RETURNING pos)"
                      " SELECT (SELECT pos FROM i), (SELECT state FROM e)", &p);
    int inserted = r && !PQgetisnull(r, 0, 0);
    int closed = r && !PQgetisnull(r, 0, 1) && cell_int(r, 0, 1) == SPOOL_CLOSED;
    if (inserted) {
        sp->put_rowid = cell_int(r, 0, 0);
    } else if (closed) {
        PQclear(r);
        r = run(sp, "UPDATE job SET submission_id = $2, service = $3, state = 0, attempts = 0,"
                " reply = NULL, status = NULL, reason = NULL, reply_seq = NULL,"
                " created_at = $4, updated_at = $4, pos = CASE WHEN $5::boolean THEN"
                " (SELECT max(pos) + 1 FROM job) ELSE 0 END WHERE uuid = $1 AND state = 3"
                " RETURNING pos", &p);
        inserted = r && PQntuples(r) == 1;
        if (inserted)
            sp->put_rowid = cell_int(r, 0, 0);
    }
    int failed = !r;
    int stored = inserted;
    PQclear(r);
    if (stored) {
        struct params b = {0};
        p_text(&b, uuid);
        p_bytes(&b, body, len);
        failed = run_changes(sp, "INSERT INTO body(uuid, data) VALUES ($1, $2)"
                             " ON CONFLICT(uuid) DO UPDATE SET data = $2", &b) < 0 ||
                 notify_leader(sp) != 0;
    }
    return save_end(sp, failed, err, errlen, "put") ? -1 : stored;
}

static int pg_finish(struct spool *sp, const char *uuid, int status, const void *reply,
                     size_t len, uint64_t reply_seq, char *err, size_t errlen)
{
    if (leader_only(sp, err, errlen, "a Result"))
        return -1;
    if (begin(sp, err, errlen))
        return -1;
    if (save(sp) != 0)
        return dberr(sp, err, errlen, "finish");
    struct params p = {0};
    p_text(&p, uuid);
    if (reply_seq)
        p_text(&p, NULL);
    else
        p_bytes(&p, reply, len);
    p_int(&p, status);
    p_int(&p, now());
    if (reply_seq)
        p_int(&p, (int64_t)reply_seq);
    else
        p_text(&p, NULL);
    long n = run_changes(sp, "UPDATE job SET state = 1, reply = $2::bytea, status = $3,"
                         " updated_at = $4, reply_seq = $5 WHERE uuid = $1 AND state = 0", &p);
    int failed = n < 0;
    int done = n > 0;
    if (done)
        failed = drop_body(sp, uuid);
    return save_end(sp, failed, err, errlen, "finish") ? -1 : done;
}

static int pg_get(struct spool *sp, const char *uuid, void **reply, size_t *len)
{
    struct params p = {0};
    p_text(&p, uuid);
    PGresult *r = run(sp, "SELECT j.state, coalesce(j.reply, r.data) FROM job j"
                      " LEFT JOIN result r ON r.seq = j.reply_seq WHERE j.uuid = $1", &p);
    if (!r || PQntuples(r) != 1) {
        PQclear(r);
        return -1;
    }
    int state = (int)cell_int(r, 0, 0);
    if (reply && state == SPOOL_DONE) {
        *reply = cell_bytes(r, 0, 1, len);
        if (!*reply)
            *reply = xmalloc(1);
    }
    PQclear(r);
    return state;
}

/* A write of one job: $1 uuid, then text (if any), then now. Rows changed, or -1. */
static long exec_uuid(struct spool *sp, const char *q, const char *uuid, const char *text,
                      char *err, size_t errlen)
{
    if (begin(sp, err, errlen))
        return -1;
    struct params p = {0};
    p_text(&p, uuid);
    if (text)
        p_text(&p, text);
    p_int(&p, now());
    long n = run_changes(sp, q, &p);
    if (n < 0)
        dberr(sp, err, errlen, q);
    return n;
}

static int pg_close_job(struct spool *sp, const char *uuid, char *err, size_t errlen)
{
    if (begin(sp, err, errlen))
        return -1;
    struct params p = {0};
    p_text(&p, uuid);
    /* the job's Result goes with it unless the log still refers to it */
    if (run_changes(sp, "DELETE FROM result WHERE seq = (SELECT reply_seq FROM job"
                    " WHERE uuid = $1 AND state = 1) AND NOT EXISTS"
                    " (SELECT 1 FROM published p WHERE p.seq = result.seq)", &p) < 0)
        return dberr(sp, err, errlen, "close");
    p_int(&p, now());
    long n = run_changes(sp, "UPDATE job SET state = 3, reply = NULL, reply_seq = NULL,"
                         " updated_at = $2 WHERE uuid = $1 AND state IN (0, 1)", &p);
    if (n < 0 || (n > 0 && drop_body(sp, uuid) != 0))
        return dberr(sp, err, errlen, "close");
    return 0;
}

static int pg_attempt(struct spool *sp, const char *uuid, char *err, size_t errlen)
{
    if (leader_only(sp, err, errlen, "an attempt"))
        return -1;
    if (begin(sp, err, errlen))
        return -1;
    struct params p = {0};
    p_text(&p, uuid);
    p_int(&p, now());
    PGresult *r = run(sp, "UPDATE job SET attempts = attempts + 1, updated_at = $2"
                      " WHERE uuid = $1 RETURNING attempts", &p);
    if (!r)
        return dberr(sp, err, errlen, "attempt");
    int n = PQntuples(r) == 1 ? (int)cell_int(r, 0, 0) : -1;
    PQclear(r);
    return n;
}

static int pg_bury(struct spool *sp, const char *uuid, const char *reason, char *err,
                   size_t errlen)
{
    if (leader_only(sp, err, errlen, "a dead letter"))
        return -1;
    return exec_uuid(sp, "UPDATE job SET state = 2, reason = $2, updated_at = $3"
                     " WHERE uuid = $1", uuid, reason, err, errlen) < 0 ? -1 : 0;
}

static int pg_retry(struct spool *sp, const char *uuid, char *err, size_t errlen)
{
    long n = exec_uuid(sp, sp->role == ROLE_STANDBY
                       ? "UPDATE job SET state = 0, attempts = 0, reason = NULL,"
                         " updated_at = $2, pos = 0 WHERE uuid = $1 AND state = 2"
                       : "UPDATE job SET state = 0, attempts = 0, reason = NULL,"
                         " updated_at = $2, pos = (SELECT max(pos) + 1 FROM job)"
                         " WHERE uuid = $1 AND state = 2", uuid, NULL, err, errlen);
    if (n > 0 && notify_leader(sp) != 0)
        return dberr(sp, err, errlen, "retry");
    return n < 0 ? -1 : n > 0;
}

static long pg_pending_after(struct spool *sp, int64_t after, size_t limit, spool_job_fn *fn,
                             void *arg)
{
    struct params p = {0};
    p_int(&p, after);
    p_int(&p, (int64_t)limit);
    PGresult *r = run(sp, "SELECT j.pos, j.uuid, j.service, b.data FROM job j"
                      " LEFT JOIN body b ON b.uuid = j.uuid WHERE j.state = 0 AND j.pos > $1"
                      " ORDER BY j.pos LIMIT $2", &p);
    if (!r)
        return -1;
    long n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        size_t len;
        void *body = cell_bytes(r, i, 3, &len);
        fn(arg, cell_int(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), body, len);
        free(body);
    }
    PQclear(r);
    return n;
}

static int64_t pg_last_rowid(const struct spool *sp)
{
    return sp->put_rowid;
}

static const char *cell_text(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* Columns: uuid, submission_id, reason, attempts, updated_at[, data, service]. */
static void dead_rows(PGresult *r, int with_body, spool_dead_fn *fn, void *arg)
{
    for (int i = 0; i < PQntuples(r); i++) {
        struct spool_dead d = {0};
        d.uuid = cell_text(r, i, 0);
        d.submission_id = cell_text(r, i, 1);
        d.reason = cell_text(r, i, 2);
        d.attempts = (int)cell_int(r, i, 3);
        d.updated_at = cell_int(r, i, 4);
        void *body = NULL;
        if (with_body) {
            body = cell_bytes(r, i, 5, &d.len);
            d.body = body;
            d.service = cell_text(r, i, 6);
        }
        fn(arg, &d);
        free(body);
    }
}

static int pg_each_dead(struct spool *sp, spool_dead_fn *fn, void *arg)
{
    PGresult *r = run(sp, "SELECT uuid, submission_id, reason, attempts, updated_at FROM job"
                      " WHERE state = 2 ORDER BY updated_at, pos", NULL);
    if (!r)
        return -1;
    dead_rows(r, 0, fn, arg);
    PQclear(r);
    return 0;
}

static int pg_dead_get(struct spool *sp, const char *uuid, spool_dead_fn *fn, void *arg)
{
    struct params p = {0};
    p_text(&p, uuid);
    PGresult *r = run(sp, "SELECT j.uuid, j.submission_id, j.reason, j.attempts, j.updated_at,"
                      " b.data, j.service FROM job j LEFT JOIN body b ON b.uuid = j.uuid"
                      " WHERE j.state = 2 AND j.uuid = $1", &p);
    if (!r)
        return -1;
    int found = PQntuples(r) == 1;
    dead_rows(r, 1, fn, arg);
    PQclear(r);
    return found;
}

static uint64_t pg_log(struct spool *sp, const char *topic, const void *body, size_t len,
                       char *err, size_t errlen)
{
    if (leader_only(sp, err, errlen, "a publication"))
        return 0;
    if (begin(sp, err, errlen))
        return 0;
    struct params p = {0};
    p_text(&p, topic);
    p_bytes(&p, body, len);
    p_int(&p, now());
    p_text(&p, spool_topic_is_result(topic) ? "t" : "f");
    /* a Result's bytes go to result, under the same seq; the log row refers */
    PGresult *r = run(sp, "WITH n AS (UPDATE reportd_meta SET value = (value::bigint + 1)::text"
                      " WHERE key = 'seq' RETURNING value::bigint AS seq),"
                      " l AS (INSERT INTO published(seq, topic, body, at)"
                      " SELECT seq, $1, CASE WHEN $4::boolean THEN ''::bytea ELSE $2::bytea END,"
                      " $3 FROM n RETURNING seq),"
                      " r AS (INSERT INTO result(seq, data) SELECT seq, $2::bytea FROM l"
                      " WHERE $4::boolean)"
                      " SELECT seq FROM l", &p);
    if (!r || PQntuples(r) != 1) {
        PQclear(r);
        dberr(sp, err, errlen, "log");
        return 0;
    }
    sp->last_seq = (uint64_t)cell_int(r, 0, 0);
    PQclear(r);
    return sp->last_seq;
}

static int pg_replay(struct spool *sp, uint64_t from, uint64_t to, size_t limit,
                     spool_msg_fn *fn, void *arg)
{
    if (sp->role == ROLE_STANDBY && !sp->in_tx && to > sp->committed_seq)
        read_meta(sp, NULL, 0);     /* the leader's publications since the last look */
    if (to > sp->committed_seq)
        to = sp->committed_seq;
    if (from > to)
        return 0;
    struct params p = {0};
    p_int(&p, (int64_t)from);
    p_int(&p, (int64_t)to);
    p_int(&p, (int64_t)limit);
    PGresult *r = run(sp, "SELECT p.seq, p.topic, coalesce(r.data, p.body) FROM published p"
                      " LEFT JOIN result r ON r.seq = p.seq WHERE p.seq >= $1 AND p.seq <= $2"
                      " ORDER BY p.seq LIMIT $3", &p);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        size_t len;
        void *body = cell_bytes(r, i, 2, &len);
        int stop = fn(arg, (uint64_t)cell_int(r, i, 0), PQgetvalue(r, i, 1), body, len);
        free(body);
        if (stop)
            break;
    }
    PQclear(r);
    return 0;
}

static uint64_t pg_last_seq(const struct spool *sp)
{
    return sp->committed_seq;
}

static long pg_count(struct spool *sp, int state)
{
    struct params p = {0};
    p_int(&p, state);
    PGresult *r = run(sp, "SELECT count(*) FROM job WHERE state = $1", &p);
    if (!r)
        return -1;
    long n = (long)cell_int(r, 0, 0);
    PQclear(r);
    return n;
}

static int pg_history_put(struct spool *sp, const char *body_key, unsigned year,
                          const char *submission_id, const void *report, size_t len, char *err,
                          size_t errlen)
{
    if (leader_only(sp, err, errlen, "the history"))
        return -1;
    if (begin(sp, err, errlen))
        return -1;
    struct params p = {0};
    p_text(&p, body_key);
    p_int(&p, year);
    p_bytes(&p, report, len);
    p_text(&p, submission_id);
    p_int(&p, now());
    if (run_changes(sp, "INSERT INTO history(body_key, year, report, submission_id, updated_at)"
                    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT(body_key, year) DO UPDATE SET"
                    " report = $3, submission_id = $4, updated_at = $5", &p) < 0)
        return dberr(sp, err, errlen, "history put");
    return 0;
}

static int pg_history_get(struct spool *sp, const char *body_key, unsigned year, void **report,
                          size_t *len)
{
    struct params p = {0};
    p_text(&p, body_key);
    p_int(&p, year);
    PGresult *r = run(sp, "SELECT report FROM history WHERE body_key = $1 AND year = $2", &p);
    if (!r)
        return -1;
    int found = PQntuples(r) == 1;
    if (found)
        *report = cell_bytes(r, 0, 0, len);
    PQclear(r);
    return found;
}

/* The log's cut, as store_sqlite.c's PUB_UPTO ($1 cutoff, $2 limit). */
#define PUB_UPTO \
    "SELECT coalesce(max(seq), 0) FROM (SELECT seq, at FROM published ORDER BY seq LIMIT $2) h" \
    " WHERE seq < coalesce((SELECT min(seq) FROM (SELECT seq, at FROM published ORDER BY seq" \
    " LIMIT $2) f WHERE at >= $1), 9223372036854775807)"

/* Retention's statements per kind, as store_sqlite.c's prune_stmts. */
static const char *const prune_sql[][2] = {
    [SPOOL_KIND_JOB] = {
        /* a Result goes once neither its job nor its publication refers to it */
        "DELETE FROM result WHERE seq IN (SELECT reply_seq FROM job WHERE state IN (1, 3)"
        " AND updated_at < $1 ORDER BY pos LIMIT $2)"
        " AND NOT EXISTS (SELECT 1 FROM published p WHERE p.seq = result.seq)",
        "DELETE FROM job WHERE uuid IN (SELECT uuid FROM job WHERE state IN (1, 3)"
        " AND updated_at < $1 ORDER BY pos LIMIT $2)"},
    [SPOOL_KIND_PUBLISHED] = {
        "DELETE FROM result WHERE seq IN (SELECT seq FROM published WHERE seq <= (" PUB_UPTO
        ")) AND NOT EXISTS (SELECT 1 FROM job j WHERE j.state = 1 AND j.reply_seq = result.seq)",
        "DELETE FROM published WHERE seq <= (" PUB_UPTO ")"},
    [SPOOL_KIND_DEAD] = {
        "DELETE FROM body WHERE uuid IN (SELECT uuid FROM job WHERE state = 2"
        " AND updated_at < $1 ORDER BY pos LIMIT $2)",
        "DELETE FROM job WHERE uuid IN (SELECT uuid FROM job WHERE state = 2"
        " AND updated_at < $1 ORDER BY pos LIMIT $2)"},
    [SPOOL_KIND_HISTORY] = {
        NULL,
        "DELETE FROM history WHERE (body_key, year) IN (SELECT body_key, year FROM history"
        " WHERE year < $1 LIMIT $2)"},
};

static int pg_prune_begin(struct spool *sp, char *err, size_t errlen)
{
    if (leader_only(sp, err, errlen, "retention"))
        return -1;
    return begin(sp, err, errlen) ? -1 : 0;
}

static long pg_prune_kind(struct spool *sp, enum spool_kind kind, int64_t cutoff, size_t limit,
                          char *err, size_t errlen)
{
    if ((unsigned)kind >= sizeof prune_sql / sizeof prune_sql[0])
        return errf(err, errlen, "spool: prune: no kind %d", (int)kind);
    struct params p = {0};
    p_int(&p, cutoff);
    p_int(&p, (int64_t)limit);
    long n = 0;
    for (int i = 0; i < 2; i++)
        if (prune_sql[kind][i] && (n = run_changes(sp, prune_sql[kind][i], &p)) < 0)
            return dberr(sp, err, errlen, "prune");
    return n;
}

/* The first column of the first row of q, or -1. */
static int64_t query_int(struct spool *sp, const char *q)
{
    PGresult *r = run(sp, q, NULL);
    int64_t v = r && PQntuples(r) == 1 ? cell_int(r, 0, 0) : -1;
    PQclear(r);
    return v;
}

static uint64_t pg_first_seq(struct spool *sp)
{
    int64_t v = query_int(sp, "SELECT coalesce(min(seq), 0) FROM published");
    return v > 0 ? (uint64_t)v : 0;
}

static int64_t pg_oldest(struct spool *sp, enum spool_kind kind)
{
    static const char *const q[] = {
        [SPOOL_KIND_JOB] = "SELECT coalesce(min(updated_at), 0) FROM job WHERE state IN (1, 3)",
        [SPOOL_KIND_PUBLISHED] = "SELECT coalesce((SELECT at FROM published ORDER BY seq"
                                 " LIMIT 1), 0)",
        [SPOOL_KIND_DEAD] = "SELECT coalesce(min(updated_at), 0) FROM job WHERE state = 2",
        [SPOOL_KIND_HISTORY] = "SELECT coalesce(min(updated_at), 0) FROM history",
    };
    if ((unsigned)kind >= sizeof q / sizeof q[0])
        return -1;
    return query_int(sp, q[kind]);
}

/* Several brokers on one database. The leader's write transactions are
 * fenced: the first statement after BEGIN reads leader_epoch FOR SHARE, so a
 * broker whose epoch is gone (another took the lead while it was cut off and
 * reconnected) rolls back before writing anything, and a new leader's raise
 * of the epoch waits for the batch that holds the row. 0, or -1 with err
 * (rolled back: nothing of this batch exists). */
static int fence(struct spool *sp, char *err, size_t errlen)
{
    if (sp->role != ROLE_LEADER)
        return 0;
    PGresult *r = run(sp, "SELECT value::bigint FROM reportd_meta WHERE key = 'leader_epoch'"
                      " FOR SHARE", NULL);
    uint64_t now_epoch = r && PQntuples(r) == 1 ? (uint64_t)cell_int(r, 0, 0) : 0;
    if (!r)
        dberr(sp, err, errlen, "leader_epoch");
    else if (now_epoch != sp->epoch)
        errf(err, errlen, "spool: postgresql: no longer the leader: leader_epoch is %llu, this "
             "broker led epoch %llu: nothing written, stepping down",
             (unsigned long long)now_epoch, (unsigned long long)sp->epoch);
    PQclear(r);
    if (r && now_epoch == sp->epoch)
        return 0;
    PQclear(PQexec(sp->db, "ROLLBACK"));
    sp->in_tx = 0;
    sp->deposed = 1;
    return -1;
}

/* What only the leader writes (Results, publications, attempts, dead
 * letters, history, retention): refused by a standby or a deposed leader. */
static int leader_only(struct spool *sp, char *err, size_t errlen, const char *what)
{
    if (sp->role == ROLE_ALONE || (sp->role == ROLE_LEADER && !sp->deposed))
        return 0;
    errf(err, errlen, "spool: postgresql: %s is written by the leader only; this broker is "
         "standby", what);
    return -1;
}

/* A standby's new pending job: wake the leader (LISTEN reportd_jobs) once
 * the transaction commits. 0, or -1. */
static int notify_leader(struct spool *sp)
{
    if (sp->role != ROLE_STANDBY)
        return 0;
    return run_changes(sp, "NOTIFY reportd_jobs", NULL) < 0 ? -1 : 0;
}

/* The leader's epoch and the committed sequence as the database has them now. */
static int read_meta(struct spool *sp, char *err, size_t errlen)
{
    PGresult *r = run(sp, "SELECT (SELECT value::bigint FROM reportd_meta WHERE key ="
                      " 'leader_epoch'), (SELECT value::bigint FROM reportd_meta WHERE key ="
                      " 'seq')", NULL);
    if (!r)
        return err ? dberr(sp, err, errlen, "reading reportd_meta") : -1;
    sp->epoch = (uint64_t)cell_int(r, 0, 0);
    sp->committed_seq = sp->last_seq = (uint64_t)cell_int(r, 0, 1);
    PQclear(r);
    return 0;
}

static int pg_lead(struct spool *sp, uint64_t *epoch, char *err, size_t errlen)
{
    int same = PQstatus(sp->db) == CONNECTION_OK && PQbackendPID(sp->db) == sp->lock_pid;
    if (sp->role == ROLE_LEADER && same && !sp->deposed) {
        *epoch = sp->epoch;
        return 1;
    }
    if (sp->role == ROLE_LEADER) {      /* deposed, or the session that held the lock is gone */
        if (same)
            PQclear(PQexec(sp->db, "UNLISTEN *; SELECT pg_advisory_unlock(" LEAD_LOCK ")"));
        sp->role = ROLE_STANDBY;
        sp->deposed = 0;
        sp->lock_pid = 0;
        if (PQstatus(sp->db) == CONNECTION_OK)
            read_meta(sp, NULL, 0);     /* whose epoch it is now */
        *epoch = sp->epoch;
        return 0;
    }
    sp->role = ROLE_STANDBY;
    *epoch = sp->epoch;
    if (sp->in_tx || sp->busy)          /* a standby's batch is open: try next time */
        return 0;
    PGresult *r = run(sp, "SELECT pg_try_advisory_lock(" LEAD_LOCK ")", NULL);
    if (!r)
        return dberr(sp, err, errlen, "trying the leader's lock");
    int got = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!got) {
        if (read_meta(sp, err, errlen) != 0)
            return -1;
        *epoch = sp->epoch;
        return 0;
    }
    /* one statement: the row made on the first leadership, raised after */
    if (run_changes(sp, "INSERT INTO reportd_meta VALUES ('leader_epoch', '1') ON CONFLICT(key)"
                    " DO UPDATE SET value = (reportd_meta.value::bigint + 1)::text", NULL) < 0 ||
        run_changes(sp, "LISTEN reportd_jobs", NULL) < 0) {
        dberr(sp, err, errlen, "raising leader_epoch");
        PQclear(PQexec(sp->db, "SELECT pg_advisory_unlock(" LEAD_LOCK ")"));
        return -1;
    }
    if (read_meta(sp, err, errlen) != 0) {
        PQclear(PQexec(sp->db, "SELECT pg_advisory_unlock(" LEAD_LOCK ")"));
        return -1;
    }
    sp->role = ROLE_LEADER;
    sp->lock_pid = PQbackendPID(sp->db);
    *epoch = sp->epoch;
    return 1;
}

/* 1 when a NOTIFY came (consumed), 0 when none. */
static int notified(struct spool *sp)
{
    int any = 0;
    PQconsumeInput(sp->db);
    for (PGnotify *n; (n = PQnotifies(sp->db)); PQfreemem(n))
        any = 1;
    return any;
}

static long pg_claim(struct spool *sp, size_t limit, int poll, char *err, size_t errlen)
{
    if (sp->role != ROLE_LEADER || sp->deposed)
        return 0;
    if (!notified(sp) && !poll)
        return 0;
    PGresult *r = run(sp, "SELECT 1 FROM job WHERE state = 0 AND pos = 0 LIMIT 1", NULL);
    int some = r && PQntuples(r) == 1;
    PQclear(r);
    if (!r)
        return dberr(sp, err, errlen, "claim");
    if (!some)
        return 0;
    if (begin(sp, err, errlen))
        return -1;
    /* in order of arrival, at the end of the line; rows a standby is
     * changing right now (close, retry) wait for the next claim */
    struct params p = {0};
    p_int(&p, (int64_t)limit);
    long n = run_changes(sp, "WITH c AS (SELECT uuid, created_at FROM job WHERE state = 0 AND"
                         " pos = 0 ORDER BY created_at, uuid LIMIT $1 FOR UPDATE SKIP LOCKED),"
                         " r AS (SELECT uuid, row_number() OVER (ORDER BY created_at, uuid) AS n"
                         " FROM c), m AS (SELECT coalesce(max(pos), 0) AS top FROM job)"
                         " UPDATE job SET pos = m.top + r.n FROM r, m WHERE job.uuid = r.uuid",
                         &p);
    if (n < 0)
        return dberr(sp, err, errlen, "claim");
    return n;
}

static int pg_wake_fd(const struct spool *sp)
{
    return sp->role == ROLE_LEADER ? PQsocket(sp->db) : -1;
}

/* reportd --check-config (and the start): connect as the broker would and
 * find out whether it could work, changing nothing — the tables made (or
 * migrated) and written once inside a transaction that is rolled back. One
 * line in err naming the server (never a password) and the reason. */
static const char *const probes[] = {
    "INSERT INTO reportd_meta VALUES ('reportd --check-config', '')",
    "UPDATE job SET pos = pos WHERE false", "DELETE FROM job WHERE false",
    "INSERT INTO body SELECT * FROM body WHERE false", "DELETE FROM body WHERE false",
    "INSERT INTO published SELECT * FROM published WHERE false",
    "DELETE FROM published WHERE false",
    "INSERT INTO history SELECT * FROM history WHERE false",
    "DELETE FROM history WHERE false",
    "INSERT INTO result SELECT * FROM result WHERE false", "DELETE FROM result WHERE false",
    NULL};

/* The first line of libpq's message, without "ERROR:  "/"FATAL:  ". */
static const char *first_line(PGconn *db, char *buf, size_t len)
{
    const char *m = PQerrorMessage(db);
    for (const char *pre = strstr(m, "FATAL:  "); pre; pre = NULL)
        m = pre + 8;
    if (!strncmp(m, "ERROR:  ", 8))
        m += 8;
    snprintf(buf, len, "%s", m);
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

/* One statement of check_writes: 0, or the sysexits code with err. */
static int check_one(struct spool *sp, const char *q, const char *doing, const char *who,
                     char *err, size_t errlen)
{
    char msg[300];
    PGresult *r = PQexec(sp->db, q);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    const char *state = ok ? NULL : PQresultErrorField(r, PG_DIAG_SQLSTATE);
    int denied = state && !strcmp(state, "42501");
    PQclear(r);
    if (ok)
        return 0;
    errf(err, errlen, "spool: postgresql %s: %s %s: %s", who, denied ? "may not" : "cannot",
         doing, first_line(sp->db, msg, sizeof msg));
    return denied ? 77 : PQstatus(sp->db) == CONNECTION_OK ? 78 : 69;
}

/* The tables made or migrated, and each written, in a transaction rolled
 * back: 0, or the sysexits code with err. */
static int check_writes(struct spool *sp, long version, const char *who, char *err,
                        size_t errlen)
{
    int rc = check_one(sp, "BEGIN", "begin", who, err, errlen);
    if (!rc && version == 0)
        rc = check_one(sp, schema, "create reportd's tables", who, err, errlen);
    else if (!rc && version == 1)
        rc = check_one(sp, migrate_1, "migrate reportd's tables to layout 2", who, err, errlen);
    for (size_t i = 0; !rc && probes[i]; i++)
        rc = check_one(sp, probes[i], "write reportd's tables", who, err, errlen);
    PQclear(PQexec(sp->db, "ROLLBACK"));
    return rc;
}

static int pg_check(const char *dsn, char *err, size_t errlen)
{
    char *perr = NULL, msg[300], who[400];
    PQconninfoOption *opts = PQconninfoParse(dsn, &perr);
    if (!opts) {
        errf(err, errlen, "spool.dsn: %.*s", (int)strcspn(perr ? perr : "unreadable", "\n"),
             perr ? perr : "unreadable");
        PQfreemem(perr);
        return 78;
    }
    PQconninfoFree(opts);
    struct spool sp = {.db = pglink_connect(dsn)};   /* reportd's timeouts, as the start */
    if (!sp.db)
        return errf(err, errlen, "spool: postgresql: out of memory"), 69;
    snprintf(who, sizeof who, "host=%s port=%s dbname=%s user=%s", PQhost(sp.db),
             PQport(sp.db), PQdb(sp.db), PQuser(sp.db));
    int rc = 0;
    if (PQstatus(sp.db) != CONNECTION_OK) {
        first_line(sp.db, msg, sizeof msg);
        int auth = strstr(msg, "authentication failed") || strstr(msg, "pg_hba.conf") ||
                   strstr(msg, "no password supplied") ||
                   (strstr(msg, "role \"") && strstr(msg, "does not exist"));
        int nodb = strstr(msg, "database \"") && strstr(msg, "does not exist");
        int bad = !strncmp(msg, "invalid ", 8);     /* a value libpq does not take */
        rc = auth ? 77 : nodb || bad ? 78 : 69;
        errf(err, errlen, "spool: postgresql %s: %s: %s", who,
             auth ? "refused: authentication" : nodb ? "no such database"
             : bad ? "spool.dsn" : "cannot connect", msg);
    } else {
        PQclear(PQexec(sp.db, "SET client_min_messages = warning"));
        long version;
        char why[400];
        if (read_layout(&sp, &version, why, sizeof why) != 0) {
            /* "spool: postgresql database D: …" → with the server named */
            const char *rest = strstr(why, ": ");
            rest = rest ? strstr(rest + 2, ": ") : NULL;
            const char *denied = strstr(why, "permission denied");
            if (denied)
                errf(err, errlen, "spool: postgresql %s: may not read reportd's tables: %s", who,
                     denied);
            else
                errf(err, errlen, "spool: postgresql %s: %s", who, rest ? rest + 2 : why);
            rc = denied ? 77 : PQstatus(sp.db) == CONNECTION_OK ? 78 : 69;
        } else {
            rc = check_writes(&sp, version, who, err, errlen);
        }
    }
    PQfinish(sp.db);
    return rc;
}

const struct spool_ops store_pg = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .commit_begin = pg_commit_begin,
    .commit_fd = pg_commit_fd,
    .commit_end = pg_commit_end,
    .lost = pg_lost,
    .uncommitted = pg_uncommitted,
    .put = pg_put,
    .finish = pg_finish,
    .get = pg_get,
    .close_job = pg_close_job,
    .attempt = pg_attempt,
    .bury = pg_bury,
    .retry = pg_retry,
    .pending_after = pg_pending_after,
    .last_rowid = pg_last_rowid,
    .each_dead = pg_each_dead,
    .dead_get = pg_dead_get,
    .log = pg_log,
    .replay = pg_replay,
    .last_seq = pg_last_seq,
    .count = pg_count,
    .history_put = pg_history_put,
    .history_get = pg_history_get,
    .prune_begin = pg_prune_begin,
    .prune_kind = pg_prune_kind,
    .first_seq = pg_first_seq,
    .oldest = pg_oldest,
    .lead = pg_lead,
    .claim = pg_claim,
    .wake_fd = pg_wake_fd,
    .check = pg_check,
    .link = pg_link,
    .size = pg_size,
};
