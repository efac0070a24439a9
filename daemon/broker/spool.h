/* spool: the broker's durable store — Titanic jobs, their replies, dead
 * letters, and the log of published messages with sequence numbers. Writes
 * join one open batch; spool_commit makes the batch durable (fsync) in one
 * go. Single-threaded: one broker owns a spool. The interface of every
 * backend (store.h); nothing of a backend's library shows here. */
#ifndef REPORTD_SPOOL_H
#define REPORTD_SPOOL_H

#include <stddef.h>
#include <stdint.h>

enum spool_state { SPOOL_PENDING = 0, SPOOL_DONE = 1, SPOOL_DEAD = 2, SPOOL_CLOSED = 3 };

struct spool;

/* Open or create the spool at path with the default backend (SQLite, a file).
 * NULL with err. */
struct spool *spool_open(const char *path, char *err, size_t errlen);
/* The same with the backend named (one of spool_backends); where is what that
 * backend opens (SQLite: a file). NULL with err, also for an unknown name. */
struct spool *spool_open_backend(const char *backend, const char *where, char *err,
                                 size_t errlen);
/* The backends built in, NULL-terminated: the default first. */
extern const char *const spool_backends[];
/* Commits what is pending, then closes. NULL-safe. */
void spool_close(struct spool **sp);

/* Make every write since the last commit durable. Returns 0, or -1 with err
 * (the batch is rolled back then: nothing in it may be acknowledged). Fails
 * once the spool is lost (spool_lost). Waits: spool_commit_begin + _end. */
int spool_commit(struct spool *sp, char *err, size_t errlen);
/* The same off the caller's thread: hand the open batch to the store's
 * writer and return at once — 1 when a commit started, 0 when nothing was
 * written. Until spool_commit_end the caller makes no other spool call but
 * spool_commit_fd (the connection is the writer's meanwhile). */
int spool_commit_begin(struct spool *sp);
/* A descriptor that polls readable once the commit begun is over. */
int spool_commit_fd(const struct spool *sp);
/* Wait for the commit begun (if it is not over) and take its outcome, as
 * spool_commit's: 0 durable, or -1 with err and the batch rolled back. */
int spool_commit_end(struct spool *sp, char *err, size_t errlen);
/* 1 (and why in err) when the file opened, or its WAL, was deleted or
 * replaced since (`rm spool.db*`): what is written to it then is gone at the
 * next start. Sticky. 0 otherwise. */
int spool_lost(struct spool *sp, char *err, size_t errlen);
/* Writes waiting for spool_commit. */
size_t spool_uncommitted(const struct spool *sp);

/* Store a new pending job. Returns 1 when stored — new, or a closed job of the
 * same UUID reopened as new (attempts 0, the old reply gone, at the end of the
 * line: a new rowid) —, 0 when the
 * UUID is open (pending, done, dead: no second job), -1 with err. The spool
 * copies body. */
int spool_put(struct spool *sp, const char *uuid, const char *submission_id,
              const char *service, const void *body, size_t len, char *err, size_t errlen);

/* Record the reply of a pending job: the bytes, or — when it was published —
 * reply_seq, the sequence number of its result.* publication (the bytes are
 * then not stored twice: the job and the log refer to one stored Result,
 * which stays while either does). Returns 1 when the job went from pending to done, 0 when it
 * was not pending (already done, dead, closed, unknown), -1 with err. */
int spool_finish(struct spool *sp, const char *uuid, int status, const void *reply,
                 size_t len, uint64_t reply_seq, char *err, size_t errlen);

/* Look a job up. Returns its state, or -1 when unknown. With reply non-NULL and
 * state DONE, *reply gets a malloc'd copy (caller frees) and *len its size. */
int spool_get(struct spool *sp, const char *uuid, void **reply, size_t *len);

/* titanic.close: drop body and reply, keep a tombstone so the same submission
 * id is still recognised. Returns 0 or -1. */
int spool_close_job(struct spool *sp, const char *uuid, char *err, size_t errlen);

/* Count one failed attempt (a worker died holding the job); returns the new
 * attempt count, or -1. */
int spool_attempt(struct spool *sp, const char *uuid, char *err, size_t errlen);
/* Move a job to the dead letters with a reason. Returns 0 or -1. */
int spool_bury(struct spool *sp, const char *uuid, const char *reason, char *err,
               size_t errlen);
/* Dead letter back to pending with attempts 0, at the end of the line (a new
 * rowid). Returns 1 if it was dead, 0 if not, -1 on error. */
int spool_retry(struct spool *sp, const char *uuid, char *err, size_t errlen);

/* Call fn for at most limit pending jobs whose rowid (their order of arrival)
 * is above after, in that order. Returns how many, or -1. */
typedef void spool_job_fn(void *arg, int64_t rowid, const char *uuid, const char *service,
                          const void *body, size_t len);
long spool_pending_after(struct spool *sp, int64_t after, size_t limit, spool_job_fn *fn,
                         void *arg);
/* The rowid of the job the last spool_put stored (new or reopened). */
int64_t spool_last_rowid(const struct spool *sp);

/* A dead letter, as listed. Strings borrowed for the callback's duration. */
struct spool_dead {
    const char *uuid;
    const char *submission_id;
    const char *reason;
    int attempts;
    int64_t updated_at;         /* Unix seconds */
    const char *service;        /* only from spool_dead_get */
    const void *body;           /* raw request bytes (only from spool_dead_get) */
    size_t len;
};
typedef void spool_dead_fn(void *arg, const struct spool_dead *d);
int spool_each_dead(struct spool *sp, spool_dead_fn *fn, void *arg);
/* One dead letter with its body. Returns 1 found, 0 not, -1 error. */
int spool_dead_get(struct spool *sp, const char *uuid, spool_dead_fn *fn, void *arg);

/* Append a published message; returns its sequence number (> 0), or 0 with err.
 * Sequence numbers rise by one per message and survive restarts. A result.*
 * message's bytes are stored as a Result the log refers to (spool_finish). */
uint64_t spool_log(struct spool *sp, const char *topic, const void *body, size_t len,
                   char *err, size_t errlen);
/* Committed messages with from <= seq (at most limit), oldest first. */
typedef int spool_msg_fn(void *arg, uint64_t seq, const char *topic, const void *body,
                         size_t len);
int spool_replay(struct spool *sp, uint64_t from, uint64_t to, size_t limit, spool_msg_fn *fn,
                 void *arg);
/* The highest committed sequence number (0: none yet). */
uint64_t spool_last_seq(const struct spool *sp);

/* Count jobs in a state (for tests and status). */
long spool_count(struct spool *sp, int state);

/* History (issue 13): a body's latest accepted report of a year, a packed
 * Report, under (body_key — checker_body_key —, year). Put joins the open
 * batch and replaces what that year held; submission_id (may be NULL) says
 * where it came from. Returns 0 or -1 with err. */
int spool_history_put(struct spool *sp, const char *body_key, unsigned year,
                      const char *submission_id, const void *report, size_t len, char *err,
                      size_t errlen);
/* Returns 1 with *report (malloc'd, caller frees) and *len, 0 when the store
 * holds no report of that body and year, -1 on error. */
int spool_history_get(struct spool *sp, const char *body_key, unsigned year, void **report,
                      size_t *len);

/* Retention (issue 10): how long what is over stays; 0 keeps it forever.
 * closed_days: done and closed Titanic jobs (their Result, their tombstone)
 * since their last change; published_days: the publication log, from the
 * oldest on (a done job's Result stays with the job, the log cut or not);
 * dead_days: dead letters since buried; history_years: the history of
 * previous years, by report year. A pending job is never removed. */
struct spool_retention {
    unsigned closed_days, published_days, dead_days, history_years;
};
/* Remove at most max_rows of what the rules let go, as of now (Unix
 * seconds), joining the open batch. Returns the rows removed (0: nothing
 * more to do now), or -1 with err. Small steps: call it again later. */
long spool_prune(struct spool *sp, int64_t now, const struct spool_retention *rules,
                 size_t max_rows, char *err, size_t errlen);
/* The lowest committed sequence number still in the publication log (0:
 * none): what is below it and not above spool_last_seq was removed. */
uint64_t spool_first_seq(struct spool *sp);
/* What spool_oldest tells about. */
enum spool_kind { SPOOL_KIND_JOB, SPOOL_KIND_PUBLISHED, SPOOL_KIND_DEAD, SPOOL_KIND_HISTORY };
/* The Unix time of the oldest retained item of a kind (jobs: done or closed,
 * by last change; history: by when it was stored), 0 when there is none, -1
 * on error. */
int64_t spool_oldest(struct spool *sp, enum spool_kind kind);

/* Several brokers on one store (PostgreSQL; issue 11). One leads: it alone
 * hands out pending jobs, records Results, dead letters and history, prunes
 * and publishes, each batch fenced on its epoch. The others are standby:
 * spool_put stores a job outside the line (the leader claims it),
 * spool_close_job and spool_retry work, every read works; the leader-only
 * writes fail. A spool never asked (tests, tools) writes as the only broker;
 * a backend of one broker (SQLite) always leads, epoch 0.
 * Try to lead, or go on leading: call when nothing is uncommitted, at start and
 * every spool.lead_poll_ms. Returns 1 leading, 0 standby (also after a write
 * found the epoch gone: the caller steps down), -1 with err; *epoch: the
 * leader's epoch as last seen (this broker's while it leads). */
int spool_lead(struct spool *sp, uint64_t *epoch, char *err, size_t errlen);
/* The leader: put at most limit jobs other brokers accepted in line, at its
 * end in order of arrival, joining the open batch (after the commit
 * spool_pending_after reads them). Without poll only when a standby said so
 * (spool_wake_fd). Returns how many, 0, or -1 with err. */
long spool_claim(struct spool *sp, size_t limit, int poll, char *err, size_t errlen);
/* A descriptor that polls readable when a standby stored a job (the leader
 * then calls spool_claim); -1 when there is none. It may change: ask again. */
int spool_wake_fd(const struct spool *sp);
/* The store's connection to its database server (issue 11, item 4). A
 * backend without a server (SQLite) is always up. */
struct spool_link {
    int up;                     /* 0: the connection broke; it is being made again */
    uint64_t reconnects;        /* connections made again so far */
    int64_t down_ms;            /* monotonic ms it went down (up: of the last outage) */
    char why[400];              /* down: the error that took it down; the last attempt's */
};
/* Fill l. While down every call fails (a write with err, a read with -1)
 * and a thread of the backend reconnects with back-off; a connection made
 * again is taken over here, and only while no batch is open (nothing
 * uncommitted, no commit begun; a batch the old connection held fails its
 * commit): a caller sees reconnects rise then, and reads what it holds from
 * the store again — a commit that broke midway may have gone through. */
void spool_link(struct spool *sp, struct spool_link *l);
/* Bytes the store's data takes in its server (PostgreSQL: reportd's tables
 * with their indexes and TOAST), -1 when the backend measures none (SQLite:
 * the caller measures the file) or cannot now. */
int64_t spool_size(struct spool *sp);

/* Whether a broker could use the store where names, changing nothing
 * (reportd --check-config, and before a start): 0, or a sysexits code with
 * one line in err naming the server (never a password) and the reason — 69
 * unreachable, 77 refused (authentication, or a role that may not create or
 * write reportd's tables), 78 unusable (a malformed DSN, no such database,
 * tables not made by reportd, no layout row, a newer reportd's layout). */
int spool_check(const char *backend, const char *where, char *err, size_t errlen);

#endif
