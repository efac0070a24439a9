/* reload: what a SIGHUP does with a new file — config_diff names the keys
 * that changed, split into those applied live and those needing a restart,
 * config_apply_live takes only the live ones — and the issue-4 keys' checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"
#include "base/util.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/reportd-reload-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static const char *write_file(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_reload_diff_live_and_restart(void **state)
{
    (void)state;
    char err[512], live[256], restart[256];
    struct config old, next;
    config_defaults(&old);
    config_defaults(&next);
    const char *p = write_file("c.yaml", "alerts:\n  statuses: [PASS, FAIL]\n"
                                         "broker:\n  publish: tcp://127.0.0.1:7777\n"
                                         "limits:\n  shutdown_timeout: 7\n"
                                         "log:\n  format: json\n"
                                         "metrics:\n  bind: 127.0.0.1:9464\n");
    assert_int_equal(config_load(&next, p, err, sizeof err), 0);
    assert_int_equal(config_diff(&old, &next, 1, live, sizeof live), 3);
    assert_string_equal(live, "alerts.statuses, log.format, limits.shutdown_timeout");
    assert_int_equal(config_diff(&old, &next, 0, restart, sizeof restart), 2);
    assert_string_equal(restart, "broker.publish, metrics.bind");
    config_apply_live(&old, &next);
    assert_int_equal(old.alert_statuses, (1u << 0) | (1u << 2));
    assert_int_equal(old.shutdown_timeout, 7);
    assert_string_equal(old.log_format, "json");
    assert_string_equal(old.publish_bind, "tcp://127.0.0.1:5556");     /* not applied */
    assert_string_equal(old.metrics_bind, "");
    assert_int_equal(config_diff(&old, &next, 1, live, sizeof live), 0);
    assert_string_equal(live, "");
    char addr[CONFIG_ADDR_MAX];
    int port;
    assert_int_equal(config_metrics_addr(&next, addr, &port), 0);
    assert_string_equal(addr, "127.0.0.1");
    assert_int_equal(port, 9464);
    free(next.metrics_bind);
    next.metrics_bind = xstrdup("[::1]:9465");      /* IPv6 in brackets */
    assert_int_equal(config_metrics_addr(&next, addr, &port), 0);
    assert_string_equal(addr, "::1");
    assert_int_equal(port, 9465);
    free(next.metrics_bind);
    next.metrics_bind = xstrdup("::1:9465");        /* without them: refused */
    assert_int_equal(config_metrics_addr(&next, addr, &port), -1);
    config_free(&old);
    config_free(&next);
}

static void test_reload_bad_values_named(void **state)
{
    (void)state;
    char err[512];
    struct config c;
    config_defaults(&c);
    assert_int_equal(c.shutdown_timeout, 30);
    const char *p = write_file("b.yaml", "limits:\n  shutdown_timeout: 0\n");
    assert_int_equal(config_load(&c, p, err, sizeof err), -1);
    assert_non_null(strstr(err, "b.yaml:2:21: limits.shutdown_timeout: 0 is out of range 1..3600"));
    p = write_file("m.yaml", "metrics:\n  bind: localhost:9464\n");
    assert_int_equal(config_load(&c, p, err, sizeof err), -1);
    assert_non_null(strstr(err, "m.yaml:2:9: metrics.bind: localhost:9464 is not IPV4-ADDRESS:PORT"));
    config_free(&c);
    config_defaults(&c);                        /* a failed load may leave c partly set */
    p = write_file("l.yaml", "log:\n  level: loud\n");
    assert_int_equal(config_load(&c, p, err, sizeof err), -1);
    assert_non_null(strstr(err, "l.yaml:2:10: log.level: loud is not error, warning, notice, info or debug"));
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reload_diff_live_and_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_bad_values_named, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
