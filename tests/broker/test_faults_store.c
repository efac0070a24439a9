/* test_faults_store: the broker (in a thread, over inproc://) under the faults
 * of its store and of its workers' processes — issue 9, items 1, 2, 3, 10:
 *  - the spool's disk fills up (a 3 MiB tmpfs this test mounts; it runs as
 *    root in CI): a Result whose commit failed is not lost, its job is handed
 *    out again once space returns, without a restart; a submission answered
 *    500 is never queued, run or counted;
 *  - the spool file is deleted under the broker: titanic.request answers 500
 *    with the reason, the broker says so at error priority, and its drain
 *    reports the failure (the exit status);
 *  - two workers (the two threads of one process) die together holding a
 *    poison and a healthy job: neither is charged; the suspects go out one at
 *    a time, the healthy one succeeds, only the poison is dead-lettered;
 *  - spool.window: with more jobs pending than the window, all are handed out
 *    in order, across a restart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "base/log.h"
#include "broker/spool.h"
#include "wire/titanic_id.h"
#include "brokerfix.h"

struct fixture {
    struct brokerfix b;
    void *client;
    void *sub;
    int mounted;                /* a tmpfs is mounted on b.dir */
};

static int fixture_n;
static struct buf logged;       /* every log line, for the priority checks */
static void (*log_default)(const char *line, size_t len);

static void capture(const char *line, size_t len)
{
    buf_append(&logged, line, len);
}

static const char *log_text(void)
{
    buf_append(&logged, "", 1);
    logged.len--;
    return logged.data;
}

/* The fixture's broker and client, not started; tmpfs_size non-NULL mounts a
 * tmpfs of that size on the spool's directory first. */
static struct fixture *make(const char *tmpfs_size)
{
    struct fixture *f = calloc(1, sizeof *f);
    fixture_n++;
    if (bf_init(&f->b, "test_faults_store", xasprintf("inproc://faults-broker-%d", fixture_n),
                xasprintf("inproc://faults-publish-%d", fixture_n)) < 0)
        return NULL;
    if (tmpfs_size) {
        char opts[32];
        snprintf(opts, sizeof opts, "size=%s", tmpfs_size);
        if (mount("tmpfs", f->b.dir, "tmpfs", 0, opts) != 0)
            fprintf(stderr, "mount tmpfs on %s: %s (this test needs root)\n", f->b.dir,
                    strerror(errno));
        else
            f->mounted = 1;
    }
    f->b.drain = 1;
    f->b.cfg.heartbeat_ms = 100;
    f->b.cfg.liveness = 3;
    f->b.cfg.max_attempts = 2;
    f->b.cfg.batch_ms = 0;
    buf_free(&logged);
    memset(&logged, 0, sizeof logged);
    if (!log_default)
        log_default = log_write_hook;
    log_write_hook = capture;
    setenv("JOURNAL_STREAM", "8:1", 1);     /* no timestamps */
    return f;
}

static void start(struct fixture *f)
{
    assert_int_equal(bf_start(&f->b, 100000), 0);
    f->client = bf_dealer(&f->b);
    f->sub = bf_subscriber(&f->b);
    usleep(50000);
}

static int setup(void **state)
{
    struct fixture *f = make(NULL);
    *state = f;
    return f ? 0 : -1;
}

static int setup_tmpfs(void **state)
{
    struct fixture *f = make("3m");
    *state = f;
    return f ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    bf_stop(&f->b);
    if (f->mounted && umount2(f->b.dir, MNT_DETACH) != 0)
        fprintf(stderr, "umount %s: %s\n", f->b.dir, strerror(errno));
    int rc = bf_free(&f->b);
    free(f);
    log_write_hook = log_default;
    buf_free(&logged);
    memset(&logged, 0, sizeof logged);
    unsetenv("JOURNAL_STREAM");
    return rc;
}

static void expect_status(struct mdp_msg *r, const char *status)
{
    assert_non_null(r);
    char *got = mdp_msg_strdup(r, 0);
    if (strncmp(got, status, strlen(status)) != 0)
        fail_msg("answer %s, expected %s", got, status);
    free(got);
    mdp_msg_destroy(&r);
}

/* titanic.request for sid; the answer's status must start with want. */
static void submit(struct fixture *f, const char *sid, const char *want)
{
    size_t len;
    uint8_t *sub = bf_submission(sid, &len);
    expect_status(bf_call(f->client, "titanic.request", "report.check", 12, sub, len), want);
    free(sub);
}

/* Fill the file system holding dir until it has no byte left. */
static void fill(const char *dir)
{
    char *path = xasprintf("%s/filler", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    static char block[65536];
    for (size_t n = sizeof block; n > 0;)
        if (write(fd, block, n) < 0)
            n /= 2;
    close(fd);
    free(path);
}

/* Worker w says it is alive. */
static void beat(void *w)
{
    bf_send(w, 3, "", "MDPW01", "\x04");
}

static void unfill(const char *dir)
{
    char *path = xasprintf("%s/filler", dir);
    assert_int_equal(unlink(path), 0);
    free(path);
}

#define SID_A "00000000-0000-4000-8000-00000000000a"
#define UUID_A "000000000000400080000000000000" "0a"
#define SID_B "00000000-0000-4000-8000-00000000000b"
#define UUID_B "000000000000400080000000000000" "0b"

/* Item 1: disk full. */
static void test_disk_full_strands_no_job(void **state)
{
    struct fixture *f = *state;
    assert_true(f->mounted);
    start(f);
    void *w = bf_worker(&f->b, "report.check");
    submit(f, SID_A, "200");
    struct mdp_msg *req = bf_recv_cmd(w, 2000);
    assert_non_null(req);
    assert_true(mdp_msg_is(req, 3, UUID_A));
    fill(f->b.dir);
    size_t rlen;
    uint8_t *res = bf_fail_result(SID_A, &rlen);
    bf_reply(w, req, res, rlen);
    mdp_msg_destroy(&req);
    for (int i = 0; i < 4; i++) {   /* the broker takes the reply; its commit fails */
        beat(w);
        usleep(50000);
    }
    submit(f, SID_B, "500");        /* refused: its commit failed too */
    expect_status(bf_call(f->client, "titanic.reply", UUID_A, 32, NULL, 0), "300");
    unfill(f->b.dir);
    /* space is back: A's job comes again (never B's), its Result is kept */
    int done = 0, deliveries = 0;
    for (int i = 0; i < 100 && !done; i++) {
        beat(w);
        req = bf_recv_cmd(w, 50);
        if (req) {
            char *uuid = mdp_msg_strdup(req, 3);
            if (strcmp(uuid, UUID_A) != 0)
                fail_msg("handed out job %s, expected only %s", uuid, UUID_A);
            free(uuid);
            deliveries++;
            bf_reply(w, req, res, rlen);
            mdp_msg_destroy(&req);
        }
        struct mdp_msg *r = bf_call(f->client, "titanic.reply", UUID_A, 32, NULL, 0);
        done = mdp_msg_is(r, 0, "200");
        mdp_msg_destroy(&r);
    }
    if (!done)
        fail_msg("the Result of %s was never recorded after space returned (%d deliveries)",
                 UUID_A, deliveries);
    assert_true(deliveries >= 1);
    expect_status(bf_call(f->client, "titanic.reply", UUID_B, 32, NULL, 0), "400");
    /* published once: result and alert, sequence 1 and 2, nothing more */
    for (int i = 1; i <= 2; i++) {
        struct mdp_msg *p = bf_recv(f->sub, 2000);
        assert_non_null(p);
        char seq[4];
        snprintf(seq, sizeof seq, "%d", i);
        assert_true(mdp_msg_is(p, 1, seq));
        mdp_msg_destroy(&p);
    }
    assert_null(bf_recv(f->sub, 300));
    assert_null(bf_recv_cmd(w, 300));
    bf_stop(&f->b);
    /* what was acknowledged is what was accepted */
    assert_int_equal(f->b.final.accepted, 1);
    assert_int_equal(f->b.final.rejected, 1);
    assert_int_equal(f->b.final.results[REPORTD__STATUS__STATUS_FAIL], 1);
    free(res);
}

/* Item 2: the spool file deleted under the running broker. */
static void test_deleted_spool_stops_acknowledging(void **state)
{
    struct fixture *f = *state;
    start(f);
    submit(f, SID_A, "200");
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char *p = xasprintf("%s%s", f->b.cfg.spool_path, sfx[i]);
        unlink(p);
        free(p);
    }
    usleep(300000);                 /* a few ticks */
    submit(f, SID_B, "500 spool");
    submit(f, SID_B, "500 spool");
    bf_stop(&f->b);
    assert_int_equal(f->b.final.spool_ok, 0);
    assert_int_equal(f->b.final.accepted, 1);
    /* the drain (the exit status) reports it, and an error line says why */
    assert_int_equal(f->b.drain_rc, -1);
    const char *text = log_text();
    const char *line = strstr(text, "<3>spool ");
    if (!line || !strstr(line, "deleted"))
        fail_msg("no error line about the deleted spool in:\n%s", text);
}

#define SID_X "00000000-0000-4000-8000-0000000000ff"
#define UUID_X "000000000000400080000000000000" "ff"
#define SID_H "00000000-0000-4000-8000-000000000001"
#define UUID_H "000000000000400080000000000000" "01"

#define MAXW 12
struct pool {
    struct fixture *f;
    void *w[MAXW];
    int alive[MAXW];
    int n;
};

static void add_worker(struct pool *p)
{
    assert_true(p->n < MAXW);
    p->alive[p->n] = 1;
    p->w[p->n++] = bf_worker(&p->f->b, "report.check");
}

/* Heartbeat the live workers for ms; the first REQUEST any of them gets (its
 * index in *who), or NULL. */
static struct mdp_msg *next_request(struct pool *p, int ms, int *who)
{
    for (int t = 0; t < ms; t += 20) {
        for (int i = 0; i < p->n; i++) {
            if (!p->alive[i])
                continue;
            bf_send(p->w[i], 3, "", "MDPW01", "\x04");
            struct mdp_msg *m = bf_recv(p->w[i], 0);
            while (m && mdp_msg_is(m, 2, "\x04")) {
                mdp_msg_destroy(&m);
                m = bf_recv(p->w[i], 0);
            }
            if (m && mdp_msg_is(m, 2, "\x02")) {
                *who = i;
                return m;
            }
            mdp_msg_destroy(&m);
        }
        usleep(20000);
    }
    return NULL;
}

/* Item 3: two workers of one process die together, one holding a poison. */
static void test_poison_does_not_condemn_its_sibling(void **state)
{
    struct fixture *f = *state;
    f->b.cfg.max_attempts = 2;
    start(f);
    struct pool p = {.f = f};
    add_worker(&p);
    add_worker(&p);
    submit(f, SID_X, "200");
    submit(f, SID_H, "200");
    /* both are handed out at once (nothing is suspect yet); then the process dies */
    int who;
    for (int k = 0; k < 2; k++) {
        struct mdp_msg *m = next_request(&p, 1000, &who);
        assert_non_null(m);
        p.alive[who] = 0;
        mdp_msg_destroy(&m);
    }
    add_worker(&p);
    add_worker(&p);
    size_t rlen;
    uint8_t *res = bf_fail_result(SID_H, &rlen);
    int h_runs = 0, x_runs = 0, dead = 0;
    for (int round = 0; round < 8 && !dead; round++) {
        struct mdp_msg *m = next_request(&p, 2000, &who);
        if (!m)
            break;
        /* a suspect goes out alone: nobody else gets work while it is held */
        struct mdp_msg *other = next_request(&p, 200, &(int){0});
        if (other) {
            char *a = mdp_msg_strdup(m, 3), *b = mdp_msg_strdup(other, 3);
            fail_msg("%s and %s handed out together after their process died", a, b);
        }
        if (mdp_msg_is(m, 3, UUID_H)) {
            h_runs++;
            bf_reply(p.w[who], m, res, rlen);
        } else {
            assert_true(mdp_msg_is(m, 3, UUID_X));
            x_runs++;
            p.alive[who] = 0;           /* the poison kills its process again */
            add_worker(&p);
        }
        mdp_msg_destroy(&m);
        struct mdp_msg *r = bf_call(f->client, "titanic.reply", UUID_X, 32, NULL, 0);
        dead = strncmp(mdp_msg_data(r, 0), "500", 3) == 0;
        mdp_msg_destroy(&r);
    }
    for (int i = 0; i < 20 && !dead; i++) {       /* the last death takes an expiry */
        struct mdp_msg *m = next_request(&p, 100, &who);
        assert_null(m);
        struct mdp_msg *r = bf_call(f->client, "titanic.reply", UUID_X, 32, NULL, 0);
        dead = strncmp(mdp_msg_data(r, 0), "500", 3) == 0;
        mdp_msg_destroy(&r);
    }
    assert_true(dead);
    assert_int_equal(h_runs, 1);
    assert_int_equal(x_runs, 2);                  /* charged only when alone: max_attempts */
    expect_status(bf_call(f->client, "titanic.reply", UUID_H, 32, NULL, 0), "200");
    struct mdp_msg *r = bf_call(f->client, "reportd.deadletter", "list", 4, NULL, 0);
    char *list = mdp_msg_strdup(r, 1);
    mdp_msg_destroy(&r);
    if (!strstr(list, UUID_X) || strstr(list, UUID_H) ||
        !strstr(list, "worker died while holding only this job, 2 times"))
        fail_msg("dead letters: %s", list);
    free(list);
    free(res);
}

/* Item 10: spool.window 3, ten jobs pending, a restart in between. */
static void test_window_streams_the_backlog_in_order(void **state)
{
    struct fixture *f = *state;
    char *yaml = xasprintf("%s/window.yaml", f->b.dir);
    FILE *fp = fopen(yaml, "w");
    assert_non_null(fp);
    fputs("spool:\n  window: 3\n", fp);
    fclose(fp);
    char err[512] = "";
    if (config_load(&f->b.cfg, yaml, err, sizeof err) != 0)
        fail_msg("%s", err);
    free(yaml);
    f->b.cfg.heartbeat_ms = 100;
    f->b.cfg.batch_ms = 0;
    start(f);
    char sids[10][40], uuids[10][33];
    for (int i = 0; i < 10; i++) {
        snprintf(sids[i], sizeof sids[i], "00000000-0000-4000-8000-0000000001%02d", i);
        titanic_id_for(sids[i], uuids[i]);
        submit(f, sids[i], "200");
    }
    bf_stop(&f->b);
    assert_int_equal(f->b.final.queued, 10);
    assert_int_equal(f->b.final.resident, 3);
    bf_start(&f->b, 100000);
    void *w = bf_worker(&f->b, "report.check");
    size_t rlen;
    uint8_t *res = bf_fail_result(SID_H, &rlen);
    for (int i = 0; i < 10; i++) {
        struct mdp_msg *req = bf_recv_cmd(w, 2000);
        if (!req)
            fail_msg("job %d of 10 never came; log:\n%s", i + 1, log_text());
        char *uuid = mdp_msg_strdup(req, 3);
        if (strcmp(uuid, uuids[i]) != 0)
            fail_msg("job %d: %s, expected %s", i + 1, uuid, uuids[i]);
        free(uuid);
        bf_reply(w, req, res, rlen);
        mdp_msg_destroy(&req);
    }
    assert_null(bf_recv_cmd(w, 300));
    free(res);
}


/* Item 10 with item 5: a request identical to a closed job reopens it; with
 * the window full it waits in the spool and must still come, after the ones
 * before it (it goes to the end of the line). */
static void test_window_keeps_a_reopened_job(void **state)
{
    struct fixture *f = *state;
    f->b.cfg.window = 1;
    start(f);
    void *w = bf_worker(&f->b, "report.check");
    size_t rlen;
    uint8_t *res = bf_fail_result(SID_A, &rlen);
    submit(f, SID_A, "200");
    struct mdp_msg *req = bf_recv_cmd(w, 2000);
    assert_non_null(req);
    bf_reply(w, req, res, rlen);
    mdp_msg_destroy(&req);
    for (int i = 0; i < 100; i++) {         /* A answered, then closed */
        struct mdp_msg *r = bf_call(f->client, "titanic.reply", UUID_A, 32, NULL, 0);
        int done = mdp_msg_is(r, 0, "200");
        mdp_msg_destroy(&r);
        if (done)
            break;
        usleep(20000);
    }
    expect_status(bf_call(f->client, "titanic.close", UUID_A, 32, NULL, 0), "200");
    submit(f, SID_B, "200");                /* B fills the window (the worker holds it) */
    req = bf_recv_cmd(w, 2000);
    assert_non_null(req);
    assert_true(mdp_msg_is(req, 3, UUID_B));
    submit(f, SID_H, "200");                /* H waits in the spool */
    submit(f, SID_A, "200");                /* A again: reopened, behind H */
    const char *want[] = {UUID_H, UUID_A};
    for (int i = 0; i < 2; i++) {
        bf_reply(w, req, res, rlen);
        mdp_msg_destroy(&req);
        req = bf_recv_cmd(w, 2000);
        if (!req)
            fail_msg("job %s never came (stranded in the spool)", want[i]);
        char *uuid = mdp_msg_strdup(req, 3);
        if (strcmp(uuid, want[i]) != 0)
            fail_msg("got %s, expected %s", uuid, want[i]);
        free(uuid);
    }
    bf_reply(w, req, res, rlen);
    mdp_msg_destroy(&req);
    free(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_disk_full_strands_no_job, setup_tmpfs, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_spool_stops_acknowledging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poison_does_not_condemn_its_sibling, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_window_streams_the_backlog_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_window_keeps_a_reopened_job, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
