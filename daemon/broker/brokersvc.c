/* brokersvc: services the broker answers itself.
 *   mmi.service NAME            → "200" | "404"; other mmi.* → "501"   (8/MMI)
 *   titanic.request SERVICE BODY → "200" UUID once committed, "500"  (9/TSP)
 *   titanic.reply UUID → "200" Result | "300" pending | "400" unknown or closed
 *                        | "500 dead letter: …" (retry after `deadletter retry`)
 *   titanic.close UUID → "200"
 *   reportd.replay FROM [TO [PREFIX…]] → "200", NEXT, LAST, (topic, seq, body)*
 *   reportd.deadletter list | show UUID | retry UUID → "200" JSON [raw] | "404"
 * A submission's UUID comes from its submission_id (spool_uuid_for), so the same
 * submission sent twice is one job. */
#include "broker/brokersvc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "conf/config.h"
#include "base/log.h"
#include "wire/mdp.h"
#include "base/pbguard.h"
#include "report.pb-c.h"
#include "broker/roster.h"
#include "broker/spool.h"
#include "base/util.h"

#define REPLAY_LIMIT 1000       /* messages per reportd.replay answer */

int brokersvc_internal(const char *name, size_t len)
{
    static const char *const prefixes[] = {"mmi.", "titanic.", "reportd."};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(prefixes[i]);
        if (len >= n && memcmp(name, prefixes[i], n) == 0)
            return 1;
    }
    return 0;
}

static struct mdp_msg *answer(const struct mdp_msg *req, const struct mdp_parsed *p,
                              const char *status)
{
    struct mdp_msg *m = mdp_msg_new();
    mdp_msg_addframe(m, req, 0);
    mdp_msg_add(m, "", 0);
    mdp_msg_addstr(m, MDP_CLIENT);
    mdp_msg_addframe(m, req, p->service);
    mdp_msg_addstr(m, status);
    return m;
}

static void send_answer(struct broker *b, struct mdp_msg **mp)
{
    if (mdp_msg_send(*mp, b->router, ZMQ_DONTWAIT) != 0)
        broker_log(b, "a client left before its answer");
    mdp_msg_destroy(mp);
}

static void reply_status(struct broker *b, const struct mdp_msg *req, const struct mdp_parsed *p,
                         const char *status)
{
    struct mdp_msg *m = answer(req, p, status);
    send_answer(b, &m);
}

static int body_uuid(const struct mdp_msg *m, size_t i, char uuid[33])
{
    if (i >= m->n || mdp_msg_size(m, i) != 32)
        return -1;
    memcpy(uuid, mdp_msg_data(m, i), 32);
    uuid[32] = '\0';
    for (int k = 0; k < 32; k++)
        if (!strchr("0123456789abcdefABCDEF", uuid[k]))
            return -1;
    for (int k = 0; k < 32; k++)
        if (uuid[k] >= 'A' && uuid[k] <= 'F')
            uuid[k] = (char)(uuid[k] - 'A' + 'a');
    return 0;
}

/* A Submission whose submission_id may name its Titanic job: its strings
 * valid UTF-8 without a hidden NUL ("a\0b" must not become job "a"), its
 * unpacking within a memory budget. NULL otherwise. */
static Reportd__Submission *untrusted_submission(const void *body, size_t len)
{
    char err[200];
    return (Reportd__Submission *)pbguard_unpack(&reportd__submission__descriptor, body, len,
                                                 PBGUARD_BUDGET(len), err, sizeof err);
}

void brokersvc_queue_titanic(struct broker *b, const char *uuid, const char *submission_id,
                             const char *service, const void *body, size_t len)
{
    struct service *s = roster_service(b, service, strlen(service), 1);
    struct job *j = xcalloc(1, sizeof *j);
    snprintf(j->uuid, sizeof j->uuid, "%s", uuid);
    if (submission_id) {
        snprintf(j->submission_id, sizeof j->submission_id, "%s", submission_id);
    } else if (strcmp(service, b->cfg->service) == 0) {
        Reportd__Submission *sub = untrusted_submission(body, len);
        if (sub) {
            snprintf(j->submission_id, sizeof j->submission_id, "%s", sub->submission_id);
            reportd__submission__free_unpacked(sub, NULL);
        }
    }
    j->service = s->name;
    j->body = mdp_msg_new();
    mdp_msg_add(j->body, body, len);
    roster_enqueue(b, s, j, 0);
    roster_dispatch(b, s);
}

static void titanic_request(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p)
{
    char err[256], uuid[33], sid[64] = "";
    b->st.received++;
    if (m->n != p->body + 2 || mdp_msg_size(m, p->body) == 0) {
        broker_log(b, "titanic.request needs exactly: service, body");
        reply_status(b, m, p, "400 expected frames: service, body");
        b->st.rejected++;
        return;
    }
    if (b->draining) {          /* stopping: take no new work; 9/TSP "500" = retry later */
        reply_status(b, m, p, "500");
        b->st.rejected++;
        return;
    }
    char *service = mdp_msg_strdup(m, p->body);
    const void *body = mdp_msg_data(m, p->body + 1);
    size_t len = mdp_msg_size(m, p->body + 1);
    Reportd__Submission *sub = strcmp(service, b->cfg->service) == 0
                                   ? untrusted_submission(body, len) : NULL;
    if (sub && sub->submission_id && sub->submission_id[0]) {
        spool_uuid_for(sub->submission_id, uuid);
        snprintf(sid, sizeof sid, "%s", sub->submission_id);
    } else {
        /* undecodable: stored all the same; the worker will answer REJECTED */
        spool_uuid_for_bytes(service, body, len, uuid);
    }
    if (sub)
        reportd__submission__free_unpacked(sub, NULL);
    int rc = spool_put(b->sp, uuid, sid, service, body, len, err, sizeof err);
    if (rc < 0) {
        broker_log(b, "%s", err);
        reply_status(b, m, p, "500");
        b->st.rejected++;
        free(service);
        return;
    }
    if (rc == 1)
        b->st.accepted++;
    else
        b->st.duplicate++;
    log_job(LOG_PRI_DEBUG, &(struct log_job){sid, -1, NULL}, "%s %s %s", rc == 1 ? "accepted" :
            "duplicate", service, uuid);
    if (rc == 1)
        brokersvc_queue_titanic(b, uuid, sid, service, body, len);
    free(service);
    struct mdp_msg *ack = answer(m, p, "200");
    mdp_msg_addstr(ack, uuid);
    if (spool_uncommitted(b->sp) == 0) {
        send_answer(b, &ack);
        return;
    }
    if (b->nacks == b->capacks) {
        b->capacks = b->capacks ? 2 * b->capacks : 64;
        b->acks = xrealloc(b->acks, b->capacks * sizeof *b->acks);
    }
    b->acks[b->nacks++] = ack;
}

void brokersvc_acks_flush(struct broker *b)
{
    for (size_t i = 0; i < b->nacks; i++)
        send_answer(b, &b->acks[i]);
    b->nacks = 0;
}

void brokersvc_acks_fail(struct broker *b)
{
    for (size_t i = 0; i < b->nacks; i++) {
        struct mdp_msg *ack = b->acks[i];
        if (b->router) {
            struct mdp_msg *m = mdp_msg_new();
            for (size_t k = 0; k < 4; k++)
                mdp_msg_addframe(m, ack, k);
            mdp_msg_addstr(m, "500");
            send_answer(b, &m);
        }
        mdp_msg_destroy(&ack);
    }
    b->nacks = 0;
}

static void titanic_reply(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p)
{
    char uuid[33];
    if (m->n != p->body + 1 || body_uuid(m, p->body, uuid) != 0) {
        reply_status(b, m, p, "400 expected one frame: a 32-hex-digit UUID");
        return;
    }
    void *reply = NULL;
    size_t len = 0;
    int state = spool_get(b->sp, uuid, &reply, &len);
    if (state == SPOOL_DONE) {
        struct mdp_msg *out = answer(m, p, "200");
        mdp_msg_add(out, reply, len);
        send_answer(b, &out);
    } else if (state == SPOOL_PENDING) {
        reply_status(b, m, p, "300");
    } else if (state == SPOOL_DEAD) {
        reply_status(b, m, p, "500 dead letter: see reportctl deadletter show");
    } else {
        reply_status(b, m, p, "400");
    }
    free(reply);
}

static void titanic_close(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p)
{
    char uuid[33], err[256];
    if (m->n != p->body + 1 || body_uuid(m, p->body, uuid) != 0) {
        reply_status(b, m, p, "400 expected one frame: a 32-hex-digit UUID");
        return;
    }
    if (spool_close_job(b->sp, uuid, err, sizeof err) != 0) {
        broker_log(b, "%s", err);
        reply_status(b, m, p, "500");
        return;
    }
    reply_status(b, m, p, "200");
}

struct replay {
    struct mdp_msg *out;
    const struct mdp_msg *req;
    size_t prefix0;             /* first prefix frame */
    uint64_t next;
};

static int replay_one(void *arg, uint64_t seq, const char *topic, const void *body, size_t len)
{
    struct replay *r = arg;
    r->next = seq + 1;
    int match = r->prefix0 >= r->req->n;
    for (size_t i = r->prefix0; !match && i < r->req->n; i++) {
        size_t n = mdp_msg_size(r->req, i);
        match = strlen(topic) >= n && memcmp(topic, mdp_msg_data(r->req, i), n) == 0;
    }
    if (match) {
        char seqs[24];
        snprintf(seqs, sizeof seqs, "%llu", (unsigned long long)seq);
        mdp_msg_addstr(r->out, topic);
        mdp_msg_addstr(r->out, seqs);
        mdp_msg_add(r->out, body, len);
    }
    return 0;
}

static uint64_t frame_u64(const struct mdp_msg *m, size_t i, uint64_t dflt)
{
    if (i >= m->n || mdp_msg_size(m, i) == 0 || mdp_msg_size(m, i) > 20)
        return dflt;
    char *s = mdp_msg_strdup(m, i), *end;
    unsigned long long v = strtoull(s, &end, 10);
    int ok = *end == '\0';
    free(s);
    return ok ? (uint64_t)v : dflt;
}

static void replay(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p)
{
    uint64_t from = frame_u64(m, p->body, 0), to = frame_u64(m, p->body + 1, UINT64_MAX);
    if (from == 0) {
        reply_status(b, m, p, "400 expected: FROM [TO [PREFIX…]], FROM >= 1");
        return;
    }
    struct mdp_msg *out = answer(m, p, "200");
    struct mdp_msg *items = mdp_msg_new();
    struct replay r = {items, m, p->body + 2, from};
    uint64_t last = spool_last_seq(b->sp);
    if (spool_replay(b->sp, from, to, REPLAY_LIMIT, replay_one, &r) != 0)
        broker_log(b, "spool: replay failed");
    if (r.next == from)         /* nothing in range: skip to its end */
        r.next = (to < last ? to : last) + 1;
    if (r.next < from)
        r.next = from;
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)r.next);
    mdp_msg_addstr(out, buf);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)last);
    mdp_msg_addstr(out, buf);
    for (size_t i = 0; i < items->n; i++)
        mdp_msg_addframe(out, items, i);
    mdp_msg_destroy(&items);
    send_answer(b, &out);
}

static void dead_json(void *arg, const struct spool_dead *d)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:I}", "uuid", d->uuid ? d->uuid : "",
                          "submission_id", d->submission_id ? d->submission_id : "", "reason",
                          d->reason ? d->reason : "", "attempts", d->attempts, "updated_at",
                          (json_int_t)d->updated_at);
    if (d->service) {
        json_object_set_new(o, "service", json_string(d->service));
        json_object_set_new(o, "bytes", json_integer((json_int_t)d->len));
    }
    json_array_append_new(arg, o);
}

static void add_body(void *arg, const struct spool_dead *d)
{
    mdp_msg_add(arg, d->body, d->len);
}

static void retry_dead(void *arg, const struct spool_dead *d)
{
    struct broker *b = arg;
    brokersvc_queue_titanic(b, d->uuid, d->submission_id, d->service, d->body, d->len);
}

static void deadletter(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p)
{
    char uuid[33] = "", err[256];
    json_t *arr = json_array();
    int is_list = mdp_msg_is(m, p->body, "list") && m->n == p->body + 1;
    int is_one = (mdp_msg_is(m, p->body, "show") || mdp_msg_is(m, p->body, "retry")) &&
                 m->n == p->body + 2 && body_uuid(m, p->body + 1, uuid) == 0;
    if (!is_list && !is_one) {
        reply_status(b, m, p, "400 expected: list | show UUID | retry UUID");
    } else if (is_list) {
        spool_each_dead(b->sp, dead_json, arr);
        char *text = json_dumps(arr, JSON_COMPACT);
        struct mdp_msg *out = answer(m, p, "200");
        mdp_msg_addstr(out, text);
        send_answer(b, &out);
        free(text);
    } else if (spool_dead_get(b->sp, uuid, dead_json, arr) != 1) {
        reply_status(b, m, p, "404");
    } else if (mdp_msg_is(m, p->body, "show")) {
        char *text = json_dumps(json_array_get(arr, 0), JSON_COMPACT);
        struct mdp_msg *out = answer(m, p, "200");
        mdp_msg_addstr(out, text);
        free(text);
        spool_dead_get(b->sp, uuid, add_body, out);
        send_answer(b, &out);
    } else {
        spool_dead_get(b->sp, uuid, retry_dead, b);
        if (spool_retry(b->sp, uuid, err, sizeof err) < 0)
            broker_log(b, "%s", err);
        broker_log(b, "dead letter %s handed out again", uuid);
        reply_status(b, m, p, "200");
    }
    json_decref(arr);
}

static int service_known(struct broker *b, const char *name, size_t len)
{
    static const char *const own[] = {"mmi.service", "titanic.request", "titanic.reply",
                                      "titanic.close", "reportd.replay", "reportd.deadletter"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (strlen(own[i]) == len && memcmp(own[i], name, len) == 0)
            return 1;
    struct service *s = roster_service(b, name, len, 0);
    return s && s->nworkers > 0;
}

void brokersvc_handle(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p)
{
    if (mdp_msg_is(m, p->service, "mmi.service")) {
        int ok = p->body < m->n &&
                 service_known(b, mdp_msg_data(m, p->body), mdp_msg_size(m, p->body));
        reply_status(b, m, p, ok ? "200" : "404");
    } else if (mdp_msg_is(m, p->service, "titanic.request")) {
        titanic_request(b, m, p);
    } else if (mdp_msg_is(m, p->service, "titanic.reply")) {
        titanic_reply(b, m, p);
    } else if (mdp_msg_is(m, p->service, "titanic.close")) {
        titanic_close(b, m, p);
    } else if (mdp_msg_is(m, p->service, "reportd.replay")) {
        replay(b, m, p);
    } else if (mdp_msg_is(m, p->service, "reportd.deadletter")) {
        deadletter(b, m, p);
    } else {
        reply_status(b, m, p, "501");
    }
}
