/* Shared helpers for the cmocka tests: a checker on config/, reading files
 * into reports, and finding look-ups. Header-only: each test program is one
 * translation unit. */
#ifndef REPORTD_TESTUTIL_H
#define REPORTD_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "report/layout.h"
#include "read/reader.h"
#include "report/report.h"
#include "base/util.h"

#define SHARED_REPORTS "../shared/reports/"

static inline struct checker *tu_checker(void)
{
    char err[1024] = "";
    struct checker *c = checker_new(&(struct checker_options){.datadir = "config"}, err, sizeof err);
    if (!c)
        fail_msg("checker_new: %s", err);
    return c;
}

static inline struct report *tu_read(const struct checker *c, const char *path, enum reader_form form)
{
    char err[1024] = "";
    size_t len;
    char *data = util_read_file(path, 64u << 20, &len, err, sizeof err);
    if (!data)
        fail_msg("%s", err);
    struct report *r = NULL;
    if (reader_read(checker_layouts(c), (const uint8_t *)data, len, form, path, 0, &r, err, sizeof err) < 0)
        fail_msg("reader_read %s: %s", path, err);
    free(data);
    return r;
}

/* Read, expecting failure; returns the error text (static buffer). */
static inline const char *tu_read_error(const struct checker *c, const char *data, size_t len, enum reader_form form)
{
    static char err[1024];
    struct report *r = NULL;
    err[0] = '\0';
    int rc = reader_read(checker_layouts(c), (const uint8_t *)data, len, form, "t.txt", 0, &r, err, sizeof err);
    if (rc == 0) {
        report_destroy(&r);
        fail_msg("expected a read error, got a report");
    }
    assert_null(r);
    return err;
}

static inline Reportd__Result *tu_check(const struct checker *c, const struct report *r)
{
    struct check_meta meta = {.submission_id = "test", .government = -1};
    return checker_check_report(c, r, &meta);
}

/* Number of findings of rule (NULL: any) at row/column (NULL: any). */
static inline int tu_count(const Reportd__Result *res, const char *rule, const char *row, const char *col)
{
    int n = 0;
    for (size_t i = 0; i < res->n_findings; i++) {
        const Reportd__Finding *f = res->findings[i];
        if (rule && strcmp(f->rule, rule))
            continue;
        if (row && strcmp(f->row, row))
            continue;
        if (col && strcmp(f->column, col))
            continue;
        n++;
    }
    return n;
}

static inline const Reportd__Finding *tu_find(const Reportd__Result *res, const char *rule, const char *row, const char *col)
{
    for (size_t i = 0; i < res->n_findings; i++) {
        const Reportd__Finding *f = res->findings[i];
        if (!strcmp(f->rule, rule) && (!row || !strcmp(f->row, row)) && (!col || !strcmp(f->column, col)))
            return f;
    }
    fail_msg("no %s finding at %s × %s", rule, row ? row : "*", col ? col : "*");
    return NULL;
}

static inline int tu_count_severity(const Reportd__Result *res, Reportd__Severity s)
{
    int n = 0;
    for (size_t i = 0; i < res->n_findings; i++)
        n += res->findings[i]->severity == s;
    return n;
}

/* Print findings, for a failing test's context. */
static inline void tu_dump(const Reportd__Result *res)
{
    for (size_t i = 0; i < res->n_findings; i++) {
        const Reportd__Finding *f = res->findings[i];
        print_message("  %s %s %s×%s expected=%s actual=%s\n", f->rule, f->table, f->row, f->column,
                      f->expected, f->actual);
    }
}

static inline void tu_set(struct report *r, int ti, const char *row, const char *col, const char *text)
{
    struct cell *c = report_cell(r, ti, row, col);
    assert_non_null(c);
    const struct layout_table *lt = &r->tables[ti].layout->tables[ti];
    report_parse_cell(c, text, strlen(text), lt->cols[layout_col_index(lt, col)].amount);
}

static inline int64_t tu_value(struct report *r, int ti, const char *row, const char *col)
{
    struct cell *c = report_cell(r, ti, row, col);
    assert_non_null(c);
    assert_int_equal(c->state, CELL_NUMBER);
    return c->value;
}

/* A whole file (test inputs in place), or the test fails. */
static inline char *tu_slurp(const char *path, size_t *len)
{
    char err[256];
    char *d = util_read_file(path, 64u << 20, len, err, sizeof err);
    if (!d)
        fail_msg("%s", err);
    return d;
}

/* The cells of one row (or of T4's single row) as "v v v", "_" for blank. */
static inline void tu_row_text(const struct report *r, int ti, int row, char *out, size_t outlen)
{
    const struct layout_table *lt = &r->tables[ti].layout->tables[ti];
    out[0] = '\0';
    for (int k = 0; k < lt->rows[row].ncols; k++) {
        const struct cell *c = &r->tables[ti].cells[lt->cell_index[row][lt->rows[row].cols[k]]];
        char v[64];
        if (c->state == CELL_BLANK)
            snprintf(v, sizeof v, "_");
        else
            report_format_cell(c, v, sizeof v);
        size_t n = strlen(out);
        snprintf(out + n, outlen - n, "%s%s", k ? " " : "", v);
    }
}

/* Two Results are the same (findings, figures, fingerprint, …) when they pack
 * to the same bytes with their timing and the reader's name cleared (a PDF
 * and its layout text are one report read by two readers). */
static inline void tu_same_result(Reportd__Result *a, Reportd__Result *b)
{
    a->has_processing_us = b->has_processing_us = 0;
    a->processing_us = b->processing_us = 0;
    Reportd__Enrichment *e[2] = {a->enrichment, b->enrichment};
    for (int i = 0; i < 2; i++)
        if (e[i])
            e[i]->reader = NULL;        /* borrowed: the Result's arena keeps the rest */
    size_t la = reportd__result__get_packed_size(a), lb = reportd__result__get_packed_size(b);
    uint8_t *pa = xmalloc(la), *pb = xmalloc(lb);
    reportd__result__pack(a, pa);
    reportd__result__pack(b, pb);
    assert_int_equal(la, lb);
    assert_memory_equal(pa, pb, la);
    free(pa);
    free(pb);
}

/* Two reports hold the same content: layout, year, title, sections in order,
 * every cell (state, value, scale, raw text) and every printed label. */
static inline void tu_same_report(const struct report *a, const struct report *b)
{
    assert_int_equal(a->layout, b->layout);
    assert_int_equal(a->year, b->year);
    assert_string_equal(a->title ? a->title : "(none)", b->title ? b->title : "(none)");
    for (int i = 0; i < LAYOUT_SECTIONS; i++) {
        assert_int_equal(a->section_order[i], b->section_order[i]);
        if (a->section_order[i] >= 0)
            assert_string_equal(a->section_text[i], b->section_text[i]);
    }
    for (int ti = 0; ti < LAYOUT_TABLES; ti++) {
        assert_ptr_equal(a->tables[ti].layout, b->tables[ti].layout);
        if (!a->tables[ti].layout)
            continue;
        const struct layout_table *lt = &a->tables[ti].layout->tables[ti];
        for (int k = 0; k < lt->ncells; k++) {
            const struct cell *x = &a->tables[ti].cells[k], *y = &b->tables[ti].cells[k];
            assert_int_equal(x->state, y->state);
            assert_int_equal(x->value, y->value);
            assert_int_equal(x->scale, y->scale);
            assert_string_equal(x->raw ? x->raw : "(none)", y->raw ? y->raw : "(none)");
        }
        for (int row = 0; row < lt->nrows; row++) {
            const char *p = a->tables[ti].printed[row], *q = b->tables[ti].printed[row];
            assert_string_equal(p ? p : "(none)", q ? q : "(none)");
        }
    }
}

#endif
