/* pglink: connections to PostgreSQL for store_pg, and making one again after
 * it broke. A reconnection runs in its own thread — a blocking connect that
 * tries each host of the DSN for up to connect_timeout, then a check that
 * the database is reportd's and writable —, so the broker's loop, which
 * takes the connection over when it is made (pglink_take), never waits for
 * a server that is not there. Attempts are spaced PGLINK_FIRST_MS, doubling
 * to PGLINK_CAP_MS; pglink_stop wakes the thread out of its wait. */
#include "broker/pglink.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"

struct pglink {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;        /* on CLOCK_MONOTONIC: stop wakes the back-off */
    const char *dsn;            /* borrowed */
    long layout;
    int stop;                   /* under lock */
    PGconn *made;               /* under lock: a connection that passed the check */
    uint64_t seq;               /* under lock: reportd_meta's seq, read with made */
    char why[300];              /* under lock: the last attempt's error, one line */
    unsigned attempts;          /* under lock */
};

/* libpq prints the server's notices (a WARNING at shutdown) on stderr;
 * what matters comes back as errors, in reportd's own lines */
static void quiet(void *arg, const char *message)
{
    (void)arg, (void)message;
}

PGconn *pglink_connect(const char *dsn)
{
    /* before dbname, which expands dsn: what dsn says overrides these */
    static const char *const keys[] = {
        "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout", "dbname", NULL};
    const char *values[] = {"3", "1", "10", "3", "3", "10000", dsn, NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

int pglink_broken(const PGconn *c, const PGresult *r)
{
    if (PQstatus(c) == CONNECTION_BAD)
        return 1;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (!state)
        return 0;
    return strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
           strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0 ||
           strcmp(state, "25006") == 0;
}

void pglink_one_line(char *out, size_t outlen, const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p && n + 4 < outlen; p++) {
        if (*p != '\n') {
            out[n++] = *p == '\t' ? ' ' : *p;
        } else if (p[1]) {     /* libpq: a line per host tried */
            memcpy(out + n, " / ", 3);
            n += 3;
        }
    }
    if (outlen)
        out[n < outlen ? n : outlen - 1] = '\0';
}

/* 0 when c is connected to a writable database holding layout, with *seq;
 * -1 with why otherwise. */
static int check(PGconn *c, long layout, uint64_t *seq, char *why, size_t whylen)
{
    if (PQstatus(c) != CONNECTION_OK) {
        pglink_one_line(why, whylen, PQerrorMessage(c));
        return -1;
    }
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    PGresult *r = PQexec(c, "SELECT (SELECT value FROM reportd_meta WHERE key = 'layout'),"
                         " (SELECT value FROM reportd_meta WHERE key = 'seq'),"
                         " pg_is_in_recovery()");
    int rc = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        char msg[240];
        pglink_one_line(msg, sizeof msg, PQerrorMessage(c));
        snprintf(why, whylen, "database %s: reading reportd_meta: %s", PQdb(c), msg);
    } else if (PQgetisnull(r, 0, 0) || atol(PQgetvalue(r, 0, 0)) != layout) {
        snprintf(why, whylen, "database %s holds layout %s, not %ld: not the database reportd "
                 "opened", PQdb(c), PQgetisnull(r, 0, 0) ? "(none)" : PQgetvalue(r, 0, 0), layout);
    } else if (PQgetvalue(r, 0, 2)[0] == 't') {
        snprintf(why, whylen, "server %s:%s is a standby (read-only): waiting for a primary",
                 PQhost(c), PQport(c));
    } else {
        *seq = PQgetisnull(r, 0, 1) ? 0 : strtoull(PQgetvalue(r, 0, 1), NULL, 10);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

/* Wait ms on l->cond (l->lock held); 1 when told to stop. */
static int pause_ms(struct pglink *l, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!l->stop && pthread_cond_timedwait(&l->cond, &l->lock, &until) == 0)
        ;
    return l->stop;
}

static void *relink(void *arg)
{
    struct pglink *l = arg;
    int delay = PGLINK_FIRST_MS;
    pthread_mutex_lock(&l->lock);
    while (!pause_ms(l, delay)) {
        pthread_mutex_unlock(&l->lock);
        PGconn *c = pglink_connect(l->dsn);
        char why[sizeof l->why];
        uint64_t seq = 0;
        int ok = check(c, l->layout, &seq, why, sizeof why) == 0;
        pthread_mutex_lock(&l->lock);
        l->attempts++;
        if (ok) {
            l->made = c;
            l->seq = seq;
            break;
        }
        memcpy(l->why, why, sizeof why);
        PQfinish(c);
        delay = delay * 2 < PGLINK_CAP_MS ? delay * 2 : PGLINK_CAP_MS;
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

struct pglink *pglink_start(const char *dsn, long layout)
{
    struct pglink *l = xcalloc(1, sizeof *l);
    l->dsn = dsn;
    l->layout = layout;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&l->lock, NULL);
    if (pthread_create(&l->thread, NULL, relink, l) != 0) {
        pthread_cond_destroy(&l->cond);
        pthread_mutex_destroy(&l->lock);
        free(l);
        return NULL;
    }
    return l;
}

PGconn *pglink_take(struct pglink *l, uint64_t *seq, char *why, size_t whylen)
{
    pthread_mutex_lock(&l->lock);
    PGconn *c = l->made;
    l->made = NULL;
    *seq = l->seq;
    snprintf(why, whylen, "%s", l->why);
    pthread_mutex_unlock(&l->lock);
    return c;
}

unsigned pglink_attempts(struct pglink *l)
{
    pthread_mutex_lock(&l->lock);
    unsigned n = l->attempts;
    pthread_mutex_unlock(&l->lock);
    return n;
}

void pglink_stop(struct pglink **lp)
{
    struct pglink *l = lp ? *lp : NULL;
    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    l->stop = 1;
    pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->thread, NULL);
    PQfinish(l->made);
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->lock);
    free(l);
    *lp = NULL;
}
