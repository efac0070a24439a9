/* dispatch_driver: the broker's state machine driven through its seam
 * (broker_feed, broker_advance, broker_set_send: no peer sockets) by a
 * sequence of client and worker messages read from bytes, with the
 * invariants checked after every step:
 *   - broker_check: a job is in one place (one queue, or one worker's hands,
 *     never two workers'), every pending Titanic job of the spool is in
 *     memory exactly once, the service table is consistent and bounded;
 *   - every job acknowledged ("200" UUID to titanic.request) is pending, done,
 *     dead, or closed by its client: titanic.reply never answers "400" for it,
 *     and a done one holds its own Result (not another submission's);
 *   - memory is bounded: jobs in memory ≤ requests fed, services ≤
 *     limits.max_services (+ queues Titanic jobs forced).
 * Used by the libFuzzer target fuzz_dispatch and by test_dispatch (scripted
 * sequences in make check). Header-only; include after the system headers. */
#ifndef REPORTD_DISPATCH_DRIVER_H
#define REPORTD_DISPATCH_DRIVER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "base/log.h"
#include "base/util.h"
#include "broker/broker.h"
#include "conf/config.h"
#include "report.pb-c.h"
#include "wire/mdp.h"
#include "wire/titanic_id.h"

#define DD_WORKERS 4
#define DD_JOBS 4               /* submission ids */
#define DD_MAX_STEPS 256

enum dd_op {
    DD_READY, DD_READY_OTHER, DD_HEARTBEAT, DD_DISCONNECT, DD_REPLY, DD_REPLY_STALE,
    DD_REQUEST, DD_POLL, DD_CLOSE, DD_PLAIN, DD_ADVANCE, DD_GARBAGE, DD_UNREACHABLE, DD_NOPS
};

struct dd {
    struct broker *b;
    int64_t now;                /* ms: the clock broker_advance is given */
    char held[DD_WORKERS][33];  /* the address of the last REQUEST each worker got */
    int unreachable[DD_WORKERS];
    int acked[DD_JOBS];         /* "200" UUID seen for the job */
    int closed[DD_JOBS];        /* "200" to its titanic.close seen */
    char last_status[64];       /* the status of the last answer to the client */
    uint8_t last_body[512];     /* … and its first frame after the status */
    size_t last_len;
    long fed;                   /* requests fed (plain and Titanic) */
};

static const char *const dd_sids[DD_JOBS] = {
    "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
    "33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444"};

static inline int dd_send(void *arg, const struct mdp_msg *m)
{
    struct dd *d = arg;
    if (m->n >= 5 && mdp_msg_size(m, 0) == 2 && ((const char *)mdp_msg_data(m, 0))[0] == 'w') {
        int k = ((const char *)mdp_msg_data(m, 0))[1] - '0';
        if (k < 0 || k >= DD_WORKERS)
            return -1;
        if (d->unreachable[k])
            return -1;
        if (mdp_msg_is(m, 3, "\x02") && m->n >= 5) {
            size_t n = mdp_msg_size(m, 4);
            snprintf(d->held[k], sizeof d->held[k], "%.*s", (int)(n < 32 ? n : 32),
                     (const char *)mdp_msg_data(m, 4));
        }
        return 0;
    }
    /* an answer to the client: [id, "", MDPC01, service, status, …] */
    if (m->n >= 5) {
        size_t n = mdp_msg_size(m, 4);
        snprintf(d->last_status, sizeof d->last_status, "%.*s", (int)(n < 63 ? n : 63),
                 (const char *)mdp_msg_data(m, 4));
        d->last_len = m->n > 5 && mdp_msg_size(m, 5) <= sizeof d->last_body ? mdp_msg_size(m, 5) : 0;
        if (d->last_len)
            memcpy(d->last_body, mdp_msg_data(m, 5), d->last_len);
        if (m->n == 6 && mdp_msg_is(m, 3, "titanic.request") && mdp_msg_is(m, 4, "200"))
            for (int j = 0; j < DD_JOBS; j++) {
                char uuid[33];
                titanic_id_for(dd_sids[j], uuid);
                if (mdp_msg_is(m, 5, uuid))
                    d->acked[j] = 1, d->closed[j] = 0;  /* a request after close reopens */
            }
    }
    return 0;
}

static inline struct mdp_msg *dd_head(const char *id, const char *proto)
{
    struct mdp_msg *m = mdp_msg_new();
    mdp_msg_addstr(m, id);
    mdp_msg_add(m, "", 0);
    mdp_msg_addstr(m, proto);
    return m;
}

static inline void dd_worker_cmd(struct dd *d, int k, int cmd, const char *service)
{
    char id[3] = {'w', (char)('0' + k), 0};
    struct mdp_msg *m = dd_head(id, "MDPW01");
    char c = (char)cmd;
    mdp_msg_add(m, &c, 1);
    if (service)
        mdp_msg_addstr(m, service);
    broker_feed(d->b, m);
    mdp_msg_destroy(&m);
}

static inline void dd_reply(struct dd *d, int k, const char *addr, int good)
{
    char id[3] = {'w', (char)('0' + k), 0};
    struct mdp_msg *m = dd_head(id, "MDPW01");
    mdp_msg_add(m, "\x03", 1);
    mdp_msg_addstr(m, addr);
    mdp_msg_add(m, "", 0);
    const char *sid = "unknown";
    for (int j = 0; j < DD_JOBS; j++) {
        char uuid[33];
        titanic_id_for(dd_sids[j], uuid);
        if (strcmp(uuid, addr) == 0)
            sid = dd_sids[j];
    }
    Reportd__Result r = REPORTD__RESULT__INIT;
    Reportd__Body body = REPORTD__BODY__INIT;
    r.schema_version = 1;
    r.submission_id = (char *)sid;
    r.status = REPORTD__STATUS__STATUS_FAIL;
    body.region_code = (char *)"430381";
    r.body = &body;
    uint8_t buf[256];
    size_t len = reportd__result__pack(&r, buf);
    mdp_msg_add(m, buf, good ? len : len / 2);
    broker_feed(d->b, m);
    mdp_msg_destroy(&m);
}

static inline void dd_client(struct dd *d, const char *service, const void *b1, size_t l1,
                             const void *b2, size_t l2)
{
    struct mdp_msg *m = dd_head("client", "MDPC01");
    mdp_msg_addstr(m, service);
    if (b1)
        mdp_msg_add(m, b1, l1);
    if (b2)
        mdp_msg_add(m, b2, l2);
    d->last_status[0] = '\0';
    broker_feed(d->b, m);
    mdp_msg_destroy(&m);
}

static inline void dd_request(struct dd *d, int j)
{
    Reportd__Submission s = REPORTD__SUBMISSION__INIT;
    Reportd__Body body = REPORTD__BODY__INIT;
    s.schema_version = 1;
    s.submission_id = (char *)dd_sids[j];
    body.region_code = (char *)"430381";
    s.body = &body;
    uint8_t buf[256];
    size_t len = reportd__submission__pack(&s, buf);
    d->fed++;
    dd_client(d, "titanic.request", "report.check", 12, buf, len);
}

/* Every acknowledged job is pending, done or dead — or closed by its client.
 * Returns 0, or -1 with the reason in err. */
static inline int dd_acked_answerable(struct dd *d, char *err, size_t errlen)
{
    for (int j = 0; j < DD_JOBS; j++) {
        if (!d->acked[j] || d->closed[j])
            continue;
        char uuid[33];
        titanic_id_for(dd_sids[j], uuid);
        dd_client(d, "titanic.reply", uuid, 32, NULL, 0);
        if (strncmp(d->last_status, "400", 3) == 0 || d->last_status[0] == '\0')
            return errf(err, errlen, "acknowledged job %s answers \"%s\"", uuid, d->last_status);
        Reportd__Result *r = strcmp(d->last_status, "200") == 0 && d->last_len
                                 ? reportd__result__unpack(NULL, d->last_len, d->last_body) : NULL;
        int other = r && strcmp(r->submission_id, dd_sids[j]) != 0;
        if (r)
            reportd__result__free_unpacked(r, NULL);
        if (other)      /* a reply was taken for a job it does not answer */
            return errf(err, errlen, "job %s holds the Result of another submission", uuid);
    }
    return 0;
}

/* One step; then the invariants. 0, or -1 with what broke in err. */
static inline int dd_step(struct dd *d, int op, int arg, const uint8_t *rest, size_t nrest,
                          char *err, size_t errlen)
{
    int k = arg % DD_WORKERS, j = (arg / DD_WORKERS) % DD_JOBS;
    char uuid[33];
    titanic_id_for(dd_sids[j], uuid);
    switch (op % DD_NOPS) {
    case DD_READY: dd_worker_cmd(d, k, 1, "report.check"); break;
    case DD_READY_OTHER: dd_worker_cmd(d, k, 1, arg & 64 ? "other" : "titanic.request"); break;
    case DD_HEARTBEAT: dd_worker_cmd(d, k, 4, NULL); break;
    case DD_DISCONNECT: dd_worker_cmd(d, k, 5, NULL); break;
    case DD_REPLY: dd_reply(d, k, d->held[k][0] ? d->held[k] : uuid, !(arg & 128)); break;
    case DD_REPLY_STALE: dd_reply(d, k, uuid, 1); break;
    case DD_REQUEST: dd_request(d, j); break;
    case DD_POLL: dd_client(d, "titanic.reply", uuid, 32, NULL, 0); break;
    case DD_CLOSE:
        dd_client(d, "titanic.close", uuid, 32, NULL, 0);
        if (strcmp(d->last_status, "200") == 0)
            d->closed[j] = 1;
        else if (strncmp(d->last_status, "300", 3) != 0)
            return errf(err, errlen, "titanic.close answered \"%s\"", d->last_status);
        break;
    case DD_PLAIN: {
        char name[16];
        snprintf(name, sizeof name, arg & 1 ? "report.check" : "svc.%d", arg % 7);
        d->fed++;
        dd_client(d, name, "x", 1, NULL, 0);
        break;
    }
    case DD_ADVANCE: d->now += (int64_t)(arg % 8) * 1000; broker_advance(d->b, d->now); break;
    case DD_GARBAGE: {
        struct mdp_msg *m = mdp_msg_new();
        mdp_msg_addstr(m, arg & 1 ? "w0" : "client");
        for (size_t i = 0; i < nrest && i < 6; i++) {
            size_t len = rest[i] % 4 < nrest - i ? rest[i] % 4 : nrest - i;
            mdp_msg_add(m, rest + i, len);
        }
        broker_feed(d->b, m);
        mdp_msg_destroy(&m);
        break;
    }
    case DD_UNREACHABLE: d->unreachable[k] = !d->unreachable[k]; break;
    default: break;
    }
    if (broker_check(d->b, err, errlen) != 0)
        return -1;
    struct broker_stats st;
    broker_stats(d->b, &st);
    if ((long)(st.queued + st.in_flight) > d->fed)
        return errf(err, errlen, "%zu jobs in memory after %ld requests", st.queued + st.in_flight,
                    d->fed);
    return dd_acked_answerable(d, err, errlen);
}

/* Run the sequence in data (pairs: op, argument; a garbage step also reads
 * the bytes after it). Returns 0, or -1 after printing what broke. */
static void *dd_ctx;             /* one ZeroMQ context for every run */
static char dd_dir[64];         /* the spools, on tmpfs when there is one (fsync is cheap) */

/* End the context and remove the spools' directory (after the last run; the
 * fuzzer calls it at exit). */
static inline void dispatch_end(void)
{
    if (dd_ctx)
        zmq_ctx_term(dd_ctx);
    dd_ctx = NULL;
    if (dd_dir[0])
        rmdir(dd_dir);
    dd_dir[0] = '\0';
}

/* Remove the spool at path and its WAL files. */
static inline void dd_unlink(const char *path)
{
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char *p = xasprintf("%s%s", path, suffix[i]);
        unlink(p);
        free(p);
    }
}

static inline int dispatch_run(const uint8_t *data, size_t size)
{
    static int n;
    char err[256] = "";
    struct config cfg;
    config_defaults(&cfg);
    free(cfg.broker_bind);
    free(cfg.publish_bind);
    free(cfg.spool_path);
    cfg.broker_bind = xasprintf("inproc://dispatch-%d", n);
    cfg.publish_bind = xasprintf("inproc://dispatch-pub-%d", n++);
    if (!dd_dir[0]) {
        snprintf(dd_dir, sizeof dd_dir, "/dev/shm/dispatch.XXXXXX");
        if (!mkdtemp(dd_dir)) {
            snprintf(dd_dir, sizeof dd_dir, "/tmp/dispatch.XXXXXX");
            if (!mkdtemp(dd_dir)) {
                config_free(&cfg);
                return -1;
            }
        }
    }
    cfg.spool_path = xasprintf("%s/spool-%d.db", dd_dir, n);
    cfg.heartbeat_ms = 1000;
    cfg.liveness = 3;
    cfg.request_expiry_ms = 5000;
    cfg.max_services = 3;
    cfg.batch_ms = 0;
    if (!dd_ctx) {
        dd_ctx = zmq_ctx_new();
        log_configure(0, LOG_PRI_ERR);  /* errors only: the steps log by design */
    }
    struct dd d = {0};
    d.b = broker_new(dd_ctx, &cfg, NULL, err, sizeof err);
    int rc = 0;
    if (!d.b) {
        fprintf(stderr, "dispatch: broker_new: %s\n", err);
        dd_unlink(cfg.spool_path);
        config_free(&cfg);
        return -1;
    }
    broker_set_send(d.b, dd_send, &d);
    d.now = util_now_ms();
    for (size_t i = 0, steps = 0; i + 1 < size && steps < DD_MAX_STEPS; i += 2, steps++)
        if (dd_step(&d, data[i], data[i + 1], data + i + 2, size - i - 2, err, sizeof err) != 0) {
            fprintf(stderr, "dispatch: step %zu (op %d, arg %d): %s\n", steps,
                    data[i] % DD_NOPS, data[i + 1], err);
            rc = -1;
            break;
        }
    broker_destroy(&d.b);
    dd_unlink(cfg.spool_path);
    config_free(&cfg);
    return rc;
}

#endif
