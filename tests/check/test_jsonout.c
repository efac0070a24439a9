/* test_jsonout: the one JSON encoder — the exact fields, in order, of a real
 * Result (湘乡 2024: its 8 findings with rule ids and cells), of its Alert and
 * of a dead letter; and a name for every value of every enum JSON writes. */
#include "testutil.h"

#include <jansson.h>

#include "base/version.h"
#include "check/jsonout.h"

#define XIANGXIANG "examples/xiangxiang-minzheng-2024.txt"

/* The object's keys in order, comma-separated. */
static const char *keys_of(const json_t *o)
{
    static char out[1024];
    size_t used = 0;
    out[0] = '\0';
    for (void *it = json_object_iter((json_t *)o); it; it = json_object_iter_next((json_t *)o, it)) {
        int w = snprintf(out + used, sizeof out - used, "%s%s", used ? "," : "", json_object_iter_key(it));
        used += w > 0 ? (size_t)w : 0;
    }
    return out;
}

static json_t *parse(char *text)
{
    json_error_t e;
    json_t *o = json_loads(text, 0, &e);
    if (!o)
        fail_msg("not JSON (%s): %s", e.text, text);
    assert_null(strchr(text, '\n'));            /* one line */
    free(text);
    return o;
}

static const char *str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("%s is not a string in %s", key, keys_of(o));
    return json_string_value(v);
}

static json_int_t num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("%s is not an integer in %s", key, keys_of(o));
    return json_integer_value(v);
}

static Reportd__Result *xiangxiang(struct checker **cp)
{
    *cp = tu_checker();
    struct report *r = tu_read(*cp, XIANGXIANG, READER_TEXT);
    Reportd__Result *res = tu_check(*cp, r);
    report_destroy(&r);
    return res;
}

static void test_jsonout_result_xiangxiang(void **state)
{
    (void)state;
    struct checker *c;
    Reportd__Result *res = xiangxiang(&c);
    json_t *o = parse(jsonout_result(res, XIANGXIANG));
    assert_string_equal(keys_of(o), "schema_version,version,ruleset_version,file,submission_id,"
                                    "status,layout,year,body,findings,enrichment");
    assert_int_equal(num(o, "schema_version"), JSONOUT_SCHEMA_VERSION);
    assert_string_equal(str(o, "version"), reportd_version());
    assert_string_equal(str(o, "ruleset_version"), checker_ruleset_version());
    assert_string_equal(str(o, "file"), XIANGXIANG);
    assert_string_equal(str(o, "submission_id"), "test");
    assert_string_equal(str(o, "status"), "FAIL");
    assert_int_equal(num(o, "layout"), 2021);
    assert_int_equal(num(o, "year"), 2024);
    assert_string_equal(str(o, "body"), "湘乡市民政局");
    static const struct {
        const char *rule, *severity, *table, *row, *column, *expected, *actual;
    } want[] = {
        {"R-CELL-MISSING", "warning", "T3", "refused.enforcement_file", "nonprofit", "一个不小于0的整数", ""},
        {"R-CELL-MISSING", "warning", "T3", "refused.enforcement_file", "legal", "一个不小于0的整数", ""},
        {"R-S3-ROWSUM", "error", "T3", "new", "", "6", "0"},
        {"R-S3-ROWSUM", "error", "T3", "granted", "", "5", "0"},
        {"R-S3-ROWSUM", "error", "T3", "refused.third_party", "", "6", "0"},
        {"R-S3-ROWSUM", "error", "T3", "total", "", "6", "0"},
        {"R-S3-RESULTSUM", "error", "T3", "", "nonprofit", "≥5", "0"},
        {"R-S6-FEE", "notice", "", "", "", "说明信息处理费收取情况", "无其他需要报告的事项。"},
    };
    const json_t *fs = json_object_get(o, "findings");
    assert_int_equal(json_array_size(fs), 8);
    for (size_t i = 0; i < 8; i++) {
        const json_t *f = json_array_get(fs, i);
        const char *keys = keys_of(f);
        if (i == 6)
            assert_string_equal(keys, "rule,severity,table,row,column,expected,actual,message_zh,"
                                      "message_en,missing");
        else
            assert_string_equal(keys, "rule,severity,table,row,column,expected,actual,message_zh,"
                                      "message_en");
        assert_string_equal(str(f, "rule"), want[i].rule);
        assert_string_equal(str(f, "severity"), want[i].severity);
        assert_string_equal(str(f, "table"), want[i].table);
        assert_string_equal(str(f, "row"), want[i].row);
        assert_string_equal(str(f, "column"), want[i].column);
        assert_string_equal(str(f, "expected"), want[i].expected);
        assert_string_equal(str(f, "actual"), want[i].actual);
        assert_true(strlen(str(f, "message_zh")) > 0 && strlen(str(f, "message_en")) > 0);
    }
    /* the RESULTSUM with a blank term names the blank cell */
    const json_t *missing = json_object_get(json_array_get(fs, 6), "missing");
    assert_int_equal(json_array_size(missing), 1);
    assert_string_equal(keys_of(json_array_get(missing, 0)), "row,column");
    assert_string_equal(str(json_array_get(missing, 0), "row"), "refused.enforcement_file");
    assert_string_equal(str(json_array_get(missing, 0), "column"), "nonprofit");
    const json_t *e = json_object_get(o, "enrichment");
    assert_string_equal(keys_of(e), "received,carried_over,concluded,carried_forward,reviews,"
                                    "suits,region,deadline,fingerprint,reader");
    assert_string_equal(str(e, "reader"), "text");
    assert_int_equal(num(e, "received"), 0);
    assert_int_equal(num(e, "concluded"), 0);
    assert_string_equal(str(e, "deadline"), "2025-01-31");
    assert_string_equal(str(e, "fingerprint"),
                        "5f69b2861220b849824b1e01af00723e4e1037e92bc7a9a4daef382e5f00a477");
    const json_t *g = json_object_get(e, "region");
    assert_string_equal(keys_of(g), "code,province,prefecture,county");
    assert_string_equal(str(g, "code"), "430381");
    assert_string_equal(str(g, "province"), "湖南省");
    assert_string_equal(str(g, "prefecture"), "湘潭市");
    assert_string_equal(str(g, "county"), "湘乡市");
    json_decref(o);
    checker_result_free(res);
    checker_destroy(&c);
}

static void test_jsonout_rejected_and_rates(void **state)
{
    (void)state;
    Reportd__Result *res = checker_rejected("sub-1", "t.txt:3: not a report");
    json_t *o = parse(jsonout_result(res, NULL));
    assert_string_equal(keys_of(o), "schema_version,version,ruleset_version,submission_id,status,"
                                    "reason,findings,enrichment");
    assert_string_equal(str(o, "status"), "REJECTED");
    assert_string_equal(str(o, "reason"), "t.txt:3: not a report");
    assert_int_equal(json_array_size(json_object_get(o, "findings")), 0);
    json_decref(o);
    checker_result_free(res);
    /* a rate: value and its rating */
    struct checker *c = tu_checker();
    struct report *r = tu_read(c, SHARED_REPORTS "huaian-2024.layout.txt", READER_LAYOUT);
    res = tu_check(c, r);
    o = parse(jsonout_result(res, NULL));
    const json_t *rate = json_object_get(json_object_get(o, "enrichment"), "disclosure_rate");
    assert_string_equal(keys_of(rate), "value,rating");
    assert_true(json_is_real(json_object_get(rate, "value")));
    const char *rating = str(rate, "rating");
    assert_true(!strcmp(rating, "green") || !strcmp(rating, "yellow") || !strcmp(rating, "red") ||
                !strcmp(rating, "none"));
    json_decref(o);
    checker_result_free(res);
    report_destroy(&r);
    checker_destroy(&c);
}

static void test_jsonout_alert_xiangxiang(void **state)
{
    (void)state;
    struct checker *c;
    Reportd__Result *res = xiangxiang(&c);
    Reportd__Alert *a = checker_alert(res);
    json_t *o = parse(jsonout_alert(a));
    assert_string_equal(keys_of(o), "schema_version,version,submission_id,status,year,body,"
                                    "region,errors,warnings,notices,top_findings");
    assert_int_equal(num(o, "schema_version"), JSONOUT_SCHEMA_VERSION);
    assert_string_equal(str(o, "version"), reportd_version());
    assert_string_equal(str(o, "submission_id"), "test");
    assert_string_equal(str(o, "status"), "FAIL");
    assert_int_equal(num(o, "year"), 2024);
    assert_string_equal(str(o, "body"), "湘乡市民政局");
    assert_string_equal(str(json_object_get(o, "region"), "code"), "430381");
    assert_int_equal(num(o, "errors"), 5);
    assert_int_equal(num(o, "warnings"), 2);
    assert_int_equal(num(o, "notices"), 1);
    const json_t *top = json_object_get(o, "top_findings");
    assert_int_equal(json_array_size(top), 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(str(json_array_get(top, i), "severity"), "error");
    assert_string_equal(str(json_array_get(top, 0), "rule"), "R-S3-ROWSUM");
    assert_string_equal(str(json_array_get(top, 0), "row"), "new");
    assert_string_equal(str(json_array_get(top, 0), "expected"), "6");
    assert_string_equal(str(json_array_get(top, 0), "actual"), "0");
    assert_string_equal(str(json_array_get(top, 0), "message_zh"),
                        "T3「一、本年新收政府信息公开申请数量」行：各分项之和为 6，但合计为 0，二者不相等");
    /* brief: no English message, no cell lists (the Result has them) */
    assert_string_equal(str(json_array_get(top, 0), "message_en"), "");
    assert_null(json_object_get(json_array_get(top, 4), "missing"));
    json_decref(o);
    checker_alert_free(a);
    checker_result_free(res);
    checker_destroy(&c);
}

static void test_jsonout_dead_letter(void **state)
{
    (void)state;
    struct jsonout_dead d = {.uuid = "e3fe42160f7a4b2c9d3e5f6a7b8c9d0e",
                             .submission_id = "e3fe4216-0f7a-4b2c-9d3e-5f6a7b8c9d0e",
                             .reason = "worker died 3 times", .attempts = 3,
                             .updated_at = 1764460800, .service = "report.check", .bytes = 5343};
    char *want = xasprintf("{\"schema_version\":1,\"version\":\"%s\",\"uuid\":"
                           "\"e3fe42160f7a4b2c9d3e5f6a7b8c9d0e\",\"submission_id\":"
                           "\"e3fe4216-0f7a-4b2c-9d3e-5f6a7b8c9d0e\",\"reason\":\"worker died 3 "
                           "times\",\"attempts\":3,\"updated_at\":1764460800,\"service\":"
                           "\"report.check\",\"bytes\":5343}", reportd_version());
    char *got = jsonout_dead(&d);
    assert_string_equal(got, want);
    free(got);
    free(want);
    /* the published event: no time, no service; NULL strings as "" */
    struct jsonout_dead ev = {.uuid = "e3fe42160f7a4b2c9d3e5f6a7b8c9d0e", .attempts = 3};
    json_t *o = parse(jsonout_dead(&ev));
    assert_string_equal(keys_of(o), "schema_version,version,uuid,submission_id,reason,attempts");
    assert_string_equal(str(o, "submission_id"), "");
    assert_string_equal(str(o, "reason"), "");
    json_decref(o);
}

static void test_jsonout_every_enum_value_has_a_name(void **state)
{
    (void)state;
    const ProtobufCEnumDescriptor *ds[] = {
        &reportd__status__descriptor, &reportd__severity__descriptor, &reportd__rating__descriptor,
        &reportd__cell_state__descriptor, &reportd__body_kind__descriptor,
        &reportd__document_form__descriptor,
    };
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
        assert_true(ds[i]->n_values >= 3);
        for (unsigned j = 0; j < ds[i]->n_values; j++) {
            const char *n = jsonout_enum_name(ds[i], ds[i]->values[j].value);
            if (!n || !*n || strchr(n, '_'))
                fail_msg("%s value %d has no proper name (%s)", ds[i]->name,
                         ds[i]->values[j].value, n ? n : "NULL");
            for (unsigned k = 0; k < j; k++)
                assert_string_not_equal(n, jsonout_enum_name(ds[i], ds[i]->values[k].value));
        }
        assert_null(jsonout_enum_name(ds[i], 99));
    }
    static const char *const status[] = {"PASS", "WARN", "FAIL", "REJECTED"};
    static const char *const severity[] = {"notice", "warning", "error"};
    static const char *const rating[] = {"none", "green", "yellow", "red"};
    for (int v = 0; v < 4; v++) {
        assert_string_equal(jsonout_status((Reportd__Status)v), status[v]);
        assert_string_equal(jsonout_rating((Reportd__Rating)v), rating[v]);
    }
    for (int v = 0; v < 3; v++)
        assert_string_equal(jsonout_severity((Reportd__Severity)v), severity[v]);
    assert_string_equal(jsonout_enum_name(&reportd__cell_state__descriptor, 2), "placeholder");
    assert_string_equal(jsonout_status((Reportd__Status)99), "UNKNOWN");
    assert_string_equal(jsonout_severity((Reportd__Severity)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonout_result_xiangxiang),
        cmocka_unit_test(test_jsonout_rejected_and_rates),
        cmocka_unit_test(test_jsonout_alert_xiangxiang),
        cmocka_unit_test(test_jsonout_dead_letter),
        cmocka_unit_test(test_jsonout_every_enum_value_has_a_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
