/* notify: the sd_notify datagrams as a service manager receives them, on a
 * socket path and on an abstract socket, and $WATCHDOG_USEC/$WATCHDOG_PID. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/notify.h"

/* A manager's socket bound at name ('@': abstract). */
static int manager(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(name);
    memcpy(sa.sun_path, name, n);
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    assert_int_equal(bind(fd, (struct sockaddr *)&sa,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)), 0);
    return fd;
}

static void expect(int fd, const char *state)
{
    char buf[512];
    ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
    assert_true(n >= 0);
    buf[n] = '\0';
    assert_string_equal(buf, state);
}

static void test_notify_path_and_abstract(void **state)
{
    (void)state;
    char err[256], path[64], abstract[64];
    snprintf(path, sizeof path, "/tmp/reportd-notify-%d", (int)getpid());
    snprintf(abstract, sizeof abstract, "@reportd-notify-%d", (int)getpid());
    unlink(path);
    int a = manager(path), b = manager(abstract);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(notify_send("READY=1\nSTATUS=serving", err, sizeof err), 1);
    expect(a, "READY=1\nSTATUS=serving");
    setenv("NOTIFY_SOCKET", abstract, 1);
    assert_int_equal(notify_sendf(err, sizeof err, "EXTEND_TIMEOUT_USEC=%d", 5000000), 1);
    expect(b, "EXTEND_TIMEOUT_USEC=5000000");
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    assert_int_equal(notify_send("READY=1", err, sizeof err), -1);
    assert_non_null(strstr(err, "relative/path"));
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(notify_send("READY=1", err, sizeof err), 0);
    close(a);
    close(b);
    unlink(path);
}

static void test_notify_watchdog_usec(void **state)
{
    (void)state;
    char pid[32];
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    assert_int_equal(notify_watchdog_usec(), 0);
    setenv("WATCHDOG_USEC", "20000000", 1);
    assert_int_equal(notify_watchdog_usec(), 20000000);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    assert_int_equal(notify_watchdog_usec(), 20000000);
    setenv("WATCHDOG_PID", "1", 1);             /* meant for another process */
    assert_int_equal(notify_watchdog_usec(), 0);
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "20s", 1);
    assert_int_equal(notify_watchdog_usec(), 0);
    unsetenv("WATCHDOG_USEC");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_path_and_abstract),
        cmocka_unit_test(test_notify_watchdog_usec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
