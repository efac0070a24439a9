/* pglink: store_pg's connections to PostgreSQL — made with reportd's
 * defaults for noticing a dead server (the DSN may override each), told
 * apart when broken, and made again in a thread with back-off after one
 * broke, so the broker's loop never waits for a server that is not there.
 * Only store_pg.c includes this (it is the one file that speaks libpq). */
#ifndef REPORTD_PGLINK_H
#define REPORTD_PGLINK_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* Back-off between attempts: the first after PGLINK_FIRST_MS, doubling up to
 * PGLINK_CAP_MS. */
#define PGLINK_FIRST_MS 100
#define PGLINK_CAP_MS 5000

/* Connect (blocking, at most connect_timeout per host) with dsn — a
 * connection string, a URI, or "" for libpq's PG* variables — over
 * reportd's defaults: connect_timeout=3, keepalives (idle 10 s, interval
 * 3 s, count 3), tcp_user_timeout=10000 ms. Never NULL; check PQstatus. */
PGconn *pglink_connect(const char *dsn);

/* 1 when r's failure (r may be NULL) means the connection is gone or no
 * longer fit for writes — CONNECTION_BAD, SQLSTATE class 08, 57P01..57P03
 * (shutdown), 25006 (a read-only server: a standby) —, 0 for an error of
 * the statement itself. */
int pglink_broken(const PGconn *c, const PGresult *r);

/* libpq's error text on one line (a line per host joined by " / ") into out. */
void pglink_one_line(char *out, size_t outlen, const char *text);

/* Start making a connection again in a thread: attempts after the back-off,
 * each connecting with dsn (borrowed: it must outlive the pglink) and
 * checking that the database holds reportd's layout `layout` (never
 * creating it). NULL only when the thread cannot start. */
struct pglink *pglink_start(const char *dsn, long layout);
/* The connection once one was made (the thread is over then; *seq gets
 * reportd_meta's seq), else NULL with the last attempt's error in why
 * ("" before the first). Does not wait. */
PGconn *pglink_take(struct pglink *l, uint64_t *seq, char *why, size_t whylen);
/* Attempts so far. */
unsigned pglink_attempts(struct pglink *l);
/* Stop the thread (waits for an attempt in progress) and free. NULL-safe. */
void pglink_stop(struct pglink **lp);

#endif
