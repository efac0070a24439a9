/* test_publisher: the broker's XPUB over inproc with a real spool — region
 * topics, the three frames (topic, sequence in decimal, body) of result.*,
 * alert.* and deadletter messages, sequence numbers from the spool in order,
 * nothing sent before the batch commits and nothing after a discard, the
 * alert policy and its reload, and subscriptions seen on the XPUB. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "base/util.h"
#include "broker/publisher.h"
#include "broker/spool.h"
#include "check/check.h"
#include "wire/envelope.h"
#include "wire/mdp.h"

#define EP "inproc://test-publisher"
#define FAIL_ONLY (1u << REPORTD__STATUS__STATUS_FAIL)

struct fixture {
    char dir[64];
    struct spool *sp;
    void *ctx, *sub;
    struct publisher *p;
};

/* The envelope publisher_result takes, read from the Result's bytes. */
static const struct envelope_result *env_of(const uint8_t *bytes, size_t len)
{
    static struct envelope_result e;
    char err[256];
    assert_int_equal(envelope_result(bytes, len, &e, err, sizeof err), 0);
    return &e;
}

/* Subscribe sub to prefix and wait until the XPUB has seen it. */
static void subscribe(struct fixture *f, const char *prefix)
{
    assert_int_equal(zmq_setsockopt(f->sub, ZMQ_SUBSCRIBE, prefix, strlen(prefix)), 0);
    zmq_pollitem_t it = {publisher_socket(f->p), 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 5000), 1);
    zmq_msg_t m;
    zmq_msg_init(&m);
    assert_int_equal(zmq_msg_recv(&m, publisher_socket(f->p), 0), (int)strlen(prefix) + 1);
    assert_int_equal(((const char *)zmq_msg_data(&m))[0], 1);        /* 1: subscribe */
    assert_memory_equal((const char *)zmq_msg_data(&m) + 1, prefix, strlen(prefix));
    zmq_msg_close(&m);
}

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof *f);
    char err[256], path[96];
    snprintf(f->dir, sizeof f->dir, "/tmp/test_publisher.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(path, sizeof path, "%s/spool.db", f->dir);
    f->sp = spool_open(path, err, sizeof err);
    f->ctx = zmq_ctx_new();
    f->p = publisher_new(f->ctx, EP, NULL, f->sp, FAIL_ONLY, 1000, err, sizeof err);
    if (!f->sp || !f->p)
        return -1;
    f->sub = zmq_socket(f->ctx, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt(f->sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_connect(f->sub, EP);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    zmq_close(f->sub);
    publisher_destroy(&f->p);
    zmq_ctx_term(f->ctx);
    spool_close(&f->sp);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* A Result of that status for a body in region (may be NULL), packed too;
 * heap-built (a checker's Result lives in its arena and is not edited), so
 * freed with reportd__result__free_unpacked. */
static Reportd__Result *result(const char *id, Reportd__Status st, const char *region, uint8_t **bytes,
                               size_t *len)
{
    Reportd__Result *r = xmalloc(sizeof *r);
    reportd__result__init(r);
    r->schema_version = 1;
    r->submission_id = xstrdup(id);
    r->ruleset_version = xstrdup(checker_ruleset_version());
    r->status = st;
    if (st == REPORTD__STATUS__STATUS_REJECTED)
        r->reject_reason = xstrdup("placeholder");
    if (region) {
        r->body = xmalloc(sizeof *r->body);
        reportd__body__init(r->body);
        r->body->name = xstrdup("测试机关");
        r->body->region_code = xstrdup(region);
    }
    *len = reportd__result__get_packed_size(r);
    *bytes = xmalloc(*len);
    reportd__result__pack(r, *bytes);
    return r;
}

static struct mdp_msg *sub_recv(struct fixture *f, int timeout_ms)
{
    zmq_pollitem_t it = {f->sub, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, timeout_ms) != 1)
        return NULL;
    return mdp_msg_recv(f->sub, 0, 16);
}

static void assert_frames(const struct mdp_msg *m, const char *topic, const char *seq)
{
    assert_non_null(m);
    assert_int_equal(m->n, 3);
    if (!mdp_msg_is(m, 0, topic) || !mdp_msg_is(m, 1, seq)) {
        char *t = mdp_msg_strdup(m, 0), *s = mdp_msg_strdup(m, 1);
        fail_msg("got [%s, %s], want [%s, %s]", t, s, topic, seq);
    }
}

static void test_publisher_region_topic(void **state)
{
    (void)state;
    static const struct { const char *code, *topic; } cases[] = {
        {"430381", "43.4303.430381"}, {"320800", "32.3208.320800"}, {"110000", "11.1100.110000"},
        {"", "unknown"}, {NULL, "unknown"}, {"43038", "unknown"}, {"4303810", "unknown"},
        {"43038x", "unknown"}, {"湘乡", "unknown"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[24];
        publisher_region_topic(cases[i].code, out, sizeof out);
        assert_string_equal(out, cases[i].topic);
    }
}

/* A FAIL: result.* then alert.*, numbered by the spool, sent on flush only. */
static void test_publisher_result_and_alert_frames(void **state)
{
    struct fixture *f = *state;
    subscribe(f, "");
    uint8_t *bytes;
    size_t len;
    char err[256] = "";
    Reportd__Result *r = result("sub-1", REPORTD__STATUS__STATUS_FAIL, "430381", &bytes, &len);
    assert_int_equal(publisher_result(f->p, env_of(bytes, len), bytes, len, err, sizeof err), 1);
    assert_null(sub_recv(f, 50));                            /* not before the commit */
    assert_int_equal(publisher_sent(f->p), 0);
    assert_int_equal(spool_commit(f->sp, err, sizeof err), 0);
    publisher_flush(f->p);
    assert_int_equal(publisher_sent(f->p), 2);

    struct mdp_msg *m = sub_recv(f, 5000);
    assert_frames(m, "result.43.4303.430381", "1");
    assert_int_equal(mdp_msg_size(m, 2), len);
    assert_memory_equal(mdp_msg_data(m, 2), bytes, len);     /* the Result's bytes as given */
    mdp_msg_destroy(&m);

    m = sub_recv(f, 5000);
    assert_frames(m, "alert.43.4303.430381", "2");
    Reportd__Alert *a = reportd__alert__unpack(NULL, mdp_msg_size(m, 2), mdp_msg_data(m, 2));
    assert_non_null(a);
    assert_int_equal(a->schema_version, 1);
    assert_string_equal(a->submission_id, "sub-1");
    assert_int_equal(a->status, REPORTD__STATUS__STATUS_FAIL);
    assert_string_equal(a->body->name, "测试机关");
    reportd__alert__free_unpacked(a, NULL);
    mdp_msg_destroy(&m);
    assert_null(sub_recv(f, 50));
    assert_int_equal(spool_last_seq(f->sp), 2);
    reportd__result__free_unpacked(r, NULL);
    free(bytes);
}

/* PASS raises no alert under a FAIL-only policy; a dead letter is JSON. */
static void test_publisher_pass_and_deadletter(void **state)
{
    struct fixture *f = *state;
    subscribe(f, "");
    uint8_t *bytes;
    size_t len;
    char err[256] = "";
    Reportd__Result *r = result("sub-2", REPORTD__STATUS__STATUS_PASS, NULL, &bytes, &len);
    assert_int_equal(publisher_result(f->p, env_of(bytes, len), bytes, len, err, sizeof err), 1);
    assert_int_equal(publisher_deadletter(f->p, "0123456789abcdef0123456789abcdef", "sub-3",
                                          "worker died 3 times", 3, err, sizeof err), 0);
    assert_int_equal(spool_commit(f->sp, err, sizeof err), 0);
    publisher_flush(f->p);
    assert_int_equal(publisher_sent(f->p), 2);

    struct mdp_msg *m = sub_recv(f, 5000);
    assert_frames(m, "result.unknown", "1");                 /* no region: "unknown" */
    mdp_msg_destroy(&m);
    m = sub_recv(f, 5000);
    assert_frames(m, "deadletter", "2");
    json_error_t je;
    json_t *j = json_loadb(mdp_msg_data(m, 2), mdp_msg_size(m, 2), 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "uuid")), "0123456789abcdef0123456789abcdef");
    assert_string_equal(json_string_value(json_object_get(j, "submission_id")), "sub-3");
    assert_string_equal(json_string_value(json_object_get(j, "reason")), "worker died 3 times");
    assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 3);
    json_decref(j);
    mdp_msg_destroy(&m);
    assert_null(sub_recv(f, 50));                            /* and no alert */

    /* a reload that alerts on PASS too */
    publisher_set_alerts(f->p, FAIL_ONLY | (1u << REPORTD__STATUS__STATUS_PASS));
    assert_int_equal(publisher_result(f->p, env_of(bytes, len), bytes, len, err, sizeof err), 3);
    assert_int_equal(spool_commit(f->sp, err, sizeof err), 0);
    publisher_flush(f->p);
    m = sub_recv(f, 5000);
    assert_frames(m, "result.unknown", "3");
    mdp_msg_destroy(&m);
    m = sub_recv(f, 5000);
    assert_frames(m, "alert.unknown", "4");
    mdp_msg_destroy(&m);
    assert_int_equal(publisher_sent(f->p), 4);
    reportd__result__free_unpacked(r, NULL);
    free(bytes);
}

/* A batch that failed to commit: its messages are dropped, never sent. */
static void test_publisher_discard_sends_nothing(void **state)
{
    struct fixture *f = *state;
    subscribe(f, "");
    uint8_t *bytes;
    size_t len;
    char err[256] = "";
    Reportd__Result *r = result("sub-4", REPORTD__STATUS__STATUS_FAIL, "320800", &bytes, &len);
    assert_true(publisher_result(f->p, env_of(bytes, len), bytes, len, err, sizeof err) > 0);
    publisher_discard(f->p);
    publisher_flush(f->p);                                   /* nothing left to send */
    assert_null(sub_recv(f, 50));
    assert_int_equal(publisher_sent(f->p), 0);
    reportd__result__free_unpacked(r, NULL);
    free(bytes);
}

/* Topic prefixes: a subscriber to one province's alerts gets only those. */
static void test_publisher_prefix_subscription(void **state)
{
    struct fixture *f = *state;
    subscribe(f, "alert.32");
    static const char *const regions[] = {"430381", "320800", "320813"};
    char err[256] = "";
    for (int i = 0; i < 3; i++) {
        uint8_t *bytes;
        size_t len;
        Reportd__Result *r = result("sub", REPORTD__STATUS__STATUS_FAIL, regions[i], &bytes, &len);
        assert_int_equal(publisher_result(f->p, env_of(bytes, len), bytes, len, err, sizeof err), (uint64_t)(2 * i + 1));
        reportd__result__free_unpacked(r, NULL);
        free(bytes);
    }
    assert_int_equal(spool_commit(f->sp, err, sizeof err), 0);
    publisher_flush(f->p);
    assert_int_equal(publisher_sent(f->p), 6);               /* XPUB sent all; the SUB filters */
    struct mdp_msg *m = sub_recv(f, 5000);
    assert_frames(m, "alert.32.3208.320800", "4");
    mdp_msg_destroy(&m);
    m = sub_recv(f, 5000);
    assert_frames(m, "alert.32.3208.320813", "6");
    mdp_msg_destroy(&m);
    assert_null(sub_recv(f, 50));
    /* an unsubscribe reaches the XPUB too; drain reads it away */
    assert_int_equal(zmq_setsockopt(f->sub, ZMQ_UNSUBSCRIBE, "alert.32", 8), 0);
    zmq_pollitem_t it = {publisher_socket(f->p), 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 5000), 1);
    publisher_drain(f->p);
    it.revents = 0;
    assert_int_equal(zmq_poll(&it, 1, 0), 0);
}

static void test_publisher_bind_error(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    struct publisher *p = publisher_new(f->ctx, EP, NULL, f->sp, 0, 10, err, sizeof err);
    assert_null(p);                                          /* the endpoint is taken */
    assert_string_equal(err, "publish: bind " EP ": Address already in use");
    p = publisher_new(f->ctx, "nonsense://x", NULL, f->sp, 0, 10, err, sizeof err);
    assert_null(p);
    assert_string_equal(err, "publish: bind nonsense://x: Protocol not supported");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publisher_region_topic),
        cmocka_unit_test_setup_teardown(test_publisher_result_and_alert_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publisher_pass_and_deadletter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publisher_discard_sends_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publisher_prefix_subscription, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publisher_bind_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
