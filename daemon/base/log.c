/* log: formats one event into one line and writes it with a single write(2),
 * so lines from threads never interleave. Text lines are "<P>[time ]message
 * key=value…"; the time is left out when stderr is journald's stream
 * ($JOURNAL_STREAM), which stamps lines itself. JSON lines carry priority,
 * time, msg and the job fields (jansson escapes them). Rate limit: a small
 * table keyed by format string (a preformatted "%s" line: by its text with
 * the digits left out) counts warnings and errors per window; past
 * LOG_BURST the line is dropped and counted. One mutex guards it all. */
#include "base/log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

#define SLOTS 32

struct slot {
    uint64_t key;               /* hash of the format (or of a "%s" line sans digits) */
    char what[80];              /* the start of the first such line, for the report */
    time_t window;              /* s: start of the current window */
    int lines;                  /* written in this window */
    long suppressed;            /* dropped in this window */
    int pri;                    /* the most severe of those dropped */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int json_lines;
static int max_pri = LOG_PRI_INFO;
static struct slot slots[SLOTS];

static void write_fd2(const char *line, size_t len)
{
    while (len) {
        ssize_t n = write(2, line, len);
        if (n <= 0)
            return;
        line += n;
        len -= (size_t)n;
    }
}

void (*log_write_hook)(const char *line, size_t len) = write_fd2;

static time_t wall_seconds(void)
{
    return time(NULL);
}

time_t (*log_time_hook)(void) = wall_seconds;

void log_configure(int json, int max_priority)
{
    pthread_mutex_lock(&lock);
    json_lines = json;
    __atomic_store_n(&max_pri, max_priority, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&lock);
}

int log_format_parse(const char *name)
{
    return !strcmp(name, "text") ? 0 : !strcmp(name, "json") ? 1 : -1;
}

int log_level_parse(const char *name)
{
    static const char *const names[] = {"error", "warning", "notice", "info", "debug"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(name, names[i]))
            return LOG_PRI_ERR + i;
    return -1;
}

static void stamp(char *ts, size_t len)
{
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(ts, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, len - n, ".%03ldZ", now.tv_nsec / 1000000);
}

/* Caller holds the lock. */
static void emit(int pri, const struct log_job *job, const char *const *fields, const char *msg)
{
    char ts[40];
    stamp(ts, sizeof ts);
    struct buf b = {0};
    if (json_lines) {
        static const char *const levels[] = {"error", "warning", "notice", "info", "debug"};
        json_t *o = json_pack("{s:s, s:i, s:s}", "time", ts, "priority", pri, "level",
                              levels[pri - LOG_PRI_ERR]);
        json_t *m = json_string(msg);
        json_object_set_new(o, "msg", m ? m : json_string("(message is not UTF-8)"));
        if (job && job->submission_id && *job->submission_id)
            json_object_set_new(o, "submission_id", json_string(job->submission_id));
        if (job && job->attempt >= 0)
            json_object_set_new(o, "attempt", json_integer(job->attempt));
        if (job && job->worker && *job->worker)
            json_object_set_new(o, "worker", json_string(job->worker));
        for (const char *const *f = fields; f && f[0] && f[1]; f += 2) {
            int number = f[0][0] == '#';
            json_t *v = number ? json_integer((json_int_t)strtoll(f[1], NULL, 10)) : json_string(f[1]);
            json_object_set_new(o, f[0] + number, v ? v : json_string("(not UTF-8)"));
        }
        char *text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(o);
        /* under journald the prefix sets the priority; it strips it */
        if (getenv("JOURNAL_STREAM"))
            buf_printf(&b, "<%d>", pri);
        buf_puts(&b, text ? text : "{}");
        free(text);
    } else {
        buf_printf(&b, "<%d>", pri);
        if (!getenv("JOURNAL_STREAM"))
            buf_printf(&b, "%s ", ts);
        buf_puts(&b, msg);
        if (job && job->submission_id && *job->submission_id)
            buf_printf(&b, " submission=%s", job->submission_id);
        if (job && job->attempt >= 0)
            buf_printf(&b, " attempt=%d", job->attempt);
        if (job && job->worker && *job->worker)
            buf_printf(&b, " worker=%s", job->worker);
        for (const char *const *f = fields; f && f[0] && f[1]; f += 2)
            buf_printf(&b, strpbrk(f[1], " \"") || !*f[1] ? " %s=\"%s\"" : " %s=%s",
                       f[0] + (f[0][0] == '#'), f[1]);
    }
    buf_puts(&b, "\n");
    log_write_hook(b.data, b.len);
    buf_free(&b);
}

/* Caller holds the lock. Reports s's suppressed lines (at the priority of
 * the most severe of them), opens a new window. */
static void roll(struct slot *s, time_t now)
{
    if (s->suppressed) {
        char msg[300];
        snprintf(msg, sizeof msg, "%ld more like \"%s…\" in the last %ld s: not logged",
                 s->suppressed, s->what, (long)(now - s->window));
        emit(s->pri, NULL, NULL, msg);
    }
    s->window = now;
    s->lines = 0;
    s->suppressed = 0;
}

/* Cut a multi-byte UTF-8 sequence that truncation left incomplete. */
static void trim_utf8(char *s)
{
    size_t n = strlen(s), i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i > 0 && (unsigned char)s[i - 1] >= 0xC0) {
        unsigned char c = (unsigned char)s[i - 1];
        size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (n - (i - 1) < want)
            s[i - 1] = '\0';
    }
}

static uint64_t key_of(const char *fmt, const char *msg)
{
    const char *p = strcmp(fmt, "%s") == 0 ? msg : fmt;
    uint64_t h = 1469598103934665603u;      /* FNV-1a */
    for (; *p; p++)
        if (*p < '0' || *p > '9')
            h = (h ^ (unsigned char)*p) * 1099511628211u;
    return h ? h : 1;
}

/* Caller holds the lock. 1 when this line may be written now. */
static int admit(int pri, const char *fmt, const char *msg)
{
    if (pri > LOG_PRI_WARNING)
        return 1;
    time_t now = log_time_hook();
    uint64_t key = key_of(fmt, msg);
    struct slot *s = NULL, *oldest = &slots[0];
    for (int i = 0; i < SLOTS && !s; i++) {
        if (slots[i].key == key)
            s = &slots[i];
        else if (slots[i].window < oldest->window)
            oldest = &slots[i];
    }
    if (!s) {
        s = oldest;
        if (s->key)
            roll(s, now);
        s->key = key;
        snprintf(s->what, sizeof s->what, "%.60s", msg);
        trim_utf8(s->what);
        s->window = now;
        s->lines = 0;
    }
    if (now - s->window >= LOG_WINDOW_S)
        roll(s, now);
    if (++s->lines <= LOG_BURST)
        return 1;
    if (!s->suppressed || pri < s->pri)
        s->pri = pri;
    s->suppressed++;
    return 0;
}

static void vlog(int pri, const struct log_job *job, const char *const *fields, const char *fmt,
                 va_list ap)
{
    if (pri < LOG_PRI_ERR)
        pri = LOG_PRI_ERR;
    if (pri > LOG_PRI_DEBUG)
        pri = LOG_PRI_DEBUG;
    /* a line below the level costs no formatting (debug lines sit on the hot path) */
    if (pri > __atomic_load_n(&max_pri, __ATOMIC_RELAXED))
        return;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    trim_utf8(msg);
    pthread_mutex_lock(&lock);
    if (pri <= max_pri && admit(pri, fmt, msg))
        emit(pri, job, fields, msg);
    pthread_mutex_unlock(&lock);
}

void log_msg(int pri, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(pri, NULL, NULL, fmt, ap);
    va_end(ap);
}

void log_job(int pri, const struct log_job *job, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(pri, job, NULL, fmt, ap);
    va_end(ap);
}

void log_job_fields(int pri, const struct log_job *job, const char *const *fields,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(pri, job, fields, fmt, ap);
    va_end(ap);
}

void log_tick(void)
{
    time_t now = log_time_hook();
    pthread_mutex_lock(&lock);
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].key && slots[i].suppressed && now - slots[i].window >= LOG_WINDOW_S)
            roll(&slots[i], now);
    pthread_mutex_unlock(&lock);
}
