/* pdfread: the text of a PDF, extracted by poppler's `pdftotext -layout` run
 * as a child process under limits, so that a hostile or broken PDF costs a
 * REJECTED Result, never the worker: see pdfread.c for the isolation. */
#ifndef REPORTD_PDFREAD_H
#define REPORTD_PDFREAD_H

#include <stddef.h>
#include <stdint.h>

/* Defaults of the limits (config keys limits.pdf_* override all but the
 * program, which tests replace to inject faults). */
#define PDFREAD_PROGRAM "/usr/bin/pdftotext"
#define PDFREAD_CPU_SECONDS 10u             /* RLIMIT_CPU of the child */
#define PDFREAD_TIMEOUT_MS 20000u           /* wall clock, then SIGKILL */
#define PDFREAD_MAX_MEMORY (512ul << 20)    /* bytes, RLIMIT_AS of the child */
#define PDFREAD_MAX_OUTPUT (8ul << 20)      /* bytes of text read back */

struct pdfread_limits {
    char program[256];           /* absolute path; run without a shell */
    unsigned cpu_seconds;        /* s */
    unsigned timeout_ms;         /* ms */
    size_t max_memory;           /* bytes */
    size_t max_output;           /* bytes */
};

/* The compiled-in defaults above. */
void pdfread_limits_default(struct pdfread_limits *l);
/* The process-wide limits every PDF read uses (copied). Set them at start,
 * before worker threads run; pdfread_get_limits copies them out. */
void pdfread_set_limits(const struct pdfread_limits *l);
void pdfread_get_limits(struct pdfread_limits *l);

/* Nonzero when data starts (within its first 1024 bytes, as readers allow)
 * with the PDF signature "%PDF-". */
int pdfread_sniff(const uint8_t *data, size_t len);

/* Extract the text of pdf[0..len) as pdftotext -layout prints it (UTF-8,
 * pages separated by form feeds). Returns 0 with *text (heap, NUL-terminated,
 * owned by the caller) and *textlen, or -1 with a reason a person can act on
 * in err (no prefix): damaged, timed out, crashed, too much text, no text
 * layer. The caller's process is never at risk: the child is killed on any
 * limit and reaped before returning. lim NULL: the process-wide limits. */
int pdfread_text(const uint8_t *pdf, size_t len, const struct pdfread_limits *lim, char **text,
                 size_t *textlen, char *err, size_t errlen);

#endif
