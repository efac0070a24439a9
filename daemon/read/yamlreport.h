/* yamlreport: the YAML form of a report, for people and tests: written and
 * read back without loss (cell states, exact decimals, section order, printed
 * labels). */
#ifndef REPORTD_YAMLREPORT_H
#define REPORTD_YAMLREPORT_H

#include <stddef.h>

#include "report/report.h"

/* Write r as YAML into a heap string (*len bytes). */
char *yamlreport_write(const struct report *r, size_t *len);

/* Read the YAML form. Returns 0, or -1 with "file:line:column: reason". */
int yamlreport_read(const struct layouts *ls, const char *text, size_t len, const char *filename,
                    struct report **out, char *err, size_t errlen);

/* Nonzero when text starts like the YAML form ("report: 1"). */
int yamlreport_sniff(const char *text, size_t len);

#endif
