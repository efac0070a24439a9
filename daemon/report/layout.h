/* layout: a national report layout (2021, or the 2019 trial) loaded from YAML
 * as data: sections with their title variants, tables T2/T3/T4 with row and
 * column ids, official labels and label variants, and the summation identities
 * the generic engine in sums.c evaluates. */
#ifndef REPORTD_LAYOUT_H
#define REPORTD_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define LAYOUT_SECTIONS 6
#define LAYOUT_TABLES 3          /* T2, T3, T4 */
#define LAYOUT_MAX_ROWS 40
#define LAYOUT_MAX_COLS 24
#define LAYOUT_MAX_TERMS 40
#define LAYOUT_ID_SLOTS 128      /* power of two, over twice the rows or columns */

enum layout_table_id { TABLE_T2 = 0, TABLE_T3 = 1, TABLE_T4 = 2 };

/* "T2", "T3" or "T4" for table index ti (0..LAYOUT_TABLES-1). */
const char *layout_table_id(int ti);
/* The index of table id "T2".."T4", or -1 (also for NULL). */
int layout_table_index(const char *id);

struct layout_names {
    char **v;                    /* label variants as printed in real reports */
    size_t n;
};

struct layout_section {
    char *id;                    /* "s1".."s6" */
    char *title;                 /* official title, e.g. "一、总体情况" */
    struct layout_names variants;
    struct layout_names norm;    /* title and variants, normalized (norm_label) */
};

struct layout_col {
    char *id;                    /* stable id, e.g. "natural", "review.total" */
    char *label;                 /* official label */
    char *group;                 /* group label ("行政复议"), or NULL */
    char *label_norm;            /* label and group normalized (norm_label); group_norm NULL */
    char *group_norm;            /*   without a group */
    int amount;                  /* 1: exact decimal (万元), 0: whole count */
    int is_signed;               /* 1: may be negative (2019 本年增/减) */
};

struct layout_row {
    char *id;                    /* stable id; "" for T4's single row */
    char *label;                 /* official label, e.g. "1.属于国家秘密" */
    char *group;                 /* group label ("（三）不予公开"), or NULL */
    char *block;                 /* T2 block ("第二十条第（一）项"), or NULL */
    struct layout_names variants;
    struct layout_names match;   /* label and variants normalized, numbering dropped */
    char *norm;                  /* label, group and block normalized (norm_label), numbering */
    char *group_norm;            /*   kept; group_norm and block_norm NULL where the row has */
    char *block_norm;            /*   no group or block */
    int cols[LAYOUT_MAX_COLS];   /* column indexes of this row's cells, in order */
    int ncols;
};

enum sum_each { SUM_EACH_ROW, SUM_EACH_COLUMN, SUM_ONCE };

/* lhs = rhs, every term a whole count. For SUM_EACH_ROW the terms are column
 * indexes and the identity holds in every row; SUM_EACH_COLUMN, row indexes in
 * every column; SUM_ONCE, column indexes in row 0. */
struct layout_sum {
    char *rule;                  /* e.g. "R-S3-ROWSUM" */
    int rule_id;                 /* its enum rule_id (findings.h), or -1 when unknown */
    enum sum_each each;
    int lhs[LAYOUT_MAX_TERMS], nlhs;
    int rhs[LAYOUT_MAX_TERMS], nrhs;
    int anchor;                  /* SUM_ONCE: the column a finding names */
    /* Compiled at load: per instance (row, column, or the one), the cell
     * numbers of its lhs then rhs terms: [nl, l…, nr, r…] one after another. */
    int *flat;
    int ninst;
};

struct layout_table {
    char *id;                    /* "T2", "T3", "T4" */
    int section;                 /* index of its section */
    struct layout_row rows[LAYOUT_MAX_ROWS];
    int nrows;
    struct layout_col cols[LAYOUT_MAX_COLS];
    int ncols;
    struct layout_sum *sums;
    int nsums;
    int cell_index[LAYOUT_MAX_ROWS][LAYOUT_MAX_COLS]; /* -1 where no cell */
    int ncells;                  /* cells in row order */
    uint32_t row_hash[LAYOUT_MAX_ROWS];  /* of each row id, so look-ups compare ints first */
    uint32_t col_hash[LAYOUT_MAX_COLS];
    /* Open-addressed id -> index + 1 (0: empty), probed from hash % LAYOUT_ID_SLOTS. */
    uint8_t row_slot[LAYOUT_ID_SLOTS];
    uint8_t col_slot[LAYOUT_ID_SLOTS];
    int cell_row[LAYOUT_MAX_ROWS * LAYOUT_MAX_COLS];  /* cell -> row */
    int cell_col[LAYOUT_MAX_ROWS * LAYOUT_MAX_COLS];  /* cell -> column */
};

struct layout {
    unsigned version;            /* 2021 or 2019 */
    char *name;
    unsigned first_year, last_year;  /* report years this layout is for */
    struct layout_section sections[LAYOUT_SECTIONS];
    struct layout_table tables[LAYOUT_TABLES];
};

/* Load one layout file. Returns NULL with "file:line:column: reason" in err. */
struct layout *layout_load(const char *path, char *err, size_t errlen);
void layout_destroy(struct layout **lp);

/* Row / column index by stable id, or -1. */
int layout_row_index(const struct layout_table *t, const char *id);
int layout_col_index(const struct layout_table *t, const char *id);

/* The set of known layouts, newest first. */
struct layouts {
    struct layout *v[4];
    int n;
};

/* Load every *.yaml in dir (e.g. "config/layouts"). Returns 0, or -1 with a reason. */
int layouts_load_dir(struct layouts *ls, const char *dir, char *err, size_t errlen);
void layouts_free(struct layouts *ls);
/* The layout of that version, or NULL. Borrowed. */
const struct layout *layouts_find(const struct layouts *ls, unsigned version);
/* The layout a report of that year must use, or NULL. Borrowed. */
const struct layout *layouts_for_year(const struct layouts *ls, unsigned year);

/* Which section a line is the heading of: 0..5, or -1. Compares its
 * normalized form (norm.h) with every layout's titles and variants. */
int layouts_match_heading(const struct layouts *ls, const char *line);

#endif
