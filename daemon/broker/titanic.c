/* titanic: 9/TSP on the spool.
 *   titanic.request SERVICE BODY… → "200" UUID once committed, "500" (retry)
 *   titanic.reply UUID → "200" REPLY… | "300" pending (or the database unreachable)
 *                        | "400" unknown or closed
 *                        | "500 dead letter: …" (retry after `deadletter retry`)
 *   titanic.close UUID → "200"; "300 pending: …" for a job not yet answered
 * A submission's UUID comes from its submission_id (titanic_id_for), so the
 * same submission sent twice is one job while it is open; after
 * titanic.close the same request is a new job under the same UUID (a "200"
 * always means it will be answered). Bodies and replies of any number of
 * frames are stored whole (mdp_frames_pack). Invariant: a "200" to
 * titanic.request leaves only after the spool batch holding the job is
 * committed (the answer waits in b->acks until then). */
#include "broker/titanic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "conf/config.h"
#include "wire/envelope.h"
#include "wire/mdp.h"
#include "wire/titanic_id.h"
#include "broker/history.h"
#include "broker/roster.h"
#include "broker/spool.h"

/* The envelope of a Submission whose submission_id may name its Titanic
 * job: a Submission protobuf-c would unpack, its strings valid UTF-8 without
 * a hidden NUL ("a\0b" must not become job "a"). -1 otherwise. */
static int untrusted_submission(const void *body, size_t len, struct envelope_submission *env)
{
    char err[200];
    return envelope_submission(body, len, env, err, sizeof err);
}

/* A new Titanic job (not queued); submission_id may be NULL; env: the
 * envelope of its Submission when the caller read it, else NULL. */
static struct job *new_job(struct broker *b, const char *uuid, const char *submission_id,
                           const char *service, const void *body, size_t len,
                           const struct envelope_submission *env)
{
    struct service *s = roster_service(b, service, strlen(service), ROSTER_FORCE);
    struct job *j = xcalloc(1, sizeof *j);
    snprintf(j->uuid, sizeof j->uuid, "%s", uuid);
    j->body = mdp_msg_new();
    if (mdp_frames_unpack(j->body, body, len) < 0) {
        log_msg(LOG_PRI_ERR, "job %s: its stored body is truncated; handed out as one frame",
                uuid);
        mdp_msg_add(j->body, body, len);
    }
    struct envelope_submission read;
    if (submission_id) {
        snprintf(j->submission_id, sizeof j->submission_id, "%s", submission_id);
    } else if (strcmp(service, b->cfg->service) == 0 && j->body->n &&
               untrusted_submission(mdp_msg_data(j->body, 0), mdp_msg_size(j->body, 0),
                                    &read) == 0) {
        snprintf(j->submission_id, sizeof j->submission_id, "%.*s",
                 (int)read.submission_id.len, read.submission_id.p ? read.submission_id.p : "");
        env = &read;
    }
    j->service = s->name;
    history_attach(b, j, env);
    return j;
}

/* Queue j at the tail of its service's queue, in memory. */
static void admit(struct broker *b, struct job *j)
{
    struct service *s = roster_service(b, j->service, strlen(j->service), ROSTER_FIND);
    b->resident++;
    roster_enqueue(b, s, j, 0);
    roster_dispatch(b, s);
}

/* 1 when a worker holds the Titanic job uuid. */
static int held(const struct broker *b, const char *uuid)
{
    for (size_t i = 0; i < b->nworkers; i++)
        if (b->workers[i]->job && strcmp(b->workers[i]->job->uuid, uuid) == 0)
            return 1;
    return 0;
}

static void load_one(void *arg, int64_t rowid, const char *uuid, const char *service,
                     const void *body, size_t len)
{
    struct broker *b = arg;
    if (b->resyncing && held(b, uuid)) {       /* in memory already: counted as resident */
        b->cursor = rowid;
        return;
    }
    struct job *j = new_job(b, uuid, NULL, service, body, len, NULL);
    j->rowid = rowid;
    b->cursor = rowid;
    admit(b, j);
}

int titanic_refill(struct broker *b)
{
    if (!b->leader) {           /* a standby hands out no Titanic job */
        b->spooled = 0;
        return 0;
    }
    while (b->spooled && b->resident < (size_t)b->cfg->window) {
        size_t want = (size_t)b->cfg->window - b->resident;
        long n = spool_pending_after(b->sp, b->cursor, want, load_one, b);
        if (n < 0)
            return -1;
        /* fewer than asked: none is left (closed or dead meanwhile, or the count was high) */
        b->spooled = (size_t)n < want || (size_t)n >= b->spooled ? 0 : b->spooled - (size_t)n;
    }
    return 0;
}

size_t titanic_forget(struct broker *b)
{
    size_t dropped = 0;
    while (b->unrecorded) {     /* ends not stored: pending in the database */
        struct job *j = b->unrecorded;
        b->unrecorded = j->next;
        roster_job_drop(b, j);
        dropped++;
    }
    for (size_t i = 0; i < b->nsvcs; i++) {
        struct service *s = b->svcs[i];
        struct job **pp = &s->head, *last = NULL;
        while (*pp) {
            struct job *j = *pp;
            if (j->uuid[0]) {
                *pp = j->next;
                roster_job_drop(b, j);
                dropped++;
                continue;
            }
            last = j;
            pp = &j->next;
        }
        s->tail = last;
    }
    return dropped;
}

int titanic_resync(struct broker *b)
{
    titanic_forget(b);
    long pending = spool_count(b->sp, SPOOL_PENDING), dead = spool_count(b->sp, SPOOL_DEAD);
    if (pending < 0 || dead < 0)
        return -1;
    b->st.dead_waiting = (size_t)dead;
    b->cursor = 0;
    b->spooled = (size_t)pending;
    b->resyncing = 1;
    int rc = titanic_refill(b);
    b->resyncing = 0;
    return rc;
}

/* The job's UUID and submission id (sid[64], "" when the body has none):
 * from the Submission in the first body frame, else from the stored bytes.
 * Returns 1 when *env holds the first frame's envelope, 0 when it is not a
 * Submission of the service. */
static int job_id(const struct broker *b, const char *service, const struct mdp_msg *m,
                  size_t first, const void *stored, size_t len, char uuid[33], char sid[64],
                  struct envelope_submission *env)
{
    int ok = strcmp(service, b->cfg->service) == 0 &&
             untrusted_submission(mdp_msg_data(m, first), mdp_msg_size(m, first), env) == 0;
    if (ok && env->submission_id.len) {
        /* checked: no NUL inside, so the slice is the whole string */
        char *id = envelope_strdup(env->submission_id);
        titanic_id_for(id, uuid);
        snprintf(sid, 64, "%s", id);
        free(id);
    } else {
        /* undecodable: stored all the same; the worker will answer REJECTED */
        titanic_id_for_bytes(service, stored, len, uuid);
    }
    return ok;
}

void titanic_request(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p)
{
    char err[256], uuid[33], sid[64] = "";
    b->st.received++;
    if (m->n < p->body + 2 || mdp_msg_size(m, p->body) == 0) {
        log_msg(LOG_PRI_WARNING, "titanic.request needs frames: service, body…");
        roster_answer_status(b, m, p, "400 expected frames: service, body…");
        b->st.rejected++;
        return;
    }
    if (b->draining) {          /* stopping: take no new work; 9/TSP "500" = retry later */
        roster_answer_status(b, m, p, "500");
        b->st.rejected++;
        return;
    }
    if (b->spool_lost) {        /* nothing written now would survive a restart */
        roster_answer_status(b, m, p, TITANIC_SPOOL_LOST);
        b->st.rejected++;
        return;
    }
    if (!roster_service(b, mdp_msg_data(m, p->body), mdp_msg_size(m, p->body), ROSTER_FIND) &&
        b->nsvcs >= (size_t)b->cfg->max_services) {
        char why[96];
        snprintf(why, sizeof why, "500 too many services (limits.max_services %d): retry later",
                 b->cfg->max_services);
        log_msg(LOG_PRI_WARNING, "titanic.request for a new service refused: %zu services "
                "known (limits.max_services)", b->nsvcs);
        roster_answer_status(b, m, p, why);
        b->st.rejected++;
        return;
    }
    char *service = mdp_msg_strdup(m, p->body);
    size_t len;
    void *body = mdp_frames_pack(m, p->body + 1, &len);
    struct envelope_submission env;
    int has_env = job_id(b, service, m, p->body + 1, body, len, uuid, sid, &env);
    int rc = spool_put(b->sp, uuid, sid, service, body, len, err, sizeof err);
    if (rc < 0) {
        log_job(LOG_PRI_ERR, &(struct log_job){sid, -1, NULL}, "%s", err);
        roster_answer_status(b, m, p, "500");
        b->st.rejected++;
        b->st.spool_failures++;
        free(service);
        free(body);
        return;
    }
    /* the job is queued, and counted, only once its batch is committed */
    struct job *j = NULL;
    if (rc == 1 && b->leader) {     /* a standby's job waits in the spool for the leader */
        j = new_job(b, uuid, sid, service, body, len, has_env ? &env : NULL);
        j->rowid = spool_last_rowid(b->sp);
    }
    free(service);
    free(body);
    struct mdp_msg *ack = mdp_client_answer(m, p, "200");
    mdp_msg_addstr(ack, uuid);
    if (b->nacks == b->capacks) {
        b->capacks = b->capacks ? 2 * b->capacks : 64;
        b->acks = xrealloc(b->acks, b->capacks * sizeof *b->acks);
    }
    b->acks[b->nacks++] = (struct ack){ack, j, rc == 1};
}

void titanic_acks_flush(struct broker *b)
{
    for (size_t i = 0; i < b->nacks; i++) {
        struct job *j = b->acks[i].job;
        const struct mdp_msg *ack = b->acks[i].msg;   /* its last frame: the UUID */
        char uuid[TITANIC_ID_LEN + 1] = "";    /* the frame is not NUL-terminated */
        size_t n = mdp_msg_size(ack, ack->n - 1);
        memcpy(uuid, mdp_msg_data(ack, ack->n - 1), n < TITANIC_ID_LEN ? n : TITANIC_ID_LEN);
        log_job(LOG_PRI_DEBUG, &(struct log_job){j ? j->submission_id : NULL, -1, NULL}, "%s %s",
                j || b->acks[i].fresh ? "accepted" : "duplicate", uuid);
        if (!j && b->acks[i].fresh) {
            b->st.accepted++;   /* a standby's: the leader claims it */
        } else if (!j) {
            b->st.duplicate++;
        } else if (b->spooled == 0 && b->resident < (size_t)b->cfg->window) {
            b->st.accepted++;
            b->cursor = j->rowid;
            admit(b, j);
        } else {                /* the window is full: it waits in the spool, in line */
            b->st.accepted++;
            b->spooled++;
            roster_job_free(j);
        }
        roster_answer(b, &b->acks[i].msg);
    }
    b->nacks = 0;
}

void titanic_acks_fail(struct broker *b, const char *status)
{
    for (size_t i = 0; i < b->nacks; i++) {
        struct mdp_msg *ack = b->acks[i].msg;
        if (b->router) {
            struct mdp_msg *m = mdp_msg_new();
            for (size_t k = 0; k < 4; k++)
                mdp_msg_addframe(m, ack, k);
            mdp_msg_addstr(m, status);
            roster_answer(b, &m);
        }
        mdp_msg_destroy(&ack);
        roster_job_free(b->acks[i].job);
        b->st.rejected++;
    }
    b->nacks = 0;
}

/* The one frame after the service: a UUID, else a 400 was sent. */
static int request_uuid(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p,
                        char uuid[33])
{
    if (m->n == p->body + 1 &&
        titanic_id_parse(mdp_msg_data(m, p->body), mdp_msg_size(m, p->body), uuid) == 0)
        return 0;
    roster_answer_status(b, m, p, "400 expected one frame: a 32-hex-digit UUID");
    return -1;
}

/* Whether the store's database answers (a read that failed on a broken
 * connection marks it down at once). */
static int store_up(struct broker *b)
{
    struct spool_link l;
    spool_link(b->sp, &l);
    return l.up;
}

void titanic_reply(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p)
{
    char uuid[33];
    if (request_uuid(b, m, p, uuid) != 0)
        return;
    void *reply = NULL;
    size_t len = 0;
    int state = spool_get(b->sp, uuid, &reply, &len);
    if (state == SPOOL_DONE) {
        struct mdp_msg *out = mdp_client_answer(m, p, "200");
        if (mdp_frames_unpack(out, reply, len) < 0) {
            log_msg(LOG_PRI_ERR, "job %s: its stored reply is truncated", uuid);
            mdp_msg_destroy(&out);
            out = mdp_client_answer(m, p, "500 stored reply unreadable");
        }
        roster_answer(b, &out);
    } else if (state == SPOOL_PENDING) {
        roster_answer_status(b, m, p, "300");
    } else if (state == SPOOL_DEAD) {
        roster_answer_status(b, m, p, "500 dead letter: see reportctl deadletter show");
    } else if (!store_up(b)) {
        /* the look-up itself found the database gone: not "unknown" — the
         * job may well be there (tests/cluster.sh, a database restart) */
        roster_answer_status(b, m, p, TITANIC_STORE_DOWN_REPLY);
    } else {
        roster_answer_status(b, m, p, "400");
    }
    free(reply);
}

void titanic_close(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p)
{
    char uuid[33], err[256];
    if (request_uuid(b, m, p, uuid) != 0)
        return;
    /* a pending job was acknowledged with "200": it will be answered, so it
     * is not cancelled behind its client's back; close it after its reply */
    if (spool_get(b->sp, uuid, NULL, NULL) == SPOOL_PENDING) {
        log_msg(LOG_PRI_NOTICE, "titanic.close of pending job %s refused", uuid);
        roster_answer_status(b, m, p, "300 pending: not closed; close it after its reply");
        return;
    }
    if (spool_close_job(b->sp, uuid, err, sizeof err) != 0) {
        log_msg(LOG_PRI_ERR, "%s", err);
        roster_answer_status(b, m, p, "500");
        return;
    }
    roster_answer_status(b, m, p, "200");
}
