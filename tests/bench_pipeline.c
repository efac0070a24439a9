/* bench_pipeline: the pipeline's throughput and latency, in one process over
 * tcp://127.0.0.1 — the real broker (with its fsynced spool), real worker
 * threads with the real checker, and pipelined clients:
 *   - raw ZeroMQ request-reply at the same message sizes (the reference):
 *     DEALER→ROUTER echo with the same window, and REQ/REP one at a time;
 *   - plain MDP report.check: submissions/s, p50/p99 request→reply;
 *   - durable (titanic.request): submissions/s and p50/p99 from the request
 *     to the `result.*` publication, at full speed and at half that rate;
 * each with 1, 2 and 4 worker threads; then one C worker against one Python
 * reference worker (tests/bench/ref_worker.py, a child process) on the same
 * Report-form Submissions; then 1 and 2 `reportd worker` processes (one
 * thread each, as production runs them); last the aims as ratios of
 * this run. Bounded by count and by time. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "broker/broker.h"
#include "check/check.h"
#include "wire/client.h"
#include "conf/config.h"
#include "wire/mdp.h"
#include "read/reader.h"
#include "read/reportpb.h"
#include "report/report.h"
#include "report.pb-c.h"
#include "base/log.h"
#include "base/util.h"
#include "worker/worker.h"

static int WINDOW = 128;        /* requests in flight per client; $REPORTD_BENCH_WINDOW */
#define PHASE_LIMIT_S 20.0      /* no phase runs longer */

struct env {
    /* one context (so one I/O thread) each for clients, broker and workers,
     * as if they were the separate processes they are in production */
    void *ctx, *bctx, *wctx;
    struct config cfg;
    int broker_stop;
    pthread_t broker;
    struct checker *chk;
    uint8_t *doc;
    size_t doclen;
    Reportd__Report *report;    /* the same report in the structured form */
    int form_report;            /* 1: Submissions carry report, not doc */
    size_t result_size;
    uint8_t *fail;              /* 湘乡's Result with the report as read, packed: the null */
    size_t fail_len;            /* workers' answer, its submission id at fail_id */
    size_t fail_id;
    int count;                  /* submissions per phase */
    char *raw_endpoint;         /* the echo servers of the raw reference */
    char *raw_endpoint2;
};

struct run {
    double rate;                /* per second */
    double p50, p99;            /* ms */
    int done;
};

/* What the aims are computed from, filled as the rows run. */
struct aims {
    double raw;                 /* raw request-reply, same sizes and window, /s */
    double durable_peak;        /* the best durable rate of the rows, /s */
    double half_p99;            /* p99 at half that row's durable rate, ms */
    double half_rate;           /* the rate it was measured at, /s */
    double c_rate, py_rate;     /* one C worker, one Python worker, durable, /s */
    double procs[2];            /* 1 and 2 worker processes, durable, /s */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void percentiles(double *lat, int n, struct run *r)
{
    if (n == 0)
        return;
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    r->p50 = lat[n / 2] * 1000;
    r->p99 = lat[(int)(n * 0.99) < n ? (int)(n * 0.99) : n - 1] * 1000;
}

static uint8_t *submission(const struct env *e, int i, size_t *len)
{
    char sid[40];
    snprintf(sid, sizeof sid, "00000000-0000-4000-8000-%012d", i);
    Reportd__Submission s = REPORTD__SUBMISSION__INIT;
    Reportd__Body body = REPORTD__BODY__INIT;
    Reportd__Document doc = REPORTD__DOCUMENT__INIT;
    s.schema_version = 1;
    s.submission_id = sid;
    body.region_code = (char *)"430381";
    body.name = (char *)"湘乡市民政局";
    s.body = &body;
    s.has_year = 1;
    s.year = 2024;
    doc.data.data = e->doc;
    doc.data.len = e->doclen;
    doc.has_form = 1;
    doc.form = REPORTD__DOCUMENT_FORM__FORM_TEXT;
    s.content_case = REPORTD__SUBMISSION__CONTENT_DOCUMENT;
    s.document = &doc;
    if (e->form_report) {
        s.content_case = REPORTD__SUBMISSION__CONTENT_REPORT;
        s.report = e->report;
    }
    *len = reportd__submission__get_packed_size(&s);
    uint8_t *buf = xmalloc(*len);
    reportd__submission__pack(&s, buf);
    return buf;
}

static int result_index(const void *data, size_t len)
{
    /* the submission id as protobuf-c and Python pack a Result: field 1,
     * then field 2 of 36 bytes — the measuring client must not cost what it
     * measures (a full unpack is ~240k instructions a Result) */
    const uint8_t *d = data;
    if (len < 40 || d[0] != 0x08 || d[2] != 0x12 || d[3] != 36)
        return -1;
    char digits[13];
    memcpy(digits, d + 4 + 24, 12);
    digits[12] = '\0';
    return atoi(digits);
}

static void *broker_main(void *arg)
{
    struct env *e = arg;
    char err[256];
    struct broker *b = broker_new(e->bctx, &e->cfg, NULL, err, sizeof err);
    if (!b) {
        fprintf(stderr, "bench: %s\n", err);
        exit(70);
    }
    broker_run(b, e->broker_stop, err, sizeof err);
    broker_destroy(&b);
    return NULL;
}

/* Raw reference: a ROUTER that answers every message with result_size bytes. */
static void *echo_main(void *arg)
{
    void **a = arg;
    void *s = a[0];
    size_t size = (size_t)(uintptr_t)a[1];
    char *reply = xcalloc(1, size);
    for (;;) {
        struct mdp_msg *m = mdp_msg_recv(s, 0, 8);
        if (!m)
            break;
        if (m->n == 2 && mdp_msg_size(m, 1) == 0) {      /* stop */
            mdp_msg_destroy(&m);
            break;
        }
        struct mdp_msg *out = mdp_msg_new();
        mdp_msg_addframe(out, m, 0);
        mdp_msg_add(out, reply, size);
        mdp_msg_send(out, s, 0);
        mdp_msg_destroy(&out);
        mdp_msg_destroy(&m);
    }
    free(reply);
    return NULL;
}

static double raw_rate(struct env *e, int window, size_t reqsize)
{
    const char *ep = window > 1 ? e->raw_endpoint : e->raw_endpoint2;
    void *srv = zmq_socket(e->wctx, ZMQ_ROUTER), *cli = zmq_socket(e->ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(cli, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(srv, ep) != 0) {
        fprintf(stderr, "bench: bind %s: %s\n", ep, zmq_strerror(zmq_errno()));
        zmq_close(cli);
        zmq_close(srv);
        return 0;
    }
    zmq_connect(cli, ep);
    void *args[2] = {srv, (void *)(uintptr_t)e->result_size};
    pthread_t t;
    pthread_create(&t, NULL, echo_main, args);
    char *req = xcalloc(1, reqsize);
    int sent = 0, got = 0, n = e->count * 5;
    double t0 = now_s();
    while (got < n && now_s() - t0 < PHASE_LIMIT_S) {
        while (sent < n && sent - got < window)
            if (zmq_send(cli, req, reqsize, 0) == (int)reqsize)
                sent++;
        zmq_pollitem_t it = {cli, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 1000) <= 0)
            continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, cli, 0) >= 0)
            got++;
        zmq_msg_close(&m);
    }
    double rate = got / (now_s() - t0);
    zmq_send(cli, "", 0, 0);
    pthread_join(t, NULL);
    free(req);
    zmq_close(cli);
    zmq_close(srv);
    return rate;
}

/* Plain MDP: report.check through the broker, WINDOW in flight. */
static struct run plain_mdp(struct env *e)
{
    struct run r = {0};
    struct client *c = client_new(e->ctx, e->cfg.broker_bind);
    double *sent_at = xcalloc((size_t)e->count, sizeof(double));
    double *lat = xcalloc((size_t)e->count, sizeof(double));
    int sent = 0;
    double t0 = now_s();
    while (r.done < e->count && now_s() - t0 < PHASE_LIMIT_S) {
        while (sent < e->count && sent - r.done < WINDOW) {
            size_t len;
            uint8_t *s = submission(e, sent, &len);
            struct mdp_msg *body = mdp_msg_new();
            mdp_msg_add(body, s, len);
            sent_at[sent++] = now_s();
            client_send(c, "report.check", body);
            mdp_msg_destroy(&body);
            free(s);
        }
        struct mdp_msg *m = client_recv(c, 1000);
        if (!m)
            continue;
        int i = m->n >= 2 ? result_index(mdp_msg_data(m, 1), mdp_msg_size(m, 1)) : -1;
        if (i >= 0 && i < e->count)
            lat[r.done++] = now_s() - sent_at[i];
        mdp_msg_destroy(&m);
    }
    r.rate = r.done / (now_s() - t0);
    percentiles(lat, r.done, &r);
    free(sent_at);
    free(lat);
    client_destroy(&c);
    return r;
}

/* Durable: titanic.request, latency to the result.* publication. pace > 0:
 * open loop at that many per second; else closed loop with WINDOW in flight.
 * base offsets submission ids so every phase's submissions are new jobs. */
static struct run durable(struct env *e, int base, double pace)
{
    struct run r = {0};
    struct client *c = client_new(e->ctx, e->cfg.broker_bind);
    void *sub = zmq_socket(e->ctx, ZMQ_SUB);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "result.", 7);
    zmq_connect(sub, e->cfg.publish_bind);
    usleep(200000);
    int n = e->count;
    double *sent_at = xcalloc((size_t)n, sizeof(double));
    double *lat = xcalloc((size_t)n, sizeof(double));
    int sent = 0;
    double t0 = now_s();
    while (r.done < n && now_s() - t0 < PHASE_LIMIT_S) {
        double t = now_s();
        while (sent < n && (pace > 0 ? t0 + sent / pace <= t : sent - r.done < WINDOW)) {
            size_t len;
            uint8_t *s = submission(e, base + sent, &len);
            struct mdp_msg *body = mdp_msg_new();
            mdp_msg_addstr(body, "report.check");
            mdp_msg_add(body, s, len);
            sent_at[sent++] = now_s();
            client_send(c, "titanic.request", body);
            mdp_msg_destroy(&body);
            free(s);
        }
        struct mdp_msg *ack;
        while ((ack = client_recv(c, 0)) != NULL)
            mdp_msg_destroy(&ack);
        zmq_pollitem_t it = {sub, 0, ZMQ_POLLIN, 0};
        long wait_ms = pace > 0 ? 1 : 100;
        if (zmq_poll(&it, 1, wait_ms) <= 0)
            continue;
        struct mdp_msg *m = mdp_msg_recv(sub, 0, 8);
        int i = m && m->n == 3 ? result_index(mdp_msg_data(m, 2), mdp_msg_size(m, 2)) - base : -1;
        if (i >= 0 && i < n)
            lat[r.done++] = now_s() - sent_at[i];
        mdp_msg_destroy(&m);
    }
    r.rate = r.done / (now_s() - t0);
    percentiles(lat, r.done, &r);
    free(sent_at);
    free(lat);
    zmq_close(sub);
    client_destroy(&c);
    return r;
}

/* A minimal MDPW01 worker that skips the checker: it answers each Submission
 * with 湘乡's real Result under the Submission's id (FAIL, with the report as
 * read, as a worker asked for it answers), so the rows it serves measure the
 * broker, the spool, the history and the publications alone. */
struct null_worker {
    struct env *e;
    int stopfd;
};

static void *null_worker_main(void *arg)
{
    struct null_worker *nw = arg;
    void *s = zmq_socket(nw->e->wctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_connect(s, nw->e->cfg.broker_bind);
    struct mdp_msg *ready = mdp_worker_cmd(NULL, 0, MDP_READY);
    mdp_msg_addstr(ready, "report.check");
    mdp_msg_send(ready, s, 0);
    mdp_msg_destroy(&ready);
    double beat = now_s();
    for (;;) {
        zmq_pollitem_t it[2] = {{s, 0, ZMQ_POLLIN, 0}, {NULL, nw->stopfd, ZMQ_POLLIN, 0}};
        zmq_poll(it, 2, 500);
        if (it[1].revents)
            break;
        if (now_s() - beat > 1.0) {
            struct mdp_msg *hb = mdp_worker_cmd(NULL, 0, MDP_HEARTBEAT);
            mdp_msg_send(hb, s, 0);
            mdp_msg_destroy(&hb);
            beat = now_s();
        }
        if (!it[0].revents)
            continue;
        struct mdp_msg *m = mdp_msg_recv(s, 0, 16);
        struct mdp_parsed p;
        if (!m || mdp_parse(m, 0, &p, NULL, 0) != 0 || p.command != MDP_REQUEST) {
            mdp_msg_destroy(&m);
            continue;
        }
        /* the Submission's id (field 2, 36 bytes) into the packed Result */
        const uint8_t *sb = mdp_msg_data(m, p.body);
        size_t n = nw->e->fail_len;
        uint8_t *buf = xmalloc(n);
        memcpy(buf, nw->e->fail, n);
        const uint8_t *at = memmem(sb, mdp_msg_size(m, p.body), "\x12\x24", 2);
        if (at && at + 38 <= sb + mdp_msg_size(m, p.body))
            memcpy(buf + nw->e->fail_id, at + 2, 36);
        struct mdp_msg *out = mdp_worker_cmd(NULL, 0, MDP_REPLY);
        mdp_msg_addframe(out, m, p.address);
        mdp_msg_add(out, "", 0);
        mdp_msg_add(out, buf, n);
        mdp_msg_send(out, s, 0);
        mdp_msg_destroy(&out);
        mdp_msg_destroy(&m);
        free(buf);
    }
    struct mdp_msg *bye = mdp_worker_cmd(NULL, 0, MDP_DISCONNECT);
    mdp_msg_send(bye, s, 0);
    mdp_msg_destroy(&bye);
    zmq_close(s);
    return NULL;
}

/* The Python reference worker (tests/bench/ref_worker.py) as a child
 * process: an MDP worker for report.check on the broker. */
static pid_t python_worker(const struct env *e)
{
    extern char **environ;
    char *const argv[] = {(char *)"python3", (char *)"tests/bench/ref_worker.py", (char *)"mdp",
                          e->cfg.broker_bind, (char *)"report.check", NULL};
    pid_t pid;
    if (posix_spawn(&pid, "/usr/bin/python3", NULL, NULL, argv, environ) != 0) {
        fprintf(stderr, "bench: cannot run /usr/bin/python3 tests/bench/ref_worker.py\n");
        exit(70);
    }
    sleep(2);                   /* imports, layouts, READY */
    return pid;
}

/* One worker, Submissions in the Report form (湘乡), reportd's C worker and
 * the Python reference in turn, the same window: the end-to-end ratio. */
static void one_worker_rows(struct env *e, struct aims *aims)
{
    e->form_report = 1;
    size_t sublen;
    free(submission(e, 0, &sublen));
    printf("one worker, Report form (湘乡, %zu-byte Submission), reportd's C worker vs the Python"
           " reference (aim: C >= 5x):\n", sublen);
    struct run p[2], d[2];
    for (int py = 0; py < 2; py++) {
        int stopfd = eventfd(0, 0);
        char err[256];
        struct worker_pool *pool = NULL;
        pid_t pid = -1;
        if (py)
            pid = python_worker(e);
        else
            pool = worker_start(e->wctx, &e->cfg, e->cfg.broker_bind, 1, e->chk, stopfd, err, sizeof err);
        usleep(300000);
        p[py] = plain_mdp(e);
        d[py] = durable(e, (20 + py) * 1000000, 0);
        printf("  %-7s | plain %8.0f/s p50 %7.2f p99 %7.2f ms | durable %8.0f/s p50 %7.2f p99 %7.2f ms\n",
               py ? "python" : "reportd", p[py].rate, p[py].p50, p[py].p99, d[py].rate, d[py].p50, d[py].p99);
        fflush(stdout);
        eventfd_write(stopfd, 1);
        worker_join(&pool);
        if (pid > 0) {
            kill(pid, SIGTERM);
            waitpid(pid, NULL, 0);
        }
        close(stopfd);
    }
    printf("  ratio C / python: plain %.1f, durable %.1f\n", p[0].rate / p[1].rate, d[0].rate / d[1].rate);
    aims->c_rate = d[0].rate;
    aims->py_rate = d[1].rate;
    e->form_report = 0;
}

/* A `reportd worker` process with one thread on the bench's broker; its
 * config in dir. */
static pid_t worker_process(const struct env *e, const char *dir, int i)
{
    extern char **environ;
    const char *b = getenv("REPORTD_BUILD");
    char *exe = xasprintf("%s/reportd", b && *b ? b : "build");
    char *yaml = xasprintf("%s/worker-%d.yaml", dir, i);
    FILE *f = fopen(yaml, "w");
    if (!f || fprintf(f, "worker:\n  connect: %s\n  threads: 1\nlog:\n  level: warning\n",
                      e->cfg.broker_bind) < 0 || fclose(f) != 0) {
        fprintf(stderr, "bench: cannot write %s\n", yaml);
        exit(73);
    }
    char *const argv[] = {exe, (char *)"-c", yaml, (char *)"worker", NULL};
    pid_t pid;
    setenv("REPORTD_DATADIR", "config", 0);
    if (posix_spawn(&pid, exe, NULL, NULL, argv, environ) != 0) {
        fprintf(stderr, "bench: cannot run %s\n", exe);
        exit(70);
    }
    free(exe);
    free(yaml);
    return pid;
}

/* 1, then 2 worker processes (one thread each) under the same broker:
 * durable at the same window, the document form of the rows above. */
static void process_rows(struct env *e, const char *dir, struct aims *aims)
{
    printf("worker processes (reportd worker, 1 thread each), durable, window %d (aim: 2 >= 1.7x 1):\n",
           WINDOW);
    for (int n = 1; n <= 2; n++) {
        pid_t pids[2];
        for (int i = 0; i < n; i++)
            pids[i] = worker_process(e, dir, i);
        usleep(1500000);        /* layouts, READY */
        struct run d = durable(e, (30 + n) * 1000000, 0);
        aims->procs[n - 1] = d.rate;
        printf("  %d process%s | durable %8.0f/s p50 %7.2f p99 %7.2f ms\n", n, n > 1 ? "es" : "  ",
               d.rate, d.p50, d.p99);
        fflush(stdout);
        for (int i = 0; i < n; i++) {
            kill(pids[i], SIGTERM);
            waitpid(pids[i], NULL, 0);
        }
        usleep(500000);         /* the broker forgets them (DISCONNECT) */
    }
}

/* The end-to-end aims, each a ratio of this run. */
static void print_aims(const struct aims *a)
{
    printf("aims (this run):\n");
    printf("  durable / raw ZeroMQ, same sizes and window: %5.1f%%  (aim >= 30%%; best durable row %.0f/s, raw %.0f/s)\n",
           100.0 * a->durable_peak / a->raw, a->durable_peak, a->raw);
    if (a->py_rate > 0)
        printf("  one C worker / one Python worker, durable:  %5.1fx  (aim >= 5x; %.0f/s vs %.0f/s)\n",
               a->c_rate / a->py_rate, a->c_rate, a->py_rate);
    if (a->procs[0] > 0)
        printf("  2 / 1 worker processes, durable:            %5.2fx  (aim >= 1.7x; %.0f/s vs %.0f/s)\n",
               a->procs[1] / a->procs[0], a->procs[1], a->procs[0]);
    printf("  p99 at half the peak durable rate:          %5.2f ms (aim <= 10 ms; at %.0f/s)\n",
           a->half_p99, a->half_rate);
}

static void setup(struct env *e, const char *dir)
{
    char err[512];
    config_defaults(&e->cfg);
    free(e->cfg.broker_bind);
    free(e->cfg.publish_bind);
    free(e->cfg.spool_path);
    /* ports from the pid, so two benchmarks on one host do not collide */
    int port = 25000 + (int)(getpid() % 1800) * 4;   /* below the ephemeral range */
    e->cfg.broker_bind = xasprintf("tcp://127.0.0.1:%d", port);
    e->cfg.publish_bind = xasprintf("tcp://127.0.0.1:%d", port + 1);
    e->raw_endpoint = xasprintf("tcp://127.0.0.1:%d", port + 2);
    e->raw_endpoint2 = xasprintf("tcp://127.0.0.1:%d", port + 3);
    e->cfg.spool_path = xasprintf("%s/spool.db", dir);
    const char *bms = getenv("REPORTD_BENCH_BATCH_MS");     /* spool.batch_ms, 1 unless set */
    e->cfg.batch_ms = bms && atoi(bms) >= 0 ? atoi(bms) : 1;
    e->ctx = zmq_ctx_new();
    e->bctx = zmq_ctx_new();
    e->wctx = zmq_ctx_new();
    e->broker_stop = eventfd(0, 0);
    e->chk = checker_new(&(struct checker_options){.datadir = "config"}, err, sizeof err);
    if (!e->chk) {
        fprintf(stderr, "bench: %s\n", err);
        exit(70);
    }
    char *doc = util_read_file("examples/xiangxiang-minzheng-2024.txt", 1 << 20, &e->doclen,
                               err, sizeof err);
    if (!doc) {
        fprintf(stderr, "bench: %s\n", err);
        exit(66);
    }
    e->doc = (uint8_t *)doc;
    struct report *rep = NULL;
    if (reader_read(checker_layouts(e->chk), e->doc, e->doclen, READER_TEXT, "bench", 0, &rep, err,
                    sizeof err) < 0) {
        fprintf(stderr, "bench: %s\n", err);
        exit(70);
    }
    e->report = reportpb_from_report(rep);
    report_destroy(&rep);
    size_t len;
    uint8_t *s = submission(e, 0, &len);
    Reportd__Result *r = checker_run_bytes(e->chk, s, len);
    e->result_size = reportd__result__get_packed_size(r);
    checker_result_free(r);
    /* the same Submission as a broker with history hands it out: want_report */
    Reportd__Submission *sub = reportd__submission__unpack(NULL, len, s);
    sub->has_want_report = sub->want_report = 1;
    free(s);
    s = xmalloc(reportd__submission__get_packed_size(sub));
    len = reportd__submission__pack(sub, s);
    reportd__submission__free_unpacked(sub, NULL);
    Reportd__Result *fail = checker_run_bytes(e->chk, s, len);
    free(s);
    e->fail_len = reportd__result__get_packed_size(fail);
    e->fail = xmalloc(e->fail_len);
    reportd__result__pack(fail, e->fail);
    checker_result_free(fail);
    const uint8_t *id = memmem(e->fail, e->fail_len, "\x12\x24" "00000000-0000-4000-8000-", 26);
    if (!id) {
        fprintf(stderr, "bench: the Result does not hold its submission id\n");
        exit(70);
    }
    e->fail_id = (size_t)(id - e->fail) + 2;
    pthread_create(&e->broker, NULL, broker_main, e);
    usleep(200000);
}

int main(void)
{
    struct env e = {0};
    log_configure(0, LOG_PRI_NOTICE);  /* no "job done" line per benchmark job */
    const char *b = getenv("REPORTD_BUILD");
    char *dir = xasprintf("%s/bench-spool.XXXXXX", b && *b ? b : "build");
    if (!mkdtemp(dir)) {
        perror(dir);
        return 73;
    }
    const char *cnt = getenv("REPORTD_BENCH_COUNT");
    e.count = cnt && atoi(cnt) > 0 ? atoi(cnt) : 2000;
    const char *win = getenv("REPORTD_BENCH_WINDOW");
    if (win && atoi(win) > 0)
        WINDOW = atoi(win);
    setup(&e, dir);
    size_t sublen;
    free(submission(&e, 0, &sublen));
    printf("pipeline: %d submissions a phase, %zu-byte Submission, %zu-byte Result, window %d,"
           " spool on %s (fsync per batch)\n", e.count, sublen, e.result_size, WINDOW, dir);
    double raw_w = raw_rate(&e, WINDOW, sublen), raw_1 = raw_rate(&e, 1, sublen);
    struct aims aims = {.raw = raw_w};
    printf("  raw ZeroMQ request-reply, same sizes: %8.0f/s (window %d), %8.0f/s (one at a time)\n",
           raw_w, WINDOW, raw_1);
    printf("  %-7s | %-26s | %-26s | %-20s\n", "workers", "plain MDP  /s  p50  p99 ms",
           "durable   /s  p50  p99 ms", "durable @ half: p50 p99");
    /* rows 4–6: the same with null workers (no checker): the pipeline's own cost */
    static const int threads[] = {1, 2, 4, 1, 2, 4};
    const char *only = getenv("REPORTD_BENCH_NULL_ONLY");
    /* $REPORTD_BENCH_PY_ONLY=1: only the C-against-Python rows, for repeated runs */
    const char *py_only = getenv("REPORTD_BENCH_PY_ONLY");
    /* $REPORTD_BENCH_PROFILE=1: only the durable phase with one null worker
     * (for callgrind or strace on the broker's durable path) */
    const char *prof = getenv("REPORTD_BENCH_PROFILE");
    int profile = prof && *prof == '1';
    int first = py_only && *py_only == '1' ? 6 : (only && *only == '1') || profile ? 3 : 0;
    for (int k = first; k < 6; k++) {
        int stopfd = eventfd(0, 0);
        char err[256];
        int null = k >= 3;
        struct worker_pool *pool = NULL;
        pthread_t nt[4];
        struct null_worker nw = {&e, stopfd};
        if (null)
            for (int i = 0; i < threads[k]; i++)
                pthread_create(&nt[i], NULL, null_worker_main, &nw);
        else
            pool = worker_start(e.wctx, &e.cfg, e.cfg.broker_bind, threads[k], e.chk, stopfd,
                                err, sizeof err);
        usleep(300000);
        struct run none = {0};
        struct run p = profile ? none : plain_mdp(&e);
        struct run d = durable(&e, (k * 3 + 1) * 1000000, 0);
        struct run h = profile ? none : durable(&e, (k * 3 + 2) * 1000000, d.rate / 2);
        if (!null && d.rate > aims.durable_peak) {
            aims.durable_peak = d.rate;
            aims.half_p99 = h.p99;
            aims.half_rate = h.rate;
        }
        printf("  %-4d%-3s | %8.0f %7.2f %7.2f | %8.0f %7.2f %7.2f | %6.0f/s %5.2f %5.2f   (%.0f%% of raw)\n",
               threads[k], null ? "nul" : "", p.rate, p.p50, p.p99, d.rate, d.p50, d.p99, h.rate, h.p50, h.p99,
               100.0 * d.rate / raw_w);
        fflush(stdout);
        eventfd_write(stopfd, 1);
        worker_join(&pool);
        for (int i = 0; null && i < threads[k]; i++)
            pthread_join(nt[i], NULL);
        close(stopfd);
        if (profile)
            break;
    }
    if (!(only && *only == '1') && !profile)
        one_worker_rows(&e, &aims);
    if (!(only && *only == '1') && !(py_only && *py_only == '1') && !profile)
        process_rows(&e, dir, &aims);
    if (!profile)
        print_aims(&aims);
    eventfd_write(e.broker_stop, 1);
    pthread_join(e.broker, NULL);
    free(e.fail);
    checker_destroy(&e.chk);
    zmq_ctx_term(e.ctx);
    zmq_ctx_term(e.bctx);
    zmq_ctx_term(e.wctx);
    char *rm = xasprintf("rm -rf %s", dir);
    if (system(rm) != 0)
        fprintf(stderr, "bench: could not remove %s\n", dir);
    free(rm);
    free(dir);
    free(e.doc);
    protobuf_c_message_free_unpacked(&e.report->base, NULL);
    free(e.raw_endpoint);
    free(e.raw_endpoint2);
    config_free(&e.cfg);
    return 0;
}
