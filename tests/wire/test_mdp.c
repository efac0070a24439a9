/* test_mdp: the 7/MDP frame grammar — what mdp_parse accepts and the exact
 * frame it blames when it refuses — and multipart receive limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "wire/mdp.h"

static struct mdp_msg *msg(int n, ...)
{
    struct mdp_msg *m = mdp_msg_new();
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        mdp_msg_addstr(m, va_arg(ap, const char *));
    va_end(ap);
    return m;
}

static void test_mdp_parse_client_request(void **state)
{
    (void)state;
    struct mdp_msg *m = msg(5, "ID", "", "MDPC01", "report.check", "body");
    struct mdp_parsed p;
    assert_int_equal(mdp_parse(m, 1, &p, NULL, 0), 0);
    assert_int_equal(p.worker, 0);
    assert_int_equal(p.service, 3);
    assert_int_equal(p.body, 4);
    mdp_msg_destroy(&m);
}

static void test_mdp_parse_worker_commands(void **state)
{
    (void)state;
    struct mdp_parsed p;
    struct mdp_msg *m = msg(4, "ID", "", "MDPW01", "\x01");
    mdp_msg_addstr(m, "report.check");
    assert_int_equal(mdp_parse(m, 1, &p, NULL, 0), 0);
    assert_int_equal(p.command, MDP_READY);
    assert_int_equal(p.service, 4);
    mdp_msg_destroy(&m);

    m = msg(3, "", "MDPW01", "\x03");
    mdp_msg_addstr(m, "client");
    mdp_msg_add(m, "", 0);
    mdp_msg_addstr(m, "result");
    assert_int_equal(mdp_parse(m, 0, &p, NULL, 0), 0);
    assert_int_equal(p.command, MDP_REPLY);
    assert_int_equal(p.address, 3);
    assert_int_equal(p.body, 5);
    mdp_msg_destroy(&m);

    m = msg(3, "", "MDPW01", "\x04");
    assert_int_equal(mdp_parse(m, 0, &p, NULL, 0), 0);
    assert_int_equal(p.command, MDP_HEARTBEAT);
    mdp_msg_destroy(&m);
}

static void test_mdp_parse_refusals_name_the_frame(void **state)
{
    (void)state;
    char err[200];
    struct mdp_parsed p;
    struct mdp_msg *m = msg(4, "ID", "", "MDPX01", "svc");
    assert_int_equal(mdp_parse(m, 1, &p, err, sizeof err), -1);
    assert_string_equal(err, "frame 2: unknown protocol header (want MDPC01 or MDPW01)");
    mdp_msg_destroy(&m);

    m = msg(4, "ID", "x", "MDPC01", "svc");
    assert_int_equal(mdp_parse(m, 1, &p, err, sizeof err), -1);
    assert_string_equal(err, "frame 1: expected the empty frame");
    mdp_msg_destroy(&m);

    m = msg(4, "ID", "", "MDPW01", "\x09");
    assert_int_equal(mdp_parse(m, 1, &p, err, sizeof err), -1);
    assert_string_equal(err, "frame 3: unknown MDPW01 command 0x09");
    mdp_msg_destroy(&m);

    m = msg(6, "ID", "", "MDPW01", "\x03", "client", "not-empty");
    assert_int_equal(mdp_parse(m, 1, &p, err, sizeof err), -1);
    assert_string_equal(err, "frame 4: REQUEST/REPLY needs address, \"\", body");
    mdp_msg_destroy(&m);

    m = msg(3, "ID", "", "MDPW01");
    mdp_msg_add(m, "\x01", 1);
    assert_int_equal(mdp_parse(m, 1, &p, err, sizeof err), -1);
    assert_string_equal(err, "READY: expected exactly one service frame");
    mdp_msg_destroy(&m);

    m = msg(3, "ID", "", "MDPC01");
    assert_int_equal(mdp_parse(m, 1, &p, err, sizeof err), -1);
    assert_string_equal(err, "frame 3: missing service name");
    mdp_msg_destroy(&m);
}

static void test_mdp_recv_refuses_too_many_frames(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
    assert_int_equal(zmq_bind(a, "inproc://test-mdp"), 0);
    assert_int_equal(zmq_connect(b, "inproc://test-mdp"), 0);
    struct mdp_msg *big = mdp_msg_new();
    for (int i = 0; i < 10; i++)
        mdp_msg_addstr(big, "x");
    assert_int_equal(mdp_msg_send(big, b, 0), 0);
    struct mdp_msg *small = msg(2, "a", "b");
    assert_int_equal(mdp_msg_send(small, b, 0), 0);
    errno = 0;
    assert_null(mdp_msg_recv(a, 0, 5));
    assert_int_equal(errno, E2BIG);
    /* the oversized message was drained whole: the next one is intact */
    struct mdp_msg *got = mdp_msg_recv(a, 0, 5);
    assert_non_null(got);
    assert_int_equal(got->n, 2);
    assert_true(mdp_msg_is(got, 1, "b"));
    mdp_msg_destroy(&got);
    mdp_msg_destroy(&big);
    mdp_msg_destroy(&small);
    zmq_close(a);
    zmq_close(b);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mdp_parse_client_request),
        cmocka_unit_test(test_mdp_parse_worker_commands),
        cmocka_unit_test(test_mdp_parse_refusals_name_the_frame),
        cmocka_unit_test(test_mdp_recv_refuses_too_many_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
