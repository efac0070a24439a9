/* history: each body's previous year for the jobs of the reportd service
 * (issue 13). The store keeps the latest accepted report of each (body key,
 * year) — checker_body_key —; a job handed to a worker carries the body's
 * year − 1 as Submission.previous, and asks for the report as read
 * (Submission.want_report), which comes back in Result.report: stored in the
 * batch that records the Result, and stripped from the Result before it is
 * stored or published. Workers stay stateless. */
#ifndef REPORTD_HISTORY_H
#define REPORTD_HISTORY_H

#include <stddef.h>

struct broker;
struct job;
struct envelope_result;
struct envelope_submission;

/* Frame 0 of j->body (a Submission of cfg->service) gets field 9
 * (want_report = true) and, when the store holds the body's year − 1 and the
 * Submission has no previous of its own, field 8 (previous) appended: bytes
 * appended to a serialized message merge into it (proto2). Nothing for a body
 * frame that is not a Submission, or when the broker has no checker. env:
 * the frame's envelope when the caller has read it, else NULL. */
void history_attach(struct broker *b, struct job *j, const struct envelope_submission *env);

/* What a Result brought for the history: its key, year and packed Report. */
struct history_entry {
    char *key;
    unsigned year;
    void *report;
    size_t len;
};

/* When the Result result[0..len) (envelope r) carries a report: its bytes
 * into *e when the Result is accepted — not REJECTED — and has a body name and
 * a year (e->key NULL otherwise), and return the Result's bytes without it
 * (heap, *outlen); else NULL (the Result is kept as sent). */
void *history_strip(struct broker *b, const void *result, size_t len,
                    const struct envelope_result *r, struct history_entry *e, size_t *outlen);
/* Store e in the open batch (nothing when e->key is NULL). 0 or -1 with err. */
int history_record(struct broker *b, const struct history_entry *e, const char *submission_id,
                   char *err, size_t errlen);
void history_entry_free(struct history_entry *e);

#endif
