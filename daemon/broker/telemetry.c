/* telemetry: registers reportd's metrics once, at start, and maps the
 * broker's stats onto them each tick. Counters are copied, not incremented:
 * the broker's own totals stay the single source, and a scrape between two
 * ticks sees at most one tick's lag. The probe inputs (loop heartbeat, spool
 * writable, workers, backlog, draining) are atomics written by the loop. */
#include "broker/telemetry.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker/broker.h"
#include "base/metrics.h"
#include "base/util.h"
#include "base/version.h"
#include "check/check.h"
#include "check/jsonout.h"

#define ALIVE_MS 5000           /* /healthz fails after this long without a tick */

enum { C_RECEIVED, C_ACCEPTED, C_DUPLICATE, C_REJECTED, C_RESULTS, C_ALERTS, C_DEAD,
       C_REDELIVERED, C_REQUESTS, C_INVALID, G_QUEUE, G_INFLIGHT, G_WORKERS, G_SPOOL,
       G_SEQ, G_DRAINING, C_SPOOL_FAIL, G_DEAD_WAITING, G_OLDEST, C_ZAP, C_PROVINCE, G_KEPT, C_PRUNED,
       G_LEADER, G_STORE_UP, C_RECONNECTS, NIDS };

/* The label of reportd_spool_oldest_seconds, in enum spool_kind's order. */
static const char *const kinds[] = {"job", "published", "dead", "history"};

/* Province codes (the first two digits of a region code), the label of
 * reportd_alerts_by_province_total; "00": no or an unknown region. */
static const char *const provinces[] = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82", "00"};
_Static_assert(sizeof provinces / sizeof provinces[0] == BROKER_NPROVINCES, "one slot a province");

struct sample {
    int stage;
    double seconds;
};

struct telemetry {
    struct metrics *m;
    struct metrics_http *http;
    char *spool_path;
    int id[NIDS];
    int hist[TELEMETRY_NSTAGES];
    /* latency samples since the last update: applied with the counters, so a
     * scrape never sees a histogram ahead of the counters it explains */
    pthread_mutex_t pending_lock;
    struct sample *pending;
    size_t npending, cap;
    /* probe inputs, written by the loop, read by the HTTP thread */
    int64_t alive_ms;
    int spool_ok, spool_lost, draining, leader;
    uint64_t lead_epoch;        /* 0: one broker (SQLite): /readyz says nothing of it */
    int store_up;
    int64_t store_down_ms;      /* monotonic ms the store went down */
    char store_why[400];        /* under pending_lock */
    int64_t workers, backlog, backlog_limit;
};

static void register_all(struct telemetry *t)
{
    const char *statuses[4];
    for (int i = 0; i < 4; i++)
        statuses[i] = jsonout_status((Reportd__Status)i);
    static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                    0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    struct metrics *m = t->m;
    int *id = t->id;
    id[C_RECEIVED] = metrics_counter(m, "reportd_submissions_received_total",
        "Durable submissions (titanic.request) received.", NULL, NULL, 0);
    id[C_ACCEPTED] = metrics_counter(m, "reportd_submissions_accepted_total",
        "Submissions stored in the spool as a new job (answered 200).", NULL, NULL, 0);
    id[C_DUPLICATE] = metrics_counter(m, "reportd_submissions_duplicate_total",
        "Submissions whose submission id was already known (answered 200, no new job).",
        NULL, NULL, 0);
    id[C_REJECTED] = metrics_counter(m, "reportd_submissions_rejected_total",
        "Submissions refused: malformed, spool error, or sent while draining.", NULL, NULL, 0);
    id[C_RESULTS] = metrics_counter(m, "reportd_results_total", "Results recorded, by status.",
                                    "status", statuses, 4);
    id[C_ALERTS] = metrics_counter(m, "reportd_alerts_total", "Alerts raised.", NULL, NULL, 0);
    id[C_DEAD] = metrics_counter(m, "reportd_dead_letters_total",
        "Submissions given up after max_attempts.", NULL, NULL, 0);
    id[C_REDELIVERED] = metrics_counter(m, "reportd_redeliveries_total",
        "Jobs handed out again after their worker died.", NULL, NULL, 0);
    id[C_REQUESTS] = metrics_counter(m, "reportd_mdp_requests_total",
        "MDP client requests, internal services included.", NULL, NULL, 0);
    id[C_INVALID] = metrics_counter(m, "reportd_invalid_messages_total",
        "Invalid messages dropped.", NULL, NULL, 0);
    id[G_QUEUE] = metrics_gauge(m, "reportd_queue_depth", "Jobs waiting for a worker.");
    id[G_INFLIGHT] = metrics_gauge(m, "reportd_in_flight", "Jobs held by workers.");
    id[G_WORKERS] = metrics_gauge(m, "reportd_workers_alive", "Registered live workers.");
    id[G_SPOOL] = metrics_gauge(m, "reportd_spool_bytes", "Spool size: SQLite, the file with its "
        "WAL; PostgreSQL, reportd's tables with indexes and TOAST (pg_total_relation_size).");
    id[G_SEQ] = metrics_gauge(m, "reportd_last_published_sequence",
                              "Sequence number of the last committed publication.");
    id[G_DRAINING] = metrics_gauge(m, "reportd_draining", "1 while draining for shutdown.");
    id[G_LEADER] = metrics_gauge(m, "reportd_leader",
        "1 while this broker leads the spool (hands out pending jobs, publishes); 0 standby.");
    id[C_SPOOL_FAIL] = metrics_counter(m, "reportd_spool_write_failures_total",
        "Spool writes and group commits that failed (titanic.request answered 500).", NULL, NULL, 0);
    id[G_DEAD_WAITING] = metrics_gauge(m, "reportd_dead_letters_waiting",
        "Dead letters in the spool, not retried (reportctl deadletter list).");
    id[G_OLDEST] = metrics_gauge(m, "reportd_queue_oldest_seconds",
        "How long the oldest job waiting for a worker has waited; 0 when none waits.");
    static const char *const reasons[] = {"key", "handshake"};
    id[C_ZAP] = metrics_counter(m, "reportd_zap_refusals_total",
        "CURVE peers refused: key (not in security.allow_dir) or handshake (no CURVE, bad box).",
        "reason", reasons, 2);
    id[C_PROVINCE] = metrics_counter(m, "reportd_alerts_by_province_total",
        "Alerts raised, by the province code of the body's region (00: unknown).", "province",
        provinces, BROKER_NPROVINCES);
    id[G_KEPT] = metrics_gauges(m, "reportd_spool_oldest_seconds",
        "Age of the oldest item the spool keeps, by kind (job: done or closed, since its last "
        "change; published; dead; history); 0: none.", "kind", kinds, 4);
    id[C_PRUNED] = metrics_counter(m, "reportd_spool_pruned_total",
        "Rows retention removed from the spool (spool.retention).", NULL, NULL, 0);
    id[G_STORE_UP] = metrics_gauge(m, "reportd_store_up",
        "1 while the spool's database is reachable (SQLite: always); 0 while reconnecting.");
    id[C_RECONNECTS] = metrics_counter(m, "reportd_store_reconnects_total",
        "Times the connection to the spool's database was made again after it broke.",
        NULL, NULL, 0);
    telemetry_common(m);
    t->hist[TELEMETRY_QUEUE] = metrics_histogram(m, "reportd_queue_wait_seconds",
        "Time from queued to handed to a worker.", bounds, 16);
    t->hist[TELEMETRY_WORK] = metrics_histogram(m, "reportd_work_seconds",
        "Time from handed to a worker to its reply (the check).", bounds, 16);
    t->hist[TELEMETRY_COMMIT] = metrics_histogram(m, "reportd_spool_commit_seconds",
        "Duration of one spool group commit (fsync).", bounds, 16);
    t->hist[TELEMETRY_TOTAL] = metrics_histogram(m, "reportd_submission_seconds",
        "Time from a job first queued to its Result recorded.", bounds, 16);
}

void telemetry_common(struct metrics *m)
{
    static const char *const labels[] = {"version", "ruleset", "schema"};
    const char *values[] = {reportd_version(), checker_ruleset_version(), "1"};
    metrics_info(m, "reportd_build_info", "The build: its version, the ruleset version in every "
                 "Result, the wire schema version.", labels, values, 3);
    metrics_add_process(m);
}

int telemetry_province_index(const char *region_code)
{
    for (int i = 0; region_code && strlen(region_code) >= 2 && i < BROKER_NPROVINCES - 1; i++)
        if (!strncmp(region_code, provinces[i], 2))
            return i;
    return BROKER_NPROVINCES - 1;
}

struct telemetry *telemetry_new(const char *spool_path)
{
    struct telemetry *t = xcalloc(1, sizeof *t);
    pthread_mutex_init(&t->pending_lock, NULL);
    t->m = metrics_new();
    t->spool_path = xstrdup(spool_path ? spool_path : "");
    t->spool_ok = 1;
    t->store_up = 1;
    t->alive_ms = util_now_ms();
    register_all(t);
    return t;
}

void telemetry_destroy(struct telemetry **tp)
{
    struct telemetry *t = tp ? *tp : NULL;
    if (!t)
        return;
    metrics_http_stop(&t->http);
    metrics_destroy(&t->m);
    pthread_mutex_destroy(&t->pending_lock);
    free(t->pending);
    free(t->spool_path);
    free(t);
    *tp = NULL;
}

int telemetry_serve(struct telemetry *t, const char *addr, int port, char *err, size_t errlen)
{
    struct metrics_probes p = {telemetry_alive, telemetry_ready, t};
    t->http = metrics_http_start(t->m, addr, port, &p, err, errlen);
    return t->http ? 0 : -1;
}

int telemetry_port(const struct telemetry *t)
{
    return t->http ? metrics_http_port(t->http) : 0;
}

static int64_t file_bytes(const char *path)
{
    struct stat st;
    return path && *path && stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

static int spool_writable(const struct telemetry *t)
{
    if (!*t->spool_path)
        return 1;
    return access(t->spool_path, W_OK) == 0;
}

void telemetry_update(struct telemetry *t, const struct broker_stats *st, long ready_backlog)
{
    struct metrics *m = t->m;
    const int *id = t->id;
    metrics_lock(m);
    pthread_mutex_lock(&t->pending_lock);
    for (size_t i = 0; i < t->npending; i++)
        metrics_observe(m, t->hist[t->pending[i].stage], t->pending[i].seconds);
    t->npending = 0;
    pthread_mutex_unlock(&t->pending_lock);
    metrics_set(m, id[C_SPOOL_FAIL], (int64_t)st->spool_failures);
    metrics_set(m, id[G_DEAD_WAITING], (int64_t)st->dead_waiting);
    metrics_set(m, id[G_OLDEST], st->oldest_queued_us / 1000000);
    metrics_set(m, id[C_ZAP], (int64_t)st->zap_denied);
    metrics_set(m, id[C_ZAP] + 1, (int64_t)st->zap_failed);
    for (int i = 0; i < BROKER_NPROVINCES; i++)
        metrics_set(m, id[C_PROVINCE] + i, (int64_t)st->alerts_by_province[i]);
    metrics_set(m, id[C_RECEIVED], (int64_t)st->received);
    metrics_set(m, id[C_ACCEPTED], (int64_t)st->accepted);
    metrics_set(m, id[C_DUPLICATE], (int64_t)st->duplicate);
    metrics_set(m, id[C_REJECTED], (int64_t)st->rejected);
    for (int i = 0; i < 4; i++)
        metrics_set(m, id[C_RESULTS] + i, (int64_t)st->results[i]);
    metrics_set(m, id[C_ALERTS], (int64_t)st->alerts);
    metrics_set(m, id[C_DEAD], (int64_t)st->dead);
    metrics_set(m, id[C_REDELIVERED], (int64_t)st->redelivered);
    metrics_set(m, id[C_REQUESTS], (int64_t)st->requests);
    metrics_set(m, id[C_INVALID], (int64_t)st->dropped);
    metrics_set(m, id[G_QUEUE], (int64_t)st->queued);
    metrics_set(m, id[G_INFLIGHT], (int64_t)st->in_flight);
    metrics_set(m, id[G_WORKERS], (int64_t)st->workers);
    if (st->store_sized) {
        metrics_set(m, id[G_SPOOL], st->store_bytes);
    } else if (*t->spool_path) {
        char *wal = xasprintf("%s-wal", t->spool_path);
        metrics_set(m, id[G_SPOOL], file_bytes(t->spool_path) + file_bytes(wal));
        free(wal);
    }
    metrics_set(m, id[G_STORE_UP], !st->store_down);
    metrics_set(m, id[C_RECONNECTS], (int64_t)st->store_reconnects);
    metrics_set(m, id[G_SEQ], (int64_t)st->last_seq);
    metrics_set(m, id[G_DRAINING], st->draining);
    int64_t now = (int64_t)time(NULL);
    for (int k = 0; k < 4; k++)
        metrics_set(m, id[G_KEPT] + k,
                    st->oldest_at[k] && now > st->oldest_at[k] ? now - st->oldest_at[k] : 0);
    metrics_set(m, id[C_PRUNED], (int64_t)st->pruned);
    metrics_set(m, id[G_LEADER], st->leader);
    metrics_unlock(m);
    __atomic_store_n(&t->spool_ok, st->spool_ok && spool_writable(t), __ATOMIC_RELAXED);
    __atomic_store_n(&t->spool_lost, st->spool_lost, __ATOMIC_RELAXED);
    pthread_mutex_lock(&t->pending_lock);
    snprintf(t->store_why, sizeof t->store_why, "%s", st->store_why);
    pthread_mutex_unlock(&t->pending_lock);
    __atomic_store_n(&t->store_down_ms, st->store_down_ms, __ATOMIC_RELAXED);
    __atomic_store_n(&t->store_up, !st->store_down, __ATOMIC_RELAXED);
    __atomic_store_n(&t->draining, st->draining, __ATOMIC_RELAXED);
    __atomic_store_n(&t->leader, st->leader, __ATOMIC_RELAXED);
    __atomic_store_n(&t->lead_epoch, st->lead_epoch, __ATOMIC_RELAXED);
    __atomic_store_n(&t->workers, (int64_t)st->workers, __ATOMIC_RELAXED);
    __atomic_store_n(&t->backlog, (int64_t)st->queued, __ATOMIC_RELAXED);
    __atomic_store_n(&t->backlog_limit, (int64_t)ready_backlog, __ATOMIC_RELAXED);
    __atomic_store_n(&t->alive_ms, util_now_ms(), __ATOMIC_RELAXED);
}

void telemetry_observe(struct telemetry *t, enum telemetry_stage stage, double seconds)
{
    if (!t || stage >= TELEMETRY_NSTAGES)
        return;
    pthread_mutex_lock(&t->pending_lock);
    if (t->npending == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 256;
        t->pending = xrealloc(t->pending, t->cap * sizeof *t->pending);
    }
    t->pending[t->npending++] = (struct sample){(int)stage, seconds < 0 ? 0 : seconds};
    pthread_mutex_unlock(&t->pending_lock);
}

int telemetry_alive(void *arg, char *why, size_t whylen)
{
    struct telemetry *t = arg;
    int64_t idle = util_now_ms() - __atomic_load_n(&t->alive_ms, __ATOMIC_RELAXED);
    if (idle <= ALIVE_MS)
        return 1;
    snprintf(why, whylen, "the main loop has not run for %lld ms", (long long)idle);
    return 0;
}

/* Ready; with several brokers on one database, which one this is: a standby
 * is ready too (it accepts submissions and serves reads). Returns 1. */
static int lead_why(const struct telemetry *t, char *why, size_t whylen)
{
    uint64_t epoch = __atomic_load_n(&t->lead_epoch, __ATOMIC_RELAXED);
    if (!epoch)
        return 1;
    if (__atomic_load_n(&t->leader, __ATOMIC_RELAXED))
        snprintf(why, whylen, "leader (epoch %llu)", (unsigned long long)epoch);
    else
        snprintf(why, whylen, "standby (epoch %llu leads elsewhere): accepts submissions and "
                 "serves reads", (unsigned long long)epoch);
    return 1;
}

static void store_down_why(struct telemetry *t, char *why, size_t whylen)
{
    int64_t since = __atomic_load_n(&t->store_down_ms, __ATOMIC_RELAXED);
    pthread_mutex_lock(&t->pending_lock);
    snprintf(why, whylen, "the spool's database is unreachable (for %lld s, reconnecting): %s",
             (long long)((util_now_ms() - since) / 1000), t->store_why);
    pthread_mutex_unlock(&t->pending_lock);
}

int telemetry_ready(void *arg, char *why, size_t whylen)
{
    struct telemetry *t = arg;
    int64_t workers = __atomic_load_n(&t->workers, __ATOMIC_RELAXED);
    int64_t backlog = __atomic_load_n(&t->backlog, __ATOMIC_RELAXED);
    int64_t limit = __atomic_load_n(&t->backlog_limit, __ATOMIC_RELAXED);
    if (!telemetry_alive(arg, why, whylen))
        return 0;
    if (__atomic_load_n(&t->draining, __ATOMIC_RELAXED))
        snprintf(why, whylen, "draining for shutdown");
    else if (!__atomic_load_n(&t->store_up, __ATOMIC_RELAXED))
        store_down_why(t, why, whylen);
    else if (__atomic_load_n(&t->spool_lost, __ATOMIC_RELAXED))
        snprintf(why, whylen, "spool %s was deleted under the running broker: nothing is "
                 "acknowledged; restart it", t->spool_path);
    else if (!__atomic_load_n(&t->spool_ok, __ATOMIC_RELAXED))
        snprintf(why, whylen, "spool %s is not writable", t->spool_path);
    else if (workers == 0)
        snprintf(why, whylen, "no workers registered");
    else if (backlog > limit)
        snprintf(why, whylen, "backlog %lld is above limits.ready_backlog %lld",
                 (long long)backlog, (long long)limit);
    else
        return lead_why(t, why, whylen);
    return 0;
}

char *telemetry_render(const struct telemetry *t, size_t *len)
{
    return metrics_render(t->m, len);
}
