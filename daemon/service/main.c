/* reportd: parse argv, load the config, block signals into a signalfd, run
 * one role — `broker`, `worker`, or (no role) the embedded default: a broker
 * and cfg.threads worker threads over inproc:// in one process. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "broker/broker.h"
#include "broker/spool.h"
#include "check/check.h"
#include "conf/config.h"
#include "read/pdfread.h"
#include "service/lifecycle.h"
#include "base/log.h"
#include "base/metrics.h"
#include "broker/telemetry.h"
#include "base/util.h"
#include "base/version.h"
#include "worker/worker.h"

#define EMBEDDED_ENDPOINT "inproc://reportd-workers"

static void configure_log(const struct config *cfg)
{
    log_configure(log_format_parse(cfg->log_format) == 1, log_level_parse(cfg->log_level));
}

static void usage(FILE *f)
{
    fputs("usage: reportd [-c FILE] [broker | worker]\n"
          "       reportd --check-config FILE\n"
          "       reportd --version | --help\n"
          "No role: broker and worker threads in one process (the embedded default).\n", f);
}

/* Read the pending signal. Returns its number (SIGTERM, SIGINT or SIGHUP). */
static int read_signal(int sigfd)
{
    struct signalfd_siginfo si;
    while (read(sigfd, &si, sizeof si) != (ssize_t)sizeof si)
        if (errno != EINTR && errno != EAGAIN)
            return SIGTERM;
    return (int)si.ssi_signo;
}

static struct checker *make_checker(const struct config *cfg)
{
    char err[512];
    struct pdfread_limits pdf;
    pdfread_limits_default(&pdf);
    pdf.cpu_seconds = (unsigned)cfg->pdf_cpu_seconds;
    pdf.timeout_ms = (unsigned)cfg->pdf_timeout_ms;
    pdf.max_memory = (size_t)cfg->pdf_max_memory;
    pdf.max_output = (size_t)cfg->pdf_max_output;
    pdfread_set_limits(&pdf);   /* before any worker thread runs */
    struct checker_options opt = {
        .override_rules = (const char *const *)cfg->override_rules,
        .override_severities = cfg->override_severities,
        .noverrides = cfg->noverrides,
        .max_document = (size_t)cfg->max_message,
    };
    struct checker *c = checker_new(&opt, err, sizeof err);
    if (!c)
        log_msg(LOG_PRI_ERR, "%s: the data directory is %s; install the data (make install) or "
                "set REPORTD_DATADIR to a directory holding layouts/ and regions.tsv", err,
                util_datadir());
    return c;
}

/* HUP: load the file again into a new config; on any error keep the running
 * one and say why; else apply the live keys and name those needing a restart.
 * A worker process (b NULL) applies only log.* and limits.shutdown_timeout:
 * its threads read the rest once, at start. */
static void reload(struct lifecycle *lc, struct broker *b, struct config *cfg, const char *file)
{
    char err[512], live[512], restart[512];
    struct config next;
    if (!file) {
        log_msg(LOG_PRI_WARNING, "SIGHUP: no config file to reload (started without -c)");
        return;
    }
    lifecycle_reloading(lc, 0);
    config_defaults(&next);
    if (config_load(&next, file, err, sizeof err) != 0) {
        log_msg(LOG_PRI_ERR, "SIGHUP: %s: keeping the running configuration", err);
    } else {
        size_t nlive = config_diff(cfg, &next, 1, live, sizeof live);
        size_t nrestart = config_diff(cfg, &next, 0, restart, sizeof restart);
        config_apply_live(cfg, &next);
        if (b)
            broker_reload(b, cfg, &next);
        configure_log(cfg);
        log_msg(LOG_PRI_NOTICE, "SIGHUP: reloaded %s; applied: %s; need a restart (not "
                "applied): %s%s", file, nlive ? live : "nothing changed",
                nrestart ? restart : "none",
                b ? "" : " (a worker process applies only log.* and limits.shutdown_timeout)");
    }
    config_free(&next);
    lifecycle_reloading(lc, 1);
}

/* /metrics, /healthz, /readyz when metrics.bind is set: the broker's
 * (through its telemetry, with the probes) or, tm NULL, a worker pool's
 * registry in *h. 0 or -1 (logged). */
static int start_http(struct telemetry *tm, struct metrics *m, struct metrics_http **h,
                      const struct config *cfg)
{
    char addr[CONFIG_ADDR_MAX], err[256] = "metrics: bad metrics.bind";
    int port;
    if (!*cfg->metrics_bind)
        return 0;
    if (config_metrics_addr(cfg, addr, &port) != 0 ||
        (tm ? telemetry_serve(tm, addr, port, err, sizeof err) != 0
            : !(*h = metrics_http_start(m, addr, port, NULL, err, sizeof err)))) {
        log_msg(LOG_PRI_ERR, "cannot start: %s; check metrics.bind", err);
        return -1;
    }
    int v6 = strchr(addr, ':') != NULL;
    log_msg(LOG_PRI_INFO, "metrics: http://%s%s%s:%d/metrics, /healthz, /readyz", v6 ? "[" : "",
            addr, v6 ? "]" : "", tm ? telemetry_port(tm) : metrics_http_port(*h));
    return 0;
}

/* The broker's loop until TERM/INT: HUP reloads; TERM drains. Returns the
 * exit status. */
static int serve_signals(struct broker *b, struct lifecycle *lc, struct config *cfg,
                         const char *file, int sigfd)
{
    char err[512];
    for (;;) {
        if (broker_run(b, sigfd, err, sizeof err) != 0) {
            log_msg(LOG_PRI_ERR, "%s", err);
            return 70;
        }
        int sig = read_signal(sigfd);
        if (sig == SIGHUP) {
            reload(lc, b, cfg, file);
            continue;
        }
        log_msg(LOG_PRI_NOTICE, "%s: draining: no new work, waiting up to %d s for the jobs "
                "in flight", sig == SIGINT ? "SIGINT" : "SIGTERM", cfg->shutdown_timeout);
        lifecycle_stopping(lc, cfg->shutdown_timeout * 1000);
        if (broker_drain(b, cfg->shutdown_timeout * 1000, err, sizeof err) != 0) {
            log_msg(LOG_PRI_ERR, "drain: %s", err);
            return 70;
        }
        return 0;
    }
}

/* Totals, once a broker has served. */
static void log_totals(struct broker *b)
{
    struct broker_stats st;
    broker_stats(b, &st);
    log_msg(LOG_PRI_INFO, "totals: %llu submissions (%llu accepted, %llu duplicate, %llu "
            "rejected), %llu replies, %llu redelivered, %llu dead letters, %llu invalid dropped",
            (unsigned long long)st.received, (unsigned long long)st.accepted,
            (unsigned long long)st.duplicate, (unsigned long long)st.rejected,
            (unsigned long long)st.replies, (unsigned long long)st.redelivered,
            (unsigned long long)st.dead, (unsigned long long)st.dropped);
}

/* Broker (and, embedded, nthreads worker threads running chk). A start-up
 * failure is one line and exit 69 (a socket, the spool, the HTTP endpoint). */
static int run_broker(void *ctx, struct config *cfg, const char *file, int sigfd, int nthreads,
                      struct checker *chk)
{
    char err[512];
    const char *binds[] = {EMBEDDED_ENDPOINT, NULL};
    struct broker *b = broker_new(ctx, cfg, nthreads ? binds : NULL, err, sizeof err);
    if (!b) {
        log_msg(LOG_PRI_ERR, "cannot start: %s; check broker.bind, broker.publish and "
                "spool.path or spool.dsn (is another reportd running?)", err);
        return EX_UNAVAILABLE;
    }
    /* the spool's file for its size and writability (no file with PostgreSQL) */
    char *spool = strcmp(cfg->spool_backend, "sqlite") == 0 ? config_spool_file(cfg) : NULL;
    struct telemetry *tm = telemetry_new(spool);
    free(spool);
    struct lifecycle *lc = lifecycle_new(b, tm, cfg);
    struct worker_pool *pool = NULL;
    int stopfd = eventfd(0, EFD_CLOEXEC), rc = EX_UNAVAILABLE, started = 0;
    if (start_http(tm, NULL, NULL, cfg) != 0)
        goto done;
    if (nthreads && !(pool = worker_start(ctx, cfg, EMBEDDED_ENDPOINT, nthreads, chk, stopfd,
                                          err, sizeof err))) {
        log_msg(LOG_PRI_ERR, "cannot start the worker threads: %s", err);
        rc = EX_SOFTWARE;
        goto done;
    }
    broker_set_telemetry(b, tm);
    broker_set_tick(b, lifecycle_tick_ms(lc), lifecycle_tick, lc);
    log_msg(LOG_PRI_INFO, nthreads ? "started: broker and worker threads" : "started: broker");
    lifecycle_ready(lc);
    started = 1;
    rc = serve_signals(b, lc, cfg, file, sigfd);
done:
    eventfd_write(stopfd, 1);
    worker_join(&pool);
    if (started)
        log_totals(b);
    broker_destroy(&b);
    telemetry_destroy(&tm);
    lifecycle_destroy(&lc);
    close(stopfd);
    if (started)
        log_msg(LOG_PRI_INFO, "stopped");
    return rc;
}

static int run_worker(void *ctx, struct config *cfg, const char *file, int sigfd,
                      struct checker *chk)
{
    char err[512];
    int stopfd = eventfd(0, EFD_CLOEXEC);
    struct worker_pool *pool = worker_start(ctx, cfg, cfg->worker_connect, cfg->threads, chk,
                                            stopfd, err, sizeof err);
    struct metrics_http *http = NULL;
    if (!pool || start_http(NULL, worker_metrics(pool), &http, cfg) != 0) {
        if (!pool)
            log_msg(LOG_PRI_ERR, "cannot start: %s; check worker.connect", err);
        eventfd_write(stopfd, 1);
        worker_join(&pool);
        close(stopfd);
        return EX_UNAVAILABLE;
    }
    struct lifecycle *lc = lifecycle_new(NULL, NULL, cfg);
    lifecycle_set_pool(lc, pool);
    log_msg(LOG_PRI_INFO, "started: worker");
    lifecycle_ready(lc);
    for (;;) {
        struct pollfd pfd = {sigfd, POLLIN, 0};
        int n = poll(&pfd, 1, lifecycle_tick_ms(lc));
        lifecycle_tick(lc);
        if (n <= 0)
            continue;
        int sig = read_signal(sigfd);
        if (sig != SIGHUP)
            break;
        reload(lc, NULL, cfg, file);
    }
    /* each thread finishes the request in its hands, replies, then DISCONNECTs */
    log_msg(LOG_PRI_NOTICE, "stopping: finishing the requests in hand");
    lifecycle_stopping(lc, cfg->shutdown_timeout * 1000);
    eventfd_write(stopfd, 1);
    metrics_http_stop(&http);
    worker_join(&pool);
    lifecycle_destroy(&lc);
    close(stopfd);
    log_msg(LOG_PRI_INFO, "stopped");
    return 0;
}

/* spool_check of the configured spool: 0, or its exit code with err (a
 * SQLite file is checked when it is opened, as before). An unreachable
 * server at start is left to broker_new. */
static int check_spool(const struct config *cfg, char *err, size_t errlen)
{
    if (strcmp(cfg->spool_backend, "postgresql") != 0)
        return 0;
    char *where = config_spool_where(cfg, err, errlen);
    if (!where)
        return EX_CONFIG;
    int rc = spool_check(cfg->spool_backend, where, err, errlen);
    free(where);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"check-config", required_argument, NULL, 'C'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};
    const char *file = NULL;
    int check_only = 0, o;
    while ((o = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
        if (o == 'V') {
            printf("reportd %s\n", reportd_version());
            exit(0);
        } else if (o == 'c' || o == 'C') {
            file = optarg;
            check_only |= o == 'C';
        } else {
            usage(o == 'h' ? stdout : stderr);
            exit(o == 'h' ? 0 : 64);
        }
    }
    const char *role = optind < argc ? argv[optind] : "";
    if (optind + 1 < argc || (*role && strcmp(role, "broker") && strcmp(role, "worker"))) {
        usage(stderr);
        exit(64);
    }
    struct config cfg;
    char err[512];
    config_defaults(&cfg);
    if (file && config_load(&cfg, file, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(EX_CONFIG);
    }
    /* a broker's PostgreSQL spool: reachable, ours, writable (nothing changed) */
    int spool_rc = strcmp(role, "worker") != 0 ? check_spool(&cfg, err, sizeof err) : 0;
    if (spool_rc && (check_only || spool_rc != EX_UNAVAILABLE)) {
        fprintf(stderr, "%s%s\n", check_only ? "" : "cannot start: ", err);
        config_free(&cfg);
        exit(spool_rc);
    }
    if (check_only) {
        puts("configuration OK");
        exit(0);
    }
    configure_log(&cfg);
    /* the layouts and regions before anything is created (the spool) or bound */
    struct checker *chk = NULL;
    if (strcmp(role, "broker") != 0 && !(chk = make_checker(&cfg))) {
        config_free(&cfg);
        exit(EX_CONFIG);
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sigfd = signalfd(-1, &set, SFD_CLOEXEC);
    void *ctx = zmq_ctx_new();
    int rc = strcmp(role, "worker") == 0 ? run_worker(ctx, &cfg, file, sigfd, chk)
             : run_broker(ctx, &cfg, file, sigfd, chk ? cfg.threads : 0, chk);
    zmq_ctx_term(ctx);
    checker_destroy(&chk);
    config_free(&cfg);
    exit(rc);
}
