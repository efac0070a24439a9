/* reader: one entry point for every form a report comes in — detects the
 * form (or takes it as given) and runs the matching reader. */
#ifndef REPORTD_READER_H
#define REPORTD_READER_H

#include <stddef.h>
#include <stdint.h>

#include "report/report.h"

enum reader_form {
    READER_DETECT = 0,           /* same numbers as proto DocumentForm */
    READER_TEXT = 1,             /* web-page text dump */
    READER_LAYOUT = 2,           /* pdftotext -layout */
    READER_YAML = 3,
    READER_PROTOBUF = 4,
    READER_PDF = 5,              /* the published PDF: pdfread.c, then layoutread.c */
    READER_HTML = 6,             /* the web page: htmlread.c */
    READER_FLAT = 7,             /* page text whose table cells ran together: flatread.c */
};

/* The form of data, guessed from its content, in this order: the PDF
 * signature "%PDF-" in the first 1024 bytes; HTML markup at the start
 * (<!DOCTYPE html, <html or <table near the start, after a BOM and white
 * space; any charset); then, for valid UTF-8, YAML, run-together page text
 * (a T3 or T4 label followed straight by its digits), the text dump, else
 * pdftotext -layout text; anything else is tried as a protobuf Report. */
enum reader_form reader_detect(const uint8_t *data, size_t len);
/* "text", "layout", "yaml", "pb", "pdf", "html", "flat"; and back (-1 when unknown). */
const char *reader_form_name(enum reader_form f);
int reader_form_parse(const char *name);

/* Read data as form (READER_DETECT: guess). year_hint (0: none) picks between
 * layouts whose tables look alike. Returns 0 with an owned *out, or -1 with a
 * reason a person can act on ("file:line: …"). */
int reader_read(const struct layouts *ls, const uint8_t *data, size_t len, enum reader_form form,
                const char *filename, unsigned year_hint, struct report **out, char *err, size_t errlen);

#endif
