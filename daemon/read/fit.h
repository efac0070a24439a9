/* fit: maps what a reader found (struct rawdoc) onto the cells of a national
 * layout, detecting from the content which layout each table uses. */
#ifndef REPORTD_FIT_H
#define REPORTD_FIT_H

#include <stddef.h>

#include "read/rawdoc.h"
#include "report/report.h"

/* Build a report from d. year_hint (0: none) breaks ties between layouts whose
 * tables look alike. Returns 0 with *out owned by the caller, or -1 with an
 * actionable reason ("file:line: T3: found 24 rows of 7 cells, expected 25 …"). */
int fit_report(const struct layouts *ls, const struct rawdoc *d, unsigned year_hint,
               struct report **out, char *err, size_t errlen);

/* Nonzero when a printed label is the official label of row (or a variant):
 * the official text, without its numbering, appears in order within the
 * printed text (stray fragments of split group labels may sit between). */
int fit_label_matches(const struct layout_row *row, const char *printed);

/* The report year in a title ("…2024年政府信息公开…"), or 0. If body is not
 * NULL, *body gets the text before the year (heap), or NULL. */
unsigned fit_title_year(const char *title, char **body);

#endif
