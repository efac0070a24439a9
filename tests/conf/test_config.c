/* test_config: the documented default file loads clean and holds every key of
 * the table with its default, the README's key table is the table, and each
 * kind of mistake is reported as file:line:column with an actionable message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "base/ydoc.h"
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

/* A node as flow text: "x", "[A, B]", "{k: v}" — to compare a default with
 * the file's value whatever style either is written in. */
static void render(struct ydoc *y, yaml_node_t *n, struct buf *b)
{
    if (n->type == YAML_SCALAR_NODE) {
        buf_puts(b, (const char *)n->data.scalar.value);
    } else if (n->type == YAML_SEQUENCE_NODE) {
        buf_puts(b, "[");
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
            buf_puts(b, it == n->data.sequence.items.start ? "" : ", ");
            render(y, yaml_document_get_node(&y->doc, *it), b);
        }
        buf_puts(b, "]");
    } else {
        buf_puts(b, "{");
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            buf_puts(b, p == n->data.mapping.pairs.start ? "" : ", ");
            render(y, yaml_document_get_node(&y->doc, p->key), b);
            buf_puts(b, ": ");
            render(y, yaml_document_get_node(&y->doc, p->value), b);
        }
        buf_puts(b, "}");
    }
}

/* The node at a dotted path, or NULL. */
static yaml_node_t *at_path(struct ydoc *y, const char *path)
{
    yaml_node_t *n = ydoc_root(y);
    char *copy = xstrdup(path), *save = NULL;
    for (char *part = strtok_r(copy, ".", &save); part && n; part = strtok_r(NULL, ".", &save))
        n = ydoc_get(y, n, part);
    free(copy);
    return n;
}

/* A file of the tree, whole; *len its length. */
static char *slurp(const char *path, size_t *len)
{
    char err[512] = "";
    char *text = util_read_file(path, 1u << 22, len, err, sizeof err);
    if (!text)
        fail_msg("%s", err);
    return text;
}

static void test_config_default_file_documents_every_key(void **state)
{
    (void)state;
    char err[512] = "";
    size_t len, nkeys;
    char *text = slurp("config/reportd.yaml", &len);
    struct ydoc file;
    assert_int_equal(ydoc_load(&file, "config/reportd.yaml", text, len, 10000, err, sizeof err), 0);
    const struct config_key *k = config_keys(&nkeys);
    assert_true(nkeys >= 28);
    for (size_t i = 0; i < nkeys; i++) {
        yaml_node_t *n = at_path(&file, k[i].path);
        if (!n)
            fail_msg("config/reportd.yaml does not document %s", k[i].path);
        struct ydoc def;
        assert_int_equal(ydoc_load(&def, "default", k[i].def, strlen(k[i].def), 100, err, sizeof err), 0);
        struct buf want = {0}, got = {0};
        render(&def, ydoc_root(&def), &want);
        render(&file, n, &got);
        buf_puts(&want, "");
        buf_puts(&got, "");
        if (strcmp(want.data, got.data) != 0)
            fail_msg("%s: the table's default is %s, config/reportd.yaml says %s", k[i].path,
                     want.data, got.data);
        buf_free(&want);
        buf_free(&got);
        ydoc_free(&def);
        assert_non_null(k[i].doc);
    }
    ydoc_free(&file);
    free(text);
}

/* The README's configuration table, row by row, is the key table. */
static void test_config_readme_lists_every_key(void **state)
{
    (void)state;
    size_t len, nkeys;
    char *readme = slurp("README.md", &len);
    const struct config_key *k = config_keys(&nkeys);
    for (size_t i = 0; i < nkeys; i++) {
        char range[64] = "";
        if (k[i].type == CONFIG_INT || k[i].type == CONFIG_LONG)
            snprintf(range, sizeof range, " %ld..%ld", k[i].min, k[i].max);
        for (size_t j = 0; k[i].choices && k[i].choices[j]; j++)
            snprintf(range + strlen(range), sizeof range - strlen(range), "%s%s", j ? ", " : ": ",
                     k[i].choices[j]);
        char *row = xasprintf("| `%s` | %s%s | `%s` | %s | %s |\n", k[i].path,
                              config_type_name(k[i].type), range, k[i].def,
                              k[i].live ? "reload" : "restart", k[i].doc);
        if (!strstr(readme, row))
            fail_msg("README.md lacks the row\n%s", row);
        free(row);
    }
    free(readme);
}

/* reportd --check-config on the documented default: "configuration OK", 0. */
static void test_config_check_config_of_default_file(void **state)
{
    (void)state;
    const char *b = getenv("REPORTD_BUILD");
    char *cmd = xasprintf("%s/reportd --check-config config/reportd.yaml 2>&1", b ? b : "build");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[256] = "";
    assert_non_null(fgets(line, sizeof line, p));
    assert_string_equal(line, "configuration OK\n");
    assert_int_equal(pclose(p), 0);
    free(cmd);
}

static void test_config_empty_file_keeps_defaults(void **state)
{
    (void)state;
    struct config c;
    assert_null(load_text("# nothing set\n", &c));
    assert_int_equal(c.threads, 2);
    assert_string_equal(c.log_level, "info");
    config_free(&c);
    assert_null(load_text("", &c));
    assert_int_equal(c.heartbeat_ms, 2500);
    config_free(&c);
}

static void test_config_string_checks_have_line_and_column(void **state)
{
    (void)state;
    static const struct {
        const char *text, *error;
    } cases[] = {
        {"broker:\n  bind: udp://127.0.0.1:1\n",
         "2:9: broker.bind: udp://127.0.0.1:1 is not a tcp://, ipc:// or inproc:// endpoint"},
        {"log:\n  format: xml\n", "2:11: log.format: xml is not text or json"},
        {"security:\n  curve: maybe\n", "2:10: security.curve: expected true or false"},
        {"rules:\n  severity:\n    R-S3-ROWSUM: loud\n",
         "3:18: rules.severity: loud is not notice, warning or error"},
        {"worker:\n  reconnect_min_ms: 500\n  reconnect_max_ms: 400\n",
         " worker.reconnect_max_ms is below reconnect_min_ms"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct config c;
        assert_string_equal(load_text(cases[i].text, &c), cases[i].error);
        config_free(&c);
    }
}

/* worker.connect: a string, a comma-separated string or a YAML sequence,
 * kept as "EP,EP"; every item checked, with its line and column. */
static void test_config_worker_connect_takes_a_list(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "worker:\n  connect: tcp://127.0.0.1:7001\n",
        "worker:\n  connect: [tcp://127.0.0.1:7001, ipc:///run/b]\n",
        "worker:\n  connect:\n    - tcp://127.0.0.1:7001\n    - ipc:///run/b\n",
        "worker:\n  connect: tcp://127.0.0.1:7001,ipc:///run/b\n",
        "worker:\n  connect: [tcp://127.0.0.1:7001, udp://x:1]\n",
        "worker:\n  connect: []\n",
        "worker:\n  connect: tcp://127.0.0.1:7001,udp://x:1\n",
        "worker:\n  connect: [tcp://127.0.0.1:7001, {a: b}]\n",
    };
    static const char *const want[] = {
        "tcp://127.0.0.1:7001", "tcp://127.0.0.1:7001,ipc:///run/b",
        "tcp://127.0.0.1:7001,ipc:///run/b", "tcp://127.0.0.1:7001,ipc:///run/b",
        "2:35: worker.connect: udp://x:1 is not a tcp://, ipc:// or inproc:// endpoint",
        "2:12: worker.connect: an empty list",
        "2:12: worker.connect: udp://x:1 is not a tcp://, ipc:// or inproc:// endpoint",
        "2:35: worker.connect: expected an endpoint",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        struct config c;
        const char *err = load_text(texts[i], &c);
        if (strncmp(want[i], "2:", 2) == 0) {
            assert_non_null(err);
            assert_string_equal(err, want[i]);
        } else {
            assert_null(err);
            assert_string_equal(c.worker_connect, want[i]);
        }
        config_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_worker_connect_takes_a_list),
        cmocka_unit_test(test_config_default_file_is_valid),
        cmocka_unit_test(test_config_values_override_defaults),
        cmocka_unit_test(test_config_errors_have_line_and_column),
        cmocka_unit_test(test_config_default_file_documents_every_key),
        cmocka_unit_test(test_config_readme_lists_every_key),
        cmocka_unit_test(test_config_check_config_of_default_file),
        cmocka_unit_test(test_config_empty_file_keeps_defaults),
        cmocka_unit_test(test_config_string_checks_have_line_and_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
