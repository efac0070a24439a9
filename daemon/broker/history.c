/* history: see history.h. The previous year is looked up when the job comes
 * into memory (accepted, or read back from the spool after a restart or when
 * the window frees), while the spool is the loop's: a body's 2024 submitted
 * before its 2023 Result is recorded is checked without history. */
#include "broker/history.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "check/check.h"
#include "conf/config.h"
#include "report.pb-c.h"
#include "wire/envelope.h"
#include "wire/mdp.h"
#include "broker/broker_private.h"
#include "broker/spool.h"

/* A varint at p; returns its length. */
static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Field 8, PreviousReport { year = 1; report = 2 }, then field 9 = true. */
static uint8_t *append_fields(const void *frame, size_t flen, unsigned year, const void *report,
                              size_t rlen, size_t *out)
{
    uint8_t head[32], inner[16];
    size_t ni = 0;
    if (report) {
        inner[ni++] = 0x08;                     /* year, varint */
        ni += put_varint(inner + ni, year);
        inner[ni++] = 0x12;                     /* report, length-delimited */
        ni += put_varint(inner + ni, rlen);
    }
    size_t nh = 0;
    if (report) {
        head[nh++] = 0x42;                      /* previous, length-delimited */
        nh += put_varint(head + nh, ni + rlen);
    }
    uint8_t *buf = xmalloc(flen + nh + ni + rlen + 2);
    size_t n = 0;
    memcpy(buf, frame, flen);
    n += flen;
    memcpy(buf + n, head, nh);
    n += nh;
    memcpy(buf + n, inner, ni);
    n += ni;
    if (rlen)
        memcpy(buf + n, report, rlen);
    n += rlen;
    buf[n++] = 0x48;                            /* want_report, varint */
    buf[n++] = 0x01;
    *out = n;
    return buf;
}

void history_attach(struct broker *b, struct job *j, const struct envelope_submission *env)
{
    if (!b->checker || strcmp(j->service, b->cfg->service) != 0 || j->body->n == 0)
        return;
    char why[200];
    const void *frame = mdp_msg_data(j->body, 0);
    size_t flen = mdp_msg_size(j->body, 0);
    struct envelope_submission read;
    if (!env && envelope_submission(frame, flen, &read, why, sizeof why) != 0)
        return;                 /* the worker answers REJECTED: nothing to ask for */
    if (!env)
        env = &read;
    void *report = NULL;
    size_t rlen = 0;
    unsigned year = env->has_year ? env->year : 0;
    if (!env->has_previous && year > 1 && env->body_name.p) {
        char *name = envelope_strdup(env->body_name), *code = envelope_strdup(env->body_region);
        char *key = checker_body_key(b->checker, name, code);
        if (key && spool_history_get(b->sp, key, year - 1, &report, &rlen) == 1 &&
            rlen + 32 > CHECK_MAX_PREVIOUS) {
            log_job(LOG_PRI_NOTICE, &(struct log_job){j->submission_id, -1, NULL},
                    "job %s: %s %u in the history is %zu bytes, over %zu: not attached", j->uuid,
                    key, year - 1, rlen, CHECK_MAX_PREVIOUS);
            free(report);
            report = NULL;
        }
        free(key);
        free(name);
        free(code);
    }
    size_t n;
    uint8_t *buf = append_fields(frame, flen, year - 1, report, rlen, &n);
    struct mdp_msg *body = mdp_msg_new();
    mdp_msg_add(body, buf, n);
    for (size_t i = 1; i < j->body->n; i++)
        mdp_msg_addframe(body, j->body, i);
    mdp_msg_destroy(&j->body);
    j->body = body;
    free(buf);
    free(report);
}

void *history_strip(struct broker *b, const void *result, size_t len,
                    const struct envelope_result *r, struct history_entry *e, size_t *outlen)
{
    memset(e, 0, sizeof *e);
    if (!r->has_report)
        return NULL;
    uint8_t *report;
    size_t rlen;
    void *out = envelope_strip_report(result, len, outlen, &report, &rlen);
    if (b->checker && r->status != REPORTD__STATUS__STATUS_REJECTED && r->has_year && r->year &&
        r->has_body && r->body_name.len) {
        char *name = envelope_strdup(r->body_name), *code = envelope_strdup(r->body_region);
        e->key = checker_body_key(b->checker, name, code);
        e->year = r->year;
        e->report = report;
        e->len = rlen;
        report = NULL;
        free(name);
        free(code);
    }
    free(report);
    return out;
}

int history_record(struct broker *b, const struct history_entry *e, const char *submission_id,
                   char *err, size_t errlen)
{
    if (!e->key)
        return 0;
    return spool_history_put(b->sp, e->key, e->year, submission_id, e->report, e->len, err,
                             errlen);
}

void history_entry_free(struct history_entry *e)
{
    free(e->key);
    free(e->report);
    memset(e, 0, sizeof *e);
}
