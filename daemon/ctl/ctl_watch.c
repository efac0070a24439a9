/* ctl_watch: `reportctl watch [PREFIX…]` — a SUB on the broker's XPUB that
 * prints every message in sequence order. The baseline is the broker's last
 * sequence number when watching starts (or --from SEQ). A message whose
 * sequence number skips ahead makes it ask reportd.replay for the skipped
 * range (filtered by the same prefixes, so a prefix subscriber's expected
 * "gaps" cost one empty answer); after --idle-check ms of silence it asks
 * for anything newer, so a lost last message is found too. Duplicates (seq at
 * or below the last printed) are skipped.
 *
 * With several publishers (--publish EP,EP: brokers that share a store and
 * one sequence) the SUB connects to every one; each sequence number is
 * printed once, in order. A message that skips ahead is held (not printed)
 * while the gap may still be filled by another publisher; after HOLD_MS with
 * nothing left to read and the gap still open, the gap is replayed and the
 * held messages follow. */
#include <limits.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "wire/client.h"
#include "ctl/commands.h"
#include "ctl/ctl.h"
#include "ctl/ctlnet.h"
#include "wire/mdp.h"
#include "report.pb-c.h"
#include "base/util.h"
#include "check/jsonout.h"

#define HOLD_MS 500             /* with several publishers: how long a gap may wait */
#define MAX_HELD 100000         /* beyond: replay the gap at once */

struct held {
    uint64_t seq;
    char *topic;
    struct mdp_msg *m;          /* topic, seq, body */
};

struct watch {
    struct client *broker;
    int hold_ms;                /* 0: replay a gap at once (one publisher) */
    struct held *held;          /* sorted by seq, all above last + 1 */
    size_t nheld, capheld;
    int64_t held_since;
    char **prefixes;
    int nprefixes;
    int json;
    uint64_t last;              /* highest sequence number printed or skipped */
    long count, printed;        /* stop after count printed (0: never) */
    unsigned long gaps, replayed;
};

/* One line of text: seq topic, then what the message says. */
static void print_text(const char *topic, uint64_t seq, const void *body, size_t len,
                       int replayed)
{
    printf("%llu %s%s", (unsigned long long)seq, topic, replayed ? " (replayed)" : "");
    if (strncmp(topic, "result.", 7) == 0) {
        Reportd__Result *r = reportd__result__unpack(NULL, len, body);
        if (r)
            printf(" %s %s %zu findings%s%s", r->submission_id, jsonout_status(r->status),
                   r->n_findings, r->reject_reason ? ": " : "",
                   r->reject_reason ? r->reject_reason : "");
        reportd__result__free_unpacked(r, NULL);
    } else if (strncmp(topic, "alert.", 6) == 0) {
        Reportd__Alert *a = reportd__alert__unpack(NULL, len, body);
        if (a)
            printf(" %s %s %s %u errors", a->submission_id, jsonout_status(a->status),
                   a->body && a->body->name ? a->body->name : "", a->has_errors ? a->errors : 0);
        reportd__alert__free_unpacked(a, NULL);
    } else {
        printf(" %.*s", (int)len, (const char *)body);
    }
    putchar('\n');
}

/* One JSON line: {"seq","topic","replayed"} and the message under its kind —
 * "result", "alert" (jsonout's objects) or "deadletter" (already JSON). */
static void print_json(const char *topic, uint64_t seq, const void *body, size_t len,
                       int replayed)
{
    json_t *o = json_object(), *m = NULL;
    const char *kind = "deadletter";
    json_object_set_new(o, "seq", json_integer((json_int_t)seq));
    json_object_set_new(o, "topic", json_string(topic));
    json_object_set_new(o, "replayed", json_boolean(replayed));
    if (strncmp(topic, "result.", 7) == 0) {
        Reportd__Result *r = reportd__result__unpack(NULL, len, body);
        kind = "result";
        m = r ? jsonout_result_json(r, NULL) : NULL;
        reportd__result__free_unpacked(r, NULL);
    } else if (strncmp(topic, "alert.", 6) == 0) {
        Reportd__Alert *a = reportd__alert__unpack(NULL, len, body);
        kind = "alert";
        m = a ? jsonout_alert_json(a) : NULL;
        reportd__alert__free_unpacked(a, NULL);
    } else {
        m = json_loadb(body, len, 0, NULL);
    }
    json_object_set_new(o, kind, m ? m : json_null());
    char *s = jsonout_text(o);
    puts(s);
    free(s);
}

static void print_msg(struct watch *w, const char *topic, uint64_t seq, const void *body,
                      size_t len, int replayed)
{
    if (w->json)
        print_json(topic, seq, body, len, replayed);
    else
        print_text(topic, seq, body, len, replayed);
    fflush(stdout);
    w->printed++;
    w->replayed += (unsigned long)replayed;
}

static uint64_t frame_u64(const struct mdp_msg *m, size_t i)
{
    char *s = mdp_msg_strdup(m, i);
    uint64_t v = strtoull(s, NULL, 10);
    free(s);
    return v;
}

/* One reportd.replay call: from, to ("" = open end), the prefixes. Returns
 * ["200", next, last, (topic, seq, body)*] or NULL (printed). */
static struct mdp_msg *replay_call(struct watch *w, uint64_t from, uint64_t to)
{
    char err[256], buf[24];
    struct mdp_msg *req = mdp_msg_new();
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)from);
    mdp_msg_addstr(req, buf);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)to);
    mdp_msg_addstr(req, to == UINT64_MAX ? "" : buf);
    for (int i = 0; i < w->nprefixes; i++)
        mdp_msg_addstr(req, w->prefixes[i]);
    struct mdp_msg *r = client_call(w->broker, "reportd.replay", req, 3000, 3, err, sizeof err);
    mdp_msg_destroy(&req);
    if (!r || !mdp_msg_is(r, 0, "200") || r->n < 3) {
        /* a refusal says why (410: retention removed the range) */
        char *why = r && r->n ? mdp_msg_strdup(r, 0) : NULL;
        fprintf(stderr, "reportctl: replay: %s\n", why ? why : r ? "refused" : err);
        free(why);
        mdp_msg_destroy(&r);
        return NULL;
    }
    return r;
}

/* The broker's last sequence number, or -1. */
static long long broker_last(struct watch *w)
{
    struct mdp_msg *r = replay_call(w, 1, 0);
    long long last = r ? (long long)frame_u64(r, 2) : -1;
    mdp_msg_destroy(&r);
    return last;
}

/* Fetch and print from..to (inclusive, UINT64_MAX: open) from reportd.replay.
 * Returns 0, or -1 when the broker did not answer (w->last then stays). */
static int replay(struct watch *w, uint64_t from, uint64_t to)
{
    while (from <= to) {
        struct mdp_msg *r = replay_call(w, from, to);
        if (!r)
            return -1;
        uint64_t next = frame_u64(r, 1), last = frame_u64(r, 2);
        for (size_t i = 3; i + 3 <= r->n; i += 3) {
            char *topic = mdp_msg_strdup(r, i);
            uint64_t seq = frame_u64(r, i + 1);
            if (seq > w->last && (!w->count || w->printed < w->count))
                print_msg(w, topic, seq, mdp_msg_data(r, i + 2), mdp_msg_size(r, i + 2), 1);
            if (seq > w->last)
                w->last = seq;
            free(topic);
        }
        mdp_msg_destroy(&r);
        /* filtered-out messages leave holes: the range itself is now covered */
        uint64_t covered = (next > 0 ? next - 1 : 0);
        if (covered > last)
            covered = last;
        if (covered > w->last && (to == UINT64_MAX || covered <= to))
            w->last = covered;
        if (next <= from || next > last || next > to)
            break;
        from = next;
    }
    return 0;
}

/* Print what is held and now next in line; drop what is at or below last. */
static void drain_held(struct watch *w)
{
    size_t k = 0;
    for (; k < w->nheld && w->held[k].seq <= w->last + 1; k++) {
        struct held *h = &w->held[k];
        if (h->seq == w->last + 1 && (!w->count || w->printed < w->count)) {
            print_msg(w, h->topic, h->seq, mdp_msg_data(h->m, 2), mdp_msg_size(h->m, 2), 0);
            w->last = h->seq;
        }
        free(h->topic);
        mdp_msg_destroy(&h->m);
    }
    if (k == 0)
        return;
    memmove(w->held, w->held + k, (w->nheld - k) * sizeof *w->held);
    w->nheld -= k;
    w->held_since = util_now_ms();              /* what is left waits anew */
}

/* Keep m (seq above last + 1) in order, once per sequence number. */
static void hold(struct watch *w, char *topic, uint64_t seq, struct mdp_msg **m)
{
    size_t i = 0;
    while (i < w->nheld && w->held[i].seq < seq)
        i++;
    if (i < w->nheld && w->held[i].seq == seq) {  /* the other publisher's copy */
        free(topic);
        return;
    }
    if (w->nheld == w->capheld) {
        w->capheld = w->capheld ? 2 * w->capheld : 16;
        w->held = xrealloc(w->held, w->capheld * sizeof *w->held);
    }
    memmove(w->held + i + 1, w->held + i, (w->nheld - i) * sizeof *w->held);
    w->held[i] = (struct held){seq, topic, *m};
    *m = NULL;
    if (w->nheld++ == 0)
        w->held_since = util_now_ms();
}

/* The gap before the first held message: replay it, then print what is held. */
static void fill_gap(struct watch *w)
{
    if (w->nheld == 0)
        return;
    w->gaps++;
    replay(w, w->last + 1, w->held[0].seq - 1);
    if (w->last < w->held[0].seq - 1)            /* the broker did not answer: go on */
        w->last = w->held[0].seq - 1;
    drain_held(w);
}

static void on_live(struct watch *w, struct mdp_msg **mp)
{
    struct mdp_msg *m = *mp;
    if (m->n != 3)
        return;
    uint64_t seq = frame_u64(m, 1);
    if (seq <= w->last)
        return;                                   /* printed already (or another publisher's copy) */
    char *topic = mdp_msg_strdup(m, 0);
    if (seq > w->last + 1 && w->hold_ms > 0) {
        hold(w, topic, seq, mp);
        if (w->nheld >= MAX_HELD)
            fill_gap(w);
        return;
    }
    if (seq > w->last + 1) {
        w->gaps++;
        replay(w, w->last + 1, seq - 1);
    }
    if (seq > w->last && (!w->count || w->printed < w->count)) {
        print_msg(w, topic, seq, mdp_msg_data(m, 2), mdp_msg_size(m, 2), 0);
        w->last = seq;
    }
    free(topic);
    drain_held(w);
}

/* One SUB connected to every publisher in endpoints (EP[,EP…]); *n is how many. */
static void *subscribe(void *ctx, const struct watch *w, const char *endpoints,
                       const struct curve_keys *curve, int *n)
{
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    int hwm = 1000000, linger = 0;
    zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    int64_t maxmsg = 64LL << 20;                /* bytes: one published Result or Alert */
    zmq_setsockopt(sub, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    for (int i = 0; i < w->nprefixes; i++)
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, w->prefixes[i], strlen(w->prefixes[i]));
    if (w->nprefixes == 0)
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    keys_apply_client(sub, curve);
    char *copy = xstrdup(endpoints), *save = NULL;
    *n = 0;
    for (char *t = strtok_r(copy, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save))
        if (zmq_connect(sub, t) == 0)
            (*n)++;
        else
            fprintf(stderr, "reportctl: watch: cannot connect to %s: %s\n", t, zmq_strerror(zmq_errno()));
    free(copy);
    return sub;
}

/* Print live messages until --count is reached or --idle ms pass quietly. */
static void follow(struct watch *w, void *sub, long long idle_exit)
{
    int64_t quiet_since = util_now_ms();
    while (!w->count || w->printed < w->count) {
        zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
        long wait = 1000;
        if (w->nheld > 0) {
            int64_t left = w->held_since + w->hold_ms - util_now_ms();
            wait = left < 0 ? 0 : left < wait ? (long)left : wait;
        }
        if (zmq_poll(&item, 1, wait) < 0)
            break;
        if (item.revents & ZMQ_POLLIN) {
            struct mdp_msg *m = mdp_msg_recv(sub, 0, 8);
            if (m)
                on_live(w, &m);
            mdp_msg_destroy(&m);
            quiet_since = util_now_ms();
            continue;
        }
        if (w->nheld > 0) {                       /* nothing to read, the gap still open */
            if (util_now_ms() - w->held_since >= w->hold_ms)
                fill_gap(w);
            continue;
        }
        replay(w, w->last + 1, UINT64_MAX);     /* a quiet second: anything we missed? */
        if (idle_exit && util_now_ms() - quiet_since >= idle_exit)
            break;
    }
}

struct watch_parse {
    struct watch *w;
    struct ctl_endpoints *ep;
    long from, idle_exit;
};

static int take_opt(void *ctx, int key, const char *arg)
{
    struct watch_parse *p = ctx;
    int rc = ctlnet_option(p->ep, key, arg);
    if (rc != 0)
        return rc < 0 ? CTL_EX_CONFIG : 0;
    switch (key) {
    case 'j': p->w->json = 1; return 0;
    case 'f': return ctl_number("--from", arg, 1, LONG_MAX, &p->from);
    case 'n': return ctl_number("--count", arg, 1, LONG_MAX, &p->w->count);
    case 'i': return ctl_number("--idle", arg, 1, LONG_MAX, &p->idle_exit);
    default: return CTL_EX_USAGE;
    }
}

int ctl_watch(int argc, char **argv)
{
    struct ctl_endpoints ep;
    struct watch w = {0};
    struct watch_parse p = {&w, &ep, 0, 0};
    int first, rc;
    ctlnet_defaults(&ep);
    if ((rc = ctl_parse(argc, argv, take_opt, &p, &first)) < 0 && ctlnet_keys(&ep) != 0)
        rc = CTL_EX_CONFIG;
    if (rc >= 0) {
        ctlnet_free(&ep);
        return rc;
    }
    long long from = p.from, idle_exit = p.idle_exit;
    w.prefixes = argv + first;
    w.nprefixes = argc - first;
    void *ctx = zmq_ctx_new();
    int npub = 0;
    void *sub = subscribe(ctx, &w, ep.publish, &ep.curve, &npub);
    w.hold_ms = npub > 1 ? HOLD_MS : 0;
    w.broker = ctlnet_client(ctx, &ep);
    /* baseline: --from, else everything already published is history */
    if (from > 0) {
        w.last = (uint64_t)from - 1;
        replay(&w, w.last + 1, UINT64_MAX);
    } else {
        long long last = broker_last(&w);
        w.last = last > 0 ? (uint64_t)last : 0;
    }
    /* ready: whatever is published from here on is printed (a message the
     * subscription missed comes back through reportd.replay) */
    fprintf(stderr, "reportctl: watch: following from seq %llu\n", (unsigned long long)w.last);
    fflush(stderr);
    follow(&w, sub, idle_exit);
    fprintf(stderr, "reportctl: watch: %ld printed, %lu gaps, %lu replayed, last seq %llu\n",
            w.printed, w.gaps, w.replayed, (unsigned long long)w.last);
    for (size_t i = 0; i < w.nheld; i++) {
        free(w.held[i].topic);
        mdp_msg_destroy(&w.held[i].m);
    }
    free(w.held);
    client_destroy(&w.broker);
    zmq_close(sub);
    zmq_ctx_term(ctx);
    ctlnet_free(&ep);
    return 0;
}
