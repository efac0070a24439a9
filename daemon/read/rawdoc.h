/* rawdoc: a report as a reader found it in a document, before it is fitted to
 * a layout. Readers (textread.c for web-page text dumps, layoutread.c for
 * pdftotext -layout output) fill it; fit.c maps it onto a layout's cells.
 * Everything here is owned by the rawdoc; rawdoc_free releases it. */
#ifndef REPORTD_RAWDOC_H
#define REPORTD_RAWDOC_H

#include <stddef.h>

#include "report/layout.h"

/* One cell token as printed ("12", "", "/", "251000元"), with its position. */
struct rawtoken {
    char *text;                  /* trimmed; "" for a blank cell */
    unsigned line, col;          /* 1-based position in the document */
};

/* One table row: its label as printed (all fragments that belong to it joined,
 * group labels included, white space kept or not) and its cells in order. */
struct rawrow {
    char *label;
    struct rawtoken *tokens;
    size_t ntokens;
    unsigned line;               /* line of the first token (or of the label) */
};

struct rawtable {
    int found;                   /* 1 when the table's section had a table */
    struct rawrow *rows;         /* data rows only, in document order */
    size_t nrows;
    unsigned line;               /* where the table starts */
};

struct rawsection {
    int found;
    char *title;                 /* heading as printed */
    char *text;                  /* free text of the section (tables excluded) */
    unsigned line;               /* heading line */
    int order;                   /* 0-based order in which it was found; -1 when not found */
};

struct rawdoc {
    char *filename;              /* for messages; may be NULL */
    char *title;                 /* document title as printed, or NULL */
    struct rawsection sections[LAYOUT_SECTIONS];
    struct rawtable tables[LAYOUT_TABLES];   /* T2, T3, T4 */
};

/* Append a row to t and return it (zeroed). The pointer is good only until
 * the next row is added to the same table (the array may move). */
struct rawrow *rawdoc_add_row(struct rawtable *t, const char *label, unsigned line);
/* Append a token to a row. */
void rawdoc_add_token(struct rawrow *r, const char *text, size_t len, unsigned line, unsigned col);

/* One printed cell of a table row (a text dump's cell line, an HTML <td>),
 * before the row is classified. s is not NUL-terminated. */
struct rawcell {
    const char *s;
    size_t len;
    unsigned line, col;
};
/* Add the row printed as cells g[0..n) to t (table ti) when it is a data row:
 * T2 and T3 rows are label cells (group labels first; two or more CJK
 * ideographs, not a placeholder like 无) then the values; T4's data row has
 * no label cell. Header rows (labels only, 第二十条…, 信息内容…) and runs
 * without values are skipped. */
void rawdoc_add_cells(struct rawtable *t, int ti, const struct rawcell *g, size_t n);
/* Nonzero when s[0..len) reads as a row label rather than a value. */
int rawdoc_label_like(const char *s, size_t len);
void rawdoc_free(struct rawdoc *d);

#endif
