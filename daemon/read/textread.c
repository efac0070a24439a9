/* textread: web-page text dumps. Lines are split once; a line starting with a
 * tab is a table cell of the current section's table, any other line is a
 * heading or free text. Rows are the runs of cell lines between empty lines;
 * which runs are data rows depends on the table (see row_of_group). */
#include "read/textread.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

struct line {
    const char *s;
    size_t len;
    unsigned no;                 /* 1-based */
    int cell;                    /* tab-prefixed */
};

/* One run of cell lines: a table row when rawdoc_add_cells says so. */
static void row_of_group(struct rawtable *t, int ti, const struct line *g, size_t n)
{
    struct rawcell *c = xmalloc((n ? n : 1) * sizeof *c);
    for (size_t i = 0; i < n; i++)
        c[i] = (struct rawcell){g[i].s, g[i].len, g[i].no, 2};
    rawdoc_add_cells(t, ti, c, n);
    free(c);
}

/* One more line of text (a buffer, not strlen and realloc per line: a
 * document of millions of short lines stays linear). */
static void append_text(struct buf *b, const struct line *l)
{
    if (b->len)
        buf_append(b, "\n", 1);
    buf_append(b, l->s, l->len);
}

static size_t split_lines(const char *text, size_t len, struct line **out)
{
    size_t n = 0, cap = 256, i = 0;
    struct line *v = xmalloc(cap * sizeof *v);
    while (i < len) {
        const char *e = memchr(text + i, '\n', len - i);
        size_t end = e ? (size_t)(e - text) : len;
        size_t l = end - i;
        if (l && text[i + l - 1] == '\r')
            l--;
        if (n == cap)
            v = xrealloc(v, (cap *= 2) * sizeof *v);
        struct line *ln = &v[n++];
        ln->s = text + i;
        ln->len = l;
        ln->no = (unsigned)n;
        ln->cell = l && text[i] == '\t';
        if (ln->cell)
            ln->s++, ln->len--;
        while (ln->len && (ln->s[ln->len - 1] == ' ' || ln->s[ln->len - 1] == '\t'))
            ln->len--;
        while (ln->len && (ln->s[0] == ' ' || ln->s[0] == '\t'))
            ln->s++, ln->len--;
        i = end + 1;
    }
    *out = v;
    return n;
}

static int table_of_section(const struct layouts *ls, int sec)
{
    for (int t = 0; t < LAYOUT_TABLES; t++)
        if (ls->v[0]->tables[t].section == sec)
            return t;
    return -1;
}

int textread_parse(const char *text, size_t len, const char *filename, const struct layouts *ls,
                   struct rawdoc *out, char *err, size_t errlen)
{
    struct line *lines;
    const char *fn = filename ? filename : "<text>";
    memset(out, 0, sizeof *out);
    for (int i = 0; i < LAYOUT_SECTIONS; i++)
        out->sections[i].order = -1;
    out->filename = xstrdup(fn);
    if (!util_utf8_valid(text, len))
        return errf(err, errlen, "%s: not valid UTF-8 text (or contains a NUL byte)", fn);
    size_t n = split_lines(text, len, &lines);
    int sec = -1, found = 0, ti = -1;
    size_t gstart = 0, glen = 0;
    struct buf title = {0}, stext[LAYOUT_SECTIONS];
    memset(stext, 0, sizeof stext);
    for (size_t i = 0; i <= n; i++) {
        const struct line *l = i < n ? &lines[i] : NULL;
        int cell = l && l->cell;
        if ((!l || !cell) && glen && ti >= 0) {
            row_of_group(&out->tables[ti], ti, &lines[gstart], glen);
            glen = 0;
        }
        if (!l)
            break;
        if (cell && ti >= 0) {
            if (glen == 0)
                gstart = i;
            glen++;
            if (!out->tables[ti].found) {
                out->tables[ti].found = 1;
                out->tables[ti].line = l->no;
            }
            continue;
        }
        if (l->len == 0)
            continue;
        char *s = xstrndup(l->s, l->len);
        int h = layouts_match_heading(ls, s);
        if (h >= 0 && !out->sections[h].found) {
            sec = h;
            ti = table_of_section(ls, h);
            out->sections[h].found = 1;
            out->sections[h].title = s;
            out->sections[h].line = l->no;
            out->sections[h].order = found++;
            out->sections[h].text = xstrdup("");
            continue;
        }
        free(s);
        if (sec < 0)
            append_text(&title, l);
        else if (!cell)
            append_text(&stext[sec], l);
    }
    free(lines);
    for (int i = 0; i < LAYOUT_SECTIONS; i++)
        if (stext[i].len) {
            free(out->sections[i].text);
            out->sections[i].text = buf_take(&stext[i]);
        }
    out->title = title.len ? buf_take(&title) : NULL;
    if (out->title) {
        /* the title may wrap: join its lines without separators */
        char *w = out->title;
        for (char *r = out->title; *r; r++)
            if (*r != '\n')
                *w++ = *r;
        *w = '\0';
    }
    if (!found)
        return errf(err, errlen, "%s:1:1: no section heading found (expected \"一、总体情况\" …)", fn);
    return 0;
}

int textread_sniff(const char *text, size_t len)
{
    size_t cells = 0, lines = 0;
    for (size_t i = 0; i < len; i++)
        if (i == 0 || text[i - 1] == '\n') {
            lines++;
            if (text[i] == '\t')
                cells++;
        }
    return lines > 0 && cells * 4 >= lines;
}
