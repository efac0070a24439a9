/* test_commit: group commit runs in the spool's writer thread, so (issue 10
 * item 1) an acknowledgement never precedes the fsync of its batch, while the
 * broker's loop goes on receiving and dispatching. A link-time seam
 * (-Wl,--wrap=sqlite3_exec) holds the writer at the door of COMMIT: there,
 * no titanic 200 has left, a plain request is still served end to end, and
 * the spool's files as a crash would leave them (copied aside) hold no trace
 * of the job; released, the 200 leaves and the job is durable. And a worker
 * whose Titanic reply comes while a commit runs takes its next job at once,
 * while its Result waits for the commit's end before it is stored and
 * published. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <time.h>

#include "brokerfix.h"
#include "broker/spool.h"
#include "wire/titanic_id.h"

/* Seam: while hold_commits is set, the writer thread waits at each COMMIT
 * until the test posts released (it posts at_commit first). */
static atomic_int hold_commits;
static sem_t at_commit, released;
struct sqlite3;
int __real_sqlite3_exec(struct sqlite3 *db, const char *sql, void *cb, void *arg, char **msg);
int __wrap_sqlite3_exec(struct sqlite3 *db, const char *sql, void *cb, void *arg, char **msg);
int __wrap_sqlite3_exec(struct sqlite3 *db, const char *sql, void *cb, void *arg, char **msg)
{
    if (strcmp(sql, "COMMIT") == 0 && atomic_load(&hold_commits)) {
        sem_post(&at_commit);
        while (sem_wait(&released) != 0 && errno == EINTR)
            ;
    }
    return __real_sqlite3_exec(db, sql, cb, arg, msg);
}

/* Wait for the writer to reach COMMIT; 0, or -1 after 10 s (a hang is a failure). */
static int wait_at_commit(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    while (sem_timedwait(&at_commit, &until) != 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

static int setup(void **state)
{
    struct brokerfix *b = calloc(1, sizeof *b);
    if (bf_init(b, "test_commit", xasprintf("inproc://test-commit"),
                xasprintf("inproc://test-commit-pub")) != 0)
        return -1;
    b->cfg.batch_ms = 1;
    sem_init(&at_commit, 0, 0);
    sem_init(&released, 0, 0);
    *state = b;
    return bf_start(b, 100000);
}

static int teardown(void **state)
{
    struct brokerfix *b = *state;
    atomic_store(&hold_commits, 0);
    sem_post(&released);        /* a writer still held goes on */
    bf_stop(b);
    int rc = bf_free(b);
    sem_destroy(&at_commit);
    sem_destroy(&released);
    free(b);
    return rc == 0 ? 0 : -1;
}

/* The spool as a kill -9 now would leave it: its files copied aside, opened
 * (SQLite recovers what the WAL holds committed). The job's state there. */
static int state_after_crash(const struct brokerfix *b, const char *uuid)
{
    char cmd[256], path[96];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/crash && cp %s %s-wal %s/crash/ 2>/dev/null; true",
             b->dir, b->cfg.spool_path, b->cfg.spool_path, b->dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/crash/spool.db", b->dir);
    char err[256];
    struct spool *sp = spool_open(path, err, sizeof err);
    assert_non_null(sp);
    int state = spool_get(sp, uuid, NULL, NULL);
    spool_close(&sp);
    snprintf(cmd, sizeof cmd, "rm -rf %s/crash", b->dir);
    assert_int_equal(system(cmd), 0);
    return state;
}

static void test_commit_ack_waits_for_its_fsync(void **state)
{
    struct brokerfix *b = *state;
    void *client = bf_dealer(b);
    void *echo = bf_worker(b, "echo");
    const char *sid = "6f1c2a3b-0000-4000-8000-00000000c0de";
    char uuid[33];
    titanic_id_for(sid, uuid);
    size_t len;
    uint8_t *sub = bf_submission(sid, &len);

    /* the broker runs: its spool is open (opening it commits too) */
    struct mdp_msg *known = bf_call(client, "mmi.service", "echo", 4, NULL, 0);
    mdp_msg_destroy(&known);
    atomic_store(&hold_commits, 1);
    struct mdp_msg *m = mdp_client_cmd(NULL, 0, "titanic.request");
    mdp_msg_add(m, "report.check", 12);
    mdp_msg_add(m, sub, len);
    assert_int_equal(mdp_msg_send(m, client, 0), 0);
    mdp_msg_destroy(&m);
    free(sub);
    assert_int_equal(wait_at_commit(), 0);

    /* held at COMMIT: the loop still serves a plain request end to end */
    bf_send(client, 4, "", "MDPC01", "echo", "ping");
    struct mdp_msg *req = bf_recv_cmd(echo, 2000);
    assert_non_null(req);
    bf_reply(echo, req, "pong", 4);
    mdp_msg_destroy(&req);
    struct mdp_msg *r = bf_recv(client, 2000);
    assert_non_null(r);         /* the plain reply, not the 200 */
    assert_true(mdp_msg_is(r, 2, "echo"));
    assert_true(mdp_msg_is(r, 3, "pong"));
    mdp_msg_destroy(&r);
    /* … and no 200 has left: a crash now leaves no job, and none was promised */
    assert_null(bf_recv(client, 200));
    assert_int_equal(state_after_crash(b, uuid), -1);

    atomic_store(&hold_commits, 0);
    sem_post(&released);
    r = bf_recv(client, 5000);
    assert_non_null(r);
    assert_true(mdp_msg_is(r, 2, "titanic.request"));
    assert_true(mdp_msg_is(r, 3, "200"));
    assert_int_equal(mdp_msg_size(r, 4), 32);
    assert_memory_equal(mdp_msg_data(r, 4), uuid, 32);
    mdp_msg_destroy(&r);
    /* acknowledged: a crash now keeps it */
    assert_int_equal(state_after_crash(b, uuid), SPOOL_PENDING);
    bf_restart(b, 100000);
    struct spool *sp = spool_open(b->cfg.spool_path, NULL, 0);
    assert_non_null(sp);
    assert_int_equal(spool_get(sp, uuid, NULL, NULL), SPOOL_PENDING);
    spool_close(&sp);
}

/* titanic.request for sid on client; nothing read. */
static void submit(void *client, const char *sid)
{
    size_t len;
    uint8_t *sub = bf_submission(sid, &len);
    struct mdp_msg *m = mdp_client_cmd(NULL, 0, "titanic.request");
    mdp_msg_add(m, "report.check", 12);
    mdp_msg_add(m, sub, len);
    assert_int_equal(mdp_msg_send(m, client, 0), 0);
    mdp_msg_destroy(&m);
    free(sub);
}

/* The 200 for uuid on client within 5 s. */
static void expect_200(void *client, const char *uuid)
{
    struct mdp_msg *r = bf_recv(client, 5000);
    assert_non_null(r);
    assert_true(mdp_msg_is(r, 3, "200"));
    assert_memory_equal(mdp_msg_data(r, 4), uuid, 32);
    mdp_msg_destroy(&r);
}

static void test_commit_worker_goes_on_while_its_result_waits(void **state)
{
    struct brokerfix *b = *state;
    void *client = bf_dealer(b);
    void *subscriber = bf_subscriber(b);
    void *w = bf_worker(b, "report.check");
    static const char *const sids[3] = {"6f1c2a3b-0000-4000-8000-0000000000a1",
                                        "6f1c2a3b-0000-4000-8000-0000000000b2",
                                        "6f1c2a3b-0000-4000-8000-0000000000c3"};
    char uuid[3][33];
    for (int i = 0; i < 3; i++)
        titanic_id_for(sids[i], uuid[i]);
    usleep(100000);             /* the subscription reaches the XPUB */
    submit(client, sids[0]);
    expect_200(client, uuid[0]);
    submit(client, sids[1]);
    expect_200(client, uuid[1]);
    struct mdp_msg *ra = bf_recv_cmd(w, 2000);
    assert_non_null(ra);
    assert_int_equal(mdp_msg_size(ra, 3), 32);
    assert_memory_equal(mdp_msg_data(ra, 3), uuid[0], 32);

    /* C's request opens a batch; its commit is held at COMMIT */
    atomic_store(&hold_commits, 1);
    submit(client, sids[2]);
    assert_int_equal(wait_at_commit(), 0);
    size_t len;
    uint8_t *res = bf_fail_result(sids[0], &len);
    bf_reply(w, ra, res, len);
    mdp_msg_destroy(&ra);
    /* the worker is handed B at once … */
    struct mdp_msg *rb = bf_recv_cmd(w, 2000);
    assert_non_null(rb);
    assert_true(mdp_msg_is(rb, 2, "\x02"));
    assert_memory_equal(mdp_msg_data(rb, 3), uuid[1], 32);
    mdp_msg_destroy(&rb);
    /* … while A's Result is neither published nor stored */
    assert_null(bf_recv(subscriber, 200));
    assert_int_equal(state_after_crash(b, uuid[0]), SPOOL_PENDING);

    atomic_store(&hold_commits, 0);
    sem_post(&released);
    expect_200(client, uuid[2]);
    /* then A's Result is published once, as the worker sent it, and stored */
    struct mdp_msg *pub = bf_recv(subscriber, 5000);
    assert_non_null(pub);
    assert_true(mdp_msg_is(pub, 0, "result.43.4303.430381"));
    assert_int_equal(mdp_msg_size(pub, 2), len);
    assert_memory_equal(mdp_msg_data(pub, 2), res, len);
    mdp_msg_destroy(&pub);
    int done = -1;
    for (int i = 0; i < 50 && done != SPOOL_DONE; i++) {
        usleep(100000);
        done = state_after_crash(b, uuid[0]);
    }
    assert_int_equal(done, SPOOL_DONE);
    free(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_ack_waits_for_its_fsync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_worker_goes_on_while_its_result_waits, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
