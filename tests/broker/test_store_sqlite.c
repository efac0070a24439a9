/* test_store_sqlite: what only the SQLite backend promises — its layout.
 * A spool written by reportd before layout 1 (job rows holding their bodies,
 * no user_version; made here with that code's own schema and rows as it wrote
 * them) opens migrated: every job, reply (inline or as its publication), dead
 * letter with its body and sequence number is found, bodies live in their own
 * table and only while needed; a layout from a newer reportd is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    " 1, 'body-p2', NULL, NULL, NULL, 2, 2, NULL);";

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

static void test_store_sqlite_layout0_is_migrated(void **state)
{
    struct fixture *f = *state;
    run_sql(f->path, layout0);
    assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 0);
    char err[256] = "";
    struct spool *sp = spool_open(f->path, err, sizeof err);
    if (!sp)
        fail_msg("%s", err);

    char out[512] = "";
    assert_int_equal(spool_pending_after(sp, 0, 10, list_pending, out), 2);
    assert_string_equal(out, "p1:report.check:body-p1;p2:report.check:body-p2;");
    expect_reply(sp, "000000000000000000000000000000d1", "reply-d1");
    expect_reply(sp, "000000000000000000000000000000d2", "R-d2");      /* its publication */
    out[0] = '\0';
    assert_int_equal(spool_dead_get(sp, "000000000000000000000000000000x1", dead_full, out), 1);
    assert_string_equal(out, "x1|sub-x1|worker died while holding only this job, 3 times|3|"
                        "report.check|poison");
    assert_int_equal(spool_get(sp, "000000000000000000000000000000c1", NULL, NULL),
                     SPOOL_CLOSED);
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

    assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 1);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM pragma_table_info('job')"
                                      " WHERE name = 'body'"), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM body"), 2);    /* p2, x1 */
    /* opened again: layout 1 as it is, nothing migrated twice */
    sp = spool_open(f->path, err, sizeof err);
    assert_non_null(sp);
    assert_int_equal(spool_last_seq(sp), 4);
    assert_int_equal(spool_count(sp, SPOOL_PENDING), 1);
    assert_int_equal(spool_count(sp, SPOOL_DONE), 3);
    spool_close(&sp);
}

static void test_store_sqlite_newer_layout_is_refused(void **state)
{
    struct fixture *f = *state;
    run_sql(f->path, "PRAGMA user_version = 7;");
    char err[512] = "";
    assert_null(spool_open(f->path, err, sizeof err));
    char want[512];
    snprintf(want, sizeof want, "spool: %s: layout 7, written by a newer reportd (this one reads "
             "layouts 0 to 1): use that reportd, or another spool.path", f->path);
    assert_string_equal(err, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_sqlite_layout0_is_migrated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_sqlite_newer_layout_is_refused, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
