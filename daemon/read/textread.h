/* textread: the reader for a report's text copied from its web page: section
 * headings and free text as plain lines, table cells one per line, each
 * prefixed by a tab, rows separated by an empty line, an empty cell a lone tab. */
#ifndef REPORTD_TEXTREAD_H
#define REPORTD_TEXTREAD_H

#include <stddef.h>

#include "read/rawdoc.h"

/* Read text[0..len) into out. Returns 0, or -1 with "file:line:column: reason"
 * in err; out is freeable with rawdoc_free either way. */
int textread_parse(const char *text, size_t len, const char *filename, const struct layouts *ls,
                   struct rawdoc *out, char *err, size_t errlen);

/* Nonzero when text looks like such a dump (tab-prefixed cell lines). */
int textread_sniff(const char *text, size_t len);

#endif
