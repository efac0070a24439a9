/* worker: each thread owns one DEALER connected to one broker and speaks
 * MDPW01: READY, then REQUEST → REPLY, HEARTBEATs both ways — also while a
 * check runs (in the thread's one long-lived check thread, handed each request
 * through a slot; the socket stays with this thread). The broker is
 * dead after `liveness` heartbeat intervals of silence: the thread closes its
 * socket, waits (back-off doubling from reconnect_min_ms to reconnect_max_ms)
 * and registers again on a new socket; a DISCONNECT from the broker does the
 * same at once (7/MDP). Input never kills a worker: anything undecodable
 * becomes a REJECTED Result (checker_run_bytes), an invalid frame is logged.
 * Several brokers (worker.connect a list): threads × brokers threads, each
 * with its DEALER to one broker and its own heartbeat, liveness and
 * reconnect, so a dead broker stops no service through a live one. */
#include "worker/worker.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "base/metrics.h"
#include "broker/telemetry.h"
#include "check/check.h"
#include "check/jsonout.h"
#include "conf/config.h"
#include "wire/keys.h"
#include "wire/mdp.h"
#include "base/log.h"
#include "base/util.h"

void (*worker_fault_hook)(const void *body, size_t len);

struct worker_pool {
    void *ctx;
    const struct config *cfg;
    const struct checker *chk;
    char **endpoints;           /* one per broker */
    int nendpoints;
    struct worker_thread *args; /* one per thread: its broker */
    int stopfd;
    pthread_t *threads;
    int nthreads;
    atomic_ulong served;
    struct curve_keys keys;     /* CURVE client keys; off over inproc:// */
    /* what the worker role serves on metrics.bind */
    struct metrics *m;
    int jobs, rejects, seconds; /* metric ids: by status, -, by reader */
};

struct worker_thread {
    struct worker_pool *p;
    const char *endpoint;
};

/* The values of the reader label of reportd_worker_check_seconds. */
static const char *const readers[] = {"text", "layout", "yaml", "pb", "pdf", "html", "report", "none"};
#define NREADERS (sizeof readers / sizeof readers[0])

static void register_metrics(struct worker_pool *p)
{
    static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                    0.25, 0.5, 1, 2.5, 5, 10, 20, 60};
    const char *statuses[4];
    for (int i = 0; i < 4; i++)
        statuses[i] = jsonout_status((Reportd__Status)i);
    p->m = metrics_new();
    p->jobs = metrics_counter(p->m, "reportd_worker_jobs_total",
                              "Requests this worker process answered, by Result status.", "status",
                              statuses, 4);
    p->rejects = metrics_counter(p->m, "reportd_worker_rejects_total",
        "Requests answered REJECTED: not a Submission, or a document that cannot be read.",
        NULL, NULL, 0);
    p->seconds = metrics_histograms(p->m, "reportd_worker_check_seconds",
        "Time to read, check and enrich one request, by the reader that read it.", bounds, 16,
        "reader", readers, (int)NREADERS);
    telemetry_common(p->m);
}

/* One answered request, counted all at once (a scrape sees it whole). */
static void count_job(struct worker_pool *p, const Reportd__Result *r, const char *reader,
                      double seconds)
{
    size_t k = 0;
    while (k < NREADERS - 1 && strcmp(readers[k], reader))
        k++;
    metrics_lock(p->m);
    if (r->status >= 0 && r->status < 4)
        metrics_add(p->m, p->jobs + (int)r->status, 1);
    if (r->status == REPORTD__STATUS__STATUS_REJECTED)
        metrics_add(p->m, p->rejects, 1);
    metrics_observe(p->m, p->seconds + (int)k, seconds);
    metrics_unlock(p->m);
}

static void send_cmd(void *sock, int cmd, const char *service)
{
    struct mdp_msg *m = mdp_worker_cmd(NULL, 0, cmd);
    if (service)
        mdp_msg_addstr(m, service);
    /* never block: a connection refused in its handshake (CURVE, ZAP) has no
     * pipe to queue on, and a lost heartbeat only makes the broker silent */
    mdp_msg_send(m, sock, ZMQ_DONTWAIT);
    mdp_msg_destroy(&m);
}

static void *connect_broker(struct worker_pool *p, const char *endpoint)
{
    void *s = zmq_socket(p->ctx, ZMQ_DEALER);
    int ivl = p->cfg->reconnect_min_ms, ivlmax = p->cfg->reconnect_max_ms;
    mdp_socket_limits(s, 0, p->cfg->hwm, p->cfg->max_message);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &ivlmax, sizeof ivlmax);
    /* inproc:// never runs a ZMTP handshake: the embedded workers need no keys */
    if (strncmp(endpoint, "inproc://", 9) != 0)
        keys_apply_client(s, &p->keys);
    if (zmq_connect(s, endpoint) != 0) {
        log_msg(LOG_PRI_ERR, "worker: connect %s: %s", endpoint, zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    send_cmd(s, MDP_READY, p->cfg->service);
    return s;
}

/* The check in hand, and the thread that runs it. Each worker thread starts one
 * check thread (on its first REQUEST) that lives as long as it does, so the
 * socket's thread keeps heartbeating while a check runs (RFC 7 lets a busy
 * worker heartbeat) and a check longer than interval × liveness is not taken
 * for a dead worker — without a thread per check. The handoff is one slot
 * under mu: the socket's thread fills req and sets posted; the check thread
 * fills out, clears posted and writes donefd. Between those two points only
 * the check thread touches req (its body) and out. */
struct check_slot {
    struct worker_pool *p;
    pthread_t thread;
    int started;                /* the check thread runs: joined at the end */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int posted;                 /* under mu: a check waits for, or is in, the check thread */
    int quit;                   /* under mu: end the check thread once nothing is posted */
    int donefd;                 /* eventfd: written when out is ready */
    struct mdp_msg *req;        /* the REQUEST in hand (NULL: none), for its body and client address */
    size_t body, address;       /* frame indexes in req */
    unsigned long conn;         /* the connection it came on: the answer goes there or nowhere */
    uint8_t *out;               /* the packed Result */
    size_t outlen;
};

/* One check: req's body in, out (packed Result) back. */
static void check_one(struct check_slot *s)
{
    const void *body = mdp_msg_data(s->req, s->body);
    size_t len = mdp_msg_size(s->req, s->body);
    if (worker_fault_hook)
        worker_fault_hook(body, len);
    const char *reader;
    int64_t t0 = util_now_us();
    Reportd__Result *r = checker_run_bytes_reader(s->p->chk, body, len, &reader);
    count_job(s->p, r, reader, (double)(util_now_us() - t0) / 1e6);
    s->outlen = reportd__result__get_packed_size(r);
    s->out = xmalloc(s->outlen);
    reportd__result__pack(r, s->out);
    checker_result_free(r);
}

static void *check_thread(void *arg)
{
    struct check_slot *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->posted && !s->quit)
            pthread_cond_wait(&s->cv, &s->mu);
        if (!s->posted)
            break;
        pthread_mutex_unlock(&s->mu);
        check_one(s);
        pthread_mutex_lock(&s->mu);
        s->posted = 0;
        /* written unlocked: the socket's thread, woken by it, locks mu next */
        pthread_mutex_unlock(&s->mu);
        eventfd_write(s->donefd, 1);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Hand REQUEST *mp (taken) received on connection conn to the check thread,
 * started on first use. Returns -1 (the request dropped, *mp kept) when
 * there is no check thread. */
static int check_start(struct check_slot *s, unsigned long conn, struct mdp_msg **mp,
                       const struct mdp_parsed *mp_parsed)
{
    if (!s->started) {
        int rc = pthread_create(&s->thread, NULL, check_thread, s);
        if (rc != 0) {
            log_msg(LOG_PRI_WARNING, "worker: check thread: %s", strerror(rc));
            return -1;
        }
        s->started = 1;
    }
    s->req = *mp;
    *mp = NULL;
    s->body = mp_parsed->body;
    s->address = mp_parsed->address;
    s->conn = conn;
    pthread_mutex_lock(&s->mu);
    s->posted = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* The check is done (or, after a poll failure, waited for here): answer on
 * sock if it is still connection conn, the one the request came on (after a
 * reconnect the broker has handed the job out again). */
static void check_finish(struct check_slot *s, void *sock, unsigned long conn)
{
    eventfd_t n;
    eventfd_read(s->donefd, &n);             /* blocks until the check thread wrote it */
    pthread_mutex_lock(&s->mu);              /* after its unlock: out is whole */
    assert(!s->posted);
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add(&s->p->served, 1);      /* before the reply: whoever has it sees the count */
    if (sock && conn == s->conn) {
        struct mdp_msg *out = mdp_worker_cmd(NULL, 0, MDP_REPLY);
        mdp_msg_addframe(out, s->req, s->address);
        mdp_msg_add(out, "", 0);
        mdp_msg_add(out, s->out, s->outlen);
        if (mdp_msg_send(out, sock, 0) != 0)
            log_msg(LOG_PRI_WARNING, "worker: send reply: %s", zmq_strerror(zmq_errno()));
        mdp_msg_destroy(&out);
    } else {
        log_msg(LOG_PRI_WARNING, "worker: a check finished after its connection was replaced: not sent");
    }
    mdp_msg_destroy(&s->req);
    free(s->out);
    s->out = NULL;
}

/* End the check thread (nothing posted any more) and free the slot's parts. */
static void check_slot_close(struct check_slot *s)
{
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->quit = 1;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    close(s->donefd);
}

/* One message from the broker, on connection conn (*mp taken when it starts
 * a check). Returns 1 when the broker said DISCONNECT. */
static int on_message(struct check_slot *s, unsigned long conn, struct mdp_msg **mp)
{
    char err[200];
    struct mdp_parsed parsed;
    if (mdp_parse(*mp, 0, &parsed, err, sizeof err) != 0 || !parsed.worker) {
        log_msg(LOG_PRI_WARNING, "worker: dropped an invalid message from the broker: %s",
            parsed.worker ? err : "not MDPW01");
        return 0;
    }
    switch (parsed.command) {
    case MDP_REQUEST:
        if (s->req) {
            log_msg(LOG_PRI_WARNING, "worker: a REQUEST while one is in hand (7/MDP: one at a time): dropped");
            return 0;
        }
        check_start(s, conn, mp, &parsed);
        return 0;
    case MDP_HEARTBEAT:
        return 0;
    case MDP_DISCONNECT:
        return 1;
    default:
        log_msg(LOG_PRI_WARNING, "worker: unexpected command 0x%02x from the broker", (unsigned)parsed.command);
        return 0;
    }
}

static void *run(void *arg)
{
    struct worker_pool *p = ((struct worker_thread *)arg)->p;
    const char *endpoint = ((struct worker_thread *)arg)->endpoint;
    /* copied once: a broker reload in the same process may rewrite cfg */
    const int64_t hb = p->cfg->heartbeat_ms, liveness = p->cfg->liveness;
    const int64_t rmin = p->cfg->reconnect_min_ms, rmax = p->cfg->reconnect_max_ms;
    int64_t backoff = rmin, wait_until = 0;
    void *sock = NULL;
    int64_t heartbeat_at = 0, broker_seen = 0;
    unsigned long conn = 0;     /* counts connections: which one a check came on */
    int stopping = 0;
    struct check_slot slot = {.p = p, .donefd = eventfd(0, EFD_CLOEXEC)};
    pthread_mutex_init(&slot.mu, NULL);
    pthread_cond_init(&slot.cv, NULL);
    for (;;) {
        int64_t now = util_now_ms();
        if (!sock && !stopping && now >= wait_until) {
            sock = connect_broker(p, endpoint);
            conn++;
            heartbeat_at = now + hb;
            broker_seen = now;
        }
        /* stopping: the check in hand is finished and answered first */
        zmq_pollitem_t items[3] = {{NULL, stopping ? -1 : p->stopfd, ZMQ_POLLIN, 0},
                                   {NULL, slot.donefd, ZMQ_POLLIN, 0},
                                   {sock, 0, ZMQ_POLLIN, 0}};
        int64_t due = sock ? heartbeat_at : wait_until;
        long timeout = stopping && !sock ? -1 : due > now ? (long)(due - now) : 0;
        if (zmq_poll(items, sock ? 3 : 2, timeout) < 0 && zmq_errno() != EINTR)
            break;
        if (items[0].revents & ZMQ_POLLIN) {
            stopping = 1;
            if (!slot.req)
                break;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            check_finish(&slot, sock, conn);
            /* no HEARTBEAT in the same breath as the REPLY */
            heartbeat_at = util_now_ms() + hb;
            if (stopping)
                break;
        }
        int disconnect = 0;
        for (int i = 0; sock && i < 64 && (items[2].revents & ZMQ_POLLIN); i++) {
            struct mdp_msg *m = mdp_msg_recv(sock, ZMQ_DONTWAIT, 64);
            if (!m)
                break;
            broker_seen = util_now_ms();
            backoff = rmin;
            disconnect = on_message(&slot, conn, &m);
            mdp_msg_destroy(&m);
            if (disconnect)
                break;
        }
        now = util_now_ms();
        if (sock && !disconnect && now - broker_seen > hb * liveness) {
            log_msg(LOG_PRI_WARNING, "worker: broker %s silent for %lld ms: reconnecting in %lld ms",
                    endpoint, (long long)(now - broker_seen), (long long)backoff);
            disconnect = 2;
        }
        if (disconnect) {
            /* 7/MDP: close the socket and register again on a new one */
            zmq_close(sock);
            sock = NULL;
            /* after DISCONNECT: a short pause, so a broker that refuses us is no busy loop */
            wait_until = now + (disconnect == 1 ? rmin : backoff);
            if (disconnect == 2 && backoff * 2 <= rmax)
                backoff *= 2;
            continue;
        }
        if (sock && now >= heartbeat_at) {
            send_cmd(sock, MDP_HEARTBEAT, NULL);
            heartbeat_at = now + hb;
        }
    }
    if (slot.req)               /* only after a poll failure */
        check_finish(&slot, NULL, 0);
    check_slot_close(&slot);
    if (sock) {
        send_cmd(sock, MDP_DISCONNECT, NULL);
        int linger = 200;
        zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(sock);
    }
    return NULL;
}

struct worker_pool *worker_start(void *ctx, const struct config *cfg, const char *endpoint,
                                 int nthreads, const struct checker *chk, int stopfd,
                                 char *err, size_t errlen)
{
    struct worker_pool *p = xcalloc(1, sizeof *p);
    p->ctx = ctx;
    p->cfg = cfg;
    p->chk = chk;
    p->stopfd = stopfd;
    register_metrics(p);
    int remote = 0;             /* an endpoint that is not inproc:// (CURVE applies) */
    char *copy = xstrdup(endpoint), *save = NULL;
    for (char *t = strtok_r(copy, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
        p->endpoints = xrealloc(p->endpoints, (size_t)(p->nendpoints + 1) * sizeof *p->endpoints);
        p->endpoints[p->nendpoints++] = xstrdup(t);
        remote |= strncmp(t, "inproc://", 9) != 0;
    }
    free(copy);
    if (p->nendpoints == 0) {
        errf(err, errlen, "worker: no broker endpoint in \"%s\"", endpoint);
        worker_join(&p);
        return NULL;
    }
    if (cfg->curve && remote &&
        keys_load_client(&p->keys, cfg->client_secret_key, cfg->server_public_key, err,
                         errlen) != 0) {
        worker_join(&p);
        return NULL;
    }
    int total = nthreads * p->nendpoints;
    p->threads = xcalloc((size_t)total, sizeof *p->threads);
    p->args = xcalloc((size_t)total, sizeof *p->args);
    for (; p->nthreads < total; p->nthreads++) {
        struct worker_thread *a = &p->args[p->nthreads];
        a->p = p;
        a->endpoint = p->endpoints[p->nthreads % p->nendpoints];
        int rc = pthread_create(&p->threads[p->nthreads], NULL, run, a);
        if (rc != 0) {
            errf(err, errlen, "worker: thread: %s", strerror(rc));
            worker_join(&p);
            return NULL;
        }
    }
    return p;
}

void worker_join(struct worker_pool **pp)
{
    if (!pp || !*pp)
        return;
    struct worker_pool *p = *pp;
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    free(p->args);
    for (int i = 0; i < p->nendpoints; i++)
        free(p->endpoints[i]);
    free(p->endpoints);
    metrics_destroy(&p->m);
    free(p);
    *pp = NULL;
}

struct metrics *worker_metrics(const struct worker_pool *p)
{
    return p->m;
}

unsigned long worker_served(const struct worker_pool *p)
{
    return atomic_load(&p->served);
}
