/* store_pg_layout: reportd's tables in PostgreSQL — made in an empty
 * database, migrated from layout 1, a database not reportd's (or from a newer
 * reportd) refused — and reportd --check-config's look at a connection
 * string: connect, read the layout, make or migrate and write the tables in
 * a transaction rolled back, changing nothing. */
#include "broker/store_pg_private.h"

#include <string.h>

#include "base/util.h"
#include "broker/pglink.h"

#define LAYOUT_LOCK "7020597246031873"  /* held while the tables are made or migrated */

static const char schema[] =
    "CREATE TABLE reportd_meta(key text PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE job("
    " pos bigint NOT NULL, uuid text PRIMARY KEY, submission_id text, service text NOT NULL,"
    " state integer NOT NULL, attempts integer NOT NULL DEFAULT 0,"
    " reply bytea, status integer, reason text,"
    " created_at bigint NOT NULL, updated_at bigint NOT NULL, reply_seq bigint);"
    "CREATE INDEX job_state_pos ON job(state, pos);"
    "CREATE INDEX job_reply_seq ON job(reply_seq) WHERE state = 1;"
    "CREATE TABLE body(uuid text PRIMARY KEY, data bytea NOT NULL);"
    "CREATE TABLE published(seq bigint PRIMARY KEY, topic text NOT NULL, body bytea NOT NULL,"
    " at bigint NOT NULL);"
    "CREATE TABLE history("
    " body_key text NOT NULL, year integer NOT NULL, report bytea NOT NULL,"
    " submission_id text, updated_at bigint NOT NULL, PRIMARY KEY(body_key, year));"
    "CREATE TABLE result(seq bigint PRIMARY KEY, data bytea NOT NULL);"
    "INSERT INTO reportd_meta VALUES ('layout', '2'), ('seq', '0');";

/* Layout 1 kept a published Result as its publication's body: moved to
 * result, as store_sqlite.c's migrate_1. */
static const char migrate_1[] =
    "CREATE TABLE result(seq bigint PRIMARY KEY, data bytea NOT NULL);"
    "INSERT INTO result(seq, data) SELECT seq, body FROM published WHERE topic LIKE 'result.%';"
    "UPDATE published SET body = '' WHERE topic LIKE 'result.%';"
    "UPDATE job SET reply_seq = NULL WHERE state <> 1;"
    "UPDATE reportd_meta SET value = '2' WHERE key = 'layout';";

/* Run several statements (not PQexecParams) in one transaction; 0, or -1
 * with err saying what was being done. */
static int exec_tx(struct spool *sp, const char *sql, const char *what, char *err,
                   size_t errlen)
{
    PGresult *r = store_pg_run(sp, "BEGIN", NULL);
    if (!r)
        return store_pg_dberr(sp, err, errlen, "begin");
    PQclear(r);
    r = PQexec(sp->db, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        PQclear(r);
        store_pg_dberr(sp, err, errlen, what);
        PQclear(PQexec(sp->db, "ROLLBACK"));
        return -1;
    }
    PQclear(r);
    if (!(r = store_pg_run(sp, "COMMIT", NULL)))
        return store_pg_dberr(sp, err, errlen, what);
    PQclear(r);
    return 0;
}

/* Which layout the database holds: *version 0 when it has no reportd_meta
 * (empty: reportd makes its tables), else the layout row's. -1 with err when
 * it cannot be used: a table job without reportd_meta (not reportd's), no
 * layout row, or a layout from a newer reportd. */
static int read_layout(struct spool *sp, long *version, char *err, size_t errlen)
{
    PGresult *r = store_pg_run(sp, "SELECT to_regclass('reportd_meta') IS NOT NULL,"
                               " to_regclass('job') IS NOT NULL", NULL);
    if (!r)
        return store_pg_dberr(sp, err, errlen, "reading the schema");
    int meta = PQgetvalue(r, 0, 0)[0] == 't', job = PQgetvalue(r, 0, 1)[0] == 't';
    PQclear(r);
    *version = 0;
    if (!meta && job)
        return errf(err, errlen, "spool: postgresql database %s: holds a table job but no "
                    "reportd_meta: not made by reportd; use another database", PQdb(sp->db));
    if (!meta)
        return 0;
    if (!(r = store_pg_run(sp, "SELECT value FROM reportd_meta WHERE key = 'layout'", NULL)))
        return store_pg_dberr(sp, err, errlen, "reading reportd_meta");
    int found = PQntuples(r) == 1;
    *version = found ? atol(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    if (!found)
        return errf(err, errlen, "spool: postgresql database %s: reportd_meta has no layout "
                    "row: not written by reportd, or damaged; use another database",
                    PQdb(sp->db));
    if (*version < 1 || *version > STORE_PG_LAYOUT)
        return errf(err, errlen, "spool: postgresql database %s: layout %ld, written by a newer "
                    "reportd (this one reads layouts 1 to %d): use that reportd, or another "
                    "database", PQdb(sp->db), *version, STORE_PG_LAYOUT);
    return 0;
}

/* Bring the database to LAYOUT: an empty one gets the schema, layout 1 is
 * migrated (each in one transaction); a newer layout is refused. Brokers
 * starting together on one database take turns (an advisory lock), so one
 * makes the tables and the others find them. 0, or -1 with err. */
int store_pg_layout(struct spool *sp, char *err, size_t errlen)
{
    PQclear(PQexec(sp->db, "SELECT pg_advisory_lock(" LAYOUT_LOCK ")"));
    long version;
    int rc = read_layout(sp, &version, err, errlen);
    if (rc == 0 && version == 0)
        rc = exec_tx(sp, schema, "creating layout 2", err, errlen);
    else if (rc == 0 && version == 1)
        rc = exec_tx(sp, migrate_1, "migrating to layout 2", err, errlen);
    PQclear(PQexec(sp->db, "SELECT pg_advisory_unlock(" LAYOUT_LOCK ")"));
    return rc;
}

/* reportd --check-config (and the start): connect as the broker would and
 * find out whether it could work, changing nothing — the tables made (or
 * migrated) and written once inside a transaction that is rolled back. One
 * line in err naming the server (never a password) and the reason. */
static const char *const probes[] = {
    "INSERT INTO reportd_meta VALUES ('reportd --check-config', '')",
    "UPDATE job SET pos = pos WHERE false", "DELETE FROM job WHERE false",
    "INSERT INTO body SELECT * FROM body WHERE false", "DELETE FROM body WHERE false",
    "INSERT INTO published SELECT * FROM published WHERE false",
    "DELETE FROM published WHERE false",
    "INSERT INTO history SELECT * FROM history WHERE false",
    "DELETE FROM history WHERE false",
    "INSERT INTO result SELECT * FROM result WHERE false", "DELETE FROM result WHERE false",
    NULL};

/* The first line of libpq's message, without "ERROR:  "/"FATAL:  ". */
static const char *first_line(PGconn *db, char *buf, size_t len)
{
    const char *m = PQerrorMessage(db);
    for (const char *pre = strstr(m, "FATAL:  "); pre; pre = NULL)
        m = pre + 8;
    if (!strncmp(m, "ERROR:  ", 8))
        m += 8;
    snprintf(buf, len, "%s", m);
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

/* One statement of check_writes: 0, or the sysexits code with err. */
static int check_one(struct spool *sp, const char *q, const char *doing, const char *who,
                     char *err, size_t errlen)
{
    char msg[300];
    PGresult *r = PQexec(sp->db, q);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    const char *state = ok ? NULL : PQresultErrorField(r, PG_DIAG_SQLSTATE);
    int denied = state && !strcmp(state, "42501");
    PQclear(r);
    if (ok)
        return 0;
    errf(err, errlen, "spool: postgresql %s: %s %s: %s", who, denied ? "may not" : "cannot",
         doing, first_line(sp->db, msg, sizeof msg));
    return denied ? 77 : PQstatus(sp->db) == CONNECTION_OK ? 78 : 69;
}

/* The tables made or migrated, and each written, in a transaction rolled
 * back: 0, or the sysexits code with err. */
static int check_writes(struct spool *sp, long version, const char *who, char *err,
                        size_t errlen)
{
    int rc = check_one(sp, "BEGIN", "begin", who, err, errlen);
    if (!rc && version == 0)
        rc = check_one(sp, schema, "create reportd's tables", who, err, errlen);
    else if (!rc && version == 1)
        rc = check_one(sp, migrate_1, "migrate reportd's tables to layout 2", who, err, errlen);
    for (size_t i = 0; !rc && probes[i]; i++)
        rc = check_one(sp, probes[i], "write reportd's tables", who, err, errlen);
    PQclear(PQexec(sp->db, "ROLLBACK"));
    return rc;
}

int store_pg_check(const char *dsn, char *err, size_t errlen)
{
    char *perr = NULL, msg[300], who[400];
    PQconninfoOption *opts = PQconninfoParse(dsn, &perr);
    if (!opts) {
        errf(err, errlen, "spool.dsn: %.*s", (int)strcspn(perr ? perr : "unreadable", "\n"),
             perr ? perr : "unreadable");
        PQfreemem(perr);
        return 78;
    }
    PQconninfoFree(opts);
    struct spool sp = {.db = pglink_connect(dsn)};   /* reportd's timeouts, as the start */
    if (!sp.db)
        return errf(err, errlen, "spool: postgresql: out of memory"), 69;
    snprintf(who, sizeof who, "host=%s port=%s dbname=%s user=%s", PQhost(sp.db),
             PQport(sp.db), PQdb(sp.db), PQuser(sp.db));
    int rc = 0;
    if (PQstatus(sp.db) != CONNECTION_OK) {
        first_line(sp.db, msg, sizeof msg);
        int auth = strstr(msg, "authentication failed") || strstr(msg, "pg_hba.conf") ||
                   strstr(msg, "no password supplied") ||
                   (strstr(msg, "role \"") && strstr(msg, "does not exist"));
        int nodb = strstr(msg, "database \"") && strstr(msg, "does not exist");
        int bad = !strncmp(msg, "invalid ", 8);     /* a value libpq does not take */
        rc = auth ? 77 : nodb || bad ? 78 : 69;
        errf(err, errlen, "spool: postgresql %s: %s: %s", who,
             auth ? "refused: authentication" : nodb ? "no such database"
             : bad ? "spool.dsn" : "cannot connect", msg);
    } else {
        PQclear(PQexec(sp.db, "SET client_min_messages = warning"));
        long version;
        char why[400];
        if (read_layout(&sp, &version, why, sizeof why) != 0) {
            /* "spool: postgresql database D: …" → with the server named */
            const char *rest = strstr(why, ": ");
            rest = rest ? strstr(rest + 2, ": ") : NULL;
            const char *denied = strstr(why, "permission denied");
            if (denied)
                errf(err, errlen, "spool: postgresql %s: may not read reportd's tables: %s", who,
                     denied);
            else
                errf(err, errlen, "spool: postgresql %s: %s", who, rest ? rest + 2 : why);
            rc = denied ? 77 : PQstatus(sp.db) == CONNECTION_OK ? 78 : 69;
        } else {
            rc = check_writes(&sp, version, who, err, errlen);
        }
    }
    PQfinish(sp.db);
    return rc;
}
