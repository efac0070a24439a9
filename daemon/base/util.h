/* util: the xmalloc family (out of memory aborts), error formatting, small
 * string and UTF-8 helpers shared by every module. */
#ifndef REPORTD_UTIL_H
#define REPORTD_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Allocate or abort: out of memory is not an input error. Never return NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh heap string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Format a reason into err[errlen] (NULL-safe); always returns -1 so callers can
 * `return errf(err, errlen, ...)`. */
int errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Read a whole file into a NUL-terminated heap buffer (len excludes the NUL).
 * Refuses files over max bytes. Returns NULL with a reason in err. */
char *util_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen);

/* Nonzero when s[0..len) is valid UTF-8 without NUL bytes. */
int util_utf8_valid(const char *s, size_t len);

/* Decode one UTF-8 code point at s (len bytes left) into *cp; returns its length
 * in bytes, or 0 on an invalid sequence. */
size_t util_utf8_next(const char *s, size_t len, uint32_t *cp);

/* The monotonic clock (CLOCK_MONOTONIC) in milliseconds and in microseconds: for
 * deadlines, timers and durations, never for wall time. */
int64_t util_now_ms(void);
int64_t util_now_us(void);

/* A growable byte buffer. */
struct buf {
    char *data;
    size_t len;
    size_t cap;
};
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Return the NUL-terminated contents and reset b; the caller owns the result. */
char *buf_take(struct buf *b);
void buf_free(struct buf *b);

/* The directory holding layouts/ and regions.tsv: $REPORTD_DATADIR, else found
 * from the program's own location (/proc/self/exe): <bindir>/../share/reportd
 * when installed, <build>/../config in the source tree, else the compiled-in
 * REPORTD_DATADIR. Independent of the working directory. Borrowed string. */
const char *util_datadir(void);

#endif
