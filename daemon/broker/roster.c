/* roster: the broker's workers and queues — one queue per service, the idle
 * workers of each (longest idle first), registration (READY), heartbeats and
 * expiry, dispatch, and what happens to a job whose worker is gone: back to
 * the head of its queue, or after max_attempts to the dead letters with a
 * `deadletter` event. Every job is in exactly one place: a queue or one
 * worker's hands. It also sends the broker's answers to clients. Part of
 * the broker (broker_private.h); it calls no other broker module but the
 * spool and the publisher. One thread. */
#include "broker/roster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "conf/config.h"
#include "base/log.h"
#include "wire/mdp.h"
#include "broker/publisher.h"
#include "broker/spool.h"
#include "broker/telemetry.h"
#include "base/util.h"
#include "report.pb-c.h"

static uint64_t name_hash(const char *name, size_t len)
{
    uint64_t h = 14695981039346656037u;     /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)name[i]) * 1099511628211u;
    return h;
}

/* Size the hash table for n services (twice as many buckets, at least 64). */
static void rehash(struct broker *b, size_t n)
{
    size_t want = 64;
    while (want < 2 * n)
        want *= 2;
    if (want == b->nbuckets)
        return;
    free(b->buckets);
    b->buckets = xcalloc(want, sizeof *b->buckets);
    b->nbuckets = want;
    for (size_t i = 0; i < b->nsvcs; i++) {
        struct service *s = b->svcs[i];
        size_t k = s->hash & (want - 1);
        s->hnext = b->buckets[k];
        b->buckets[k] = s;
    }
}

/* The service called name[0..len): ROSTER_FIND only finds it; ROSTER_CREATE
 * creates it unless limits.max_services are known already (NULL then);
 * ROSTER_FORCE creates it regardless (a Titanic job already in the spool must
 * have its queue). */
struct service *roster_service(struct broker *b, const char *name, size_t len, int create)
{
    uint64_t h = name_hash(name, len);
    for (struct service *s = b->nbuckets ? b->buckets[h & (b->nbuckets - 1)] : NULL; s;
         s = s->hnext)
        if (s->hash == h && s->len == len && memcmp(s->name, name, len) == 0)
            return s;
    if (create == ROSTER_FIND ||
        (create == ROSTER_CREATE && b->nsvcs >= (size_t)b->cfg->max_services))
        return NULL;
    struct service *s = xcalloc(1, sizeof *s);
    s->name = xstrndup(name, len);
    s->len = len;
    s->hash = h;
    s->index = b->nsvcs;
    b->svcs = xrealloc(b->svcs, (b->nsvcs + 1) * sizeof *b->svcs);
    b->svcs[b->nsvcs++] = s;
    if (b->nsvcs > b->nbuckets / 2) {
        rehash(b, b->nsvcs);        /* links s too */
    } else {
        size_t k = h & (b->nbuckets - 1);
        s->hnext = b->buckets[k];
        b->buckets[k] = s;
    }
    return s;
}

/* Forget s (no worker, nothing queued: no job points at its name). */
static void service_remove(struct broker *b, struct service *s)
{
    struct service **pp = &b->buckets[s->hash & (b->nbuckets - 1)];
    while (*pp != s)
        pp = &(*pp)->hnext;
    *pp = s->hnext;
    struct service *last = b->svcs[--b->nsvcs];
    b->svcs[s->index] = last;
    last->index = s->index;
    free(s->waiting);
    free(s->name);
    free(s);
}

void roster_services_free(struct broker *b)
{
    for (size_t i = 0; i < b->nsvcs; i++) {
        struct service *s = b->svcs[i];
        while (s->head) {
            struct job *j = s->head;
            s->head = j->next;
            roster_job_free(j);
        }
        free(s->waiting);
        free(s->name);
        free(s);
    }
    free(b->svcs);
    free(b->buckets);
    b->svcs = NULL;
    b->buckets = NULL;
    b->nsvcs = b->nbuckets = 0;
}

void roster_job_free(struct job *j)
{
    if (!j)
        return;
    mdp_msg_destroy(&j->body);
    mdp_msg_destroy(&j->reply);
    free(j->result);
    free(j->client);
    free(j);
}

void roster_job_drop(struct broker *b, struct job *j)
{
    if (j->uuid[0])
        b->resident--;
    if (j->suspect)
        b->nsuspects--;
    roster_job_free(j);
}

void roster_unrecorded(struct broker *b, struct job *j, int outcome)
{
    j->outcome = outcome;
    j->next = b->unrecorded;
    b->unrecorded = j;
}

void roster_enqueue(struct broker *b, struct service *s, struct job *j, int front)
{
    (void)b;
    j->next = NULL;
    if (!j->queued_us)
        j->queued_us = util_now_us();
    if (front) {
        j->next = s->head;
        s->head = j;
        if (!s->tail)
            s->tail = j;
    } else {
        if (s->tail)
            s->tail->next = j;
        else
            s->head = j;
        s->tail = j;
    }
}

struct worker *roster_find(struct broker *b, const void *id, size_t len)
{
    for (size_t i = 0; i < b->nworkers; i++)
        if (b->workers[i]->idlen == len && memcmp(b->workers[i]->id, id, len) == 0)
            return b->workers[i];
    return NULL;
}

void roster_send(struct broker *b, struct worker *w, int cmd)
{
    struct mdp_msg *m = mdp_worker_cmd(w->id, w->idlen, cmd);
    roster_out(b, m);
    mdp_msg_destroy(&m);
}

void roster_worker_hex(const struct worker *w, char out[33])
{
    static const char digits[] = "0123456789abcdef";
    size_t n = w->idlen < 16 ? w->idlen : 16;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[((const unsigned char *)w->id)[i] >> 4];
        out[2 * i + 1] = digits[((const unsigned char *)w->id)[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The worker holding j died: hand j out again, or give up on it. A Titanic
 * job is charged an attempt only when it was out alone (nothing else out when
 * it was handed out, nothing handed out since): the worker's process may have
 * held others (worker.threads), and a poison kills them all. One that died in
 * company becomes a suspect, not charged; while there are suspects they go
 * out one at a time with nothing else out, so the next death has one job to
 * blame. */
static void redeliver(struct broker *b, struct service *s, struct job *j, const char *why,
                      const char *worker)
{
    char err[256];
    if (j->uuid[0] == '\0') {
        if (++j->deliveries >= b->cfg->max_attempts) {
            log_msg(LOG_PRI_WARNING, "dropping plain %s request after %d attempts (%s)",
                    s->name, j->deliveries, why);
            roster_job_free(j);
            return;
        }
        b->st.redelivered++;
        roster_enqueue(b, s, j, 1);
        roster_dispatch(b, s);
        return;
    }
    if (!b->leader) {           /* no longer the leader: it runs under the one that is */
        roster_job_drop(b, j);
        return;
    }
    const struct log_job lj = {j->submission_id, j->deliveries, worker};
    if (!j->isolated || j->epoch != b->dispatches) {
        if (!j->suspect) {
            j->suspect = 1;
            b->nsuspects++;
        }
        log_job(LOG_PRI_WARNING, &lj, "job %s: %s while other jobs were out: not charged; it "
                "goes out again alone", j->uuid, why);
        b->st.redelivered++;
        roster_enqueue(b, s, j, 1);
        roster_dispatch_all(b);
        return;
    }
    int n = spool_attempt(b->sp, j->uuid, err, sizeof err);
    if (n < 0)
        log_job(LOG_PRI_ERR, &lj, "spool: %s", err);
    if (n >= b->cfg->max_attempts) {
        char reason[160];
        snprintf(reason, sizeof reason, "worker died while holding only this job, %d times "
                 "(last: %s)", n, why);
        if (spool_bury(b->sp, j->uuid, reason, err, sizeof err) == 0)
            publisher_deadletter(b->pub, j->uuid, j->submission_id, reason, n, err, sizeof err);
        log_job(LOG_PRI_ERR, &(struct log_job){j->submission_id, n, worker},
                "dead letter %s: %s", j->uuid, reason);
        /* counted once the batch is committed (a failed commit hands it out again) */
        roster_unrecorded(b, j, JOB_BURIED);
        return;
    }
    j->deliveries = n;          /* for the attempt number in logs */
    log_job(LOG_PRI_WARNING, &(struct log_job){j->submission_id, n, worker},
            "job %s handed out again: %s", j->uuid, why);
    b->st.redelivered++;
    roster_enqueue(b, s, j, 1);
    roster_dispatch_all(b);
}

void roster_delete(struct broker *b, struct worker *w, int disconnect, const char *why)
{
    if (disconnect)
        roster_send(b, w, MDP_DISCONNECT);
    if (w->svc) {
        struct service *s = w->svc;
        for (size_t i = 0; i < s->nwaiting; i++)
            if (s->waiting[i] == w) {
                memmove(&s->waiting[i], &s->waiting[i + 1],
                        (s->nwaiting - i - 1) * sizeof *s->waiting);
                s->nwaiting--;
                break;
            }
        s->nworkers--;
    }
    struct job *held = w->job;
    struct service *svc = w->svc;
    char hex[33];
    roster_worker_hex(w, hex);
    for (size_t i = 0; i < b->nworkers; i++)
        if (b->workers[i] == w) {
            b->workers[i] = b->workers[--b->nworkers];
            break;
        }
    free(w->id);
    free(w);
    /* after the worker is gone, so the job cannot be handed straight back to it */
    if (held)
        redeliver(b, svc, held, why, hex);
}

void roster_idle(struct service *s, struct worker *w)
{
    s->waiting = xrealloc(s->waiting, (s->nwaiting + 1) * sizeof *s->waiting);
    s->waiting[s->nwaiting++] = w;
}

static int jobs_out(const struct broker *b)
{
    int n = 0;
    for (size_t i = 0; i < b->nworkers; i++)
        n += b->workers[i]->job != NULL;
    return n;
}

/* The job of s to hand out next, unlinked from the queue, or NULL. While
 * there are suspects, only a suspect, and only when nothing else is out;
 * while the store is down, only a plain request. */
static struct job *next_job(struct broker *b, struct service *s)
{
    struct job **pp = &s->head, *prev = NULL;
    if (b->store_down) {        /* plain requests only: a Titanic Result could not be stored */
        while (*pp && (*pp)->uuid[0]) {
            prev = *pp;
            pp = &(*pp)->next;
        }
    } else if (b->nsuspects) {
        if (jobs_out(b) > 0)
            return NULL;
        while (*pp && !(*pp)->suspect) {
            prev = *pp;
            pp = &(*pp)->next;
        }
    }
    struct job *j = *pp;
    if (!j)
        return NULL;
    *pp = j->next;
    if (s->tail == j)
        s->tail = prev;
    j->next = NULL;
    /* alone while nothing else is out and nothing is handed out after it */
    j->isolated = b->nsuspects > 0 || jobs_out(b) == 0;
    j->epoch = ++b->dispatches;
    return j;
}

/* Hand queued jobs to idle workers, oldest idle worker first. Nothing while
 * draining, for HOLD_MS after a failed commit, or once the spool is lost. */
void roster_dispatch(struct broker *b, struct service *s)
{
    if (b->spool_lost || util_now_ms() < b->hold_until)
        return;
    struct job *j;
    while (!b->draining && s->nwaiting && (j = next_job(b, s))) {
        struct worker *w = s->waiting[0];
        memmove(&s->waiting[0], &s->waiting[1], (s->nwaiting - 1) * sizeof *s->waiting);
        s->nwaiting--;
        struct mdp_msg *m = mdp_worker_cmd(w->id, w->idlen, MDP_REQUEST);
        if (j->uuid[0])
            mdp_msg_add(m, j->uuid, 32);
        else
            mdp_msg_add(m, j->client, j->clen);
        mdp_msg_add(m, "", 0);
        for (size_t i = 0; i < j->body->n; i++)
            mdp_msg_addframe(m, j->body, i);
        w->job = j;
        int rc = roster_out(b, m);
        mdp_msg_destroy(&m);
        if (rc == 0) {
            j->sent_us = util_now_us();
            telemetry_observe(b->tm, TELEMETRY_QUEUE, (double)(j->sent_us - j->queued_us) / 1e6);
            char hex[33];
            roster_worker_hex(w, hex);
            log_job(LOG_PRI_DEBUG, &(struct log_job){j->submission_id, j->deliveries + 1, hex},
                    "job %s handed to a worker", j->uuid[0] ? j->uuid : s->name);
        }
        if (rc != 0) {
            /* ROUTER_MANDATORY: the peer is gone; its job goes back untouched */
            w->job = NULL;
            roster_enqueue(b, s, j, 1);
            roster_delete(b, w, 0, "worker unreachable");
        }
    }
}

void roster_dispatch_all(struct broker *b)
{
    for (size_t i = 0; i < b->nsvcs; i++)
        roster_dispatch(b, b->svcs[i]);
}

void roster_ready(struct broker *b, struct worker *w, const struct mdp_msg *m,
                  const struct mdp_parsed *p)
{
    const char *name = mdp_msg_data(m, p->service);
    size_t len = mdp_msg_size(m, p->service);
    if (w) {
        log_msg(LOG_PRI_WARNING, "worker sent a second READY: disconnecting it");
        roster_delete(b, w, 1, "worker re-registered");
        return;
    }
    struct service *s = roster_service(b, name, len, ROSTER_CREATE);
    if (!s) {
        log_msg(LOG_PRI_WARNING, "READY for a new service %.*s refused: %zu services known "
                "(limits.max_services)", (int)(len < 64 ? len : 64), name, b->nsvcs);
        struct worker tmp = {.id = (void *)mdp_msg_data(m, 0), .idlen = mdp_msg_size(m, 0)};
        roster_send(b, &tmp, MDP_DISCONNECT);
        return;
    }
    w = xcalloc(1, sizeof *w);
    w->idlen = mdp_msg_size(m, 0);
    w->id = xmalloc(w->idlen);
    memcpy(w->id, mdp_msg_data(m, 0), w->idlen);
    w->svc = s;
    w->svc->nworkers++;
    w->expiry = util_now_ms() + (int64_t)b->cfg->heartbeat_ms * b->cfg->liveness;
    b->workers = xrealloc(b->workers, (b->nworkers + 1) * sizeof *b->workers);
    b->workers[b->nworkers++] = w;
    roster_idle(w->svc, w);
    roster_dispatch(b, w->svc);
}

void roster_tick(struct broker *b, int64_t now)
{
    for (size_t i = b->nworkers; i-- > 0;) {
        if (i >= b->nworkers)       /* a redelivery may have dropped others */
            continue;
        struct worker *w = b->workers[i];
        if (now > w->expiry) {
            log_msg(LOG_PRI_WARNING, "worker expired%s",
                    w->job ? ": its job is handed out again" : "");
            roster_delete(b, w, 0, "worker expired");
        } else {
            roster_send(b, w, MDP_HEARTBEAT);
        }
    }
    for (size_t i = b->nsvcs; i-- > 0;) {
        struct service *s = b->svcs[i];
        struct job **pp = &s->head, *last = NULL;
        while (*pp) {
            struct job *j = *pp;
            if (j->uuid[0] == '\0' && now > j->expires) {
                log_msg(LOG_PRI_WARNING, "expired a %s request: no worker took it in time",
                        s->name);
                *pp = j->next;
                roster_job_free(j);
                continue;
            }
            last = j;
            pp = &j->next;
        }
        s->tail = last;
        /* idle: forgotten (a later request makes it anew); not while a batch is open,
         * as its jobs (acks, unrecorded) still point at their service's name */
        if (!s->head && s->nworkers == 0 && !b->nacks && !b->unrecorded)
            service_remove(b, s);
    }
    roster_dispatch_all(b);     /* a hold that ended, a suspect whose turn came */
    b->heartbeat_at = now + b->cfg->heartbeat_ms;
}

int roster_out(struct broker *b, const struct mdp_msg *m)
{
    return b->send ? b->send(b->send_arg, m) : mdp_msg_send(m, b->router, ZMQ_DONTWAIT);
}

void roster_answer(struct broker *b, struct mdp_msg **mp)
{
    if (roster_out(b, *mp) != 0)
        log_msg(LOG_PRI_WARNING, "a client left before its answer");
    mdp_msg_destroy(mp);
}

void roster_answer_status(struct broker *b, const struct mdp_msg *req,
                          const struct mdp_parsed *p, const char *status)
{
    struct mdp_msg *m = mdp_client_answer(req, p, status);
    roster_answer(b, &m);
}
