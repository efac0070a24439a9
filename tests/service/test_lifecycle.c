/* test_lifecycle: what the service manager receives, as datagrams on a socket
 * the test binds and names in $NOTIFY_SOCKET — READY=1 with the first STATUS=,
 * STATUS= only when the line changes, RELOADING=1/READY=1, STOPPING=1 with
 * EXTEND_TIMEOUT_USEC and the draining status, WATCHDOG=1 at half of
 * $WATCHDOG_USEC (and not for another process's $WATCHDOG_PID), for a worker
 * process and for a broker. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "brokerfix.h"
#include "conf/config.h"
#include "service/lifecycle.h"

struct manager {
    int fd;
    char path[64];
    struct config cfg;
};

static int setup(void **state)
{
    struct manager *m = xcalloc(1, sizeof *m);
    snprintf(m->path, sizeof m->path, "/tmp/test_lifecycle-%d.sock", (int)getpid());
    unlink(m->path);
    m->fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", m->path);
    if (bind(m->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        return -1;
    setenv("NOTIFY_SOCKET", m->path, 1);
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    config_defaults(&m->cfg);
    *state = m;
    return 0;
}

static int teardown(void **state)
{
    struct manager *m = *state;
    close(m->fd);
    unlink(m->path);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    config_free(&m->cfg);
    free(m);
    return 0;
}

/* The next datagram, "" when none is waiting. */
static const char *next(struct manager *m)
{
    static char buf[512];
    ssize_t n = recv(m->fd, buf, sizeof buf - 1, MSG_DONTWAIT);
    if (n < 0) {
        assert_int_equal(errno, EAGAIN);
        n = 0;
    }
    buf[n] = '\0';
    return buf;
}

static void test_lifecycle_worker_ready_reload_stop(void **state)
{
    struct manager *m = *state;
    struct lifecycle *l = lifecycle_new(NULL, NULL, &m->cfg);
    assert_int_equal(lifecycle_tick_ms(l), 1000);            /* no watchdog */
    lifecycle_ready(l);
    assert_string_equal(next(m), "READY=1\nSTATUS=serving: worker, 0 requests answered");
    assert_string_equal(next(m), "");                        /* the tick after READY: no change */
    lifecycle_tick(l);
    lifecycle_tick(l);
    assert_string_equal(next(m), "");                        /* STATUS= only when it changes */
    lifecycle_reloading(l, 0);
    assert_string_equal(next(m), "RELOADING=1");
    lifecycle_reloading(l, 1);
    assert_string_equal(next(m), "READY=1");

    lifecycle_stopping(l, 30000);
    assert_string_equal(next(m), "STOPPING=1\nEXTEND_TIMEOUT_USEC=35000000");   /* drain + 5 s */
    assert_string_equal(next(m), "STATUS=draining: worker, 0 requests answered");
    const char *ext = next(m);
    assert_memory_equal(ext, "EXTEND_TIMEOUT_USEC=", 20);
    long long us = atoll(ext + 20);
    assert_true(us <= 35000000 && us > 30000000);            /* the time left + 5 s */
    assert_int_equal(us % 1000, 0);
    lifecycle_tick(l);                                       /* each tick while draining */
    assert_memory_equal(next(m), "EXTEND_TIMEOUT_USEC=", 20);
    assert_string_equal(next(m), "");
    lifecycle_destroy(&l);
    assert_null(l);
    lifecycle_destroy(&l);                                   /* NULL-safe */
}

static void test_lifecycle_watchdog(void **state)
{
    struct manager *m = *state;
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    setenv("WATCHDOG_USEC", "1000000", 1);                   /* 1 s: ping every 500 ms */
    setenv("WATCHDOG_PID", pid, 1);
    struct lifecycle *l = lifecycle_new(NULL, NULL, &m->cfg);
    assert_int_equal(lifecycle_tick_ms(l), 250);             /* half the ping interval */
    lifecycle_tick(l);                                       /* not due yet: only the status */
    assert_string_equal(next(m), "STATUS=serving: worker, 0 requests answered");
    assert_string_equal(next(m), "");
    usleep(450000);                                          /* due within half a tick */
    lifecycle_tick(l);
    assert_string_equal(next(m), "WATCHDOG=1");
    assert_string_equal(next(m), "");
    lifecycle_tick(l);                                       /* just pinged: not again */
    assert_string_equal(next(m), "");
    lifecycle_destroy(&l);

    setenv("WATCHDOG_USEC", "10000", 1);                     /* 10 ms: the tick floor */
    l = lifecycle_new(NULL, NULL, &m->cfg);
    assert_int_equal(lifecycle_tick_ms(l), 5);
    lifecycle_destroy(&l);

    setenv("WATCHDOG_PID", "1", 1);                          /* another process's watchdog */
    setenv("WATCHDOG_USEC", "1000000", 1);
    l = lifecycle_new(NULL, NULL, &m->cfg);
    assert_int_equal(lifecycle_tick_ms(l), 1000);            /* no watchdog for us */
    lifecycle_tick(l);
    assert_string_equal(next(m), "STATUS=serving: worker, 0 requests answered");
    assert_string_equal(next(m), "");                        /* no WATCHDOG=1 */
    lifecycle_destroy(&l);
}

/* Without $NOTIFY_SOCKET nothing is sent, and nothing fails. */
static void test_lifecycle_outside_systemd(void **state)
{
    struct manager *m = *state;
    unsetenv("NOTIFY_SOCKET");
    struct lifecycle *l = lifecycle_new(NULL, NULL, &m->cfg);
    lifecycle_ready(l);
    lifecycle_stopping(l, 1000);
    lifecycle_tick(l);
    assert_string_equal(next(m), "");
    lifecycle_destroy(&l);
}

static void test_lifecycle_broker_status(void **state)
{
    struct manager *m = *state;
    struct brokerfix bf = {0};
    char ep[64], pub[64];
    snprintf(ep, sizeof ep, "inproc://test-lifecycle-%d", (int)getpid());
    snprintf(pub, sizeof pub, "inproc://test-lifecycle-pub-%d", (int)getpid());
    assert_int_equal(bf_init(&bf, "test_lifecycle", xstrdup(ep), xstrdup(pub)), 0);
    char err[256] = "";
    struct broker *b = broker_new(bf.ctx, &bf.cfg, NULL, err, sizeof err);
    if (!b)
        fail_msg("broker_new: %s", err);
    struct lifecycle *l = lifecycle_new(b, NULL, &bf.cfg);
    lifecycle_ready(l);
    assert_string_equal(next(m), "READY=1\nSTATUS=serving: backlog 0, in flight 0, workers 0, "
                                 "results 0, last seq 0");
    assert_string_equal(next(m), "");
    lifecycle_stopping(l, 2000);
    assert_string_equal(next(m), "STOPPING=1\nEXTEND_TIMEOUT_USEC=7000000");
    assert_string_equal(next(m), "STATUS=draining: backlog 0, in flight 0, workers 0, "
                                 "results 0, last seq 0");
    assert_memory_equal(next(m), "EXTEND_TIMEOUT_USEC=", 20);
    lifecycle_destroy(&l);
    broker_destroy(&b);
    assert_int_equal(bf_free(&bf), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lifecycle_worker_ready_reload_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle_watchdog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle_outside_systemd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle_broker_status, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
