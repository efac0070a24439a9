/* test_config: the documented default file loads clean, and each kind of
 * mistake is reported as file:line:column with an actionable message. */
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

static const char *load_text(const char *text, struct config *c)
{
    static char err[512];
    char path[] = "/tmp/test_config.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    config_defaults(c);
    err[0] = '\0';
    int rc = config_load(c, path, err, sizeof err);
    unlink(path);
    if (rc == 0)
        return NULL;
    /* drop the random file name: tests compare from the line number on */
    char *colon = strchr(err, ':');
    return colon ? colon + 1 : err;
}

static void test_config_default_file_is_valid(void **state)
{
    (void)state;
    struct config c;
    char err[512] = "";
    config_defaults(&c);
    assert_int_equal(config_load(&c, "config/reportd.yaml", err, sizeof err), 0);
    assert_string_equal(c.broker_bind, "tcp://127.0.0.1:5555");
    assert_int_equal(c.max_attempts, 3);
    assert_int_equal(c.alert_statuses, 1u << 2);
    config_free(&c);
}

static void test_config_values_override_defaults(void **state)
{
    (void)state;
    struct config c;
    assert_null(load_text("worker:\n  threads: 4\nalerts:\n  statuses: [FAIL, REJECTED]\n"
                          "rules:\n  severity:\n    R-S3-ROWSUM: warning\n    R-STRUCT-LABEL: error\n", &c));
    assert_int_equal(c.threads, 4);
    assert_int_equal(c.alert_statuses, (1u << 2) | (1u << 3));
    assert_int_equal(c.noverrides, 2);
    assert_string_equal(c.override_rules[0], "R-S3-ROWSUM");
    assert_int_equal(c.override_severities[0], 1);
    assert_string_equal(c.override_rules[1], "R-STRUCT-LABEL");
    assert_int_equal(c.override_severities[1], 2);
    config_free(&c);
}

static void test_config_errors_have_line_and_column(void **state)
{
    (void)state;
    struct config c;
    assert_string_equal(load_text("broker:\n  bnd: tcp://x:1\n", &c),
                        "2:3: unknown key broker.bnd");
    config_free(&c);
    assert_string_equal(load_text("spool:\n  max_attempts: 0\n", &c),
                        "2:17: spool.max_attempts: 0 is out of range 1..1000");
    config_free(&c);
    assert_string_equal(load_text("heartbeat:\n  interval_ms: fast\n", &c),
                        "2:16: heartbeat.interval_ms: expected an integer");
    config_free(&c);
    assert_string_equal(load_text("alerts:\n  statuses: [FAIL, LOUD]\n", &c),
                        "2:20: alerts.statuses: LOUD is not PASS, WARN, FAIL or REJECTED");
    config_free(&c);
    assert_string_equal(load_text("worker: [1]\n", &c), "1:9: worker: expected a mapping");
    config_free(&c);
    assert_string_equal(load_text("rules:\n  severity:\n    R-NOPE: warning\n", &c),
                        "3:5: rules.severity: R-NOPE is not a rule reportd checks (R-S3-ROWSUM, …)");
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_default_file_is_valid),
        cmocka_unit_test(test_config_values_override_defaults),
        cmocka_unit_test(test_config_errors_have_line_and_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
