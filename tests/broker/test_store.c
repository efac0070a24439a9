/* test_store: one suite run against every spool backend (spool_backends), so
 * a second backend keeps the same promises: pending jobs in order of arrival
 * (spool.window reads them in slices), what a reopened store still holds (each
 * job, reply, dead letter with its body, sequence number), replay's limit and
 * early stop, the batch counter, each body's history by year (replaced, kept
 * over a reopen, unseen until committed), retention (by age as of a made-up
 * now, bounded rows a call, never a pending job, dead letters only by their
 * own rule; a published Result stored once, kept while its job or its
 * publication is: replayed and fetched the same), and a backend name that
 * does not exist. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker/spool.h"
#include "pgq.h"

static const char *backend;     /* the suite's backend, set by main */

struct fixture {
    char dir[64];
    char path[96];              /* SQLite: a file; PostgreSQL: a DSN (a database per test) */
    char db[64];                /* PostgreSQL: the database made for the test */
    struct spool *sp;
};

static int is_pg(void)
{
    return strcmp(backend, "postgresql") == 0;
}

/* Run a shell command; 0 when it exited 0. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd) == 0 ? 0 : -1;
}

static int reopen(struct fixture *f)
{
    char err[256];
    spool_close(&f->sp);
    f->sp = spool_open_backend(backend, f->path, err, sizeof err);
    if (!f->sp)
        fprintf(stderr, "%s\n", err);
    return f->sp ? 0 : -1;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_store.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/spool.db", f->dir);
    if (is_pg()) {
        /* a fresh database of the test server (scripts/pg-test-server.sh) */
        static int n;
        snprintf(f->db, sizeof f->db, "test_store_%d_%d", (int)getpid(), ++n);
        snprintf(f->path, sizeof f->path, "dbname=%s", f->db);
        if (sh("createdb %s", f->db) != 0)
            return -1;
    }
    *state = f;
    return reopen(f);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    spool_close(&f->sp);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    if (f->db[0] && sh("dropdb --force %s", f->db) != 0)
        return -1;
    free(f);
    return 0;
}

static void uuid(char out[33], int i)
{
    snprintf(out, 33, "%032d", i);
}

/* "rowid:uuid-suffix:service:body;" per pending job listed */
static void list_job(void *arg, int64_t rowid, const char *u, const char *service,
                     const void *body, size_t len)
{
    char *out = arg;
    sprintf(out + strlen(out), "%lld:%s:%s:%.*s;", (long long)rowid, u + 30, service, (int)len,
            (const char *)body);
}

static void test_store_pending_in_order_of_arrival(void **state)
{
    struct fixture *f = *state;
    char u[33];
    int64_t rowid[5];
    for (int i = 1; i <= 5; i++) {
        char body[8];
        snprintf(body, sizeof body, "b%d", i);
        uuid(u, i);
        assert_int_equal(spool_put(f->sp, u, u, "report.check", body, 2, NULL, 0), 1);
        rowid[i - 1] = spool_last_rowid(f->sp);
        if (i > 1)
            assert_true(rowid[i - 1] > rowid[i - 2]);
    }
    assert_int_equal(spool_uncommitted(f->sp), 5);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    assert_int_equal(spool_uncommitted(f->sp), 0);
    uuid(u, 2);
    assert_int_equal(spool_finish(f->sp, u, 0, "ok", 2, 0, NULL, 0), 1);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    /* a window of 2 after nothing, then the next slice after the last one read */
    char out[512] = "";
    assert_int_equal(spool_pending_after(f->sp, 0, 2, list_job, out), 2);
    char want[512];
    snprintf(want, sizeof want, "%lld:01:report.check:b1;%lld:03:report.check:b3;",
             (long long)rowid[0], (long long)rowid[2]);
    assert_string_equal(out, want);
    out[0] = '\0';
    assert_int_equal(spool_pending_after(f->sp, rowid[2], 10, list_job, out), 2);
    snprintf(want, sizeof want, "%lld:04:report.check:b4;%lld:05:report.check:b5;",
             (long long)rowid[3], (long long)rowid[4]);
    assert_string_equal(out, want);
    assert_int_equal(spool_pending_after(f->sp, rowid[4], 10, list_job, out), 0);
    assert_int_equal(spool_count(f->sp, SPOOL_PENDING), 4);
    assert_int_equal(spool_count(f->sp, SPOOL_DONE), 1);
}

static void dead_with_body(void *arg, const struct spool_dead *d)
{
    char *out = arg;
    sprintf(out + strlen(out), "%s|%s|%s|%d|%s|%.*s;", d->uuid + 30, d->submission_id,
            d->reason, d->attempts, d->service ? d->service : "-", (int)d->len,
            d->body ? (const char *)d->body : "");
}

static int collect(void *arg, uint64_t seq, const char *topic, const void *body, size_t len)
{
    char *out = arg;
    sprintf(out + strlen(out), "%llu:%s:%.*s;", (unsigned long long)seq, topic, (int)len,
            (const char *)body);
    return 0;
}

static void test_store_reopened_holds_everything_committed(void **state)
{
    struct fixture *f = *state;
    char u1[33], u2[33], u3[33];
    uuid(u1, 11), uuid(u2, 12), uuid(u3, 13);
    assert_int_equal(spool_put(f->sp, u1, "sub-1", "report.check", "one", 3, NULL, 0), 1);
    assert_int_equal(spool_put(f->sp, u2, "sub-2", "report.check", "poison", 6, NULL, 0), 1);
    assert_int_equal(spool_put(f->sp, u3, "sub-3", "report.check", "three", 5, NULL, 0), 1);
    uint64_t seq = spool_log(f->sp, "result.43.4303.430381", "R1", 2, NULL, 0);
    assert_int_equal(seq, 1);
    assert_int_equal(spool_finish(f->sp, u1, 2, "R1", 2, seq, NULL, 0), 1);
    assert_int_equal(spool_attempt(f->sp, u2, NULL, 0), 1);
    assert_int_equal(spool_bury(f->sp, u2, "charged 1 attempt", NULL, 0), 0);
    assert_int_equal(spool_log(f->sp, "deadletter", "D", 1, NULL, 0), 2);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    /* written after the last commit: closing commits it */
    assert_int_equal(spool_log(f->sp, "alert.43.4303.430381", "A", 1, NULL, 0), 3);
    assert_int_equal(reopen(f), 0);

    assert_int_equal(spool_last_seq(f->sp), 3);
    void *reply = NULL;
    size_t len = 0;
    assert_int_equal(spool_get(f->sp, u1, &reply, &len), SPOOL_DONE);
    assert_int_equal(len, 2);
    assert_memory_equal(reply, "R1", 2);
    free(reply);
    assert_int_equal(spool_get(f->sp, u2, NULL, NULL), SPOOL_DEAD);
    assert_int_equal(spool_get(f->sp, u3, NULL, NULL), SPOOL_PENDING);
    char out[512] = "";
    assert_int_equal(spool_dead_get(f->sp, u2, dead_with_body, out), 1);
    assert_string_equal(out, "12|sub-2|charged 1 attempt|1|report.check|poison;");
    out[0] = '\0';
    assert_int_equal(spool_each_dead(f->sp, dead_with_body, out), 0);
    assert_string_equal(out, "12|sub-2|charged 1 attempt|1|-|;");
    assert_int_equal(spool_dead_get(f->sp, u3, dead_with_body, out), 0);
    out[0] = '\0';
    assert_int_equal(spool_replay(f->sp, 1, UINT64_MAX, 100, collect, out), 0);
    assert_string_equal(out, "1:result.43.4303.430381:R1;2:deadletter:D;3:alert.43.4303.430381:A;");
    /* numbering goes on where it stopped */
    assert_int_equal(spool_log(f->sp, "deadletter", "E", 1, NULL, 0), 4);
}

static int stop_after_two(void *arg, uint64_t seq, const char *topic, const void *body,
                          size_t len)
{
    collect(arg, seq, topic, body, len);
    return seq == 3;
}

static void test_store_replay_limit_range_and_stop(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 6; i++)
        assert_int_equal(spool_log(f->sp, "result.1", "x", 1, NULL, 0), (uint64_t)i + 1);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    char out[256] = "";
    assert_int_equal(spool_replay(f->sp, 2, 5, 2, collect, out), 0);
    assert_string_equal(out, "2:result.1:x;3:result.1:x;");
    out[0] = '\0';
    assert_int_equal(spool_replay(f->sp, 2, 5, 100, stop_after_two, out), 0);
    assert_string_equal(out, "2:result.1:x;3:result.1:x;");
    out[0] = '\0';
    assert_int_equal(spool_replay(f->sp, 7, UINT64_MAX, 100, collect, out), 0);
    assert_string_equal(out, "");
}

static void test_store_closed_job_keeps_its_tombstone(void **state)
{
    struct fixture *f = *state;
    char u[33];
    uuid(u, 21);
    assert_int_equal(spool_put(f->sp, u, "sub-21", "report.check", "b", 1, NULL, 0), 1);
    assert_int_equal(spool_finish(f->sp, u, 0, "R", 1, 0, NULL, 0), 1);
    assert_int_equal(spool_close_job(f->sp, u, NULL, 0), 0);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    assert_int_equal(reopen(f), 0);
    void *reply = NULL;
    size_t len = 0;
    assert_int_equal(spool_get(f->sp, u, &reply, &len), SPOOL_CLOSED);
    assert_null(reply);
    assert_int_equal(spool_count(f->sp, SPOOL_CLOSED), 1);
    /* a finish or bury for a job no longer pending changes nothing */
    assert_int_equal(spool_finish(f->sp, u, 0, "R", 1, 0, NULL, 0), 0);
    assert_int_equal(spool_retry(f->sp, u, NULL, 0), 0);
    assert_int_equal(spool_get(f->sp, u, NULL, NULL), SPOOL_CLOSED);
}

/* History: a year's report under (body key, year), replaced by the next put of
 * the same year, other years and bodies apart,
 * and there after a close and reopen. */
static void test_store_history_put_get_replace_reopen(void **state)
{
    struct fixture *f = *state;
    const char *key = "350128 平潭综合实验区管委会";
    void *got = NULL;
    size_t len = 0;
    assert_int_equal(spool_history_get(f->sp, key, 2023, &got, &len), 0);
    assert_null(got);
    assert_int_equal(spool_history_put(f->sp, key, 2023, "sub-1", "R2023a", 6, NULL, 0), 0);
    assert_int_equal(spool_uncommitted(f->sp), 1);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    assert_int_equal(spool_history_put(f->sp, key, 2023, "sub-2", "R2023bb", 7, NULL, 0), 0);
    assert_int_equal(spool_history_put(f->sp, key, 2024, "sub-3", "R2024", 5, NULL, 0), 0);
    assert_int_equal(spool_history_put(f->sp, "320813 洪泽区人民政府", 2023, NULL, "H", 1, NULL,
                                       0), 0);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    assert_int_equal(reopen(f), 0);
    assert_int_equal(spool_history_get(f->sp, key, 2023, &got, &len), 1);
    assert_int_equal(len, 7);
    assert_memory_equal(got, "R2023bb", 7);
    free(got);
    assert_int_equal(spool_history_get(f->sp, key, 2024, &got, &len), 1);
    assert_int_equal(len, 5);
    assert_memory_equal(got, "R2024", 5);
    free(got);
    assert_int_equal(spool_history_get(f->sp, "320813 洪泽区人民政府", 2023, &got, &len), 1);
    assert_int_equal(len, 1);
    assert_memory_equal(got, "H", 1);
    free(got);
    got = NULL;
    assert_int_equal(spool_history_get(f->sp, key, 2022, &got, &len), 0);
    assert_int_equal(spool_history_get(f->sp, "350128 平潭", 2023, &got, &len), 0);
    assert_null(got);
}

/* What was put is not seen by another connection until it is committed: a
 * crash before the commit loses it, the year keeps what it held. */
static void test_store_history_uncommitted_is_not_seen(void **state)
{
    struct fixture *f = *state;
    char err[256];
    assert_int_equal(spool_history_put(f->sp, "k", 2023, NULL, "old", 3, NULL, 0), 0);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    assert_int_equal(spool_history_put(f->sp, "k", 2023, NULL, "new", 3, NULL, 0), 0);
    struct spool *other = spool_open_backend(backend, f->path, err, sizeof err);
    assert_non_null(other);
    void *got = NULL;
    size_t len = 0;
    assert_int_equal(spool_history_get(other, "k", 2023, &got, &len), 1);
    assert_memory_equal(got, "old", 3);
    free(got);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    assert_int_equal(spool_history_get(other, "k", 2023, &got, &len), 1);
    assert_memory_equal(got, "new", 3);
    free(got);
    spool_close(&other);
}

/* Retention by age, as of a made-up now: a day short of the rule keeps
 * everything; past it, done and closed jobs go, at most max_rows a call;
 * pending jobs never; dead letters only with a dead_days rule; the log from
 * its start; history by report year. */
static void test_store_prune_by_age_bounded_never_pending(void **state)
{
    struct fixture *f = *state;
    char u[33], err[256] = "";
    int64_t t0 = (int64_t)time(NULL);
    for (int i = 1; i <= 6; i++) {          /* 1-3 closed, 4 done by seq 5, 5 pending, 6 dead */
        uuid(u, i);
        assert_int_equal(spool_put(f->sp, u, "s", "report.check", "b", 1, NULL, 0), 1);
    }
    for (int i = 1; i <= 5; i++)
        assert_int_equal(spool_log(f->sp, "result.1", "x", 1, NULL, 0), (uint64_t)i);
    for (int i = 1; i <= 3; i++) {
        uuid(u, i);
        assert_int_equal(spool_finish(f->sp, u, 0, NULL, 0, (uint64_t)i, NULL, 0), 1);
        assert_int_equal(spool_close_job(f->sp, u, NULL, 0), 0);
    }
    uuid(u, 4);
    assert_int_equal(spool_finish(f->sp, u, 0, NULL, 0, 5, NULL, 0), 1);
    uuid(u, 6);
    assert_int_equal(spool_bury(f->sp, u, "worker died", NULL, 0), 0);
    assert_int_equal(spool_history_put(f->sp, "k", 2015, "s", "R", 1, NULL, 0), 0);
    assert_int_equal(spool_history_put(f->sp, "k", 2100, "s", "R", 1, NULL, 0), 0);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    assert_int_equal(spool_first_seq(f->sp), 1);
    assert_true(spool_oldest(f->sp, SPOOL_KIND_JOB) >= t0);
    assert_true(spool_oldest(f->sp, SPOOL_KIND_PUBLISHED) >= t0);

    struct spool_retention keep = {.closed_days = 30, .published_days = 30};
    /* 29 days on: nothing is old enough */
    assert_int_equal(spool_prune(f->sp, t0 + 29 * 86400, &keep, 100, err, sizeof err), 0);
    /* 31 days on, two rows a call: 2 of the 4 finished jobs, then 2 more */
    int64_t later = t0 + 31 * 86400;
    assert_int_equal(spool_prune(f->sp, later, &keep, 2, err, sizeof err), 2);
    assert_int_equal(spool_count(f->sp, SPOOL_CLOSED), 1);
    assert_int_equal(spool_count(f->sp, SPOOL_DONE), 1);
    assert_int_equal(spool_prune(f->sp, later, &keep, 2, err, sizeof err), 2);
    assert_int_equal(spool_count(f->sp, SPOOL_CLOSED), 0);
    assert_int_equal(spool_count(f->sp, SPOOL_DONE), 0);
    /* the done job is gone, so all 5 publications may go: 2 a call */
    assert_int_equal(spool_prune(f->sp, later, &keep, 2, err, sizeof err), 2);
    assert_int_equal(spool_first_seq(f->sp), 3);
    assert_int_equal(spool_prune(f->sp, later, &keep, 100, err, sizeof err), 3);
    assert_int_equal(spool_prune(f->sp, later, &keep, 100, err, sizeof err), 0);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    assert_int_equal(spool_first_seq(f->sp), 0);
    assert_int_equal(spool_last_seq(f->sp), 5);
    /* never pending; the dead letter kept (no dead_days), history kept */
    assert_int_equal(spool_count(f->sp, SPOOL_PENDING), 1);
    uuid(u, 5);
    assert_int_equal(spool_get(f->sp, u, NULL, NULL), SPOOL_PENDING);
    assert_int_equal(spool_count(f->sp, SPOOL_DEAD), 1);
    assert_int_equal(spool_oldest(f->sp, SPOOL_KIND_JOB), 0);
    /* now dead letters and history too (1 + 2 years), centuries on: pending stays */
    struct spool_retention all = {.closed_days = 1, .published_days = 1, .dead_days = 1,
                                  .history_years = 5};
    int64_t far = t0 + 400LL * 365 * 86400;
    assert_int_equal(spool_prune(f->sp, far, &all, 100, err, sizeof err), 3);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    assert_int_equal(reopen(f), 0);
    assert_int_equal(spool_count(f->sp, SPOOL_DEAD), 0);
    assert_int_equal(spool_count(f->sp, SPOOL_PENDING), 1);
    void *rep = NULL;
    size_t len = 0;
    assert_int_equal(spool_history_get(f->sp, "k", 2015, &rep, &len), 0);
    assert_int_equal(spool_history_get(f->sp, "k", 2100, &rep, &len), 0);
    assert_int_equal(spool_oldest(f->sp, SPOOL_KIND_HISTORY), 0);
}

/* A published Result is stored once and outlives whichever of its job and
 * its publication goes first: the log cut under a done job, the job still
 * answers it; a job pruned or closed, the log still replays it. */
static void test_store_result_outlives_job_or_publication(void **state)
{
    struct fixture *f = *state;
    char u[33], v[33], w[33], err[256] = "", out[256] = "";
    int64_t t0 = (int64_t)time(NULL);
    uuid(u, 7);
    uuid(v, 8);
    uuid(w, 9);
    assert_int_equal(spool_put(f->sp, u, "s", "report.check", "b", 1, NULL, 0), 1);
    assert_int_equal(spool_put(f->sp, v, "s", "report.check", "b", 1, NULL, 0), 1);
    assert_int_equal(spool_put(f->sp, w, "s", "report.check", "b", 1, NULL, 0), 1);
    assert_int_equal(spool_log(f->sp, "result.1", "R-u", 3, NULL, 0), 1);
    assert_int_equal(spool_log(f->sp, "alert.1", "A-u", 3, NULL, 0), 2);
    assert_int_equal(spool_log(f->sp, "result.1", "R-v", 3, NULL, 0), 3);
    assert_int_equal(spool_log(f->sp, "result.1", "R-w", 3, NULL, 0), 4);
    assert_int_equal(spool_finish(f->sp, u, 0, "R-u", 3, 1, NULL, 0), 1);
    assert_int_equal(spool_finish(f->sp, v, 0, "R-v", 3, 3, NULL, 0), 1);
    assert_int_equal(spool_finish(f->sp, w, 0, "R-w", 3, 4, NULL, 0), 1);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    assert_int_equal(spool_replay(f->sp, 1, UINT64_MAX, 10, collect, out), 0);
    assert_string_equal(out, "1:result.1:R-u;2:alert.1:A-u;3:result.1:R-v;4:result.1:R-w;");
    /* w closed: its Result stays for the log */
    assert_int_equal(spool_close_job(f->sp, w, NULL, 0), 0);
    /* the log's first two go (a done job no longer holds it) */
    struct spool_retention pub = {.published_days = 1};
    assert_int_equal(spool_prune(f->sp, t0 + 2 * 86400, &pub, 2, err, sizeof err), 2);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    assert_int_equal(reopen(f), 0);
    assert_int_equal(spool_first_seq(f->sp), 3);
    void *reply = NULL;
    size_t len = 0;
    assert_int_equal(spool_get(f->sp, u, &reply, &len), SPOOL_DONE);
    assert_int_equal(len, 3);
    assert_memory_equal(reply, "R-u", 3);
    free(reply);
    /* the done jobs go, their Results stay while the log refers to them */
    struct spool_retention jobs = {.closed_days = 1};
    assert_int_equal(spool_prune(f->sp, t0 + 2 * 86400, &jobs, 100, err, sizeof err), 3);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    assert_int_equal(spool_get(f->sp, v, NULL, NULL), -1);
    out[0] = '\0';
    assert_int_equal(spool_replay(f->sp, 1, UINT64_MAX, 10, collect, out), 0);
    assert_string_equal(out, "3:result.1:R-v;4:result.1:R-w;");
    /* and then the log too: nothing is left to replay */
    assert_int_equal(spool_prune(f->sp, t0 + 2 * 86400, &pub, 100, err, sizeof err), 2);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    assert_int_equal(spool_first_seq(f->sp), 0);
    assert_int_equal(spool_last_seq(f->sp), 4);
    /* and no Result is left behind, referred to by nothing */
    spool_close(&f->sp);
    if (is_pg())
        assert_int_equal(sh("test \"$(psql -tA -d %s -c 'SELECT count(*) FROM result')\" = 0",
                            f->db), 0);
    else
        assert_int_equal(sh("test \"$(sqlite3 %s 'SELECT count(*) FROM result')\" = 0",
                            f->path), 0);
}

static void test_store_unknown_backend_is_named(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(spool_open_backend("oracle", "/tmp/x", err, sizeof err));
    assert_string_equal(err, "spool: no backend oracle (built in: sqlite, postgresql)");
}

/* PostgreSQL only: a database written by a newer reportd is refused with what
 * to do; a server that is not there and a role without rights say so on one
 * line (reportd exits at start with it). */
static void test_store_pg_newer_layout_refused(void **state)
{
    struct fixture *f = *state;
    spool_close(&f->sp);
    assert_int_equal(sh("psql -q -d %s -c \"UPDATE reportd_meta SET value = '3'"
                        " WHERE key = 'layout'\"", f->db), 0);
    char err[256] = "", want[256];
    assert_null(spool_open_backend(backend, f->path, err, sizeof err));
    snprintf(want, sizeof want, "spool: postgresql database %s: layout 3, written by a newer "
             "reportd (this one reads layouts 1 to 2): use that reportd, or another database",
             f->db);
    assert_string_equal(err, want);
}

/* PostgreSQL only: a layout-1 database (each published Result its
 * publication's body, a done job referring to it, a closed job still
 * referring) opens migrated: the same reply and the same bytes replayed, each
 * Result once in result, the sequence going on. */
static void test_store_pg_layout1_is_migrated(void **state)
{
    struct fixture *f = *state;
    spool_close(&f->sp);
    assert_int_equal(sh("psql -q -d %s -c \"DROP TABLE result;"
                        " UPDATE reportd_meta SET value = '1' WHERE key = 'layout';"
                        " UPDATE reportd_meta SET value = '4' WHERE key = 'seq';"
                        " INSERT INTO published VALUES (1, 'result.1', 'R-d', 1),"
                        " (2, 'alert.1', 'A-d', 1), (3, 'result.1', 'R-c', 1),"
                        " (4, 'deadletter', '{}', 1);"
                        " INSERT INTO job VALUES (1, 'd', 's', 'report.check', 1, 0, NULL, 2,"
                        " NULL, 1, 1, 1), (2, 'c', 's', 'report.check', 3, 0, NULL, 2, NULL, 1,"
                        " 1, 3)\"", f->db), 0);
    assert_int_equal(reopen(f), 0);
    void *reply = NULL;
    size_t len = 0;
    assert_int_equal(spool_get(f->sp, "d", &reply, &len), SPOOL_DONE);
    assert_int_equal(len, 3);
    assert_memory_equal(reply, "R-d", 3);
    free(reply);
    char out[256] = "";
    assert_int_equal(spool_replay(f->sp, 1, UINT64_MAX, 10, collect, out), 0);
    assert_string_equal(out, "1:result.1:R-d;2:alert.1:A-d;3:result.1:R-c;4:deadletter:{};");
    assert_int_equal(spool_log(f->sp, "deadletter", "{}", 2, NULL, 0), 5);
    assert_int_equal(spool_commit(f->sp, NULL, 0), 0);
    spool_close(&f->sp);
    assert_int_equal(sh("test \"$(psql -tA -d %s -c \"SELECT value FROM reportd_meta WHERE"
                        " key = 'layout'\")\" = 2", f->db), 0);
    assert_int_equal(sh("test \"$(psql -tA -d %s -c 'SELECT count(*) FROM result')\" = 2",
                        f->db), 0);
    assert_int_equal(sh("test \"$(psql -tA -d %s -c \"SELECT sum(length(body)) FROM published"
                        " WHERE topic LIKE 'result.%%'\")\" = 0", f->db), 0);
    assert_int_equal(sh("test \"$(psql -tA -d %s -c 'SELECT count(*) FROM job"
                        " WHERE reply_seq IS NOT NULL')\" = 1", f->db), 0);
}

static void test_store_pg_no_server_no_rights(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    assert_null(spool_open_backend(backend, "host=/nonexistent port=1 dbname=x", err,
                                   sizeof err));
    assert_non_null(strstr(err, "spool: postgresql: cannot connect: "));
    assert_non_null(strstr(err, "/nonexistent/.s.PGSQL.1"));
    assert_null(strchr(err, '\n'));
    /* a role that may log in but not create tables in a fresh database */
    spool_close(&f->sp);
    assert_int_equal(sh("psql -q -d %s -c 'DROP TABLE reportd_meta, job, body, published, history, result;"
                        " CREATE ROLE test_store_lowly LOGIN'",
                        f->db), 0);
    char dsn[128];
    snprintf(dsn, sizeof dsn, "%s user=test_store_lowly", f->path);
    assert_null(spool_open_backend(backend, dsn, err, sizeof err));
    assert_string_equal(err, "spool: postgresql: creating layout 2: ERROR:  permission denied for "
                        "schema public");
    assert_int_equal(sh("psql -q -d %s -c 'DROP ROLE test_store_lowly'", f->db), 0);
}

/* PostgreSQL only: two brokers' spools on one database. The first to ask
 * leads (epoch 1), the second is standby: its submission is stored outside
 * the line (pos 0), the same id again is no second job from either, and the
 * leader claims it after the standby's NOTIFY; a standby may not write a
 * Result or a publication. */
static void test_store_pg_leader_and_standby(void **state)
{
    struct fixture *f = *state;
    char err[256] = "", u[33], out[256] = "";
    uint64_t epoch = 0;
    struct spool *b = spool_open_backend(backend, f->path, err, sizeof err);
    assert_non_null(b);
    assert_int_equal(spool_lead(f->sp, &epoch, err, sizeof err), 1);
    assert_int_equal(epoch, 1);
    assert_int_equal(spool_lead(b, &epoch, err, sizeof err), 0);
    assert_int_equal(epoch, 1);
    assert_int_equal(spool_wake_fd(b), -1);
    assert_true(spool_wake_fd(f->sp) >= 0);
    uuid(u, 7);
    assert_int_equal(spool_put(b, u, "sub-7", "report.check", "b7", 2, err, sizeof err), 1);
    assert_int_equal(spool_commit(b, err, sizeof err), 0);
    assert_int_equal(spool_put(b, u, "sub-7", "report.check", "b7", 2, err, sizeof err), 0);
    assert_int_equal(spool_commit(b, err, sizeof err), 0);
    assert_int_equal(spool_put(f->sp, u, "sub-7", "report.check", "b7", 2, err, sizeof err), 0);
    assert_int_equal(spool_commit(f->sp, err, sizeof err), 0);
    assert_int_equal(pgq_long(f->db, "SELECT pos FROM job"), 0);
    assert_int_equal(spool_pending_after(f->sp, 0, 10, list_job, out), 0);
    /* the NOTIFY wakes the leader: no poll needed */
    assert_int_equal(spool_claim(f->sp, 10, 0, err, sizeof err), 1);
    assert_int_equal(spool_claim(f->sp, 10, 0, err, sizeof err), 0);
    assert_int_equal(spool_commit(f->sp, err, sizeof err), 0);
    assert_int_equal(spool_pending_after(f->sp, 0, 10, list_job, out), 1);
    assert_string_equal(out, "1:07:report.check:b7;");
    assert_int_equal(spool_finish(b, u, 0, "ok", 2, 0, err, sizeof err), -1);
    assert_string_equal(err, "spool: postgresql: a Result is written by the leader only; this "
                        "broker is standby");
    assert_int_equal(spool_log(b, "result.", "x", 1, err, sizeof err), 0);
    assert_int_equal(spool_get(b, u, NULL, NULL), SPOOL_PENDING);
    assert_int_equal(spool_finish(f->sp, u, 0, "ok", 2, 0, err, sizeof err), 1);
    assert_int_equal(spool_commit(f->sp, err, sizeof err), 0);
    assert_int_equal(spool_get(b, u, NULL, NULL), SPOOL_DONE);
    spool_close(&b);
}

/* PostgreSQL only: fencing. Another broker took the lead (the epoch raised
 * under this one, as after its connection was cut and made again): this
 * one's next write transaction finds the epoch gone and rolls back — the
 * Result is not stored, nothing is published — and spool_lead says standby.
 * The leader's session ending frees the lock: the standby leads, epoch + 1,
 * and sees the job still pending. */
static void test_store_pg_deposed_leader_writes_nothing(void **state)
{
    struct fixture *f = *state;
    char err[256] = "", u[33];
    uint64_t epoch = 0;
    assert_int_equal(spool_lead(f->sp, &epoch, err, sizeof err), 1);
    uuid(u, 8);
    assert_int_equal(spool_put(f->sp, u, "sub-8", "report.check", "b8", 2, err, sizeof err), 1);
    assert_int_equal(spool_commit(f->sp, err, sizeof err), 0);
    assert_int_equal(sh("psql -q -d %s -c \"UPDATE reportd_meta SET value = '5' WHERE key ="
                        " 'leader_epoch'\"", f->db), 0);
    assert_int_equal(spool_log(f->sp, "result.", "x", 1, err, sizeof err), 0);
    assert_string_equal(err, "spool: postgresql: no longer the leader: leader_epoch is 5, this "
                        "broker led epoch 1: nothing written, stepping down");
    assert_int_equal(spool_finish(f->sp, u, 0, "ok", 2, 0, err, sizeof err), -1);
    assert_int_equal(spool_commit(f->sp, err, sizeof err), 0);
    assert_int_equal(spool_lead(f->sp, &epoch, err, sizeof err), 0);
    assert_int_equal(pgq_long(f->db, "SELECT count(*) FROM published"), 0);
    assert_int_equal(pgq_long(f->db, "SELECT state FROM job"), SPOOL_PENDING);
    assert_int_equal(pgq_long(f->db, "SELECT value FROM reportd_meta WHERE key = 'seq'"), 0);
    /* it stepped down and let the lock go: another broker leads at once */
    struct spool *b = spool_open_backend(backend, f->path, err, sizeof err);
    assert_non_null(b);
    assert_int_equal(spool_lead(b, &epoch, err, sizeof err), 1);
    assert_int_equal(epoch, 6);
    assert_int_equal(spool_finish(b, u, 0, "ok", 2, 0, err, sizeof err), 1);
    assert_int_equal(spool_commit(b, err, sizeof err), 0);
    /* its session killed: the lock goes with it; the first one leads again */
    assert_int_equal(sh("psql -q -d %s -c \"SELECT pg_terminate_backend(pid) FROM pg_locks"
                        " WHERE locktype = 'advisory'\" > /dev/null", f->db), 0);
    for (int i = 0; i < 200 && pgq_long(f->db, "SELECT count(*) FROM pg_locks WHERE locktype ="
                                        " 'advisory'") != 0; i++)
        usleep(10000);
    assert_int_equal(spool_lead(f->sp, &epoch, err, sizeof err), 1);
    assert_int_equal(epoch, 7);
    spool_close(&b);
}

/* Poll spool_link (at most 20 s) until want(l) holds; 0 then, -1 otherwise. */
static int link_until(struct spool *sp, struct spool_link *l,
                      int (*want)(const struct spool_link *))
{
    for (int i = 0; i < 400; i++) {
        spool_link(sp, l);
        if (want(l))
            return 0;
        usleep(50000);
    }
    return -1;
}

static int is_up(const struct spool_link *l)
{
    return l->up;
}

static int tried_once(const struct spool_link *l)
{
    return strstr(l->why, "; last attempt: ") != NULL;
}

/* PostgreSQL only (issue 11, item 4): the store's connection is killed
 * (pg_terminate_backend) under an open batch — the next write fails, the
 * store is down, the batch's commit fails (nothing of it is in the
 * database); a database that no longer holds reportd's layout is not taken
 * (a reconnection re-checks it); once it does, spool_link takes the new
 * connection over and the store goes on: what was committed before is
 * there, the sequence continues. */
static void test_store_pg_connection_killed_batch_fails_reconnects(void **state)
{
    struct fixture *f = *state;
    char err[256] = "", u[4][33];
    for (int i = 0; i < 4; i++)
        uuid(u[i], i + 1);
    assert_int_equal(spool_put(f->sp, u[0], "s0", "svc", "x", 1, err, sizeof err), 1);
    assert_int_equal(spool_log(f->sp, "t", "m1", 2, err, sizeof err), 1);
    assert_int_equal(spool_commit(f->sp, err, sizeof err), 0);
    struct spool_link l;
    spool_link(f->sp, &l);
    assert_int_equal(l.up, 1);
    assert_int_equal(l.reconnects, 0);
    assert_true(spool_size(f->sp) > 0);
    assert_int_equal(spool_put(f->sp, u[1], "s1", "svc", "y", 1, err, sizeof err), 1);
    assert_int_equal(spool_log(f->sp, "t", "m2", 2, err, sizeof err), 2);
    assert_int_equal(sh("psql -Xq -d %s -c 'SELECT pg_terminate_backend(pid) FROM "
                        "pg_stat_activity WHERE datname = current_database() AND pid <> "
                        "pg_backend_pid()' -c 'ALTER TABLE reportd_meta RENAME TO away' "
                        ">/dev/null", f->db), 0);
    assert_int_equal(spool_put(f->sp, u[2], "s2", "svc", "z", 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "spool: postgresql: put: the database is unreachable "
                           "(reconnecting): FATAL:  terminating connection due to "
                           "administrator command"));
    spool_link(f->sp, &l);
    assert_int_equal(l.up, 0);
    assert_int_equal(spool_get(f->sp, u[0], NULL, NULL), -1);      /* reads fail too */
    assert_int_equal(spool_commit(f->sp, err, sizeof err), -1);
    assert_non_null(strstr(err, "spool: postgresql: commit: the connection broke under the "
                           "batch ("));
    assert_int_equal(spool_last_seq(f->sp), 1);
    /* the database reportd finds holds no layout: not taken */
    assert_int_equal(link_until(f->sp, &l, tried_once), 0);
    assert_int_equal(l.up, 0);
    assert_int_equal(l.reconnects, 0);
    char want[200];
    snprintf(want, sizeof want, "; last attempt: database %s: reading reportd_meta: ERROR:  "
             "relation \"reportd_meta\" does not exist", f->db);
    assert_non_null(strstr(l.why, want));
    assert_int_equal(sh("psql -Xq -d %s -c 'ALTER TABLE away RENAME TO reportd_meta'", f->db), 0);
    assert_int_equal(link_until(f->sp, &l, is_up), 0);
    assert_int_equal(l.reconnects, 1);
    assert_int_equal(spool_get(f->sp, u[0], NULL, NULL), SPOOL_PENDING);
    assert_int_equal(spool_get(f->sp, u[1], NULL, NULL), -1);      /* its batch failed */
    assert_int_equal(spool_last_seq(f->sp), 1);
    assert_int_equal(spool_put(f->sp, u[3], "s3", "svc", "w", 1, err, sizeof err), 1);
    assert_int_equal(spool_log(f->sp, "t", "m3", 2, err, sizeof err), 2);
    assert_int_equal(spool_commit(f->sp, err, sizeof err), 0);
    assert_int_equal(spool_count(f->sp, SPOOL_PENDING), 2);
    assert_int_equal(spool_last_seq(f->sp), 2);
}

/* PostgreSQL only: a resubmission to a standby while the leader's open batch
 * finishes that job is a duplicate at once — it takes no lock on the row (two
 * batches locking rows in different orders deadlock). */
static void test_store_pg_standby_duplicate_takes_no_lock(void **state)
{
    struct fixture *f = *state;
    char err[256] = "", u[33];
    uint64_t epoch = 0;
    struct spool *b = spool_open_backend(backend, f->path, err, sizeof err);
    assert_non_null(b);
    assert_int_equal(spool_lead(f->sp, &epoch, err, sizeof err), 1);
    assert_int_equal(spool_lead(b, &epoch, err, sizeof err), 0);
    uuid(u, 9);
    assert_int_equal(spool_put(f->sp, u, "sub-9", "report.check", "b9", 2, err, sizeof err), 1);
    assert_int_equal(spool_commit(f->sp, err, sizeof err), 0);
    assert_int_equal(spool_finish(f->sp, u, 0, "ok", 2, 0, err, sizeof err), 1);
    assert_int_equal(spool_put(b, u, "sub-9", "report.check", "b9", 2, err, sizeof err), 0);
    assert_int_equal(spool_commit(b, err, sizeof err), 0);
    assert_int_equal(spool_commit(f->sp, err, sizeof err), 0);
    assert_int_equal(spool_get(b, u, NULL, NULL), SPOOL_DONE);
    spool_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_pending_in_order_of_arrival, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_reopened_holds_everything_committed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_replay_limit_range_and_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_closed_job_keeps_its_tombstone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_history_put_get_replace_reopen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_history_uncommitted_is_not_seen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_prune_by_age_bounded_never_pending, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_result_outlives_job_or_publication, setup,
                                        teardown),
        cmocka_unit_test(test_store_unknown_backend_is_named),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_setup_teardown(test_store_pg_newer_layout_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_pg_layout1_is_migrated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_pg_no_server_no_rights, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_pg_leader_and_standby, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_pg_deposed_leader_writes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_pg_standby_duplicate_takes_no_lock, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_pg_connection_killed_batch_fails_reconnects,
                                        setup, teardown),
    };
    int failed = 0;
    for (size_t i = 0; spool_backends[i]; i++) {
        backend = spool_backends[i];
        if (is_pg() && !getenv("PGHOST")) {
            /* make check runs this program again under scripts/pg-test-server.sh */
            printf("store[postgresql]: skipped: no server (PGHOST unset; run under "
                   "sh scripts/pg-test-server.sh run)\n");
            continue;
        }
        char name[64];
        snprintf(name, sizeof name, "store[%s]", backend);
        failed += cmocka_run_group_tests_name(name, tests, NULL, NULL);
        if (is_pg())
            failed += cmocka_run_group_tests_name("store[postgresql only]", pg_tests, NULL,
                                                  NULL);
    }
    return failed;
}
