/* test_client: the MDPC01 client against a tiny ROUTER peer written here,
 * over inproc: the exact frames of a REQUEST, what a REPLY gives back, replies
 * that are not MDPC01 skipped, pipelined requests, and Lazy Pirate — a peer
 * that drops the first requests is asked again on a fresh socket (a new
 * identity) and the late reply to an abandoned request never surfaces; with
 * a list of endpoints, a silent first broker gives way to the second. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "base/util.h"
#include "wire/client.h"
#include "wire/mdp.h"

#define EP "inproc://test-client"

struct peer {
    void *ctx, *router;
};

static int setup(void **state)
{
    struct peer *p = xcalloc(1, sizeof *p);
    p->ctx = zmq_ctx_new();
    p->router = zmq_socket(p->ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(p->router, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(p->router, EP) != 0)
        return -1;
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    struct peer *p = *state;
    zmq_close(p->router);
    zmq_ctx_term(p->ctx);
    free(p);
    return 0;
}

static struct mdp_msg *peer_recv(struct peer *p, int timeout_ms)
{
    zmq_pollitem_t it = {p->router, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, timeout_ms) != 1)
        return NULL;
    return mdp_msg_recv(p->router, 0, 64);
}

/* A reply to req (identity at frame 0): identity, "", proto, service, frames. */
static void peer_reply(struct peer *p, const struct mdp_msg *req, const char *proto, const char *service,
                       const char *const *frames)
{
    struct mdp_msg *m = mdp_msg_new();
    mdp_msg_addframe(m, req, 0);
    mdp_msg_add(m, "", 0);
    mdp_msg_addstr(m, proto);
    if (service)
        mdp_msg_addstr(m, service);
    for (size_t i = 0; frames && frames[i]; i++)
        mdp_msg_addstr(m, frames[i]);
    assert_int_equal(mdp_msg_send(m, p->router, 0), 0);
    mdp_msg_destroy(&m);
}

static void assert_frame(const struct mdp_msg *m, size_t i, const char *want)
{
    if (!mdp_msg_is(m, i, want)) {
        char *got = mdp_msg_strdup(m, i);
        fail_msg("frame %zu is \"%s\", want \"%s\"", i, got ? got : "(none)", want);
    }
}

static void test_client_request_frames_and_reply(void **state)
{
    struct peer *p = *state;
    struct client *c = client_new(p->ctx, EP);
    struct mdp_msg *body = mdp_msg_new();
    mdp_msg_addstr(body, "submission-bytes");
    mdp_msg_add(body, "\0\1\2", 3);
    assert_int_equal(client_send(c, "reportd.check", body), 0);
    struct mdp_msg *req = peer_recv(p, 2000);
    assert_non_null(req);
    /* identity, then exactly: "", "MDPC01", service, the body frames */
    assert_int_equal(req->n, 6);
    assert_true(mdp_msg_size(req, 0) > 0);
    assert_int_equal(mdp_msg_size(req, 1), 0);
    assert_frame(req, 2, "MDPC01");
    assert_frame(req, 3, "reportd.check");
    assert_frame(req, 4, "submission-bytes");
    assert_int_equal(mdp_msg_size(req, 5), 3);
    assert_memory_equal(mdp_msg_data(req, 5), "\0\1\2", 3);

    static const char *const answer[] = {"200", "result-bytes", NULL};
    peer_reply(p, req, "MDPC01", "reportd.check", answer);
    struct mdp_msg *rep = client_recv(c, 2000);
    assert_non_null(rep);
    assert_int_equal(rep->n, 3);                             /* service, then the body */
    assert_frame(rep, 0, "reportd.check");
    assert_frame(rep, 1, "200");
    assert_frame(rep, 2, "result-bytes");
    mdp_msg_destroy(&rep);

    /* no body: the request is the header alone */
    assert_int_equal(client_send(c, "mmi.service", NULL), 0);
    struct mdp_msg *bare = peer_recv(p, 2000);
    assert_int_equal(bare->n, 4);
    assert_frame(bare, 3, "mmi.service");
    assert_memory_equal(mdp_msg_data(bare, 0), mdp_msg_data(req, 0), mdp_msg_size(req, 0));   /* one socket */
    mdp_msg_destroy(&bare);
    mdp_msg_destroy(&req);
    mdp_msg_destroy(&body);
    client_destroy(&c);
    assert_null(c);
    client_destroy(&c);                                      /* NULL-safe */
}

/* What is not an MDPC01 reply is skipped; a timeout is NULL with EAGAIN. */
static void test_client_skips_malformed_replies(void **state)
{
    struct peer *p = *state;
    struct client *c = client_new(p->ctx, EP);
    assert_int_equal(client_send(c, "echo", NULL), 0);
    struct mdp_msg *req = peer_recv(p, 2000);
    assert_non_null(req);
    static const char *const ok[] = {"fine", NULL};
    peer_reply(p, req, "MDPW01", NULL, NULL);                /* a worker command */
    peer_reply(p, req, "MDPC02", "echo", ok);                /* another protocol */
    peer_reply(p, req, "MDPC01", NULL, NULL);                /* no service frame */
    peer_reply(p, req, "MDPC01", "echo", ok);
    struct mdp_msg *rep = client_recv(c, 2000);
    assert_non_null(rep);
    assert_int_equal(rep->n, 2);
    assert_frame(rep, 0, "echo");
    assert_frame(rep, 1, "fine");
    mdp_msg_destroy(&rep);
    errno = 0;
    assert_null(client_recv(c, 50));
    assert_int_equal(errno, EAGAIN);
    mdp_msg_destroy(&req);
    client_destroy(&c);
}

/* Several requests in flight on one DEALER, answered out of order. */
static void test_client_pipelined(void **state)
{
    struct peer *p = *state;
    struct client *c = client_new(p->ctx, EP);
    struct mdp_msg *reqs[3];
    for (int i = 0; i < 3; i++) {
        struct mdp_msg *b = mdp_msg_new();
        char n[8];
        snprintf(n, sizeof n, "job%d", i);
        mdp_msg_addstr(b, n);
        assert_int_equal(client_send(c, "reportd.check", b), 0);
        mdp_msg_destroy(&b);
    }
    for (int i = 0; i < 3; i++) {
        reqs[i] = peer_recv(p, 2000);
        assert_non_null(reqs[i]);
        char want[8];
        snprintf(want, sizeof want, "job%d", i);
        assert_frame(reqs[i], 4, want);
    }
    for (int i = 2; i >= 0; i--) {
        const char *f[] = {i == 2 ? "r2" : i == 1 ? "r1" : "r0", NULL};
        peer_reply(p, reqs[i], "MDPC01", "reportd.check", f);
    }
    for (int i = 2; i >= 0; i--) {
        struct mdp_msg *r = client_recv(c, 2000);
        assert_non_null(r);
        assert_frame(r, 1, i == 2 ? "r2" : i == 1 ? "r1" : "r0");
        mdp_msg_destroy(&r);
        mdp_msg_destroy(&reqs[i]);
    }
    client_destroy(&c);
}

/* The peer thread: drop the first `drop` requests (keeping them), answer the
 * next with "answer N"; then reply late to every dropped one. */
struct pirate {
    struct peer *p;
    int drop, seen;
    int idle_ms;                 /* how long it waits for the next request */
    size_t idlen[8];
    char id[8][256];
    char body[8][32];
};

static void *pirate_peer(void *arg)
{
    struct pirate *pr = arg;
    struct mdp_msg *kept[8] = {0};
    for (;;) {
        struct mdp_msg *m = peer_recv(pr->p, pr->idle_ms);
        if (!m)
            break;
        int k = pr->seen++;
        pr->idlen[k] = mdp_msg_size(m, 0) < 256 ? mdp_msg_size(m, 0) : 255;
        memcpy(pr->id[k], mdp_msg_data(m, 0), pr->idlen[k]);
        if (m->n > 4)
            snprintf(pr->body[k], sizeof pr->body[k], "%.*s", (int)mdp_msg_size(m, 4), (const char *)mdp_msg_data(m, 4));
        if (k < pr->drop) {
            kept[k] = m;
            continue;
        }
        for (int i = 0; i < k; i++) {                        /* late: to sockets already closed */
            const char *late[] = {"late", NULL};
            peer_reply(pr->p, kept[i], "MDPC01", "svc", late);
        }
        char a[32];
        snprintf(a, sizeof a, "answer %d", k);
        const char *f[] = {"200", a, NULL};
        peer_reply(pr->p, m, "MDPC01", "svc", f);
        mdp_msg_destroy(&m);
        break;
    }
    for (int i = 0; i < 8; i++)
        mdp_msg_destroy(&kept[i]);
    return NULL;
}

static void test_client_lazy_pirate_retries(void **state)
{
    struct peer *p = *state;
    struct pirate pr = {.p = p, .drop = 2, .idle_ms = 5000};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, pirate_peer, &pr), 0);
    struct client *c = client_new(p->ctx, EP);
    struct mdp_msg *body = mdp_msg_new();
    mdp_msg_addstr(body, "payload");
    char err[256] = "";
    struct mdp_msg *r = client_call(c, "svc", body, 500, 3, err, sizeof err);
    pthread_join(t, NULL);
    assert_non_null(r);
    assert_string_equal(err, "");
    assert_int_equal(r->n, 2);                               /* the body, without the service frame */
    assert_frame(r, 0, "200");
    assert_frame(r, 1, "answer 2");
    mdp_msg_destroy(&r);
    assert_int_equal(pr.seen, 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(pr.body[i], "payload");          /* the same request each time */
    /* each retry on a fresh socket: three identities */
    assert_false(pr.idlen[0] == pr.idlen[1] && !memcmp(pr.id[0], pr.id[1], pr.idlen[0]));
    assert_false(pr.idlen[1] == pr.idlen[2] && !memcmp(pr.id[1], pr.id[2], pr.idlen[1]));
    /* the late replies went to closed sockets: nothing more arrives */
    errno = 0;
    assert_null(client_recv(c, 100));
    assert_int_equal(errno, EAGAIN);
    mdp_msg_destroy(&body);
    client_destroy(&c);
}

static void test_client_gives_up_after_tries(void **state)
{
    struct peer *p = *state;
    struct pirate pr = {.p = p, .drop = 8, .idle_ms = 300};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, pirate_peer, &pr), 0);
    struct client *c = client_new(p->ctx, EP);
    char err[256] = "";
    struct mdp_msg *r = client_call(c, "svc", NULL, 100, 2, err, sizeof err);
    assert_null(r);
    assert_string_equal(err, "svc: no answer from " EP " after 2 tries of 100 ms");
    client_destroy(&c);
    pthread_join(t, NULL);                                   /* it waits 300 ms for a third */
    assert_int_equal(pr.seen, 2);
}

/* Lazy Pirate across brokers: the first endpoint is bound but silent; after
 * its timeout the request goes, unchanged, to the second, which answers. */
#define EP_SILENT "inproc://test-client-silent"

/* A ROUTER that takes requests and never answers. */
static void *silent_peer(struct peer *p)
{
    void *s = zmq_socket(p->ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_bind(s, EP_SILENT), 0);
    return s;
}

static void test_client_fails_over_to_next_endpoint(void **state)
{
    struct peer *p = *state;
    void *silent = silent_peer(p);
    struct pirate pr = {.p = p, .drop = 0, .idle_ms = 5000};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, pirate_peer, &pr), 0);
    struct client *c = client_new(p->ctx, EP_SILENT ", " EP);
    assert_string_equal(client_endpoint(c), EP_SILENT);
    struct mdp_msg *body = mdp_msg_new();
    mdp_msg_addstr(body, "payload");
    char err[256] = "";
    struct mdp_msg *r = client_call(c, "svc", body, 200, 3, err, sizeof err);
    pthread_join(t, NULL);
    assert_non_null(r);
    assert_string_equal(err, "");
    assert_int_equal(r->n, 2);
    assert_frame(r, 0, "200");
    assert_frame(r, 1, "answer 0");
    assert_string_equal(client_endpoint(c), EP);
    mdp_msg_destroy(&r);
    assert_int_equal(pr.seen, 1);                            /* the second broker: once */
    assert_string_equal(pr.body[0], "payload");
    /* the silent one had it first, exactly: identity, "", MDPC01, svc, payload */
    struct mdp_msg *first = NULL;
    zmq_pollitem_t it = {silent, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 2000), 1);
    first = mdp_msg_recv(silent, 0, 64);
    assert_non_null(first);
    assert_int_equal(first->n, 5);
    assert_int_equal(mdp_msg_size(first, 1), 0);
    assert_frame(first, 2, "MDPC01");
    assert_frame(first, 3, "svc");
    assert_frame(first, 4, "payload");
    mdp_msg_destroy(&first);
    assert_int_equal(zmq_poll(&it, 1, 0), 0);                /* and nothing more */
    /* round robin: the next reconnect goes back to the first */
    client_reconnect(c);
    assert_string_equal(client_endpoint(c), EP_SILENT);
    mdp_msg_destroy(&body);
    client_destroy(&c);
    zmq_close(silent);
}

/* Both silent: the budget is spent across the list, and the error names it. */
static void test_client_list_gives_up(void **state)
{
    struct peer *p = *state;
    void *silent = silent_peer(p);
    struct client *c = client_new(p->ctx, EP "," EP_SILENT ",");
    char err[256] = "";
    assert_null(client_call(c, "svc", NULL, 50, 3, err, sizeof err));
    assert_string_equal(err, "svc: no answer from " EP "," EP_SILENT ", after 3 tries of 50 ms");
    int got[2] = {0, 0};
    void *socks[2] = {p->router, silent};
    for (int i = 0; i < 2; i++) {
        zmq_pollitem_t it = {socks[i], 0, ZMQ_POLLIN, 0};
        while (zmq_poll(&it, 1, got[i] < (i == 0 ? 2 : 1) ? 2000 : 0) == 1) {
            struct mdp_msg *m = mdp_msg_recv(socks[i], 0, 64);
            assert_non_null(m);
            got[i]++;
            mdp_msg_destroy(&m);
        }
    }
    assert_int_equal(got[0], 2);                             /* tries 1 and 3 */
    assert_int_equal(got[1], 1);                             /* try 2 */
    client_destroy(&c);
    zmq_close(silent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_client_request_frames_and_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_skips_malformed_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_pipelined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_lazy_pirate_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_gives_up_after_tries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_fails_over_to_next_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_list_gives_up, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
