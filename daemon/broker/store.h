/* store: what a spool backend implements. The broker sees only spool.h;
 * spool.c dispatches each spool_* call through the backend's ops table, so a
 * second backend (PostgreSQL) is one more table, run by the same tests
 * (tests/broker/test_store.c). Every backend keeps the promises spool.h states:
 * writes join one open batch that spool_commit makes durable or rolls back. */
#ifndef REPORTD_STORE_H
#define REPORTD_STORE_H

#include "broker/spool.h"

/* The part of every backend's struct spool that spool.c reads: a backend
 * defines its own struct with this first. */
struct spool_base {
    const struct spool_ops *ops;
};

/* One backend. Each operation has the contract of the spool_* function of the
 * same name (spool.h); sp is the backend's own object. */
struct spool_ops {
    const char *name;           /* as spool_open_backend takes it: "sqlite" */
    struct spool *(*open)(const char *where, char *err, size_t errlen);
    void (*close)(struct spool *sp);
    int (*commit_begin)(struct spool *sp);
    int (*commit_fd)(const struct spool *sp);
    int (*commit_end)(struct spool *sp, char *err, size_t errlen);
    int (*lost)(struct spool *sp, char *err, size_t errlen);
    size_t (*uncommitted)(const struct spool *sp);
    int (*put)(struct spool *sp, const char *uuid, const char *submission_id,
               const char *service, const void *body, size_t len, char *err, size_t errlen);
    int (*finish)(struct spool *sp, const char *uuid, int status, const void *reply, size_t len,
                  uint64_t reply_seq, char *err, size_t errlen);
    int (*get)(struct spool *sp, const char *uuid, void **reply, size_t *len);
    int (*close_job)(struct spool *sp, const char *uuid, char *err, size_t errlen);
    int (*attempt)(struct spool *sp, const char *uuid, char *err, size_t errlen);
    int (*bury)(struct spool *sp, const char *uuid, const char *reason, char *err,
                size_t errlen);
    int (*retry)(struct spool *sp, const char *uuid, char *err, size_t errlen);
    long (*pending_after)(struct spool *sp, int64_t after, size_t limit, spool_job_fn *fn,
                          void *arg);
    int64_t (*last_rowid)(const struct spool *sp);
    int (*each_dead)(struct spool *sp, spool_dead_fn *fn, void *arg);
    int (*dead_get)(struct spool *sp, const char *uuid, spool_dead_fn *fn, void *arg);
    uint64_t (*log)(struct spool *sp, const char *topic, const void *body, size_t len,
                    char *err, size_t errlen);
    int (*replay)(struct spool *sp, uint64_t from, uint64_t to, size_t limit, spool_msg_fn *fn,
                  void *arg);
    uint64_t (*last_seq)(const struct spool *sp);
    long (*count)(struct spool *sp, int state);
    int (*history_put)(struct spool *sp, const char *body_key, unsigned year,
                       const char *submission_id, const void *report, size_t len, char *err,
                       size_t errlen);
    int (*history_get)(struct spool *sp, const char *body_key, unsigned year, void **report,
                       size_t *len);
    /* Retention: the policy (which kinds, their cut-offs, the row budget) is
     * spool.c's spool_prune; a backend deletes. prune_begin joins the open
     * batch for what follows (one write, as any other call); prune_kind
     * removes at most limit rows of kind older than cutoff (Unix seconds; for
     * history a report year), the publication log from its start only, what
     * goes with them (a Result no longer referred to, a dead letter's body)
     * beside; never a pending job. Rows removed, or -1 with err. */
    int (*prune_begin)(struct spool *sp, char *err, size_t errlen);
    long (*prune_kind)(struct spool *sp, enum spool_kind kind, int64_t cutoff, size_t limit,
                       char *err, size_t errlen);
    uint64_t (*first_seq)(struct spool *sp);
    int64_t (*oldest)(struct spool *sp, enum spool_kind kind);
    /* Several brokers on one store; NULL in a backend of one broker (SQLite):
     * it always leads, claims nothing, has no wake-up descriptor. */
    int (*lead)(struct spool *sp, uint64_t *epoch, char *err, size_t errlen);
    long (*claim)(struct spool *sp, size_t limit, int poll, char *err, size_t errlen);
    int (*wake_fd)(const struct spool *sp);
    /* spool_check, with where as open takes it; NULL: nothing to check. */
    int (*check)(const char *where, char *err, size_t errlen);
    /* Optional (NULL: a backend without a server, always up; its size is
     * its file's, measured by the caller). */
    void (*link)(struct spool *sp, struct spool_link *l);
    int64_t (*size)(struct spool *sp);
};

/* 1 when a publication of topic carries a Result (result.*): a backend keeps
 * its bytes once, as the Result that spool_finish's reply_seq refers to. */
int spool_topic_is_result(const char *topic);

/* The "commit is over" eventfd both backends hand to the broker's poll
 * (commit_fd): store_done_signal posts one completion, store_done_wait takes
 * it (blocking, through EINTR). Either aborts on an eventfd failure, which
 * is only a bug of ours (overflow, a bad fd). */
void store_done_signal(int fd);
void store_done_wait(int fd);

/* The SQLite backend (store_sqlite.c). */
extern const struct spool_ops store_sqlite;
/* The PostgreSQL backend (store_pg.c): where is a libpq connection string. */
extern const struct spool_ops store_pg;

#endif
