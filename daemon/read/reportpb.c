/* reportpb: the protobuf Report <-> dense report. Going out, every cell of
 * every present table is written with its state, so a blank stays distinct
 * from 0. Coming in, the message is untrusted: ids are checked against the
 * layout, each cell at most once, and every text must be valid UTF-8. */
#include "read/reportpb.h"

#include <stdlib.h>
#include <string.h>

#include "read/fit.h"
#include "base/pbguard.h"
#include "base/util.h"

static Reportd__Cell *cell_to_pb(const struct layout_table *lt, int k, const struct cell *c)
{
    Reportd__Cell *m = xmalloc(sizeof *m);
    reportd__cell__init(m);
    m->row = xstrdup(lt->rows[lt->cell_row[k]].id);
    m->column = xstrdup(lt->cols[lt->cell_col[k]].id);
    m->state = (Reportd__CellState)c->state;
    if (c->state == CELL_NUMBER) {
        if (lt->cols[lt->cell_col[k]].amount) {
            m->amount = xmalloc(sizeof *m->amount);
            reportd__decimal__init(m->amount);
            m->amount->units = c->value;
            m->amount->scale = c->scale;
        } else {
            m->has_count = 1;
            m->count = c->value;
        }
    }
    if (c->raw)
        m->raw = xstrdup(c->raw);
    return m;
}

static Reportd__Table *table_to_pb(const struct report *r, int ti)
{
    const struct report_table *t = &r->tables[ti];
    const struct layout_table *lt = &t->layout->tables[ti];
    Reportd__Table *m = xmalloc(sizeof *m);
    reportd__table__init(m);
    m->id = xstrdup(layout_table_id(ti));
    m->layout = t->layout->version;
    m->n_cells = (size_t)lt->ncells;
    m->cells = xcalloc(m->n_cells, sizeof *m->cells);
    for (int k = 0; k < lt->ncells; k++)
        m->cells[k] = cell_to_pb(lt, k, &t->cells[k]);
    for (int row = 0; row < lt->nrows; row++)
        if (t->printed[row])
            m->n_labels++;
    m->labels = m->n_labels ? xcalloc(m->n_labels, sizeof *m->labels) : NULL;
    size_t n = 0;
    for (int row = 0; row < lt->nrows; row++) {
        if (!t->printed[row])
            continue;
        Reportd__RowLabel *l = xmalloc(sizeof *l);
        reportd__row_label__init(l);
        l->row = xstrdup(lt->rows[row].id);
        l->printed = xstrdup(t->printed[row]);
        m->labels[n++] = l;
    }
    return m;
}

Reportd__Report *reportpb_from_report(const struct report *r)
{
    Reportd__Report *m = xmalloc(sizeof *m);
    reportd__report__init(m);
    m->layout = r->layout;
    m->title = r->title ? xstrdup(r->title) : NULL;
    /* sections in the order they were found, so order errors survive */
    m->sections = xcalloc(LAYOUT_SECTIONS, sizeof *m->sections);
    for (int k = 0; k < LAYOUT_SECTIONS; k++)
        for (int i = 0; i < LAYOUT_SECTIONS; i++) {
            if (r->section_order[i] != k)
                continue;
            Reportd__Section *s = xmalloc(sizeof *s);
            reportd__section__init(s);
            s->id = xasprintf("s%d", i + 1);
            s->title = r->section_title[i] ? xstrdup(r->section_title[i]) : NULL;
            s->text = xstrdup(r->section_text[i] ? r->section_text[i] : "");
            m->sections[m->n_sections++] = s;
        }
    m->tables = xcalloc(LAYOUT_TABLES, sizeof *m->tables);
    for (int ti = 0; ti < LAYOUT_TABLES; ti++)
        if (r->tables[ti].layout)
            m->tables[m->n_tables++] = table_to_pb(r, ti);
    return m;
}

/* Set while reading a message whose strings pbguard's walk already checked. */
struct from_pb {
    const struct layouts *ls;
    int checked;
};

static int valid_text(const struct from_pb *fp, const char *s)
{
    return !s || fp->checked || util_utf8_valid(s, strlen(s));
}

/* A blank, placeholder or text cell must read as its state from its raw text
 * (text may look like a number: it was quoted), or the forms would disagree. */
static int raw_matches_state(const Reportd__Cell *m, int amount)
{
    struct cell probe = {0};
    const char *raw = m->raw ? m->raw : "";
    report_parse_cell(&probe, raw, strlen(raw), amount);
    free(probe.raw);
    if (m->state == REPORTD__CELL_STATE__CELL_TEXT)
        return probe.state == CELL_TEXT || probe.state == CELL_NUMBER;
    return probe.state == (int)m->state;
}

static int cell_from_pb(const struct from_pb *fp, const struct layout_table *lt, struct report_table *t,
                        const Reportd__Cell *m, unsigned char *seen, char *err, size_t errlen)
{
    const char *row = m->row ? m->row : "", *col = m->column ? m->column : "";
    int ri = layout_row_index(lt, row), ci = layout_col_index(lt, col);
    if (ri < 0 || ci < 0 || lt->cell_index[ri][ci] < 0)
        return errf(err, errlen, "%s: no cell %s × %s in this layout", lt->id, row, col);
    int k = lt->cell_index[ri][ci];
    if (seen[k]++)
        return errf(err, errlen, "%s %s × %s: cell given twice", lt->id, row, col);
    if (!valid_text(fp, m->raw))
        return errf(err, errlen, "%s %s × %s: raw text is not valid UTF-8", lt->id, row, col);
    struct cell *c = &t->cells[k];
    c->state = (uint8_t)m->state;
    c->raw = m->raw ? xstrdup(m->raw) : NULL;
    switch (m->state) {
    case REPORTD__CELL_STATE__CELL_NUMBER:
        if (lt->cols[ci].amount && m->amount && m->amount->scale <= 9) {
            c->value = m->amount->units;
            c->scale = (uint8_t)m->amount->scale;
        } else if (!lt->cols[ci].amount && m->has_count) {
            c->value = m->count;
        } else {
            return errf(err, errlen, "%s %s × %s: a number cell without its %s", lt->id, row, col,
                        lt->cols[ci].amount ? "amount (scale ≤ 9)" : "count");
        }
        break;
    case REPORTD__CELL_STATE__CELL_BLANK:
    case REPORTD__CELL_STATE__CELL_PLACEHOLDER:
    case REPORTD__CELL_STATE__CELL_TEXT:
        if (!raw_matches_state(m, lt->cols[ci].amount))
            return errf(err, errlen, "%s %s × %s: raw text \"%s\" does not read as a %s cell", lt->id,
                        row, col, m->raw ? m->raw : "",
                        m->state == REPORTD__CELL_STATE__CELL_BLANK ? "blank"
                        : m->state == REPORTD__CELL_STATE__CELL_TEXT ? "text" : "placeholder");
        break;
    default:
        return errf(err, errlen, "%s %s × %s: unknown cell state %d", lt->id, row, col, (int)m->state);
    }
    return 0;
}

static int table_from_pb(const struct from_pb *fp, const Reportd__Table *m, struct report *r,
                         char *err, size_t errlen)
{
    int ti = layout_table_index(m->id);
    if (ti < 0)
        return errf(err, errlen, "unknown table '%s' (expected T2, T3 or T4)", m->id ? m->id : "");
    if (r->tables[ti].layout)
        return errf(err, errlen, "%s given twice", layout_table_id(ti));
    const struct layout *l = layouts_find(fp->ls, m->layout);
    if (!l)
        return errf(err, errlen, "%s: unknown layout %u", layout_table_id(ti), m->layout);
    report_set_table(r, ti, l);
    const struct layout_table *lt = &l->tables[ti];
    unsigned char seen[LAYOUT_MAX_ROWS * LAYOUT_MAX_COLS] = {0};
    for (size_t i = 0; i < m->n_cells; i++)
        if (cell_from_pb(fp, lt, &r->tables[ti], m->cells[i], seen, err, errlen) < 0)
            return -1;
    for (size_t i = 0; i < m->n_labels; i++) {
        const Reportd__RowLabel *l2 = m->labels[i];
        int row = layout_row_index(lt, l2->row ? l2->row : "");
        if (row < 0 || !valid_text(fp, l2->printed))
            return errf(err, errlen, "%s: bad printed label for row '%s'", layout_table_id(ti),
                        l2->row ? l2->row : "");
        free(r->tables[ti].printed[row]);
        r->tables[ti].printed[row] = xstrdup(l2->printed ? l2->printed : "");
    }
    return 0;
}

static int section_from_pb(const struct from_pb *fp, const Reportd__Section *s, int order, struct report *r, char *err, size_t errlen)
{
    const char *id = s->id ? s->id : "";
    if (id[0] != 's' || id[1] < '1' || id[1] > '6' || id[2])
        return errf(err, errlen, "unknown section '%s' (expected s1..s6)", id);
    int i = id[1] - '1';
    if (r->section_order[i] >= 0)
        return errf(err, errlen, "section %s given twice", id);
    if (!valid_text(fp, s->title) || !valid_text(fp, s->text))
        return errf(err, errlen, "section %s: text is not valid UTF-8", id);
    r->section_order[i] = order;
    r->section_title[i] = s->title ? xstrdup(s->title) : NULL;
    r->section_text[i] = xstrdup(s->text ? s->text : "");
    return 0;
}

int reportpb_to_report(const struct layouts *ls, const Reportd__Report *m, struct report **out,
                       char *err, size_t errlen)
{
    return reportpb_to_report_checked(ls, m, 0, out, err, errlen);
}

int reportpb_to_report_checked(const struct layouts *ls, const Reportd__Report *m, int checked,
                               struct report **out, char *err, size_t errlen)
{
    struct from_pb fp = {ls, checked};
    struct report *r = report_new();
    if (!layouts_find(ls, m->layout)) {
        errf(err, errlen, "unknown layout %u", m->layout);
        goto fail;
    }
    r->layout = m->layout;
    if (!valid_text(&fp, m->title)) {
        errf(err, errlen, "title is not valid UTF-8");
        goto fail;
    }
    r->title = m->title ? xstrdup(m->title) : NULL;
    r->year = fit_title_year(r->title, &r->body_name);
    for (size_t i = 0; i < m->n_sections; i++)
        if (section_from_pb(&fp, m->sections[i], (int)i, r, err, errlen) < 0)
            goto fail;
    for (size_t i = 0; i < m->n_tables; i++)
        if (table_from_pb(&fp, m->tables[i], r, err, errlen) < 0)
            goto fail;
    *out = r;
    return 0;
fail:
    report_destroy(&r);
    return -1;
}

int reportpb_read(const struct layouts *ls, const uint8_t *data, size_t len, struct report **out,
                  char *err, size_t errlen)
{
    char why[200] = "";
    Reportd__Report *m = (Reportd__Report *)pbguard_unpack(&reportd__report__descriptor, data, len,
                                                            PBGUARD_BUDGET(len), why, sizeof why);
    if (!m)
        return errf(err, errlen, "not a valid protobuf Report (%zu bytes)%s%s", len, *why ? ": " : "", why);
    int rc = reportpb_to_report(ls, m, out, err, errlen);
    reportd__report__free_unpacked(m, NULL);
    return rc;
}

uint8_t *reportpb_write(const struct report *r, size_t *len)
{
    Reportd__Report *m = reportpb_from_report(r);
    *len = reportd__report__get_packed_size(m);
    uint8_t *buf = xmalloc(*len);
    reportd__report__pack(m, buf);
    protobuf_c_message_free_unpacked(&m->base, NULL);
    return buf;
}
