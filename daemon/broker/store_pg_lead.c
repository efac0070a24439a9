/* store_pg_lead: several brokers on one PostgreSQL database (spool_lead,
 * spool_claim). The one holding the advisory lock LEAD_LOCK leads and raises
 * reportd_meta('leader_epoch'); its batches are fenced on that epoch, so a
 * broker that lost the lead (cut off, reconnected) writes nothing more. A
 * standby stores jobs outside the line (pos 0) and NOTIFYs reportd_jobs; the
 * leader LISTENs and claims them to the end of its line. */
#include "broker/store_pg_private.h"

#include "base/util.h"

#define LEAD_LOCK "7020597246031872"    /* "reportd" in some bits: one per database */

/* Several brokers on one database. The leader's write transactions are
 * fenced: the first statement after BEGIN reads leader_epoch FOR SHARE, so a
 * broker whose epoch is gone (another took the lead while it was cut off and
 * reconnected) rolls back before writing anything, and a new leader's raise
 * of the epoch waits for the batch that holds the row. 0, or -1 with err
 * (rolled back: nothing of this batch exists). */
int store_pg_fence(struct spool *sp, char *err, size_t errlen)
{
    if (sp->role != STORE_PG_LEADER)
        return 0;
    PGresult *r = store_pg_run(sp, "SELECT value::bigint FROM reportd_meta WHERE key ="
                               " 'leader_epoch' FOR SHARE", NULL);
    uint64_t now_epoch = r && PQntuples(r) == 1 ? (uint64_t)cell_int(r, 0, 0) : 0;
    if (!r)
        store_pg_dberr(sp, err, errlen, "leader_epoch");
    else if (now_epoch != sp->epoch)
        errf(err, errlen, "spool: postgresql: no longer the leader: leader_epoch is %llu, this "
             "broker led epoch %llu: nothing written, stepping down",
             (unsigned long long)now_epoch, (unsigned long long)sp->epoch);
    PQclear(r);
    if (r && now_epoch == sp->epoch)
        return 0;
    PQclear(PQexec(sp->db, "ROLLBACK"));
    sp->in_tx = 0;
    sp->deposed = 1;
    return -1;
}

/* What only the leader writes (Results, publications, attempts, dead
 * letters, history, retention): refused by a standby or a deposed leader. */
int store_pg_leader_only(struct spool *sp, char *err, size_t errlen, const char *what)
{
    if (sp->role == STORE_PG_ALONE || (sp->role == STORE_PG_LEADER && !sp->deposed))
        return 0;
    errf(err, errlen, "spool: postgresql: %s is written by the leader only; this broker is "
         "standby", what);
    return -1;
}

/* A standby's new pending job: wake the leader (LISTEN reportd_jobs) once
 * the transaction commits. 0, or -1. */
int store_pg_notify_leader(struct spool *sp)
{
    if (sp->role != STORE_PG_STANDBY)
        return 0;
    return store_pg_run_changes(sp, "NOTIFY reportd_jobs", NULL) < 0 ? -1 : 0;
}

/* The leader's epoch and the committed sequence as the database has them now. */
int store_pg_read_meta(struct spool *sp, char *err, size_t errlen)
{
    PGresult *r = store_pg_run(sp, "SELECT (SELECT value::bigint FROM reportd_meta WHERE key ="
                               " 'leader_epoch'), (SELECT value::bigint FROM reportd_meta WHERE key"
                               " = 'seq')", NULL);
    if (!r)
        return err ? store_pg_dberr(sp, err, errlen, "reading reportd_meta") : -1;
    sp->epoch = (uint64_t)cell_int(r, 0, 0);
    sp->committed_seq = sp->last_seq = (uint64_t)cell_int(r, 0, 1);
    PQclear(r);
    return 0;
}

int store_pg_lead(struct spool *sp, uint64_t *epoch, char *err, size_t errlen)
{
    int same = PQstatus(sp->db) == CONNECTION_OK && PQbackendPID(sp->db) == sp->lock_pid;
    if (sp->role == STORE_PG_LEADER && same && !sp->deposed) {
        *epoch = sp->epoch;
        return 1;
    }
    if (sp->role == STORE_PG_LEADER) {      /* deposed, or the session that held the lock is gone */
        if (same)
            PQclear(PQexec(sp->db, "UNLISTEN *; SELECT pg_advisory_unlock(" LEAD_LOCK ")"));
        sp->role = STORE_PG_STANDBY;
        sp->deposed = 0;
        sp->lock_pid = 0;
        if (PQstatus(sp->db) == CONNECTION_OK)
            store_pg_read_meta(sp, NULL, 0);     /* whose epoch it is now */
        *epoch = sp->epoch;
        return 0;
    }
    sp->role = STORE_PG_STANDBY;
    *epoch = sp->epoch;
    if (sp->in_tx || sp->busy)          /* a standby's batch is open: try next time */
        return 0;
    PGresult *r = store_pg_run(sp, "SELECT pg_try_advisory_lock(" LEAD_LOCK ")", NULL);
    if (!r)
        return store_pg_dberr(sp, err, errlen, "trying the leader's lock");
    int got = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!got) {
        if (store_pg_read_meta(sp, err, errlen) != 0)
            return -1;
        *epoch = sp->epoch;
        return 0;
    }
    /* one statement: the row made on the first leadership, raised after */
    if (store_pg_run_changes(sp, "INSERT INTO reportd_meta VALUES ('leader_epoch', '1') ON"
                             " CONFLICT(key) DO UPDATE SET value = (reportd_meta.value::bigint +"
                             " 1)::text", NULL) < 0 ||
        store_pg_run_changes(sp, "LISTEN reportd_jobs", NULL) < 0) {
        store_pg_dberr(sp, err, errlen, "raising leader_epoch");
        PQclear(PQexec(sp->db, "SELECT pg_advisory_unlock(" LEAD_LOCK ")"));
        return -1;
    }
    if (store_pg_read_meta(sp, err, errlen) != 0) {
        PQclear(PQexec(sp->db, "SELECT pg_advisory_unlock(" LEAD_LOCK ")"));
        return -1;
    }
    sp->role = STORE_PG_LEADER;
    sp->lock_pid = PQbackendPID(sp->db);
    *epoch = sp->epoch;
    return 1;
}

/* 1 when a NOTIFY came (consumed), 0 when none. */
static int notified(struct spool *sp)
{
    int any = 0;
    PQconsumeInput(sp->db);
    for (PGnotify *n; (n = PQnotifies(sp->db)); PQfreemem(n))
        any = 1;
    return any;
}

long store_pg_claim(struct spool *sp, size_t limit, int poll, char *err, size_t errlen)
{
    if (sp->role != STORE_PG_LEADER || sp->deposed)
        return 0;
    if (!notified(sp) && !poll)
        return 0;
    PGresult *r = store_pg_run(sp, "SELECT 1 FROM job WHERE state = 0 AND pos = 0 LIMIT 1", NULL);
    int some = r && PQntuples(r) == 1;
    PQclear(r);
    if (!r)
        return store_pg_dberr(sp, err, errlen, "claim");
    if (!some)
        return 0;
    if (store_pg_begin(sp, err, errlen))
        return -1;
    /* in order of arrival, at the end of the line; rows a standby is
     * changing right now (close, retry) wait for the next claim */
    struct params p = {0};
    p_int(&p, (int64_t)limit);
    long n = store_pg_run_changes(sp, "WITH c AS (SELECT uuid, created_at FROM job WHERE state = 0"
                                  " AND pos = 0 ORDER BY created_at, uuid LIMIT $1 FOR UPDATE SKIP"
                                  " LOCKED), r AS (SELECT uuid, row_number() OVER (ORDER BY"
                                  " created_at, uuid) AS n FROM c), m AS (SELECT coalesce(max(pos),"
                                  " 0) AS top FROM job) UPDATE job SET pos = m.top + r.n FROM r, m"
                                  " WHERE job.uuid = r.uuid",
                                  &p);
    if (n < 0)
        return store_pg_dberr(sp, err, errlen, "claim");
    return n;
}

int store_pg_wake_fd(const struct spool *sp)
{
    return sp->role == STORE_PG_LEADER ? PQsocket(sp->db) : -1;
}
