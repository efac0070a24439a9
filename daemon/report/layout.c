/* layout: loads a national layout from YAML (config/layouts/NAME.yaml) into
 * fixed arrays indexed by position, so checks address cells by index. A
 * table's cells are numbered in row order; cell_index maps (row, column) to
 * that number or -1. Titles and labels are normalized once, at load (norm.h). */
#include "report/layout.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "report/findings.h"
#include "report/norm.h"
#include "base/util.h"
#include "base/ydoc.h"

static const char *const TABLE_IDS[LAYOUT_TABLES] = {"T2", "T3", "T4"};

static void hash_ids(struct layout_table *t);

const char *layout_table_id(int ti)
{
    return TABLE_IDS[ti];
}

int layout_table_index(const char *id)
{
    for (int i = 0; i < LAYOUT_TABLES; i++)
        if (id && !strcmp(id, TABLE_IDS[i]))
            return i;
    return -1;
}

static char *dup_str(struct ydoc *y, yaml_node_t *n, const char *what, char *err, size_t errlen)
{
    const char *s = ydoc_str(n);
    if (!s) {
        ydoc_err(y, n, err, errlen, "%s must be a string", what);
        return NULL;
    }
    return xstrdup(s);
}

static int load_names(struct ydoc *y, yaml_node_t *seq, struct layout_names *out, char *err,
                      size_t errlen)
{
    if (!seq)
        return 0;
    if (seq->type != YAML_SEQUENCE_NODE)
        return ydoc_err(y, seq, err, errlen, "variants must be a list of strings");
    size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    out->v = xcalloc(n, sizeof *out->v);
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
        char *s = dup_str(y, yaml_document_get_node(&y->doc, *it), "a variant", err, errlen);
        if (!s)
            return -1;
        out->v[out->n++] = s;
    }
    return 0;
}

static void normalize_names(const char *first, const struct layout_names *in, int skip_numbering,
                            struct layout_names *out)
{
    out->v = xcalloc(in->n + 1, sizeof *out->v);
    for (size_t i = 0; i <= in->n; i++) {
        char *n = norm_label(i ? in->v[i - 1] : first);
        if (skip_numbering) {
            const char *core = norm_skip_numbering(n);
            memmove(n, core, strlen(core) + 1);
        }
        out->v[out->n++] = n;
    }
}

static int seq_len(yaml_node_t *n)
{
    if (!n || n->type != YAML_SEQUENCE_NODE)
        return -1;
    return (int)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static yaml_node_t *seq_at(struct ydoc *y, yaml_node_t *n, int i)
{
    return yaml_document_get_node(&y->doc, n->data.sequence.items.start[i]);
}

static int load_sections(struct ydoc *y, yaml_node_t *seq, struct layout *l, char *err, size_t errlen)
{
    static const char *const keys[] = {"id", "title", "variants", NULL};
    if (seq_len(seq) != LAYOUT_SECTIONS)
        return ydoc_err(y, seq, err, errlen, "sections must list exactly %d sections", LAYOUT_SECTIONS);
    for (int i = 0; i < LAYOUT_SECTIONS; i++) {
        yaml_node_t *m = seq_at(y, seq, i);
        struct layout_section *s = &l->sections[i];
        if (ydoc_check_keys(y, m, keys, err, errlen) < 0)
            return -1;
        if (!(s->id = dup_str(y, ydoc_get(y, m, "id"), "section id", err, errlen)) ||
            !(s->title = dup_str(y, ydoc_get(y, m, "title"), "section title", err, errlen)) ||
            load_names(y, ydoc_get(y, m, "variants"), &s->variants, err, errlen) < 0)
            return -1;
        normalize_names(s->title, &s->variants, 0, &s->norm);
    }
    return 0;
}

static int load_columns(struct ydoc *y, yaml_node_t *seq, struct layout_table *t, char *err,
                        size_t errlen)
{
    static const char *const keys[] = {"id", "label", "group", "amount", "signed", NULL};
    int n = seq_len(seq);
    if (n < 1 || n > LAYOUT_MAX_COLS)
        return ydoc_err(y, seq, err, errlen, "columns must list 1 to %d columns", LAYOUT_MAX_COLS);
    for (int i = 0; i < n; i++) {
        yaml_node_t *m = seq_at(y, seq, i), *g, *a;
        struct layout_col *c = &t->cols[i];
        if (ydoc_check_keys(y, m, keys, err, errlen) < 0 ||
            !(c->id = dup_str(y, ydoc_get(y, m, "id"), "column id", err, errlen)) ||
            !(c->label = dup_str(y, ydoc_get(y, m, "label"), "column label", err, errlen)))
            return -1;
        t->ncols = i + 1;
        if ((g = ydoc_get(y, m, "group")) && !(c->group = dup_str(y, g, "group", err, errlen)))
            return -1;
        c->label_norm = norm_label(c->label);
        c->group_norm = c->group ? norm_label(c->group) : NULL;
        if ((a = ydoc_get(y, m, "amount")) && ydoc_bool(y, a, &c->amount, err, errlen) < 0)
            return -1;
        if ((a = ydoc_get(y, m, "signed")) && ydoc_bool(y, a, &c->is_signed, err, errlen) < 0)
            return -1;
    }
    return 0;
}

static int load_row(struct ydoc *y, yaml_node_t *m, struct layout_table *t, struct layout_row *r,
                    char *err, size_t errlen)
{
    static const char *const keys[] = {"id", "label", "group", "block", "variants", "columns", NULL};
    yaml_node_t *n;
    if (ydoc_check_keys(y, m, keys, err, errlen) < 0 ||
        !(r->id = dup_str(y, ydoc_get(y, m, "id"), "row id", err, errlen)) ||
        !(r->label = dup_str(y, ydoc_get(y, m, "label"), "row label", err, errlen)))
        return -1;
    if ((n = ydoc_get(y, m, "group")) && !(r->group = dup_str(y, n, "group", err, errlen)))
        return -1;
    if ((n = ydoc_get(y, m, "block")) && !(r->block = dup_str(y, n, "block", err, errlen)))
        return -1;
    if (load_names(y, ydoc_get(y, m, "variants"), &r->variants, err, errlen) < 0)
        return -1;
    normalize_names(r->label, &r->variants, 1, &r->match);
    r->norm = norm_label(r->label);
    r->group_norm = r->group ? norm_label(r->group) : NULL;
    r->block_norm = r->block ? norm_label(r->block) : NULL;
    n = ydoc_get(y, m, "columns");
    if (!n) {
        for (int c = 0; c < t->ncols; c++)
            r->cols[r->ncols++] = c;
        return 0;
    }
    int k = seq_len(n);
    if (k < 1)
        return ydoc_err(y, n, err, errlen, "columns must be a non-empty list of column ids");
    for (int i = 0; i < k; i++) {
        yaml_node_t *e = seq_at(y, n, i);
        int c = layout_col_index(t, ydoc_str(e) ? ydoc_str(e) : "");
        if (c < 0)
            return ydoc_err(y, e, err, errlen, "unknown column '%s'", ydoc_str(e) ? ydoc_str(e) : "");
        r->cols[r->ncols++] = c;
    }
    return 0;
}

static int load_terms(struct ydoc *y, yaml_node_t *seq, const struct layout_table *t, int by_col,
                      int *out, int *nout, char *err, size_t errlen)
{
    int n = seq_len(seq);
    if (n < 1 || n > LAYOUT_MAX_TERMS)
        return ydoc_err(y, seq, err, errlen, "lhs and rhs must list 1 to %d ids", LAYOUT_MAX_TERMS);
    for (int i = 0; i < n; i++) {
        yaml_node_t *e = seq_at(y, seq, i);
        const char *id = ydoc_str(e) ? ydoc_str(e) : "";
        int k = by_col ? layout_col_index(t, id) : layout_row_index(t, id);
        if (k < 0)
            return ydoc_err(y, e, err, errlen, "unknown %s '%s' in %s", by_col ? "column" : "row",
                            id, t->id);
        out[i] = k;
    }
    *nout = n;
    return 0;
}

/* Resolve an identity's terms to cell numbers once, for every instance. */
static void compile_sum(const struct layout_table *t, struct layout_sum *s)
{
    s->ninst = s->each == SUM_EACH_ROW ? t->nrows : s->each == SUM_EACH_COLUMN ? t->ncols : 1;
    s->flat = xcalloc((size_t)s->ninst * (2 + (size_t)s->nlhs + (size_t)s->nrhs), sizeof *s->flat);
    int *p = s->flat;
    for (int i = 0; i < s->ninst; i++)
        for (int side = 0; side < 2; side++) {
            const int *terms = side ? s->rhs : s->lhs;
            int n = side ? s->nrhs : s->nlhs, *count = p++;
            *count = 0;
            for (int k = 0; k < n; k++) {
                int cell = s->each == SUM_EACH_COLUMN ? t->cell_index[terms[k]][i]
                                                      : t->cell_index[s->each == SUM_EACH_ROW ? i : 0][terms[k]];
                if (cell >= 0)
                    *p++ = cell, (*count)++;
            }
        }
}

static int load_sums(struct ydoc *y, yaml_node_t *seq, struct layout_table *t, char *err, size_t errlen)
{
    static const char *const keys[] = {"rule", "each", "anchor", "lhs", "rhs", NULL};
    if (!seq)
        return 0;
    int n = seq_len(seq);
    if (n < 0)
        return ydoc_err(y, seq, err, errlen, "sums must be a list");
    t->sums = xcalloc((size_t)n, sizeof *t->sums);
    for (int i = 0; i < n; i++) {
        yaml_node_t *m = seq_at(y, seq, i), *e;
        struct layout_sum *s = &t->sums[i];
        if (ydoc_check_keys(y, m, keys, err, errlen) < 0 ||
            !(s->rule = dup_str(y, ydoc_get(y, m, "rule"), "rule", err, errlen)))
            return -1;
        s->rule_id = findings_rule_find(s->rule);
        t->nsums = i + 1;
        e = ydoc_get(y, m, "each");
        const char *each = ydoc_str(e) ? ydoc_str(e) : "";
        if (!strcmp(each, "row"))
            s->each = SUM_EACH_ROW;
        else if (!strcmp(each, "column"))
            s->each = SUM_EACH_COLUMN;
        else if (!strcmp(each, "once"))
            s->each = SUM_ONCE;
        else
            return ydoc_err(y, e ? e : m, err, errlen, "each must be row, column or once");
        int by_col = s->each != SUM_EACH_COLUMN;
        if (load_terms(y, ydoc_get(y, m, "lhs"), t, by_col, s->lhs, &s->nlhs, err, errlen) < 0 ||
            load_terms(y, ydoc_get(y, m, "rhs"), t, by_col, s->rhs, &s->nrhs, err, errlen) < 0)
            return -1;
        s->anchor = s->lhs[0];
        if ((e = ydoc_get(y, m, "anchor"))) {
            s->anchor = layout_col_index(t, ydoc_str(e) ? ydoc_str(e) : "");
            if (s->anchor < 0)
                return ydoc_err(y, e, err, errlen, "unknown anchor column");
        }
        compile_sum(t, s);
    }
    return 0;
}

static int load_table(struct ydoc *y, yaml_node_t *m, struct layout *l, char *err, size_t errlen)
{
    static const char *const keys[] = {"id", "section", "columns", "rows", "sums", NULL};
    if (ydoc_check_keys(y, m, keys, err, errlen) < 0)
        return -1;
    yaml_node_t *idn = ydoc_get(y, m, "id");
    const char *id = ydoc_str(idn) ? ydoc_str(idn) : "";
    int ti = layout_table_index(id);
    if (ti < 0)
        return ydoc_err(y, idn ? idn : m, err, errlen, "table id must be T2, T3 or T4");
    struct layout_table *t = &l->tables[ti];
    if (t->id)
        return ydoc_err(y, idn, err, errlen, "table %s defined twice", id);
    t->id = xstrdup(id);
    yaml_node_t *sec = ydoc_get(y, m, "section");
    t->section = -1;
    for (int i = 0; i < LAYOUT_SECTIONS; i++)
        if (ydoc_str(sec) && !strcmp(ydoc_str(sec), l->sections[i].id))
            t->section = i;
    if (t->section < 0)
        return ydoc_err(y, sec ? sec : m, err, errlen, "table %s: unknown section", id);
    if (load_columns(y, ydoc_get(y, m, "columns"), t, err, errlen) < 0)
        return -1;
    hash_ids(t);
    yaml_node_t *rows = ydoc_get(y, m, "rows");
    int nr = seq_len(rows);
    if (nr < 1 || nr > LAYOUT_MAX_ROWS)
        return ydoc_err(y, rows ? rows : m, err, errlen, "rows must list 1 to %d rows", LAYOUT_MAX_ROWS);
    for (int i = 0; i < nr; i++) {
        if (load_row(y, seq_at(y, rows, i), t, &t->rows[i], err, errlen) < 0)
            return -1;
        t->nrows = i + 1;
    }
    hash_ids(t);
    memset(t->cell_index, -1, sizeof t->cell_index);
    for (int r = 0; r < t->nrows; r++)
        for (int k = 0; k < t->rows[r].ncols; k++) {
            int c = t->rows[r].cols[k];
            t->cell_row[t->ncells] = r;
            t->cell_col[t->ncells] = c;
            t->cell_index[r][c] = t->ncells++;
        }
    return load_sums(y, ydoc_get(y, m, "sums"), t, err, errlen);
}

static int load_layout(struct ydoc *y, struct layout *l, char *err, size_t errlen)
{
    static const char *const keys[] = {"layout", "name", "years", "sections", "tables", NULL};
    yaml_node_t *root = ydoc_root(y), *n;
    long long v;
    if (ydoc_check_keys(y, root, keys, err, errlen) < 0)
        return -1;
    if (ydoc_int(y, ydoc_get(y, root, "layout"), 2000, 9999, &v, err, errlen) < 0)
        return -1;
    l->version = (unsigned)v;
    if (!(l->name = dup_str(y, ydoc_get(y, root, "name"), "name", err, errlen)))
        return -1;
    n = ydoc_get(y, root, "years");
    if (seq_len(n) != 2)
        return ydoc_err(y, n ? n : root, err, errlen, "years must be [first, last]");
    if (ydoc_int(y, seq_at(y, n, 0), 2000, 9999, &v, err, errlen) < 0)
        return -1;
    l->first_year = (unsigned)v;
    if (ydoc_int(y, seq_at(y, n, 1), 2000, 9999, &v, err, errlen) < 0)
        return -1;
    l->last_year = (unsigned)v;
    if (load_sections(y, ydoc_get(y, root, "sections"), l, err, errlen) < 0)
        return -1;
    n = ydoc_get(y, root, "tables");
    if (seq_len(n) != LAYOUT_TABLES)
        return ydoc_err(y, n ? n : root, err, errlen, "tables must list T2, T3 and T4");
    for (int i = 0; i < LAYOUT_TABLES; i++)
        if (load_table(y, seq_at(y, n, i), l, err, errlen) < 0)
            return -1;
    return 0;
}

struct layout *layout_load(const char *path, char *err, size_t errlen)
{
    size_t len;
    char *text = util_read_file(path, 1 << 20, &len, err, errlen);
    if (!text)
        return NULL;
    struct ydoc y;
    struct layout *l = xcalloc(1, sizeof *l);
    if (ydoc_load(&y, path, text, len, 20000, err, errlen) < 0)
        goto fail;
    if (load_layout(&y, l, err, errlen) < 0)
        goto fail;
    ydoc_free(&y);
    free(text);
    return l;
fail:
    ydoc_free(&y);
    free(text);
    layout_destroy(&l);
    return NULL;
}

static void free_names(struct layout_names *n)
{
    for (size_t i = 0; i < n->n; i++)
        free(n->v[i]);
    free(n->v);
}

void layout_destroy(struct layout **lp)
{
    struct layout *l = lp ? *lp : NULL;
    if (!l)
        return;
    free(l->name);
    for (int i = 0; i < LAYOUT_SECTIONS; i++) {
        free(l->sections[i].id);
        free(l->sections[i].title);
        free_names(&l->sections[i].variants);
        free_names(&l->sections[i].norm);
    }
    for (int i = 0; i < LAYOUT_TABLES; i++) {
        struct layout_table *t = &l->tables[i];
        free(t->id);
        for (int r = 0; r < t->nrows; r++) {
            free(t->rows[r].id);
            free(t->rows[r].label);
            free(t->rows[r].group);
            free(t->rows[r].block);
            free_names(&t->rows[r].variants);
            free_names(&t->rows[r].match);
            free(t->rows[r].norm);
            free(t->rows[r].group_norm);
            free(t->rows[r].block_norm);
        }
        for (int c = 0; c < t->ncols; c++) {
            free(t->cols[c].id);
            free(t->cols[c].label);
            free(t->cols[c].group);
            free(t->cols[c].label_norm);
            free(t->cols[c].group_norm);
        }
        for (int s = 0; s < t->nsums; s++) {
            free(t->sums[s].rule);
            free(t->sums[s].flat);
        }
        free(t->sums);
    }
    free(l);
    *lp = NULL;
}

static uint32_t id_hash(const char *s)
{
    uint32_t h = 2166136261u;                   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Put index i (hash h) into the first free slot from h. A duplicate id
 * keeps its first index, as the linear scan did. */
static void slot_put(uint8_t *slot, uint32_t h, int i)
{
    uint32_t k = h;
    while (slot[k % LAYOUT_ID_SLOTS])
        k++;
    slot[k % LAYOUT_ID_SLOTS] = (uint8_t)(i + 1);
}

static void hash_ids(struct layout_table *t)
{
    memset(t->row_slot, 0, sizeof t->row_slot);
    memset(t->col_slot, 0, sizeof t->col_slot);
    for (int r = 0; r < t->nrows; r++)
        slot_put(t->row_slot, t->row_hash[r] = id_hash(t->rows[r].id), r);
    for (int c = 0; c < t->ncols; c++)
        slot_put(t->col_slot, t->col_hash[c] = id_hash(t->cols[c].id), c);
}

/* Probe from the id's hash until a match or an empty slot (the table is
 * under half full, so an absent id stops within a few slots). */
static int slot_find(const uint8_t *slot, const uint32_t *hashes, const char *(*id_of)(const struct layout_table *, int),
                     const struct layout_table *t, const char *id)
{
    uint32_t h = id_hash(id);
    for (uint32_t k = h;; k++) {
        int i = slot[k % LAYOUT_ID_SLOTS] - 1;
        if (i < 0)
            return -1;
        if (hashes[i] == h && !strcmp(id_of(t, i), id))
            return i;
    }
}

static const char *row_id(const struct layout_table *t, int i)
{
    return t->rows[i].id;
}

static const char *col_id(const struct layout_table *t, int i)
{
    return t->cols[i].id;
}

int layout_row_index(const struct layout_table *t, const char *id)
{
    return slot_find(t->row_slot, t->row_hash, row_id, t, id);
}

int layout_col_index(const struct layout_table *t, const char *id)
{
    return slot_find(t->col_slot, t->col_hash, col_id, t, id);
}

static int cmp_version_desc(const void *a, const void *b)
{
    const struct layout *x = *(struct layout *const *)a, *y = *(struct layout *const *)b;
    return (x->version < y->version) - (x->version > y->version);
}

int layouts_load_dir(struct layouts *ls, const char *dir, char *err, size_t errlen)
{
    memset(ls, 0, sizeof *ls);
    DIR *d = opendir(dir);
    if (!d)
        return errf(err, errlen, "%s: cannot open the layouts directory", dir);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".yaml"))
            continue;
        if (ls->n == (int)(sizeof ls->v / sizeof ls->v[0])) {
            closedir(d);
            layouts_free(ls);
            return errf(err, errlen, "%s: too many layout files", dir);
        }
        char *path = xasprintf("%s/%s", dir, de->d_name);
        struct layout *l = layout_load(path, err, errlen);
        free(path);
        if (!l) {
            closedir(d);
            layouts_free(ls);
            return -1;
        }
        ls->v[ls->n++] = l;
    }
    closedir(d);
    if (ls->n == 0)
        return errf(err, errlen, "%s: no layout files (*.yaml)", dir);
    qsort(ls->v, (size_t)ls->n, sizeof ls->v[0], cmp_version_desc);
    return 0;
}

void layouts_free(struct layouts *ls)
{
    for (int i = 0; i < ls->n; i++)
        layout_destroy(&ls->v[i]);
    ls->n = 0;
}

const struct layout *layouts_find(const struct layouts *ls, unsigned version)
{
    for (int i = 0; i < ls->n; i++)
        if (ls->v[i]->version == version)
            return ls->v[i];
    return NULL;
}

const struct layout *layouts_for_year(const struct layouts *ls, unsigned year)
{
    for (int i = 0; i < ls->n; i++)
        if (year >= ls->v[i]->first_year && year <= ls->v[i]->last_year)
            return ls->v[i];
    return NULL;
}

/* Headings start with 一 … 六 (after white space) and are short: anything
 * else is rejected before the line is normalized. */
static int may_be_heading(const char *line)
{
    static const char *const first[] = {"一", "二", "三", "四", "五", "六", NULL};
    size_t n = strlen(line), w;
    while ((w = norm_space_len(line, n)))
        line += w, n -= w;
    if (n > 240)
        return 0;
    for (int i = 0; first[i]; i++)
        if (!strncmp(line, first[i], 3))
            return 1;
    return 0;
}

int layouts_match_heading(const struct layouts *ls, const char *line)
{
    if (!may_be_heading(line))
        return -1;
    char *norm = norm_label(line);
    int found = -1;
    for (int k = 0; k < ls->n && found < 0; k++)
        for (int i = 0; i < LAYOUT_SECTIONS && found < 0; i++) {
            const struct layout_names *nm = &ls->v[k]->sections[i].norm;
            for (size_t v = 0; v < nm->n && found < 0; v++)
                if (!strcmp(norm, nm->v[v]))
                    found = i;
        }
    free(norm);
    return found;
}
