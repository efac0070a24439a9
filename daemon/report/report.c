/* report: the dense in-memory report. A table's cells follow the order of its
 * layout (layout.h cell numbering); printed labels are kept per row only when
 * a reader saw them. Cell text is parsed here once, so a blank or placeholder
 * is never mistaken for 0. */
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

struct report *report_new(void)
{
    struct report *r = xcalloc(1, sizeof *r);
    for (int i = 0; i < LAYOUT_SECTIONS; i++)
        r->section_order[i] = -1;
    return r;
}

static void clear_table(struct report_table *t, int ti)
{
    t->reconstructed = 0;
    if (!t->layout)
        return;
    const struct layout_table *lt = &t->layout->tables[ti];
    for (int k = 0; t->unread && k < lt->nrows; k++)
        free(t->unread[k]);
    free(t->unread);
    t->unread = NULL;
    for (int k = 0; k < lt->ncells; k++)
        free(t->cells[k].raw);
    for (int k = 0; k < lt->nrows; k++)
        free(t->printed[k]);
    free(t->cells);
    free(t->printed);
    t->layout = NULL;
}

void report_destroy(struct report **rp)
{
    struct report *r = rp ? *rp : NULL;
    if (!r)
        return;
    free(r->title);
    free(r->body_name);
    for (int i = 0; i < LAYOUT_SECTIONS; i++) {
        free(r->section_title[i]);
        free(r->section_text[i]);
    }
    for (int i = 0; i < LAYOUT_TABLES; i++)
        clear_table(&r->tables[i], i);
    free(r);
    *rp = NULL;
}

void report_set_table(struct report *r, int ti, const struct layout *l)
{
    struct report_table *t = &r->tables[ti];
    const struct layout_table *lt = &l->tables[ti];
    clear_table(t, ti);
    t->layout = l;
    t->cells = xcalloc((size_t)lt->ncells, sizeof *t->cells);
    t->printed = xcalloc((size_t)lt->nrows, sizeof *t->printed);
    for (int k = 0; k < lt->ncells; k++)
        t->cells[k].state = CELL_BLANK;
}

struct cell *report_cell(struct report *r, int ti, const char *row, const char *col)
{
    struct report_table *t = &r->tables[ti];
    if (!t->layout)
        return NULL;
    const struct layout_table *lt = &t->layout->tables[ti];
    int ri = layout_row_index(lt, row), ci = layout_col_index(lt, col);
    if (ri < 0 || ci < 0 || lt->cell_index[ri][ci] < 0)
        return NULL;
    return &t->cells[lt->cell_index[ri][ci]];
}

static const char *const PLACEHOLDERS[] = {
    "/", "／", "-", "－", "—", "——", "–", "无", "不适用", "空", "—/—", "\\", NULL,
};

static int is_space_at(const char *s, size_t len, size_t *n)
{
    if (len >= 1 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n' || s[0] == '\f')) {
        *n = 1;
        return 1;
    }
    if (len >= 3 && !memcmp(s, "\xe3\x80\x80", 3)) {   /* U+3000 ideographic space */
        *n = 3;
        return 1;
    }
    if (len >= 2 && !memcmp(s, "\xc2\xa0", 2)) {
        *n = 2;
        return 1;
    }
    return 0;
}

/* Parse [+-]digits[.digits] with ASCII or full-width digits and optional
 * thousands commas. Returns 1 with units/scale, 0 when not a clean number. */
static int parse_number(const char *s, size_t len, int amount, int64_t *units, uint8_t *scale)
{
    size_t i = 0;
    int neg = 0, digits = 0, frac = -1;
    int64_t v = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    for (; i < len; i++) {
        int d = -1;
        if (s[i] >= '0' && s[i] <= '9') {
            d = s[i] - '0';
        } else if (len - i >= 3 && (unsigned char)s[i] == 0xef && (unsigned char)s[i + 1] == 0xbc &&
                   (unsigned char)s[i + 2] >= 0x90 && (unsigned char)s[i + 2] <= 0x99) {
            d = (unsigned char)s[i + 2] - 0x90;
            i += 2;
        } else if (s[i] == '.' && frac < 0 && digits > 0) {
            frac = 0;
            continue;
        } else if (s[i] == ',' && frac < 0 && digits > 0 && len - i > 3 && s[i + 1] >= '0' &&
                   s[i + 1] <= '9') {
            continue;
        } else {
            return 0;
        }
        if (digits >= 18)
            return 0;
        v = v * 10 + d;
        digits++;
        if (frac >= 0)
            frac++;
    }
    if (digits == 0 || frac == 0)
        return 0;
    if (frac > 0 && !amount) {
        /* "3.0" is whole; "1.5" is not a count */
        int64_t p = 1;
        for (int k = 0; k < frac; k++)
            p *= 10;
        if (v % p)
            return 0;
        v /= p;
        frac = -1;
    }
    *units = neg ? -v : v;
    *scale = (uint8_t)(frac > 0 ? frac : 0);
    return 1;
}

void report_parse_cell(struct cell *c, const char *text, size_t len, int amount)
{
    size_t n;
    free(c->raw);
    c->raw = NULL;
    c->value = 0;
    c->scale = 0;
    while (len && is_space_at(text, len, &n))
        text += n, len -= n;
    while (len) {
        size_t k = len;
        /* trim from the end: try the 1-, 2- and 3-byte spaces */
        if (is_space_at(text + len - 1, 1, &n) && n == 1)
            k = len - 1;
        else if (len >= 2 && is_space_at(text + len - 2, 2, &n) && n == 2)
            k = len - 2;
        else if (len >= 3 && is_space_at(text + len - 3, 3, &n) && n == 3)
            k = len - 3;
        if (k == len)
            break;
        len = k;
    }
    if (len == 0) {
        c->state = CELL_BLANK;
        return;
    }
    if (parse_number(text, len, amount, &c->value, &c->scale)) {
        c->state = CELL_NUMBER;
        return;
    }
    c->raw = xstrndup(text, len);
    c->state = CELL_TEXT;
    for (const char *const *p = PLACEHOLDERS; *p; p++)
        if (strlen(*p) == len && !memcmp(*p, text, len))
            c->state = CELL_PLACEHOLDER;
}

void report_format_cell(const struct cell *c, char *out, size_t outlen)
{
    if (c->state != CELL_NUMBER) {
        snprintf(out, outlen, "%s", c->raw ? c->raw : "");
        return;
    }
    if (c->scale == 0) {
        snprintf(out, outlen, "%lld", (long long)c->value);
        return;
    }
    int64_t p = 1;
    for (int k = 0; k < c->scale; k++)
        p *= 10;
    int64_t a = c->value < 0 ? -c->value : c->value;
    snprintf(out, outlen, "%s%lld.%0*lld", c->value < 0 ? "-" : "", (long long)(a / p), c->scale,
             (long long)(a % p));
}
