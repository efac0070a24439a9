/* htmlread: the reader for a report's web page as HTML — parsed by libxml2's
 * HTML parser, its tables turned into grids (rowspan and colspan expanded),
 * its text into lines, filling the same rawdoc the text readers fill. */
#ifndef REPORTD_HTMLREAD_H
#define REPORTD_HTMLREAD_H

#include <stddef.h>

#include "read/rawdoc.h"

/* Nonzero when data starts like an HTML page: after a BOM and white space,
 * '<', and "<!doctype html", "<html" or "<table" (any case) within the first
 * 1024 bytes. */
int htmlread_sniff(const char *data, size_t len);

/* Read an HTML page into out (zeroed first). The charset is the first one the
 * page declares (<meta charset>, or http-equiv content="…; charset=…"): UTF-8,
 * or GBK/GB2312/GB18030 (any charset iconv knows) converted to UTF-8; with none
 * declared, UTF-8, else GB18030. A page whose bytes contradict its declared
 * charset is refused (mojibake), never guessed at. Returns 0, or -1 with
 * "file:line: reason" in err; out is freeable with rawdoc_free either way. */
int htmlread_parse(const char *data, size_t len, const char *filename, const struct layouts *ls,
                   struct rawdoc *out, char *err, size_t errlen);

#endif
