/* report: the in-memory form of one annual report, dense and indexed by the
 * layout each table was read against, so the checks need no look-ups. Readers
 * produce it; reportpb.c converts it to and from the protobuf Report. */
#ifndef REPORTD_REPORT_H
#define REPORTD_REPORT_H

#include <stdint.h>

#include "report/layout.h"

enum cell_state { CELL_NUMBER = 0, CELL_BLANK = 1, CELL_PLACEHOLDER = 2, CELL_TEXT = 3 };

struct cell {
    uint8_t state;               /* enum cell_state */
    uint8_t scale;               /* amounts: value = units / 10^scale */
    int64_t value;               /* count, or amount units, when CELL_NUMBER */
    char *raw;                   /* as printed when not a clean number; owned */
    unsigned line, col;          /* where it was read (0 when not from a document) */
};

struct report_table {
    const struct layout *layout; /* NULL when the table is absent */
    struct cell *cells;          /* layout->tables[i].ncells cells */
    char **printed;              /* per row: label as printed, or NULL */
    uint8_t reconstructed;       /* cells split from digits that ran together (flatread) */
    char **unread;               /* per row: why it was left blank, no identity deciding the split of
                                  * its digits ("77132470 splits 21 ways: …"); owned; NULL array or entry: none */
};

struct report {
    unsigned layout;             /* 2021 or 2019: what the report as a whole uses */
    unsigned year;               /* report year read from the title, or 0 */
    char *title;                 /* as printed, or NULL */
    char *body_name;             /* from the title, or NULL */
    char *section_title[LAYOUT_SECTIONS];
    char *section_text[LAYOUT_SECTIONS];   /* NULL when the section is absent */
    int section_order[LAYOUT_SECTIONS];    /* order found, -1 when absent */
    unsigned section_line[LAYOUT_SECTIONS];
    struct report_table tables[LAYOUT_TABLES];
    const char *filename;        /* borrowed, for messages */
    const char *reader;          /* the form it was read from ("text", "flat", …); static, or NULL */
};

/* A report with no tables and no sections. */
struct report *report_new(void);
void report_destroy(struct report **rp);

/* Give table ti the cells of layout l (all blank). */
void report_set_table(struct report *r, int ti, const struct layout *l);

/* The cell at (row id, column id) of table ti, or NULL. */
struct cell *report_cell(struct report *r, int ti, const char *row, const char *col);

/* Parse a printed cell into c (state, value, raw). amount: decimal allowed.
 * Never fails: what is not a clean number becomes CELL_TEXT or a placeholder. */
void report_parse_cell(struct cell *c, const char *text, size_t len, int amount);

/* Format a cell's value ("12", "96171.6", or its raw text) into out. */
void report_format_cell(const struct cell *c, char *out, size_t outlen);

#endif
