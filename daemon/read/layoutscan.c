/* layoutscan: lines, page numbers, tokens and label fragments of pdftotext
 * -layout output, for layoutread.c. Linear: a few growing arrays per
 * document, nothing allocated per character. */
#include "read/layoutscan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    *cap = c;
    return xrealloc(p, c * size);
}






static size_t dash_len(const char *s, size_t n)
{
    if (n >= 1 && s[0] == '-')
        return 1;
    if (n >= 3 && (!memcmp(s, "－", 3) || !memcmp(s, "—", 3) || !memcmp(s, "–", 3) ||
                   !memcmp(s, "−", 3)))
        return 3;
    return 0;
}

static size_t skip_digits(const char *s, size_t n, size_t i, size_t *nd)
{
    size_t j = i;
    while (j < n && is_digit(s[j]))
        j++;
    *nd = j - i;
    return j;
}

/* "-3-", "- 3 -", "—3—", "第3页", "第 3 页 共 6 页": the whole of s[0..n).
 * wide: any spacing inside the dashes ("-   4    -" of pdftotext -fixed). */
static int is_pageno(const char *s, size_t n, int wide)
{
    size_t i = 0, k, nd;
    if ((k = dash_len(s, n))) {
        i = k;
        while (i < n && s[i] == ' ' && (wide || i < k + 2))
            i++;
        i = skip_digits(s, n, i, &nd);
        if (nd == 0 || nd > 4)
            return 0;
        for (size_t sp = 0; i < n && s[i] == ' ' && (wide || sp < 2); sp++)
            i++;
        return (k = dash_len(s + i, n - i)) && i + k == n;
    }
    for (int part = 0; part < 2 && i < n; part++) {
        if (n - i < 3 || memcmp(s + i, part ? "共" : "第", 3))
            return 0;
        i += 3;
        while (i < n && s[i] == ' ')
            i++;
        i = skip_digits(s, n, i, &nd);
        while (i < n && s[i] == ' ')
            i++;
        if (nd == 0 || n - i < 3 || memcmp(s + i, "页", 3))
            return 0;
        i += 3;
        while (i < n && (s[i] == ' ' || s[i] == ','))
            i++;
        if (n - i >= 3 && !memcmp(s + i, "，", 3))
            i += 3;
    }
    return i == n;
}

/* Cut a page number sharing a line with content, set off by 2+ spaces. */
static void cut_pageno(struct line *ln)
{
    const char *s = ln->s;
    unsigned p = ln->b, n = ln->b - ln->a;
    if (!dash_len(s + p - 1, 1) && !dash_len(s + ln->a, n) &&
        !(n >= 3 && (dash_len(s + p - 3, 3) || !memcmp(s + p - 3, "页", 3) ||
                     !memcmp(s + ln->a, "第", 3))))
        return;              /* most lines: no page number can start or end them */
    while (p > ln->a && !(s[p - 1] == ' ' && p >= ln->a + 2 && s[p - 2] == ' '))
        p--;
    if (p > ln->a && is_pageno(s + p, ln->b - p, 0)) {
        while (p > ln->a && s[p - 1] == ' ')
            p--;
        ln->b = p;
    }
    unsigned q = ln->a;
    while (q < ln->b && !(s[q] == ' ' && q + 1 < ln->b && s[q + 1] == ' '))
        q++;
    if (q < ln->b && is_pageno(s + ln->a, q - ln->a, 0)) {
        ln->indent += ncp(s + ln->a, q - ln->a);
        while (q < ln->b && s[q] == ' ')
            q++, ln->indent++;
        ln->a = q;
    }
}

/* Trim one line and classify it; returns the page of the next line. */
unsigned layoutscan_measure(struct line *ln, unsigned page)
{
    const char *s = ln->s;
    size_t n = ln->len, i = 0, w;
    unsigned nff = 0;
    for (const char *p = s; (p = memchr(p, '\f', (size_t)(s + n - p))); p++)
        nff++;
    while (i < n && (w = norm_space_len(s + i, n - i))) {
        if (s[i] == '\f')
            page++, nff--;
        else
            ln->indent++;
        i += w;
    }
    ln->page = page;
    size_t b = n;
    for (;;) {
        if (b > i && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\f' || s[b - 1] == '\v'))
            b--;
        else if (b >= i + 3 && !memcmp(s + b - 3, "\xe3\x80\x80", 3))
            b -= 3;
        else if (b >= i + 2 && !memcmp(s + b - 2, "\xc2\xa0", 2))
            b -= 2;
        else
            break;
    }
    ln->a = (unsigned)i;
    ln->b = (unsigned)b;
    if (i == b)
        ln->kind = LINE_BLANK;
    else if (is_pageno(s + i, b - i, 1))
        ln->kind = LINE_PAGENO;
    else {
        size_t nd;
        ln->kind = skip_digits(s, b, i, &nd) == b && nd <= 4 ? LINE_BARE_DIGITS : LINE_TEXT;
        if (ln->kind == LINE_TEXT)
            cut_pageno(ln);
    }
    return page + nff;
}

/* A bare number is a page number only as the first or last line of its page. */
static void resolve_bare_digits(struct ctx *c)
{
    for (unsigned i = 0; i < c->nlines; i++) {
        struct line *ln = &c->lines[i];
        if (ln->kind != LINE_BARE_DIGITS)
            continue;
        unsigned j = i, k = i + 1;
        while (j > 0 && c->lines[j - 1].kind == LINE_BLANK)
            j--;
        while (k < c->nlines && c->lines[k].kind == LINE_BLANK)
            k++;
        int edge = j == 0 || c->lines[j - 1].page != ln->page ||
                   k == c->nlines || c->lines[k].page != ln->page;
        ln->kind = edge ? LINE_PAGENO : LINE_TEXT;
    }
}


void layoutscan_split_lines(struct ctx *c, const char *text, size_t len)
{
    size_t n = 1;
    for (const char *p = text; (p = memchr(p, '\n', (size_t)(text + len - p))); p++)
        n++;
    c->lines = xmalloc(n * sizeof *c->lines);
    unsigned page = 0;
    size_t i = 0;
    for (c->nlines = 0; c->nlines < n; ) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - text) : len;
        struct line *ln = &c->lines[c->nlines++];
        ln->indent = 0;
        ln->s = text + i;
        ln->len = (unsigned)(e - i);
        if (ln->len && ln->s[ln->len - 1] == '\r')
            ln->len--;
        page = layoutscan_measure(ln, page);
        i = e + 1;
        if (!nl)
            break;
    }
    resolve_bare_digits(c);
}

/* --- scanning a table region ------------------------------------------ */

static int tok_kind(const char *s, size_t n)
{
    static const char *const marks[] = {"/", "／", "-", "－", "—", "——", "–", "−", "\\",
                                        "无", "不适用", NULL};
    static const char *const units[] = {"元", "万元", "件", "个", "条", "项", "人", "次", "%", "％",
                                        NULL};
    unsigned char c0 = (unsigned char)s[0];
    if (!is_digit(s[0]) && n <= 9 &&
        (c0 == '-' || c0 == '+' || c0 == '/' || c0 == '\\' || c0 >= 0xe2))
        for (int i = 0; marks[i]; i++)
            if (strlen(marks[i]) == n && !memcmp(s, marks[i], n))
                return TOK_MARK;
    size_t i = 0, nd = 0, k;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    while (i < n && (is_digit(s[i]) || (s[i] == ',' && nd > 0 && i + 1 < n && is_digit(s[i + 1]))))
        nd += is_digit(s[i++]);
    if (nd == 0)
        return TOK_TEXT;
    if (i < n && s[i] == '.') {
        i = skip_digits(s, n, i + 1, &k);
        if (k == 0)
            return TOK_TEXT;
    }
    if (i == n)
        return TOK_NUM;
    for (int u = 0; units[u]; u++)
        if (strlen(units[u]) == n - i && !memcmp(s + i, units[u], n - i))
            return TOK_NUM;
    return TOK_TEXT;
}

/* Split line li into tokens; trailing number tokens make it a number line,
 * the rest become label fragments. */
static void scan_line(struct ctx *c, unsigned li)
{
    const struct line *ln = &c->lines[li];
    struct scan *sc = &c->sc;
    const char *s = ln->s;
    size_t t0 = sc->nt, i = ln->a;
    unsigned col = ln->indent + 1, gap = 0;
    while (i < ln->b) {
        size_t w = s[i] == ' ' ? 1 : norm_space_len(s + i, ln->b - i);
        if (w) {
            if (s[i] != '\f')
                col++, gap++;
            i += w;
            continue;
        }
        sc->t = grow(sc->t, &sc->ct, sc->nt + 1, sizeof *sc->t);
        struct tok *t = &sc->t[sc->nt++];
        t->line = li, t->a = (unsigned)i, t->col = col, t->gap = gap;
        while (i < ln->b && !norm_space_len(s + i, ln->b - i))
            i += char_len((unsigned char)s[i]), col++;
        t->b = (unsigned)(i < ln->b ? i : ln->b);
        gap = 0;
    }
    size_t t1 = sc->nt, r0 = t1, nums = 0;
    while (r0 > t0) {
        int k = tok_kind(s + sc->t[r0 - 1].a, sc->t[r0 - 1].b - sc->t[r0 - 1].a);
        if (k == TOK_TEXT)
            break;
        nums += k == TOK_NUM;
        r0--;
    }
    /* "…共计 95" in prose is not a row: a lone number must stand off by 2+ spaces. */
    if (r0 < t1 && r0 > t0 && t1 - r0 == 1 && sc->t[r0].gap < 2)
        r0 = t1;
    if (r0 < t1 && nums == 0 && t1 - r0 < 2 && r0 == t0)
        r0 = t1;
    size_t frag0 = sc->nf;
    for (size_t k = t0; k < r0; k++) {
        if (k == t0 || sc->t[k].gap >= 2) {
            sc->f = grow(sc->f, &sc->cf, sc->nf + 1, sizeof *sc->f);
            struct frag *f = &sc->f[sc->nf++];
            f->line = li, f->a = sc->t[k].a, f->col = sc->t[k].col, f->owner = OWNER_OPEN;
        }
        sc->f[sc->nf - 1].b = sc->t[k].b;
    }
    if (r0 == t1) {
        sc->nt = t0;
        return;
    }
    memmove(&sc->t[t0], &sc->t[r0], (t1 - r0) * sizeof *sc->t);
    sc->nt = t0 + (t1 - r0);
    sc->n = grow(sc->n, &sc->cn, sc->nn + 1, sizeof *sc->n);
    struct numline *nl = &sc->n[sc->nn++];
    nl->line = li, nl->tok0 = (unsigned)t0, nl->ntok = (unsigned)(t1 - r0);
    nl->frag0 = (unsigned)frag0, nl->nfrag = (unsigned)(sc->nf - frag0);
}

void layoutscan_scan_region(struct ctx *c, unsigned from, unsigned to)
{
    c->sc.nt = c->sc.nf = c->sc.nn = 0;
    for (unsigned li = from; li < to; li++)
        if (c->lines[li].kind == LINE_TEXT)
            scan_line(c, li);
}

const char *layoutscan_frag_text(const struct ctx *c, const struct frag *f, size_t *n)
{
    *n = f->b - f->a;
    return c->lines[f->line].s + f->a;
}

size_t layoutscan_frag_norm(const struct ctx *c, const struct frag *f, char *out, size_t cap)
{
    size_t n;
    const char *s = layoutscan_frag_text(c, f, &n);
    return norm_label_into(out, cap, s, n);
}

/* Append s[0..n) to b without its white space. */
void layoutscan_append_nospace(struct buf *b, const char *s, size_t n)
{
    size_t i = 0, run = 0, w;
    while (i < n) {
        if ((w = norm_space_len(s + i, n - i))) {
            buf_append(b, s + run, i - run);
            i += w, run = i;
        } else {
            i += char_len((unsigned char)s[i]);
        }
    }
    buf_append(b, s + run, n - run);
}

/* Append frags [lo, hi) owned by row to b, white space removed. */
void layoutscan_frag_label(const struct ctx *c, size_t lo, size_t hi, int row, struct buf *b)
{
    for (size_t j = lo; j < hi; j++) {
        if (c->sc.f[j].owner != row)
            continue;
        size_t n;
        const char *s = layoutscan_frag_text(c, &c->sc.f[j], &n);
        layoutscan_append_nospace(b, s, n);
    }
    buf_append(b, "", 0);
}

static int same_text(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

/* Whether a line opens the table: a centred header, aligned columns (a run of
 * 2+ spaces inside), or a header label of the table (T2 blocks, column labels
 * and groups). Prose before a table has none of these. */
int layoutscan_table_line(const struct ctx *c, unsigned li, int ti)
{
    const struct line *ln = &c->lines[li];
    if (ln->kind != LINE_TEXT)
        return 0;
    if (ln->indent >= 10 || memmem(ln->s + ln->a, ln->b - ln->a, "  ", 2))
        return 1;
    char lnorm[LR_NORM];
    norm_label_into(lnorm, sizeof lnorm, ln->s + ln->a, ln->b - ln->a);
    for (int k = 0; k < c->ls->n; k++) {
        const struct layout_table *lt = &c->ls->v[k]->tables[ti];
        for (int r = 0; r < lt->nrows; r++)
            if (same_text(lt->rows[r].block_norm, lnorm))
                return 1;
        for (int j = 0; j < lt->ncols; j++)
            if (same_text(lt->cols[j].label_norm, lnorm) || same_text(lt->cols[j].group_norm, lnorm))
                return 1;
    }
    return 0;
}
