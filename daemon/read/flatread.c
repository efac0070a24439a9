/* flatread: run-together page text -> rawdoc -> fit. The text is normalised
 * once (norm.h: white space dropped, punctuation folded as layout labels are) with a
 * map back to the original bytes, so labels split by stray spaces
 * ("三、本年度办 理结果") are found and every cell still has its line and
 * column. Sections are found in order by their titles; a table's rows by
 * their labels in layout order (the label with its numbering, so "2." of the
 * next row is not read as the previous row's last digit); a row's run is the
 * digits between its label and the next non-digit. A row whose label is
 * misprinted is taken between its neighbours and keeps the printed label
 * (R-STRUCT-LABEL). digitsplit.c splits the runs; nothing is guessed. */
#include "read/flatread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "read/digitsplit.h"
#include "read/fit.h"
#include "read/rawdoc.h"
#include "report/norm.h"

static const char *const CHROME_AFTER[] = {
    "扫一扫在手机打开当前页", "打印本页", "关闭窗口", "分享到", "相关附件", "附件下载", "上一篇", "下一篇", NULL,
};

struct ntext {
    char *s;                     /* normalised text */
    size_t n;
    size_t *map;                 /* map[i]: original offset of s[i]; map[n] = original end */
};

static void ntext_build(struct ntext *nt, const char *text, size_t len)
{
    nt->s = xmalloc(len + 1);
    nt->map = xmalloc((len + 1) * sizeof *nt->map);
    nt->n = norm_label_map(nt->s, len + 1, text, len, nt->map);
    nt->map[nt->n] = len;
}

static void ntext_free(struct ntext *nt)
{
    free(nt->s);
    free(nt->map);
}

/* First occurrence of needle in nt->s[from..to), or SIZE_MAX. */
static size_t find(const struct ntext *nt, const char *needle, size_t from, size_t to)
{
    size_t k = strlen(needle);
    if (!k || from >= to || to - from < k)
        return SIZE_MAX;
    const char *p = memmem(nt->s + from, to - from, needle, k);
    return p ? (size_t)(p - nt->s) : SIZE_MAX;
}

static int is_run_char(char c, int dot)
{
    return (c >= '0' && c <= '9') || (dot && c == '.');
}

/* Positions in the original text, advanced in increasing order only. */
struct cursor {
    const char *text;
    size_t off;
    unsigned line, col;
};

static void cursor_to(struct cursor *c, size_t off)
{
    while (c->off < off) {
        unsigned char u = (unsigned char)c->text[c->off++];
        if (u == '\n')
            c->line++, c->col = 1;
        else if ((u & 0xc0) != 0x80)
            c->col++;
    }
}

/* The original text of normalised span [a, b), trimmed (heap). */
static char *original(const char *text, const struct ntext *nt, size_t a, size_t b)
{
    if (b <= a)
        return xstrdup("");
    size_t x = nt->map[a], y = nt->map[b];
    while (x < y && (text[x] == ' ' || text[x] == '\n' || text[x] == '\r' || text[x] == '\t'))
        x++;
    while (y > x && (text[y - 1] == ' ' || text[y - 1] == '\n' || text[y - 1] == '\r' || text[y - 1] == '\t'))
        y--;
    return xstrndup(text + x, y - x);
}

struct span {
    size_t start, end;           /* normalised offsets; start SIZE_MAX: not found */
};

struct located {
    struct span label[LAYOUT_MAX_ROWS];
    struct span run[LAYOUT_MAX_ROWS];
    int misprinted[LAYOUT_MAX_ROWS];
    int full;                    /* every row has digits */
};

struct reading {
    const struct layouts *ls;
    const char *text, *fn;
    struct ntext nt;
    size_t body;                 /* normalised offset where the report's page text starts */
    struct span heading[LAYOUT_SECTIONS];
    size_t section_end[LAYOUT_SECTIONS];
    struct rawdoc d;
    struct digitsplit *split[LAYOUT_TABLES];
    const struct layout *used[LAYOUT_TABLES];
    struct located loc[LAYOUT_TABLES];
    struct flatread_stats st;
};

/* The earliest (then longest) of row r's labels in [from, to): with their
 * numbering first, then without. */
static struct span find_label(const struct ntext *nt, const struct layout_row *row, size_t from, size_t to)
{
    struct span best = {SIZE_MAX, 0};
    for (size_t v = 0; v <= row->variants.n; v++) {
        char *p = norm_label(v ? row->variants.v[v - 1] : row->label);
        size_t at = find(nt, p, from, to), n = strlen(p);
        if (at < best.start || (at == best.start && at != SIZE_MAX && at + n > best.end))
            best = (struct span){at, at + n};
        free(p);
    }
    if (best.start != SIZE_MAX)
        return best;
    for (size_t v = 0; v < row->match.n; v++) {
        size_t at = find(nt, row->match.v[v], from, to), n = strlen(row->match.v[v]);
        if (at < best.start)
            best = (struct span){at, at + n};
    }
    /* numbering printed otherwise ("2、" read as "2."): keep it off the previous run */
    if (best.start != SIZE_MAX && best.start >= from + 2 && nt->s[best.start - 1] == '.' &&
        nt->s[best.start - 2] >= '0' && nt->s[best.start - 2] <= '9')
        best.start -= 2;
    return best;
}

static int row_has_amount(const struct layout_table *lt, int r)
{
    for (int k = 0; k < lt->rows[r].ncols; k++)
        if (lt->cols[lt->rows[r].cols[k]].amount)
            return 1;
    return 0;
}

/* T4: the single row is the run of digits that ends the section, right
 * after the last column's label. */
static int locate_single(const struct ntext *nt, const struct layout_table *lt, size_t a, size_t b,
                         struct located *lc)
{
    size_t e = b;
    while (e > a && is_run_char(nt->s[e - 1], 0))
        e--;
    char *last = norm_label(lt->cols[lt->ncols - 1].label);
    size_t n = strlen(last);
    int ok = e < b && e >= a + n && !memcmp(nt->s + e - n, last, n);
    free(last);
    lc->label[0] = (struct span){e, e};
    lc->run[0] = (struct span){e, b};
    lc->full = ok;
    return ok ? 0 : -1;
}

/* Rows of lt in nt[a, b), in order. Returns 0, or -1 with *missing the
 * first row whose label was not found. */
static int locate_rows(const struct ntext *nt, const struct layout_table *lt, size_t a, size_t b,
                       struct located *lc, int *missing)
{
    memset(lc, 0, sizeof *lc);
    if (lt->nrows == 1)
        return locate_single(nt, lt, a, b, lc) < 0 ? (*missing = 0, -1) : 0;
    size_t pos = a;
    for (int r = 0; r < lt->nrows; r++) {
        struct span s = find_label(nt, &lt->rows[r], pos, b);
        if (s.start == SIZE_MAX && r > 0 && r + 1 < lt->nrows) {
            /* a misprinted label: between the previous row's digits and the next row */
            struct span next = find_label(nt, &lt->rows[r + 1], pos, b);
            if (next.start == SIZE_MAX)
                next.start = pos;            /* the next row is not there either */
            size_t p = pos;
            while (p < next.start && is_run_char(nt->s[p], 0))
                p++;
            /* its numbering ("2.") ran into the previous row's digits */
            char *official = norm_label(lt->rows[r].label);
            size_t num = (size_t)(norm_skip_numbering(official) - official);
            if (num > 1 && official[num - 1] == '.' && p > pos + num - 2 && nt->s[p] == '.' &&
                !memcmp(nt->s + p - (num - 1), official, num - 1))
                p -= num - 1;
            free(official);
            size_t q = p;
            while (q < next.start && (q == p || !is_run_char(nt->s[q], 0)))
                q++;
            if (q > p) {
                s = (struct span){p, q};
                lc->misprinted[r] = 1;
            }
        }
        if (s.start == SIZE_MAX) {
            *missing = r;
            return -1;
        }
        lc->label[r] = s;
        pos = s.end;
    }
    lc->full = 1;
    for (int r = 0; r < lt->nrows; r++) {
        size_t limit = r + 1 < lt->nrows ? lc->label[r + 1].start : b, e = lc->label[r].end;
        int dot = row_has_amount(lt, r);
        while (e < limit && is_run_char(nt->s[e], dot))
            e++;
        lc->run[r] = (struct span){lc->label[r].end, e};
        lc->full &= e > lc->label[r].end;
    }
    return 0;
}

static void report_loc(struct reading *rd, size_t at, char *where, size_t n)
{
    struct cursor c = {rd->text, 0, 1, 1};
    cursor_to(&c, rd->nt.map[at < rd->nt.n ? at : rd->nt.n]);
    snprintf(where, n, "%s:%u:%u", rd->fn, c.line, c.col);
}

/* Choose the layout whose rows are all there (with digits, if one has them
 * all), the year's layout first. Returns 1 found, 0 absent, -1 error. */
static int locate_table(struct reading *rd, int ti, unsigned year, char *err, size_t errlen)
{
    int sec = -1;
    const struct layout *order[4];
    int n = 0;
    const struct layout *want = layouts_for_year(rd->ls, year);
    if (want)
        order[n++] = want;
    for (int k = 0; k < rd->ls->n && n < 4; k++)
        if (rd->ls->v[k] != want)
            order[n++] = rd->ls->v[k];
    sec = order[0]->tables[ti].section;
    if (rd->heading[sec].start == SIZE_MAX)
        return 0;
    size_t a = rd->heading[sec].end, b = rd->section_end[sec];
    int deepest = -1, deepest_layout = 0;
    for (int pass = 0; pass < 2 && !rd->used[ti]; pass++)
        for (int k = 0; k < n && !rd->used[ti]; k++) {
            struct located lc;
            int missing = 0;
            if (locate_rows(&rd->nt, &order[k]->tables[ti], a, b, &lc, &missing) < 0) {
                if (missing > deepest)
                    deepest = missing, deepest_layout = k;
                continue;
            }
            if (pass == 0 && !lc.full)
                continue;
            rd->used[ti] = order[k];
            rd->loc[ti] = lc;
        }
    if (rd->used[ti])
        return 1;
    if (deepest <= 0)
        return 0;                /* not even its first row: the table is missing */
    const struct layout_row *row = &order[deepest_layout]->tables[ti].rows[deepest];
    char where[512];
    report_loc(rd, a, where, sizeof where);
    return errf(err, errlen, "%s: %s: row %s (%s) not found after the rows before it", where,
                order[deepest_layout]->tables[ti].id, row->id, row->label);
}

static int split_table(struct reading *rd, int ti, struct cursor *cur, char *err, size_t errlen)
{
    const struct layout_table *lt = &rd->used[ti]->tables[ti];
    struct located *lc = &rd->loc[ti];
    const char *runs[LAYOUT_MAX_ROWS];
    size_t lens[LAYOUT_MAX_ROWS];
    for (int r = 0; r < lt->nrows; r++) {
        runs[r] = rd->nt.s + lc->run[r].start;
        lens[r] = lc->run[r].end - lc->run[r].start;
    }
    int bad = -1;
    char why[768];
    struct digitsplit *ds = digitsplit_solve(lt, runs, lens, DIGITSPLIT_MAX_NODES, &bad, why, sizeof why);
    if (!ds) {
        char where[512];
        report_loc(rd, bad >= 0 ? lc->run[bad].start : lc->run[0].start, where, sizeof where);
        return errf(err, errlen, "%s: %s", where, why);
    }
    unsigned long nodes = digitsplit_nodes(ds);
    rd->st.nodes += nodes;
    if (nodes > rd->st.max_nodes)
        rd->st.max_nodes = nodes;
    struct rawtable *t = &rd->d.tables[ti];
    t->found = 1;
    for (int r = 0; r < lt->nrows; r++) {
        char *label = lt->nrows == 1 ? xstrdup("")
                      : original(rd->text, &rd->nt, lc->label[r].start, lc->label[r].end);
        cursor_to(cur, rd->nt.map[lc->label[r].start]);
        if (r == 0)
            t->line = cur->line;
        struct rawrow *row = rawdoc_add_row(t, label, cur->line);
        free(label);
        for (int k = 0; k < lt->rows[r].ncols; k++) {
            size_t off = 0, len = 0;
            int have = digitsplit_cell(ds, r, k, &off, &len);
            cursor_to(cur, rd->nt.map[lc->run[r].start + off]);
            rawdoc_add_token(row, have ? runs[r] + off : "", have ? len : 0, cur->line, cur->col);
        }
    }
    rd->split[ti] = ds;
    return 0;
}

static void find_sections(struct reading *rd)
{
    size_t pos = rd->body;
    for (int i = 0; i < LAYOUT_SECTIONS; i++) {
        struct span best = {SIZE_MAX, 0};
        for (int k = 0; k < rd->ls->n; k++) {
            const struct layout_names *nm = &rd->ls->v[k]->sections[i].norm;
            for (size_t v = 0; v < nm->n; v++) {
                size_t at = find(&rd->nt, nm->v[v], pos, rd->nt.n), n = strlen(nm->v[v]);
                if (at < best.start || (at == best.start && at != SIZE_MAX && at + n > best.end))
                    best = (struct span){at, at + n};
            }
        }
        rd->heading[i] = best;
        if (best.start != SIZE_MAX)
            pos = best.end;
    }
    size_t end = rd->nt.n;
    if (rd->heading[5].start != SIZE_MAX)
        for (int i = 0; CHROME_AFTER[i]; i++) {
            char *p = norm_label(CHROME_AFTER[i]);
            size_t at = find(&rd->nt, p, rd->heading[5].end, end);
            if (at < end)
                end = at;
            free(p);
        }
    for (int i = LAYOUT_SECTIONS - 1; i >= 0; i--) {
        rd->section_end[i] = end;
        if (rd->heading[i].start != SIZE_MAX)
            end = rd->heading[i].start;
    }
}

static void fill_sections(struct reading *rd)
{
    struct cursor c = {rd->text, 0, 1, 1};
    int order = 0;
    for (int i = 0; i < LAYOUT_SECTIONS; i++) {
        struct rawsection *s = &rd->d.sections[i];
        s->order = -1;
        if (rd->heading[i].start == SIZE_MAX)
            continue;
        int table = 0;
        for (int ti = 0; ti < LAYOUT_TABLES; ti++)
            table |= rd->ls->v[0]->tables[ti].section == i;
        s->found = 1;
        s->order = order++;
        s->title = original(rd->text, &rd->nt, rd->heading[i].start, rd->heading[i].end);
        s->text = table ? xstrdup("") : original(rd->text, &rd->nt, rd->heading[i].end, rd->section_end[i]);
        cursor_to(&c, rd->nt.map[rd->heading[i].start]);
        s->line = c.line;
    }
}

/* The archive's header: "标题: …" lines, then a "==== 正文 ====" rule. */
static void read_header(struct reading *rd, size_t len)
{
    const char *t = rd->text, *end = t + len;
    size_t body = 0;
    for (const char *line = t; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *e = nl ? nl : end;
        size_t n = (size_t)(e - line), k = 0;
        if (n >= 7 && !memcmp(line, "标题:", 7))
            k = 7;
        else if (n >= 9 && !memcmp(line, "标题：", 9))
            k = 9;
        if (!rd->d.title && k) {
            const char *v = line + k;
            while (v < e && *v == ' ')
                v++;
            rd->d.title = xstrndup(v, (size_t)(e - v));
        }
        if (n && line[0] == '=' && memmem(line, n, "正文", 6))
            body = (size_t)(e - t);
        line = nl ? nl + 1 : end;
    }
    while (rd->body < rd->nt.n && rd->nt.map[rd->body] < body)
        rd->body++;
}

static void annotate(struct reading *rd, struct report *r)
{
    for (int ti = 0; ti < LAYOUT_TABLES; ti++) {
        if (!rd->split[ti] || !r->tables[ti].layout)
            continue;
        const struct layout_table *lt = &rd->used[ti]->tables[ti];
        struct report_table *t = &r->tables[ti];
        for (int row = 0; row < lt->nrows; row++) {
            t->reconstructed |= (uint8_t)digitsplit_split(rd->split[ti], row);
            const char *n = digitsplit_note(rd->split[ti], row);
            if (!n)
                continue;
            if (!t->unread)
                t->unread = xcalloc((size_t)lt->nrows, sizeof *t->unread);
            t->unread[row] = xstrdup(n);
        }
    }
}

int flatread_read(const struct layouts *ls, const char *text, size_t len, const char *filename,
                  unsigned year_hint, struct report **out, struct flatread_stats *st, char *err,
                  size_t errlen)
{
    struct reading *rd = xcalloc(1, sizeof *rd);
    rd->ls = ls;
    rd->text = text;
    rd->fn = filename ? filename : "<document>";
    rd->d.filename = xstrdup(rd->fn);
    int rc = -1;
    *out = NULL;
    if (!util_utf8_valid(text, len)) {
        errf(err, errlen, "%s: not valid UTF-8 text (or contains a NUL byte)", rd->fn);
        goto done;
    }
    ntext_build(&rd->nt, text, len);
    read_header(rd, len);
    find_sections(rd);
    if (rd->heading[0].start == SIZE_MAX && rd->heading[2].start == SIZE_MAX) {
        errf(err, errlen, "%s: no section heading like 一、总体情况 found; not an annual report?", rd->fn);
        goto done;
    }
    fill_sections(rd);
    unsigned year = year_hint ? year_hint : fit_title_year(rd->d.title, NULL);
    struct cursor cur = {text, 0, 1, 1};
    for (int ti = 0; ti < LAYOUT_TABLES; ti++) {
        int found = locate_table(rd, ti, year, err, errlen);
        if (found < 0 || (found && split_table(rd, ti, &cur, err, errlen) < 0))
            goto done;
    }
    if (fit_report(ls, &rd->d, year_hint, out, err, errlen) < 0)
        goto done;
    annotate(rd, *out);
    rc = 0;
done:
    if (st)
        *st = rd->st;
    for (int ti = 0; ti < LAYOUT_TABLES; ti++)
        digitsplit_destroy(&rd->split[ti]);
    rawdoc_free(&rd->d);
    ntext_free(&rd->nt);
    free(rd);
    return rc;
}

/* needle in text, then optional spaces, then at least min digits. */
static int label_then_digits(const char *text, size_t len, const char *needle, size_t min)
{
    size_t k = strlen(needle);
    for (const char *p = text, *end = text + len; (p = memmem(p, (size_t)(end - p), needle, k)); p += k) {
        const char *q = p + k;
        while (q < end && *q == ' ')
            q++;
        size_t digits = 0;
        while (q + digits < end && q[digits] >= '0' && q[digits] <= '9')
            digits++;
        if (digits >= min)
            return 1;
    }
    return 0;
}

int flatread_sniff(const char *text, size_t len)
{
    return label_then_digits(text, len, "本年新收政府信息公开申请数量", 7) ||
           label_then_digits(text, len, "尚未审结总计", 15);
}
