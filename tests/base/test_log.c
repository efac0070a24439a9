/* log: the line formats an operator's tools read (journald priority prefix,
 * text key=value job fields, one JSON object per line), the priorities, and
 * the rate limit on repeated warnings with its "N more like …" summary.
 * Lines are captured through log_write_hook; the rate limit's clock is
 * log_time_hook, so no case waits for a window to end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

static struct buf captured;
static int nlines;
static time_t fake_now;

static time_t (*wall_clock)(void);

static time_t fake_clock(void)
{
    return fake_now;
}

static void capture(const char *line, size_t len)
{
    buf_append(&captured, line, len);
    nlines++;
}

static int setup(void **state)
{
    (void)state;
    buf_free(&captured);
    memset(&captured, 0, sizeof captured);
    nlines = 0;
    log_write_hook = capture;
    if (!wall_clock)
        wall_clock = log_time_hook;
    setenv("JOURNAL_STREAM", "8:1234", 1);     /* no timestamp: exact lines */
    log_configure(0, LOG_PRI_INFO);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    buf_free(&captured);
    memset(&captured, 0, sizeof captured);
    unsetenv("JOURNAL_STREAM");
    log_time_hook = wall_clock;
    return 0;
}

static const char *text(void)
{
    buf_append(&captured, "", 1);
    captured.len--;
    return captured.data;
}

static void test_log_text_prefix_and_job_fields(void **state)
{
    (void)state;
    log_msg(LOG_PRI_NOTICE, "SIGHUP: reloaded %s", "c.yaml");
    log_job(LOG_PRI_WARNING, &(struct log_job){"a1b2", 2, "00deadbeef"}, "job %s handed out again",
            "0123");
    log_job(LOG_PRI_ERR, &(struct log_job){NULL, -1, NULL}, "no fields");
    log_msg(LOG_PRI_DEBUG, "hidden at info");
    assert_string_equal(text(), "<5>SIGHUP: reloaded c.yaml\n"
                                "<4>job 0123 handed out again submission=a1b2 attempt=2 "
                                "worker=00deadbeef\n"
                                "<3>no fields\n");
}

static void test_log_json_lines(void **state)
{
    (void)state;
    unsetenv("JOURNAL_STREAM");
    log_configure(1, LOG_PRI_DEBUG);
    log_job(LOG_PRI_ERR, &(struct log_job){"湘乡-1", 3, "00ab"}, "dead letter: \"%s\"", "x\ny");
    json_error_t e;
    json_t *o = json_loads(text(), 0, &e);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "priority")), 3);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "error");
    assert_string_equal(json_string_value(json_object_get(o, "msg")), "dead letter: \"x\ny\"");
    assert_string_equal(json_string_value(json_object_get(o, "submission_id")), "湘乡-1");
    assert_int_equal(json_integer_value(json_object_get(o, "attempt")), 3);
    assert_string_equal(json_string_value(json_object_get(o, "worker")), "00ab");
    assert_non_null(json_object_get(o, "time"));
    assert_int_equal(nlines, 1);
    json_decref(o);
}

/* The job's outcome: extra fields after the job's, "#" ones numbers in JSON. */
static void test_log_job_outcome_fields(void **state)
{
    (void)state;
    const char *const fields[] = {"status", "FAIL", "body", "湘乡市 民政局", "region", "430381",
                                  "#errors", "5", "#ms", "12", NULL};
    const struct log_job job = {"a1b2", 1, "00ab"};
    log_job_fields(LOG_PRI_INFO, &job, fields, "job done: %s", "FAIL");
    assert_string_equal(text(), "<6>job done: FAIL submission=a1b2 attempt=1 worker=00ab "
                                "status=FAIL body=\"湘乡市 民政局\" region=430381 errors=5 ms=12\n");
    buf_free(&captured);
    memset(&captured, 0, sizeof captured);
    unsetenv("JOURNAL_STREAM");
    log_configure(1, LOG_PRI_INFO);
    log_job_fields(LOG_PRI_INFO, &job, fields, "job done: %s", "FAIL");
    json_t *o = json_loads(text(), 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "region")), "430381");
    assert_string_equal(json_string_value(json_object_get(o, "body")), "湘乡市 民政局");
    assert_int_equal(json_integer_value(json_object_get(o, "errors")), 5);
    assert_int_equal(json_integer_value(json_object_get(o, "ms")), 12);
    assert_null(json_object_get(o, "#errors"));
    json_decref(o);
}

static void test_log_repeated_errors_rate_limited(void **state)
{
    (void)state;
    for (int i = 0; i < 100; i++)
        log_msg(LOG_PRI_ERR, "spool: commit failed (%d)", i);
    assert_int_equal(nlines, LOG_BURST);
    /* another message is not held back by the first one's limit */
    log_msg(LOG_PRI_ERR, "another error");
    assert_int_equal(nlines, LOG_BURST + 1);
    /* "%s" lines are told apart by their text without digits */
    for (int i = 0; i < 30; i++)
        log_msg(LOG_PRI_WARNING, "%s", i % 2 ? "dropped 3 frames" : "worker 7 expired");
    assert_int_equal(nlines, LOG_BURST + 1 + 2 * LOG_BURST);
    /* info lines are never limited */
    for (int i = 0; i < 50; i++)
        log_msg(LOG_PRI_INFO, "accepted %d", i);
    assert_int_equal(nlines, 3 * LOG_BURST + 1 + 50);
}

static void test_log_priorities(void **state)
{
    (void)state;
    log_configure(0, LOG_PRI_DEBUG);
    log_msg(LOG_PRI_ERR, "e");
    log_msg(LOG_PRI_WARNING, "w");
    log_msg(LOG_PRI_NOTICE, "n");
    log_msg(LOG_PRI_INFO, "i");
    log_msg(LOG_PRI_DEBUG, "d");
    log_msg(1, "below error is error");
    log_msg(9, "above debug is debug");
    /* a spool failure as the broker hands it on (titanic.c, broker.c): an error */
    log_job(LOG_PRI_ERR, &(struct log_job){"report-2024-430381", -1, NULL}, "%s",
            "spool: commit: disk I/O error");
    assert_string_equal(text(), "<3>e\n<4>w\n<5>n\n<6>i\n<7>d\n"
                                "<3>below error is error\n<7>above debug is debug\n"
                                "<3>spool: commit: disk I/O error submission=report-2024-430381\n");
    /* at level warning: errors and warnings only */
    buf_free(&captured);
    memset(&captured, 0, sizeof captured);
    log_configure(0, LOG_PRI_WARNING);
    log_msg(LOG_PRI_NOTICE, "n");
    log_msg(LOG_PRI_INFO, "i");
    log_msg(LOG_PRI_ERR, "spool: %s", "put: database is locked");
    log_msg(LOG_PRI_WARNING, "w");
    assert_string_equal(text(), "<3>spool: put: database is locked\n<4>w\n");
}

static void test_log_suppression_summary_counts(void **state)
{
    (void)state;
    log_time_hook = fake_clock;
    fake_now = time(NULL) + 100000;     /* after any window an earlier case opened */
    log_tick();                         /* (what those cases held back) */
    buf_free(&captured);
    memset(&captured, 0, sizeof captured);
    nlines = 0;
    for (int i = 0; i < LOG_BURST + 15; i++)
        log_msg(LOG_PRI_ERR, "spool: batch %d failed", i);
    for (int i = 0; i < LOG_BURST + 3; i++)
        log_msg(LOG_PRI_WARNING, "zap: refused peer %d", i);
    assert_int_equal(nlines, 2 * LOG_BURST);
    /* the window has not ended: nothing to report yet */
    fake_now += LOG_WINDOW_S - 1;
    log_tick();
    assert_int_equal(nlines, 2 * LOG_BURST);
    fake_now += 1;
    buf_free(&captured);
    memset(&captured, 0, sizeof captured);
    log_tick();
    /* one summary per kind, with the count, at the priority of what it held back */
    const char *t = text();
    assert_non_null(strstr(t, "<3>15 more like \"spool: batch 0 failed…\" in the last 10 s: "
                              "not logged\n"));
    assert_non_null(strstr(t, "<4>3 more like \"zap: refused peer 0…\" in the last 10 s: "
                              "not logged\n"));
    assert_int_equal(nlines, 2 * LOG_BURST + 2);
    /* a new window: lines of that kind are written again, and nothing is left
     * to report */
    log_msg(LOG_PRI_ERR, "spool: batch %d failed", 99);
    fake_now += LOG_WINDOW_S;
    log_tick();
    assert_int_equal(nlines, 2 * LOG_BURST + 3);
    assert_non_null(strstr(text(), "<3>spool: batch 99 failed\n"));
    /* a summary also comes with the next line of its kind after the window */
    for (int i = 0; i < LOG_BURST + 1; i++)
        log_msg(LOG_PRI_WARNING, "worker %d expired", i);
    fake_now += LOG_WINDOW_S;
    buf_free(&captured);
    memset(&captured, 0, sizeof captured);
    log_msg(LOG_PRI_WARNING, "worker %d expired", 7);
    assert_string_equal(text(), "<4>1 more like \"worker 0 expired…\" in the last 10 s: not "
                                "logged\n<4>worker 7 expired\n");
}

static void test_log_parse_names(void **state)
{
    (void)state;
    assert_int_equal(log_format_parse("json"), 1);
    assert_int_equal(log_format_parse("text"), 0);
    assert_int_equal(log_format_parse("xml"), -1);
    assert_int_equal(log_level_parse("error"), LOG_PRI_ERR);
    assert_int_equal(log_level_parse("debug"), LOG_PRI_DEBUG);
    assert_int_equal(log_level_parse("loud"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_log_text_prefix_and_job_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_json_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_job_outcome_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_repeated_errors_rate_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_priorities, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_suppression_summary_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_parse_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
