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
 * goes with the old connection: it leads again only through spool_lead).
 * This file: the ops table, the connection and its batch, the jobs, the log
 * and replay, history, retention; store_pg_lead.c: leadership, fencing and
 * claims; store_pg_layout.c: the tables and --check-config's check. */
#include "broker/store_pg_private.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "broker/pglink.h"

/* reportd's tables, for spool_size: a table added to the schema goes here. */
static const char size_query[] =
    "SELECT coalesce(sum(pg_total_relation_size(to_regclass(t))), 0)::bigint FROM"
    " unnest(ARRAY['reportd_meta', 'job', 'body', 'published', 'history', 'result']) t";

#define LOCK_TIMEOUT "250ms"            /* the longest a statement waits for a row lock */

static void pg_close(struct spool *sp);
static int pg_commit_end(struct spool *sp, char *err, size_t errlen);
static void fall(struct spool *sp);

static int64_t now(void)
{
    return (int64_t)time(NULL);
}

/* The server's message on one line (libpq's end in a newline). */
int store_pg_dberr(struct spool *sp, char *err, size_t errlen, const char *what)
{
    char msg[400];
    if (sp->down)
        return errf(err, errlen, "spool: postgresql: %s: the database is unreachable "
                    "(reconnecting): %s", what, sp->why);
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(sp->db));
    msg[strcspn(msg, "\n")] = '\0';
    return errf(err, errlen, "spool: postgresql: %s: %s", what, msg);
}

/* Run q; the result (caller PQclear's) when its status is ok, else NULL. */
PGresult *store_pg_run(struct spool *sp, const char *q, const struct params *p)
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
long store_pg_run_changes(struct spool *sp, const char *q, const struct params *p)
{
    PGresult *r = store_pg_run(sp, q, p);
    if (!r)
        return -1;
    long n = atol(PQcmdTuples(r));
    PQclear(r);
    return n;
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

static struct spool *pg_open(const char *dsn, char *err, size_t errlen)
{
    struct spool *sp = xcalloc(1, sizeof *sp);
    sp->base.ops = &store_pg;
    sp->done_fd = -1;
    sp->dsn = xstrdup(dsn);
    sp->db = pglink_connect(dsn);
    if (!sp->db || PQstatus(sp->db) != CONNECTION_OK) {
        store_pg_dberr(sp, err, errlen, "cannot connect");
        goto fail;
    }
    PQclear(PQexec(sp->db, "SET client_min_messages = warning"));
    if (store_pg_layout(sp, err, errlen) != 0)
        goto fail;
    /* several brokers: two batches inserting the same submission ids in another
     * order (a client failing over resends its window) wait for each other; the
     * server would find the deadlock after deadlock_timeout (1 s) with the loop
     * stalled meanwhile: give up on a lock sooner — the put's savepoint fails
     * alone, answered 500, resent */
    PQclear(PQexec(sp->db, "SET lock_timeout = '" LOCK_TIMEOUT "'"));
    PGresult *r = store_pg_run(sp, "SELECT value FROM reportd_meta WHERE key = 'seq'", NULL);
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
    store_done_signal(sp->done_fd);
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
    store_done_wait(sp->done_fd);
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
            store_pg_dberr(sp, err, errlen, "commit");
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
        sp->link = pglink_start(sp->dsn, STORE_PG_LAYOUT);
}

static void pg_link(struct spool *sp, struct spool_link *l)
{
    char last[300] = "";
    if (sp->down && sp->live && !sp->link)
        sp->link = pglink_start(sp->dsn, STORE_PG_LAYOUT);
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
    PGresult *r = store_pg_run(sp, size_query, NULL);
    int64_t n = r && PQntuples(r) == 1 ? cell_int(r, 0, 0) : -1;
    PQclear(r);
    return n;
}

static size_t pg_uncommitted(const struct spool *sp)
{
    return sp->uncommitted;
}

/* Every write goes through here: open the batch's transaction on first use. */
int store_pg_begin(struct spool *sp, char *err, size_t errlen)
{
    if (sp->down || sp->batch_lost)
        return store_pg_dberr(sp, err, errlen, "begin");
    if (!sp->in_tx) {
        PGresult *r = store_pg_run(sp, "BEGIN", NULL);
        if (!r)
            return store_pg_dberr(sp, err, errlen, "begin");
        PQclear(r);
        sp->in_tx = 1;
        if (store_pg_fence(sp, err, errlen) != 0)
            return -1;
    }
    sp->uncommitted++;
    return 0;
}

/* A savepoint around a statement group: all of it or none. */
static int save(struct spool *sp)
{
    return store_pg_run_changes(sp, "SAVEPOINT job_body", NULL) < 0 ? -1 : 0;
}

static int save_end(struct spool *sp, int failed, char *err, size_t errlen, const char *what)
{
    if (failed) {
        store_pg_dberr(sp, err, errlen, what);
        store_pg_run_changes(sp, "ROLLBACK TO SAVEPOINT job_body", NULL);
    }
    store_pg_run_changes(sp, "RELEASE SAVEPOINT job_body", NULL);
    return failed ? -1 : 0;
}

static int drop_body(struct spool *sp, const char *uuid)
{
    struct params p = {0};
    p_text(&p, uuid);
    return store_pg_run_changes(sp, "DELETE FROM body WHERE uuid = $1", &p) < 0 ? -1 : 0;
}

static int pg_put(struct spool *sp, const char *uuid, const char *submission_id,
                  const char *service, const void *body, size_t len, char *err, size_t errlen)
{
    if (store_pg_begin(sp, err, errlen))
        return -1;
    if (save(sp) != 0)
        return store_pg_dberr(sp, err, errlen, "put");
    struct params p = {0};
    p_text(&p, uuid);
    p_text(&p, submission_id);
    p_text(&p, service);
    p_int(&p, now());
    p_text(&p, sp->role == STORE_PG_STANDBY ? "f" : "t");   /* a standby's job waits for a claim */
    /* a job already there is neither locked nor waited for (ON CONFLICT would
     * wait for a batch that is changing its row): a resubmission to a standby
     * must not wait on the leader's batch finishing it — the two would deadlock
     * or stall the loop. Seen: nothing inserted; only a closed job, reopened,
     * is written. (Two brokers inserting one new id at once still meet on the
     * key: the second waits, at most lock_timeout.) */
    PGresult *r = store_pg_run(sp, "WITH e AS (SELECT state FROM job WHERE uuid = $1),"
                               " i AS (INSERT INTO job(pos, uuid, submission_id, service, state,"
                               " attempts, created_at, updated_at)"
                               " SELECT CASE WHEN $5::boolean THEN (SELECT coalesce(max(pos), 0) +"
                               " 1 FROM job) ELSE 0 END, $1, $2, $3, 0, 0, $4, $4"
                               " WHERE NOT EXISTS (SELECT 1 FROM e)"
                               " ON CONFLICT(uuid) DO NOTHING RETURNING pos)"
                               " SELECT (SELECT pos FROM i), (SELECT state FROM e)", &p);
    int inserted = r && !PQgetisnull(r, 0, 0);
    int closed = r && !PQgetisnull(r, 0, 1) && cell_int(r, 0, 1) == SPOOL_CLOSED;
    if (inserted) {
        sp->put_rowid = cell_int(r, 0, 0);
    } else if (closed) {
        PQclear(r);
        r = store_pg_run(sp, "UPDATE job SET submission_id = $2, service = $3, state = 0, attempts"
                         " = 0, reply = NULL, status = NULL, reason = NULL, reply_seq = NULL,"
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
        failed = store_pg_run_changes(sp, "INSERT INTO body(uuid, data) VALUES ($1, $2)"
                                      " ON CONFLICT(uuid) DO UPDATE SET data = $2", &b) < 0 ||
                 store_pg_notify_leader(sp) != 0;
    }
    return save_end(sp, failed, err, errlen, "put") ? -1 : stored;
}

static int pg_finish(struct spool *sp, const char *uuid, int status, const void *reply,
                     size_t len, uint64_t reply_seq, char *err, size_t errlen)
{
    if (store_pg_leader_only(sp, err, errlen, "a Result"))
        return -1;
    if (store_pg_begin(sp, err, errlen))
        return -1;
    if (save(sp) != 0)
        return store_pg_dberr(sp, err, errlen, "finish");
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
    long n = store_pg_run_changes(sp, "UPDATE job SET state = 1, reply = $2::bytea, status = $3,"
                                  " updated_at = $4, reply_seq = $5 WHERE uuid = $1 AND state ="
                                  " 0", &p);
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
    PGresult *r = store_pg_run(sp, "SELECT j.state, coalesce(j.reply, r.data) FROM job j"
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
    if (store_pg_begin(sp, err, errlen))
        return -1;
    struct params p = {0};
    p_text(&p, uuid);
    if (text)
        p_text(&p, text);
    p_int(&p, now());
    long n = store_pg_run_changes(sp, q, &p);
    if (n < 0)
        store_pg_dberr(sp, err, errlen, q);
    return n;
}

static int pg_close_job(struct spool *sp, const char *uuid, char *err, size_t errlen)
{
    if (store_pg_begin(sp, err, errlen))
        return -1;
    struct params p = {0};
    p_text(&p, uuid);
    /* the job's Result goes with it unless the log still refers to it */
    if (store_pg_run_changes(sp, "DELETE FROM result WHERE seq = (SELECT reply_seq FROM job"
                             " WHERE uuid = $1 AND state = 1) AND NOT EXISTS"
                             " (SELECT 1 FROM published p WHERE p.seq = result.seq)", &p) < 0)
        return store_pg_dberr(sp, err, errlen, "close");
    p_int(&p, now());
    long n = store_pg_run_changes(sp, "UPDATE job SET state = 3, reply = NULL, reply_seq = NULL,"
                                  " updated_at = $2 WHERE uuid = $1 AND state IN (0, 1)", &p);
    if (n < 0 || (n > 0 && drop_body(sp, uuid) != 0))
        return store_pg_dberr(sp, err, errlen, "close");
    return 0;
}

static int pg_attempt(struct spool *sp, const char *uuid, char *err, size_t errlen)
{
    if (store_pg_leader_only(sp, err, errlen, "an attempt"))
        return -1;
    if (store_pg_begin(sp, err, errlen))
        return -1;
    struct params p = {0};
    p_text(&p, uuid);
    p_int(&p, now());
    PGresult *r = store_pg_run(sp, "UPDATE job SET attempts = attempts + 1, updated_at = $2"
                               " WHERE uuid = $1 RETURNING attempts", &p);
    if (!r)
        return store_pg_dberr(sp, err, errlen, "attempt");
    int n = PQntuples(r) == 1 ? (int)cell_int(r, 0, 0) : -1;
    PQclear(r);
    return n;
}

static int pg_bury(struct spool *sp, const char *uuid, const char *reason, char *err,
                   size_t errlen)
{
    if (store_pg_leader_only(sp, err, errlen, "a dead letter"))
        return -1;
    return exec_uuid(sp, "UPDATE job SET state = 2, reason = $2, updated_at = $3"
                     " WHERE uuid = $1", uuid, reason, err, errlen) < 0 ? -1 : 0;
}

static int pg_retry(struct spool *sp, const char *uuid, char *err, size_t errlen)
{
    long n = exec_uuid(sp, sp->role == STORE_PG_STANDBY
                       ? "UPDATE job SET state = 0, attempts = 0, reason = NULL,"
                         " updated_at = $2, pos = 0 WHERE uuid = $1 AND state = 2"
                       : "UPDATE job SET state = 0, attempts = 0, reason = NULL,"
                         " updated_at = $2, pos = (SELECT max(pos) + 1 FROM job)"
                         " WHERE uuid = $1 AND state = 2", uuid, NULL, err, errlen);
    if (n > 0 && store_pg_notify_leader(sp) != 0)
        return store_pg_dberr(sp, err, errlen, "retry");
    return n < 0 ? -1 : n > 0;
}

static long pg_pending_after(struct spool *sp, int64_t after, size_t limit, spool_job_fn *fn,
                             void *arg)
{
    struct params p = {0};
    p_int(&p, after);
    p_int(&p, (int64_t)limit);
    PGresult *r = store_pg_run(sp, "SELECT j.pos, j.uuid, j.service, b.data FROM job j"
                               " LEFT JOIN body b ON b.uuid = j.uuid WHERE j.state = 0 AND j.pos >"
                               " $1 ORDER BY j.pos LIMIT $2", &p);
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
    PGresult *r = store_pg_run(sp, "SELECT uuid, submission_id, reason, attempts, updated_at FROM"
                               " job WHERE state = 2 ORDER BY updated_at, pos", NULL);
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
    PGresult *r = store_pg_run(sp, "SELECT j.uuid, j.submission_id, j.reason, j.attempts,"
                               " j.updated_at, b.data, j.service FROM job j LEFT JOIN body b ON"
                               " b.uuid = j.uuid WHERE j.state = 2 AND j.uuid = $1", &p);
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
    if (store_pg_leader_only(sp, err, errlen, "a publication"))
        return 0;
    if (store_pg_begin(sp, err, errlen))
        return 0;
    struct params p = {0};
    p_text(&p, topic);
    p_bytes(&p, body, len);
    p_int(&p, now());
    p_text(&p, spool_topic_is_result(topic) ? "t" : "f");
    /* a Result's bytes go to result, under the same seq; the log row refers */
    PGresult *r = store_pg_run(sp, "WITH n AS (UPDATE reportd_meta SET value = (value::bigint +"
                               " 1)::text WHERE key = 'seq' RETURNING value::bigint AS seq),"
                               " l AS (INSERT INTO published(seq, topic, body, at)"
                               " SELECT seq, $1, CASE WHEN $4::boolean THEN ''::bytea ELSE"
                               " $2::bytea END, $3 FROM n RETURNING seq),"
                               " r AS (INSERT INTO result(seq, data) SELECT seq, $2::bytea FROM l"
                               " WHERE $4::boolean)"
                               " SELECT seq FROM l", &p);
    if (!r || PQntuples(r) != 1) {
        PQclear(r);
        store_pg_dberr(sp, err, errlen, "log");
        return 0;
    }
    sp->last_seq = (uint64_t)cell_int(r, 0, 0);
    PQclear(r);
    return sp->last_seq;
}

static int pg_replay(struct spool *sp, uint64_t from, uint64_t to, size_t limit,
                     spool_msg_fn *fn, void *arg)
{
    if (sp->role == STORE_PG_STANDBY && !sp->in_tx && to > sp->committed_seq)
        store_pg_read_meta(sp, NULL, 0);     /* the leader's publications since the last look */
    if (to > sp->committed_seq)
        to = sp->committed_seq;
    if (from > to)
        return 0;
    struct params p = {0};
    p_int(&p, (int64_t)from);
    p_int(&p, (int64_t)to);
    p_int(&p, (int64_t)limit);
    PGresult *r = store_pg_run(sp, "SELECT p.seq, p.topic, coalesce(r.data, p.body) FROM published"
                               " p LEFT JOIN result r ON r.seq = p.seq WHERE p.seq >= $1 AND p.seq"
                               " <= $2 ORDER BY p.seq LIMIT $3", &p);
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
    PGresult *r = store_pg_run(sp, "SELECT count(*) FROM job WHERE state = $1", &p);
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
    if (store_pg_leader_only(sp, err, errlen, "the history"))
        return -1;
    if (store_pg_begin(sp, err, errlen))
        return -1;
    struct params p = {0};
    p_text(&p, body_key);
    p_int(&p, year);
    p_bytes(&p, report, len);
    p_text(&p, submission_id);
    p_int(&p, now());
    if (store_pg_run_changes(sp, "INSERT INTO history(body_key, year, report, submission_id,"
                             " updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT(body_key, year)"
                             " DO UPDATE SET report = $3, submission_id = $4, updated_at ="
                             " $5", &p) < 0)
        return store_pg_dberr(sp, err, errlen, "history put");
    return 0;
}

static int pg_history_get(struct spool *sp, const char *body_key, unsigned year, void **report,
                          size_t *len)
{
    struct params p = {0};
    p_text(&p, body_key);
    p_int(&p, year);
    PGresult *r = store_pg_run(sp, "SELECT report FROM history WHERE body_key = $1 AND year ="
                               " $2", &p);
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
    if (store_pg_leader_only(sp, err, errlen, "retention"))
        return -1;
    return store_pg_begin(sp, err, errlen) ? -1 : 0;
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
        if (prune_sql[kind][i] && (n = store_pg_run_changes(sp, prune_sql[kind][i], &p)) < 0)
            return store_pg_dberr(sp, err, errlen, "prune");
    return n;
}

/* The first column of the first row of q, or -1. */
static int64_t query_int(struct spool *sp, const char *q)
{
    PGresult *r = store_pg_run(sp, q, NULL);
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
    .lead = store_pg_lead,
    .claim = store_pg_claim,
    .wake_fd = store_pg_wake_fd,
    .check = store_pg_check,
    .link = pg_link,
    .size = pg_size,
};
