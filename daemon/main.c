/* reportd: parse argv, load the config, block signals into a signalfd, run
 * one role — `broker`, `worker`, or (no role) the embedded default: a broker
 * and cfg.threads worker threads over inproc:// in one process. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "broker.h"
#include "check.h"
#include "config.h"
#include "util.h"
#include "worker.h"

#define EMBEDDED_ENDPOINT "inproc://reportd-workers"

static void log_line(const char *line)
{
    char ts[32];
    time_t t = time(NULL);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    fprintf(stderr, "%s reportd[%d]: %s\n", ts, (int)getpid(), line);
}

static void usage(FILE *f)
{
    fputs("usage: reportd [-c FILE] [broker | worker]\n"
          "       reportd --check-config FILE\n"
          "No role: broker and worker threads in one process (the embedded default).\n", f);
}

/* Wait for a signal. Returns its number (SIGTERM, SIGINT or SIGHUP). */
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
    struct checker_options opt = {
        .override_rules = (const char *const *)cfg->override_rules,
        .override_severities = cfg->override_severities,
        .noverrides = cfg->noverrides,
        .max_document = (size_t)cfg->max_message,
    };
    struct checker *c = checker_new(&opt, err, sizeof err);
    if (!c)
        log_line(err);
    return c;
}

/* HUP: load the file again into a new config; apply it only if it validated.
 * Worker threads keep their settings (rule overrides need a restart). */
static void reload(struct broker *b, struct config *cfg, const char *file)
{
    char err[512];
    struct config next;
    config_defaults(&next);
    if (!file) {
        log_line("SIGHUP: no config file to reload (started without -c)");
    } else if (config_load(&next, file, err, sizeof err) != 0) {
        log_line(err);
        log_line("SIGHUP: configuration not valid: keeping the running one");
    } else {
        int ignored = broker_reload(b, cfg, &next);
        log_line(ignored ? "SIGHUP: reloaded; endpoint, spool and limit changes need a restart"
                         : "SIGHUP: reloaded");
    }
    config_free(&next);
}

/* Broker (and, embedded, worker threads). */
static int run_broker(void *ctx, struct config *cfg, const char *file, int sigfd, int nthreads)
{
    char err[512];
    const char *binds[] = {EMBEDDED_ENDPOINT, NULL};
    struct broker *b = broker_new(ctx, cfg, nthreads ? binds : NULL, log_line, err, sizeof err);
    if (!b) {
        log_line(err);
        return 70;
    }
    struct checker *chk = NULL;
    struct worker_pool *pool = NULL;
    int stopfd = eventfd(0, EFD_CLOEXEC), rc = 0;
    if (nthreads && (!(chk = make_checker(cfg)) ||
                     !(pool = worker_start(ctx, cfg, EMBEDDED_ENDPOINT, nthreads, chk, stopfd,
                                           log_line, err, sizeof err)))) {
        rc = 70;
        goto done;
    }
    log_line(nthreads ? "started: broker and worker threads" : "started: broker");
    for (;;) {
        if (broker_run(b, sigfd, err, sizeof err) != 0) {
            log_line(err);
            rc = 70;
            break;
        }
        if (read_signal(sigfd) != SIGHUP) {
            /* TERM drains: what workers hold now comes back before we stop */
            if (broker_drain(b, cfg->heartbeat_ms * cfg->liveness, err, sizeof err) != 0)
                log_line(err);
            break;
        }
        reload(b, cfg, file);
    }
done:
    eventfd_write(stopfd, 1);
    worker_join(&pool);
    struct broker_stats st;
    broker_stats(b, &st);
    snprintf(err, sizeof err, "totals: %llu requests, %llu replies, %llu redelivered, %llu dead "
             "letters, %llu invalid dropped", (unsigned long long)st.requests,
             (unsigned long long)st.replies, (unsigned long long)st.redelivered,
             (unsigned long long)st.dead, (unsigned long long)st.dropped);
    log_line(err);
    broker_destroy(&b);
    checker_destroy(&chk);
    close(stopfd);
    log_line("stopped");
    return rc;
}

static int run_worker(void *ctx, const struct config *cfg, int sigfd)
{
    char err[512];
    struct checker *chk = make_checker(cfg);
    if (!chk)
        return 70;
    int stopfd = eventfd(0, EFD_CLOEXEC);
    struct worker_pool *pool = worker_start(ctx, cfg, cfg->worker_connect, cfg->threads, chk,
                                            stopfd, log_line, err, sizeof err);
    if (!pool) {
        log_line(err);
        checker_destroy(&chk);
        return 70;
    }
    log_line("started: worker");
    while (read_signal(sigfd) == SIGHUP)
        log_line("SIGHUP: a worker process reloads nothing; restart it to apply changes");
    eventfd_write(stopfd, 1);
    worker_join(&pool);
    checker_destroy(&chk);
    close(stopfd);
    log_line("stopped");
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"check-config", required_argument, NULL, 'C'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *file = NULL;
    int check_only = 0, o;
    while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (o == 'c' || o == 'C') {
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
        exit(78);
    }
    if (check_only) {
        puts("configuration OK");
        exit(0);
    }
    if (getenv("REPORTD_TEST_POISON") || getenv("REPORTD_TEST_DELAY_MS"))
        worker_fault_hook = worker_poison_hook;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sigfd = signalfd(-1, &set, SFD_CLOEXEC);
    void *ctx = zmq_ctx_new();
    int rc = strcmp(role, "worker") == 0 ? run_worker(ctx, &cfg, sigfd)
             : run_broker(ctx, &cfg, file, sigfd, strcmp(role, "broker") == 0 ? 0 : cfg.threads);
    zmq_ctx_term(ctx);
    config_free(&cfg);
    exit(rc);
}
