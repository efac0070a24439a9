/* bench_abuse: the broker's memory under two kinds of abuse (issue 9 items 8
 * and 9), measured on the real `reportd broker` process (its VmRSS from
 * /proc), over tcp://127.0.0.1:
 *   - 200 reportd.replay requests from a client that never reads (its socket
 *     takes one message and 4 KiB of kernel buffer), against a spool holding
 *     2,000 published Results of 7,563 bytes: under the configured bound
 *     (limits.replay_bytes / replay_budget), and — for scale — with the bound
 *     lifted, for 20 requests only;
 *   - plain requests to 200,000 one-off service names (no worker for any;
 *     broker.request_expiry_ms 2000, so names expire during the run): RSS
 *     under limits.max_services, and the round trip of mmi.service before and
 *     after the flood (the lookup is a hash, not a scan of the names).
 * A benchmark, not a test: figures are printed, nothing is asserted. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "base/util.h"
#include "broker/spool.h"
#include "wire/mdp.h"

#define RESULTS 2000            /* published messages in the spool */
#define RESULT_BYTES 7563       /* the size of 湘乡's Result */
#define REPLAYS 200
#define NAMES 200000

struct bench {
    char dir[64];
    char endpoint[64];
    const char *reportd;
    void *ctx;
    pid_t pid;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmRSS of pid in MiB, or -1. */
static double rss_mib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb < 0 ? -1 : (double)kb / 1024.0;
}

/* RSS once it stops moving (unchanged for 0.5 s, at most 10 s). */
static double settled_rss(pid_t pid)
{
    double last = rss_mib(pid), t0 = now_s(), since = now_s();
    while (now_s() - t0 < 10) {
        usleep(100000);
        double r = rss_mib(pid);
        if (r != last) {
            last = r;
            since = now_s();
        } else if (now_s() - since >= 0.5) {
            break;
        }
    }
    return last;
}

static void *dealer(struct bench *b, int rcvhwm)
{
    void *s = zmq_socket(b->ctx, ZMQ_DEALER);
    int linger = 0, buf = 4096;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (rcvhwm) {               /* a client that never reads: almost nothing buffered here */
        zmq_setsockopt(s, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
        zmq_setsockopt(s, ZMQ_RCVBUF, &buf, sizeof buf);
    }
    zmq_connect(s, b->endpoint);
    return s;
}

static void request(void *s, const char *service, const char *body)
{
    struct mdp_msg *m = mdp_client_cmd(NULL, 0, service);
    mdp_msg_addstr(m, body);
    mdp_msg_send(m, s, 0);
    mdp_msg_destroy(&m);
}

static struct mdp_msg *recv_within(void *s, int ms)
{
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) <= 0)
        return NULL;
    return mdp_msg_recv(s, 0, 4096);
}

/* Mean round trip of n mmi.service calls, in µs (-1: no answer). */
static double mmi_rtt_us(struct bench *b, int n)
{
    void *s = dealer(b, 0);
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        request(s, "mmi.service", "report.check");
        struct mdp_msg *r = recv_within(s, 5000);
        if (!r) {
            zmq_close(s);
            return -1;
        }
        mdp_msg_destroy(&r);
    }
    double us = (now_s() - t0) / n * 1e6;
    zmq_close(s);
    return us;
}

/* Write the config with the given limits, start `reportd broker`, wait until
 * it answers. */
static int start(struct bench *b, const char *limits)
{
    char *conf = xasprintf("%s/c.yaml", b->dir), *log = xasprintf("%s/broker.log", b->dir);
    int port = 20000 + getpid() % 10000;
    snprintf(b->endpoint, sizeof b->endpoint, "tcp://127.0.0.1:%d", port);
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f, "broker:\n  bind: %s\n  publish: tcp://127.0.0.1:%d\n"
               "  request_expiry_ms: 2000\n"
               "spool:\n  path: %s/spool.db\nlog:\n  level: error\nlimits:\n%s",
            b->endpoint, port + 1, b->dir, limits);
    fclose(f);
    b->pid = fork();
    if (b->pid == 0) {
        if (!freopen(log, "a", stderr))
            _exit(127);
        execl(b->reportd, b->reportd, "-c", conf, "broker", (char *)NULL);
        _exit(127);
    }
    free(conf);
    free(log);
    for (int i = 0; i < 100; i++) {
        if (mmi_rtt_us(b, 1) >= 0)
            return 0;
        usleep(50000);
    }
    return -1;
}

static void stop(struct bench *b)
{
    kill(b->pid, SIGTERM);
    waitpid(b->pid, NULL, 0);
}

static void fill_spool(struct bench *b)
{
    char err[256], *path = xasprintf("%s/spool.db", b->dir);
    struct spool *sp = spool_open(path, err, sizeof err);
    if (!sp) {
        fprintf(stderr, "bench_abuse: %s\n", err);
        exit(1);
    }
    uint8_t *body = xcalloc(1, RESULT_BYTES);
    for (int i = 0; i < RESULTS; i++)
        spool_log(sp, "result.43.4303.430381", body, RESULT_BYTES, err, sizeof err);
    spool_commit(sp, err, sizeof err);
    spool_close(&sp);
    free(body);
    free(path);
}

/* n replay requests from one client that never reads; the broker's RSS
 * before and after. */
static void replay_phase(struct bench *b, const char *label, const char *limits, int n)
{
    if (start(b, limits) != 0) {
        fprintf(stderr, "bench_abuse: the broker did not start\n");
        return;
    }
    double before = settled_rss(b->pid);
    void *s = dealer(b, 1);
    for (int i = 0; i < n; i++)
        request(s, "reportd.replay", "1");
    double after = settled_rss(b->pid);
    printf("  %-44s %3d unread requests: RSS %6.1f -> %6.1f MiB  (+%.1f)\n", label, n, before,
           after, after - before);
    zmq_close(s);
    stop(b);
}

static void names_phase(struct bench *b)
{
    if (start(b, "  max_services: 10000\n") != 0) {
        fprintf(stderr, "bench_abuse: the broker did not start\n");
        return;
    }
    mmi_rtt_us(b, 2000);        /* warm up */
    double rtt0 = mmi_rtt_us(b, 2000);
    double before = settled_rss(b->pid);
    void *s = dealer(b, 0);
    long refused = 0;
    char name[32];
    double t0 = now_s();
    for (int i = 0; i < NAMES; i++) {
        snprintf(name, sizeof name, "oneoff.%d", i);
        request(s, name, "x");
        for (struct mdp_msg *r; (r = mdp_msg_recv(s, ZMQ_DONTWAIT, 16));) {
            refused++;
            mdp_msg_destroy(&r);
        }
    }
    for (struct mdp_msg *r; (r = recv_within(s, 1000));) {
        refused++;
        mdp_msg_destroy(&r);
    }
    double secs = now_s() - t0;
    double after = settled_rss(b->pid);
    double rtt1 = mmi_rtt_us(b, 2000);
    printf("  %d one-off service names (limits.max_services 10000, requests expire after 2 s):\n"
           "    %ld refused (503),\n"
           "    sent and answered in %.1f s; RSS %.1f -> %.1f MiB (+%.1f);\n"
           "    mmi.service round trip %.0f µs before, %.0f µs after (ratio %.2f)\n",
           NAMES, refused, secs, before, after, after - before, rtt0, rtt1,
           rtt0 > 0 ? rtt1 / rtt0 : 0);
    zmq_close(s);
    stop(b);
}

int main(void)
{
    struct bench b = {0};
    const char *build = getenv("REPORTD_BUILD");
    char *reportd = xasprintf("%s/reportd", build && *build ? build : "build");
    b.reportd = reportd;
    snprintf(b.dir, sizeof b.dir, "/tmp/bench_abuse.XXXXXX");
    if (!mkdtemp(b.dir))
        return 1;
    b.ctx = zmq_ctx_new();
    fill_spool(&b);
    printf("reportd bench_abuse (the broker process's VmRSS)\n");
    printf("reportd.replay, %d published Results of %d bytes:\n", RESULTS, RESULT_BYTES);
    replay_phase(&b, "bound (replay_bytes 1 MiB, budget 8 MiB/10 s)", "  replay_bytes: 1048576\n"
                 "  replay_budget: 8388608\n  replay_window: 10\n", REPLAYS);
    replay_phase(&b, "bound lifted (1,000 messages an answer)", "  replay_bytes: 1073741824\n"
                 "  replay_budget: 1099511627776\n", REPLAYS / 10);
    printf("service names:\n");
    names_phase(&b);
    zmq_ctx_term(b.ctx);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", b.dir);
    if (system(cmd) != 0)
        return 1;
    free(reportd);
    return 0;
}
