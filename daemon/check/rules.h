/* rules: the per-report rules that are not summation identities — structure,
 * cell values, bounds, section text, the deadline — each a C function named by
 * its rule id, plus the driver that runs them and the layout's sums. */
#ifndef REPORTD_RULES_H
#define REPORTD_RULES_H

#include <stdint.h>

#include "report/findings.h"
#include "report/report.h"

struct rules_ctx {
    const struct layouts *layouts;
    const enum severity *severity;   /* [RULE_COUNT], after config overrides */
    unsigned year;                   /* report year, 0 when unknown */
    int government;                  /* 1: a whole government (due 31 March), 0: department, -1 unknown */
    int64_t submitted_at;            /* Unix seconds, 0 when unknown */
};

/* A whole count ≥ 0 at (row id, column id) of table ti: 1 with *v, 0 when
 * the table, row or column is absent or the cell is not a clean number. */
int rules_count(const struct report *r, int ti, const char *row, const char *col, int64_t *v);

/* Point f at (row, col) of table lt (layout indexes) and add that cell to its
 * cells when it exists. */
void rules_at_cell(struct finding *f, const struct layout_table *lt, int row, int col);

/* Run every rule on r and append the findings to out. */
void rules_check_report(const struct rules_ctx *ctx, const struct report *r, struct findings *out);

/* The deadline of a report for year Y (31 Jan or 31 Mar of Y+1) as a day
 * number (days since 1970-01-01), and the day number of a Unix time in China
 * (UTC+8). */
long rules_deadline_day(unsigned year, int government);
long rules_china_day(int64_t unix_seconds);
/* Format a day number as YYYY-MM-DD. */
void rules_format_day(long day, char *out, size_t outlen);

#endif
