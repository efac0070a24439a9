/* log: reportd's event log — one line per event on stderr, starting with a
 * journald priority prefix ("<3>" error … "<7>" debug), as text or (for log
 * shippers) as one JSON object per line. Job events carry the submission id,
 * the attempt and the worker. Repeated warnings and errors are rate-limited.
 * Thread-safe: worker threads and the broker loop log at once. */
#ifndef REPORTD_LOG_H
#define REPORTD_LOG_H

#include <stddef.h>
#include <time.h>

/* Priorities: syslog's numbers, as journald reads them from the prefix. */
#define LOG_BURST 10            /* lines per format string per window */
#define LOG_WINDOW_S 10         /* s */

enum { LOG_PRI_ERR = 3, LOG_PRI_WARNING = 4, LOG_PRI_NOTICE = 5, LOG_PRI_INFO = 6,
       LOG_PRI_DEBUG = 7 };

/* What a job event is about; NULL strings and attempt < 0 are left out. */
struct log_job {
    const char *submission_id;
    int attempt;                /* deliveries so far, 1 on the first */
    const char *worker;         /* the worker's ROUTER identity, hex */
};

/* Output format and the least important priority written (LOG_PRI_INFO hides
 * debug lines). Callable at any time (a reload); defaults: text, info. */
void log_configure(int json, int max_priority);
/* "text" → 0, "json" → 1, else -1. */
int log_format_parse(const char *name);
/* "error", "warning", "notice", "info", "debug" → the priority, else -1. */
int log_level_parse(const char *name);

/* One event: the one log path of the daemon — broker, worker, ZAP and the
 * service all hand their events here with a priority and, for a job, who it
 * is about (job may be NULL). A warning or error whose format string fired
 * more than LOG_BURST times in the current LOG_WINDOW_S window is counted, not
 * written; "N more like …: not logged" reports the count, at the priority of
 * the most severe line held back, when the window ends (log_tick, or the
 * next line of that kind). */
void log_msg(int pri, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_job(int pri, const struct log_job *job, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A job event with more of what it is about: fields is "key", "value", …,
 * NULL; a key written "#key" has a whole number as its value. Text: " key=value"
 * after the job's (quoted when the value holds a space or is empty); JSON: a
 * member each, a string or (#) a number. For the one line per finished job. */
void log_job_fields(int pri, const struct log_job *job, const char *const *fields,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Report suppressed lines whose window has ended. Call now and then. */
void log_tick(void);

/* Test seams: where lines go (default stderr's fd 2), and the clock of the
 * rate limit's windows (default time(NULL), in s). */
extern void (*log_write_hook)(const char *line, size_t len);
extern time_t (*log_time_hook)(void);

#endif
