/* sums: evaluates lhs = rhs identities over a table's cells by index. The
 * layout names the rule each identity belongs to; the rule id selects the
 * severity and the message. Counts are whole and never negative here (a
 * negative count is R-CELL-NUMBER's business and counts as missing). */
#include "check/sums.h"

#include <stdio.h>
#include <string.h>

#include "base/util.h"

struct side {
    int64_t known;               /* sum of the terms that are numbers */
    int cells[LAYOUT_MAX_TERMS];
    int n;
    int missing[LAYOUT_MAX_TERMS];
    int nmissing;
};

static void add_term(struct side *s, const struct report_table *t, int cell)
{
    const struct cell *c = &t->cells[cell];
    s->cells[s->n++] = cell;
    if (c->state == CELL_NUMBER && c->value >= 0)
        s->known += c->value;
    else
        s->missing[s->nmissing++] = cell;
}

static void fmt_side(char *out, size_t outlen, const struct side *s)
{
    snprintf(out, outlen, "%s%lld", s->nmissing ? "≥" : "", (long long)s->known);
}

static const char *row_name(const struct layout_table *lt, int r)
{
    return lt->rows[r].label;
}


struct sum_eval {
    const struct layout_sum *sum;
    int row, col;                /* the row or column the identity ran in, or -1 */
    struct side lhs, rhs;
};

static void message(struct finding *f, const struct layout_table *lt, const struct sum_eval *e)
{
    char where_zh[256], where_en[256];
    if (e->row >= 0 && e->sum->each == SUM_EACH_ROW) {
        snprintf(where_zh, sizeof where_zh, "%s「%s」行", lt->id, row_name(lt, e->row));
        snprintf(where_en, sizeof where_en, "%s row %s", lt->id, lt->rows[e->row].id);
    } else if (e->col >= 0 && e->sum->each == SUM_EACH_COLUMN) {
        snprintf(where_zh, sizeof where_zh, "%s「%s」列", lt->id, lt->cols[e->col].label);
        snprintf(where_en, sizeof where_en, "%s column %s", lt->id, lt->cols[e->col].id);
    } else {
        const struct layout_col *c = &lt->cols[e->sum->anchor];
        snprintf(where_zh, sizeof where_zh, "%s「%s」%s", lt->id, c->group ? c->group : "", c->label);
        snprintf(where_en, sizeof where_en, "%s block %s", lt->id, c->id);
    }
    const char *miss_zh = e->lhs.nmissing + e->rhs.nmissing ? "（有空白单元格，按最小可能值计）" : "";
    const char *miss_en = e->lhs.nmissing + e->rhs.nmissing ? " (some cells are blank; their least possible value is used)" : "";
    f->message_zh = xasprintf("%s：各分项之和为 %s，但合计为 %s，二者不相等%s", where_zh,
                              f->expected, f->actual, miss_zh);
    f->message_en = xasprintf("%s: the items add up to %s but the total is %s%s", where_en,
                              f->expected, f->actual, miss_en);
}

static void report_failure(const struct layout_table *lt, const struct sum_eval *e, enum rule_id rule,
                           enum severity sev, int ti, struct findings *out)
{
    struct finding *f = findings_add(out, rule, sev, ti);
    if (e->sum->each == SUM_EACH_ROW)
        f->row = e->row;
    else if (e->sum->each == SUM_EACH_COLUMN)
        f->col = e->col;
    else
        f->col = e->sum->anchor, f->row = -1;
    /* expected: what the lhs (the total) should be, i.e. the rhs items */
    fmt_side(f->expected, sizeof f->expected, &e->rhs);
    fmt_side(f->actual, sizeof f->actual, &e->lhs);
    for (int i = 0; i < e->lhs.n && f->ncells < FINDING_MAX_CELLS; i++)
        f->cells[f->ncells++] = e->lhs.cells[i];
    for (int i = 0; i < e->rhs.n && f->ncells < FINDING_MAX_CELLS; i++)
        f->cells[f->ncells++] = e->rhs.cells[i];
    for (int i = 0; i < e->lhs.nmissing && f->nmissing < FINDING_MAX_CELLS; i++)
        f->missing[f->nmissing++] = e->lhs.missing[i];
    for (int i = 0; i < e->rhs.nmissing && f->nmissing < FINDING_MAX_CELLS; i++)
        f->missing[f->nmissing++] = e->rhs.missing[i];
    message(f, lt, e);
}

/* Decide lhs = rhs: 1 holds or undecidable, 0 broken. With missing terms on
 * one side only, that side is at least its known sum; it is broken when that
 * already exceeds the other, complete side. */
static int decide(int64_t lk, int lm, int64_t rk, int rm)
{
    if (!lm && !rm)
        return lk == rk;
    if (lm && rm)
        return 1;
    return lm ? !(lk > rk) : !(rk > lk);
}

static int holds(const struct sum_eval *e)
{
    return decide(e->lhs.known, e->lhs.nmissing, e->rhs.known, e->rhs.nmissing);
}

static int cell_at(const struct layout_table *lt, int row, int col)
{
    return lt->cell_index[row][col];
}

static void eval_one(const struct report_table *t, const struct layout_table *lt, struct sum_eval *e)
{
    const struct layout_sum *s = e->sum;
    e->lhs.known = e->rhs.known = 0;
    e->lhs.n = e->rhs.n = e->lhs.nmissing = e->rhs.nmissing = 0;
    for (int side = 0; side < 2; side++) {
        const int *terms = side ? s->rhs : s->lhs;
        int n = side ? s->nrhs : s->nlhs;
        struct side *sd = side ? &e->rhs : &e->lhs;
        for (int i = 0; i < n; i++) {
            int cell = s->each == SUM_EACH_COLUMN ? cell_at(lt, terms[i], e->col)
                                                  : cell_at(lt, e->row, terms[i]);
            if (cell >= 0)
                add_term(sd, t, cell);
        }
    }
}

/* The fast path over the compiled cell lists (layout.c): sums and missing
 * counts only; *pp moves to the next instance. The cells are listed
 * (eval_one) only for a broken identity. */
static int quick_holds(const struct cell *cells, const int **pp)
{
    const int *p = *pp;
    int64_t known[2] = {0, 0};
    int missing[2] = {0, 0};
    for (int side = 0; side < 2; side++) {
        int n = *p++;
        for (int i = 0; i < n; i++) {
            const struct cell *c = &cells[*p++];
            if (c->state == CELL_NUMBER && c->value >= 0)
                known[side] += c->value;
            else
                missing[side]++;
        }
    }
    *pp = p;
    return decide(known[0], missing[0], known[1], missing[1]);
}

void sums_check_table(const struct report *r, int ti, const enum severity sev[RULE_COUNT],
                      struct findings *out)
{
    const struct report_table *t = &r->tables[ti];
    if (!t->layout)
        return;
    const struct layout_table *lt = &t->layout->tables[ti];
    for (int k = 0; k < lt->nsums; k++) {
        const struct layout_sum *s = &lt->sums[k];
        int rule = s->rule_id;
        if (rule < 0)
            continue;            /* a layout may name rules a newer reportd knows */
        struct sum_eval e = {.sum = s, .row = 0, .col = -1};
        const int *flat = s->flat;
        for (int i = 0; i < s->ninst; i++) {
            if (quick_holds(t->cells, &flat))
                continue;
            if (s->each == SUM_EACH_COLUMN)
                e.col = i, e.row = -1;
            else
                e.row = s->each == SUM_EACH_ROW ? i : 0;
            eval_one(t, lt, &e);
            if (!holds(&e))
                report_failure(lt, &e, (enum rule_id)rule, sev[rule], ti, out);
        }
    }
}
