/* check: the whole per-report pipeline the daemon and reportctl share —
 * read a Submission's document (or take its structured Report), check it
 * against its layout, enrich it, and build the Result. */
#ifndef REPORTD_CHECK_H
#define REPORTD_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "report.pb-c.h"

struct checker;

/* Submission.previous: the largest attached previous year's report used, in
 * packed bytes; a larger one is not compared (R-PREV-PARTIAL says so). A
 * message may be this much larger than max_document + 64 KiB. */
#define CHECK_MAX_PREVIOUS ((size_t)1 << 20)

struct checker_options {
    const char *datadir;         /* holds layouts/ and regions.tsv; NULL: util_datadir() */
    /* Severity overrides: parallel arrays of rule ids and severities (0 notice,
     * 1 warning, 2 error); may be empty. Copied. */
    const char *const *override_rules;
    const int *override_severities;
    size_t noverrides;
    size_t max_document;         /* bytes; 0: 8 MiB */
};

/* Load layouts and the region table. Returns NULL with a reason in err. */
struct checker *checker_new(const struct checker_options *opt, char *err, size_t errlen);
void checker_destroy(struct checker **cp);

/* Check one Submission. Never NULL: a document that cannot be read gives a
 * REJECTED Result with the reason. Free with checker_result_free. Thread-safe
 * for concurrent calls on one checker. */
Reportd__Result *checker_run(const struct checker *c, const Reportd__Submission *sub);

/* Unpack a Submission from bytes and check it; an undecodable body gives a
 * REJECTED Result (submission_id "" if unknown). Never NULL. */
Reportd__Result *checker_run_bytes(const struct checker *c, const uint8_t *buf, size_t len);
/* The same, and *reader says what read it: a reader_form_name ("text",
 * "layout", "yaml", "pb", "pdf", "html"), "report" for a structured Report,
 * "none" when there was no Submission. Static strings. */
Reportd__Result *checker_run_bytes_reader(const struct checker *c, const uint8_t *buf, size_t len,
                                          const char **reader);

/* Every Result a checker hands out lives in one arena with all its parts
 * (and borrows from the checker, which must outlive it): read or pack it,
 * never edit, free_unpacked or keep a part past this call. */
void checker_result_free(Reportd__Result *res);

/* What a check knows besides the report itself. Strings are borrowed. */
struct check_meta {
    const char *submission_id;
    const char *body_name;       /* NULL: the name in the report's title */
    const char *region_code;     /* NULL: guessed from the body's name */
    int government;              /* 1 whole government, 0 department, -1 unknown: from the name */
    unsigned year;               /* 0: the year in the title */
    int64_t submitted_at;        /* Unix seconds; 0: unknown (R-DEADLINE not checked) */
    /* The same body's report for the year before (the cross-year rules), or
     * NULL: a first year, nothing compared, no finding. */
    const struct report *previous;
    unsigned previous_year;      /* its year; 0: unknown, taken as year − 1 */
    const char *previous_unusable;   /* a previous year was sent but cannot be used: why */
};

struct report;
struct layouts;

/* Check and enrich an already-read report (and, with meta->previous, the
 * cross-year rules and Enrichment.year_on_year). Never NULL; free with
 * checker_result_free. */
Reportd__Result *checker_check_report(const struct checker *c, const struct report *r,
                                      const struct check_meta *meta);

/* The key that names one body across years, for a report's body name (NULL or
 * "": none, returns NULL) and region code (NULL: guessed from the name):
 * "CODE NAME" — the 6-digit code ("" when unknown) and the name folded by
 * norm_label (white space and quotes dropped, full-width forms half width),
 * with bracketed parts — (…) （…） 〔…〕 【…】 — removed and the names of its
 * province and prefecture dropped from the front, so 江苏省淮安市洪泽区人民政府,
 * 淮安市洪泽区人民政府 and 洪泽区 人民政府 are one body: "320813 洪泽区人民政府".
 * Equal keys, same body. Heap string (free). */
char *checker_body_key(const struct checker *c, const char *name, const char *region_code);

/* A REJECTED Result with the reason. */
Reportd__Result *checker_rejected(const char *submission_id, const char *reason);

/* The layouts the checker loaded. Borrowed. */
const struct layouts *checker_layouts(const struct checker *c);

/* An Alert's top findings: at most this many, errors first. */
#define CHECK_ALERT_TOP 5

/* Build the Alert for a Result (the caller decides whether to send it).
 * Free it with checker_alert_free. */
Reportd__Alert *checker_alert(const Reportd__Result *res);
void checker_alert_free(Reportd__Alert *a);

/* The ruleset version string in every Result. */
const char *checker_ruleset_version(void);

#endif
