/* yamlreport: a report as YAML, emitted with libyaml's emitter (so quoting
 * and escaping are libyaml's, not ours) and read back through ydoc. Cells:
 * a plain scalar is a number, null is a blank cell, a quoted string is the
 * text as printed (a placeholder such as "/" or any other text). */
#include "read/yamlreport.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "read/fit.h"
#include "base/util.h"
#include "base/ydoc.h"

struct emit {
    yaml_emitter_t em;
    struct buf out;
    int failed;
};

static int write_cb(void *data, unsigned char *buffer, size_t size)
{
    buf_append(&((struct emit *)data)->out, buffer, size);
    return 1;
}

static void ev(struct emit *e, yaml_event_t *event)
{
    if (!e->failed && !yaml_emitter_emit(&e->em, event))
        e->failed = 1;
}

static void scalar(struct emit *e, const char *s, yaml_scalar_style_t style)
{
    yaml_event_t event;
    int plain = style == YAML_PLAIN_SCALAR_STYLE;
    yaml_scalar_event_initialize(&event, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), plain, !plain, style);
    ev(e, &event);
}

static void map_start(struct emit *e, int flow)
{
    yaml_event_t event;
    yaml_mapping_start_event_initialize(&event, NULL, NULL, 1,
                                        flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE);
    ev(e, &event);
}

static void map_end(struct emit *e)
{
    yaml_event_t event;
    yaml_mapping_end_event_initialize(&event);
    ev(e, &event);
}

static void key_str(struct emit *e, const char *k, const char *v, yaml_scalar_style_t style)
{
    scalar(e, k, YAML_PLAIN_SCALAR_STYLE);
    scalar(e, v, style);
}

static void emit_cell(struct emit *e, const struct cell *c)
{
    char v[96];
    if (c->state == CELL_BLANK && !c->raw) {
        scalar(e, "~", YAML_PLAIN_SCALAR_STYLE);
        return;
    }
    report_format_cell(c, v, sizeof v);
    if (c->state == CELL_NUMBER)
        scalar(e, v, YAML_PLAIN_SCALAR_STYLE);
    else
        scalar(e, c->raw ? c->raw : "", YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static void emit_table(struct emit *e, const struct report *r, int ti)
{
    const struct report_table *t = &r->tables[ti];
    const struct layout_table *lt = &t->layout->tables[ti];
    char ver[16];
    scalar(e, layout_table_id(ti), YAML_PLAIN_SCALAR_STYLE);
    map_start(e, 0);
    snprintf(ver, sizeof ver, "%u", t->layout->version);
    key_str(e, "layout", ver, YAML_PLAIN_SCALAR_STYLE);
    scalar(e, "rows", YAML_PLAIN_SCALAR_STYLE);
    map_start(e, 0);
    for (int row = 0; row < lt->nrows; row++) {
        scalar(e, lt->rows[row].id, lt->rows[row].id[0] ? YAML_PLAIN_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
        map_start(e, 1);
        for (int k = 0; k < lt->rows[row].ncols; k++) {
            int col = lt->rows[row].cols[k];
            scalar(e, lt->cols[col].id, YAML_PLAIN_SCALAR_STYLE);
            emit_cell(e, &t->cells[lt->cell_index[row][col]]);
        }
        map_end(e);
    }
    map_end(e);
    int labels = 0;
    for (int row = 0; row < lt->nrows; row++)
        labels += t->printed[row] != NULL;
    if (labels) {
        scalar(e, "labels", YAML_PLAIN_SCALAR_STYLE);
        map_start(e, 0);
        for (int row = 0; row < lt->nrows; row++)
            if (t->printed[row])
                key_str(e, lt->rows[row].id, t->printed[row], YAML_DOUBLE_QUOTED_SCALAR_STYLE);
        map_end(e);
    }
    map_end(e);
}

static void emit_sections(struct emit *e, const struct report *r)
{
    yaml_event_t event;
    scalar(e, "sections", YAML_PLAIN_SCALAR_STYLE);
    yaml_sequence_start_event_initialize(&event, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
    ev(e, &event);
    for (int k = 0; k < LAYOUT_SECTIONS; k++)
        for (int i = 0; i < LAYOUT_SECTIONS; i++) {
            if (r->section_order[i] != k)
                continue;
            char id[4] = {'s', (char)('1' + i), 0, 0};
            map_start(e, 0);
            key_str(e, "id", id, YAML_PLAIN_SCALAR_STYLE);
            if (r->section_title[i])
                key_str(e, "title", r->section_title[i], YAML_DOUBLE_QUOTED_SCALAR_STYLE);
            key_str(e, "text", r->section_text[i] ? r->section_text[i] : "", YAML_LITERAL_SCALAR_STYLE);
            map_end(e);
        }
    yaml_sequence_end_event_initialize(&event);
    ev(e, &event);
}

char *yamlreport_write(const struct report *r, size_t *len)
{
    struct emit e = {0};
    yaml_event_t event;
    char ver[16];
    yaml_emitter_initialize(&e.em);
    yaml_emitter_set_output(&e.em, write_cb, &e);
    yaml_emitter_set_unicode(&e.em, 1);
    yaml_emitter_set_width(&e.em, -1);
    yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING);
    ev(&e, &event);
    yaml_document_start_event_initialize(&event, NULL, NULL, NULL, 1);
    ev(&e, &event);
    map_start(&e, 0);
    key_str(&e, "report", "1", YAML_PLAIN_SCALAR_STYLE);
    snprintf(ver, sizeof ver, "%u", r->layout);
    key_str(&e, "layout", ver, YAML_PLAIN_SCALAR_STYLE);
    if (r->title)
        key_str(&e, "title", r->title, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
    emit_sections(&e, r);
    scalar(&e, "tables", YAML_PLAIN_SCALAR_STYLE);
    map_start(&e, 0);
    for (int ti = 0; ti < LAYOUT_TABLES; ti++)
        if (r->tables[ti].layout)
            emit_table(&e, r, ti);
    map_end(&e);
    map_end(&e);
    yaml_document_end_event_initialize(&event, 1);
    ev(&e, &event);
    yaml_stream_end_event_initialize(&event);
    ev(&e, &event);
    yaml_emitter_delete(&e.em);
    if (e.failed)
        abort();                 /* only on a bug of ours: every event is well formed */
    *len = e.out.len;
    return buf_take(&e.out);
}

static int read_cell(struct ydoc *y, yaml_node_t *n, const struct layout_table *lt, int col,
                     struct cell *c, char *err, size_t errlen)
{
    const char *s = ydoc_str(n);
    if (!s)
        return ydoc_err(y, n, err, errlen, "a cell must be a number, ~ or a quoted string");
    int quoted = n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    if (!quoted && (!strcmp(s, "~") || !strcmp(s, "null") || !*s)) {
        c->state = CELL_BLANK;
        return 0;
    }
    report_parse_cell(c, s, strlen(s), lt->cols[col].amount);
    if (!quoted && c->state != CELL_NUMBER)
        return ydoc_err(y, n, err, errlen, "'%s' is not a number (quote text as printed)", s);
    if (quoted && c->state == CELL_NUMBER) {
        c->state = CELL_TEXT;    /* quoted digits are text as printed, kept as is */
        c->raw = xstrdup(s);
    }
    if (quoted && c->state == CELL_BLANK && !*s)
        c->raw = xstrdup("");
    return 0;
}

static int read_rows(struct ydoc *y, yaml_node_t *rows, struct report *r, int ti, char *err, size_t errlen)
{
    const struct layout_table *lt = &r->tables[ti].layout->tables[ti];
    if (!rows || rows->type != YAML_MAPPING_NODE)
        return ydoc_err(y, rows, err, errlen, "%s: rows must be a mapping of row ids", layout_table_id(ti));
    /* a cell given twice (a key repeated in a row, or a row twice) is refused,
     * as the protobuf form refuses it: which one counts would be a guess */
    unsigned char *seen = xcalloc((size_t)lt->ncells + 1, 1);
    int rc = 0;
    for (yaml_node_pair_t *p = rows->data.mapping.pairs.start; p < rows->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&y->doc, p->key), *v = yaml_document_get_node(&y->doc, p->value);
        int row = layout_row_index(lt, ydoc_str(k) ? ydoc_str(k) : "\x01");
        if (row < 0) {
            rc = ydoc_err(y, k, err, errlen, "%s: unknown row '%s'", layout_table_id(ti), ydoc_str(k) ? ydoc_str(k) : "");
            break;
        }
        if (!v || v->type != YAML_MAPPING_NODE) {
            rc = ydoc_err(y, v, err, errlen, "%s row %s: expected a mapping of column ids", layout_table_id(ti), lt->rows[row].id);
            break;
        }
        for (yaml_node_pair_t *q = v->data.mapping.pairs.start; rc == 0 && q < v->data.mapping.pairs.top; q++) {
            yaml_node_t *ck = yaml_document_get_node(&y->doc, q->key);
            int col = layout_col_index(lt, ydoc_str(ck) ? ydoc_str(ck) : "\x01");
            if (col < 0 || lt->cell_index[row][col] < 0)
                rc = ydoc_err(y, ck, err, errlen, "%s row %s: no column '%s'", layout_table_id(ti),
                              lt->rows[row].id, ydoc_str(ck) ? ydoc_str(ck) : "");
            else if (seen[lt->cell_index[row][col]]++)
                rc = ydoc_err(y, ck, err, errlen, "%s row %s: column '%s' given twice", layout_table_id(ti),
                              lt->rows[row].id, lt->cols[col].id);
            else
                rc = read_cell(y, yaml_document_get_node(&y->doc, q->value), lt, col,
                               &r->tables[ti].cells[lt->cell_index[row][col]], err, errlen);
        }
        if (rc < 0)
            break;
    }
    free(seen);
    return rc < 0 ? -1 : 0;
}

static int read_table(struct ydoc *y, const struct layouts *ls, yaml_node_t *k, yaml_node_t *v,
                      struct report *r, char *err, size_t errlen)
{
    static const char *const keys[] = {"layout", "rows", "labels", NULL};
    int ti = layout_table_index(ydoc_str(k));
    if (ti < 0)
        return ydoc_err(y, k, err, errlen, "unknown table (expected T2, T3 or T4)");
    long long ver;
    if (ydoc_check_keys(y, v, keys, err, errlen) < 0 ||
        ydoc_int(y, ydoc_get(y, v, "layout"), 2000, 9999, &ver, err, errlen) < 0)
        return -1;
    const struct layout *l = layouts_find(ls, (unsigned)ver);
    if (!l)
        return ydoc_err(y, ydoc_get(y, v, "layout"), err, errlen, "unknown layout %lld", ver);
    report_set_table(r, ti, l);
    if (read_rows(y, ydoc_get(y, v, "rows"), r, ti, err, errlen) < 0)
        return -1;
    yaml_node_t *labels = ydoc_get(y, v, "labels");
    if (!labels)
        return 0;
    if (labels->type != YAML_MAPPING_NODE)
        return ydoc_err(y, labels, err, errlen, "labels must map row ids to printed labels");
    for (yaml_node_pair_t *p = labels->data.mapping.pairs.start; p < labels->data.mapping.pairs.top; p++) {
        yaml_node_t *lk = yaml_document_get_node(&y->doc, p->key), *lv = yaml_document_get_node(&y->doc, p->value);
        int row = layout_row_index(&l->tables[ti], ydoc_str(lk) ? ydoc_str(lk) : "\x01");
        if (row < 0 || !ydoc_str(lv))
            return ydoc_err(y, lk, err, errlen, "labels: unknown row or label not a string");
        free(r->tables[ti].printed[row]);
        r->tables[ti].printed[row] = xstrdup(ydoc_str(lv));
    }
    return 0;
}

static int read_sections(struct ydoc *y, yaml_node_t *seq, struct report *r, char *err, size_t errlen)
{
    static const char *const keys[] = {"id", "title", "text", NULL};
    if (!seq)
        return 0;
    if (seq->type != YAML_SEQUENCE_NODE)
        return ydoc_err(y, seq, err, errlen, "sections must be a list");
    int order = 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
        yaml_node_t *m = yaml_document_get_node(&y->doc, *it);
        if (ydoc_check_keys(y, m, keys, err, errlen) < 0)
            return -1;
        yaml_node_t *idn = ydoc_get(y, m, "id");
        const char *id = ydoc_str(idn) ? ydoc_str(idn) : "";
        if (id[0] != 's' || id[1] < '1' || id[1] > '6' || id[2])
            return ydoc_err(y, idn ? idn : m, err, errlen, "section id must be s1..s6");
        int i = id[1] - '1';
        if (r->section_order[i] >= 0)
            return ydoc_err(y, idn, err, errlen, "section %s given twice", id);
        const char *title = ydoc_str(ydoc_get(y, m, "title")), *text = ydoc_str(ydoc_get(y, m, "text"));
        r->section_order[i] = order++;
        r->section_title[i] = title ? xstrdup(title) : NULL;
        r->section_text[i] = xstrdup(text ? text : "");
        r->section_line[i] = (unsigned)m->start_mark.line + 1;
    }
    return 0;
}

int yamlreport_read(const struct layouts *ls, const char *text, size_t len, const char *filename,
                    struct report **out, char *err, size_t errlen)
{
    static const char *const keys[] = {"report", "layout", "title", "sections", "tables", NULL};
    struct ydoc y;
    struct report *r = report_new();
    long long v;
    const char *fn = filename ? filename : "<yaml>";
    if (ydoc_load(&y, fn, text, len, 100000, err, errlen) < 0)
        goto fail;
    yaml_node_t *root = ydoc_root(&y);
    if (ydoc_check_keys(&y, root, keys, err, errlen) < 0 ||
        ydoc_int(&y, ydoc_get(&y, root, "report"), 1, 1, &v, err, errlen) < 0 ||
        ydoc_int(&y, ydoc_get(&y, root, "layout"), 2000, 9999, &v, err, errlen) < 0)
        goto fail;
    if (!layouts_find(ls, (unsigned)v)) {
        ydoc_err(&y, ydoc_get(&y, root, "layout"), err, errlen, "unknown layout %lld", v);
        goto fail;
    }
    r->layout = (unsigned)v;
    const char *title = ydoc_str(ydoc_get(&y, root, "title"));
    r->title = title ? xstrdup(title) : NULL;
    r->year = fit_title_year(r->title, &r->body_name);
    if (read_sections(&y, ydoc_get(&y, root, "sections"), r, err, errlen) < 0)
        goto fail;
    yaml_node_t *tables = ydoc_get(&y, root, "tables");
    if (tables && tables->type != YAML_MAPPING_NODE) {
        ydoc_err(&y, tables, err, errlen, "tables must be a mapping of T2, T3, T4");
        goto fail;
    }
    for (yaml_node_pair_t *p = tables ? tables->data.mapping.pairs.start : NULL;
         tables && p < tables->data.mapping.pairs.top; p++)
        if (read_table(&y, ls, yaml_document_get_node(&y.doc, p->key),
                       yaml_document_get_node(&y.doc, p->value), r, err, errlen) < 0)
            goto fail;
    ydoc_free(&y);
    *out = r;
    return 0;
fail:
    ydoc_free(&y);
    report_destroy(&r);
    return -1;
}

int yamlreport_sniff(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && (text[i] == '#' || text[i] == '\n' || text[i] == '-' || text[i] == ' ')) {
        if (text[i] == '#')
            while (i < len && text[i] != '\n')
                i++;
        else
            i++;
    }
    return len - i >= 9 && !strncmp(text + i, "report: 1", 9);
}
