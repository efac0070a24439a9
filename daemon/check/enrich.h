/* enrich: the derived figures a Result carries — T3 totals and rates, T4
 * counts and correction rates with the dashboard ratings, the region's names,
 * the deadline, and the SHA-256 fingerprint of the report's canonical content. */
#ifndef REPORTD_ENRICH_H
#define REPORTD_ENRICH_H

#include <stddef.h>
#include <stdint.h>

#include "report/report.h"
#include "report.pb-c.h"

struct regions;
struct evp_md_st;
struct arena;

struct enrich_ctx {
    const struct regions *regions;   /* may be NULL */
    const struct evp_md_st *sha256;  /* fetched once by the caller */
    const char *region_code;         /* from the Submission, or NULL: guessed from the name */
    const char *body_name;           /* NULL: the name in the title */
    unsigned year;                   /* 0: unknown */
    int government;                  /* 1 government, 0 department, -1 unknown */
    int64_t submitted_at;            /* 0: unknown */
    struct arena *arena;             /* where e's parts go; NULL: the heap */
};

/* Fill e (a fresh, initialized message). With ctx->arena every part comes from
 * it and the region's names are borrowed from ctx->regions; without, every
 * string and sub-message is heap-allocated so protobuf_c_message_free_unpacked
 * (…, NULL) frees it. */
void enrich_report(const struct enrich_ctx *ctx, const struct report *r, Reportd__Enrichment *e);

/* e->year_on_year: e's figures (filled by enrich_report) minus those of
 * prev, the same body's report for prev_year; each delta absent when either
 * year's figure is. The YearOnYear comes from arena a (NULL: the heap). */
void enrich_year_on_year(struct arena *a, const struct report *prev, unsigned prev_year,
                         Reportd__Enrichment *e);

/* Only the region (from ctx->region_code, or guessed from ctx->body_name):
 * for a Result without a report (REJECTED), so it still names its region. */
void enrich_region(const struct enrich_ctx *ctx, Reportd__Enrichment *e);

/* Append the canonical content of r (what the fingerprint hashes: the layout,
 * each section's text, each table's cells in layout order) to b. */
struct buf;
void enrich_canonical(const struct report *r, struct buf *b);

/* SHA-256 of the canonical content as 64 hex digits into hex[65]. Returns 0,
 * or -1 when the digest failed. */
int enrich_fingerprint(const struct evp_md_st *sha256, const struct report *r, char hex[65]);

#endif
