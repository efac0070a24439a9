/* layoutread: the reader for `pdftotext -layout` output of an annual report
 * (pages separated by form feeds, table columns aligned by runs of spaces).
 * It fills a rawdoc: title, the six sections, and the rows of T2, T3 and T4
 * as printed; fit.c maps them onto a layout's cells. */
#ifndef REPORTD_LAYOUTREAD_H
#define REPORTD_LAYOUTREAD_H

#include <stddef.h>

#include "report/layout.h"
#include "read/rawdoc.h"

/* Nonzero when text[0..len) looks like pdftotext -layout output (form feeds,
 * page numbers like "-3-", columns aligned by runs of spaces) rather than a
 * web-page text dump, whose table cells are tab-prefixed lines. */
int layoutread_sniff(const char *text, size_t len);

/* Read text[0..len) into out, which is zeroed first (pass an empty rawdoc).
 * ls gives the section titles and the official T2/T3/T4 row labels; T3 rows
 * are matched to the layout whose row count equals the number lines found.
 * Token columns are 1-based and count UTF-8 code points, form feeds not
 * counted; lines are 1-based; a blank cell placed by column is a "" token;
 * a section not found has order -1. Returns 0, or -1 with "file:line: reason"
 * in err (filename may be NULL). Either way release out with rawdoc_free. */
int layoutread_parse(const char *text, size_t len, const char *filename,
                     const struct layouts *ls, struct rawdoc *out, char *err, size_t errlen);

#endif
