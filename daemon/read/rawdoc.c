/* rawdoc: storage for a report as a reader found it. Arrays grow by doubling;
 * their capacity is not stored but follows from the count (8, then the next
 * power of two), so the structs in rawdoc.h need no capacity fields. A row
 * pointer from rawdoc_add_row stays valid until the next row is added to the
 * same table. rawdoc_free releases everything and leaves the rawdoc zeroed. */
#include "read/rawdoc.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

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
