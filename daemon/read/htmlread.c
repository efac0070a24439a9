/* htmlread: an HTML page through libxml2's HTML parser (recovering, no
 * network, no error output) into a rawdoc. The charset is settled first, on
 * the bytes (charset_of, to_utf8), so libxml2 always parses UTF-8. Then one
 * walk over the tree: inline elements (<span>, <font>, <o:p> …) join their
 * text; block elements and <br> end a line; each line is a section heading,
 * a title candidate (before the first heading) or section text. A <table>
 * without nested tables inside a section that has a table (二, 三, 四) is read
 * as a grid: rowspan and colspan expanded, a spanned value counted once, a
 * label spanning rows (三、本年度办理结果, （三）不予公开) repeated as the group
 * label of each row, and each grid row classified like a text dump's row
 * (rawdoc_add_cells). A cell with nothing in it is "" — a blank, never 0.
 * Section text is kept only inside the smallest element holding every
 * heading: the site's footer after 六、 is page chrome, not the report. */
#include "read/htmlread.h"

#include <errno.h>
#include <iconv.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "base/util.h"
#include "read/fit.h"

#define MAX_DEPTH 256            /* elements nested deeper are not read */
#define MAX_COLS 64              /* grid columns; a report table has at most 16 */
#define MAX_SPAN 1000            /* rowspan/colspan beyond are clamped */
#define CHARSET_SCAN 8192        /* bytes searched for a <meta> charset */

/* A line of section text and the block element it came from. */
struct sline {
    int sec;
    const xmlNode *node;
    char *text;
};

struct walk {
    const struct layouts *ls;
    struct rawdoc *d;
    struct buf line;             /* the line being gathered, white space collapsed */
    unsigned line_no;            /* of its first text */
    const xmlNode *block;        /* the block element being walked */
    const xmlNode *line_node;    /* the block the line's first text is in */
    const xmlNode *heads[LAYOUT_SECTIONS];   /* each heading's block */
    struct sline *lines;         /* section text, kept only inside the report (keep_report_text) */
    size_t nlines;
    int sec, ti, found;
    char *title;                 /* best title candidate so far */
    int too_deep;
};

/* ---- bytes: sniffing and the charset ---------------------------------- */

static size_t skip_bom_space(const char *s, size_t len)
{
    size_t i = len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3) ? 3 : 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    return i;
}

static const char *find_ci(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (!strncasecmp(s + i, needle, n))
            return s + i;
    return NULL;
}

int htmlread_sniff(const char *data, size_t len)
{
    size_t i = skip_bom_space(data, len);
    if (i >= len || data[i] != '<')
        return 0;
    size_t head = len - i < 1024 ? len - i : 1024;
    return find_ci(data + i, head, "<!doctype html") || find_ci(data + i, head, "<html") ||
           find_ci(data + i, head, "<table");
}

/* The first charset a <meta> declares, lower case, into name ("" if none). */
static void charset_of(const char *s, size_t len, char name[32])
{
    name[0] = '\0';
    size_t scan = len < CHARSET_SCAN ? len : CHARSET_SCAN;
    const char *p = s, *end = s + scan;
    while ((p = find_ci(p, (size_t)(end - p), "<meta")) != NULL) {
        const char *close = memchr(p, '>', (size_t)(end - p));
        if (!close)
            return;
        const char *cs = find_ci(p, (size_t)(close - p), "charset=");
        if (cs) {
            cs += 8;
            while (cs < close && (*cs == '"' || *cs == '\'' || *cs == ' '))
                cs++;
            size_t n = 0;
            while (cs + n < close && n < 31 && cs[n] != '"' && cs[n] != '\'' && cs[n] != ' ' &&
                   cs[n] != ';' && cs[n] != '/')
                n++;
            for (size_t i = 0; i < n; i++)
                name[i] = (char)(cs[i] >= 'A' && cs[i] <= 'Z' ? cs[i] + 32 : cs[i]);
            name[n] = '\0';
            return;
        }
        p = close;
    }
}

static int is_utf8_name(const char *cs)
{
    return !strcmp(cs, "utf-8") || !strcmp(cs, "utf8");
}

/* GB2312 and GBK pages use characters beyond them: GB18030 reads all three. */
static const char *iconv_name(const char *cs)
{
    static const char *const gb[] = {"gb2312", "gbk", "x-gbk", "cp936", "gb_2312-80", "gb18030", NULL};
    for (int i = 0; gb[i]; i++)
        if (!strcmp(cs, gb[i]))
            return "GB18030";
    return cs;
}

static int has_multibyte(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 1;
    return 0;
}

/* Offset of the first byte that is not valid UTF-8 (or a NUL), len if none. */
static size_t utf8_bad_at(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint32_t c;
        size_t k = util_utf8_next(s + i, len - i, &c);
        if (k == 0 || c == 0)
            return i;
        i += k;
    }
    return len;
}

static char *convert(const char *s, size_t len, const char *from, size_t *outlen, size_t *bad)
{
    iconv_t cd = iconv_open("UTF-8", from);
    if (cd == (iconv_t)-1)
        return NULL;
    size_t cap = len * 2 + 16;
    char *out = xmalloc(cap), *in = (char *)s, *o = out;
    size_t inleft = len, oleft = cap - 1;
    while (inleft) {
        if (iconv(cd, &in, &inleft, &o, &oleft) != (size_t)-1)
            continue;
        if (errno == E2BIG) {
            size_t used = (size_t)(o - out);
            out = xrealloc(out, cap *= 2);
            o = out + used;
            oleft = cap - 1 - used;
            continue;
        }
        *bad = (size_t)(in - s);           /* EILSEQ, or EINVAL: cut at the end */
        iconv_close(cd);
        free(out);
        return NULL;
    }
    iconv_close(cd);
    *o = '\0';
    *outlen = (size_t)(o - out);
    return out;
}

/* The page as UTF-8 (heap), by its declared charset; NULL with the reason. */
static char *to_utf8(const char *s, size_t len, const char *fn, size_t *outlen, char *err, size_t errlen)
{
    char cs[32];
    size_t start = len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3) ? 3 : 0;
    if (start)
        strcpy(cs, "utf-8");     /* a BOM outranks <meta> */
    else
        charset_of(s, len, cs);
    s += start;
    len -= start;
    size_t bad = utf8_bad_at(s, len);
    if (is_utf8_name(cs) || (!*cs && bad == len)) {
        if (bad < len) {
            errf(err, errlen, "%s: the page declares charset utf-8 but byte %zu is not UTF-8 (mojibake: "
                 "it is in another charset, GBK?): save it as UTF-8 or declare its real charset", fn, bad + start);
            return NULL;
        }
        *outlen = len;
        return xstrndup(s, len);
    }
    if (*cs && bad == len && has_multibyte(s, len)) {
        errf(err, errlen, "%s: the page declares charset %s but its text is UTF-8 (mojibake): declare "
             "charset=utf-8", fn, cs);
        return NULL;
    }
    const char *from = *cs ? iconv_name(cs) : "GB18030";
    bad = 0;
    char *out = convert(s, len, from, outlen, &bad);
    if (!out && bad == 0 && *cs) {
        errf(err, errlen, "%s: the page declares charset %s, which this system cannot convert", fn, cs);
        return NULL;
    }
    if (!out || utf8_bad_at(out, *outlen) < *outlen) {
        free(out);
        errf(err, errlen, "%s: byte %zu is not valid %s%s (mojibake, or a damaged page)", fn, bad + start,
             from, *cs ? " as the page declares" : ", nor is the page UTF-8");
        return NULL;
    }
    return out;
}

/* ---- the tree --------------------------------------------------------- */

static int name_in(const xmlNode *n, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp((const char *)n->name, names[i]))
            return 1;
    return 0;
}

static int is_skipped(const xmlNode *n)
{
    static const char *const skip[] = {"head", "script", "style", "noscript", "template", "iframe",
                                       "object", "select", "textarea", "svg", "math", NULL};
    return name_in(n, skip);
}

static int is_block(const xmlNode *n)
{
    static const char *const block[] = {
        "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd",
        "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "section", "article",
        "header", "footer", "nav", "aside", "main", "blockquote", "pre", "center", "form",
        "address", "hr", "figure", "figcaption", "fieldset", "body", "html", "br", NULL};
    return name_in(n, block);
}

static int is_element(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

/* Append text with HTML's white space rule: any run of spaces, tabs, line
 * breaks and no-break spaces is one space. */
static void put_text(struct buf *b, const char *s)
{
    for (; *s; s++) {
        int space = *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f';
        if ((unsigned char)s[0] == 0xc2 && (unsigned char)s[1] == 0xa0)
            space = 1, s++;
        if (!space)
            buf_append(b, s, 1);
        else if (b->len && b->data[b->len - 1] != ' ')
            buf_append(b, " ", 1);
    }
}

/* s[0..*len) without spaces and ideographic spaces at either end. */
static const char *trim(const char *s, size_t *len)
{
    size_t n = *len;
    for (;;) {
        if (n && s[0] == ' ')
            s++, n--;
        else if (n >= 3 && !memcmp(s, "\xe3\x80\x80", 3))
            s += 3, n -= 3;
        else
            break;
    }
    for (;;) {
        if (n && s[n - 1] == ' ')
            n--;
        else if (n >= 3 && !memcmp(s + n - 3, "\xe3\x80\x80", 3))
            n -= 3;
        else
            break;
    }
    *len = n;
    return s;
}

/* The text of a cell: inline text joined, a space between blocks. */
static void cell_text(const xmlNode *n, struct buf *b, int depth)
{
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            if (c->content)
                put_text(b, (const char *)c->content);
        } else if (c->type == XML_ELEMENT_NODE && !is_skipped(c) && depth < MAX_DEPTH) {
            int block = is_block(c);
            if (block)
                put_text(b, " ");
            cell_text(c, b, depth + 1);
            if (block)
                put_text(b, " ");
        }
    }
}

static int has_table_inside(const xmlNode *n, int depth)
{
    for (const xmlNode *c = n->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE &&
            (is_element(c, "table") || (depth < MAX_DEPTH && has_table_inside(c, depth + 1))))
            return 1;
    return 0;
}

/* ---- tables as grids -------------------------------------------------- */

struct gcell {
    char *text;
    size_t len;
    unsigned line;
    size_t row;                  /* grid row where it starts */
};

struct grid {
    struct gcell *cells;
    size_t ncells;
    int span_left[MAX_COLS];     /* rows a rowspan still covers, per column */
    size_t span_cell[MAX_COLS];
};

static long span_attr(const xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    long k = v ? strtol((const char *)v, NULL, 10) : 1;
    xmlFree(v);
    return k < 1 ? 1 : k > MAX_SPAN ? MAX_SPAN : k;
}

static size_t add_gcell(struct grid *g, const xmlNode *td, size_t row)
{
    struct buf b = {0};
    cell_text(td, &b, 0);
    buf_append(&b, "", 0);       /* NUL-terminated even when empty */
    g->cells = xrealloc(g->cells, (g->ncells + 1) * sizeof *g->cells);
    struct gcell *c = &g->cells[g->ncells];
    size_t len = b.len;
    c->text = buf_take(&b);
    const char *t = trim(c->text, &len);
    memmove(c->text, t, len);
    c->text[len] = '\0';
    c->len = len;
    c->line = (unsigned)xmlGetLineNo(td);
    c->row = row;
    return g->ncells++;
}

/* One <tr>: its slots (cell index per grid column, -1 for none) filled by the
 * rowspans from above, then by its own cells left to right. */
static void place_row(struct grid *g, const xmlNode *tr, size_t row, long slots[MAX_COLS])
{
    for (int k = 0; k < MAX_COLS; k++) {
        slots[k] = -1;
        if (g->span_left[k] > 0) {
            slots[k] = (long)g->span_cell[k];
            g->span_left[k]--;
        }
    }
    int col = 0;
    for (const xmlNode *td = tr->children; td; td = td->next) {
        if (!is_element(td, "td") && !is_element(td, "th"))
            continue;
        while (col < MAX_COLS && slots[col] >= 0)
            col++;
        if (col >= MAX_COLS)
            break;
        size_t id = add_gcell(g, td, row);
        long cs = span_attr(td, "colspan"), rs = span_attr(td, "rowspan");
        for (long k = 0; k < cs && col < MAX_COLS; k++, col++) {
            slots[col] = (long)id;
            if (rs > 1) {
                g->span_left[col] = (int)rs - 1;
                g->span_cell[col] = id;
            }
        }
    }
}

/* A grid row as printed cells: a cell spanning columns once; a cell spanning
 * rows again only as a label (a value belongs to the row it starts in). */
static void add_grid_row(struct walk *w, struct grid *g, const long slots[MAX_COLS], size_t row)
{
    struct rawcell cells[MAX_COLS];
    size_t n = 0;
    long prev = -1;
    for (int k = 0; k < MAX_COLS; k++) {
        long id = slots[k];
        if (id < 0 || id == prev)
            continue;
        prev = id;
        const struct gcell *c = &g->cells[id];
        if (c->row != row && !rawdoc_label_like(c->text, c->len))
            continue;
        cells[n++] = (struct rawcell){c->text, c->len, c->line, (unsigned)k + 1};
    }
    rawdoc_add_cells(&w->d->tables[w->ti], w->ti, cells, n);
}

static void read_rows(struct walk *w, struct grid *g, const xmlNode *parent, size_t *row)
{
    for (const xmlNode *c = parent->children; c; c = c->next) {
        if (is_element(c, "thead") || is_element(c, "tbody") || is_element(c, "tfoot")) {
            read_rows(w, g, c, row);
        } else if (is_element(c, "tr")) {
            long slots[MAX_COLS];
            place_row(g, c, *row, slots);
            add_grid_row(w, g, slots, (*row)++);
        }
    }
}

static void read_table(struct walk *w, const xmlNode *table)
{
    struct rawtable *t = &w->d->tables[w->ti];
    if (!t->found) {
        t->found = 1;
        t->line = (unsigned)xmlGetLineNo(table);
    }
    struct grid g;
    memset(&g, 0, sizeof g);
    size_t row = 0;
    read_rows(w, &g, table, &row);
    for (size_t i = 0; i < g.ncells; i++)
        free(g.cells[i].text);
    free(g.cells);
}

/* ---- lines: headings, title, section text ------------------------------ */

static int table_of_section(const struct layouts *ls, int sec)
{
    for (int t = 0; t < LAYOUT_TABLES; t++)
        if (ls->v[0]->tables[t].section == sec)
            return t;
    return -1;
}

/* The shortest line before the first heading that names a year and a report
 * is the title (pages repeat it in breadcrumbs, tabs and metadata). */
static void title_candidate(struct walk *w, const char *s)
{
    if (!strstr(s, "报告") || !fit_title_year(s, NULL))
        return;
    if (!w->title || strlen(s) < strlen(w->title)) {
        free(w->title);
        w->title = xstrdup(s);
    }
}

static void flush_line(struct walk *w)
{
    size_t len = w->line.len;
    if (!len)
        return;
    const char *s = trim(w->line.data, &len);
    char *line = xstrndup(s, len);
    w->line.len = 0;
    if (!*line) {
        free(line);
        return;
    }
    int h = layouts_match_heading(w->ls, line);
    if (h >= 0 && !w->d->sections[h].found) {
        struct rawsection *sec = &w->d->sections[h];
        w->heads[h] = w->line_node;
        w->sec = h;
        w->ti = table_of_section(w->ls, h);
        sec->found = 1;
        sec->title = line;
        sec->line = w->line_no;
        sec->order = w->found++;
        sec->text = xstrdup("");
        return;
    }
    if (w->sec < 0) {
        title_candidate(w, line);
        free(line);
        return;
    }
    w->lines = xrealloc(w->lines, (w->nlines + 1) * sizeof *w->lines);
    w->lines[w->nlines++] = (struct sline){w->sec, w->line_node, line};
}

static const xmlNode *common_ancestor(const xmlNode *a, const xmlNode *b)
{
    for (const xmlNode *x = a; x; x = x->parent)
        for (const xmlNode *y = b; y; y = y->parent)
            if (x == y)
                return x;
    return NULL;
}

static int inside(const xmlNode *n, const xmlNode *top)
{
    for (; n; n = n->parent)
        if (n == top)
            return 1;
    return 0;
}

/* Section text from the lines inside the report's element (the smallest one
 * holding every heading; a lone heading's parent); the rest is page chrome. */
static void keep_report_text(struct walk *w)
{
    const xmlNode *top = NULL;
    int n = 0;
    for (int i = 0; i < LAYOUT_SECTIONS; i++)
        if (w->heads[i]) {
            top = n++ ? common_ancestor(top, w->heads[i]) : w->heads[i];
        }
    for (int i = 0; top && i < LAYOUT_SECTIONS; i++)
        if (top == w->heads[i]) {
            top = top->parent;
            break;
        }
    struct buf text[LAYOUT_SECTIONS] = {{0}};   /* linear in the page, however many lines */
    for (size_t i = 0; i < w->nlines; i++) {
        struct buf *b = &text[w->lines[i].sec];
        if (!top || inside(w->lines[i].node, top)) {
            if (b->len)
                buf_append(b, "\n", 1);
            buf_puts(b, w->lines[i].text);
        }
        free(w->lines[i].text);
    }
    for (int i = 0; i < LAYOUT_SECTIONS; i++)
        if (text[i].len) {
            free(w->d->sections[i].text);
            w->d->sections[i].text = buf_take(&text[i]);
        }
    free(w->lines);
    w->lines = NULL;
    w->nlines = 0;
}

static void walk(struct walk *w, const xmlNode *n, int depth)
{
    if (depth >= MAX_DEPTH) {
        w->too_deep = 1;
        return;
    }
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            if (!w->line.len) {
                w->line_no = (unsigned)xmlGetLineNo(c);
                w->line_node = w->block;
            }
            if (c->content)
                put_text(&w->line, (const char *)c->content);
            continue;
        }
        if (c->type != XML_ELEMENT_NODE || is_skipped(c))
            continue;
        int block = is_block(c);
        const xmlNode *outer = w->block;
        if (block) {
            flush_line(w);
            w->block = c;
        }
        if (is_element(c, "table") && w->ti >= 0 && !has_table_inside(c, depth))
            read_table(w, c);
        else
            walk(w, c, depth + 1);
        if (block) {
            flush_line(w);
            w->block = outer;
        }
    }
}

static const xmlNode *find_title(const xmlNode *n, int depth)
{
    for (const xmlNode *c = n ? n->children : NULL; c && depth < 4; c = c->next) {
        if (is_element(c, "title"))
            return c;
        if (c->type == XML_ELEMENT_NODE && (is_element(c, "html") || is_element(c, "head"))) {
            const xmlNode *t = find_title(c, depth + 1);
            if (t)
                return t;
        }
    }
    return NULL;
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    xmlInitParser();
}

int htmlread_parse(const char *data, size_t len, const char *filename, const struct layouts *ls,
                   struct rawdoc *out, char *err, size_t errlen)
{
    const char *fn = filename ? filename : "<html>";
    memset(out, 0, sizeof *out);
    for (int i = 0; i < LAYOUT_SECTIONS; i++)
        out->sections[i].order = -1;
    out->filename = xstrdup(fn);
    if (len > INT_MAX)
        return errf(err, errlen, "%s: a page of %zu bytes is too large", fn, len);
    size_t ulen;
    char *u = to_utf8(data, len, fn, &ulen, err, errlen);
    if (!u)
        return -1;
    pthread_once(&xml_once, xml_init);
    htmlDocPtr doc = htmlReadMemory(u, (int)ulen, NULL, "UTF-8",
                                    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                        HTML_PARSE_NONET);
    free(u);
    if (!doc)
        return errf(err, errlen, "%s: not an HTML page libxml2 can read", fn);
    struct walk w = {.ls = ls, .d = out, .sec = -1, .ti = -1};
    const xmlNode *root = xmlDocGetRootElement(doc);
    const xmlNode *title = find_title((const xmlNode *)doc, 0);
    if (title) {
        cell_text(title, &w.line, 0);
        size_t tl = w.line.len;
        const char *t = trim(w.line.data, &tl);
        char *s = xstrndup(t, tl);
        title_candidate(&w, s);
        free(s);
        w.line.len = 0;
    }
    if (root) {
        w.block = root;
        walk(&w, root, 0);
        flush_line(&w);
    }
    keep_report_text(&w);
    xmlFreeDoc(doc);
    buf_free(&w.line);
    out->title = w.title;
    if (w.too_deep)
        return errf(err, errlen, "%s: elements nested more than %d deep: not read", fn, MAX_DEPTH);
    if (!w.found)
        return errf(err, errlen, "%s: no annual report in this page: no section heading (\"一、总体情况\" …) "
                    "was found in its text", fn);
    return 0;
}
