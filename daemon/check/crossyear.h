/* crossyear: the rules across years of report-format.md — a report against
 * the same body's report for the previous year: R-S3-PREV-CARRY,
 * R-S2-CONTINUITY, R-DUP-PREV, R-YOY-JUMP, and R-PREV-PARTIAL (a notice) where
 * last year's report lacks what a rule needs (the 2019 layout, a table or the
 * text absent). */
#ifndef REPORTD_CROSSYEAR_H
#define REPORTD_CROSSYEAR_H

#include "check/rules.h"

/* R-DUP-PREV compares the narrative sections (一, 五, 六) as shingles of
 * CROSSYEAR_SHINGLE code points after folding (norm_fold, every digit as 0,
 * punctuation and symbols dropped); the score is the share of last year's
 * distinct shingles found again this year, in per mille. */
#define CROSSYEAR_SHINGLE 5
#define CROSSYEAR_DUP_LIMIT 500          /* per mille: more than this is R-DUP-PREV */
#define CROSSYEAR_DUP_MIN 100            /* last year's distinct shingles: fewer, not compared */
#define CROSSYEAR_TEXT_MAX 262144        /* code points of each year's text compared at most */
/* R-YOY-JUMP: a total that grew more than ×5 or fell below ×0.2, when the
 * larger of the two years' figures is at least CROSSYEAR_JUMP_MIN. */
#define CROSSYEAR_JUMP_MIN 10

/* Check r (for ctx->year) against prev, the same body's report for prev_year
 * (0: unknown, taken as ctx->year − 1), appending findings to out. A prev
 * for another year than ctx->year − 1 is not compared: one R-PREV-PARTIAL
 * says so. Returns 1 when the years were compared, 0 when not. */
int crossyear_check(const struct rules_ctx *ctx, const struct report *r, const struct report *prev,
                    unsigned prev_year, struct findings *out);

/* The R-PREV-PARTIAL notice for a previous year that was sent but cannot be
 * used (why: in English, e.g. the reader's reason). */
void crossyear_unusable(const struct rules_ctx *ctx, const char *why, struct findings *out);

/* How much of prev's narrative text reappears in r's, in per mille of prev's
 * distinct shingles; -1 when prev has fewer than CROSSYEAR_DUP_MIN of them.
 * *nprev (may be NULL) gets that number of shingles. */
int crossyear_repeated(const struct report *prev, const struct report *r, size_t *nprev);

#endif
