/* util: allocation that aborts on exhaustion, error strings, file reading,
 * UTF-8 validation, the monotonic clock, a growable buffer, and where the
 * data (layouts, regions) is. The only state: the data directory, found once. */
#include "base/util.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef REPORTD_DATADIR
#define REPORTD_DATADIR "/usr/local/share/reportd"
#endif

static char datadir[PATH_MAX];  /* util_datadir's answer, found once */

static void oom(void)
{
    fputs("reportd: out of memory\n", stderr);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        oom();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom();
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom();
    char *p = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

int errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

char *util_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        errf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > max) {
            errf(err, errlen, "%s: larger than the limit of %zu bytes", path, max);
            goto fail;
        }
        buf_append(&b, chunk, n);
    }
    if (ferror(f)) {
        errf(err, errlen, "%s: read error: %s", path, strerror(errno));
        goto fail;
    }
    fclose(f);
    *len = b.len;
    return buf_take(&b);
fail:
    fclose(f);
    buf_free(&b);
    return NULL;
}

size_t util_utf8_next(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    if (len == 0)
        return 0;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    size_t n;
    uint32_t c, min;
    if ((u[0] & 0xe0) == 0xc0) {
        n = 2, c = u[0] & 0x1f, min = 0x80;
    } else if ((u[0] & 0xf0) == 0xe0) {
        n = 3, c = u[0] & 0x0f, min = 0x800;
    } else if ((u[0] & 0xf8) == 0xf0) {
        n = 4, c = u[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (u[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

/* No NUL, no overlong, surrogate or out-of-range form. Skips ASCII eight
 * bytes at a time and the common 3-byte CJK range without decoding: reports
 * are mostly spaces and Chinese. */
int util_utf8_valid(const char *text, size_t len)
{
    const unsigned char *u = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        uint64_t w;
        if (i + 8 <= len && (memcpy(&w, u + i, 8), !(w & 0x8080808080808080ull)) &&
            !((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull)) {
            i += 8;              /* eight ASCII bytes, none of them NUL */
            continue;
        }
        /* U+1000..U+FFFF but the surrogates (E1..EC, EE, EF leads): no corner case */
        while (i + 2 < len && (unsigned char)(u[i] - 0xe1) <= 0x0e && u[i] != 0xed &&
               ((u[i + 1] & 0xc0) | (u[i + 2] >> 6)) == 0x82)
            i += 3;
        if (i >= len)
            break;
        uint32_t cp;
        size_t n = u[i] < 0x80 ? 1 : util_utf8_next(text + i, len - i, &cp);
        if (n == 0 || u[i] == 0)
            return 0;
        i += n;
    }
    return 1;
}

/* Room for n more bytes and a NUL, doubling: appends stay linear. */
static void buf_reserve(struct buf *b, size_t n)
{
    if (b->len + n + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    buf_reserve(b, (size_t)n);    /* to the exact size, each line was a copy of all before it */
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *buf_take(struct buf *b)
{
    buf_append(b, "", 0);
    char *p = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The first of <exedir>/../share/reportd (installed) and <exedir>/../config
 * (the build tree: build/reportd) holding layouts/, else the compiled-in
 * REPORTD_DATADIR. */
static void find_datadir(void)
{
    static const char *const beside[] = {"../share/reportd", "../config"};
    char exe[PATH_MAX], probe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? memrchr(exe, '/', (size_t)n) : NULL;
    snprintf(datadir, sizeof datadir, "%s", REPORTD_DATADIR);
    if (!slash)
        return;
    *slash = '\0';
    for (size_t i = 0; i < sizeof beside / sizeof beside[0]; i++) {
        int len = snprintf(probe, sizeof probe, "%s/%s/layouts", exe, beside[i]);
        if (len > 0 && (size_t)len < sizeof probe && is_dir(probe)) {
            probe[len - (int)strlen("/layouts")] = '\0';
            if (!realpath(probe, datadir))
                memcpy(datadir, probe, (size_t)len - strlen("/layouts") + 1);
            return;
        }
    }
}

const char *util_datadir(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    const char *env = getenv("REPORTD_DATADIR");
    if (env && *env)
        return env;
    pthread_once(&once, find_datadir);
    return datadir;
}

int64_t util_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
