/* ctl_submit: `reportctl submit FILE…`. Durable by default (9/TSP): every
 * Submission goes through titanic.request, pipelined, and counts as accepted
 * on any "200" + UUID (reportd's, derived from the submission id, or one the
 * server chose); then titanic.reply is polled until each has its Result —
 * matched to its submission by the Result's submission id, not by arrival
 * order —, which is printed, and titanic.close tidies up. A timeout replaces
 * the socket and resends with the same submission ids (Lazy Pirate): reportd
 * derives the UUID from the id, so a resend is never a second job there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "read/reader.h"
#include "wire/client.h"
#include "ctl/commands.h"
#include "ctl/ctl.h"
#include "ctl/ctlnet.h"
#include "read/reader.h"
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
    int fail_on;                /* exit 1 when a Result's status is at or above it (4: never) */
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
        char uuid[TITANIC_ID_LEN + 1];
        if (r && mdp_msg_is(r, 0, "titanic.request") && mdp_msg_is(r, 1, "200") && r->n == 3 &&
            titanic_id_parse(mdp_msg_data(r, 2), mdp_msg_size(r, 2), uuid) == 0) {
            it = by_uuid(items, n, uuid, TITANIC_ID_LEN);
            if (!it || it->state != ITEM_SENT)
                it = oldest(items, fifo, &head, tail, ITEM_SENT);
        }
        if (it) {
            memcpy(it->uuid, uuid, sizeof it->uuid);
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
        if (pending == 0) {
            /* done only when every acknowledged item has its Result or its
             * refusal: one still waiting (its answer given to another) is
             * asked again next round */
            size_t waiting = 0;
            for (size_t i = 0; i < n; i++)
                waiting += items[i].state == ITEM_ACKED;
            if (waiting == 0)
                return 0;
        }
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

struct submit_parse {
    struct submit_opts *o;
    struct ctl_endpoints *ep;
};

static int take_opt(void *ctx, int key, const char *arg)
{
    struct submit_opts *o = ((struct submit_parse *)ctx)->o;
    int rc = ctlnet_option(((struct submit_parse *)ctx)->ep, key, arg);
    long v;
    if (rc != 0)
        return rc < 0 ? CTL_EX_CONFIG : 0;
    switch (key) {
    case 'n': o->wait = 0; return 0;
    case 'p': o->plain = 1; return 0;
    case 'r': o->region = arg; return 0;
    case 'N': o->name = arg; return 0;
    case 'i': o->id = arg; return 0;
    case 'F': return ctl_fail_on(arg, &o->fail_on);
    case 'k':
        o->kind = !strcmp(arg, "department") ? 1 : !strcmp(arg, "government") ? 2 : -1;
        if (o->kind > 0)
            return 0;
        fprintf(stderr, "reportctl: --kind must be department or government, not '%s'\n", arg);
        return CTL_EX_USAGE;
    case 'f':
        /* "auto" is reader.h's "detect": the worker detects the form */
        if ((o->form = !strcmp(arg, "auto") ? READER_DETECT : reader_form_parse(arg)) >= 0)
            return 0;
        fprintf(stderr, "reportctl: --form must be auto, text, layout, flat, yaml, pb, pdf or html, not '%s'\n", arg);
        return CTL_EX_USAGE;
    }
    /* the numbers */
    static const struct { int key; const char *name; long min, max; } nums[] = {
        {'y', "--year", 2000, 2100},   {'R', "--repeat", 1, 1000000},
        {'t', "--timeout", 10, 3600000}, {'T', "--retries", 0, 1000}, {'w', "--wait", 1, 86400},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (nums[i].key != key)
            continue;
        if (ctl_number(nums[i].name, arg, nums[i].min, nums[i].max, &v) != 0)
            return CTL_EX_USAGE;
        int *slot = key == 'y' ? &o->year : key == 'R' ? &o->repeat : key == 't' ? &o->timeout_ms
                    : key == 'T' ? &o->tries : &o->wait_s;
        *slot = (int)v;
        return 0;
    }
    return CTL_EX_USAGE;
}

/* -1 when parsed (operands from *first), else the exit code. */
static int parse_opts(int argc, char **argv, struct submit_opts *o, struct ctl_endpoints *ep,
                      int *first)
{
    struct submit_parse p = {o, ep};
    int rc = ctl_parse(argc, argv, take_opt, &p, first);
    if (rc >= 0)
        return rc;
    if (*first >= argc)
        return ctl_usage_error("submit", "no FILE to submit");
    if (o->id && (argc - *first > 1 || o->repeat > 1))
        return ctl_usage_error("submit", "--id takes one FILE and no --repeat");
    return -1;
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

/* The exit code once every item is settled: 65 refused or dead-lettered,
 * 75 accepted but its Result not fetched (when waiting), else 1 when a Result's status is at or above --fail-on, else 0. */
static int outcome(const struct item *items, size_t n, int fail_on, int waited)
{
    int rc = CTL_EX_OK;
    for (size_t i = 0; i < n; i++) {
        if (items[i].state == ITEM_FAILED)
            return CTL_EX_DATAERR;
        if (waited && items[i].state == ITEM_ACKED)   /* accepted, Result not fetched */
            return CTL_EX_TEMPFAIL;
        if (items[i].state == ITEM_DONE && items[i].status >= fail_on)
            rc = CTL_EX_FINDINGS;
    }
    return rc;
}

int ctl_submit(int argc, char **argv)
{
    struct submit_opts o = {.repeat = 1, .timeout_ms = 5000, .tries = 5, .wait = 1,
                            .wait_s = 600, .fail_on = REPORTD__STATUS__STATUS_FAIL};
    struct ctl_endpoints ep;
    int first;
    ctlnet_defaults(&ep);
    int rc = parse_opts(argc, argv, &o, &ep, &first);
    if (rc < 0 && ctlnet_keys(&ep) != 0)
        rc = CTL_EX_CONFIG;
    if (rc >= 0) {
        ctlnet_free(&ep);
        return rc;
    }
    rc = CTL_EX_OK;
    size_t nfiles = (size_t)(argc - first), n = nfiles * (size_t)o.repeat;
    struct item *items = xcalloc(n, sizeof *items);
    char err[512];
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct item *it = &items[i];
        it->file = argv[first + (int)(i % nfiles)];
        if (o.id)
            snprintf(it->sid, sizeof it->sid, "%s", o.id);
        else
            ctlnet_uuid(it->sid);
        titanic_id_for(it->sid, it->uuid);
        if (pack_submission(it, &o, it->file, err, sizeof err) != 0) {
            fprintf(stderr, "reportctl: %s\n", err);
            rc = CTL_EX_NOINPUT;
        }
    }
    void *ctx = zmq_ctx_new();
    struct client *c = ctlnet_client(ctx, &ep);
    if (rc == 0 && o.plain)
        rc = plain_all(c, items, n, &o) ? CTL_EX_UNAVAILABLE : 0;
    else if (rc == 0 && request_all(c, items, n, &o) != 0)
        rc = CTL_EX_UNAVAILABLE;
    else if (rc == 0 && o.wait && wait_all(c, items, n, &o) != 0)
        rc = CTL_EX_TEMPFAIL;
    if (rc == 0 && o.wait && !o.plain)
        close_all(c, items, n);
    if (rc != CTL_EX_NOINPUT)
        report(items, n);
    if (rc == 0)
        rc = outcome(items, n, o.fail_on, o.wait && !o.plain);
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
