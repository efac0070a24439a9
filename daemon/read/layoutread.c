/* layoutread: `pdftotext -layout` output -> rawdoc. One pass splits the text
 * into lines, trims them and drops page numbers ("-3-", "- 3 -", 第3页, a bare
 * "3" only as the first or last line of a page); headings come from
 * layouts_match_heading. Each table section is scanned into number lines
 * (trailing number tokens) and label fragments (text set off by 2+ spaces).
 * T3 rows are anchored on the count of number lines, the row order of the
 * layout with that many rows and the markers ("1." "（二）") of its official
 * labels: the fragment with row r+1's marker starts its label, the fragments
 * between it and row r's numbers continue row r. Columns only tell margin
 * group labels ("本" "（三）不") from row text and place the blanks of a
 * short row. The line and token scanner is layoutscan.c. */
#include "read/layoutread.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "read/layoutscan.h"
#include "base/util.h"

/* T3 state: official labels and markers of the chosen layout, and per row the
 * column where its own label text starts. */
struct t3 {
    const struct layout_table *lt;
    int n;
    int key[LAYOUT_MAX_ROWS];
    int has_start[LAYOUT_MAX_ROWS];
    unsigned icol[LAYOUT_MAX_ROWS], ipage[LAYOUT_MAX_ROWS];
    size_t lo[LAYOUT_MAX_ROWS], hi[LAYOUT_MAX_ROWS];   /* frags that may hold its label */
    const char *off[LAYOUT_MAX_ROWS];    /* official labels, normalized (borrowed) */
    const char *grp[LAYOUT_MAX_ROWS];    /* distinct group labels, normalized (borrowed) */
    int ngrp;
};

/* --- T3 ---------------------------------------------------------------- */

static int group_sub(const struct ctx *c, const struct t3 *st, const struct frag *f)
{
    char x[LR_NORM];
    if (layoutscan_frag_norm(c, f, x, sizeof x) == 0)
        return 1;
    for (int g = 0; g < st->ngrp; g++)
        if (strstr(st->grp[g], x))
            return 1;
    return 0;
}

/* Whether row r's label, with frag extra added (or -1), holds its official label. */
static int covers(const struct ctx *c, const struct t3 *st, int r, size_t extra)
{
    char x[4 * LR_NORM] = "";
    size_t o = 0;
    for (size_t j = st->lo[r]; j < st->hi[r]; j++)
        if (c->sc.f[j].owner == r || j == extra)
            o += layoutscan_frag_norm(c, &c->sc.f[j], x + o, sizeof x - o);
    return st->off[r][0] && strstr(x, st->off[r]) != NULL;
}

/* A fragment in row r's margin: left of its label on the same page, or a
 * piece of a group label that adds nothing to the row's own label. */
static int t3_group(const struct ctx *c, const struct t3 *st, int r, size_t j)
{
    const struct frag *f = &c->sc.f[j];
    if (st->icol[r] && c->lines[f->line].page == st->ipage[r] && f->col + 2 < st->icol[r])
        return 1;
    return group_sub(c, st, f) && !(!covers(c, st, r, (size_t)-1) && covers(c, st, r, j));
}

static int frag_key(const struct ctx *c, const struct frag *f)
{
    char x[32];
    size_t n = layoutscan_frag_norm(c, f, x, sizeof x);
    int key;
    norm_numbering(x, n, &key);
    return key;
}

static void set_start(const struct ctx *c, struct t3 *st, int r, const struct frag *f)
{
    st->has_start[r] = 1;
    st->icol[r] = f->col;
    st->ipage[r] = c->lines[f->line].page;
}

/* Own fragments of the number line of row r: from the one with the row's
 * marker on; without it, all but pieces of group labels. */
static void t3_own(struct ctx *c, struct t3 *st, int r)
{
    const struct numline *nl = &c->sc.n[r];
    size_t m = (size_t)-1;
    for (size_t j = nl->frag0; j < nl->frag0 + nl->nfrag; j++)
        if (norm_key_match(frag_key(c, &c->sc.f[j]), st->key[r]))
            m = j;
    for (size_t j = nl->frag0; j < nl->frag0 + nl->nfrag; j++) {
        struct frag *f = &c->sc.f[j];
        if (m != (size_t)-1)
            f->owner = j >= m ? r : OWNER_NONE;
        else
            f->owner = group_sub(c, st, f) ? OWNER_NONE : r;
        if (f->owner == r && !st->icol[r])
            st->icol[r] = f->col, st->ipage[r] = c->lines[f->line].page;
    }
    if (m != (size_t)-1)
        set_start(c, st, r, &c->sc.f[m]);
}

/* Fragments between the number lines of rows r and r+1 (r = -1: the header;
 * r = n-1: lines right below the last row). The first one carrying row r+1's
 * marker starts its label; those before it continue row r. */
static void t3_gap(struct ctx *c, struct t3 *st, int r, size_t lo, size_t hi)
{
    int q = r + 1 < st->n ? r + 1 : -1;
    size_t s = hi, marked = (size_t)-1;
    if (q >= 0 && !st->has_start[q]) {
        for (size_t j = lo; j < hi && s == hi; j++)
            if (norm_key_match(frag_key(c, &c->sc.f[j]), st->key[q]))
                s = marked = j;
        if (s < hi)
            set_start(c, st, q, &c->sc.f[s]);
        else if (r >= 0 && c->sc.n[q].nfrag == 0 && covers(c, st, r, (size_t)-1))
            s = lo;              /* an unmarked label printed above its numbers */
    }
    for (size_t j = lo; j < hi; j++) {
        struct frag *f = &c->sc.f[j];
        int row = j < s ? r : q;
        if (row < 0 || (j != marked && t3_group(c, st, row, j)))
            f->owner = OWNER_NONE;
        else if (q < 0 && covers(c, st, row, (size_t)-1))
            f->owner = OWNER_NONE;
        else
            f->owner = row;
    }
}

/* Which token of a short row goes to which column, by the positions of the
 * nearest full row (same page first). Returns 0, or -1 when not clear-cut. */
static int place_blanks(const struct ctx *c, int k, int ncols, int *at, unsigned *bcol)
{
    const struct scan *sc = &c->sc;
    int ref = -1;
    for (int pass = 0; pass < 2 && ref < 0; pass++)
        for (int d = 1; d < (int)sc->nn && ref < 0; d++)
            for (int sg = -1; sg <= 1 && ref < 0; sg += 2) {
                int j = k + sg * d;
                if (j >= 0 && j < (int)sc->nn && (int)sc->n[j].ntok == ncols &&
                    (pass || c->lines[sc->n[j].line].page == c->lines[sc->n[k].line].page))
                    ref = j;
            }
    if (ref < 0)
        return -1;
    long mid[LAYOUT_MAX_COLS], mingap = 1 << 20;
    for (int j = 0; j < ncols; j++) {
        const struct tok *t = &sc->t[sc->n[ref].tok0 + j];
        mid[j] = 2L * t->col + ncp(c->lines[t->line].s + t->a, t->b - t->a);
        bcol[j] = t->col;
        at[j] = -1;
        if (j && mid[j] - mid[j - 1] < mingap)
            mingap = mid[j] - mid[j - 1];
    }
    int last = -1;
    for (unsigned i = 0; i < sc->n[k].ntok; i++) {
        const struct tok *t = &sc->t[sc->n[k].tok0 + i];
        long m = 2L * t->col + ncp(c->lines[t->line].s + t->a, t->b - t->a);
        int best = 0;
        for (int j = 1; j < ncols; j++)
            if (labs(mid[j] - m) < labs(mid[best] - m))
                best = j;
        if (best <= last || 2 * labs(mid[best] - m) >= mingap)
            return -1;
        at[best] = (int)i, last = best;
    }
    return 0;
}

static int t3_tokens(struct ctx *c, struct rawrow *row, int k, int ncols)
{
    const struct numline *nl = &c->sc.n[k];
    if ((int)nl->ntok > ncols)
        return errf(c->err, c->errlen, "%s:%u: T3: row %s has %u numbers, expected %d",
                    c->fn, nl->line + 1, row->label, nl->ntok, ncols);
    int at[LAYOUT_MAX_COLS];
    unsigned bcol[LAYOUT_MAX_COLS];
    if ((int)nl->ntok < ncols && place_blanks(c, k, ncols, at, bcol) < 0)
        return errf(c->err, c->errlen, "%s:%u: T3: row %s has %u numbers, expected %d: numbers "
                    "run together, or blank cells the columns of the nearest full row do not place",
                    c->fn, nl->line + 1, row->label, nl->ntok, ncols);
    for (int j = 0; j < ncols; j++) {
        int i = (int)nl->ntok == ncols ? j : at[j];
        if (i < 0) {
            rawdoc_add_token(row, "", 0, nl->line + 1, bcol[j]);
            continue;
        }
        const struct tok *t = &c->sc.t[nl->tok0 + i];
        rawdoc_add_token(row, c->lines[t->line].s + t->a, t->b - t->a, t->line + 1, t->col);
    }
    return 0;
}

static void t3_layout(struct t3 *st, const struct layout_table *lt)
{
    st->lt = lt;
    st->n = lt->nrows;
    st->ngrp = 0;
    for (int r = 0; r < lt->nrows; r++) {
        const struct layout_row *lr = &lt->rows[r];
        st->off[r] = lr->norm;
        norm_numbering(lr->norm, strlen(lr->norm), &st->key[r]);
        st->has_start[r] = 0;
        st->icol[r] = st->ipage[r] = 0;
        int seen = !lr->group || !lr->group[0];
        for (int g = 0; g < r && !seen; g++)
            seen = lt->rows[g].group && !strcmp(lt->rows[g].group, lr->group);
        if (!seen)
            st->grp[st->ngrp++] = lr->group_norm;
    }
}

/* Explain a row count that fits no layout: where the markers go wrong. */
static void t3_diagnose(struct ctx *c, struct t3 *st, struct buf *msg)
{
    const struct layout *best = NULL;
    long bd = 1 << 20;
    for (int k = 0; k < c->ls->n; k++) {
        long d = c->ls->v[k]->tables[TABLE_T3].nrows - (long)c->sc.nn;
        d = d < 0 ? 1 - 2 * d : 2 * d;   /* a missing row is likelier than an extra one */
        if (d < bd)
            bd = d, best = c->ls->v[k];
    }
    if (!best)
        return;
    t3_layout(st, &best->tables[TABLE_T3]);
    size_t prev = 0;
    for (int i = 0; i < st->n && i < (int)c->sc.nn; i++) {
        const struct numline *nl = &c->sc.n[i];
        const struct frag *m = NULL;
        for (size_t j = prev; j < nl->frag0 + nl->nfrag; j++)
            if (frag_key(c, &c->sc.f[j]) >= 0)
                m = &c->sc.f[j];
        prev = nl->frag0 + nl->nfrag;
        if (!m || norm_key_match(frag_key(c, m), st->key[i]))
            continue;
        size_t n;
        const char *s = layoutscan_frag_text(c, m, &n);
        buf_printf(msg, "; line %u reads %.*s where the %u layout has %s", m->line + 1, (int)n, s,
                   best->version, st->lt->rows[i].label);
        return;
    }
}

static int t3_count_error(struct ctx *c, struct t3 *st)
{
    struct buf msg = {0};
    int ncols = c->ls->v[0]->tables[TABLE_T3].ncols;
    unsigned odd = 0;
    for (size_t k = 0; k < c->sc.nn; k++)
        odd += (int)c->sc.n[k].ntok != ncols;
    if (odd)
        buf_printf(&msg, "found %zu rows of numbers, %u of them not of %d", c->sc.nn, odd, ncols);
    else
        buf_printf(&msg, "found %zu rows of %d numbers", c->sc.nn, ncols);
    for (int k = 0; k < c->ls->n; k++) {
        int n = c->ls->v[k]->tables[TABLE_T3].nrows, dup = 0;
        for (int j = 0; j < k; j++)
            dup |= c->ls->v[j]->tables[TABLE_T3].nrows == n;
        if (!dup)
            buf_printf(&msg, "%s%d", k ? " or " : ", expected ", n);
    }
    unsigned singles = 0;
    for (size_t k = 0; k < c->sc.nn; k++)
        singles += c->sc.n[k].ntok == 1;
    if (singles == c->sc.nn && c->sc.nn > 1)
        buf_printf(&msg, "; one number a line: a web-page text dump, not pdftotext -layout?");
    else
        t3_diagnose(c, st, &msg);
    errf(c->err, c->errlen, "%s:%u: T3: %s", c->fn, c->sc.n[0].line + 1, msg.data);
    buf_free(&msg);
    return -1;
}

static int read_t3(struct ctx *c, struct rawtable *t, unsigned from, unsigned to, unsigned *tend)
{
    struct scan *sc = &c->sc;
    layoutscan_scan_region(c, from, to);
    *tend = to - 1;
    if (sc->nn == 0)
        return 0;
    const struct layout_table *lt = NULL;
    for (int k = 0; k < c->ls->n && !lt; k++)
        if (c->ls->v[k]->tables[TABLE_T3].nrows == (int)sc->nn)
            lt = &c->ls->v[k]->tables[TABLE_T3];
    struct t3 stbuf, *st = &stbuf;
    int rc = 0;
    if (!lt)
        return t3_count_error(c, st);
    t3_layout(st, lt);
    int n = st->n;
    /* the frags below the last row: only lines right under it */
    size_t tail = sc->nf;
    unsigned lastl = sc->n[n - 1].line;
    for (size_t j = sc->n[n - 1].frag0 + sc->n[n - 1].nfrag; j < sc->nf; j++) {
        unsigned l = sc->f[j].line;
        int near = l <= lastl + 3;
        for (unsigned m = lastl + 1; m < l && near; m++)
            near = c->lines[m].kind == LINE_TEXT;
        if (!near) {
            tail = j;
            break;
        }
    }
    /* Bounded label work per row keeps the whole linear: real rows have a
     * few pieces; the header above the first row may be long but only its
     * last lines can hold that row's label. */
    size_t head = sc->n[0].frag0 > LR_GAP ? sc->n[0].frag0 - LR_GAP : 0;
    size_t last_end = sc->n[n - 1].frag0 + sc->n[n - 1].nfrag;
    tail = tail - last_end > LR_GAP ? last_end + LR_GAP : tail;
    for (int r = 0; r < n; r++) {
        const struct numline *nl = &sc->n[r];
        size_t gap = r + 1 < n ? sc->n[r + 1].frag0 - (nl->frag0 + nl->nfrag) : 0;
        if (nl->nfrag > LR_GAP || gap > LR_GAP)
            return errf(c->err, c->errlen, "%s:%u: T3: %zu pieces of text %s: not a table "
                        "this reader can follow", c->fn, nl->line + 1,
                        gap > LR_GAP ? gap : nl->nfrag,
                        gap > LR_GAP ? "below this row before the next" : "on this row's line");
        st->lo[r] = r ? sc->n[r - 1].frag0 + sc->n[r - 1].nfrag : head;
        st->hi[r] = r + 1 < n ? sc->n[r + 1].frag0 : tail;
        t3_own(c, st, r);
    }
    for (int r = -1; r < n; r++)
        t3_gap(c, st, r, r < 0 ? head : sc->n[r].frag0 + sc->n[r].nfrag,
               r + 1 < n ? sc->n[r + 1].frag0 : tail);
    *tend = lastl;
    for (size_t j = 0; j < tail; j++)
        if (sc->f[j].owner >= 0 && sc->f[j].line > *tend)
            *tend = sc->f[j].line;
    struct buf label = {0};
    for (int r = 0; r < n && rc == 0; r++) {
        label.len = 0;
        layoutscan_frag_label(c, st->lo[r], st->hi[r], r, &label);
        struct rawrow *row = rawdoc_add_row(t, label.data, sc->n[r].line + 1);
        rc = t3_tokens(c, row, r, lt->rows[r].ncols);
    }
    buf_free(&label);
    return rc;
}

/* --- T2 and T4 --------------------------------------------------------- */

static void t2_labels(struct ctx *c)
{
    c->t2lab = xmalloc((size_t)c->ls->n * LAYOUT_MAX_ROWS * sizeof *c->t2lab);
    c->nt2lab = 0;
    for (int k = 0; k < c->ls->n; k++) {
        const struct layout_table *lt = &c->ls->v[k]->tables[TABLE_T2];
        for (int r = 0; r < lt->nrows && r < LAYOUT_MAX_ROWS; r++)
            if (lt->rows[r].norm[0])
                c->t2lab[c->nt2lab++] = lt->rows[r].norm;
    }
}

/* Whether a normalized label holds (or, exact, is) an official T2 row label. */
static int t2_official(const struct ctx *c, const char *x, int exact)
{
    for (int i = 0; i < c->nt2lab; i++)
        if (exact ? !strcmp(x, c->t2lab[i]) : strstr(x, c->t2lab[i]) != NULL)
            return 1;
    return 0;
}

/* The frags that may hold row g's label: its own, and up to LR_GAP on either
 * side, so that a huge gap costs no quadratic time. */
static void t2_window(const struct scan *sc, int g, size_t *wlo, size_t *whi)
{
    const struct numline *nl = &sc->n[g];
    size_t before = g ? sc->n[g - 1].frag0 + sc->n[g - 1].nfrag : 0;
    size_t after = g + 1 < (int)sc->nn ? sc->n[g + 1].frag0 : sc->nf;
    size_t end = nl->frag0 + nl->nfrag;
    *wlo = nl->frag0 - before > LR_GAP ? nl->frag0 - LR_GAP : before;
    *whi = after - end > LR_GAP ? end + LR_GAP : after;
}

static int t2_covered(const struct ctx *c, int g)
{
    char x[4 * LR_NORM] = "";
    size_t o = 0, lo, hi;
    t2_window(&c->sc, g, &lo, &hi);
    for (size_t j = lo; j < hi && j < lo + 4 * LR_GAP; j++)
        if (c->sc.f[j].owner == g)
            o += layoutscan_frag_norm(c, &c->sc.f[j], x + o, sizeof x - o);
    return o && t2_official(c, x, 0);
}

static void t2_emit(struct ctx *c, struct rawtable *t, int row, struct buf *label)
{
    size_t lo, hi;
    t2_window(&c->sc, row, &lo, &hi);
    label->len = 0;
    layoutscan_frag_label(c, lo, hi, row, label);
    struct rawrow *r = rawdoc_add_row(t, label->data, c->sc.n[row].line + 1);
    const struct numline *nl = &c->sc.n[row];
    for (unsigned i = 0; i < nl->ntok; i++) {
        const struct tok *tk = &c->sc.t[nl->tok0 + i];
        rawdoc_add_token(r, c->lines[tk->line].s + tk->a, tk->b - tk->a, tk->line + 1, tk->col);
    }
}

/* T2: a row per number line, its label on the line; label text wrapped just
 * above or below joins the row that lacks its official label, and a lone
 * official label is a row whose cells are all blank. */
static void read_t2(struct ctx *c, struct rawtable *t, unsigned from, unsigned to, unsigned *tend)
{
    struct scan *sc = &c->sc;
    layoutscan_scan_region(c, from, to);
    t2_labels(c);
    *tend = from;
    for (size_t k = 0; k < sc->nn; k++)
        for (size_t j = sc->n[k].frag0; j < sc->n[k].frag0 + sc->n[k].nfrag; j++)
            sc->f[j].owner = (int)k;
    int nn = (int)sc->nn;
    for (int g = -1; g < nn; g++) {
        size_t lo = g < 0 ? 0 : sc->n[g].frag0 + sc->n[g].nfrag;
        size_t hi = g + 1 < nn ? sc->n[g + 1].frag0 : sc->nf;
        for (size_t j = lo; j < hi; j++) {
            struct frag *f = &sc->f[j];
            int after_prev = g >= 0 && j < lo + LR_GAP && f->line <= sc->n[g].line + 2;
            int before_next = g + 1 < nn && j + LR_GAP >= hi && f->line + 2 >= sc->n[g + 1].line;
            char x[LR_NORM];
            if (after_prev && !t2_covered(c, g))
                f->owner = g;
            else if (before_next && !t2_covered(c, g + 1))
                f->owner = g + 1;
            else if (layoutscan_frag_norm(c, f, x, sizeof x), t2_official(c, x, 1))
                f->owner = OWNER_ALONE;
            else
                f->owner = OWNER_NONE;
        }
    }
    struct buf label = {0};
    for (int g = -1; g < nn; g++) {
        size_t lo = g < 0 ? 0 : sc->n[g].frag0 + sc->n[g].nfrag;
        size_t hi = g + 1 < nn ? sc->n[g + 1].frag0 : sc->nf;
        if (g >= 0) {
            t2_emit(c, t, g, &label);
            *tend = sc->n[g].line;
        }
        for (size_t j = lo; j < hi; j++) {
            if (sc->f[j].owner == OWNER_ALONE) {
                label.len = 0;
                layoutscan_frag_label(c, j, j + 1, OWNER_ALONE, &label);
                rawdoc_add_row(t, label.data, sc->f[j].line + 1);
            }
            if (sc->f[j].owner != OWNER_NONE && sc->f[j].line > *tend)
                *tend = sc->f[j].line;
        }
    }
    if (t->nrows == 0)
        *tend = to - 1;          /* headers only: the whole section is the table */
    buf_free(&label);
}

/* T4: one row, the numbers of every number line in order. */
static int read_t4(struct ctx *c, struct rawtable *t, unsigned from, unsigned to, unsigned *tend)
{
    struct scan *sc = &c->sc;
    layoutscan_scan_region(c, from, to);
    *tend = to - 1;
    if (sc->nn == 0)
        return 0;
    int ok = 0, want = 0;
    for (int k = 0; k < c->ls->n; k++) {
        const struct layout_table *lt = &c->ls->v[k]->tables[TABLE_T4];
        if (lt->nrows > 0) {
            want = want ? want : lt->rows[0].ncols;
            ok |= lt->rows[0].ncols == (int)sc->nt;
        }
    }
    if (!ok)
        return errf(c->err, c->errlen, "%s:%u: T4: found %zu numbers on %zu line%s, expected %d",
                    c->fn, sc->n[0].line + 1, sc->nt, sc->nn, sc->nn == 1 ? "" : "s", want);
    struct rawrow *r = rawdoc_add_row(t, "", sc->n[0].line + 1);
    for (size_t i = 0; i < sc->nt; i++) {
        const struct tok *tk = &sc->t[i];
        rawdoc_add_token(r, c->lines[tk->line].s + tk->a, tk->b - tk->a, tk->line + 1, tk->col);
    }
    *tend = sc->n[sc->nn - 1].line;
    return 0;
}

/* --- sections, title, text --------------------------------------------- */

static void add_cp(uint32_t *set, int *n, const char *s)
{
    uint32_t cp = s ? norm_first_cp(s, strlen(s)) : 0;
    for (int i = 0; i < *n; i++)
        if (set[i] == cp)
            return;
    if (cp && *n < LR_MAX_CPS)
        set[(*n)++] = cp;
}

/* Only lines that start like some title (一 二 …, or what a variant starts
 * with) are handed to layouts_match_heading: most lines never are. */
static int find_headings(struct ctx *c, struct rawdoc *out)
{
    uint32_t set[LR_MAX_CPS];
    int nset = 0, order = 0;
    for (int k = 0; k < c->ls->n; k++)
        for (int i = 0; i < LAYOUT_SECTIONS; i++) {
            const struct layout_section *ls = &c->ls->v[k]->sections[i];
            add_cp(set, &nset, ls->title);
            for (size_t v = 0; v < ls->variants.n; v++)
                add_cp(set, &nset, ls->variants.v[v]);
        }
    for (unsigned li = 0; li < c->nlines; li++) {
        const struct line *ln = &c->lines[li];
        if (ln->kind != LINE_TEXT || ln->b - ln->a > LR_HEAD_MAX)
            continue;
        uint32_t cp = norm_first_cp(ln->s + ln->a, ln->b - ln->a);
        int hit = 0;
        for (int i = 0; i < nset && !hit; i++)
            hit = set[i] == cp;
        if (!hit)
            continue;
        char tmp[LR_HEAD_MAX + 1];
        memcpy(tmp, ln->s + ln->a, ln->b - ln->a);
        tmp[ln->b - ln->a] = '\0';
        int h = layouts_match_heading(c->ls, tmp);
        if (h < 0 || h >= LAYOUT_SECTIONS || out->sections[h].found)
            continue;
        struct rawsection *sec = &out->sections[h];
        sec->found = 1;
        sec->title = xstrdup(tmp);
        sec->line = li + 1;
        sec->order = order++;
        c->head[h] = (int)li;
    }
    return order;
}

/* The first lines before the first heading, up to one ending in 报告. */
static char *read_title(const struct ctx *c, unsigned stop)
{
    unsigned li = 0, end, last = 0;
    while (li < stop && c->lines[li].kind != LINE_TEXT)
        li++;
    for (end = li; end < stop && end < li + 4 && c->lines[end].kind == LINE_TEXT; end++) {
        const struct line *ln = &c->lines[end];
        if (ln->b - ln->a >= 6 && !memcmp(ln->s + ln->b - 6, "报告", 6)) {
            last = end + 1;
            break;
        }
    }
    if (!last && end < li + 4)
        last = end;
    if (!last || last == li)
        return NULL;
    struct buf b = {0};
    for (unsigned k = li; k < last; k++)
        layoutscan_append_nospace(&b, c->lines[k].s + c->lines[k].a, c->lines[k].b - c->lines[k].a);
    return buf_take(&b);
}

/* Free text of lines [from, to) but [skip0, skip1]: a line indented by 2+
 * more than the section's least indented line starts a paragraph, other
 * lines continue the one before. */
static char *section_text(const struct ctx *c, unsigned from, unsigned to, long skip0, long skip1)
{
    struct buf b = {0};
    unsigned base = ~0u;
    for (unsigned li = from; li < to; li++)
        if (c->lines[li].kind == LINE_TEXT && !((long)li >= skip0 && (long)li <= skip1) &&
            c->lines[li].indent < base)
            base = c->lines[li].indent;
    for (unsigned li = from; li < to; li++) {
        const struct line *ln = &c->lines[li];
        if (ln->kind != LINE_TEXT || ((long)li >= skip0 && (long)li <= skip1))
            continue;
        const char *s = ln->s + ln->a;
        size_t n = ln->b - ln->a;
        if (b.len && ln->indent >= base + 2)
            buf_append(&b, "\n", 1);
        else if (b.len && is_alnum(b.data[b.len - 1]) && is_alnum(s[0]))
            buf_append(&b, " ", 1);
        buf_append(&b, s, n);
    }
    return buf_take(&b);
}

static unsigned section_end(const struct ctx *c, int sec)
{
    unsigned end = c->nlines;
    for (int i = 0; i < LAYOUT_SECTIONS; i++)
        if (c->head[i] > c->head[sec] && (unsigned)c->head[i] < end)
            end = (unsigned)c->head[i];
    return end;
}

static int read_sections(struct ctx *c, struct rawdoc *out)
{
    long skip0[LAYOUT_SECTIONS], skip1[LAYOUT_SECTIONS];
    for (int i = 0; i < LAYOUT_SECTIONS; i++)
        skip0[i] = skip1[i] = -1;
    for (int ti = 0; ti < LAYOUT_TABLES; ti++) {
        int sec = c->ls->v[0]->tables[ti].section;
        if (sec < 0 || sec >= LAYOUT_SECTIONS || c->head[sec] < 0)
            continue;
        unsigned from = (unsigned)c->head[sec] + 1, to = section_end(c, sec), tend = 0;
        while (from < to && !layoutscan_table_line(c, from, ti))
            from++;
        if (from >= to)
            continue;
        struct rawtable *t = &out->tables[ti];
        t->found = 1;
        t->line = from + 1;
        int rc = 0;
        if (ti == TABLE_T2)
            read_t2(c, t, from, to, &tend);
        else if (ti == TABLE_T3)
            rc = read_t3(c, t, from, to, &tend);
        else
            rc = read_t4(c, t, from, to, &tend);
        if (rc < 0)
            return -1;
        skip0[sec] = from, skip1[sec] = tend;
    }
    for (int i = 0; i < LAYOUT_SECTIONS; i++)
        if (c->head[i] >= 0)
            out->sections[i].text = section_text(c, (unsigned)c->head[i] + 1, section_end(c, i),
                                                 skip0[i], skip1[i]);
    return 0;
}

int layoutread_parse(const char *text, size_t len, const char *filename,
                     const struct layouts *ls, struct rawdoc *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < LAYOUT_SECTIONS; i++)
        out->sections[i].order = -1;
    const char *fn = filename ? filename : "(input)";
    out->filename = filename ? xstrdup(filename) : NULL;
    if (!ls || ls->n <= 0)
        return errf(err, errlen, "%s: no report layouts loaded", fn);
    if (!text || len == 0)
        return errf(err, errlen, "%s: empty input", fn);
    if (len > LR_MAX_INPUT)
        return errf(err, errlen, "%s: %zu bytes, more than the %zu a report can have", fn, len,
                    LR_MAX_INPUT);
    if (!util_utf8_valid(text, len))
        return errf(err, errlen, "%s: not UTF-8 text (binary, or another encoding); "
                    "expected the output of pdftotext -layout", fn);
    struct ctx c = { .fn = fn, .ls = ls, .err = err, .errlen = errlen };
    for (int i = 0; i < LAYOUT_SECTIONS; i++)
        c.head[i] = -1;
    layoutscan_split_lines(&c, text, len);
    int rc = 0;
    if (find_headings(&c, out) == 0) {
        rc = errf(err, errlen, "%s: no section heading like %s found; not an annual report?",
                  fn, ls->v[0]->sections[0].title);
        goto done;
    }
    unsigned first = c.nlines;
    for (int i = 0; i < LAYOUT_SECTIONS; i++)
        if (c.head[i] >= 0 && (unsigned)c.head[i] < first)
            first = (unsigned)c.head[i];
    out->title = read_title(&c, first);
    rc = read_sections(&c, out);
done:
    free(c.lines);
    free(c.sc.t);
    free(c.sc.f);
    free(c.sc.n);
    free(c.t2lab);
    return rc;
}

/* Form feeds and "-3-" page lines say pdftotext; tab-prefixed cells say a
 * web-page dump. */
int layoutread_sniff(const char *text, size_t len)
{
    if (!text || len == 0)
        return 0;
    size_t ff = 0, pages = 0, aligned = 0, tabbed = 0, lines = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        struct line ln = { .s = p, .len = (unsigned)(e - p) };
        lines++;
        ff += memchr(p, '\f', (size_t)(e - p)) != NULL;
        tabbed += p < e && *p == '\t';
        layoutscan_measure(&ln, 0);
        pages += ln.kind == LINE_PAGENO;
        aligned += ln.kind == LINE_TEXT && memmem(ln.s + ln.a, ln.b - ln.a, "   ", 3) != NULL;
        p = nl ? nl + 1 : end;
    }
    if (tabbed * 10 > lines)
        return 0;
    return (ff > 0) + (pages > 0) + (aligned >= 3) >= 2;
}
