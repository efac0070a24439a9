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
 * short row. Linear work: a few arrays per document, nothing per character. */
#include "layoutread.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define LR_MAX_INPUT ((size_t)64 << 20)
#define LR_NORM 384              /* bytes kept of a normalized label */
#define LR_HEAD_MAX 255          /* longest line (bytes) tried as a heading */
#define LR_MAX_CPS 64            /* first code points of heading titles */
#define LR_T2LAB 128             /* bytes kept of a normalized T2 row label */
#define LR_GAP 32                /* label pieces between two rows, or on a row's line */

enum { LINE_BLANK, LINE_PAGENO, LINE_TEXT, LINE_BARE_DIGITS };
enum { TOK_TEXT, TOK_NUM, TOK_MARK };    /* MARK: a placeholder like "/" "—" "无" */
#define OWNER_NONE (-1)          /* group label, header, or nobody's */
#define OWNER_OPEN (-2)          /* not decided yet */
#define OWNER_ALONE (-3)         /* T2: an official row label without numbers */

struct line {
    const char *s;
    unsigned len;                /* bytes, newline and CR excluded */
    unsigned a, b;               /* content [a, b) in bytes: trimmed, page numbers cut */
    unsigned indent;             /* code points before a, form feeds not counted */
    unsigned page;               /* 0-based */
    unsigned char kind;
};

struct tok { unsigned line, a, b, col, gap; };   /* gap: spaces before it */
struct frag { unsigned line, a, b, col; int owner; };
struct numline { unsigned line, tok0, ntok, frag0, nfrag; };

struct scan {
    struct tok *t;
    size_t nt, ct;
    struct frag *f;
    size_t nf, cf;
    struct numline *n;
    size_t nn, cn;
};

struct ctx {
    const char *fn;
    const struct layouts *ls;
    struct line *lines;
    unsigned nlines;
    int head[LAYOUT_SECTIONS];   /* heading line index, or -1 */
    struct scan sc;
    char (*t2lab)[LR_T2LAB];     /* official T2 row labels of every layout, normalized */
    int nt2lab;
    char *err;
    size_t errlen;
};

/* T3 state: official labels and markers of the chosen layout, and per row the
 * column where its own label text starts. */
struct t3 {
    const struct layout_table *lt;
    int n;
    int key[LAYOUT_MAX_ROWS];
    int has_start[LAYOUT_MAX_ROWS];
    unsigned icol[LAYOUT_MAX_ROWS], ipage[LAYOUT_MAX_ROWS];
    size_t lo[LAYOUT_MAX_ROWS], hi[LAYOUT_MAX_ROWS];   /* frags that may hold its label */
    const char *off[LAYOUT_MAX_ROWS];    /* official labels, normalized */
    const char *grp[LAYOUT_MAX_ROWS];    /* distinct group labels, normalized */
    int ngrp;
    char arena[8192];
    size_t used;
};

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

/* Bytes of one white-space character at s, or 0. */
static inline size_t space_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] == ' ' || u[0] == '\t' || u[0] == '\f' || u[0] == '\r' || u[0] == '\v')
        return 1;
    if (u[0] < 0xc2 || (u[0] != 0xc2 && u[0] != 0xe3))
        return 0;
    if (n >= 3 && u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80)
        return 3;                /* U+3000 ideographic space */
    if (n >= 2 && u[0] == 0xc2 && u[1] == 0xa0)
        return 2;                /* U+00A0 */
    return 0;
}

static size_t char_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

static unsigned ncp(const char *s, size_t n)
{
    unsigned k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xc0) != 0x80;
    return k;
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int is_alnum(char ch)
{
    return is_digit(ch) || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z');
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
static unsigned measure(struct line *ln, unsigned page)
{
    const char *s = ln->s;
    size_t n = ln->len, i = 0, w;
    unsigned nff = 0;
    for (const char *p = s; (p = memchr(p, '\f', (size_t)(s + n - p))); p++)
        nff++;
    while (i < n && (w = space_len(s + i, n - i))) {
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


static void split_lines(struct ctx *c, const char *text, size_t len)
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
        page = measure(ln, page);
        i = e + 1;
        if (!nl)
            break;
    }
    resolve_bare_digits(c);
}

/* Normalize for comparing labels: no white space or quotes, ASCII punctuation
 * and digits in one form, "1、" as "1.". Writes at most cap-1 bytes and a NUL. */
static size_t norm(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0, i = 0;
    while (i < n && o + 4 < cap) {
        unsigned char lead = (unsigned char)s[i];
        if (lead >= 0xe4 && lead <= 0xe9 && i + 2 < n) {
            out[o++] = s[i], out[o++] = s[i + 1], out[o++] = s[i + 2];
            i += 3;              /* a CJK ideograph: nothing to map */
            continue;
        }
        uint32_t cp;
        size_t w = util_utf8_next(s + i, n - i, &cp);
        if (w == 0)
            w = 1, cp = '?';
        const char *rep = NULL;
        if (space_len(s + i, n - i) || cp == '\n' || cp == '"' || cp == '\'' ||
            (cp >= 0x2018 && cp <= 0x201d) || cp == 0x300c || cp == 0x300d)
            rep = "";
        else if (cp >= 0xff10 && cp <= 0xff19)
            out[o++] = (char)('0' + (cp - 0xff10)), rep = "";
        else if (cp == '(')
            rep = "（";
        else if (cp == ')')
            rep = "）";
        else if (cp == ',')
            rep = "，";
        else if (cp == ':')
            rep = "：";
        else if (cp == ';')
            rep = "；";
        else if (cp == 0xff0e || (cp == 0x3001 && o > 0 && is_digit(out[o - 1])))
            rep = ".";
        if (!rep)
            for (size_t k = 0; k < w; k++)
                out[o++] = s[i + k];
        else
            while (*rep)
                out[o++] = *rep++;
        i += w;
    }
    out[o] = '\0';
    return o;
}

static int cn_digit(const char *s, size_t n)
{
    static const char *const d[] = {"一", "二", "三", "四", "五", "六", "七", "八", "九", "十"};
    if (n < 3)
        return 0;
    for (int i = 0; i < 10; i++)
        if (!memcmp(s, d[i], 3))
            return i + 1;
    return 0;
}

/* The row marker at the start of a normalized label: "（三）" -> 1003,
 * "三、" -> 3, "1." -> 101; -1 when there is none. */
static int marker_key(const char *s, size_t n)
{
    size_t i = 0;
    int paren = 0, v = 0, digit = 0;
    if (n >= 3 && !memcmp(s, "（", 3))
        paren = 1, i = 3;
    if (i < n && is_digit(s[i])) {
        digit = 1;
        while (i < n && is_digit(s[i]) && v < 100)
            v = v * 10 + (s[i++] - '0');
    } else {
        int d;
        for (int nd = 0; nd < 3 && (d = cn_digit(s + i, n - i)); nd++, i += 3)
            v = d == 10 ? (v ? v : 1) * 10 : v + d;     /* 十一 11, 二十 20, 二十一 21 */
    }
    if (v == 0)
        return -1;
    const char *end = paren ? "）" : digit ? "." : "、";
    size_t k = strlen(end);
    if (digit && !paren && n - i >= 3 && !memcmp(s + i, "）", 3))
        end = "）", k = 3;
    if (n - i < k || memcmp(s + i, end, k))
        return -1;
    return paren * 1000 + digit * 100 + v;
}

/* Digit markers match whatever encloses them; Chinese ones must match exactly. */
static int key_match(int a, int b)
{
    if (a < 0 || b < 0)
        return 0;
    if (a % 1000 >= 100 && b % 1000 >= 100)
        return a % 1000 == b % 1000;
    return a == b;
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
        size_t w = s[i] == ' ' ? 1 : space_len(s + i, ln->b - i);
        if (w) {
            if (s[i] != '\f')
                col++, gap++;
            i += w;
            continue;
        }
        sc->t = grow(sc->t, &sc->ct, sc->nt + 1, sizeof *sc->t);
        struct tok *t = &sc->t[sc->nt++];
        t->line = li, t->a = (unsigned)i, t->col = col, t->gap = gap;
        while (i < ln->b && !space_len(s + i, ln->b - i))
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

static void scan_region(struct ctx *c, unsigned from, unsigned to)
{
    c->sc.nt = c->sc.nf = c->sc.nn = 0;
    for (unsigned li = from; li < to; li++)
        if (c->lines[li].kind == LINE_TEXT)
            scan_line(c, li);
}

static const char *frag_text(const struct ctx *c, const struct frag *f, size_t *n)
{
    *n = f->b - f->a;
    return c->lines[f->line].s + f->a;
}

static size_t frag_norm(const struct ctx *c, const struct frag *f, char *out, size_t cap)
{
    size_t n;
    const char *s = frag_text(c, f, &n);
    return norm(out, cap, s, n);
}

/* Append s[0..n) to b without its white space. */
static void append_nospace(struct buf *b, const char *s, size_t n)
{
    size_t i = 0, run = 0, w;
    while (i < n) {
        if ((w = space_len(s + i, n - i))) {
            buf_append(b, s + run, i - run);
            i += w, run = i;
        } else {
            i += char_len((unsigned char)s[i]);
        }
    }
    buf_append(b, s + run, n - run);
}

/* Append frags [lo, hi) owned by row to b, white space removed. */
static void frag_label(const struct ctx *c, size_t lo, size_t hi, int row, struct buf *b)
{
    for (size_t j = lo; j < hi; j++) {
        if (c->sc.f[j].owner != row)
            continue;
        size_t n;
        const char *s = frag_text(c, &c->sc.f[j], &n);
        append_nospace(b, s, n);
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
static int table_line(const struct ctx *c, unsigned li, int ti)
{
    const struct line *ln = &c->lines[li];
    if (ln->kind != LINE_TEXT)
        return 0;
    if (ln->indent >= 10 || memmem(ln->s + ln->a, ln->b - ln->a, "  ", 2))
        return 1;
    char lnorm[LR_NORM], x[LR_NORM];
    norm(lnorm, sizeof lnorm, ln->s + ln->a, ln->b - ln->a);
    for (int k = 0; k < c->ls->n; k++) {
        const struct layout_table *lt = &c->ls->v[k]->tables[ti];
        for (int r = 0; r < lt->nrows; r++) {
            const char *block = lt->rows[r].block;
            if (block && (norm(x, sizeof x, block, strlen(block)), same_text(x, lnorm)))
                return 1;
        }
        for (int j = 0; j < lt->ncols; j++) {
            const char *cand[2] = { lt->cols[j].label, lt->cols[j].group };
            for (int q = 0; q < 2; q++)
                if (cand[q] && (norm(x, sizeof x, cand[q], strlen(cand[q])), same_text(x, lnorm)))
                    return 1;
        }
    }
    return 0;
}

/* --- T3 ---------------------------------------------------------------- */

static int group_sub(const struct ctx *c, const struct t3 *st, const struct frag *f)
{
    char x[LR_NORM];
    if (frag_norm(c, f, x, sizeof x) == 0)
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
            o += frag_norm(c, &c->sc.f[j], x + o, sizeof x - o);
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
    size_t n = frag_norm(c, f, x, sizeof x);
    return marker_key(x, n);
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
        if (key_match(frag_key(c, &c->sc.f[j]), st->key[r]))
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
            if (key_match(frag_key(c, &c->sc.f[j]), st->key[q]))
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

/* Normalize s into the arena; "" once it is full (the row then never
 * counts as covered, which only makes the reader keep more text). */
static const char *t3_norm(struct t3 *st, const char *s, size_t *n)
{
    size_t room = sizeof st->arena - st->used;
    if (room < LR_NORM) {
        *n = 0;
        return "";
    }
    char *p = st->arena + st->used;
    *n = norm(p, LR_NORM, s, strlen(s));
    st->used += *n + 1;
    return p;
}

static void t3_layout(struct t3 *st, const struct layout_table *lt)
{
    st->lt = lt;
    st->n = lt->nrows;
    st->ngrp = 0;
    st->used = 0;
    for (int r = 0; r < lt->nrows; r++) {
        const struct layout_row *lr = &lt->rows[r];
        size_t n;
        st->off[r] = t3_norm(st, lr->label, &n);
        st->key[r] = marker_key(st->off[r], n);
        st->has_start[r] = 0;
        st->icol[r] = st->ipage[r] = 0;
        int seen = !lr->group || !lr->group[0];
        for (int g = 0; g < r && !seen; g++)
            seen = lt->rows[g].group && !strcmp(lt->rows[g].group, lr->group);
        if (!seen)
            st->grp[st->ngrp++] = t3_norm(st, lr->group, &n);
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
        if (!m || key_match(frag_key(c, m), st->key[i]))
            continue;
        size_t n;
        const char *s = frag_text(c, m, &n);
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
    scan_region(c, from, to);
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
        frag_label(c, st->lo[r], st->hi[r], r, &label);
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
            if (norm(c->t2lab[c->nt2lab], LR_T2LAB, lt->rows[r].label, strlen(lt->rows[r].label)))
                c->nt2lab++;
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
            o += frag_norm(c, &c->sc.f[j], x + o, sizeof x - o);
    return o && t2_official(c, x, 0);
}

static void t2_emit(struct ctx *c, struct rawtable *t, int row, struct buf *label)
{
    size_t lo, hi;
    t2_window(&c->sc, row, &lo, &hi);
    label->len = 0;
    frag_label(c, lo, hi, row, label);
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
    scan_region(c, from, to);
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
            char x[LR_T2LAB];
            if (after_prev && !t2_covered(c, g))
                f->owner = g;
            else if (before_next && !t2_covered(c, g + 1))
                f->owner = g + 1;
            else if (frag_norm(c, f, x, sizeof x), t2_official(c, x, 1))
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
                frag_label(c, j, j + 1, OWNER_ALONE, &label);
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
    scan_region(c, from, to);
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

static uint32_t fold(uint32_t cp)
{
    return cp >= 0xff01 && cp <= 0xff5e ? cp - 0xfee0 : cp;
}

static uint32_t first_cp(const char *s, size_t n)
{
    size_t i = 0, w;
    uint32_t cp = 0;
    while (i < n && (w = space_len(s + i, n - i)))
        i += w;
    if (i < n && !util_utf8_next(s + i, n - i, &cp))
        cp = 0;
    return fold(cp);
}

static void add_cp(uint32_t *set, int *n, const char *s)
{
    uint32_t cp = s ? first_cp(s, strlen(s)) : 0;
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
        uint32_t cp = first_cp(ln->s + ln->a, ln->b - ln->a);
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
        append_nospace(&b, c->lines[k].s + c->lines[k].a, c->lines[k].b - c->lines[k].a);
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
        while (from < to && !table_line(c, from, ti))
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
    split_lines(&c, text, len);
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
        measure(&ln, 0);
        pages += ln.kind == LINE_PAGENO;
        aligned += ln.kind == LINE_TEXT && memmem(ln.s + ln.a, ln.b - ln.a, "   ", 3) != NULL;
        p = nl ? nl + 1 : end;
    }
    if (tabbed * 10 > lines)
        return 0;
    return (ff > 0) + (pages > 0) + (aligned >= 3) >= 2;
}
