/* flatread: the reader for a report's page text whose table cells ran
 * together without separators, as web archives save it
 * ("一、本年新收政府信息公开申请数量21710000218"): an archive header and page
 * chrome around the report, section headings and table rows found by the
 * layout's labels, each row's digit run split by digitsplit.c. */
#ifndef REPORTD_FLATREAD_H
#define REPORTD_FLATREAD_H

#include <stddef.h>

#include "report/report.h"

struct flatread_stats {
    unsigned long nodes;         /* solver search nodes, all tables */
    unsigned long max_nodes;     /* of the table that took the most */
};

/* Read text[0..len) into a report (owned by the caller). year_hint (0: the
 * title's year) picks the layout tried first. Tables whose cells were split
 * are marked reconstructed; rows no identity can split are left blank with
 * the reason in report_table.unread. Returns 0, or -1 with
 * "file:line:column: reason" (a row whose run splits no way or several ways
 * names the row and the candidates). st may be NULL. */
int flatread_read(const struct layouts *ls, const char *text, size_t len, const char *filename,
                  unsigned year_hint, struct report **out, struct flatread_stats *st, char *err,
                  size_t errlen);

/* Nonzero when text has a table row printed as its label followed straight
 * by a run of digits (T3 一 with at least 7, or T4's 总计 with at least 15). */
int flatread_sniff(const char *text, size_t len);

#endif
