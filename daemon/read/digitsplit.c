/* digitsplit: the solver behind the run-together text reader. Two phases,
 * both bounded by one node count:
 *   1. each row alone: every way to cut its run into its cells (no leading
 *      zeros, at most 15 digits a count) that keeps the identities lying
 *      wholly in that row (R-S3-ROWSUM, each T4 block), pruned cell by cell
 *      since counts are ≥ 0;
 *   2. the rows that identities across rows touch (T3's column sums and
 *      balance) combined by backtracking, fewest candidates first, pruning a
 *      partial assignment as soon as one side of an identity is complete and
 *      the other already exceeds it; up to 4 solutions are kept to tell
 *      "exactly one" from "several" and to name the candidates.
 * Identities come from the layout's compiled cell lists (layout.c), so the
 * solver knows no table by name. */
#include "read/digitsplit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define MAX_CANDS 64             /* row splits kept; more is "too many ways" */
#define MAX_INST 128             /* identity instances of one table */
#define MAX_SOLUTIONS 4
#define MAX_DIGITS 15            /* a count; 25 of them still add up within int64 */
#define NOTE_WAYS 3              /* candidates a note lists */

struct inst {
    const char *rule;
    int cells[2][LAYOUT_MAX_TERMS];
    int n[2];
    uint64_t rows;               /* bit per row the terms lie in */
};

struct cand {
    uint8_t cut[LAYOUT_MAX_COLS + 1];   /* cell k is run[cut[k]..cut[k+1]) */
};

struct digitsplit {
    const struct layout_table *lt;
    const char *const *runs;     /* borrowed during digitsplit_solve only */
    const size_t *lens;
    struct cand *cands[LAYOUT_MAX_ROWS];
    int ncands[LAYOUT_MAX_ROWS];
    int more[LAYOUT_MAX_ROWS];   /* found more than MAX_CANDS */
    int choice[LAYOUT_MAX_ROWS]; /* -1: blank or unread */
    char *note[LAYOUT_MAX_ROWS];
    struct inst inst[MAX_INST];
    int ninst;
    uint8_t local[LAYOUT_MAX_ROWS][MAX_INST];   /* per row: its identities lying wholly in it, */
    uint8_t nlocal[LAYOUT_MAX_ROWS];
    uint8_t touch[LAYOUT_MAX_ROWS][MAX_INST];   /* and all that touch it */
    uint8_t ntouch[LAYOUT_MAX_ROWS];
    int64_t value[LAYOUT_MAX_ROWS * LAYOUT_MAX_COLS];
    uint8_t known[LAYOUT_MAX_ROWS * LAYOUT_MAX_COLS];
    unsigned long nodes, max_nodes;
    int over;
    int order[LAYOUT_MAX_ROWS], norder;
    int cur[LAYOUT_MAX_ROWS];
    int sol[MAX_SOLUTIONS][LAYOUT_MAX_ROWS];
    int nsol;
    struct cand work;
};

static void load_instances(struct digitsplit *d)
{
    const struct layout_table *lt = d->lt;
    for (int s = 0; s < lt->nsums; s++) {
        const int *p = lt->sums[s].flat;
        for (int i = 0; i < lt->sums[s].ninst && d->ninst < MAX_INST; i++) {
            struct inst *in = &d->inst[d->ninst++];
            in->rule = lt->sums[s].rule;
            in->rows = 0;
            for (int side = 0; side < 2; side++) {
                in->n[side] = *p++;
                for (int t = 0; t < in->n[side]; t++) {
                    in->cells[side][t] = *p++;
                    in->rows |= 1ull << lt->cell_row[in->cells[side][t]];
                }
            }
        }
    }
    for (int r = 0; r < lt->nrows; r++)
        for (int i = 0; i < d->ninst; i++) {
            if (!(d->inst[i].rows >> r & 1))
                continue;
            d->touch[r][d->ntouch[r]++] = (uint8_t)i;
            if (d->inst[i].rows == 1ull << r)
                d->local[r][d->nlocal[r]++] = (uint8_t)i;
        }
}

/* 0 when the known cells already break the identity (counts are ≥ 0). */
static int inst_possible(const struct digitsplit *d, const struct inst *in)
{
    int64_t sum[2] = {0, 0};
    int open[2] = {0, 0};
    for (int side = 0; side < 2; side++)
        for (int t = 0; t < in->n[side]; t++) {
            int c = in->cells[side][t];
            if (d->known[c])
                sum[side] += d->value[c];
            else
                open[side]++;
        }
    if (!open[0] && !open[1])
        return sum[0] == sum[1];
    if (!open[0] && sum[1] > sum[0])
        return 0;
    if (!open[1] && sum[0] > sum[1])
        return 0;
    return 1;
}

/* Does any identity touching row r (alone when local) fail? */
static int row_possible(const struct digitsplit *d, int r, int local)
{
    int n = local ? d->nlocal[r] : d->ntouch[r];
    const uint8_t *which = local ? d->local[r] : d->touch[r];
    for (int i = 0; i < n; i++)
        if (!inst_possible(d, &d->inst[which[i]]))
            return 0;
    return 1;
}

/* A cell's digits: 1 with *v when they are a number as printed without
 * leading zeros; -1 when no longer cut from pos can be one either. */
static int part_value(const char *p, size_t n, int amount, int64_t *v)
{
    if (n == 0)
        return 0;
    if (p[0] == '0' && n > 1 && p[1] != '.')
        return -1;
    if (p[0] == '.')
        return -1;
    size_t dots = 0, digits = 0;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '.') {
            dots++;
            continue;
        }
        if (++digits > MAX_DIGITS)
            return -1;
        x = x * 10 + (p[i] - '0');
    }
    if (dots > (size_t)(amount ? 1 : 0) || p[n - 1] == '.')
        return 0;
    *v = amount ? 0 : x;        /* amounts are in no identity */
    return 1;
}

static void keep_cand(struct digitsplit *d, int r)
{
    if (d->ncands[r] == MAX_CANDS) {
        d->more[r] = 1;
        return;
    }
    if (!d->cands[r])
        d->cands[r] = xcalloc(MAX_CANDS, sizeof *d->cands[r]);
    d->cands[r][d->ncands[r]++] = d->work;
}

static void enum_row(struct digitsplit *d, int r, int k, size_t pos)
{
    const struct layout_row *row = &d->lt->rows[r];
    if (++d->nodes > d->max_nodes) {
        d->over = 1;
        return;
    }
    if (k == row->ncols) {
        if (pos == d->lens[r])
            keep_cand(d, r);
        return;
    }
    int col = row->cols[k], cell = d->lt->cell_index[r][col];
    size_t left = (size_t)(row->ncols - k - 1);    /* each later cell needs a digit */
    const char *run = d->runs[r];
    for (size_t end = pos + 1; end + left <= d->lens[r] && !d->over && !d->more[r]; end++) {
        if (k == row->ncols - 1)
            end = d->lens[r];   /* the last cell takes the rest */
        int64_t v;
        int ok = part_value(run + pos, end - pos, d->lt->cols[col].amount, &v);
        if (ok < 0)
            break;
        if (!ok)
            continue;
        d->value[cell] = v;
        d->known[cell] = 1;
        d->work.cut[k] = (uint8_t)pos;
        d->work.cut[k + 1] = (uint8_t)end;
        if (row_possible(d, r, 1))
            enum_row(d, r, k + 1, end);
        d->known[cell] = 0;
    }
}

static void set_row(struct digitsplit *d, int r, int c, int on)
{
    const struct layout_row *row = &d->lt->rows[r];
    const struct cand *cd = &d->cands[r][c];
    for (int k = 0; k < row->ncols; k++) {
        int cell = d->lt->cell_index[r][row->cols[k]];
        if (on)
            part_value(d->runs[r] + cd->cut[k], (size_t)(cd->cut[k + 1] - cd->cut[k]),
                       d->lt->cols[row->cols[k]].amount, &d->value[cell]);
        d->known[cell] = (uint8_t)on;
    }
}

static void search(struct digitsplit *d, int depth)
{
    if (++d->nodes > d->max_nodes) {
        d->over = 1;
        return;
    }
    if (depth == d->norder) {
        if (d->nsol < MAX_SOLUTIONS)
            memcpy(d->sol[d->nsol], d->cur, sizeof d->cur);
        d->nsol++;
        return;
    }
    int r = d->order[depth];
    for (int c = 0; c < d->ncands[r] && !d->over && d->nsol < MAX_SOLUTIONS; c++) {
        set_row(d, r, c, 1);
        d->cur[r] = c;
        if (row_possible(d, r, 0))
            search(d, depth + 1);
        set_row(d, r, c, 0);
    }
}

/* "217,1,0,0,0,0,218" */
static void format_cand(const struct digitsplit *d, int r, int c, struct buf *b)
{
    const struct cand *cd = &d->cands[r][c];
    for (int k = 0; k < d->lt->rows[r].ncols; k++) {
        if (k)
            buf_puts(b, ",");
        buf_append(b, d->runs[r] + cd->cut[k], (size_t)(cd->cut[k + 1] - cd->cut[k]));
    }
}

/* "RUN splits N ways: a | b | …" over the candidate indexes in which[n]. */
static char *ways(const struct digitsplit *d, int r, const int *which, int n, int more)
{
    struct buf b = {0};
    buf_append(&b, d->runs[r], d->lens[r]);
    if (n == 0) {
        buf_printf(&b, " has no split into %d numbers written without leading zeros", d->lt->rows[r].ncols);
        const char *last = NULL;
        for (int i = 0; i < d->ninst; i++)
            if (d->inst[i].rows == 1ull << r && (!last || strcmp(last, d->inst[i].rule))) {
                buf_printf(&b, "%s%s", last ? ", " : " that keeps ", d->inst[i].rule);
                last = d->inst[i].rule;
            }
        return buf_take(&b);
    }
    buf_printf(&b, " splits %s%d ways: ", more ? "at least " : "", n);
    for (int i = 0; i < n && i < NOTE_WAYS; i++) {
        if (i)
            buf_puts(&b, " | ");
        format_cand(d, r, which[i], &b);
    }
    if (n > NOTE_WAYS || more)
        buf_puts(&b, " | …");
    return buf_take(&b);
}

static char *row_ways(const struct digitsplit *d, int r)
{
    int all[MAX_CANDS];
    for (int i = 0; i < d->ncands[r]; i++)
        all[i] = i;
    return ways(d, r, all, d->ncands[r], d->more[r]);
}

static int fail_row(const struct digitsplit *d, int r, char *why, int *bad_row, char *err, size_t errlen)
{
    *bad_row = r;
    if (d->lt->nrows == 1)
        errf(err, errlen, "%s: %s", d->lt->id, why);
    else
        errf(err, errlen, "%s row %s: %s", d->lt->id, d->lt->rows[r].id, why);
    free(why);
    return -1;
}

/* Rows alone: fix the unconstrained ones, reject a constrained row with no
 * split, and list the rows the combination must decide. */
static int solve_rows(struct digitsplit *d, int *bad_row, char *err, size_t errlen)
{
    const struct layout_table *lt = d->lt;
    for (int r = 0; r < lt->nrows; r++) {
        d->choice[r] = -1;
        if (!d->lens[r])
            continue;
        uint64_t bit = 1ull << r;
        int local = 0, cross = 0;
        for (int i = 0; i < d->ninst; i++) {
            local |= d->inst[i].rows == bit;
            cross |= (d->inst[i].rows & bit) && d->inst[i].rows != bit;
        }
        if (lt->rows[r].ncols == 1 && !local && !cross) {
            d->work.cut[0] = 0;                        /* one cell: as printed */
            d->work.cut[1] = (uint8_t)d->lens[r];
            keep_cand(d, r);
        } else {
            enum_row(d, r, 0, 0);
        }
        if (d->over)
            return errf(err, errlen, "%s row %s: %.*s: more than %lu search nodes", lt->id,
                        lt->rows[r].id, (int)d->lens[r], d->runs[r], d->max_nodes);
        if (!local && !cross) {
            if (d->ncands[r] == 1)
                d->choice[r] = 0;
            else
                d->note[r] = row_ways(d, r);
            continue;
        }
        if (d->ncands[r] == 0 || d->more[r])
            return fail_row(d, r, row_ways(d, r), bad_row, err, errlen);
        if (!cross) {
            if (d->ncands[r] > 1)
                return fail_row(d, r, row_ways(d, r), bad_row, err, errlen);
            d->choice[r] = 0;
            continue;
        }
        d->order[d->norder++] = r;
    }
    return 0;
}

static int by_cands(const struct digitsplit *d, int a, int b)
{
    return d->ncands[a] - d->ncands[b];
}

static void sort_order(struct digitsplit *d)
{
    for (int i = 1; i < d->norder; i++)
        for (int j = i; j > 0 && by_cands(d, d->order[j - 1], d->order[j]) > 0; j--) {
            int t = d->order[j];
            d->order[j] = d->order[j - 1];
            d->order[j - 1] = t;
        }
}

/* The rows across identities: exactly one combination, or the reason. */
static int solve_combination(struct digitsplit *d, int *bad_row, char *err, size_t errlen)
{
    const struct layout_table *lt = d->lt;
    sort_order(d);
    search(d, 0);
    if (d->over)
        return errf(err, errlen, "%s: more than %lu search nodes combining the rows' splits", lt->id,
                    d->max_nodes);
    int ambiguous = -1;
    for (int i = 0; i < d->norder; i++)
        if (d->ncands[d->order[i]] > 1 && (ambiguous < 0 || d->order[i] < ambiguous))
            ambiguous = d->order[i];
    if (d->nsol == 0 && ambiguous < 0) {
        for (int i = 0; i < d->norder; i++)
            d->choice[d->order[i]] = 0;    /* forced row by row: the sums rules judge the rest */
        return 0;
    }
    if (d->nsol == 0) {
        char *w = row_ways(d, ambiguous);
        *bad_row = ambiguous;
        errf(err, errlen, "%s row %s: %s, and no split of the rows satisfies the column identities",
             lt->id, lt->rows[ambiguous].id, w);
        free(w);
        return -1;
    }
    if (d->nsol == 1) {
        for (int i = 0; i < d->norder; i++)
            d->choice[d->order[i]] = d->sol[0][d->order[i]];
        return 0;
    }
    int n = d->nsol < MAX_SOLUTIONS ? d->nsol : MAX_SOLUTIONS;
    for (int r = 0; r < lt->nrows; r++) {
        int which[MAX_SOLUTIONS], nw = 0;
        for (int s = 0; s < n; s++) {
            if (d->lens[r] == 0 || d->choice[r] >= 0)
                break;
            int dup = 0;
            for (int i = 0; i < nw; i++)
                dup |= which[i] == d->sol[s][r];
            if (!dup)
                which[nw++] = d->sol[s][r];
        }
        if (nw > 1)
            return fail_row(d, r, ways(d, r, which, nw, d->nsol >= MAX_SOLUTIONS), bad_row, err, errlen);
    }
    return errf(err, errlen, "%s: the rows split several ways", lt->id);   /* not reached */
}

struct digitsplit *digitsplit_solve(const struct layout_table *lt, const char *const runs[],
                                    const size_t lens[], unsigned long max_nodes, int *bad_row,
                                    char *err, size_t errlen)
{
    struct digitsplit *d = xcalloc(1, sizeof *d);
    d->lt = lt;
    d->runs = runs;
    d->lens = lens;
    d->max_nodes = max_nodes;
    *bad_row = -1;
    for (int r = 0; r < lt->nrows; r++)
        if (lens[r] > 255 - 1) {
            *bad_row = r;
            errf(err, errlen, "%s row %s: a run of %zu digits is longer than any row", lt->id,
                 lt->rows[r].id, lens[r]);
            goto fail;
        }
    load_instances(d);
    if (solve_rows(d, bad_row, err, errlen) < 0 || solve_combination(d, bad_row, err, errlen) < 0)
        goto fail;
    d->runs = NULL;
    d->lens = NULL;
    return d;
fail:
    digitsplit_destroy(&d);
    return NULL;
}

void digitsplit_destroy(struct digitsplit **dp)
{
    struct digitsplit *d = dp ? *dp : NULL;
    if (!d)
        return;
    for (int r = 0; r < LAYOUT_MAX_ROWS; r++) {
        free(d->cands[r]);
        free(d->note[r]);
    }
    free(d);
    *dp = NULL;
}

int digitsplit_cell(const struct digitsplit *d, int r, int k, size_t *off, size_t *len)
{
    if (d->choice[r] < 0)
        return 0;
    const struct cand *c = &d->cands[r][d->choice[r]];
    *off = c->cut[k];
    *len = (size_t)(c->cut[k + 1] - c->cut[k]);
    return 1;
}

const char *digitsplit_note(const struct digitsplit *d, int r)
{
    return d->note[r];
}

int digitsplit_split(const struct digitsplit *d, int r)
{
    return d->choice[r] >= 0 && d->lt->rows[r].ncols > 1;
}

unsigned long digitsplit_nodes(const struct digitsplit *d)
{
    return d->nodes;
}
