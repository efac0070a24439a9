/* rawdoc: storage for a report as a reader found it. Arrays grow by doubling;
 * their capacity is not stored but follows from the count (8, then the next
 * power of two), so the structs in rawdoc.h need no capacity fields. A row
 * pointer from rawdoc_add_row stays valid until the next row is added to the
 * same table. rawdoc_free releases everything and leaves the rawdoc zeroed. */
#include "read/rawdoc.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "report/norm.h"

/* Grow an array of n elements so that element n fits. */
static void *grow(void *p, size_t n, size_t size)
{
    if (n == 0)
        return xmalloc(8 * size);
    if (n < 8 || (n & (n - 1)) != 0)
        return p;
    return xrealloc(p, 2 * n * size);
}

struct rawrow *rawdoc_add_row(struct rawtable *t, const char *label, unsigned line)
{
    t->rows = grow(t->rows, t->nrows, sizeof *t->rows);
    struct rawrow *r = &t->rows[t->nrows++];
    memset(r, 0, sizeof *r);
    r->label = xstrdup(label ? label : "");
    r->line = line;
    return r;
}

void rawdoc_add_token(struct rawrow *r, const char *text, size_t len, unsigned line, unsigned col)
{
    r->tokens = grow(r->tokens, r->ntokens, sizeof *r->tokens);
    struct rawtoken *tk = &r->tokens[r->ntokens++];
    tk->text = xstrndup(text ? text : "", text ? len : 0);
    tk->line = line;
    tk->col = col;
}

/* A CJK ideograph count, enough to tell a label from a cell value. */
static int cjk_count(const char *s, size_t len)
{
    int n = 0;
    size_t i = 0;
    while (i < len) {
        uint32_t c;
        size_t k = util_utf8_next(s + i, len - i, &c);
        if (k == 0)
            return n;
        if (c >= 0x4e00 && c <= 0x9fff)
            n++;
        i += k;
    }
    return n;
}

static int is_placeholder(const char *s, size_t len)
{
    static const char *const p[] = {"无", "不适用", "空", NULL};
    for (int i = 0; p[i]; i++)
        if (strlen(p[i]) == len && !memcmp(p[i], s, len))
            return 1;
    return 0;
}

int rawdoc_label_like(const char *s, size_t len)
{
    return cjk_count(s, len) >= 2 && !is_placeholder(s, len);
}

static int label_like(const struct rawcell *l)
{
    return rawdoc_label_like(l->s, l->len);
}

static int has_digit(const struct rawcell *l)
{
    for (size_t i = 0; i < l->len; i++)
        if (l->s[i] >= '0' && l->s[i] <= '9')
            return 1;
    return 0;
}

static void add_tokens(struct rawrow *r, const struct rawcell *g, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        rawdoc_add_token(r, g[i].s, g[i].len, g[i].line, g[i].col);
}

static char *join_labels(const struct rawcell *g, size_t from, size_t to)
{
    struct buf b = {0};
    for (size_t i = from; i < to; i++)
        buf_append(&b, g[i].s, g[i].len);
    buf_append(&b, "", 0);
    return buf_take(&b);
}

void rawdoc_add_cells(struct rawtable *t, int ti, const struct rawcell *g, size_t n)
{
    size_t first = 0;
    while (first < n && g[first].len == 0)
        first++;
    if (ti == TABLE_T4) {
        int numbers = 0;
        for (size_t i = 0; i < n; i++) {
            if (label_like(&g[i]))
                return;
            numbers += has_digit(&g[i]);
        }
        if (numbers == 0)
            return;
        struct rawrow *r = rawdoc_add_row(t, "", g[0].line);
        add_tokens(r, g, 0, n);
        return;
    }
    size_t lab = first;
    while (lab < n && label_like(&g[lab]))
        lab++;
    if (lab == first || lab == n)
        return;                                /* headers: labels only, or no label */
    int numbers = 0;
    for (size_t i = lab; i < n; i++)
        numbers += has_digit(&g[i]);
    if (numbers == 0 && n - lab < 3)
        return;                                /* column headers closed by a blank spacer */
    char *label = join_labels(g, first, lab);
    char head[16];               /* the normalized start is enough */
    norm_label_into(head, sizeof head, label, strlen(label));
    int header = !strncmp(head, "第二十条", strlen("第二十条")) || !strncmp(head, "信息内容", strlen("信息内容"));
    if (!header) {
        struct rawrow *r = rawdoc_add_row(t, label, g[first].line);
        add_tokens(r, g, lab, n);
    }
    free(label);
}

void rawdoc_free(struct rawdoc *d)
{
    if (!d)
        return;
    free(d->filename);
    free(d->title);
    for (int i = 0; i < LAYOUT_SECTIONS; i++) {
        free(d->sections[i].title);
        free(d->sections[i].text);
    }
    for (int i = 0; i < LAYOUT_TABLES; i++) {
        struct rawtable *t = &d->tables[i];
        for (size_t r = 0; r < t->nrows; r++) {
            for (size_t k = 0; k < t->rows[r].ntokens; k++)
                free(t->rows[r].tokens[k].text);
            free(t->rows[r].tokens);
            free(t->rows[r].label);
        }
        free(t->rows);
    }
    memset(d, 0, sizeof *d);
}
