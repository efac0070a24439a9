/* ctl_submit: `reportctl submit FILE…`. Durable by default (9/TSP): every
 * Submission goes through titanic.request, pipelined, and counts as accepted
 * on any "200" + UUID (reportd's, derived from the submission id, or one the
 * server chose); then titanic.reply is polled until each has its Result —
 * matched to its submission by the Result's submission id, not by arrival
 * order —, which is printed, and titanic.close tidies up. A timeout replaces
 * the socket and resends with the same submission ids (Lazy Pirate): reportd
 * derives the UUID from the id, so a resend is never a second job there. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "wire/client.h"
#include "ctl/ctl.h"
#include "ctl/ctlnet.h"
#include "wire/mdp.h"
#include "report.pb-c.h"
#include "wire/titanic_id.h"
#include "base/util.h"
#include "check/jsonout.h"

#define WINDOW 256              /* requests in flight at once */

enum { ITEM_NEW, ITEM_SENT, ITEM_ACKED, ITEM_POLLED, ITEM_DONE, ITEM_FAILED };

struct item {
    const char *file;           /* borrowed from argv */
    char sid[37];
    char uuid[33];
    uint8_t *bytes;             /* packed Submission */
    size_t len;
    int state;
    int status;                 /* Result status once done */
    char *note;                 /* reject reason or failure; owned */
};

struct submit_opts {
    const char *region, *name, *id;
    int kind, year, form, repeat, timeout_ms, tries, wait, plain, wait_s;
};

static int pack_submission(struct item *it, const struct submit_opts *o, const char *file,
                           char *err, size_t errlen)
{
    size_t len;
    char *data = util_read_file(file, 64u << 20, &len, err, errlen);
    if (!data)
        return -1;
    Reportd__Submission s = REPORTD__SUBMISSION__INIT;
    Reportd__Body body = REPORTD__BODY__INIT;
    Reportd__Document doc = REPORTD__DOCUMENT__INIT;
    s.schema_version = 1;
    s.submission_id = it->sid;
    body.name = (char *)o->name;
    body.region_code = (char *)o->region;
    if (o->kind) {
        body.has_kind = 1;
        body.kind = (Reportd__BodyKind)o->kind;
    }
    s.body = &body;
    if (o->year) {
        s.has_year = 1;
        s.year = (uint32_t)o->year;
    }
    s.has_submitted_at = 1;
    s.submitted_at = (int64_t)time(NULL);
    doc.data.data = (uint8_t *)data;
    doc.data.len = len;
    doc.has_form = o->form != 0;
    doc.form = (Reportd__DocumentForm)o->form;
    const char *slash = strrchr(file, '/');
    doc.filename = (char *)(slash ? slash + 1 : file);
    s.content_case = REPORTD__SUBMISSION__CONTENT_DOCUMENT;
    s.document = &doc;
    it->len = reportd__submission__get_packed_size(&s);
    it->bytes = xmalloc(it->len);
    reportd__submission__pack(&s, it->bytes);
    free(data);
    return 0;
}

static void take_result(struct item *it, const void *data, size_t len)
{
    Reportd__Result *r = reportd__result__unpack(NULL, len, data);
    it->state = ITEM_DONE;
    it->status = r ? (int)r->status : -1;
    if (r && r->reject_reason)
        it->note = xstrdup(r->reject_reason);
    else if (r)
        it->note = xasprintf("%zu findings", r->n_findings);
    if (r)
        reportd__result__free_unpacked(r, NULL);
}

static struct item *by_uuid(struct item *items, size_t n, const void *uuid, size_t len)
{
    for (size_t i = 0; i < n && len == 32; i++)
        if (memcmp(items[i].uuid, uuid, 32) == 0)
            return &items[i];
    return NULL;
}

/* A "200" answer's UUID frame: 32 hex digits. */
static int is_uuid(const void *data, size_t len)
{
    const char *s = data;
    if (len != 32)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
            return 0;
    return 1;
}

/* The oldest of the items fifo[*head..tail) still in state, advancing *head
 * past those that are not; NULL when none. */
static struct item *oldest(struct item *items, const size_t *fifo, size_t *head, size_t tail,
                           int state)
{
    while (*head < tail && items[fifo[*head]].state != state)
        (*head)++;
    return *head < tail ? &items[fifo[(*head)++]] : NULL;
}

/* Phase 1: titanic.request every item until each has its 200. Any "200" with
 * a UUID acknowledges: reportd's UUID is derived from the submission id (the
 * item it names), a server that chooses its own (the Guide's titanic.py)
 * answers its requests in order, so the UUID goes to the oldest request
 * still unanswered. */
static int request_all(struct client *c, struct item *items, size_t n,
                       const struct submit_opts *o)
{
    size_t next = 0, inflight = 0, acked = 0, *fifo = xcalloc(n ? n : 1, sizeof *fifo);
    size_t head = 0, tail = 0;
    int fails = 0, rc = 0;
    while (acked < n) {
        for (; next < n && inflight < WINDOW; next++) {
            if (items[next].state != ITEM_NEW)
                continue;
            struct mdp_msg *body = mdp_msg_new();
            mdp_msg_addstr(body, "report.check");
            mdp_msg_add(body, items[next].bytes, items[next].len);
            client_send(c, "titanic.request", body);
            mdp_msg_destroy(&body);
            items[next].state = ITEM_SENT;
            fifo[tail++] = next;
            inflight++;
        }
        struct mdp_msg *r = client_recv(c, o->timeout_ms);
        struct item *it = NULL;
        if (r && mdp_msg_is(r, 0, "titanic.request") && mdp_msg_is(r, 1, "200") && r->n == 3 &&
            is_uuid(mdp_msg_data(r, 2), mdp_msg_size(r, 2))) {
            it = by_uuid(items, n, mdp_msg_data(r, 2), 32);
            if (!it || it->state != ITEM_SENT)
                it = oldest(items, fifo, &head, tail, ITEM_SENT);
        }
        if (it) {
            memcpy(it->uuid, mdp_msg_data(r, 2), 32);
            it->state = ITEM_ACKED;
            inflight--;
            acked++;
            fails = 0;
        } else {
            /* timeout or "500": new socket, resend what has no 200 yet */
            if (++fails > o->tries) {
                mdp_msg_destroy(&r);
                rc = -1;
                break;
            }
            char *what = r && r->n >= 2 ? mdp_msg_strdup(r, 1) : NULL;
            fprintf(stderr, "reportctl: %s%s; resending %zu unacknowledged\n",
                    what ? "broker answered " : "no answer", what ? what : "", inflight);
            free(what);
            if (r)
                usleep(200000);
            client_reconnect(c);
            for (size_t i = 0; i < n; i++)
                if (items[i].state == ITEM_SENT)
                    items[i].state = ITEM_NEW;
            next = inflight = head = tail = 0;
        }
        mdp_msg_destroy(&r);
    }
    free(fifo);
    return rc;
}

/* The item whose submission id the Result in data names, among the
 * unanswered fifo[head..tail); NULL when none does. */
static struct item *by_result(struct item *items, const size_t *fifo, size_t head, size_t tail,
                              const void *data, size_t len)
{
    Reportd__Result *r = reportd__result__unpack(NULL, len, data);
    struct item *it = NULL;
    for (size_t k = head; r && r->submission_id && k < tail && !it; k++)
        if (items[fifo[k]].state == ITEM_ACKED && strcmp(items[fifo[k]].sid, r->submission_id) == 0)
            it = &items[fifo[k]];
    if (r)
        reportd__result__free_unpacked(r, NULL);
    return it;
}

/* One round of titanic.reply over every acknowledged item. A "200" goes to the
 * item its Result names (answers may come in any order); another answer to
 * the oldest unanswered poll. Returns the number still pending, or -1 on
 * timeout. */
static long poll_round(struct client *c, struct item *items, size_t n, int timeout_ms)
{
    size_t *fifo = xcalloc(n ? n : 1, sizeof *fifo), head = 0, tail = 0, i = 0, out = 0;
    long pending = 0;
    for (;;) {
        for (; i < n && out < WINDOW; i++) {
            if (items[i].state != ITEM_ACKED)
                continue;
            struct mdp_msg *body = mdp_msg_new();
            mdp_msg_add(body, items[i].uuid, 32);
            client_send(c, "titanic.reply", body);
            mdp_msg_destroy(&body);
            fifo[tail++] = i;
            out++;
        }
        if (out == 0)
            break;
        struct mdp_msg *r = client_recv(c, timeout_ms);
        if (!r) {
            free(fifo);
            return -1;
        }
        out--;
        int ok = mdp_msg_is(r, 1, "200") && r->n >= 3;
        struct item *it = ok ? by_result(items, fifo, head, tail, mdp_msg_data(r, 2),
                                         mdp_msg_size(r, 2)) : NULL;
        if (!it)
            it = oldest(items, fifo, &head, tail, ITEM_ACKED);
        if (!it) {
            mdp_msg_destroy(&r);
            continue;
        }
        if (ok) {
            take_result(it, mdp_msg_data(r, 2), mdp_msg_size(r, 2));
        } else if (r->n >= 2 && ((const char *)mdp_msg_data(r, 1))[0] == '3') {
            it->state = ITEM_POLLED;        /* pending: asked again next round */
            pending++;
        } else {
            it->state = ITEM_FAILED;
            it->note = r->n >= 2 ? mdp_msg_strdup(r, 1) : xstrdup("bad answer");
        }
        mdp_msg_destroy(&r);
    }
    for (size_t k = 0; k < n; k++)
        if (items[k].state == ITEM_POLLED)
            items[k].state = ITEM_ACKED;
    free(fifo);
    return pending;
}

static int wait_all(struct client *c, struct item *items, size_t n, const struct submit_opts *o)
{
    time_t deadline = time(NULL) + o->wait_s;
    useconds_t pause = 20000;
    int fails = 0;
    for (;;) {
        long pending = poll_round(c, items, n, o->timeout_ms);
        if (pending == 0)
            return 0;
        if (pending < 0) {
            if (++fails > o->tries)
                return -1;
            client_reconnect(c);
        }
        if (time(NULL) > deadline)
            return -1;
        usleep(pause);
        if (pause < 500000)
            pause *= 2;
    }
}

static void close_all(struct client *c, struct item *items, size_t n)
{
    size_t sent = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].state != ITEM_DONE)
            continue;
        struct mdp_msg *body = mdp_msg_new();
        mdp_msg_add(body, items[i].uuid, 32);
        client_send(c, "titanic.close", body);
        mdp_msg_destroy(&body);
        sent++;
    }
    for (; sent > 0; sent--) {
        struct mdp_msg *r = client_recv(c, 2000);
        if (!r)
            break;
        mdp_msg_destroy(&r);
    }
}

static int plain_all(struct client *c, struct item *items, size_t n, const struct submit_opts *o)
{
    char err[256];
    for (size_t i = 0; i < n; i++) {
        struct mdp_msg *body = mdp_msg_new();
        mdp_msg_add(body, items[i].bytes, items[i].len);
        struct mdp_msg *r = client_call(c, "report.check", body, o->timeout_ms, o->tries + 1,
                                        err, sizeof err);
        mdp_msg_destroy(&body);
        if (!r) {
            fprintf(stderr, "reportctl: %s\n", err);
            return -1;
        }
        take_result(&items[i], mdp_msg_data(r, 0), mdp_msg_size(r, 0));
        mdp_msg_destroy(&r);
    }
    return 0;
}

static int parse_opts(int argc, char **argv, struct submit_opts *o, struct ctl_endpoints *ep)
{
    static const struct option opts[] = {
        CTLNET_LONGOPTS,
        {"no-wait", no_argument, NULL, 'n'}, {"plain", no_argument, NULL, 'p'},
        {"region", required_argument, NULL, 'r'}, {"name", required_argument, NULL, 'N'},
        {"kind", required_argument, NULL, 'k'}, {"year", required_argument, NULL, 'y'},
        {"form", required_argument, NULL, 'f'}, {"id", required_argument, NULL, 'i'},
        {"repeat", required_argument, NULL, 'R'}, {"timeout", required_argument, NULL, 't'},
        {"retries", required_argument, NULL, 'T'}, {"wait", required_argument, NULL, 'w'},
        {NULL, 0, NULL, 0}};
    static const char *const forms[] = {"auto", "text", "layout", "yaml", "pb"};
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if ((rc = ctlnet_option(ep, opt, optarg)) != 0) {
            if (rc < 0)
                return 78;
            continue;
        }
        switch (opt) {
        case 'n': o->wait = 0; break;
        case 'p': o->plain = 1; break;
        case 'r': o->region = optarg; break;
        case 'N': o->name = optarg; break;
        case 'i': o->id = optarg; break;
        case 'k': o->kind = !strcmp(optarg, "department") ? 1 : !strcmp(optarg, "government") ? 2 : -1; break;
        case 'y': o->year = atoi(optarg); break;
        case 'R': o->repeat = atoi(optarg); break;
        case 't': o->timeout_ms = atoi(optarg); break;
        case 'T': o->tries = atoi(optarg); break;
        case 'w': o->wait_s = atoi(optarg); break;
        case 'f':
            o->form = -1;
            for (int i = 0; i < 5; i++)
                if (!strcmp(optarg, forms[i]))
                    o->form = i;
            break;
        default: return 64;
        }
    }
    if (optind >= argc || o->kind < 0 || o->form < 0 || o->repeat < 1 || o->timeout_ms < 10 ||
        o->tries < 0 || (o->id && (argc - optind > 1 || o->repeat > 1))) {
        fputs("usage: reportctl submit [--no-wait] [--plain] [--region CODE] [--name N]\n"
              "  [--kind department|government] [--year Y] [--form auto|text|layout|yaml|pb]\n"
              "  [--id UUID] [--repeat N] [--timeout MS] [--retries N] [--wait S]\n"
              "  [--broker EP | -c CONF] [--key FILE --server-key FILE] FILE…\n", stderr);
        return 64;
    }
    return 0;
}

static void report(const struct item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct item *it = &items[i];
        const char *what = it->state == ITEM_DONE ? jsonout_status((Reportd__Status)it->status)
                           : it->state == ITEM_FAILED ? "FAILED"
                           : it->state == ITEM_ACKED ? "ACCEPTED" : "NOT-ACCEPTED";
        printf("%s\t%s\t%s\t%s\n", it->file, it->sid, what, it->note ? it->note : "");
    }
}

int ctl_submit(int argc, char **argv)
{
    struct submit_opts o = {.repeat = 1, .timeout_ms = 5000, .tries = 5, .wait = 1,
                            .wait_s = 600};
    struct ctl_endpoints ep;
    ctlnet_defaults(&ep);
    int rc = parse_opts(argc, argv, &o, &ep);
    if (rc == 0 && ctlnet_keys(&ep) != 0)
        rc = 78;
    if (rc) {
        ctlnet_free(&ep);
        return rc;
    }
    size_t nfiles = (size_t)(argc - optind), n = nfiles * (size_t)o.repeat;
    struct item *items = xcalloc(n, sizeof *items);
    char err[512];
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct item *it = &items[i];
        it->file = argv[optind + (int)(i % nfiles)];
        if (o.id)
            snprintf(it->sid, sizeof it->sid, "%s", o.id);
        else
            ctlnet_uuid(it->sid);
        titanic_id_for(it->sid, it->uuid);
        if (pack_submission(it, &o, it->file, err, sizeof err) != 0) {
            fprintf(stderr, "reportctl: %s\n", err);
            rc = 66;
        }
    }
    void *ctx = zmq_ctx_new();
    struct client *c = ctlnet_client(ctx, &ep);
    if (rc == 0 && o.plain)
        rc = plain_all(c, items, n, &o) ? 69 : 0;
    else if (rc == 0 && request_all(c, items, n, &o) != 0)
        rc = 69;
    else if (rc == 0 && o.wait && wait_all(c, items, n, &o) != 0)
        rc = 75;
    if (rc == 0 && o.wait && !o.plain)
        close_all(c, items, n);
    if (rc != 66)
        report(items, n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (items[i].state == ITEM_FAILED)
            rc = 65;            /* dead-lettered or refused: the input is at fault */
    for (size_t i = 0; i < n; i++) {
        free(items[i].bytes);
        free(items[i].note);
    }
    free(items);
    client_destroy(&c);
    zmq_ctx_term(ctx);
    ctlnet_free(&ep);
    return rc;
}
