/* services: the names the broker answers itself, without a worker.
 *   mmi.service NAME            → "200" | "404"; other mmi.* → "501"   (8/MMI)
 *   titanic.request / reply / close                     (9/TSP, titanic.c)
 *   reportd.replay FROM [TO [PREFIX…]] → "200", NEXT, LAST, (topic, seq, body)*
 *       | "410 …" when FROM..TO reaches what retention removed
 *   reportd.deadletter list | show UUID | retry UUID → "200" JSON [raw] | "404"
 * Every request gets exactly one answer; a malformed one gets a "400" that
 * says what was expected. */
#include "broker/services.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "conf/config.h"
#include "check/jsonout.h"
#include "wire/mdp.h"
#include "wire/titanic_id.h"
#include "broker/roster.h"
#include "broker/spool.h"
#include "broker/outage.h"
#include "broker/titanic.h"

#define REPLAY_LIMIT 1000       /* messages per reportd.replay answer */

int services_internal(const char *name, size_t len)
{
    static const char *const prefixes[] = {"mmi.", "titanic.", "reportd."};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(prefixes[i]);
        if (len >= n && memcmp(name, prefixes[i], n) == 0)
            return 1;
    }
    return 0;
}

struct replay {
    struct mdp_msg *out;
    const struct mdp_msg *req;
    size_t prefix0;             /* first prefix frame */
    uint64_t next;
    uint64_t bytes, max;        /* message bytes in the answer, and its limit */
};

static int replay_one(void *arg, uint64_t seq, const char *topic, const void *body, size_t len)
{
    struct replay *r = arg;
    int match = r->prefix0 >= r->req->n;
    for (size_t i = r->prefix0; !match && i < r->req->n; i++) {
        size_t n = mdp_msg_size(r->req, i);
        match = strlen(topic) >= n && memcmp(topic, mdp_msg_data(r->req, i), n) == 0;
    }
    if (match && r->bytes && r->bytes + len > r->max)
        return 1;               /* the answer is full: NEXT stays at seq */
    r->next = seq + 1;
    if (match) {
        r->bytes += len;
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

/* The replay bytes this client (ROUTER identity id) got in this window; the
 * window starts again (every count 0) each limits.replay_window seconds. */
static struct replay_credit *credit(struct broker *b, const void *id, size_t idlen)
{
    int64_t now = util_now_ms();
    if (now >= b->replay_window_end) {
        for (size_t i = 0; i < b->ncredits; i++)
            free(b->credits[i].id);
        b->ncredits = 0;
        b->replay_spent = 0;
        b->replay_window_end = now + (int64_t)b->cfg->replay_window * 1000;
    }
    for (size_t i = 0; i < b->ncredits; i++)
        if (b->credits[i].idlen == idlen && memcmp(b->credits[i].id, id, idlen) == 0)
            return &b->credits[i];
    b->credits = xrealloc(b->credits, (b->ncredits + 1) * sizeof *b->credits);
    struct replay_credit *c = &b->credits[b->ncredits++];
    c->id = xmalloc(idlen ? idlen : 1);
    memcpy(c->id, id, idlen);
    c->idlen = idlen;
    c->spent = 0;
    return c;
}

static void replay(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p)
{
    uint64_t from = frame_u64(m, p->body, 0), to = frame_u64(m, p->body + 1, UINT64_MAX);
    if (from == 0) {
        roster_answer_status(b, m, p, "400 expected: FROM [TO [PREFIX…]], FROM >= 1");
        return;
    }
    /* what one client may have queued and unread is bounded by its budget,
     * what all clients may, by four budgets: a client that asks and never
     * reads cannot grow the broker */
    uint64_t budget = (uint64_t)b->cfg->replay_budget;
    struct replay_credit *c = credit(b, mdp_msg_data(m, 0), mdp_msg_size(m, 0));
    int mine = c->spent >= budget;
    if (mine || b->replay_spent >= 4 * budget) {
        log_msg(LOG_PRI_WARNING, "reportd.replay refused: %s had %llu bytes of replay in the last "
                "%d s (limits.replay_budget %llu)", mine ? "a client" : "all clients",
                (unsigned long long)(mine ? c->spent : b->replay_spent), b->cfg->replay_window,
                (unsigned long long)(mine ? budget : 4 * budget));
        roster_answer_status(b, m, p, mine ? "500 replay budget of this client spent: retry later"
                                           : "500 replay budget of the broker spent: retry later");
        return;
    }
    uint64_t last = spool_last_seq(b->sp), first = spool_first_seq(b->sp);
    /* what retention removed: 1 .. first - 1, or all up to last when none is kept */
    uint64_t removed = first ? first - 1 : last;
    if (from <= removed && from <= to) {
        char why[200];
        if (first)
            snprintf(why, sizeof why, "410 sequence %llu and before were removed by retention "
                     "(spool.retention.published_days %d); the oldest kept is %llu",
                     (unsigned long long)removed, b->cfg->retention_published_days,
                     (unsigned long long)first);
        else
            snprintf(why, sizeof why, "410 sequence %llu and before were removed by retention "
                     "(spool.retention.published_days %d); none is kept, the next is %llu",
                     (unsigned long long)removed, b->cfg->retention_published_days,
                     (unsigned long long)last + 1);
        roster_answer_status(b, m, p, why);
        return;
    }
    struct mdp_msg *out = mdp_client_answer(m, p, "200");
    struct mdp_msg *items = mdp_msg_new();
    struct replay r = {items, m, p->body + 2, from, 0, (uint64_t)b->cfg->replay_bytes};
    if (spool_replay(b->sp, from, to, REPLAY_LIMIT, replay_one, &r) != 0)
        log_msg(LOG_PRI_ERR, "spool: replay failed");
    c->spent += r.bytes;
    b->replay_spent += r.bytes;
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
    roster_answer(b, &out);
}

static void dead_json(void *arg, const struct spool_dead *d)
{
    struct jsonout_dead j = {.uuid = d->uuid, .submission_id = d->submission_id,
                             .reason = d->reason, .attempts = d->attempts,
                             .updated_at = (long long)d->updated_at, .service = d->service,
                             .bytes = d->len};
    json_array_append_new(arg, jsonout_dead_json(&j));
}

static void add_body(void *arg, const struct spool_dead *d)
{
    if (mdp_frames_unpack(arg, d->body, d->len) < 0)
        mdp_msg_add(arg, d->body, d->len);
}

static void deadletter(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p)
{
    char uuid[33] = "", err[256];
    json_t *arr = json_array();
    int is_list = mdp_msg_is(m, p->body, "list") && m->n == p->body + 1;
    int is_one = (mdp_msg_is(m, p->body, "show") || mdp_msg_is(m, p->body, "retry")) &&
                 m->n == p->body + 2 &&
                 titanic_id_parse(mdp_msg_data(m, p->body + 1), mdp_msg_size(m, p->body + 1),
                                  uuid) == 0;
    if (!is_list && !is_one) {
        roster_answer_status(b, m, p, "400 expected: list | show UUID | retry UUID");
    } else if (is_list) {
        spool_each_dead(b->sp, dead_json, arr);
        char *text = json_dumps(arr, JSON_COMPACT);
        struct mdp_msg *out = mdp_client_answer(m, p, "200");
        mdp_msg_addstr(out, text);
        roster_answer(b, &out);
        free(text);
    } else if (spool_dead_get(b->sp, uuid, dead_json, arr) != 1) {
        roster_answer_status(b, m, p, "404");
    } else if (mdp_msg_is(m, p->body, "show")) {
        char *text = json_dumps(json_array_get(arr, 0), JSON_COMPACT);
        struct mdp_msg *out = mdp_client_answer(m, p, "200");
        mdp_msg_addstr(out, text);
        free(text);
        spool_dead_get(b->sp, uuid, add_body, out);
        roster_answer(b, &out);
    } else {
        /* pending again at the end of the line: read from the spool after the commit */
        int rc = spool_retry(b->sp, uuid, err, sizeof err);
        if (rc < 0) {
            log_msg(LOG_PRI_ERR, "%s", err);
        } else if (rc == 1) {
            b->spooled++;
            if (b->st.dead_waiting > 0)
                b->st.dead_waiting--;
        }
        log_msg(LOG_PRI_NOTICE, "dead letter %s handed out again", uuid);
        roster_answer_status(b, m, p, "200");
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
    struct service *s = roster_service(b, name, len, ROSTER_FIND);
    return s && s->nworkers > 0;
}

void services_handle(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p)
{
    if (outage_refuse(b, m, p))
        return;
    if (mdp_msg_is(m, p->service, "mmi.service")) {
        int ok = p->body < m->n &&
                 service_known(b, mdp_msg_data(m, p->body), mdp_msg_size(m, p->body));
        roster_answer_status(b, m, p, ok ? "200" : "404");
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
        roster_answer_status(b, m, p, "501");
    }
}
