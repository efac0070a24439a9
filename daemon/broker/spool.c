/* spool: the broker's side of the store — each spool_* call goes to the
 * backend's ops table (store.h). Holds no state of its own: a struct spool
 * is the backend's object, whose first member names its ops. */
#include "broker/spool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "broker/store.h"

static const struct spool_ops *const backends[] = {&store_sqlite, &store_pg, NULL};
const char *const spool_backends[] = {"sqlite", "postgresql", NULL};

static const struct spool_ops *ops(const struct spool *sp)
{
    return ((const struct spool_base *)(const void *)sp)->ops;
}

int spool_topic_is_result(const char *topic)
{
    return strncmp(topic, "result.", 7) == 0;
}

struct spool *spool_open_backend(const char *backend, const char *where, char *err,
                                 size_t errlen)
{
    for (size_t i = 0; backends[i]; i++)
        if (strcmp(backends[i]->name, backend) == 0)
            return backends[i]->open(where, err, errlen);
    errf(err, errlen, "spool: no backend %s (built in: sqlite, postgresql)", backend);
    return NULL;
}

struct spool *spool_open(const char *path, char *err, size_t errlen)
{
    return spool_open_backend(spool_backends[0], path, err, errlen);
}

void spool_close(struct spool **sp)
{
    if (!sp || !*sp)
        return;
    ops(*sp)->close(*sp);
    *sp = NULL;
}

int spool_commit(struct spool *sp, char *err, size_t errlen)
{
    return spool_commit_begin(sp) ? spool_commit_end(sp, err, errlen) : 0;
}

int spool_commit_begin(struct spool *sp)
{
    return ops(sp)->commit_begin(sp);
}

int spool_commit_fd(const struct spool *sp)
{
    return ops(sp)->commit_fd(sp);
}

int spool_commit_end(struct spool *sp, char *err, size_t errlen)
{
    return ops(sp)->commit_end(sp, err, errlen);
}

int spool_lost(struct spool *sp, char *err, size_t errlen)
{
    return ops(sp)->lost(sp, err, errlen);
}

size_t spool_uncommitted(const struct spool *sp)
{
    return ops(sp)->uncommitted(sp);
}

int spool_put(struct spool *sp, const char *uuid, const char *submission_id,
              const char *service, const void *body, size_t len, char *err, size_t errlen)
{
    return ops(sp)->put(sp, uuid, submission_id, service, body, len, err, errlen);
}

int spool_finish(struct spool *sp, const char *uuid, int status, const void *reply,
                 size_t len, uint64_t reply_seq, char *err, size_t errlen)
{
    return ops(sp)->finish(sp, uuid, status, reply, len, reply_seq, err, errlen);
}

int spool_get(struct spool *sp, const char *uuid, void **reply, size_t *len)
{
    return ops(sp)->get(sp, uuid, reply, len);
}

int spool_close_job(struct spool *sp, const char *uuid, char *err, size_t errlen)
{
    return ops(sp)->close_job(sp, uuid, err, errlen);
}

int spool_attempt(struct spool *sp, const char *uuid, char *err, size_t errlen)
{
    return ops(sp)->attempt(sp, uuid, err, errlen);
}

int spool_bury(struct spool *sp, const char *uuid, const char *reason, char *err,
               size_t errlen)
{
    return ops(sp)->bury(sp, uuid, reason, err, errlen);
}

int spool_retry(struct spool *sp, const char *uuid, char *err, size_t errlen)
{
    return ops(sp)->retry(sp, uuid, err, errlen);
}

long spool_pending_after(struct spool *sp, int64_t after, size_t limit, spool_job_fn *fn,
                         void *arg)
{
    return ops(sp)->pending_after(sp, after, limit, fn, arg);
}

int64_t spool_last_rowid(const struct spool *sp)
{
    return ops(sp)->last_rowid(sp);
}

int spool_each_dead(struct spool *sp, spool_dead_fn *fn, void *arg)
{
    return ops(sp)->each_dead(sp, fn, arg);
}

int spool_dead_get(struct spool *sp, const char *uuid, spool_dead_fn *fn, void *arg)
{
    return ops(sp)->dead_get(sp, uuid, fn, arg);
}

uint64_t spool_log(struct spool *sp, const char *topic, const void *body, size_t len,
                   char *err, size_t errlen)
{
    return ops(sp)->log(sp, topic, body, len, err, errlen);
}

int spool_replay(struct spool *sp, uint64_t from, uint64_t to, size_t limit, spool_msg_fn *fn,
                 void *arg)
{
    return ops(sp)->replay(sp, from, to, limit, fn, arg);
}

uint64_t spool_last_seq(const struct spool *sp)
{
    return ops(sp)->last_seq(sp);
}

long spool_count(struct spool *sp, int state)
{
    return ops(sp)->count(sp, state);
}

int spool_history_put(struct spool *sp, const char *body_key, unsigned year,
                      const char *submission_id, const void *report, size_t len, char *err,
                      size_t errlen)
{
    return ops(sp)->history_put(sp, body_key, year, submission_id, report, len, err, errlen);
}

int spool_history_get(struct spool *sp, const char *body_key, unsigned year, void **report,
                      size_t *len)
{
    return ops(sp)->history_get(sp, body_key, year, report, len);
}

/* Retention's policy, for every backend: done and closed jobs, dead letters,
 * the publication log, then history, each by its rule, within one budget of
 * max_rows; a rule of 0 keeps its kind. */
long spool_prune(struct spool *sp, int64_t now, const struct spool_retention *rules,
                 size_t max_rows, char *err, size_t errlen)
{
    const int64_t day = 86400;
    if (max_rows == 0)
        return 0;
    if (ops(sp)->prune_begin(sp, err, errlen) != 0)
        return -1;
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    const struct {
        unsigned rule;
        enum spool_kind kind;
        int64_t cutoff;
    } steps[] = {
        {rules->closed_days, SPOOL_KIND_JOB, now - (int64_t)rules->closed_days * day},
        {rules->dead_days, SPOOL_KIND_DEAD, now - (int64_t)rules->dead_days * day},
        {rules->published_days, SPOOL_KIND_PUBLISHED, now - (int64_t)rules->published_days * day},
        /* history by report year: the years before this one's minus history_years */
        {rules->history_years, SPOOL_KIND_HISTORY,
         (int64_t)tm.tm_year + 1900 - rules->history_years},
    };
    size_t done = 0;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0] && done < max_rows; i++) {
        if (!steps[i].rule)
            continue;
        long n = ops(sp)->prune_kind(sp, steps[i].kind, steps[i].cutoff, max_rows - done, err,
                                     errlen);
        if (n < 0)
            return -1;
        done += (size_t)n;
    }
    return (long)done;
}

uint64_t spool_first_seq(struct spool *sp)
{
    return ops(sp)->first_seq(sp);
}

int64_t spool_oldest(struct spool *sp, enum spool_kind kind)
{
    return ops(sp)->oldest(sp, kind);
}

int spool_lead(struct spool *sp, uint64_t *epoch, char *err, size_t errlen)
{
    *epoch = 0;
    return ops(sp)->lead ? ops(sp)->lead(sp, epoch, err, errlen) : 1;
}

long spool_claim(struct spool *sp, size_t limit, int poll, char *err, size_t errlen)
{
    return ops(sp)->claim ? ops(sp)->claim(sp, limit, poll, err, errlen) : 0;
}

int spool_wake_fd(const struct spool *sp)
{
    return ops(sp)->wake_fd ? ops(sp)->wake_fd(sp) : -1;
}

int spool_check(const char *backend, const char *where, char *err, size_t errlen)
{
    for (size_t i = 0; backends[i]; i++)
        if (strcmp(backends[i]->name, backend) == 0)
            return backends[i]->check ? backends[i]->check(where, err, errlen) : 0;
    errf(err, errlen, "spool: no backend %s (built in: sqlite, postgresql)", backend);
    return 78;
}

void spool_link(struct spool *sp, struct spool_link *l)
{
    if (ops(sp)->link) {
        ops(sp)->link(sp, l);
        return;
    }
    memset(l, 0, sizeof *l);
    l->up = 1;
}

int64_t spool_size(struct spool *sp)
{
    return ops(sp)->size ? ops(sp)->size(sp) : -1;
}

void store_done_signal(int fd)
{
    uint64_t one = 1;
    if (write(fd, &one, sizeof one) != sizeof one)
        abort();                /* an eventfd write fails only on overflow */
}

void store_done_wait(int fd)
{
    uint64_t n;
    while (read(fd, &n, sizeof n) != sizeof n)
        if (errno != EINTR)
            abort();            /* a blocking eventfd read fails only on a bad fd */
}
