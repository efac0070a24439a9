/* metrics: the exact text format, and the HTTP endpoints answering for real
 * on a loopback port (a plain socket client: no HTTP library on this side). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/metrics.h"
#include "base/util.h"
#include "httpget.h"

static void test_metrics_render_exact(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    static const char *const statuses[] = {"PASS", "FAIL"};
    static const double bounds[] = {0.001, 0.01};
    int res = metrics_counter(m, "reportd_results_total", "Results by status.", "status", statuses, 2);
    int q = metrics_gauge(m, "reportd_queue_depth", "Jobs waiting.\nfor a worker");
    int lat = metrics_histogram(m, "reportd_check_seconds", "Check latency.", bounds, 2);
    assert_true(res >= 0 && q >= 0 && lat >= 0);
    metrics_add(m, res + 1, 3);
    metrics_set(m, q, 7);
    metrics_observe(m, lat, 0.0005);
    metrics_observe(m, lat, 0.005);
    metrics_observe(m, lat, 5);
    size_t len;
    char *text = metrics_render(m, &len);
    assert_string_equal(text,
        "# HELP reportd_results_total Results by status.\n"
        "# TYPE reportd_results_total counter\n"
        "reportd_results_total{status=\"PASS\"} 0\n"
        "reportd_results_total{status=\"FAIL\"} 3\n"
        "# HELP reportd_queue_depth Jobs waiting.\\nfor a worker\n"
        "# TYPE reportd_queue_depth gauge\n"
        "reportd_queue_depth 7\n"
        "# HELP reportd_check_seconds Check latency.\n"
        "# TYPE reportd_check_seconds histogram\n"
        "reportd_check_seconds_bucket{le=\"0.001\"} 1\n"
        "reportd_check_seconds_bucket{le=\"0.01\"} 2\n"
        "reportd_check_seconds_bucket{le=\"+Inf\"} 3\n"
        "reportd_check_seconds_sum 5.005500000\n"
        "reportd_check_seconds_count 3\n");
    assert_int_equal(len, strlen(text));
    assert_int_equal(metrics_get(m, res + 1), 3);
    free(text);
    assert_int_equal(metrics_gauge(m, "bad name", "x"), -1);
    static const double down[] = {2, 1};
    assert_int_equal(metrics_histogram(m, "h", "x", down, 2), -1);
    metrics_destroy(&m);
    assert_null(m);
}

static int probe_no(void *arg, char *why, size_t whylen)
{
    (void)arg;
    snprintf(why, whylen, "no workers registered");
    return 0;
}

static int probe_yes(void *arg, char *why, size_t whylen)
{
    (void)arg, (void)why, (void)whylen;
    return 1;
}

static void test_metrics_http_endpoints(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    int c = metrics_counter(m, "reportd_submissions_received_total", "Received.", NULL, NULL, 0);
    metrics_add(m, c, 42);
    struct metrics_probes p = {probe_yes, probe_no, NULL};
    char err[256];
    struct metrics_http *h = metrics_http_start(m, "127.0.0.1", 0, &p, err, sizeof err);
    assert_non_null(h);
    int port = metrics_http_port(h);
    assert_true(port > 0);
    char *r = http_get(port, "/metrics");
    assert_non_null(strstr(r, " 200 OK\r\n"));
    assert_non_null(strstr(r, "text/plain; version=0.0.4"));
    assert_non_null(strstr(r, "\r\n\r\n# HELP reportd_submissions_received_total Received.\n"));
    assert_non_null(strstr(r, "reportd_submissions_received_total 42\n"));
    free(r);
    r = http_get(port, "/healthz");
    assert_non_null(strstr(r, " 200 "));
    assert_non_null(strstr(r, "\r\n\r\nok\n"));
    free(r);
    r = http_get(port, "/readyz");
    assert_non_null(strstr(r, " 503 "));
    assert_non_null(strstr(r, "not ok: no workers registered\n"));
    free(r);
    r = http_get(port, "/nope");
    assert_non_null(strstr(r, " 404 "));
    free(r);
    metrics_http_stop(&h);
    assert_null(metrics_http_start(m, "not-an-ip", 0, &p, err, sizeof err));
    assert_non_null(strstr(err, "not-an-ip"));
    metrics_destroy(&m);
}

/* A histogram per label value, an info gauge, the process metrics, and a
 * registry served on IPv6 loopback. */
static void test_metrics_labels_info_process_ipv6(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    static const char *const readers[] = {"text", "pdf"};
    static const char *const keys[] = {"version", "schema"};
    static const char *const values[] = {"1.2-\"x\"", "1"};
    static const double bounds[] = {0.5};
    int h = metrics_histograms(m, "w_seconds", "By reader.", bounds, 1, "reader", readers, 2);
    assert_true(h >= 0);
    assert_true(metrics_info(m, "b_info", "Build.", keys, values, 2) >= 0);
    metrics_lock(m);
    metrics_observe(m, h + 1, 2);
    metrics_unlock(m);
    size_t len;
    char *text = metrics_render(m, &len);
    assert_string_equal(text,
        "# HELP w_seconds By reader.\n"
        "# TYPE w_seconds histogram\n"
        "w_seconds_bucket{reader=\"text\",le=\"0.5\"} 0\n"
        "w_seconds_bucket{reader=\"text\",le=\"+Inf\"} 0\n"
        "w_seconds_sum{reader=\"text\"} 0.000000000\n"
        "w_seconds_count{reader=\"text\"} 0\n"
        "w_seconds_bucket{reader=\"pdf\",le=\"0.5\"} 0\n"
        "w_seconds_bucket{reader=\"pdf\",le=\"+Inf\"} 1\n"
        "w_seconds_sum{reader=\"pdf\"} 2.000000000\n"
        "w_seconds_count{reader=\"pdf\"} 1\n"
        "# HELP b_info Build.\n"
        "# TYPE b_info gauge\n"
        "b_info{version=\"1.2-\\\"x\\\"\",schema=\"1\"} 1\n");
    free(text);
    metrics_add_process(m);
    text = metrics_render(m, &len);
    long long fds = -1;
    double start = 0;
    const char *p = strstr(text, "\nprocess_open_fds ");
    assert_non_null(p);
    fds = atoll(p + strlen("\nprocess_open_fds "));
    assert_true(fds >= 3);
    p = strstr(text, "\nprocess_start_time_seconds ");
    assert_non_null(p);
    start = atof(p + strlen("\nprocess_start_time_seconds "));
    assert_true(start > 1.7e9 && start <= (double)time(NULL) + 1);
    assert_non_null(strstr(text, "\nprocess_cpu_seconds_total "));
    assert_non_null(strstr(text, "\nprocess_resident_memory_bytes "));
    free(text);
    char err[256];
    struct metrics_http *srv = metrics_http_start(m, "::1", 0, NULL, err, sizeof err);
    assert_non_null(srv);
    assert_true(metrics_http_port(srv) > 0);
    metrics_http_stop(&srv);
    assert_null(metrics_http_start(m, "::1::x", 0, NULL, err, sizeof err));
    metrics_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_render_exact),
        cmocka_unit_test(test_metrics_http_endpoints),
        cmocka_unit_test(test_metrics_labels_info_process_ipv6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
