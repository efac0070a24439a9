/* fit: choose, table by table, the layout whose rows and cell counts the
 * document has, assign cells by the layout's order, and keep a row's printed
 * label when it is not the official one (R-STRUCT-SHAPE reports it). A table
 * that fits no layout is a read error naming what was found and expected. */
#include "read/fit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "report/norm.h"

/* Is needle's code point sequence a subsequence of hay's? */
static int subsequence(const char *needle, const char *hay)
{
    size_t nl = strlen(needle), hl = strlen(hay), i = 0, j = 0;
    while (i < nl) {
        uint32_t a, b;
        size_t ka = util_utf8_next(needle + i, nl - i, &a);
        if (!ka)
            return 0;
        for (;;) {
            if (j >= hl)
                return 0;
            size_t kb = util_utf8_next(hay + j, hl - j, &b);
            if (!kb)
                return 0;
            j += kb;
            if (a == b)
                break;
        }
        i += ka;
    }
    return 1;
}

static int matches_norm(const struct layout_row *row, const char *printed_norm)
{
    for (size_t v = 0; v < row->match.n; v++)
        if (subsequence(row->match.v[v], printed_norm))
            return 1;
    return 0;
}

int fit_label_matches(const struct layout_row *row, const char *printed)
{
    if (matches_norm(row, printed))
        return 1;                /* as printed: white space between is skipped anyway */
    char *p = norm_label(printed);
    int ok = matches_norm(row, p);
    free(p);
    return ok;
}

unsigned fit_title_year(const char *title, char **body)
{
    if (body)
        *body = NULL;
    if (!title)
        return 0;
    for (const char *p = title; *p; p++) {
        if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9' ||
            p[3] < '0' || p[3] > '9' || (p > title && p[-1] >= '0' && p[-1] <= '9'))
            continue;
        const char *q = p + 4;
        while (*q == ' ')
            q++;
        if (strncmp(q, "年", 3))
            continue;
        unsigned y = (unsigned)atoi(p);
        if (y < 2000 || y > 2100)
            continue;
        if (body && p > title) {
            const char *e = p;
            while (e > title && e[-1] == ' ')
                e--;
            *body = xstrndup(title, (size_t)(e - title));
        }
        return y;
    }
    return 0;
}

/* How well raw table rt fits layout table lt: -1 when the rows or cell
 * counts differ, else the number of rows whose label matches; ok[r] says
 * which. A single-row table (T4) has no row labels to match. */
static int fit_score(const struct layout_table *lt, const struct rawtable *rt, char ok[LAYOUT_MAX_ROWS])
{
    if ((int)rt->nrows != lt->nrows)
        return -1;
    for (int r = 0; r < lt->nrows; r++)
        if ((int)rt->rows[r].ntokens != lt->rows[r].ncols)
            return -1;
    int score = 0;
    for (int r = 0; r < lt->nrows; r++) {
        ok[r] = lt->nrows == 1 || fit_label_matches(&lt->rows[r], rt->rows[r].label);
        score += ok[r];
    }
    return score;
}

static void fill_table(struct report *r, int ti, const struct layout *l, const struct rawtable *rt,
                       const char ok[LAYOUT_MAX_ROWS])
{
    const struct layout_table *lt = &l->tables[ti];
    report_set_table(r, ti, l);
    struct report_table *t = &r->tables[ti];
    for (int row = 0; row < lt->nrows; row++) {
        const struct rawrow *rr = &rt->rows[row];
        if (!ok[row])
            t->printed[row] = xstrdup(rr->label);
        for (int k = 0; k < lt->rows[row].ncols; k++) {
            int col = lt->rows[row].cols[k];
            struct cell *c = &t->cells[lt->cell_index[row][col]];
            const struct rawtoken *tok = &rr->tokens[k];
            report_parse_cell(c, tok->text, strlen(tok->text), lt->cols[col].amount);
            c->line = tok->line;
            c->col = tok->col;
        }
    }
}

/* Explain why no layout fits: the first difference from the year's layout. */
static int misfit(const struct layouts *ls, const struct rawdoc *d, int ti, unsigned year,
                  char *err, size_t errlen)
{
    const struct rawtable *rt = &d->tables[ti];
    const struct layout *want = layouts_for_year(ls, year);
    if (!want)
        want = ls->v[0];
    const struct layout_table *lt = &want->tables[ti];
    const char *fn = d->filename ? d->filename : "<document>";
    char counts[128] = "";
    for (int k = 0; k < ls->n; k++) {
        size_t n = strlen(counts);
        snprintf(counts + n, sizeof counts - n, "%s%d (%u layout)", k ? " or " : "",
                 ls->v[k]->tables[ti].nrows, ls->v[k]->version);
    }
    if ((int)rt->nrows != lt->nrows) {
        size_t mode = rt->nrows ? rt->rows[0].ntokens : 0;
        return errf(err, errlen, "%s:%u: %s: found %zu rows of %zu cells, expected %s", fn, rt->line,
                    layout_table_id(ti), rt->nrows, mode, counts);
    }
    for (int r = 0; r < lt->nrows; r++)
        if ((int)rt->rows[r].ntokens != lt->rows[r].ncols)
            return errf(err, errlen, "%s:%u: %s row %d (\"%s\"): found %zu cells, expected %d", fn,
                        rt->rows[r].line, layout_table_id(ti), r + 1, rt->rows[r].label,
                        rt->rows[r].ntokens, lt->rows[r].ncols);
    return errf(err, errlen, "%s:%u: %s: the rows do not match the %u layout", fn, rt->line,
                layout_table_id(ti), want->version);
}

static int fit_table(const struct layouts *ls, const struct rawdoc *d, int ti, unsigned year,
                     struct report *r, char *err, size_t errlen)
{
    const struct layout *best = NULL, *want = layouts_for_year(ls, year);
    int best_score = -1;
    char ok[LAYOUT_MAX_ROWS], best_ok[LAYOUT_MAX_ROWS];
    for (int k = 0; k < ls->n; k++) {
        int s = fit_score(&ls->v[k]->tables[ti], &d->tables[ti], ok);
        if (s > best_score || (s == best_score && s >= 0 && ls->v[k] == want)) {
            best = ls->v[k];
            best_score = s;
            memcpy(best_ok, ok, sizeof ok);
        }
    }
    if (best_score < 0)
        return misfit(ls, d, ti, year, err, errlen);
    fill_table(r, ti, best, &d->tables[ti], best_ok);
    return 0;
}

int fit_report(const struct layouts *ls, const struct rawdoc *d, unsigned year_hint,
               struct report **out, char *err, size_t errlen)
{
    struct report *r = report_new();
    r->title = d->title ? xstrdup(d->title) : NULL;
    r->year = fit_title_year(d->title, &r->body_name);
    unsigned year = year_hint ? year_hint : r->year;
    for (int i = 0; i < LAYOUT_SECTIONS; i++) {
        const struct rawsection *s = &d->sections[i];
        if (!s->found)
            continue;
        r->section_title[i] = xstrdup(s->title ? s->title : "");
        r->section_text[i] = xstrdup(s->text ? s->text : "");
        r->section_order[i] = s->order;
        r->section_line[i] = s->line;
    }
    int tables = 0;
    for (int ti = 0; ti < LAYOUT_TABLES; ti++) {
        if (d->tables[ti].nrows == 0)
            continue;
        if (fit_table(ls, d, ti, year, r, err, errlen) < 0)
            goto fail;
        tables++;
    }
    if (!tables) {
        errf(err, errlen, "%s: no table found (T2, T3 and T4 are missing)",
             d->filename ? d->filename : "<document>");
        goto fail;
    }
    /* T3 tells the layouts apart best; T4 is the same in both. */
    const struct layout *l = r->tables[TABLE_T3].layout ? r->tables[TABLE_T3].layout
                             : r->tables[TABLE_T2].layout ? r->tables[TABLE_T2].layout
                                                          : r->tables[TABLE_T4].layout;
    r->layout = l->version;
    *out = r;
    return 0;
fail:
    report_destroy(&r);
    return -1;
}
