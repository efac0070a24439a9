/* test_zap: CURVE with the ZAP allow-list, end to end in one process over
 * tcp://127.0.0.1 — the real broker (thread) with security.curve on, real
 * worker pools, reportd's client, and hand-made peers: an allowed client
 * submits; an unknown key, a peer without CURVE and raw bytes at the port are
 * refused while the allowed client keeps being served; the same for workers.
 * Also the key files (keygen, modes, no key material in the YAML). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "broker/broker.h"
#include "brokerfix.h"
#include "check/check.h"
#include "wire/client.h"
#include "conf/config.h"
#include "wire/keys.h"
#include "wire/mdp.h"
#include "report.pb-c.h"
#include "base/util.h"
#include "worker/worker.h"
#include "broker/zap.h"

#define EXAMPLE "examples/xiangxiang-minzheng-2024.txt"
#define SID "0b7c1f7e-2f0e-4e55-9d0c-5c1e6c9a0001"

struct fixture {
    struct brokerfix b;         /* the broker thread, context, spool directory */
    int port;
    int wstopfd;                /* worker pools */
    struct checker *chk;
    struct worker_pool *pools[4];
    struct config wcfg[4];      /* each pool's config: worker_start borrows it */
    char *wkey[4];
    int npools;
    struct curve_keys client;   /* c1: in the allow-list */
    struct curve_keys stranger; /* not in the allow-list */
    int nmon;
};

static int fixture_n;

static char *path_in(const struct fixture *f, const char *name)
{
    return xasprintf("%s/%s", f->b.dir, name);
}

static void keygen(const struct fixture *f, const char *name)
{
    char err[512] = "";
    char *base = path_in(f, name);
    if (keys_generate(base, err, sizeof err) != 0)
        fail_msg("keys_generate: %s", err);
    free(base);
}

static void load_client(const struct fixture *f, struct curve_keys *k, const char *name)
{
    char err[512] = "";
    char *sec = xasprintf("%s/%s.key", f->b.dir, name), *srv = path_in(f, "server.pub");
    if (keys_load_client(k, sec, srv, err, sizeof err) != 0)
        fail_msg("keys_load_client: %s", err);
    free(sec);
    free(srv);
}

static void allow(const struct fixture *f, const char *name)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cp %s/%s.pub %s/allow/", f->b.dir, name, f->b.dir);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    fixture_n++;
    f->port = 5000 + (int)(getpid() % 300) * 16 + fixture_n * 2;   /* below the ephemeral range */
    if (bf_init(&f->b, "test_zap", xasprintf("tcp://127.0.0.1:%d", f->port),
                xasprintf("tcp://127.0.0.1:%d", f->port + 1)) < 0)
        return -1;
    char *d = path_in(f, "allow");
    mkdir(d, 0755);
    free(d);
    keygen(f, "server");
    keygen(f, "w1");
    keygen(f, "c1");
    keygen(f, "stranger");
    allow(f, "w1");
    allow(f, "c1");
    load_client(f, &f->client, "c1");
    load_client(f, &f->stranger, "stranger");

    free(f->b.cfg.server_secret_key);
    free(f->b.cfg.server_public_key);
    free(f->b.cfg.client_secret_key);
    free(f->b.cfg.allow_dir);
    f->b.cfg.curve = 1;
    f->b.cfg.server_secret_key = path_in(f, "server.key");
    f->b.cfg.server_public_key = path_in(f, "server.pub");
    f->b.cfg.client_secret_key = path_in(f, "w1.key");
    f->b.cfg.allow_dir = path_in(f, "allow");
    f->b.cfg.heartbeat_ms = 100;
    f->b.cfg.reconnect_min_ms = 50;
    f->b.cfg.reconnect_max_ms = 200;
    f->b.cfg.batch_ms = 0;
    f->wstopfd = eventfd(0, 0);
    char err[512] = "";
    f->chk = checker_new(&(struct checker_options){.datadir = "config"}, err, sizeof err);
    if (!f->chk)
        fail_msg("checker_new: %s", err);
    *state = f;
    return bf_start(&f->b, 150000);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    eventfd_write(f->wstopfd, 1);
    for (int i = 0; i < f->npools; i++) {
        worker_join(&f->pools[i]);
        free(f->wkey[i]);
    }
    bf_stop(&f->b);
    int rc = bf_free(&f->b);
    close(f->wstopfd);
    checker_destroy(&f->chk);
    free(f);
    return rc;
}

/* A worker pool connecting with the secret key file `key` (NULL: no CURVE). */
static void start_workers(struct fixture *f, const char *key)
{
    char err[512] = "";
    assert_true(f->npools < 4);
    struct config *cfg = &f->wcfg[f->npools];
    *cfg = f->b.cfg;                          /* shallow: strings stay the fixture's */
    f->wkey[f->npools] = key ? xasprintf("%s/%s.key", f->b.dir, key) : NULL;
    cfg->curve = key != NULL;
    cfg->client_secret_key = f->wkey[f->npools];
    f->pools[f->npools] = worker_start(f->b.ctx, cfg, f->b.cfg.broker_bind, 1, f->chk, f->wstopfd,
                                       err, sizeof err);
    if (!f->pools[f->npools])
        fail_msg("worker_start: %s", err);
    f->npools++;
    usleep(300000);     /* the handshake, ZAP and READY, or the refusal */
}

static uint8_t *example_submission(size_t *len)
{
    char err[256];
    size_t n;
    char *text = util_read_file(EXAMPLE, 1 << 20, &n, err, sizeof err);
    if (!text)
        fail_msg("%s", err);
    Reportd__Submission s = REPORTD__SUBMISSION__INIT;
    Reportd__Document doc = REPORTD__DOCUMENT__INIT;
    Reportd__Body body = REPORTD__BODY__INIT;
    s.schema_version = 1;
    s.submission_id = (char *)SID;
    body.region_code = (char *)"430381";
    s.body = &body;
    doc.data.data = (uint8_t *)text;
    doc.data.len = n;
    s.content_case = REPORTD__SUBMISSION__CONTENT_DOCUMENT;
    s.document = &doc;
    *len = reportd__submission__get_packed_size(&s);
    uint8_t *buf = xmalloc(*len);
    reportd__submission__pack(&s, buf);
    free(text);
    return buf;
}

/* The allowed client: mmi.service report.check answers `want` ("200"/"404");
 * "200" may take a while (a worker's handshake, slower under valgrind). */
static int mmi_is(struct fixture *f, const char *want);
static void assert_mmi(struct fixture *f, const char *want)
{
    for (int i = 0; strcmp(want, "200") == 0 && i < 50; i++) {
        if (mmi_is(f, want))
            return;
        usleep(100000);
    }
    if (!mmi_is(f, want))
        fail_msg("mmi.service report.check: expected %s", want);
}

static int mmi_is(struct fixture *f, const char *want)
{
    char err[256];
    struct client *c = client_new(f->b.ctx, f->b.cfg.broker_bind);
    client_use_curve(c, &f->client);
    struct mdp_msg *body = mdp_msg_new();
    mdp_msg_addstr(body, "report.check");
    struct mdp_msg *r = client_call(c, "mmi.service", body, 3000, 1, err, sizeof err);
    int ok = r && mdp_msg_is(r, 0, want);
    if (!r)
        print_message("allowed client: %s\n", err);
    mdp_msg_destroy(&r);
    mdp_msg_destroy(&body);
    client_destroy(&c);         /* before any failure: an open socket blocks ctx_term */
    return ok;
}

/* The allowed client submits the example and gets its FAIL Result. */
static void assert_submit_served(struct fixture *f)
{
    char err[256];
    size_t len;
    uint8_t *sub = example_submission(&len);
    struct client *c = client_new(f->b.ctx, f->b.cfg.broker_bind);
    client_use_curve(c, &f->client);
    struct mdp_msg *body = mdp_msg_new();
    mdp_msg_add(body, sub, len);
    struct mdp_msg *r = client_call(c, "report.check", body, 10000, 1, err, sizeof err);
    mdp_msg_destroy(&body);
    client_destroy(&c);         /* before any failure: an open socket blocks ctx_term */
    free(sub);
    if (!r)
        fail_msg("allowed client: %s", err);
    Reportd__Result *res = reportd__result__unpack(NULL, mdp_msg_size(r, 0), mdp_msg_data(r, 0));
    assert_non_null(res);
    assert_string_equal(res->submission_id, SID);
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_FAIL);
    reportd__result__free_unpacked(res, NULL);
    mdp_msg_destroy(&r);
}

static void *track(struct fixture *f, void *s)
{
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    return bf_keep(&f->b, s);
}

/* A DEALER to the broker (CURVE with k, or none when k is NULL) and a PAIR
 * receiving its socket monitor's events. */
static void *dealer_monitored(struct fixture *f, const struct curve_keys *k, void **mon)
{
    void *s = track(f, zmq_socket(f->b.ctx, ZMQ_DEALER));
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://test-zap-mon-%d-%d", fixture_n, f->nmon++);
    assert_int_equal(zmq_socket_monitor(s, ep, ZMQ_EVENT_ALL), 0);
    *mon = track(f, zmq_socket(f->b.ctx, ZMQ_PAIR));
    assert_int_equal(zmq_connect(*mon, ep), 0);
    assert_int_equal(keys_apply_client(s, k), 0);
    assert_int_equal(zmq_connect(s, f->b.cfg.broker_bind), 0);
    return s;
}

/* Wait up to ms for monitor event `want`; returns its value, or -1. */
static long wait_event(void *mon, int want, int ms)
{
    for (int waited = 0; waited < ms; waited += 20) {
        zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 20) <= 0)
            continue;
        uint8_t ev[6];
        char addr[256];
        int n = zmq_recv(mon, ev, sizeof ev, 0);
        zmq_recv(mon, addr, sizeof addr, 0);
        if (n != 6)
            continue;
        uint16_t id;
        uint32_t value;
        memcpy(&id, ev, 2);
        memcpy(&value, ev + 2, 4);
        if (id == want)
            return (long)value;
    }
    return -1;
}

static int answered_within(void *s, int ms)
{
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    return zmq_poll(&it, 1, ms) > 0;
}

static void send_mmi(void *s)
{
    struct mdp_msg *m = mdp_client_cmd(NULL, 0, "mmi.service");
    mdp_msg_addstr(m, "report.check");
    mdp_msg_send(m, s, ZMQ_DONTWAIT);
    mdp_msg_destroy(&m);
}

static void test_zap_allowed_client_submits(void **state)
{
    struct fixture *f = *state;
    start_workers(f, "w1");
    assert_mmi(f, "200");
    /* the publication is CURVE too: an allowed SUB gets the Result */
    void *sub = track(f, zmq_socket(f->b.ctx, ZMQ_SUB));
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "result.43.", 10);
    assert_int_equal(keys_apply_client(sub, &f->client), 0);
    assert_int_equal(zmq_connect(sub, f->b.cfg.publish_bind), 0);
    usleep(200000);
    assert_submit_served(f);
    assert_true(answered_within(sub, 3000));
    char topic[64] = "";
    int n = zmq_recv(sub, topic, sizeof topic - 1, 0);
    assert_true(n > 0);
    topic[n] = '\0';
    assert_string_equal(topic, "result.43.4303.430381");
}

static void test_zap_refuses_unknown_client_key(void **state)
{
    struct fixture *f = *state;
    start_workers(f, "w1");
    void *mon;
    void *s = dealer_monitored(f, &f->stranger, &mon);
    /* RFC 27: the handler's 400 reaches the client as an ERROR command */
    assert_int_equal(wait_event(mon, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 3000), 400);
    send_mmi(s);
    assert_false(answered_within(s, 500));
    assert_submit_served(f);
}

static void test_zap_refuses_client_without_curve(void **state)
{
    struct fixture *f = *state;
    start_workers(f, "w1");
    void *mon;
    void *s = dealer_monitored(f, NULL, &mon);
    /* NULL against a CURVE server: a mechanism mismatch, refused in the handshake */
    assert_int_equal(wait_event(mon, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, 3000),
                     ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH);
    send_mmi(s);
    assert_false(answered_within(s, 500));
    /* nor may it subscribe */
    void *sub = track(f, zmq_socket(f->b.ctx, ZMQ_SUB));
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    assert_int_equal(zmq_connect(sub, f->b.cfg.publish_bind), 0);
    usleep(200000);
    assert_submit_served(f);
    assert_false(answered_within(sub, 300));
}

/* Raw TCP: whatever bytes are written, the broker closes the connection. */
static void test_zap_refuses_raw_tcp_bytes(void **state)
{
    struct fixture *f = *state;
    start_workers(f, "w1");
    static const char *const junk[] = {
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        /* a ZMTP 3.0 greeting asking for NULL, then a READY */
        "\xff\0\0\0\0\0\0\0\x01\x7f\x03\x00NULL",
        "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
    };
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
        size_t n = i == 2 ? 38 : i == 1 ? 16 : strlen(junk[i]);
        char big[65536];
        memset(big, 0xa5, sizeof big);
        ssize_t w = write(fd, junk[i], n);
        assert_true(w > 0);
        w = write(fd, big, sizeof big);     /* may fail once the broker closed */
        (void)w;
        /* read until the broker closes: EOF or a reset within 3 s */
        int closed = 0;
        for (int t = 0; t < 150 && !closed; t++) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, 20) <= 0)
                continue;
            char buf[512];
            ssize_t r = read(fd, buf, sizeof buf);
            closed = r == 0 || (r < 0 && errno == ECONNRESET);
        }
        close(fd);
        assert_true(closed);
    }
    assert_submit_served(f);
}

static void test_zap_refuses_unknown_worker(void **state)
{
    struct fixture *f = *state;
    start_workers(f, "stranger");
    start_workers(f, NULL);                 /* and one without CURVE */
    usleep(300000);
    assert_mmi(f, "404");                   /* neither registered */
    start_workers(f, "w1");
    assert_mmi(f, "200");
    assert_submit_served(f);
}

/* A key file added to the directory admits its peer without a restart. */
static void test_zap_allow_list_reloads(void **state)
{
    struct fixture *f = *state;
    void *mon;
    void *s = dealer_monitored(f, &f->stranger, &mon);
    assert_int_equal(wait_event(mon, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 3000), 400);
    zmq_close(s);
    f->b.socks[f->b.nsocks - 2] = NULL;
    sleep(1);                               /* a new directory mtime, even on coarse clocks */
    allow(f, "stranger");
    s = dealer_monitored(f, &f->stranger, &mon);
    assert_true(wait_event(mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 3000) >= 0);
    send_mmi(s);
    assert_true(answered_within(s, 2000));
}

static void test_zap_key_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_zap_keys.XXXXXX", err[512] = "";
    assert_non_null(mkdtemp(dir));
    char *base = xasprintf("%s/k", dir), *sec = xasprintf("%s/k.key", dir),
         *pub = xasprintf("%s/k.pub", dir);
    assert_int_equal(keys_generate(base, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(sec, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* never overwritten */
    assert_int_equal(keys_generate(base, err, sizeof err), -1);
    assert_non_null(strstr(err, "File exists"));
    char k[KEYS_Z85_LEN + 1];
    assert_int_equal(keys_read(pub, 0, k, err, sizeof err), 0);
    assert_int_equal(strlen(k), 40);
    /* a secret key others may read is refused */
    chmod(sec, 0644);
    assert_int_equal(keys_read(sec, 1, k, err, sizeof err), -1);
    assert_non_null(strstr(err, "must not be readable by group or others"));
    /* not a key */
    FILE *fp = fopen(pub, "w");
    fputs("hello\n", fp);
    fclose(fp);
    assert_int_equal(keys_read(pub, 0, k, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a CURVE key"));
    /* relative names are looked up in $CREDENTIALS_DIRECTORY */
    setenv("CREDENTIALS_DIRECTORY", "/run/credentials/reportd-broker.service", 1);
    char *p = keys_path("server.key");
    assert_string_equal(p, "/run/credentials/reportd-broker.service/server.key");
    free(p);
    p = keys_path("/etc/reportd/keys/server.key");
    assert_string_equal(p, "/etc/reportd/keys/server.key");
    free(p);
    unsetenv("CREDENTIALS_DIRECTORY");
    /* key material in the YAML is refused */
    char *yaml = xasprintf("%s/c.yaml", dir);
    fp = fopen(yaml, "w");
    fprintf(fp, "security:\n  curve: true\n  client_secret_key: \"%s\"\n", k);
    fclose(fp);
    struct config cfg;
    config_defaults(&cfg);
    assert_int_equal(config_load(&cfg, yaml, err, sizeof err), -1);
    assert_non_null(strstr(err, "security.client_secret_key: looks like a key, not a file name"));
    config_free(&cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(yaml);
    free(base);
    free(sec);
    free(pub);
}

int main(void)
{
    if (getenv("TEST_FILTER"))
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zap_key_files),
        cmocka_unit_test_setup_teardown(test_zap_allowed_client_submits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zap_refuses_unknown_client_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zap_refuses_client_without_curve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zap_refuses_raw_tcp_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zap_refuses_unknown_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zap_allow_list_reloads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
