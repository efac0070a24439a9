/* test_telemetry: the broker's metrics and probes — every counter and gauge
 * mapped from broker_stats into the exposition text, latency samples held
 * back until the next update (a scrape sees counters and histograms
 * together), the province slots, /readyz's reasons in order, and the probes
 * served over HTTP on a loopback port the kernel picks. */
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
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"
#include "httpget.h"
#include "base/version.h"
#include "broker/broker.h"
#include "broker/spool.h"
#include "broker/telemetry.h"

static char *render(const struct telemetry *t)
{
    size_t len;
    char *s = telemetry_render(t, &len);
    assert_int_equal(strlen(s), len);
    return s;
}

static void has(const char *text, const char *line)
{
    if (!strstr(text, line))
        fail_msg("no line \"%s\" in:\n%s", line, text);
}

static void test_telemetry_fresh_registry(void **state)
{
    (void)state;
    struct telemetry *t = telemetry_new(NULL);
    char *s = render(t);
    has(s, "\nreportd_submissions_received_total 0\n");
    has(s, "\nreportd_results_total{status=\"PASS\"} 0\n");
    has(s, "\nreportd_results_total{status=\"REJECTED\"} 0\n");
    has(s, "\nreportd_alerts_by_province_total{province=\"00\"} 0\n");
    has(s, "\nreportd_zap_refusals_total{reason=\"handshake\"} 0\n");
    has(s, "\nreportd_queue_depth 0\n");
    has(s, "\nreportd_work_seconds_bucket{le=\"+Inf\"} 0\n");
    has(s, "\nreportd_submission_seconds_count 0\n");
    has(s, "# TYPE reportd_spool_commit_seconds histogram\n");
    char info[256];
    snprintf(info, sizeof info, "\nreportd_build_info{version=\"%s\",ruleset=\"reportd-rules-1 "
             "(report-format.md, layouts 2021+2019)\",schema=\"1\"} 1\n", reportd_version());
    has(s, info);
    has(s, "\nprocess_start_time_seconds ");
    free(s);
    telemetry_destroy(&t);
    assert_null(t);
    telemetry_destroy(&t);                                   /* NULL-safe */
}

static void test_telemetry_update_maps_every_stat(void **state)
{
    (void)state;
    struct telemetry *t = telemetry_new(NULL);
    struct broker_stats st = {0};
    st.requests = 101, st.dropped = 2, st.redelivered = 3, st.dead = 4, st.workers = 5;
    st.received = 60, st.accepted = 50, st.duplicate = 7, st.rejected = 3;
    st.results[0] = 10, st.results[1] = 11, st.results[2] = 12, st.results[3] = 13;
    st.alerts = 25, st.queued = 8, st.in_flight = 5, st.last_seq = 71;
    st.spool_ok = 1, st.draining = 0, st.spool_failures = 1, st.dead_waiting = 2;
    st.oldest_queued_us = 2999999, st.zap_denied = 6, st.zap_failed = 9;
    st.alerts_by_province[telemetry_province_index("430381")] = 20;
    st.alerts_by_province[telemetry_province_index(NULL)] = 5;
    st.pruned = 17;
    st.oldest_at[SPOOL_KIND_DEAD] = (int64_t)time(NULL) - 7200;     /* two hours old */
    telemetry_update(t, &st, 100);
    char *s = render(t);
    static const char *const lines[] = {
        "\nreportd_mdp_requests_total 101\n", "\nreportd_invalid_messages_total 2\n",
        "\nreportd_redeliveries_total 3\n", "\nreportd_dead_letters_total 4\n",
        "\nreportd_workers_alive 5\n", "\nreportd_submissions_received_total 60\n",
        "\nreportd_submissions_accepted_total 50\n", "\nreportd_submissions_duplicate_total 7\n",
        "\nreportd_submissions_rejected_total 3\n", "\nreportd_results_total{status=\"PASS\"} 10\n",
        "\nreportd_results_total{status=\"WARN\"} 11\n", "\nreportd_results_total{status=\"FAIL\"} 12\n",
        "\nreportd_results_total{status=\"REJECTED\"} 13\n", "\nreportd_alerts_total 25\n",
        "\nreportd_queue_depth 8\n", "\nreportd_in_flight 5\n",
        "\nreportd_last_published_sequence 71\n", "\nreportd_draining 0\n",
        "\nreportd_spool_write_failures_total 1\n", "\nreportd_dead_letters_waiting 2\n",
        "\nreportd_queue_oldest_seconds 2\n",                 /* whole seconds, rounded down */
        "\nreportd_zap_refusals_total{reason=\"key\"} 6\n",
        "\nreportd_zap_refusals_total{reason=\"handshake\"} 9\n",
        "\nreportd_alerts_by_province_total{province=\"43\"} 20\n",
        "\nreportd_alerts_by_province_total{province=\"00\"} 5\n",
        "\nreportd_alerts_by_province_total{province=\"32\"} 0\n",
        "\nreportd_spool_bytes 0\n",                          /* no spool file */
        "\nreportd_spool_pruned_total 17\n",
        "\nreportd_spool_oldest_seconds{kind=\"job\"} 0\n",     /* none kept */
        "\nreportd_spool_oldest_seconds{kind=\"dead\"} 720",     /* 7200 (or 7201: a second on) */
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        has(s, lines[i]);
    free(s);
    telemetry_destroy(&t);
}

/* Samples wait for the next update, and land in the right buckets. */
static void test_telemetry_samples_applied_with_counters(void **state)
{
    (void)state;
    struct telemetry *t = telemetry_new(NULL);
    struct broker_stats st = {0};
    st.spool_ok = 1;
    telemetry_observe(t, TELEMETRY_WORK, 0.003);
    telemetry_observe(t, TELEMETRY_WORK, 0.2);
    telemetry_observe(t, TELEMETRY_QUEUE, -1.0);             /* a clock step: counted as 0 */
    telemetry_observe(t, TELEMETRY_NSTAGES, 1.0);            /* no such stage: ignored */
    telemetry_observe(NULL, TELEMETRY_WORK, 1.0);            /* NULL-safe */
    char *s = render(t);
    has(s, "\nreportd_work_seconds_count 0\n");              /* not before the update */
    free(s);
    telemetry_update(t, &st, 10);
    s = render(t);
    has(s, "\nreportd_work_seconds_bucket{le=\"0.0025\"} 0\n");
    has(s, "\nreportd_work_seconds_bucket{le=\"0.005\"} 1\n");
    has(s, "\nreportd_work_seconds_bucket{le=\"0.1\"} 1\n");
    has(s, "\nreportd_work_seconds_bucket{le=\"0.25\"} 2\n");
    has(s, "\nreportd_work_seconds_bucket{le=\"+Inf\"} 2\n");
    has(s, "\nreportd_work_seconds_sum 0.203000000\n");
    has(s, "\nreportd_work_seconds_count 2\n");
    has(s, "\nreportd_queue_wait_seconds_bucket{le=\"0.0005\"} 1\n");
    has(s, "\nreportd_queue_wait_seconds_count 1\n");
    has(s, "\nreportd_spool_commit_seconds_count 0\n");
    has(s, "\nreportd_submission_seconds_count 0\n");
    free(s);
    telemetry_update(t, &st, 10);                            /* applied once, not again */
    s = render(t);
    has(s, "\nreportd_work_seconds_count 2\n");
    free(s);
    telemetry_destroy(&t);
}

static void test_telemetry_province_index(void **state)
{
    (void)state;
    assert_int_equal(telemetry_province_index("110105"), 0);
    assert_int_equal(telemetry_province_index("320813"), 9);
    assert_int_equal(telemetry_province_index("430381"), 17);
    assert_int_equal(telemetry_province_index("820000"), 33);
    assert_int_equal(telemetry_province_index("43"), 17);
    assert_int_equal(telemetry_province_index(NULL), BROKER_NPROVINCES - 1);
    assert_int_equal(telemetry_province_index(""), BROKER_NPROVINCES - 1);
    assert_int_equal(telemetry_province_index("4"), BROKER_NPROVINCES - 1);
    assert_int_equal(telemetry_province_index("990000"), BROKER_NPROVINCES - 1);
    assert_int_equal(telemetry_province_index("00"), BROKER_NPROVINCES - 1);
}

static void expect_ready(struct telemetry *t, int want, const char *why_want)
{
    char why[256] = "";
    assert_int_equal(telemetry_ready(t, why, sizeof why), want);
    if (!want)
        assert_string_equal(why, why_want);
}

/* /readyz's reasons, in the order they are checked. */
static void test_telemetry_ready_reasons(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_telemetry.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *spool = xasprintf("%s/spool.db", dir);
    FILE *f = fopen(spool, "w");
    fputs("0123456789", f);
    fclose(f);
    struct telemetry *t = telemetry_new(spool);
    char why[256];
    assert_int_equal(telemetry_alive(t, why, sizeof why), 1);
    struct broker_stats st = {0};
    st.spool_ok = 1;
    telemetry_update(t, &st, 10);
    expect_ready(t, 0, "no workers registered");
    st.workers = 2, st.queued = 10;
    telemetry_update(t, &st, 10);
    expect_ready(t, 1, NULL);                                /* at the limit is fine */
    char *s = render(t);
    has(s, "\nreportd_spool_bytes 10\n");                    /* the file's size */
    free(s);
    st.queued = 11;
    telemetry_update(t, &st, 10);
    expect_ready(t, 0, "backlog 11 is above limits.ready_backlog 10");
    st.spool_ok = 0;
    telemetry_update(t, &st, 10);
    char want[256];
    snprintf(want, sizeof want, "spool %s is not writable", spool);
    expect_ready(t, 0, want);
    st.draining = 1;
    telemetry_update(t, &st, 10);
    expect_ready(t, 0, "draining for shutdown");
    telemetry_destroy(&t);

    /* a spool path that cannot be written is not ready, whatever the loop says */
    char *gone = xasprintf("%s/no/such/spool.db", dir);
    t = telemetry_new(gone);
    st = (struct broker_stats){.spool_ok = 1, .workers = 1};
    telemetry_update(t, &st, 10);
    snprintf(want, sizeof want, "spool %s is not writable", gone);
    expect_ready(t, 0, want);
    telemetry_destroy(&t);
    unlink(spool);
    rmdir(dir);
    free(spool);
    free(gone);
}

static void test_telemetry_served_over_http(void **state)
{
    (void)state;
    struct telemetry *t = telemetry_new(NULL);
    assert_int_equal(telemetry_port(t), 0);                  /* not serving yet */
    char err[256] = "";
    assert_int_equal(telemetry_serve(t, "127.0.0.1", 0, err, sizeof err), 0);
    int port = telemetry_port(t);
    assert_true(port > 0);
    struct broker_stats st = {.spool_ok = 1, .results = {0, 0, 3, 0}};
    telemetry_update(t, &st, 10);
    char *r = http_get(port, "/metrics");
    has(r, " 200 OK\r\n");
    has(r, "\nreportd_results_total{status=\"FAIL\"} 3\n");
    free(r);
    r = http_get(port, "/healthz");
    has(r, " 200 ");
    free(r);
    r = http_get(port, "/readyz");
    has(r, " 503 ");
    has(r, "not ok: no workers registered\n");
    free(r);
    st.workers = 1;
    telemetry_update(t, &st, 10);
    r = http_get(port, "/readyz");
    has(r, " 200 ");
    free(r);
    telemetry_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_telemetry_fresh_registry),
        cmocka_unit_test(test_telemetry_update_maps_every_stat),
        cmocka_unit_test(test_telemetry_samples_applied_with_counters),
        cmocka_unit_test(test_telemetry_province_index),
        cmocka_unit_test(test_telemetry_ready_reasons),
        cmocka_unit_test(test_telemetry_served_over_http),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
