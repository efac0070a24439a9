/* broker: one ROUTER for clients and workers (7/MDP), one XPUB, one spool.
 * Invariants:
 *  - a job is in exactly one place: a service queue, or one worker's hands;
 *  - a Titanic job exists in the spool before it is queued; its 200 and any
 *    publication leave only after the spool batch holding them is committed;
 *  - a job whose worker dies (heartbeat expiry, DISCONNECT, unroutable) goes
 *    back to the head of its queue, or to the dead letters after max_attempts;
 *  - the first REPLY to a Titanic job moves it pending → done in the spool;
 *    only that transition publishes, so a Result is published once per job.
 * This file is the top of the broker: it owns the struct broker
 * (broker_private.h) and wires services.c (mmi.*, reportd.*), titanic.c
 * (titanic.*) and roster.c (workers, queues); none of them calls back here. */
#include "broker/broker.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "base/log.h"
#include "base/util.h"
#include "check/check.h"
#include "check/jsonout.h"
#include "conf/config.h"
#include "wire/envelope.h"
#include "wire/mdp.h"
#include "broker/broker_private.h"
#include "broker/history.h"
#include "broker/outage.h"
#include "broker/publisher.h"
#include "broker/roster.h"
#include "broker/services.h"
#include "broker/spool.h"
#include "broker/telemetry.h"
#include "broker/titanic.h"
#include "broker/zap.h"

#define MAX_FRAMES 64           /* frames per message we accept */
#define BURST 512               /* messages handled per wake-up before timers run */
#define HOLD_MS 1000            /* after a failed commit: how long nothing is handed out */
#define DEFER_MAX 10000         /* messages held while a commit runs; beyond, the ROUTER waits */
#define RETENTION_ROWS 1000     /* rows retention removes per heartbeat at most */
#define OUTAGE_POLL_MS 100      /* while the store is down: how often the loop looks */

/* The job's outcome, one info line: who, what, how it went, how long. */
static void log_outcome(const struct job *j, const char *worker, const struct envelope_result *r)
{
    const unsigned *sev = r->severity;
    struct envelope_str code = envelope_result_region(r);
    char *region = envelope_strdup(code), *body = envelope_strdup(r->body_name);
    int64_t since = j->queued_us ? j->queued_us : j->sent_us;
    char errors[16], warnings[16], notices[16], ms[24];
    snprintf(errors, sizeof errors, "%u", sev[2]);
    snprintf(warnings, sizeof warnings, "%u", sev[1]);
    snprintf(notices, sizeof notices, "%u", sev[0]);
    snprintf(ms, sizeof ms, "%lld", (long long)(since ? (util_now_us() - since) / 1000 : 0));
    const char *status = jsonout_status(r->status);
    const char *rg = region ? region : "", *bd = body ? body : "";
    const char *const fields[] = {"status", status, "body", bd, "region", rg, "#errors",
                                  errors, "#warnings", warnings, "#notices", notices, "#ms", ms,
                                  NULL};
    char *sid = r->submission_id.len ? envelope_strdup(r->submission_id) : NULL;
    log_job_fields(LOG_PRI_INFO, &(struct log_job){sid ? sid : j->submission_id,
                                                   j->deliveries + 1, worker}, fields,
            "job done: %s, %s%s%s, %u errors, %u warnings, %u notices, %s ms", status,
            *bd ? bd : "(no name)", *rg ? " " : "", rg, sev[2], sev[1], sev[0], ms);
    free(sid);
    free(region);
    free(body);
}

/* A job's first Result was recorded (r NULL: the reply was not a Result);
 * worker: who answered (hex). */
static void count_result(struct broker *b, const struct job *j, const char *worker,
                         const struct envelope_result *r)
{
    if (r)
        log_outcome(j, worker, r);
    if (r && r->status >= 0 && r->status < 4) {
        b->st.results[r->status]++;
        if ((b->cfg->alert_statuses >> r->status) & 1u) {
            struct envelope_str code = r->has_region ? r->region_code
                                       : r->has_body ? r->body_region : (struct envelope_str){0};
            char *c = envelope_strdup(code);
            b->st.alerts++;
            b->st.alerts_by_province[telemetry_province_index(c)]++;
            free(c);
        }
    }
    if (j->queued_us)
        telemetry_observe(b->tm, TELEMETRY_TOTAL, (double)(util_now_us() - j->queued_us) / 1e6);
}

/* The open batch was committed (ok) or rolled back: settle the jobs whose end
 * was in it. Committed: counted and forgotten. Rolled back (disk full, spool
 * lost): the spool still has them pending, so they go back to the head of
 * their queue, not charged — a Result that was not stored must run again. */
static void settle_unrecorded(struct broker *b, int ok)
{
    struct job *list = b->unrecorded;
    b->unrecorded = NULL;
    while (list) {
        struct job *j = list;
        list = j->next;
        if (ok && j->outcome) {
            if (j->outcome == JOB_RESULT) {
                struct envelope_result r;
                if (j->result)
                    envelope_result_read(j->result, j->result_len, &r);
                count_result(b, j, j->worker, j->result ? &r : NULL);
            } else {
                b->st.dead++;
                b->st.dead_waiting++;
            }
            roster_job_drop(b, j);
            continue;
        }
        log_job(LOG_PRI_ERR, &(struct log_job){j->submission_id, -1, NULL},
                "job %s: its %s was not stored: handed out again once the spool takes writes",
                j->uuid, j->outcome == JOB_BURIED ? "dead letter" : "Result");
        j->outcome = 0;
        free(j->result);
        j->result = NULL;
        roster_enqueue(b, roster_service(b, j->service, strlen(j->service), ROSTER_FORCE), j, 1);
    }
}

/* A Titanic job's reply: frames body.. of m (9/TSP "frames 1+": stored whole;
 * a first frame that is a Result of cfg->service is published). Returns 1
 * when j is kept until the commit settles it, 0 when the caller drops it. */
static int finish_titanic(struct broker *b, struct job *j, const struct worker *w,
                          const struct mdp_msg *m, size_t body)
{
    char err[256];
    const void *data = mdp_msg_data(m, body);
    size_t len = mdp_msg_size(m, body);
    if (!b->leader) {           /* deposed: the leader hands it out again */
        log_job(LOG_PRI_NOTICE, &(struct log_job){j->submission_id, -1, NULL}, "job %s: a "
                "Result came to a standby: not stored, not published; the leader (epoch %llu) "
                "hands it out again", j->uuid, (unsigned long long)b->lead_epoch);
        return 0;
    }
    /* only the first reply counts: publish it once, then record it */
    int state = b->store_down ? -1 : spool_get(b->sp, j->uuid, NULL, NULL);
    if (state < 0 && outage_follow(b)) {  /* pending in the database: it runs again */
        log_job(LOG_PRI_WARNING, &(struct log_job){j->submission_id, -1, NULL}, "job %s: its "
                "reply is not stored (the database is unreachable): it runs again", j->uuid);
        return 0;
    }
    if (state != SPOOL_PENDING)
        return 0;
    int publish = strcmp(j->service, b->cfg->service) == 0;
    struct envelope_result env;
    int isresult = publish && envelope_result(data, len, &env, err, sizeof err) == 0;
    const struct log_job lj = {j->submission_id, -1, NULL};
    if (publish && !isresult)
        log_job(LOG_PRI_WARNING, &lj, "job %s: the worker's reply is not a Result (%zu bytes)",
                j->uuid, len);
    /* the report as read goes to the history, never out: the Result is
     * stored and published without it */
    struct history_entry he = {0};
    size_t slen = 0;
    void *stripped = isresult ? history_strip(b, data, len, &env, &he, &slen) : NULL;
    struct mdp_msg *sm = NULL;
    if (stripped) {
        sm = mdp_msg_new();
        mdp_msg_add(sm, stripped, slen);
        for (size_t i = body + 1; i < m->n; i++)
            mdp_msg_addframe(sm, m, i);
        m = sm;
        body = 0;
        data = stripped;
        len = slen;
        env.has_report = 0;     /* its slices still point into m's frame, alive */
    }
    uint64_t seq = isresult ? publisher_result(b->pub, &env, data, len, err, sizeof err) : 0;
    if (isresult && !seq)
        log_job(LOG_PRI_ERR, &lj, "%s", err);
    /* one frame: stored once, as the publication when it was published */
    size_t plen;
    void *packed = mdp_frames_pack(m, body, &plen);
    int whole = m->n > body + 1 || plen != len;
    int done = spool_finish(b->sp, j->uuid, isresult ? (int)env.status : -1, packed, plen,
                            whole ? 0 : seq, err, sizeof err);
    free(packed);
    /* a history not stored costs the next year its comparison, not this Result */
    char herr[256];
    if (done == 1 && history_record(b, &he, j->submission_id, herr, sizeof herr) != 0)
        log_job(LOG_PRI_ERR, &lj, "%s", herr);
    /* kept for the counts once the batch is committed */
    void *kept = done == 1 && isresult ? xmalloc(len ? len : 1) : NULL;
    if (kept)
        memcpy(kept, data, len);
    if (stripped) {
        history_entry_free(&he);
        mdp_msg_destroy(&sm);
        free(stripped);
    }
    if (done < 0) {
        b->st.spool_failures++;
        log_job(LOG_PRI_ERR, &lj, "%s", err);
    }
    if (done == 0)
        return 0;
    /* done < 0: not written; the job runs again after the next commit */
    j->result = kept;
    j->result_len = kept ? len : 0;
    if (w)
        roster_worker_hex(w, j->worker);
    roster_unrecorded(b, j, done == 1 ? JOB_RESULT : 0);
    return 1;
}

/* A plain job's Result (j->body: the reply frames), counted and published. */
static void publish_plain(struct broker *b, const struct job *j, const char *worker)
{
    char err[256];
    const void *data = mdp_msg_data(j->body, 0);
    size_t len = mdp_msg_size(j->body, 0);
    struct envelope_result r;
    if (envelope_result(data, len, &r, err, sizeof err) != 0) {
        log_msg(LOG_PRI_WARNING, "a %s reply is not a Result: not published", j->service);
        return;
    }
    count_result(b, j, worker, &r);
    /* one sequence, the leader's: a standby answers its client, publishes nothing */
    if (b->leader && !publisher_result(b->pub, &r, data, len, err, sizeof err))
        log_msg(LOG_PRI_ERR, "%s", err);
}

/* The reply goes to the client at once (it waits for no fsync); its
 * publication needs the spool. Returns 1 when j is kept in b->held until the
 * commit running now is over, 0 when the caller drops it. */
static int finish_plain(struct broker *b, struct job *j, const struct worker *w,
                        const struct mdp_msg *m, size_t body)
{
    struct mdp_msg *out = mdp_client_cmd(j->client, j->clen, j->service);
    for (size_t i = body; i < m->n; i++)
        mdp_msg_addframe(out, m, i);
    if (roster_out(b, out) != 0)
        log_msg(LOG_PRI_WARNING, "client of a %s reply is gone", j->service);
    mdp_msg_destroy(&out);
    if (strcmp(j->service, b->cfg->service) != 0)
        return 0;
    mdp_msg_destroy(&j->body);
    j->body = mdp_msg_new();
    for (size_t i = body; i < m->n; i++)
        mdp_msg_addframe(j->body, m, i);
    roster_worker_hex(w, j->worker);
    if (b->committing) {
        j->next = b->held;
        b->held = j;
        return 1;
    }
    publish_plain(b, j, j->worker);
    return 0;
}

/* The commit is over: publish what was held for it, oldest first. */
static void publish_held(struct broker *b)
{
    struct job *list = NULL;
    while (b->held) {           /* b->held is newest first */
        struct job *j = b->held;
        b->held = j->next;
        j->next = list;
        list = j;
    }
    while (list) {
        struct job *j = list;
        list = j->next;
        publish_plain(b, j, j->worker);
        roster_job_drop(b, j);
    }
}

/* While a commit runs the spool is the writer's: a message whose handling
 * reads or writes it waits (a copy) until the commit is over. Returns 1 when
 * m was deferred. */
static int defer(struct broker *b, const struct mdp_msg *m)
{
    if (!b->committing)
        return 0;
    if (b->ndeferred == b->capdeferred) {
        b->capdeferred = b->capdeferred ? 2 * b->capdeferred : 64;
        b->deferred = xrealloc(b->deferred, b->capdeferred * sizeof *b->deferred);
    }
    struct mdp_msg *copy = mdp_msg_new();
    for (size_t i = 0; i < m->n; i++)
        mdp_msg_addframe(copy, m, i);
    b->deferred[b->ndeferred++] = copy;
    return 1;
}

/* The job w held came back: w is free. Returns the job. */
static struct job *take_reply(struct broker *b, struct worker *w)
{
    struct job *j = w->job;
    w->job = NULL;
    b->st.replies++;
    if (j->sent_us)
        telemetry_observe(b->tm, TELEMETRY_WORK, (double)(util_now_us() - j->sent_us) / 1e6);
    if (j->suspect) {           /* it came back: nothing to suspect any more */
        j->suspect = 0;
        b->nsuspects--;
    }
    return j;
}

/* w is free: it takes the next job. */
static void worker_free(struct broker *b, struct worker *w)
{
    roster_idle(w->svc, w);
    if (b->nsuspects)           /* the next suspect may go out now, in any service */
        roster_dispatch_all(b);
    else
        roster_dispatch(b, w->svc);
}

static void on_reply(struct broker *b, struct worker *w, const struct mdp_msg *m,
                     const struct mdp_parsed *p)
{
    struct job *j = take_reply(b, w);
    int kept = 0;
    if (j->uuid[0])
        kept = finish_titanic(b, j, w, m, p->body);
    else
        kept = finish_plain(b, j, w, m, p->body);
    if (!kept)
        roster_job_drop(b, j);
    worker_free(b, w);
}

/* A Titanic job's reply while a commit runs: the spool is the writer's, so
 * its Result waits (b->replied) for the commit's end — but its worker does
 * not: it takes the next job now (dispatch does not touch the spool). */
static void keep_reply(struct broker *b, struct worker *w, const struct mdp_msg *m,
                       const struct mdp_parsed *p)
{
    struct job *j = take_reply(b, w);
    roster_worker_hex(w, j->worker);
    j->reply = mdp_msg_new();
    for (size_t i = p->body; i < m->n; i++)
        mdp_msg_addframe(j->reply, m, i);
    j->next = NULL;
    if (b->replied_tail)
        b->replied_tail->next = j;
    else
        b->replied = j;
    b->replied_tail = j;
    worker_free(b, w);
}

/* The commit is over: the Results kept meanwhile, in the order they came. */
static void finish_replied(struct broker *b)
{
    struct job *list = b->replied;
    b->replied = b->replied_tail = NULL;
    while (list) {
        struct job *j = list;
        list = j->next;
        j->next = NULL;
        struct mdp_msg *m = j->reply;
        j->reply = NULL;
        if (!finish_titanic(b, j, NULL, m, 0))
            roster_job_drop(b, j);
        mdp_msg_destroy(&m);
    }
}

/* Nonzero when the REPLY's client address frame names the job w holds: its
 * Titanic UUID, or the client identity of a plain request. A reply for any
 * other job is stale — e.g. for the job w held before it expired and
 * registered again on the same socket — and must not finish this one. */
static int reply_matches(const struct worker *w, const struct mdp_msg *m,
                         const struct mdp_parsed *p)
{
    const struct job *j = w->job;
    const void *addr = mdp_msg_data(m, p->address);
    size_t len = mdp_msg_size(m, p->address);
    if (j->uuid[0])
        return len == 32 && memcmp(addr, j->uuid, 32) == 0;
    return len == j->clen && memcmp(addr, j->client, len) == 0;
}

static void on_worker(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p)
{
    struct worker *w = roster_find(b, mdp_msg_data(m, 0), mdp_msg_size(m, 0));
    if (w)
        w->expiry = util_now_ms() + (int64_t)b->cfg->heartbeat_ms * b->cfg->liveness;
    /* a Titanic reply while a commit runs: the worker goes on, its Result waits */
    if (w && b->committing && p->command == MDP_REPLY && w->job && w->job->uuid[0] &&
        reply_matches(w, m, p)) {
        keep_reply(b, w, m, p);
        return;
    }
    /* what may touch the spool: a Titanic reply, or a worker that goes (its
     * job is charged an attempt) */
    if (w && (p->command != MDP_HEARTBEAT && p->command != MDP_REPLY ? 1
              : p->command == MDP_REPLY && w->job && w->job->uuid[0]) && defer(b, m))
        return;
    switch (p->command) {
    case MDP_READY:
        if (!w && services_internal(mdp_msg_data(m, p->service), mdp_msg_size(m, p->service))) {
            log_msg(LOG_PRI_WARNING, "worker tried to register internal service %.*s",
                    (int)mdp_msg_size(m, p->service), (const char *)mdp_msg_data(m, p->service));
            break;
        }
        roster_ready(b, w, m, p);
        return;
    case MDP_REPLY:
        if (w && w->job && !reply_matches(w, m, p)) {
            b->st.dropped++;
            log_job(LOG_PRI_WARNING, &(struct log_job){w->job->submission_id, -1, NULL},
                    "a worker replied for a job it does not hold (%zu-byte address): stale, "
                    "dropped; it still holds %s", mdp_msg_size(m, p->address),
                    w->job->uuid[0] ? w->job->uuid : "a plain request");
            return;
        }
        if (w && w->job) {
            on_reply(b, w, m, p);
            return;
        }
        break;
    case MDP_HEARTBEAT:
        if (w)
            return;
        break;
    case MDP_DISCONNECT:
        if (w)
            roster_delete(b, w, 0, "worker disconnected");
        return;
    default:
        break;
    }
    /* 7/MDP: a valid but unexpected command gets DISCONNECT */
    if (w) {
        roster_delete(b, w, 1, "unexpected command");
    } else {
        struct worker tmp = {.id = (void *)mdp_msg_data(m, 0), .idlen = mdp_msg_size(m, 0)};
        roster_send(b, &tmp, MDP_DISCONNECT);
    }
}

static void on_client(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p)
{
    const char *name = mdp_msg_data(m, p->service);
    size_t len = mdp_msg_size(m, p->service);
    if (services_internal(name, len) && defer(b, m))
        return;                 /* counted when handled */
    b->st.requests++;
    if (services_internal(name, len)) {
        services_handle(b, m, p);
        return;
    }
    if (p->body == m->n) {
        log_msg(LOG_PRI_WARNING, "request for %.*s without a body: dropped", (int)len, name);
        b->st.dropped++;
        return;
    }
    if (b->draining) {          /* stopping: a plain request would be lost; let it time out */
        log_msg(LOG_PRI_NOTICE, "draining: a %.*s request refused", (int)len, name);
        return;
    }
    struct service *s = roster_service(b, name, len, ROSTER_CREATE);
    if (!s) {
        char why[96];
        snprintf(why, sizeof why, "503 too many services (limits.max_services %d): not queued",
                 b->cfg->max_services);
        log_msg(LOG_PRI_WARNING, "a request for a new service %.*s refused: %zu services known "
                "(limits.max_services)", (int)(len < 64 ? len : 64), name, b->nsvcs);
        roster_answer_status(b, m, p, why);
        return;
    }
    struct job *j = xcalloc(1, sizeof *j);
    j->clen = mdp_msg_size(m, 0);
    j->client = xmalloc(j->clen);
    memcpy(j->client, mdp_msg_data(m, 0), j->clen);
    j->service = s->name;
    j->body = mdp_msg_new();
    for (size_t i = p->body; i < m->n; i++)
        mdp_msg_addframe(j->body, m, i);
    j->expires = util_now_ms() + b->cfg->request_expiry_ms;
    roster_enqueue(b, s, j, 0);
    roster_dispatch(b, s);
}

static void on_message(struct broker *b, struct mdp_msg *m)
{
    char err[200];
    struct mdp_parsed p;
    if (m->n < 2 || mdp_parse(m, 1, &p, err, sizeof err) != 0) {
        /* 7/MDP: treat the sender as invalid; a registered worker goes (and
         * its job is charged: after the commit running now) */
        struct worker *w = m->n ? roster_find(b, mdp_msg_data(m, 0), mdp_msg_size(m, 0)) : NULL;
        if (w && w->job && defer(b, m))
            return;
        b->st.dropped++;
        log_msg(LOG_PRI_WARNING, "dropped an invalid message of %zu frames: %s", m->n,
                m->n < 2 ? "no frames after the identity" : err);
        if (w)
            roster_delete(b, w, 1, "invalid message");
        return;
    }
    if (p.worker)
        on_worker(b, m, &p);
    else
        on_client(b, m, &p);
}

/* Once the spool file is deleted: say so once, at error priority; from then
 * on nothing is acknowledged or handed out (see titanic.c, roster.c). */
static int check_spool(struct broker *b)
{
    char why[512];
    if (!b->spool_lost && spool_lost(b->sp, why, sizeof why)) {
        b->spool_lost = 1;
        log_msg(LOG_PRI_ERR, "%s", why);
    }
    return b->spool_lost;
}

/* Hand the open batch to the spool's writer; the loop goes on receiving and
 * dispatching, and defers what needs the spool until commit_settle. */
static void commit_start(struct broker *b)
{
    if (b->committing || !spool_commit_begin(b->sp))
        return;
    b->committing = 1;
    b->commit_t0 = util_now_us();
}

/* 1 when the commit running has ended (its descriptor is readable). */
static int commit_over(const struct broker *b)
{
    struct pollfd pfd = {spool_commit_fd(b->sp), POLLIN, 0};
    return b->committing && poll(&pfd, 1, 0) == 1;
}

/* The messages that waited for the spool, in the order they came. */
static void handle_deferred(struct broker *b)
{
    struct mdp_msg **list = b->deferred;
    size_t n = b->ndeferred;
    b->deferred = NULL;
    b->ndeferred = b->capdeferred = 0;
    for (size_t i = 0; i < n; i++) {
        if (spool_uncommitted(b->sp) == 0)
            b->batch_started = util_now_ms();
        on_message(b, list[i]);
        mdp_msg_destroy(&list[i]);
    }
    free(list);
}

/* The commit begun is over (waits if not): only now its acknowledgements
 * and publications leave, in order — or, rolled back, are answered 500 and
 * handed out again. Then what waited for the spool is handled. */
static void lead_due(struct broker *b);

static int commit_settle(struct broker *b, char *err, size_t errlen)
{
    b->committing = 0;
    b->spool_failed = spool_commit_end(b->sp, err, errlen) != 0;
    int rc = 0;
    if (b->spool_failed) {
        b->st.spool_failures++;
        check_spool(b);
        publisher_discard(b->pub);
        titanic_acks_fail(b, b->spool_lost ? TITANIC_SPOOL_LOST
                             : outage_follow(b) ? TITANIC_STORE_DOWN : "500");
        settle_unrecorded(b, 0);
        b->claimed = 0;
        /* the Results that were not stored wait a moment: no busy loop on a full disk */
        b->hold_until = util_now_ms() + HOLD_MS;
        rc = -1;
    } else {
        telemetry_observe(b->tm, TELEMETRY_COMMIT, (double)(util_now_us() - b->commit_t0) / 1e6);
        publisher_flush(b->pub);
        b->spooled += b->claimed;   /* in line before this batch's own new jobs */
        b->claimed = 0;
        titanic_acks_flush(b);
        size_t suspects = b->nsuspects;
        settle_unrecorded(b, 1);
        b->batch_started = 0;
        if (titanic_refill(b) != 0)
            log_msg(LOG_PRI_ERR, "spool: cannot read the pending jobs");
        if (b->nsuspects != suspects)   /* a suspect was buried: the next one's turn */
            roster_dispatch_all(b);
    }
    publish_held(b);
    finish_replied(b);
    /* between two batches, before what waited adds to the next: under a steady
     * flow of writes this is the only moment the spool has no open batch */
    lead_due(b);
    handle_deferred(b);
    return rc;
}

/* Commit and wait: the batch running, then everything that waited for it
 * (stop, drain). 0, or -1 with err when a commit failed. */
static int commit(struct broker *b, char *err, size_t errlen)
{
    int rc = 0;
    for (;;) {
        if (b->committing) {
            if (commit_settle(b, err, errlen) != 0)
                rc = -1;
        } else if (spool_uncommitted(b->sp)) {
            commit_start(b);
        } else {
            return rc;
        }
    }
}

/* Leadership (several brokers on one PostgreSQL; spool.h): the leader hands
 * out every pending job; a standby none, so this one no longer holds any:
 * the queued ones go, and those with workers are dropped when they come back
 * (finish_titanic, roster.c). The leader re-reads them from the database. */
static void step_down(struct broker *b)
{
    size_t dropped = titanic_forget(b);
    b->leader = 0;
    b->spooled = 0;
    b->cursor = 0;
    b->claimed = 0;
    log_msg(LOG_PRI_WARNING, "standby: no longer the leader (leader_epoch %llu): %zu pending "
            "jobs left to the leader", (unsigned long long)b->lead_epoch, dropped);
}

/* Leading now: every pending job in the database is this broker's, as at a
 * restart (spool_pending_after), and what standbys took is claimed at once. */
static int take_lead(struct broker *b)
{
    long pending = spool_count(b->sp, SPOOL_PENDING);
    b->leader = 1;
    b->lead_at = 0;
    if (b->lead_epoch)
        log_msg(LOG_PRI_NOTICE, "leader: epoch %llu; %ld pending jobs taken over from the "
                "database", (unsigned long long)b->lead_epoch, pending);
    /* as at a restart, but a job a worker still holds (it stepped down and
     * leads again: after a reconnection) is not read twice */
    return pending < 0 || titanic_resync(b) != 0 ? -1 : 0;
}

/* Try to lead (a standby) or check the lead is still ours. Only with
 * nothing uncommitted. 0, or -1 with err when taking the lead failed. */
static int lead_tick(struct broker *b, char *err, size_t errlen)
{
    if (b->committing || spool_uncommitted(b->sp))
        return 0;
    uint64_t epoch = 0;
    int rc = spool_lead(b->sp, &epoch, err, errlen);
    if (rc < 0)
        return -1;
    b->lead_epoch = epoch;
    if (b->leader && rc == 0)
        step_down(b);
    else if (!b->leader && rc == 1 && take_lead(b) != 0)
        return errf(err, errlen, "spool: cannot read the pending jobs");
    return 0;
}

/* The leader: jobs standbys stored go in line (with poll: look even when
 * no NOTIFY came). */
static void claim(struct broker *b, int poll)
{
    char err[256];
    if (!b->leader || b->committing || b->spool_lost)
        return;
    size_t before = spool_uncommitted(b->sp);
    long n = spool_claim(b->sp, 1000, poll, err, sizeof err);
    if (n < 0) {
        log_msg(LOG_PRI_ERR, "%s", err);
        return;
    }
    b->claimed += (size_t)n;
    if (before == 0 && spool_uncommitted(b->sp))
        b->batch_started = util_now_ms();
}

/* Every spool.lead_poll_ms: the leadership, and the claims NOTIFY missed. */
static void lead_timer(struct broker *b, int64_t now)
{
    char err[256];
    if (b->committing || b->store_down || now < b->lead_at)
        return;                 /* down: outage_follow asks again once it is back */
    b->lead_at = now + b->cfg->lead_poll_ms;
    if (lead_tick(b, err, sizeof err) != 0)
        log_msg(LOG_PRI_ERR, "%s", err);
    claim(b, 1);
}

/* What leadership needs now: the timer's turn, or the claims a NOTIFY asked for. */
static void lead_due(struct broker *b)
{
    if (b->stopping || b->draining)
        return;
    lead_timer(b, util_now_ms());
    if (b->woken && !b->committing) {
        b->woken = 0;
        claim(b, 0);
    }
}

static void *router_socket(void *ctx, const struct config *cfg)
{
    void *s = zmq_socket(ctx, ZMQ_ROUTER);
    int one = 1;
    zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    mdp_socket_limits(s, 1000, cfg->hwm, cfg->max_message);
    return s;
}

struct broker *broker_new(void *ctx, const struct config *cfg, const char *const *binds,
                          char *err, size_t errlen)
{
    struct broker *b = xcalloc(1, sizeof *b);
    b->cfg = cfg;
    /* the body key of the history (history.c): the checker's region table */
    b->checker = checker_new(NULL, err, errlen);
    if (!b->checker)
        log_msg(LOG_PRI_WARNING, "broker: no history of previous years: %s", err);
    char *where = config_spool_where(cfg, err, errlen);
    b->sp = where ? spool_open_backend(cfg->spool_backend, where, err, errlen) : NULL;
    free(where);
    if (!b->sp)
        goto fail;
    long dead = spool_count(b->sp, SPOOL_DEAD);
    b->st.dead_waiting = dead > 0 ? (size_t)dead : 0;
    /* the ZAP handler is bound before any CURVE socket can accept a peer */
    if (cfg->curve && (keys_load_server(&b->keys, cfg->server_secret_key, err, errlen) != 0 ||
                       !(b->zap = zap_start(ctx, cfg->allow_dir, err, errlen))))
        goto fail;
    b->router = router_socket(ctx, cfg);
    keys_apply_server(b->router, &b->keys);
    if (b->zap && zap_watch(b->zap, b->router, "broker", err, errlen) != 0)
        goto fail;
    if (zmq_bind(b->router, cfg->broker_bind) != 0) {
        errf(err, errlen, "broker: bind %s: %s", cfg->broker_bind, zmq_strerror(zmq_errno()));
        goto fail;
    }
    for (size_t i = 0; binds && binds[i]; i++)
        if (zmq_bind(b->router, binds[i]) != 0) {
            errf(err, errlen, "broker: bind %s: %s", binds[i], zmq_strerror(zmq_errno()));
            goto fail;
        }
    b->pub = publisher_new(ctx, cfg->publish_bind, &b->keys, b->sp, cfg->alert_statuses,
                           cfg->hwm, err, errlen);
    if (!b->pub || (b->zap && zap_watch(b->zap, publisher_socket(b->pub), "publish", err,
                                        errlen) != 0))
        goto fail;
    /* leading (always with SQLite): the oldest spool.window pending jobs;
     * the rest are read as the window frees. A standby tries again later. */
    if (lead_tick(b, err, errlen) != 0)
        goto fail;
    if (!b->leader)
        log_msg(LOG_PRI_NOTICE, "standby: leader_epoch %llu leads; this broker accepts "
                "submissions and reads, and tries to lead every %d ms",
                (unsigned long long)b->lead_epoch, cfg->lead_poll_ms);
    b->heartbeat_at = util_now_ms() + cfg->heartbeat_ms;
    return b;
fail:
    broker_destroy(&b);
    return NULL;
}

void broker_destroy(struct broker **bp)
{
    if (!bp || !*bp)
        return;
    struct broker *b = *bp;
    char err[256];
    if (b->sp && b->pub)
        commit(b, err, sizeof err);
    settle_unrecorded(b, 0);        /* only after a failed commit: queued, freed below */
    while (b->nworkers) {
        struct worker *w = b->workers[b->nworkers - 1];
        if (w->job) {               /* stays pending in the spool if it is Titanic */
            roster_job_free(w->job);
            w->job = NULL;
        }
        roster_delete(b, w, b->router != NULL, "broker stopping");
    }
    roster_services_free(b);
    for (size_t i = 0; i < b->ncredits; i++)
        free(b->credits[i].id);
    free(b->credits);
    free(b->workers);
    titanic_acks_fail(b, "500");
    free(b->acks);
    for (size_t i = 0; i < b->ndeferred; i++)
        mdp_msg_destroy(&b->deferred[i]);
    free(b->deferred);
    while (b->held) {
        struct job *j = b->held;
        b->held = j->next;
        roster_job_drop(b, j);
    }
    while (b->replied) {        /* only when the spool failed: they stay pending */
        struct job *j = b->replied;
        b->replied = j->next;
        roster_job_drop(b, j);
    }
    publisher_destroy(&b->pub);
    if (b->router)
        zmq_close(b->router);
    zap_stop(&b->zap);
    memset(&b->keys, 0, sizeof b->keys);
    spool_close(&b->sp);
    checker_destroy(&b->checker);
    free(b);
    *bp = NULL;
}

static long poll_timeout(const struct broker *b, int64_t now)
{
    /* while a commit runs, its descriptor wakes the loop; heartbeats wait for it */
    int64_t due = b->committing ? now + b->cfg->heartbeat_ms : b->heartbeat_at;
    if (!b->committing && spool_uncommitted(b->sp) &&
        b->batch_started + b->cfg->batch_ms < due)
        due = b->batch_started + b->cfg->batch_ms;
    if (b->tick && b->tick_at < due)
        due = b->tick_at;
    if ((b->lead_epoch || !b->leader) && !b->committing && b->lead_at < due)
        due = b->lead_at;
    if (b->store_down && now + OUTAGE_POLL_MS < due)    /* to take the connection over */
        due = now + OUTAGE_POLL_MS;
    return due <= now ? 0 : (long)(due - now);
}

/* Retention, between commits, once a heartbeat: at most RETENTION_ROWS rows
 * removed into the open batch, so the loop is never held for long; the rest
 * at the next heartbeat. Nothing while the spool is lost or failing. */
static void retention_tick(struct broker *b)
{
    const struct config *c = b->cfg;
    struct spool_retention rules = {
        (unsigned)c->retention_closed_days, (unsigned)c->retention_published_days,
        (unsigned)c->retention_dead_days, (unsigned)c->retention_history_years};
    if (b->spool_lost || b->spool_failed || b->store_down)
        return;
    char err[256];
    size_t before = spool_uncommitted(b->sp);
    long n = !b->leader ? 0 : spool_prune(b->sp, (int64_t)time(NULL), &rules, RETENTION_ROWS, err, sizeof err);
    if (n < 0)
        log_msg(LOG_PRI_ERR, "%s", err);
    else if (n > 0)
        b->st.pruned += (uint64_t)n;
    if (before == 0 && spool_uncommitted(b->sp))
        b->batch_started = util_now_ms();
    /* the oldest item of each kind (metrics): again after a prune, while a
     * kind is empty, and once a minute or so */
    if (n > 0 || ++b->oldest_ticks >= 24) {
        b->oldest_ticks = 0;
        for (int k = 0; k < 4; k++)
            b->st.oldest_at[k] = 0;
    }
    for (int k = 0; k < 4; k++)
        if (!b->st.oldest_at[k]) {
            int64_t at = spool_oldest(b->sp, (enum spool_kind)k);
            b->st.oldest_at[k] = at > 0 ? at : 0;
        }
}

/* Handle what the ROUTER holds (at most BURST messages), then run the timers. */
static void serve(struct broker *b, int readable)
{
    char err[256];
    if (commit_over(b) && commit_settle(b, err, sizeof err) != 0)
        log_msg(LOG_PRI_ERR, "%s", err);
    for (int i = 0; i < BURST && readable && b->ndeferred < DEFER_MAX; i++) {
        struct mdp_msg *m = mdp_msg_recv(b->router, ZMQ_DONTWAIT, MAX_FRAMES);
        if (!m) {
            if (errno == E2BIG) {
                b->st.dropped++;
                log_msg(LOG_PRI_WARNING, "dropped a message of more than %d frames", MAX_FRAMES);
                continue;
            }
            break;
        }
        if (!b->committing && spool_uncommitted(b->sp) == 0)
            b->batch_started = util_now_ms();
        on_message(b, m);
        mdp_msg_destroy(&m);
        if (!b->committing && spool_uncommitted(b->sp) >= (size_t)b->cfg->batch_max)
            commit_start(b);
    }
    int64_t now = util_now_ms();
    if (!b->committing && spool_uncommitted(b->sp) && now >= b->batch_started + b->cfg->batch_ms)
        commit_start(b);
    if (!b->committing && now >= b->heartbeat_at) {
        check_spool(b);
        retention_tick(b);
        roster_tick(b, now);
    }
    lead_due(b);
    outage_follow(b);
    if (b->tick && now >= b->tick_at) {
        b->tick_at = now + b->tick_ms;
        b->tick(b->tick_arg);
    }
}

int broker_run(struct broker *b, int stopfd, char *err, size_t errlen)
{
    zmq_pollitem_t items[5] = {
        {b->router, 0, ZMQ_POLLIN, 0},
        {publisher_socket(b->pub), 0, ZMQ_POLLIN, 0},
        {NULL, stopfd, ZMQ_POLLIN, 0},
        {NULL, spool_commit_fd(b->sp), ZMQ_POLLIN, 0},
        {NULL, -1, ZMQ_POLLIN, 0},
    };
    for (;;) {
        /* DEFER_MAX messages wait for the spool: the rest wait in the ROUTER */
        items[0].events = b->ndeferred < DEFER_MAX ? ZMQ_POLLIN : 0;
        /* the leader's wake-up (a standby stored a job), between commits */
        items[4].fd = b->leader && !b->committing && !b->spool_lost ? spool_wake_fd(b->sp) : -1;
        int n = items[4].fd >= 0 ? 5 : 4;
        items[4].revents = 0;
        if (zmq_poll(items, n, poll_timeout(b, util_now_ms())) < 0 && zmq_errno() != EINTR)
            return errf(err, errlen, "broker: poll: %s", zmq_strerror(zmq_errno()));
        b->woken |= (items[4].revents & ZMQ_POLLIN) != 0;
        if (items[2].revents & ZMQ_POLLIN) {
            b->stopping = 1;
            return commit(b, err, errlen);
        }
        if (items[1].revents & ZMQ_POLLIN)
            publisher_drain(b->pub);
        serve(b, items[0].revents & ZMQ_POLLIN);
    }
}

static int busy_workers(const struct broker *b)
{
    int n = 0;
    for (size_t i = 0; i < b->nworkers; i++)
        n += b->workers[i]->job != NULL;
    return n;
}

int broker_drain(struct broker *b, int timeout_ms, char *err, size_t errlen)
{
    b->draining = 1;
    int64_t deadline = util_now_ms() + timeout_ms;
    while (busy_workers(b) && util_now_ms() < deadline) {
        zmq_pollitem_t item = {b->router, 0, ZMQ_POLLIN, 0};
        long wait = poll_timeout(b, util_now_ms());
        if (zmq_poll(&item, 1, wait < 50 ? wait : 50) < 0 && zmq_errno() != EINTR)
            break;
        serve(b, item.revents & ZMQ_POLLIN);
    }
    int left = busy_workers(b);
    if (left)
        log_msg(LOG_PRI_WARNING, "drain: %d jobs still with workers after %d ms; Titanic ones "
                "stay pending in the spool for the next start", left, timeout_ms);
    else
        log_msg(LOG_PRI_INFO, "drain: every job in flight came back");
    if (commit(b, err, errlen) != 0)
        return -1;
    /* the exit status tells: what was written since the deletion is lost */
    return check_spool(b) ? spool_lost(b->sp, err, errlen) * -1 : 0;
}

void broker_set_tick(struct broker *b, int interval_ms, broker_tick_fn *tick, void *arg)
{
    b->tick = tick;
    b->tick_arg = arg;
    b->tick_ms = interval_ms;
    b->tick_at = util_now_ms() + interval_ms;
}

void broker_set_telemetry(struct broker *b, struct telemetry *t)
{
    b->tm = t;
}

int broker_reload(struct broker *b, struct config *live, const struct config *next)
{
    live->heartbeat_ms = next->heartbeat_ms;
    live->liveness = next->liveness;
    live->request_expiry_ms = next->request_expiry_ms;
    live->batch_max = next->batch_max;
    live->batch_ms = next->batch_ms;
    live->max_attempts = next->max_attempts;
    live->lead_poll_ms = next->lead_poll_ms;
    live->alert_statuses = next->alert_statuses;
    publisher_set_alerts(b->pub, next->alert_statuses);
    return (strcmp(live->broker_bind, next->broker_bind) != 0) +
           (strcmp(live->publish_bind, next->publish_bind) != 0) +
           (strcmp(live->spool_path, next->spool_path) != 0) +
           (live->max_message != next->max_message) + (live->hwm != next->hwm) +
           (live->window != next->window);
}

void broker_stats(const struct broker *b, struct broker_stats *st)
{
    *st = b->st;
    st->workers = b->nworkers;
    st->queued = b->spooled;    /* those waiting in the spool, then those in memory */
    st->resident = b->resident;
    int64_t oldest = 0;
    for (size_t i = 0; i < b->nsvcs; i++)
        for (const struct job *j = b->svcs[i]->head; j; j = j->next) {
            st->queued++;
            if (j->queued_us && (!oldest || j->queued_us < oldest))
                oldest = j->queued_us;
        }
    st->oldest_queued_us = oldest ? util_now_us() - oldest : 0;
    st->services = b->nsvcs;
    if (b->zap) {
        struct zap_stats z;
        zap_stats(b->zap, &z);
        st->zap_denied = z.denied;
        st->zap_failed = z.handshake_failed;
    }
    st->in_flight = (size_t)busy_workers(b);
    st->last_seq = spool_last_seq(b->sp);
    st->spool_ok = !b->spool_failed && !b->spool_lost;
    st->spool_lost = b->spool_lost;
    st->draining = b->draining;
    st->leader = b->leader;
    st->lead_epoch = b->lead_epoch;
    outage_stats(b, st);
}

void broker_set_send(struct broker *b, broker_send_fn *fn, void *arg)
{
    b->send = fn;
    b->send_arg = arg;
}

void broker_feed(struct broker *b, struct mdp_msg *m)
{
    char err[256];
    on_message(b, m);
    if (commit(b, err, sizeof err) != 0)
        log_msg(LOG_PRI_ERR, "%s", err);
}

void broker_advance(struct broker *b, int64_t now_ms)
{
    char err[256];
    roster_tick(b, now_ms);
    if (commit(b, err, sizeof err) != 0)
        log_msg(LOG_PRI_ERR, "%s", err);
}

struct check {
    struct broker *b;
    int bad;
    char *err;
    size_t errlen;
};

/* Where j is: the number of queues and workers holding it. */
static int places(const struct broker *b, const char *uuid)
{
    int n = 0;
    for (size_t i = 0; i < b->nsvcs; i++)
        for (const struct job *j = b->svcs[i]->head; j; j = j->next)
            n += strcmp(j->uuid, uuid) == 0;
    for (size_t i = 0; i < b->nworkers; i++)
        n += b->workers[i]->job && strcmp(b->workers[i]->job->uuid, uuid) == 0;
    for (const struct job *j = b->replied; j; j = j->next)
        n += strcmp(j->uuid, uuid) == 0;
    return n;
}

static void check_pending(void *arg, int64_t rowid, const char *uuid, const char *service,
                          const void *body, size_t len)
{
    struct check *c = arg;
    (void)rowid, (void)service, (void)body, (void)len;
    int n = places(c->b, uuid);
    if (n != 1 && !c->bad) {
        c->bad = 1;
        errf(c->err, c->errlen, "pending job %s is in %d places", uuid, n);
    }
}

int broker_check(struct broker *b, char *err, size_t errlen)
{
    size_t forced = 0;
    for (size_t i = 0; i < b->nsvcs; i++) {
        const struct service *s = b->svcs[i];
        const struct job *last = NULL;
        for (const struct job *j = s->head; j; j = j->next) {
            if (j->service != s->name)
                return errf(err, errlen, "a job of %s is queued under %s", j->service, s->name);
            if (j->uuid[0] && spool_get(b->sp, j->uuid, NULL, NULL) != SPOOL_PENDING)
                return errf(err, errlen, "queued job %s is not pending", j->uuid);
            if (j->uuid[0] && places(b, j->uuid) != 1)
                return errf(err, errlen, "job %s is in %d places", j->uuid, places(b, j->uuid));
            last = j;
        }
        if (s->tail != last)
            return errf(err, errlen, "the tail of %s is not its last job", s->name);
        if (s->index != i)
            return errf(err, errlen, "service %s is filed at %zu, found at %zu", s->name, s->index, i);
        if (roster_service(b, s->name, s->len, ROSTER_FIND) != s)
            return errf(err, errlen, "service %s cannot be found by its name", s->name);
        forced += s->head && s->head->uuid[0];
    }
    if (b->nsvcs > (size_t)b->cfg->max_services + forced)
        return errf(err, errlen, "%zu services known, limits.max_services %d", b->nsvcs,
                    b->cfg->max_services);
    for (size_t i = 0; i < b->nworkers; i++) {
        const struct worker *w = b->workers[i];
        for (size_t k = i + 1; k < b->nworkers; k++)
            if (w->job && b->workers[k]->job == w->job)
                return errf(err, errlen, "one job held by two workers");
        if (w->job && w->job->service != w->svc->name)
            return errf(err, errlen, "a worker of %s holds a job of %s", w->svc->name,
                        w->job->service);
        for (size_t k = 0; w->job && k < b->nsvcs; k++)
            for (const struct job *j = b->svcs[k]->head; j; j = j->next)
                if (j == w->job)
                    return errf(err, errlen, "a held job is also queued");
        if (w->job && w->job->uuid[0] &&
            spool_get(b->sp, w->job->uuid, NULL, NULL) != SPOOL_PENDING)
            return errf(err, errlen, "held job %s is not pending", w->job->uuid);
    }
    /* with nothing left in the spool beyond the window, every pending job is in memory */
    struct check c = {b, 0, err, errlen};
    if (!b->draining && b->leader && b->spooled == 0 &&
        spool_pending_after(b->sp, 0, (size_t)b->cfg->window, check_pending, &c) < 0)
        return errf(err, errlen, "spool: cannot read the pending jobs");
    return c.bad ? -1 : 0;
}
