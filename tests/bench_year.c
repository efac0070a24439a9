/* bench_year: a national year of durable submissions (issue 10) through the
 * real embedded `reportd` process (broker + worker threads, SQLite spool),
 * over tcp://127.0.0.1 — `make bench-year`, part of `make bench`. N (default
 * 150,000; $N) titanic.requests, half 淮安 (PASS) and half 湘乡 (FAIL), each a
 * Report-form Submission with its own submission id, at most WINDOW without
 * their Result yet (FLOOD=1: without their 200 yet — the broker then takes
 * them as fast as it can store them, and the backlog of pending jobs grows);
 * a subscriber counts the result.* publications. THREADS= and BATCH_MS= set
 * worker.threads and spool.batch_ms (else the configuration's defaults). Printed:
 *   - the wall time from the first request to the last Result published;
 *   - the broker's bytes written (/proc/PID/io write_bytes, over the run)
 *     per durable submission, against the Submission + Result bytes;
 *   - after a clean stop, the spool file against the bytes of what retention
 *     keeps (every kept row's column values, summed per table, read with
 *     sqlite3 from the file).
 * A benchmark, not a test: figures are printed, nothing is asserted. */
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "base/util.h"
#include "check/check.h"
#include "read/reader.h"
#include "read/reportpb.h"
#include "report/report.h"
#include "report.pb-c.h"
#include "wire/mdp.h"

#define WINDOW 512              /* requests without their Result (FLOOD: their 200) yet */
#define SID_TEMPLATE "00000000-0000-4000-8000-000000000000"

struct kind {
    const char *label;
    uint8_t *sub;               /* the packed Submission; its id patched per request */
    size_t len;
    size_t id_at;               /* where the submission id's last 12 digits are */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pid_t child;             /* reportd, once started */

static void die(const char *what)
{
    fprintf(stderr, "bench_year: %s\n", what);
    if (child > 0) {
        kill(child, SIGTERM);
        waitpid(child, NULL, 0);
    }
    exit(1);
}

/* A Report-form Submission of the report in path, as tests/bench.c makes them. */
static void make_kind(struct kind *k, const struct checker *c, const char *path,
                      enum reader_form form, const char *name, const char *region)
{
    char err[512];
    size_t len;
    char *doc = util_read_file(path, 1 << 20, &len, err, sizeof err);
    struct report *r = NULL;
    if (!doc || reader_read(checker_layouts(c), (uint8_t *)doc, len, form, path, 0, &r, err,
                            sizeof err) != 0)
        die(err);
    Reportd__Submission s = REPORTD__SUBMISSION__INIT;
    Reportd__Body body = REPORTD__BODY__INIT;
    s.schema_version = 1;
    s.submission_id = (char *)SID_TEMPLATE;
    body.name = (char *)name;
    body.region_code = (char *)region;
    s.body = &body;
    s.has_year = 1, s.year = 2024;
    s.content_case = REPORTD__SUBMISSION__CONTENT_REPORT;
    s.report = reportpb_from_report(r);
    k->len = reportd__submission__get_packed_size(&s);
    k->sub = xmalloc(k->len);
    reportd__submission__pack(&s, k->sub);
    protobuf_c_message_free_unpacked(&s.report->base, NULL);
    report_destroy(&r);
    free(doc);
    uint8_t *at = memmem(k->sub, k->len, SID_TEMPLATE, sizeof SID_TEMPLATE - 1);
    if (!at)
        die("the submission id is not in the packed Submission");
    k->id_at = (size_t)(at - k->sub) + sizeof SID_TEMPLATE - 1 - 12;
}

static long io_write_bytes(pid_t pid)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "write_bytes: %ld", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* The bytes of every value in every row of table (NULL: 0). */
static long table_payload(sqlite3 *db, const char *table, long *rows)
{
    char *q = sqlite3_mprintf("SELECT group_concat('ifnull(length(\"' || name || '\"), 0)', '+')"
                              " FROM pragma_table_info(%Q)", table);
    sqlite3_stmt *st;
    char *sum = NULL;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        sum = sqlite3_mprintf("SELECT count(*), coalesce(sum(%s), 0) FROM \"%w\"",
                              (const char *)sqlite3_column_text(st, 0), table);
    sqlite3_finalize(st);
    sqlite3_free(q);
    long v = 0;
    *rows = 0;
    if (sum && sqlite3_prepare_v2(db, sum, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            *rows = (long)sqlite3_column_int64(st, 0);
            v = (long)sqlite3_column_int64(st, 1);
        }
        sqlite3_finalize(st);
    }
    sqlite3_free(sum);
    return v;
}

/* Print each table's rows and payload; returns the sum of the payloads. */
static long spool_payload(const char *path)
{
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die("cannot open the spool");
    sqlite3_stmt *st;
    long total = 0;
    sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'"
                           " AND name NOT LIKE 'sqlite_%' ORDER BY name", -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW) {
        long rows, bytes = table_payload(db, (const char *)sqlite3_column_text(st, 0), &rows);
        printf("    table %-10s %8ld rows %12ld bytes of values\n", sqlite3_column_text(st, 0),
               rows, bytes);
        total += bytes;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return total;
}

static void pragma_line(const char *path)
{
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return;
    long long v[4] = {0};
    const char *q[4] = {"PRAGMA user_version", "PRAGMA page_size", "PRAGMA page_count",
                        "PRAGMA freelist_count"};
    for (int i = 0; i < 4; i++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, q[i], -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            v[i] = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    printf("    layout %lld, %lld pages of %lld bytes, %lld of them free\n", v[0], v[2], v[1],
           v[3]);
    sqlite3_close(db);
}

/* utime + stime of pid, in seconds. */
static double cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static struct mdp_msg *recv_within(void *s, int ms)
{
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) <= 0)
        return NULL;
    return mdp_msg_recv(s, 0, 16);
}

int main(void)
{
    long n = getenv("N") && *getenv("N") ? atol(getenv("N")) : 150000;
    if (n < 2 || n > 10000000)
        die("N must be 2 to 10000000");
    const char *build = getenv("REPORTD_BUILD") ? getenv("REPORTD_BUILD") : "build";
    char err[1024];
    struct checker *c = checker_new(&(struct checker_options){.datadir = "config"}, err, sizeof err);
    if (!c)
        die(err);
    struct kind kinds[2];
    make_kind(&kinds[0], c, "../shared/reports/huaian-2024.layout.txt", READER_LAYOUT,
              "淮安市人民政府", "320800");
    make_kind(&kinds[1], c, "examples/xiangxiang-minzheng-2024.txt", READER_TEXT,
              "湘乡市民政局", "430381");
    checker_destroy(&c);

    char dir[] = "/tmp/reportd-year.XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp");
    int port = 20000 + (getpid() % 1200) * 10 + 5;
    char *conf = xasprintf("%s/c.yaml", dir), *spool = xasprintf("%s/spool.db", dir);
    char *wal = xasprintf("%s-wal", spool), *log = xasprintf("%s/reportd.log", dir);
    char *reportd = xasprintf("%s/reportd", build);
    char ep[64], pub[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    snprintf(pub, sizeof pub, "tcp://127.0.0.1:%d", port + 1);
    FILE *f = fopen(conf, "w");
    if (!f)
        die("cannot write the config");
    /* THREADS, BATCH_MS: worker.threads, spool.batch_ms (else the defaults) */
    fprintf(f, "broker:\n  bind: %s\n  publish: %s\nspool:\n  path: %s\n", ep, pub, spool);
    if (getenv("BATCH_MS"))
        fprintf(f, "  batch_ms: %d\n", atoi(getenv("BATCH_MS")));
    if (getenv("THREADS"))
        fprintf(f, "worker:\n  threads: %d\n", atoi(getenv("THREADS")));
    fprintf(f, "log:\n  level: warning\n");
    fclose(f);
    setenv("REPORTD_DATADIR", "config", 0);     /* the tree's data, wherever reportd is */
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(log, "a", stderr))
            _exit(127);
        execl(reportd, reportd, "-c", conf, (char *)NULL);
        _exit(127);
    }
    child = pid;

    void *ctx = zmq_ctx_new();
    void *sub = zmq_socket(ctx, ZMQ_SUB), *cli = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(sub, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "result.", 7);
    zmq_setsockopt(cli, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(sub, pub);
    zmq_connect(cli, ep);
    /* up: mmi.service answers, and the subscription has reached the publisher */
    int up = 0;
    for (int i = 0; i < 200 && !up; i++) {
        struct mdp_msg *m = mdp_client_cmd(NULL, 0, "mmi.service");
        mdp_msg_addstr(m, "report.check");
        mdp_msg_send(m, cli, 0);
        mdp_msg_destroy(&m);
        struct mdp_msg *r = recv_within(cli, 100);
        up = r && r->n >= 4 && mdp_msg_is(r, 3, "200");
        mdp_msg_destroy(&r);
    }
    if (!up)
        die("reportd did not start (or has no worker)");
    usleep(300000);

    int flood = getenv("FLOOD") && atoi(getenv("FLOOD"));
    long w0 = io_write_bytes(pid), sent = 0, acked = 0, results = 0, backlog = 0;
    double sub_bytes = 0, res_bytes = 0, t0 = now_s(), last = t0, cpu0 = cpu_seconds(pid);
    while (results < n) {
        while (sent < n && (flood ? sent - acked : sent - results) < WINDOW) {
            struct kind *k = &kinds[sent % 2];
            char digits[13];
            snprintf(digits, sizeof digits, "%012ld", sent);
            memcpy(k->sub + k->id_at, digits, 12);
            struct mdp_msg *m = mdp_client_cmd(NULL, 0, "titanic.request");
            mdp_msg_addstr(m, "report.check");
            mdp_msg_add(m, k->sub, k->len);
            mdp_msg_send(m, cli, 0);
            mdp_msg_destroy(&m);
            sub_bytes += (double)k->len;
            sent++;
        }
        if (acked - results > backlog)
            backlog = acked - results;
        zmq_pollitem_t it[2] = {{cli, 0, ZMQ_POLLIN, 0}, {sub, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(it, 2, 1000) <= 0) {
            if (now_s() - last > 30)
                break;
            continue;
        }
        last = now_s();
        struct mdp_msg *m;
        while ((m = mdp_msg_recv(cli, ZMQ_DONTWAIT, 16)) != NULL) {
            if (m->n >= 4 && mdp_msg_is(m, 3, "200"))
                acked++;
            else if (m->n >= 4)
                fprintf(stderr, "bench_year: titanic.request answered %.*s\n",
                        (int)mdp_msg_size(m, 3), (const char *)mdp_msg_data(m, 3));
            mdp_msg_destroy(&m);
        }
        while ((m = mdp_msg_recv(sub, ZMQ_DONTWAIT, 16)) != NULL) {
            if (m->n == 3) {
                results++;
                res_bytes += (double)mdp_msg_size(m, 2);
            }
            mdp_msg_destroy(&m);
        }
    }
    double wall = now_s() - t0, cpu = cpu_seconds(pid) - cpu0;
    sleep(1);                   /* the last batch's checkpoint, if one runs */
    long written = io_write_bytes(pid) - w0;
    long walsize = file_size(wal);
    if (getenv("KEEP")) {       /* the WAL as it is now, for a look at its frames */
        char *cmd = xasprintf("cp %s %s/wal.copy", wal, dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_year: %s failed\n", cmd);
        free(cmd);
    }
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    zmq_close(cli);
    zmq_close(sub);
    zmq_ctx_term(ctx);

    printf("bench-year: %ld durable submissions (half 淮安 PASS %zu bytes, half 湘乡 FAIL %zu"
           " bytes; Report form) through embedded reportd, %d %s\n", n, kinds[0].len,
           kinds[1].len, WINDOW, flood ? "without their 200 (FLOOD)" : "without their Result");
    printf("  worker.threads %s, spool.batch_ms %s\n",
           getenv("THREADS") ? getenv("THREADS") : "default (2)",
           getenv("BATCH_MS") ? getenv("BATCH_MS") : "default (2)");
    if (results < n)
        printf("  only %ld Results published of %ld (%ld acknowledged): see %s\n", results, n,
               acked, log);
    double per = results ? (sub_bytes / (double)sent + res_bytes / (double)results) : 0;
    printf("  wall time %.1f s (%.0f submissions/s); reportd CPU %.1f s; at most %ld"
           " acknowledged and not yet published\n", wall, (double)results / wall, cpu, backlog);
    printf("  bytes written by reportd %.1f MB: %.0f per submission = %.2f x (Submission +"
           " Result = %.0f bytes)\n", (double)written / 1e6, (double)written / (double)n,
           (double)written / (double)n / per, per);
    long size = file_size(spool);
    printf("  spool after a clean stop: %.1f MB (WAL before the stop %.1f MB)\n",
           (double)size / 1e6, (double)walsize / 1e6);
    pragma_line(spool);
    long kept = spool_payload(spool);
    printf("  spool / what retention keeps: %.1f MB / %.1f MB = %.2f x\n", (double)size / 1e6,
           (double)kept / 1e6, (double)size / (double)kept);
    if (!getenv("KEEP")) {
        unlink(spool);
        unlink(wal);
        unlink(conf);
        unlink(log);
        char *shm = xasprintf("%s-shm", spool);
        unlink(shm);
        free(shm);
        rmdir(dir);
    } else {
        printf("  kept in %s\n", dir);
    }
    free(conf), free(spool), free(wal), free(log), free(reportd);
    free(kinds[0].sub), free(kinds[1].sub);
    return results == n ? 0 : 1;
}
