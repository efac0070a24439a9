/* store_sqlite: the spool's SQLite backend (store.h) — WAL mode with
 * synchronous=FULL, so a COMMIT returns only after the WAL is fsynced. Writes
 * open a transaction lazily and stay in it until the commit, which the writer
 * thread runs (the broker acknowledges the batch only then). Layout 2
 * (PRAGMA user_version; layouts 0 and 1 are migrated on open, then VACUUMed):
 *   job(uuid PK, submission_id, service, state, attempts, reply, status,
 *       reason, created_at, updated_at, reply_seq)  — Titanic jobs and dead
 *       letters; a published reply is not in reply but in result, at reply_seq
 *   body(uuid PK, data) — the request of a pending job or a dead letter only:
 *       deleted once the job is done or closed
 *   published(seq INTEGER PRIMARY KEY AUTOINCREMENT, topic, body, at) — a
 *       result.* publication's body is empty: it refers to result at its seq
 *   result(seq PK, data) — each published Result, stored once: the log and
 *       the done job refer to it; deleted once neither does (a publication
 *       and a job pruned, or the job closed)
 *   history(body_key, year, report, submission_id, updated_at; PK (body_key, year))
 *       — each body's latest accepted report of a year (a packed Report), which
 *       the broker attaches to the body's next-year job (issue 13); created
 *       when missing, in any layout (a table more: no new layout)
 * AUTOINCREMENT: a committed sequence number is never handed out again. */
#include "broker/store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

/* Retention cuts the log from its start only: the highest seq among its
 * first ?2 rows that comes before the first of them published at or after
 * ?1 (0: none). */
#define PUB_UPTO \
    "SELECT coalesce(max(seq), 0) FROM (SELECT seq, at FROM published ORDER BY seq LIMIT ?2)" \
    " WHERE seq < coalesce((SELECT min(seq) FROM (SELECT seq, at FROM published ORDER BY seq" \
    " LIMIT ?2) WHERE at >= ?1), 9223372036854775807)"

enum stmt {
    S_PUT, S_ROWID, S_BODY_PUT, S_BODY_DEL, S_FINISH, S_GET, S_CLOSE, S_ATTEMPT, S_ATTEMPTS, S_BURY,
    S_RETRY, S_PENDING, S_DEAD, S_DEAD_ONE, S_LOG, S_REPLAY, S_COUNT, S_HPUT, S_HGET, S_SAVE,
    S_RELEASE, S_UNDO, S_PRUNE_JOBS, S_PRUNE_DEAD_BODY, S_PRUNE_DEAD, S_PRUNE_PUB, S_PRUNE_HISTORY, S_FIRST_SEQ, S_RESULT_PUT, S_CLOSE_RESULT, S_PRUNE_JOB_RESULTS,
    S_PRUNE_PUB_RESULTS, S_NSTMT
};

static const char *const sql[S_NSTMT] = {
    [S_PUT] = "INSERT INTO job(uuid, submission_id, service, state, attempts,"
              " created_at, updated_at) VALUES (?1, ?2, ?3, 0, 0, ?4, ?4)"
              " ON CONFLICT(uuid) DO UPDATE SET submission_id = ?2, service = ?3, state = 0,"
              " attempts = 0, reply = NULL, status = NULL, reason = NULL,"
              " reply_seq = NULL, created_at = ?4, updated_at = ?4,"
              " rowid = (SELECT max(rowid) + 1 FROM job) WHERE job.state = 3",
    /* a job's rowid is its place in line (spool_pending_after): one made pending
     * again (a request after close, a retried dead letter) goes to the end */
    [S_ROWID] = "SELECT rowid FROM job WHERE uuid = ?1",
    [S_BODY_PUT] = "INSERT OR REPLACE INTO body(uuid, data) VALUES (?1, ?2)",
    [S_BODY_DEL] = "DELETE FROM body WHERE uuid = ?1",
    [S_FINISH] = "UPDATE job SET state = 1, reply = ?2, status = ?3, updated_at = ?4,"
                 " reply_seq = ?5 WHERE uuid = ?1 AND state = 0",
    [S_GET] = "SELECT j.state, coalesce(j.reply, r.data) FROM job j"
              " LEFT JOIN result r ON r.seq = j.reply_seq WHERE j.uuid = ?1",
    [S_CLOSE] = "UPDATE job SET state = 3, reply = NULL, reply_seq = NULL, updated_at = ?2"
                " WHERE uuid = ?1 AND state IN (0, 1)",
    /* before S_CLOSE: the job's Result goes with it unless the log still refers to it */
    [S_CLOSE_RESULT] = "DELETE FROM result WHERE seq = (SELECT reply_seq FROM job"
                       " WHERE uuid = ?1 AND state = 1) AND NOT EXISTS"
                       " (SELECT 1 FROM published p WHERE p.seq = result.seq)",
    [S_ATTEMPT] = "UPDATE job SET attempts = attempts + 1, updated_at = ?2 WHERE uuid = ?1",
    [S_ATTEMPTS] = "SELECT attempts FROM job WHERE uuid = ?1",
    [S_BURY] = "UPDATE job SET state = 2, reason = ?2, updated_at = ?3 WHERE uuid = ?1",
    [S_RETRY] = "UPDATE job SET state = 0, attempts = 0, reason = NULL, updated_at = ?2,"
                " rowid = (SELECT max(rowid) + 1 FROM job) WHERE uuid = ?1 AND state = 2",
    [S_PENDING] = "SELECT j.rowid, j.uuid, j.service, b.data FROM job j"
                  " LEFT JOIN body b ON b.uuid = j.uuid WHERE j.state = 0 AND j.rowid > ?1"
                  " ORDER BY j.rowid LIMIT ?2",
    [S_DEAD] = "SELECT uuid, submission_id, reason, attempts, updated_at FROM job"
               " WHERE state = 2 ORDER BY updated_at, rowid",
    [S_DEAD_ONE] = "SELECT j.uuid, j.submission_id, j.reason, j.attempts, j.updated_at, b.data,"
                   " j.service FROM job j LEFT JOIN body b ON b.uuid = j.uuid"
                   " WHERE j.state = 2 AND j.uuid = ?1",
    [S_LOG] = "INSERT INTO published(topic, body, at) VALUES (?1, ?2, ?3)",
    [S_RESULT_PUT] = "INSERT INTO result(seq, data) VALUES (?1, ?2)",
    [S_REPLAY] = "SELECT p.seq, p.topic, coalesce(r.data, p.body) FROM published p"
                 " LEFT JOIN result r ON r.seq = p.seq WHERE p.seq >= ?1 AND p.seq <= ?2"
                 " ORDER BY p.seq LIMIT ?3",
    [S_COUNT] = "SELECT count(*) FROM job WHERE state = ?1",
    [S_HPUT] = "INSERT OR REPLACE INTO history(body_key, year, report, submission_id, updated_at)"
               " VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_HGET] = "SELECT report FROM history WHERE body_key = ?1 AND year = ?2",
    [S_SAVE] = "SAVEPOINT job_body",
    [S_RELEASE] = "RELEASE job_body",
    [S_UNDO] = "ROLLBACK TO job_body",
    /* retention: a pending job (state 0) is never among them. A Result goes
     * once neither its job nor its publication refers to it: run before the
     * job rows (the same rows: same order and limit) or the log rows go */
    [S_PRUNE_JOB_RESULTS] = "DELETE FROM result WHERE seq IN (SELECT reply_seq FROM job"
                            " WHERE state IN (1, 3) AND updated_at < ?1 ORDER BY rowid LIMIT ?2)"
                            " AND NOT EXISTS (SELECT 1 FROM published p WHERE p.seq = result.seq)",
    [S_PRUNE_PUB_RESULTS] = "DELETE FROM result WHERE seq IN (SELECT seq FROM published"
                            " WHERE seq <= (" PUB_UPTO ")) AND NOT EXISTS (SELECT 1 FROM job j"
                            " WHERE j.state = 1 AND j.reply_seq = result.seq)",
    [S_PRUNE_JOBS] = "DELETE FROM job WHERE rowid IN (SELECT rowid FROM job"
                     " WHERE state IN (1, 3) AND updated_at < ?1 ORDER BY rowid LIMIT ?2)",
    [S_PRUNE_DEAD_BODY] = "DELETE FROM body WHERE uuid IN (SELECT uuid FROM job"
                          " WHERE state = 2 AND updated_at < ?1 ORDER BY rowid LIMIT ?2)",
    [S_PRUNE_DEAD] = "DELETE FROM job WHERE rowid IN (SELECT rowid FROM job"
                     " WHERE state = 2 AND updated_at < ?1 ORDER BY rowid LIMIT ?2)",
    [S_PRUNE_PUB] = "DELETE FROM published WHERE seq <= (" PUB_UPTO ")",
    [S_PRUNE_HISTORY] = "DELETE FROM history WHERE (body_key, year) IN (SELECT body_key, year"
                        " FROM history WHERE year < ?1 LIMIT ?2)",
    [S_FIRST_SEQ] = "SELECT seq FROM published ORDER BY seq LIMIT 1",
};

/* The layout this code writes, as PRAGMA user_version. */
#define LAYOUT 2

static const char schema[] =
    "CREATE TABLE job("
    " uuid TEXT PRIMARY KEY, submission_id TEXT, service TEXT NOT NULL,"
    " state INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " reply BLOB, status INTEGER, reason TEXT,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, reply_seq INTEGER);"
    "CREATE INDEX job_state ON job(state);"
    "CREATE TABLE body(uuid TEXT PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE published("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, body BLOB NOT NULL,"
    " at INTEGER NOT NULL);"
    "CREATE TABLE result(seq INTEGER PRIMARY KEY, data BLOB NOT NULL);"
    "PRAGMA user_version = 2;";

/* Layout 0 (reportd before issue 10: no user_version) kept each body in its
 * job row, also after the job was done; a pending or dead job's body moves
 * to the body table, the others are dropped with the column. */
static const char migrate_0[] =
    "CREATE TABLE body(uuid TEXT PRIMARY KEY, data BLOB NOT NULL);"
    "INSERT INTO body(uuid, data) SELECT uuid, body FROM job"
    " WHERE state IN (0, 2) AND body IS NOT NULL;"
    "ALTER TABLE job DROP COLUMN body;"
    "PRAGMA user_version = 1;";

/* Layout 1 kept a published Result as its publication's body, which a done
 * job referred to (reply_seq): the Results move to their own table, keyed by
 * that seq, so the log may be cut without them and they without the log. A
 * closed job refers to nothing any more. */
static const char migrate_1[] =
    "CREATE TABLE result(seq INTEGER PRIMARY KEY, data BLOB NOT NULL);"
    "INSERT INTO result(seq, data) SELECT seq, body FROM published WHERE topic GLOB 'result.*';"
    "UPDATE published SET body = X'' WHERE topic GLOB 'result.*';"
    "UPDATE job SET reply_seq = NULL WHERE state <> 1;"
    "PRAGMA user_version = 2;";

/* The history of previous years (issue 13), in any layout from 1 on: a table
 * more, which a reportd without history leaves alone, so no new layout. */
static const char history_schema[] =
    "CREATE TABLE IF NOT EXISTS history("
    " body_key TEXT NOT NULL, year INTEGER NOT NULL, report BLOB NOT NULL,"
    " submission_id TEXT, updated_at INTEGER NOT NULL,"
    " PRIMARY KEY(body_key, year)) WITHOUT ROWID;"
    /* retention finds the oldest Result living in the log without a scan */
    "CREATE INDEX IF NOT EXISTS job_reply_seq ON job(reply_seq) WHERE state = 1;";

struct spool {
    struct spool_base base;     /* first: spool.c reads the ops */
    sqlite3 *db;
    char *path;
    struct stat file, wal;      /* the files as opened: a deleted one is noticed */
    int wal_seen;               /* wal holds the WAL's identity */
    int lost;                   /* a file was deleted or replaced: nothing is durable */
    sqlite3_stmt *st[S_NSTMT];
    size_t uncommitted;         /* writes in the open transaction */
    uint64_t committed_seq;     /* highest durable sequence number */
    uint64_t last_seq;          /* highest sequence number, maybe uncommitted */
    int64_t put_rowid;          /* the row the last put stored (new or reopened) */
    /* the writer thread: it runs COMMIT (the fsync) and the WAL checkpoints,
     * so the broker's loop waits for neither */
    pthread_t writer;
    int writer_up;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int order;                  /* under mu: W_COMMIT or W_QUIT handed to the writer */
    int busy;                   /* a commit begun and not ended (the caller's side) */
    int done_fd;                /* eventfd: the commit begun is over */
    int outcome;                /* the writer's: 0 or -1 with why */
    char why[512];
    sqlite3 *ckpt;              /* the writer's own connection for checkpoints */
    int wal_pages;              /* WAL frames after the last commit (writer only) */
};

enum { W_NONE, W_COMMIT, W_QUIT };
/* A passive checkpoint once the WAL holds this many pages (SQLite's own
 * default for wal_autocheckpoint, which is off on the broker's connection). */
#define CHECKPOINT_PAGES 1000

static void sq_close(struct spool *sp);
static int sq_commit_begin(struct spool *sp);
static int sq_commit_end(struct spool *sp, char *err, size_t errlen);
static int sq_lost(struct spool *sp, char *err, size_t errlen);
static int start_writer(struct spool *sp, char *err, size_t errlen);

static int64_t now(void)
{
    return (int64_t)time(NULL);
}

static int dberr(struct spool *sp, char *err, size_t errlen, const char *what)
{
    return errf(err, errlen, "spool: %s: %s", what, sqlite3_errmsg(sp->db));
}

static sqlite3_stmt *stmt(struct spool *sp, enum stmt s)
{
    sqlite3_reset(sp->st[s]);
    sqlite3_clear_bindings(sp->st[s]);
    return sp->st[s];
}

/* The first column of the first row of q, or -1. */
static int64_t query_int(sqlite3 *db, const char *q)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Bring the file to LAYOUT in one transaction: a new file gets the schema,
 * layout 0 is migrated (made before reply_seq: that column first) to 1, and 1
 * to 2. A migrated file is then compacted once (VACUUM: what the migration
 * freed — layout 0's bodies of finished jobs — leaves the file). A layout
 * above LAYOUT is refused: a newer reportd wrote it. 1 when migrated, 0
 * otherwise, or -1 with err. */
static int layout(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    int64_t version = query_int(db, "PRAGMA user_version");
    if (version == LAYOUT)
        return 0;
    if (version < 0 || version > LAYOUT)
        return errf(err, errlen, "spool: %s: layout %lld, written by a newer reportd (this one "
                    "reads layouts 0 to %d): use that reportd, or another spool.path", path,
                    (long long)version, LAYOUT);
    int fresh = query_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'job'") == 0;
    int no_seq = !fresh && query_int(db, "SELECT count(*) FROM pragma_table_info('job')"
                                         " WHERE name = 'reply_seq'") == 0;
    char *msg = NULL;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
        (no_seq && sqlite3_exec(db, "ALTER TABLE job ADD COLUMN reply_seq INTEGER", NULL, NULL,
                                &msg) != SQLITE_OK) ||
        (fresh && sqlite3_exec(db, schema, NULL, NULL, &msg) != SQLITE_OK) ||
        (!fresh && version == 0 && sqlite3_exec(db, migrate_0, NULL, NULL, &msg) != SQLITE_OK) ||
        (!fresh && sqlite3_exec(db, migrate_1, NULL, NULL, &msg) != SQLITE_OK) ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
        errf(err, errlen, "spool: %s: %s layout %d: %s", path, fresh ? "creating" : "migrating to",
             LAYOUT, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    /* migrated and durable: a failed VACUUM only leaves the file larger */
    if (!fresh && sqlite3_exec(db, "VACUUM", NULL, NULL, &msg) != SQLITE_OK) {
        log_msg(LOG_PRI_WARNING, "spool: %s: migrated to layout %d, but not compacted: %s", path,
                LAYOUT, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
    }
    return !fresh;
}

static struct spool *sq_open(const char *path, char *err, size_t errlen)
{
    struct spool *sp = xcalloc(1, sizeof *sp);
    sp->base.ops = &store_sqlite;
    sp->done_fd = -1;
    if (sqlite3_open_v2(path, &sp->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        errf(err, errlen, "spool: %s: %s", path, sp->db ? sqlite3_errmsg(sp->db) : "cannot open");
        goto fail;
    }
    sqlite3_busy_timeout(sp->db, 5000);
    char *msg = NULL;
    /* 4 KiB pages, by measurement (README, Measured): with bodies in their
     * own table, deleted when done, 64 KiB pages made each commit write whole
     * 64 KiB pages of the body b-tree and its freelist, and halved the durable
     * rate. page_size takes effect on a new file only. */
    if (sqlite3_exec(sp->db, "PRAGMA page_size=4096; PRAGMA journal_mode=WAL;"
                     " PRAGMA synchronous=FULL;", NULL, NULL, &msg) != SQLITE_OK) {
        errf(err, errlen, "spool: %s: %s", path, msg ? msg : "journal");
        sqlite3_free(msg);
        goto fail;
    }
    int migrated = layout(sp->db, path, err, errlen);
    if (migrated < 0)
        goto fail;
    if (sqlite3_exec(sp->db, history_schema, NULL, NULL, &msg) != SQLITE_OK) {
        errf(err, errlen, "spool: %s: history table: %s", path, msg ? msg : "schema");
        sqlite3_free(msg);
        goto fail;
    }
    /* a migration and its VACUUM went through the WAL (as large as the file):
     * copied back and emptied now, not in the first batch's commit */
    if (migrated)
        sqlite3_wal_checkpoint_v2(sp->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    for (int i = 0; i < S_NSTMT; i++)
        if (sqlite3_prepare_v3(sp->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &sp->st[i], NULL)) {
            dberr(sp, err, errlen, sql[i]);
            goto fail;
        }
    sqlite3_stmt *q;
    /* AUTOINCREMENT's counter, not max(seq): retention may have emptied the log */
    if (sqlite3_prepare_v2(sp->db, "SELECT max(coalesce((SELECT seq FROM sqlite_sequence"
                           " WHERE name = 'published'), 0), coalesce(max(seq), 0))"
                           " FROM published", -1, &q, NULL) == SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW)
            sp->committed_seq = (uint64_t)sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
    }
    sp->last_seq = sp->committed_seq;
    sp->path = xstrdup(path);
    if (stat(path, &sp->file) != 0) {
        errf(err, errlen, "spool: %s: cannot stat it", path);
        goto fail;
    }
    if (start_writer(sp, err, errlen) != 0)
        goto fail;
    return sp;
fail:
    sq_close(sp);
    return NULL;
}

static void sq_close(struct spool *sp)
{
    if (!sp)
        return;
    if (sp->busy)
        sq_commit_end(sp, NULL, 0);
    if (sp->writer_up && sq_commit_begin(sp))
        sq_commit_end(sp, NULL, 0);
    if (sp->writer_up) {
        pthread_mutex_lock(&sp->mu);
        sp->order = W_QUIT;
        pthread_cond_signal(&sp->cv);
        pthread_mutex_unlock(&sp->mu);
        pthread_join(sp->writer, NULL);
        pthread_mutex_destroy(&sp->mu);
        pthread_cond_destroy(&sp->cv);
    }
    if (sp->done_fd >= 0)
        close(sp->done_fd);
    sqlite3_close(sp->ckpt);    /* first: the last connection closed removes the WAL */
    for (int i = 0; i < S_NSTMT; i++)
        sqlite3_finalize(sp->st[i]);
    sqlite3_close(sp->db);
    free(sp->path);
    free(sp);
}

/* Every write goes through here: open the batch's transaction on first use. */
static int begin(struct spool *sp, char *err, size_t errlen)
{
    if (sp->uncommitted == 0 && sqlite3_get_autocommit(sp->db) &&
        sqlite3_exec(sp->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return dberr(sp, err, errlen, "begin");
    sp->uncommitted++;
    return 0;
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static int sq_lost(struct spool *sp, char *err, size_t errlen)
{
    if (!sp->lost) {
        struct stat now;
        char *wal = xasprintf("%s-wal", sp->path);
        if (stat(sp->path, &now) != 0 || !same_file(&now, &sp->file)) {
            sp->lost = 1;
        } else if (stat(wal, &now) != 0) {
            sp->lost = sp->wal_seen;
        } else if (!sp->wal_seen) {
            sp->wal = now;      /* SQLite makes the WAL on the first write */
            sp->wal_seen = 1;
        } else {
            sp->lost = !same_file(&now, &sp->wal);
        }
        free(wal);
    }
    if (sp->lost)
        errf(err, errlen, "spool %s was deleted or replaced under the running broker: nothing "
             "written since is durable; restart reportd to open a new spool", sp->path);
    return sp->lost;
}

/* The writer's side of a commit: make the batch durable or roll it back. */
static int commit_now(struct spool *sp, char *err, size_t errlen)
{
    if (sq_lost(sp, err, errlen) ||
        (sqlite3_exec(sp->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK &&
         dberr(sp, err, errlen, "commit"))) {
        sqlite3_exec(sp->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

/* Called by SQLite in the writer thread as a commit ends: the WAL's size. */
static int wal_grew(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    ((struct spool *)arg)->wal_pages = pages;
    return SQLITE_OK;
}

static void *writer_main(void *arg)
{
    struct spool *sp = arg;
    pthread_mutex_lock(&sp->mu);
    for (;;) {
        while (sp->order == W_NONE)
            pthread_cond_wait(&sp->cv, &sp->mu);
        if (sp->order == W_QUIT)
            break;
        sp->order = W_NONE;
        pthread_mutex_unlock(&sp->mu);
        char why[sizeof sp->why] = "";
        int outcome = commit_now(sp, why, sizeof why);
        /* A checkpoint once the WAL is large, on this thread's own connection,
         * before the batch is over: the broker's connection is idle until
         * then, so the checkpoint copies every frame, and the broker's next
         * transaction starts the WAL again from its beginning (SQLite restarts
         * it only for a writer that began with every frame copied). Run after
         * the caller took its connection back, it never completed under load
         * and the WAL grew without bound. PASSIVE: it takes no lock a reader
         * waits for. */
        if (outcome == 0 && sp->wal_pages >= CHECKPOINT_PAGES) {
            sp->wal_pages = 0;
            sqlite3_wal_checkpoint_v2(sp->ckpt, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        }
        pthread_mutex_lock(&sp->mu);    /* what the caller reads after done_fd */
        sp->outcome = outcome;
        memcpy(sp->why, why, sizeof why);
        pthread_mutex_unlock(&sp->mu);
        store_done_signal(sp->done_fd);
        pthread_mutex_lock(&sp->mu);
    }
    pthread_mutex_unlock(&sp->mu);
    return NULL;
}

static int start_writer(struct spool *sp, char *err, size_t errlen)
{
    if (sqlite3_open_v2(sp->path, &sp->ckpt, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        return errf(err, errlen, "spool: %s: checkpoint connection: %s", sp->path,
                    sp->ckpt ? sqlite3_errmsg(sp->ckpt) : "cannot open");
    /* a connection knows the file is in WAL mode only once it has read it:
     * before, its checkpoints do nothing (and the WAL grew without bound) */
    char *msg = NULL;
    if (sqlite3_exec(sp->ckpt, "SELECT count(*) FROM sqlite_master", NULL, NULL, &msg) !=
        SQLITE_OK) {
        errf(err, errlen, "spool: %s: checkpoint connection: %s", sp->path, msg ? msg : "read");
        sqlite3_free(msg);
        return -1;
    }
    sqlite3_wal_hook(sp->db, wal_grew, sp);    /* replaces the autocheckpoint */
    sp->done_fd = eventfd(0, EFD_CLOEXEC);
    if (sp->done_fd < 0)
        return errf(err, errlen, "spool: eventfd: %s", strerror(errno));
    pthread_mutex_init(&sp->mu, NULL);
    pthread_cond_init(&sp->cv, NULL);
    if (pthread_create(&sp->writer, NULL, writer_main, sp) != 0) {
        pthread_mutex_destroy(&sp->mu);
        pthread_cond_destroy(&sp->cv);
        return errf(err, errlen, "spool: cannot start the writer thread");
    }
    sp->writer_up = 1;
    return 0;
}

static int sq_commit_begin(struct spool *sp)
{
    if (sp->busy || sp->uncommitted == 0)
        return 0;
    sp->uncommitted = 0;
    sp->busy = 1;
    pthread_mutex_lock(&sp->mu);
    sp->order = W_COMMIT;
    pthread_cond_signal(&sp->cv);
    pthread_mutex_unlock(&sp->mu);
    return 1;
}

static int sq_commit_fd(const struct spool *sp)
{
    return sp->done_fd;
}

static int sq_commit_end(struct spool *sp, char *err, size_t errlen)
{
    if (!sp->busy)
        return 0;
    store_done_wait(sp->done_fd);
    sp->busy = 0;
    pthread_mutex_lock(&sp->mu);
    int outcome = sp->outcome;
    if (outcome != 0)
        errf(err, errlen, "%s", sp->why);
    pthread_mutex_unlock(&sp->mu);
    if (outcome != 0) {
        sp->last_seq = sp->committed_seq;
        return -1;
    }
    sp->committed_seq = sp->last_seq;
    return 0;
}

static size_t sq_uncommitted(const struct spool *sp)
{
    return sp->uncommitted;
}

/* Steps q to its end. In a savepoint with the body statement after it, so a
 * job row and its body are written (or not) together. */
static int step_done(sqlite3_stmt *q)
{
    return sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
}

static int savepoint_end(struct spool *sp, int failed, char *err, size_t errlen,
                         const char *what)
{
    if (failed) {
        dberr(sp, err, errlen, what);
        step_done(stmt(sp, S_UNDO));
    }
    step_done(stmt(sp, S_RELEASE));
    return failed ? -1 : 0;
}

static int sq_put(struct spool *sp, const char *uuid, const char *submission_id,
                  const char *service, const void *body, size_t len, char *err, size_t errlen)
{
    if (begin(sp, err, errlen))
        return -1;
    if (step_done(stmt(sp, S_SAVE)) != 0)
        return dberr(sp, err, errlen, "put");
    sqlite3_stmt *q = stmt(sp, S_PUT);
    sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, submission_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, service, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, now());
    int failed = step_done(q);
    int stored = !failed && sqlite3_changes(sp->db) != 0;
    if (stored) {
        /* not sqlite3_last_insert_rowid: a reopened job is an update, not an insert */
        q = stmt(sp, S_ROWID);
        sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
        sp->put_rowid = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
        sqlite3_reset(q);
    }
    if (stored) {
        q = stmt(sp, S_BODY_PUT);
        sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
        sqlite3_bind_blob(q, 2, body ? body : "", (int)len, SQLITE_STATIC);
        failed = step_done(q);
    }
    return savepoint_end(sp, failed, err, errlen, "put") ? -1 : stored;
}

/* After a job left pending or dead: its request is no longer needed. */
static int drop_body(struct spool *sp, const char *uuid)
{
    sqlite3_stmt *q = stmt(sp, S_BODY_DEL);
    sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
    return step_done(q);
}

static int sq_finish(struct spool *sp, const char *uuid, int status, const void *reply,
                     size_t len, uint64_t reply_seq, char *err, size_t errlen)
{
    if (begin(sp, err, errlen))
        return -1;
    if (step_done(stmt(sp, S_SAVE)) != 0)
        return dberr(sp, err, errlen, "finish");
    sqlite3_stmt *q = stmt(sp, S_FINISH);
    sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
    if (reply_seq)
        sqlite3_bind_int64(q, 5, (sqlite3_int64)reply_seq);
    else
        sqlite3_bind_blob(q, 2, reply ? reply : "", (int)len, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, status);
    sqlite3_bind_int64(q, 4, now());
    int failed = step_done(q);
    int done = !failed && sqlite3_changes(sp->db) != 0;
    if (done)
        failed = drop_body(sp, uuid);
    return savepoint_end(sp, failed, err, errlen, "finish") ? -1 : done;
}

static int sq_get(struct spool *sp, const char *uuid, void **reply, size_t *len)
{
    sqlite3_stmt *q = stmt(sp, S_GET);
    sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_ROW)
        return -1;
    int state = sqlite3_column_int(q, 0);
    if (reply && state == SPOOL_DONE) {
        const void *p = sqlite3_column_blob(q, 1);
        *len = (size_t)sqlite3_column_bytes(q, 1);
        *reply = xmalloc(*len);
        if (*len)
            memcpy(*reply, p, *len);
    }
    sqlite3_reset(q);
    return state;
}

static int exec_uuid(struct spool *sp, enum stmt s, const char *uuid, const char *text,
                     char *err, size_t errlen)
{
    if (begin(sp, err, errlen))
        return -1;
    sqlite3_stmt *q = stmt(sp, s);
    sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
    if (text) {
        sqlite3_bind_text(q, 2, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, now());
    } else {
        sqlite3_bind_int64(q, 2, now());
    }
    if (sqlite3_step(q) != SQLITE_DONE)
        return dberr(sp, err, errlen, sql[s]);
    return sqlite3_changes(sp->db) ? 1 : 0;
}

static int sq_close_job(struct spool *sp, const char *uuid, char *err, size_t errlen)
{
    if (begin(sp, err, errlen))
        return -1;
    sqlite3_stmt *q = stmt(sp, S_CLOSE_RESULT);
    sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
    if (step_done(q) != 0)
        return dberr(sp, err, errlen, "close");
    q = stmt(sp, S_CLOSE);
    sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now());
    if (step_done(q) != 0 || (sqlite3_changes(sp->db) && drop_body(sp, uuid) != 0))
        return dberr(sp, err, errlen, "close");
    return 0;
}

static int sq_attempt(struct spool *sp, const char *uuid, char *err, size_t errlen)
{
    if (exec_uuid(sp, S_ATTEMPT, uuid, NULL, err, errlen) < 0)
        return -1;
    sqlite3_stmt *q = stmt(sp, S_ATTEMPTS);
    sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
    int n = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
    sqlite3_reset(q);
    return n;
}

static int sq_bury(struct spool *sp, const char *uuid, const char *reason, char *err,
               size_t errlen)
{
    return exec_uuid(sp, S_BURY, uuid, reason, err, errlen) < 0 ? -1 : 0;
}

static int sq_retry(struct spool *sp, const char *uuid, char *err, size_t errlen)
{
    return exec_uuid(sp, S_RETRY, uuid, NULL, err, errlen);
}

static long sq_pending_after(struct spool *sp, int64_t after, size_t limit, spool_job_fn *fn,
                         void *arg)
{
    sqlite3_stmt *q = stmt(sp, S_PENDING);
    sqlite3_bind_int64(q, 1, after);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)limit);
    int rc;
    long n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        fn(arg, sqlite3_column_int64(q, 0), (const char *)sqlite3_column_text(q, 1),
           (const char *)sqlite3_column_text(q, 2), sqlite3_column_blob(q, 3),
           (size_t)sqlite3_column_bytes(q, 3));
        n++;
    }
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? n : -1;
}

static int64_t sq_last_rowid(const struct spool *sp)
{
    return sp->put_rowid;
}

static void dead_row(sqlite3_stmt *q, struct spool_dead *d, int with_body)
{
    memset(d, 0, sizeof *d);
    d->uuid = (const char *)sqlite3_column_text(q, 0);
    d->submission_id = (const char *)sqlite3_column_text(q, 1);
    d->reason = (const char *)sqlite3_column_text(q, 2);
    d->attempts = sqlite3_column_int(q, 3);
    d->updated_at = sqlite3_column_int64(q, 4);
    if (with_body) {
        d->body = sqlite3_column_blob(q, 5);
        d->len = (size_t)sqlite3_column_bytes(q, 5);
        d->service = (const char *)sqlite3_column_text(q, 6);
    }
}

static int sq_each_dead(struct spool *sp, spool_dead_fn *fn, void *arg)
{
    sqlite3_stmt *q = stmt(sp, S_DEAD);
    int rc;
    struct spool_dead d;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        dead_row(q, &d, 0);
        fn(arg, &d);
    }
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int sq_dead_get(struct spool *sp, const char *uuid, spool_dead_fn *fn, void *arg)
{
    sqlite3_stmt *q = stmt(sp, S_DEAD_ONE);
    sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        struct spool_dead d;
        dead_row(q, &d, 1);
        fn(arg, &d);
    }
    sqlite3_reset(q);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static uint64_t sq_log(struct spool *sp, const char *topic, const void *body, size_t len,
                   char *err, size_t errlen)
{
    if (begin(sp, err, errlen))
        return 0;
    if (step_done(stmt(sp, S_SAVE)) != 0) {
        dberr(sp, err, errlen, "log");
        return 0;
    }
    /* a Result's bytes go to result, under the same seq; the log row refers */
    int result = spool_topic_is_result(topic);
    sqlite3_stmt *q = stmt(sp, S_LOG);
    sqlite3_bind_text(q, 1, topic, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, body && !result ? body : "", result ? 0 : (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, now());
    int failed = step_done(q);
    int64_t seq = sqlite3_last_insert_rowid(sp->db);
    if (!failed && result) {
        q = stmt(sp, S_RESULT_PUT);
        sqlite3_bind_int64(q, 1, seq);
        sqlite3_bind_blob(q, 2, body ? body : "", (int)len, SQLITE_STATIC);
        failed = step_done(q);
    }
    if (savepoint_end(sp, failed, err, errlen, "log") != 0)
        return 0;
    sp->last_seq = (uint64_t)seq;
    return sp->last_seq;
}

static int sq_replay(struct spool *sp, uint64_t from, uint64_t to, size_t limit, spool_msg_fn *fn,
                 void *arg)
{
    if (to > sp->committed_seq)
        to = sp->committed_seq;
    if (from > to)
        return 0;
    sqlite3_stmt *q = stmt(sp, S_REPLAY);
    sqlite3_bind_int64(q, 1, (sqlite3_int64)from);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)to);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)limit);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (fn(arg, (uint64_t)sqlite3_column_int64(q, 0), (const char *)sqlite3_column_text(q, 1),
               sqlite3_column_blob(q, 2), (size_t)sqlite3_column_bytes(q, 2)))
            break;
    sqlite3_reset(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static uint64_t sq_last_seq(const struct spool *sp)
{
    return sp->committed_seq;
}

static long sq_count(struct spool *sp, int state)
{
    sqlite3_stmt *q = stmt(sp, S_COUNT);
    sqlite3_bind_int(q, 1, state);
    long n = sqlite3_step(q) == SQLITE_ROW ? (long)sqlite3_column_int64(q, 0) : -1;
    sqlite3_reset(q);
    return n;
}

static int sq_history_put(struct spool *sp, const char *body_key, unsigned year,
                          const char *submission_id, const void *report, size_t len, char *err,
                          size_t errlen)
{
    if (begin(sp, err, errlen))
        return -1;
    sqlite3_stmt *q = stmt(sp, S_HPUT);
    sqlite3_bind_text(q, 1, body_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, year);
    sqlite3_bind_blob(q, 3, report ? report : "", (int)len, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, submission_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, now());
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : dberr(sp, err, errlen, "history put");
    sqlite3_reset(q);
    return rc;
}

static int sq_history_get(struct spool *sp, const char *body_key, unsigned year, void **report,
                          size_t *len)
{
    sqlite3_stmt *q = stmt(sp, S_HGET);
    sqlite3_bind_text(q, 1, body_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, year);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *len = (size_t)sqlite3_column_bytes(q, 0);
        *report = xmalloc(*len ? *len : 1);
        if (*len)
            memcpy(*report, sqlite3_column_blob(q, 0), *len);
    }
    sqlite3_reset(q);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Retention's statements per kind, each run with (cutoff, limit), in order:
 * what goes with the rows (a Result no longer referred to, a dead letter's
 * body), then the rows, whose count is returned. */
static const enum stmt prune_stmts[][2] = {
    [SPOOL_KIND_JOB] = {S_PRUNE_JOB_RESULTS, S_PRUNE_JOBS},
    [SPOOL_KIND_PUBLISHED] = {S_PRUNE_PUB_RESULTS, S_PRUNE_PUB},
    [SPOOL_KIND_DEAD] = {S_PRUNE_DEAD_BODY, S_PRUNE_DEAD},
    [SPOOL_KIND_HISTORY] = {S_NSTMT, S_PRUNE_HISTORY},
};

static int sq_prune_begin(struct spool *sp, char *err, size_t errlen)
{
    return begin(sp, err, errlen) ? -1 : 0;
}

static long sq_prune_kind(struct spool *sp, enum spool_kind kind, int64_t cutoff, size_t limit,
                          char *err, size_t errlen)
{
    if ((unsigned)kind >= sizeof prune_stmts / sizeof prune_stmts[0])
        return errf(err, errlen, "spool: prune: no kind %d", (int)kind);
    long n = 0;
    for (int i = 0; i < 2; i++) {
        if (prune_stmts[kind][i] == S_NSTMT)
            continue;
        sqlite3_stmt *q = stmt(sp, prune_stmts[kind][i]);
        sqlite3_bind_int64(q, 1, cutoff);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)limit);
        if (step_done(q) != 0)
            return dberr(sp, err, errlen, "prune");
        n = (long)sqlite3_changes(sp->db);
    }
    return n;
}

static uint64_t sq_first_seq(struct spool *sp)
{
    sqlite3_stmt *q = stmt(sp, S_FIRST_SEQ);
    uint64_t seq = sqlite3_step(q) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    return seq;
}

static int64_t sq_oldest(struct spool *sp, enum spool_kind kind)
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
    return query_int(sp->db, q[kind]);
}

const struct spool_ops store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .commit_begin = sq_commit_begin,
    .commit_fd = sq_commit_fd,
    .commit_end = sq_commit_end,
    .lost = sq_lost,
    .uncommitted = sq_uncommitted,
    .put = sq_put,
    .finish = sq_finish,
    .get = sq_get,
    .close_job = sq_close_job,
    .attempt = sq_attempt,
    .bury = sq_bury,
    .retry = sq_retry,
    .pending_after = sq_pending_after,
    .last_rowid = sq_last_rowid,
    .each_dead = sq_each_dead,
    .dead_get = sq_dead_get,
    .log = sq_log,
    .replay = sq_replay,
    .last_seq = sq_last_seq,
    .count = sq_count,
    .history_put = sq_history_put,
    .history_get = sq_history_get,
    .prune_begin = sq_prune_begin,
    .prune_kind = sq_prune_kind,
    .first_seq = sq_first_seq,
    .oldest = sq_oldest,
};
