/* test_store_sqlite: what only the SQLite backend promises — its layout.
 * A spool written by reportd before layout 1 (job rows holding their bodies,
 * no user_version; made here with that code's own schema and rows as it wrote
 * them), and one of layout 1 (each published Result as its publication's
 * body), open migrated to layout 2: every job, reply (inline or published),
 * dead letter with its body, publication (the same bytes replayed) and
 * sequence number is found; bodies live in their own table and only while
 * needed, each published Result once in its own; the migrated file is
 * compacted (smaller, no free page); a layout from a newer reportd is
 * refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/spool.h"

/* Layout 0, as daemon/broker/spool.c created it before issue 10. */
static const char layout0[] =
    "PRAGMA page_size=65536; PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS job("
    " uuid TEXT PRIMARY KEY, submission_id TEXT, service TEXT NOT NULL,"
    " state INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " body BLOB, reply BLOB, status INTEGER, reason TEXT,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, reply_seq INTEGER);"
    "CREATE INDEX IF NOT EXISTS job_state ON job(state);"
    "CREATE TABLE IF NOT EXISTS published("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, body BLOB NOT NULL,"
    " at INTEGER NOT NULL);"
    /* what it wrote: a finished job's body set to NULL, a published reply by
     * reply_seq, a closed job a tombstone without body or reply */
    "INSERT INTO published(topic, body, at) VALUES ('result.43.4303.430381', 'R-d2', 1),"
    " ('alert.43.4303.430381', 'A-d2', 1), ('deadletter', '{\"uuid\":\"x1\"}', 2);"
    "INSERT INTO job VALUES ('000000000000000000000000000000p1', 'sub-p1', 'report.check', 0,"
    " 0, 'body-p1', NULL, NULL, NULL, 1, 1, NULL);"
    "INSERT INTO job VALUES ('000000000000000000000000000000d1', 'sub-d1', 'echo', 1, 0, NULL,"
    " 'reply-d1', -1, NULL, 1, 2, NULL);"
    "INSERT INTO job VALUES ('000000000000000000000000000000d2', 'sub-d2', 'report.check', 1,"
    " 0, NULL, NULL, 2, NULL, 1, 2, 1);"
    "INSERT INTO job VALUES ('000000000000000000000000000000x1', 'sub-x1', 'report.check', 2,"
    " 3, 'poison', NULL, NULL, 'worker died while holding only this job, 3 times', 1, 2, NULL);"
    "INSERT INTO job VALUES ('000000000000000000000000000000c1', 'sub-c1', 'report.check', 3,"
    " 0, NULL, NULL, NULL, NULL, 1, 3, NULL);"
    "INSERT INTO job VALUES ('000000000000000000000000000000p2', 'sub-p2', 'report.check', 0,"
    " 1, 'body-p2', NULL, NULL, NULL, 2, 2, NULL);"
    /* 40 jobs whose 100 KB bodies it set to NULL when they were done, then
     * closed: the pages stay in the file, free */
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)"
    " INSERT INTO job SELECT printf('%032d', i), 'sub-old', 'report.check', 1, 0,"
    " zeroblob(100000), NULL, 0, NULL, 1, 1, NULL FROM n;"
    "UPDATE job SET body = NULL, state = 3 WHERE submission_id = 'sub-old';";

/* Layout 1, as daemon/broker/store_sqlite.c wrote it before layout 2: a
 * published Result was its publication's body, a done job referred to it by
 * reply_seq (a closed job kept the reference). */
static const char layout1[] =
    "PRAGMA page_size=4096; PRAGMA journal_mode=WAL;"
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
    "PRAGMA user_version = 1;"
    "CREATE TABLE IF NOT EXISTS history("
    " body_key TEXT NOT NULL, year INTEGER NOT NULL, report BLOB NOT NULL,"
    " submission_id TEXT, updated_at INTEGER NOT NULL,"
    " PRIMARY KEY(body_key, year)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS job_reply_seq ON job(reply_seq) WHERE state = 1;"
    "INSERT INTO published(topic, body, at) VALUES ('result.43.4303.430381', 'R-d2', 1),"
    " ('alert.43.4303.430381', 'A-d2', 1), ('result.32.3208.320800', 'R-c1', 2),"
    " ('deadletter', '{\"uuid\":\"x1\"}', 2), ('result.32.3208.320800', 'R-gone', 2);"
    /* retention emptied the log's last row: the sequence goes on from 5 */
    "DELETE FROM published WHERE seq = 5;"
    "INSERT INTO job VALUES ('000000000000000000000000000000p1', 'sub-p1', 'report.check', 0,"
    " 0, NULL, NULL, NULL, 1, 1, NULL);"
    "INSERT INTO job VALUES ('000000000000000000000000000000d1', 'sub-d1', 'echo', 1, 0,"
    " 'reply-d1', -1, NULL, 1, 2, NULL);"
    "INSERT INTO job VALUES ('000000000000000000000000000000d2', 'sub-d2', 'report.check', 1,"
    " 0, NULL, 2, NULL, 1, 2, 1);"
    "INSERT INTO job VALUES ('000000000000000000000000000000x1', 'sub-x1', 'report.check', 2,"
    " 3, NULL, NULL, 'worker died while holding only this job, 3 times', 1, 2, NULL);"
    "INSERT INTO job VALUES ('000000000000000000000000000000c1', 'sub-c1', 'report.check', 3,"
    " 0, NULL, 2, NULL, 1, 3, 3);"
    "INSERT INTO body VALUES ('000000000000000000000000000000p1', 'body-p1'),"
    " ('000000000000000000000000000000x1', 'poison');"
    "INSERT INTO history VALUES ('k', 2023, 'report-2023', 'sub-h', 1);";

struct fixture {
    char dir[64];
    char path[96];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_store_sqlite.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/spool.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void run_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s", msg);
    sqlite3_close(db);
}

static long long file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (long long)st.st_size;
}

static long long sql_int(const char *path, const char *q)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void list_pending(void *arg, int64_t rowid, const char *uuid, const char *service,
                         const void *body, size_t len)
{
    (void)rowid;
    char *out = arg;
    sprintf(out + strlen(out), "%s:%s:%.*s;", uuid + 30, service, (int)len, (const char *)body);
}

static void dead_full(void *arg, const struct spool_dead *d)
{
    char *out = arg;
    sprintf(out + strlen(out), "%s|%s|%s|%d|%s|%.*s", d->uuid + 30, d->submission_id, d->reason,
            d->attempts, d->service, (int)d->len, (const char *)d->body);
}

static int list_msg(void *arg, uint64_t seq, const char *topic, const void *body, size_t len)
{
    char *out = arg;
    sprintf(out + strlen(out), "%llu:%s:%.*s;", (unsigned long long)seq, topic, (int)len,
            (const char *)body);
    return 0;
}

static void expect_reply(struct spool *sp, const char *uuid, const char *want)
{
    void *reply = NULL;
    size_t len = 0;
    assert_int_equal(spool_get(sp, uuid, &reply, &len), SPOOL_DONE);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(reply, want, len);
    free(reply);
}

/* Open the spool at path (written by an older layout): it must open. */
static struct spool *open_old(const char *path)
{
    char err[256] = "";
    struct spool *sp = spool_open(path, err, sizeof err);
    if (!sp)
        fail_msg("%s", err);
    return sp;
}

/* What both old layouts hold: d1's inline reply, d2's published one, the
 * dead letter x1 with its body, c1's tombstone. */
static void expect_old_rows(struct spool *sp)
{
    char out[512] = "";
    expect_reply(sp, "000000000000000000000000000000d1", "reply-d1");
    expect_reply(sp, "000000000000000000000000000000d2", "R-d2");      /* its publication */
    assert_int_equal(spool_dead_get(sp, "000000000000000000000000000000x1", dead_full, out), 1);
    assert_string_equal(out, "x1|sub-x1|worker died while holding only this job, 3 times|3|"
                        "report.check|poison");
    assert_int_equal(spool_get(sp, "000000000000000000000000000000c1", NULL, NULL),
                     SPOOL_CLOSED);
}

static void test_store_sqlite_layout0_is_migrated(void **state)
{
    struct fixture *f = *state;
    run_sql(f->path, layout0);
    assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 0);
    long long before = file_size(f->path);
    assert_true(sql_int(f->path, "PRAGMA freelist_count") >= 40);
    char err[256] = "", wal[128];
    struct spool *sp = open_old(f->path);
    /* the migration's WAL was copied back and emptied as the spool opened */
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    assert_int_equal(file_size(wal), 0);
    char out[512] = "";
    assert_int_equal(spool_pending_after(sp, 0, 10, list_pending, out), 2);
    assert_string_equal(out, "p1:report.check:body-p1;p2:report.check:body-p2;");
    expect_old_rows(sp);
    assert_int_equal(spool_last_seq(sp), 3);
    out[0] = '\0';
    assert_int_equal(spool_replay(sp, 1, UINT64_MAX, 10, list_msg, out), 0);
    assert_string_equal(out, "1:result.43.4303.430381:R-d2;2:alert.43.4303.430381:A-d2;"
                        "3:deadletter:{\"uuid\":\"x1\"};");
    assert_int_equal(spool_log(sp, "deadletter", "{}", 2, NULL, 0), 4);
    /* a body lives as long as its job is pending or dead */
    assert_int_equal(spool_finish(sp, "000000000000000000000000000000p1", 0, "ok", 2, 0, NULL, 0),
                     1);
    assert_int_equal(spool_commit(sp, err, sizeof err), 0);
    spool_close(&sp);

    assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 2);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM pragma_table_info('job')"
                                      " WHERE name = 'body'"), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM body"), 2);    /* p2, x1 */
    /* the published Result once, in result; its log row refers to it */
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM result"), 1);
    assert_int_equal(sql_int(f->path, "SELECT length(body) FROM published WHERE seq = 1"), 0);
    /* compacted once: the free pages of the old bodies left the file
     * (64 KiB pages stay: SQLite keeps a WAL file's page size) */
    long long after = file_size(f->path);
    printf("layout 0 -> 2: %lld bytes -> %lld bytes after VACUUM\n", before, after);
    assert_true(after * 4 < before);
    /* opened again: layout 2 as it is, nothing migrated twice */
    sp = spool_open(f->path, err, sizeof err);
    assert_non_null(sp);
    assert_int_equal(spool_last_seq(sp), 4);
    assert_int_equal(spool_count(sp, SPOOL_PENDING), 1);
    assert_int_equal(spool_count(sp, SPOOL_DONE), 3);
    spool_close(&sp);
    assert_int_equal(sql_int(f->path, "PRAGMA freelist_count"), 0);
}

static void test_store_sqlite_layout1_is_migrated(void **state)
{
    struct fixture *f = *state;
    run_sql(f->path, layout1);
    char err[256] = "";
    struct spool *sp = open_old(f->path);
    char out[512] = "";
    assert_int_equal(spool_pending_after(sp, 0, 10, list_pending, out), 1);
    assert_string_equal(out, "p1:report.check:body-p1;");
    expect_old_rows(sp);
    void *rep = NULL;
    size_t len = 0;
    assert_int_equal(spool_history_get(sp, "k", 2023, &rep, &len), 1);
    assert_int_equal(len, 11);
    assert_memory_equal(rep, "report-2023", 11);
    free(rep);
    /* the same bytes replayed; the sequence goes on after the removed 5 */
    assert_int_equal(spool_last_seq(sp), 5);
    out[0] = '\0';
    assert_int_equal(spool_replay(sp, 1, UINT64_MAX, 10, list_msg, out), 0);
    assert_string_equal(out, "1:result.43.4303.430381:R-d2;2:alert.43.4303.430381:A-d2;"
                        "3:result.32.3208.320800:R-c1;4:deadletter:{\"uuid\":\"x1\"};");
    assert_int_equal(spool_log(sp, "deadletter", "{}", 2, NULL, 0), 6);
    assert_int_equal(spool_commit(sp, err, sizeof err), 0);
    spool_close(&sp);
    assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 2);
    /* each published Result once: the log rows refer, the closed job no more */
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM result"), 2);
    assert_int_equal(sql_int(f->path, "SELECT sum(length(body)) FROM published"
                                      " WHERE topic GLOB 'result.*'"), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM job WHERE reply_seq IS NOT NULL"),
                     1);
    assert_int_equal(sql_int(f->path, "PRAGMA freelist_count"), 0);
}

static void test_store_sqlite_newer_layout_is_refused(void **state)
{
    struct fixture *f = *state;
    run_sql(f->path, "PRAGMA user_version = 7;");
    char err[512] = "";
    assert_null(spool_open(f->path, err, sizeof err));
    char want[512];
    snprintf(want, sizeof want, "spool: %s: layout 7, written by a newer reportd (this one reads "
             "layouts 0 to 2): use that reportd, or another spool.path", f->path);
    assert_string_equal(err, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_sqlite_layout0_is_migrated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_sqlite_layout1_is_migrated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_sqlite_newer_layout_is_refused, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
