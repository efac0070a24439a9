/* test_history: the broker's history of previous years (issue 13) with a
 * real broker thread (brokerfix.h) and a real worker pool, over Titanic:
 * 平潭 2024 first gets no year_on_year; 2023 then a new 2024 submission gets
 * the deltas against 2023 and no cross-year finding (carry-over holds); a
 * REJECTED 2023 does not replace the accepted one; the history survives a
 * broker restart; Result.report (the report as read, which the broker asked
 * for) never reaches the client. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "base/util.h"
#include "check/check.h"
#include "conf/config.h"
#include "wire/mdp.h"
#include "report.pb-c.h"
#include "worker/worker.h"
#include "brokerfix.h"

#define BODY "平潭综合实验区管委会"

struct rig {
    struct brokerfix b;
    struct checker *chk;
    int stopfd;
    struct worker_pool *pool;
    void *client;
    char *doc[2];               /* 平潭 2023, 2024 */
    size_t len[2];
};

/* A Document Submission of year's 平潭 report (or junk text), packed. */
static uint8_t *submission(struct rig *g, const char *sid, unsigned year, int junk, size_t *len)
{
    Reportd__Document doc = REPORTD__DOCUMENT__INIT;
    if (junk) {
        doc.data.data = (uint8_t *)"not a report at all";
        doc.data.len = 19;
    } else {
        doc.data.data = (uint8_t *)g->doc[year - 2023];
        doc.data.len = g->len[year - 2023];
    }
    doc.filename = (char *)"pingtan.page.txt";
    Reportd__Body body = REPORTD__BODY__INIT;
    body.name = (char *)BODY;
    Reportd__Submission s = REPORTD__SUBMISSION__INIT;
    s.schema_version = 1;
    s.submission_id = (char *)sid;
    s.body = &body;
    s.has_year = 1;
    s.year = year;
    s.content_case = REPORTD__SUBMISSION__CONTENT_DOCUMENT;
    s.document = &doc;
    *len = reportd__submission__get_packed_size(&s);
    uint8_t *buf = xmalloc(*len);
    reportd__submission__pack(&s, buf);
    return buf;
}

/* Submit through titanic.request and poll titanic.reply until the Result is
 * there (at most ~20 s: a slow machine, not a timing assertion). */
static Reportd__Result *check(struct rig *g, const char *sid, unsigned year, int junk)
{
    size_t len;
    uint8_t *sub = submission(g, sid, year, junk, &len);
    struct mdp_msg *r = bf_call(g->client, "titanic.request", "report.check", 12, sub, len);
    free(sub);
    assert_true(mdp_msg_is(r, 0, "200"));
    char uuid[33] = "";
    assert_int_equal(mdp_msg_size(r, 1), 32);
    memcpy(uuid, mdp_msg_data(r, 1), 32);
    mdp_msg_destroy(&r);
    for (int i = 0; i < 400; i++) {
        r = bf_call(g->client, "titanic.reply", uuid, 32, NULL, 0);
        if (mdp_msg_is(r, 0, "200"))
            break;
        assert_true(mdp_msg_is(r, 0, "300"));
        mdp_msg_destroy(&r);
        usleep(50000);
    }
    assert_non_null(r);
    assert_true(mdp_msg_is(r, 0, "200"));
    assert_int_equal(r->n, 2);
    Reportd__Result *res = reportd__result__unpack(NULL, mdp_msg_size(r, 1), mdp_msg_data(r, 1));
    mdp_msg_destroy(&r);
    assert_non_null(res);
    assert_string_equal(res->submission_id, sid);
    assert_null(res->report);   /* asked for by the broker, stripped by it */
    return res;
}

static int has_rule(const Reportd__Result *r, const char *prefix)
{
    for (size_t i = 0; i < r->n_findings; i++)
        if (strncmp(r->findings[i]->rule, prefix, strlen(prefix)) == 0)
            return 1;
    return 0;
}

/* No cross-year finding (R-S3-PREV-CARRY, R-S2-CONTINUITY, R-DUP-PREV,
 * R-YOY-JUMP, R-PREV-PARTIAL) and, when against is not 0, the deltas
 * against that year; else none. */
static void assert_cross_year(const Reportd__Result *r, unsigned against)
{
    assert_int_not_equal(r->status, REPORTD__STATUS__STATUS_REJECTED);
    assert_false(has_rule(r, "R-S3-PREV"));
    assert_false(has_rule(r, "R-S2-CONT"));
    assert_false(has_rule(r, "R-DUP-PREV"));
    assert_false(has_rule(r, "R-YOY"));
    assert_false(has_rule(r, "R-PREV"));
    assert_non_null(r->enrichment);
    if (!against) {
        assert_null(r->enrichment->year_on_year);
        return;
    }
    const Reportd__YearOnYear *y = r->enrichment->year_on_year;
    assert_non_null(y);
    assert_int_equal(y->previous_year, against);
    assert_true(y->has_received);
    assert_int_equal(y->received, 137);
    assert_int_equal(y->concluded, 137);
    assert_int_equal(y->reviews, 5);
    assert_int_equal(y->suits, 12);
}

static void start(struct rig *g)
{
    char err[256];
    g->chk = checker_new(&(struct checker_options){.datadir = "config"}, err, sizeof err);
    assert_non_null(g->chk);
    g->stopfd = eventfd(0, 0);
    g->pool = worker_start(g->b.ctx, &g->b.cfg, g->b.cfg.broker_bind, 1, g->chk, g->stopfd, err,
                           sizeof err);
    assert_non_null(g->pool);
}

static void stop(struct rig *g)
{
    eventfd_write(g->stopfd, 1);
    worker_join(&g->pool);
    close(g->stopfd);
    checker_destroy(&g->chk);
}

static void test_history_previous_year_attached_and_kept(void **state)
{
    (void)state;
    struct rig g = {0};
    char err[256];
    g.doc[0] = util_read_file("../shared/reports/pingtan-2023.page.txt", 1 << 24, &g.len[0], err,
                              sizeof err);
    g.doc[1] = util_read_file("../shared/reports/pingtan-2024.page.txt", 1 << 24, &g.len[1], err,
                              sizeof err);
    assert_non_null(g.doc[0]);
    assert_non_null(g.doc[1]);
    char ep[64], pub[64];
    snprintf(ep, sizeof ep, "inproc://test-history-%d", (int)getpid());
    snprintf(pub, sizeof pub, "inproc://test-history-pub-%d", (int)getpid());
    assert_int_equal(bf_init(&g.b, "test_history", xstrdup(ep), xstrdup(pub)), 0);
    g.b.cfg.heartbeat_ms = 100;
    g.b.cfg.liveness = 3;
    assert_int_equal(bf_start(&g.b, 100000), 0);
    start(&g);
    g.client = bf_dealer(&g.b);
    usleep(100000);

    /* 2024 first: nothing to compare with */
    Reportd__Result *r = check(&g, "pt-2024-a", 2024, 0);
    assert_int_equal(r->year, 2024);
    assert_cross_year(r, 0);
    reportd__result__free_unpacked(r, NULL);
    /* 2023: a first year too (no 2022) */
    r = check(&g, "pt-2023-a", 2023, 0);
    assert_cross_year(r, 0);
    reportd__result__free_unpacked(r, NULL);
    /* 2024 again, a new submission: against 2023, carry-over holds */
    r = check(&g, "pt-2024-b", 2024, 0);
    assert_int_equal(r->year, 2024);
    assert_cross_year(r, 2023);
    reportd__result__free_unpacked(r, NULL);
    /* a REJECTED 2023 leaves the accepted 2023 in the history */
    r = check(&g, "pt-2023-junk", 2023, 1);
    assert_int_equal(r->status, REPORTD__STATUS__STATUS_REJECTED);
    reportd__result__free_unpacked(r, NULL);
    r = check(&g, "pt-2024-c", 2024, 0);
    assert_cross_year(r, 2023);
    reportd__result__free_unpacked(r, NULL);

    /* the broker restarts on the same spool: the history is still there */
    stop(&g);
    assert_int_equal(bf_restart(&g.b, 100000), 0);
    start(&g);
    g.client = bf_dealer(&g.b);     /* an inproc peer does not reconnect */
    usleep(100000);
    r = check(&g, "pt-2024-d", 2024, 0);
    assert_cross_year(r, 2023);
    reportd__result__free_unpacked(r, NULL);

    stop(&g);
    bf_stop(&g.b);
    free(g.doc[0]);
    free(g.doc[1]);
    assert_int_equal(bf_free(&g.b), 0);
}

int main(void)
{
    /* the broker's checker (for the body key) reads the in-tree data */
    setenv("REPORTD_DATADIR", "config", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_previous_year_attached_and_kept),
    };
    return cmocka_run_group_tests_name("history", tests, NULL, NULL);
}
