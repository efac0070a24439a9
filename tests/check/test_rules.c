/* Every per-report rule, a passing and a failing case each. The base report
 * is the bundled 湘乡 example with its errors corrected in memory (the file is
 * not changed): blank cells filled with 0, 社会公益组织 予以公开 set to 0, the
 * 总计 column set to the row sums, and a fee statement in section 六. */
#include "testutil.h"

#include <time.h>

#include "report/findings.h"

static const char *const T3_ROWS_2021[] = {
    "new", "carried_over", "granted", "partial", "refused.state_secret", "refused.law_forbidden",
    "refused.security_stability", "refused.third_party", "refused.internal_affairs",
    "refused.process_info", "refused.enforcement_file", "refused.query_service", "unable.not_held",
    "unable.needs_creation", "unable.unclear", "not_handled.petition", "not_handled.repeat",
    "not_handled.publication", "not_handled.excessive", "not_handled.reconfirm",
    "other.no_correction", "other.no_fee", "other.other", "total", "carry_forward", NULL};
static const char *const T3_COLS[] = {"natural", "commercial", "research", "nonprofit", "legal", "other", NULL};

struct fixture {
    struct checker *c;
    struct report *r;
};

static void fix_totals(struct report *r)
{
    for (int i = 0; T3_ROWS_2021[i]; i++) {
        int64_t sum = 0;
        for (int k = 0; T3_COLS[k]; k++)
            sum += tu_value(r, TABLE_T3, T3_ROWS_2021[i], T3_COLS[k]);
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)sum);
        tu_set(r, TABLE_T3, T3_ROWS_2021[i], "total", v);
    }
}

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof *f);
    f->c = tu_checker();
    f->r = tu_read(f->c, "examples/xiangxiang-minzheng-2024.txt", READER_TEXT);
    tu_set(f->r, TABLE_T3, "refused.enforcement_file", "nonprofit", "0");
    tu_set(f->r, TABLE_T3, "refused.enforcement_file", "legal", "0");
    tu_set(f->r, TABLE_T3, "granted", "nonprofit", "0");
    fix_totals(f->r);
    free(f->r->section_text[5]);
    f->r->section_text[5] = xstrdup("本年度未收取信息处理费。");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    report_destroy(&f->r);
    checker_destroy(&f->c);
    free(f);
    return 0;
}

/* Check and return the number of findings of rule; keeps the Result in *out
 * when out is not NULL. */
static int run(struct fixture *f, const char *rule, Reportd__Result **out)
{
    Reportd__Result *res = tu_check(f->c, f->r);
    int n = tu_count(res, rule, NULL, NULL);
    if (out)
        *out = res;
    else
        checker_result_free(res);
    return n;
}

static void test_rules_clean_base_passes(void **state)
{
    struct fixture *f = *state;
    Reportd__Result *res;
    run(f, NULL, &res);
    if (res->n_findings)
        tu_dump(res);
    assert_int_equal(res->n_findings, 0);
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_PASS);
    checker_result_free(res);
}

static void test_rules_struct_sections(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(run(f, "R-STRUCT-SECTIONS", NULL), 0);
    f->r->section_order[4] = -1;                  /* 五 missing */
    Reportd__Result *res;
    assert_int_equal(run(f, "R-STRUCT-SECTIONS", &res), 1);
    const Reportd__Finding *x = tu_find(res, "R-STRUCT-SECTIONS", "", "");
    assert_string_equal(x->expected, "五、存在的主要问题及改进情况");
    assert_int_equal(x->severity, REPORTD__SEVERITY__SEV_ERROR);
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_FAIL);
    checker_result_free(res);
    f->r->section_order[4] = 5, f->r->section_order[5] = 4;   /* 六 before 五 */
    assert_int_equal(run(f, "R-STRUCT-SECTIONS", &res), 1);
    assert_string_equal(res->findings[0]->actual, "一 二 三 四 六 五");
    checker_result_free(res);
}

static void test_rules_struct_version(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(run(f, "R-STRUCT-VERSION", NULL), 0);
    f->r->year = 2020;                            /* a 2021-layout report for 2020 */
    Reportd__Result *res;
    assert_int_equal(run(f, "R-STRUCT-VERSION", &res), 3);
    const Reportd__Finding *x = tu_find(res, "R-STRUCT-VERSION", "", "");
    assert_string_equal(x->table, "T2");
    assert_string_equal(x->expected, "2019");
    assert_string_equal(x->actual, "2021");
    checker_result_free(res);
}

static void test_rules_struct_label(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(run(f, "R-STRUCT-LABEL", NULL), 0);
    f->r->tables[TABLE_T3].printed[5] = xstrdup("2.其他法律行政止公开");    /* 洪泽's typo */
    f->r->tables[TABLE_T2].printed[1] = xstrdup("规范性文件");             /* 沭阳's short form */
    Reportd__Result *res;
    assert_int_equal(run(f, "R-STRUCT-LABEL", &res), 2);
    assert_int_equal(tu_count(res, "R-STRUCT-SHAPE", NULL, NULL), 0);
    const Reportd__Finding *x = tu_find(res, "R-STRUCT-LABEL", "refused.law_forbidden", "");
    assert_string_equal(x->table, "T3");
    assert_int_equal(x->severity, REPORTD__SEVERITY__SEV_WARNING);
    assert_string_equal(x->expected, "2.其他法律行政法规禁止公开");
    assert_string_equal(x->actual, "2.其他法律行政止公开");
    x = tu_find(res, "R-STRUCT-LABEL", "normative_docs", "");
    assert_string_equal(x->table, "T2");
    assert_string_equal(x->expected, "行政规范性文件");
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_WARN);
    checker_result_free(res);
}

static void test_rules_struct_shape(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(run(f, "R-STRUCT-SHAPE", NULL), 0);
    /* rows out of order: 2 printed where 1 belongs and 1 where 2 belongs */
    f->r->tables[TABLE_T3].printed[4] = xstrdup("2.其他法律行政法规禁止公开");
    f->r->tables[TABLE_T3].printed[5] = xstrdup("1.属于国家秘密");
    /* a row that is none of the layout's */
    f->r->tables[TABLE_T3].printed[16] = xstrdup("2.网上信访件");
    Reportd__Result *res;
    assert_int_equal(run(f, "R-STRUCT-SHAPE", &res), 3);
    assert_int_equal(tu_count(res, "R-STRUCT-LABEL", NULL, NULL), 0);
    const Reportd__Finding *x = tu_find(res, "R-STRUCT-SHAPE", "refused.state_secret", "");
    assert_string_equal(x->table, "T3");
    assert_int_equal(x->severity, REPORTD__SEVERITY__SEV_ERROR);
    assert_string_equal(x->expected, "1.属于国家秘密");
    assert_string_equal(x->actual, "2.其他法律行政法规禁止公开");
    assert_string_equal(tu_find(res, "R-STRUCT-SHAPE", "refused.law_forbidden", "")->actual, "1.属于国家秘密");
    assert_string_equal(tu_find(res, "R-STRUCT-SHAPE", "not_handled.repeat", "")->actual, "2.网上信访件");
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_FAIL);
    checker_result_free(res);
}

static void test_rules_struct_shape_missing_table(void **state)
{
    struct fixture *f = *state;
    struct report_table saved = f->r->tables[TABLE_T4];
    f->r->tables[TABLE_T4].layout = NULL;
    Reportd__Result *res;
    int n = run(f, "R-STRUCT-SHAPE", &res);
    f->r->tables[TABLE_T4] = saved;
    assert_int_equal(n, 1);
    assert_string_equal(tu_find(res, "R-STRUCT-SHAPE", "", "")->table, "T4");
    checker_result_free(res);
}

static void test_rules_cell_missing(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(run(f, "R-CELL-MISSING", NULL), 0);
    tu_set(f->r, TABLE_T2, "licensing", "decisions", "/");
    tu_set(f->r, TABLE_T4, "", "review.pending", "");
    Reportd__Result *res;
    assert_int_equal(run(f, "R-CELL-MISSING", &res), 2);
    assert_string_equal(tu_find(res, "R-CELL-MISSING", "licensing", "decisions")->actual, "/");
    assert_string_equal(tu_find(res, "R-CELL-MISSING", "", "review.pending")->table, "T4");
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_WARN);
    checker_result_free(res);
}

/* A wholly blank column, then a wholly blank row, is one finding listing its
 * cells; a blank cell elsewhere keeps its own finding. */
static void test_rules_cell_missing_grouped(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; T3_ROWS_2021[i]; i++)
        tu_set(f->r, TABLE_T3, T3_ROWS_2021[i], "research", i % 2 ? "/" : "");
    for (int k = 0; T3_COLS[k]; k++)
        tu_set(f->r, TABLE_T3, "unable.unclear", T3_COLS[k], "");
    tu_set(f->r, TABLE_T3, "unable.unclear", "total", "—");
    tu_set(f->r, TABLE_T3, "granted", "legal", "");
    const char *t4[] = {"review", "suit_direct", "suit_after_review"};
    const char *t4c[] = {"upheld", "corrected", "other", "pending", "total"};
    for (int b = 0; b < 3; b++)
        for (int k = 0; k < 5; k++) {
            char col[64];
            snprintf(col, sizeof col, "%s.%s", t4[b], t4c[k]);
            tu_set(f->r, TABLE_T4, "", col, "");
        }
    Reportd__Result *res;
    assert_int_equal(run(f, "R-CELL-MISSING", &res), 4);
    const Reportd__Finding *x = tu_find(res, "R-CELL-MISSING", "", "research");
    assert_string_equal(x->table, "T3");
    assert_int_equal(x->n_missing, 25);
    assert_int_equal(x->n_cells, 25);
    assert_string_equal(x->missing[0]->row, "new");
    assert_string_equal(x->missing[0]->column, "research");
    assert_string_equal(x->missing[24]->row, "carry_forward");
    assert_string_equal(x->actual, "25个空白或占位符");
    /* the row lists the six cells the column did not already name */
    x = tu_find(res, "R-CELL-MISSING", "unable.unclear", "");
    assert_int_equal(x->n_missing, 6);
    assert_string_equal(x->missing[0]->column, "natural");
    assert_string_equal(x->missing[1]->column, "commercial");
    assert_string_equal(x->missing[2]->column, "nonprofit");
    assert_string_equal(x->missing[5]->column, "total");
    assert_string_equal(x->actual, "7个空白或占位符");
    x = tu_find(res, "R-CELL-MISSING", "", "");
    assert_string_equal(x->table, "T4");
    assert_int_equal(x->n_missing, 15);
    assert_string_equal(x->missing[14]->column, "suit_after_review.total");
    assert_int_equal(tu_count(res, "R-CELL-MISSING", "granted", "legal"), 1);
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_WARN);
    checker_result_free(res);
}

static void test_rules_cell_number(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(run(f, "R-CELL-NUMBER", NULL), 0);
    tu_set(f->r, TABLE_T2, "fees", "amount", "251000元");
    tu_set(f->r, TABLE_T4, "", "review.upheld", "1.5");
    Reportd__Result *res;
    assert_int_equal(run(f, "R-CELL-NUMBER", &res), 2);
    assert_string_equal(tu_find(res, "R-CELL-NUMBER", "fees", "amount")->actual, "251000元");
    assert_string_equal(tu_find(res, "R-CELL-NUMBER", "", "review.upheld")->actual, "1.5");
    checker_result_free(res);
    tu_set(f->r, TABLE_T2, "fees", "amount", "0");
    tu_set(f->r, TABLE_T4, "", "review.upheld", "-2");
    assert_int_equal(run(f, "R-CELL-NUMBER", &res), 1);
    assert_string_equal(tu_find(res, "R-CELL-NUMBER", "", "review.upheld")->actual, "-2");
    checker_result_free(res);
}

static void test_rules_s3_rowsum(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(run(f, "R-S3-ROWSUM", NULL), 0);
    tu_set(f->r, TABLE_T3, "unable.not_held", "commercial", "2");
    tu_set(f->r, TABLE_T3, "unable.not_held", "total", "2");
    assert_int_equal(run(f, "R-S3-ROWSUM", NULL), 0);
    tu_set(f->r, TABLE_T3, "unable.not_held", "total", "3");
    Reportd__Result *res;
    assert_int_equal(run(f, "R-S3-ROWSUM", &res), 1);
    const Reportd__Finding *x = tu_find(res, "R-S3-ROWSUM", "unable.not_held", "");
    assert_string_equal(x->expected, "2");
    assert_string_equal(x->actual, "3");
    assert_int_equal(x->n_cells, 7);
    checker_result_free(res);
}

static void test_rules_s3_resultsum(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(run(f, "R-S3-RESULTSUM", NULL), 0);
    tu_set(f->r, TABLE_T3, "other.other", "natural", "1");    /* a result row without its total */
    tu_set(f->r, TABLE_T3, "other.other", "total", "1");
    Reportd__Result *res;
    assert_int_equal(run(f, "R-S3-RESULTSUM", &res), 2);
    const Reportd__Finding *x = tu_find(res, "R-S3-RESULTSUM", "", "natural");
    assert_string_equal(x->expected, "7");
    assert_string_equal(x->actual, "6");
    assert_int_equal(tu_count(res, "R-S3-RESULTSUM", "", "total"), 1);
    checker_result_free(res);
}

static void test_rules_s3_resultsum_with_blank(void **state)
{
    struct fixture *f = *state;
    /* a blank result cell: undecidable while the known items fit the total */
    tu_set(f->r, TABLE_T3, "refused.process_info", "legal", "");
    assert_int_equal(run(f, "R-S3-RESULTSUM", NULL), 0);
    /* … and a failure, naming the missing cell, once they exceed it */
    tu_set(f->r, TABLE_T3, "granted", "legal", "2");
    Reportd__Result *res;
    assert_int_equal(run(f, "R-S3-RESULTSUM", &res), 1);
    const Reportd__Finding *x = tu_find(res, "R-S3-RESULTSUM", "", "legal");
    assert_string_equal(x->expected, "≥2");
    assert_int_equal(x->n_missing, 1);
    assert_string_equal(x->missing[0]->row, "refused.process_info");
    checker_result_free(res);
}

static void test_rules_s3_balance(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(run(f, "R-S3-BALANCE", NULL), 0);
    tu_set(f->r, TABLE_T3, "carry_forward", "natural", "2");
    tu_set(f->r, TABLE_T3, "carry_forward", "total", "2");
    Reportd__Result *res;
    assert_int_equal(run(f, "R-S3-BALANCE", &res), 2);
    const Reportd__Finding *x = tu_find(res, "R-S3-BALANCE", "", "natural");
    assert_string_equal(x->actual, "6");     /* 一 + 二 */
    assert_string_equal(x->expected, "8");   /* （七） + 四 */
    checker_result_free(res);
}

static void test_rules_s4_sum(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(run(f, "R-S4-SUM", NULL), 0);
    tu_set(f->r, TABLE_T4, "", "suit_direct.corrected", "3");
    Reportd__Result *res;
    assert_int_equal(run(f, "R-S4-SUM", &res), 1);
    const Reportd__Finding *x = tu_find(res, "R-S4-SUM", "", "suit_direct.total");
    assert_string_equal(x->expected, "3");
    assert_string_equal(x->actual, "0");
    checker_result_free(res);
}

static void test_rules_s2_bounds(void **state)
{
    struct fixture *f = *state;
    tu_set(f->r, TABLE_T2, "rules", "issued", "5");
    tu_set(f->r, TABLE_T2, "rules", "repealed", "1");
    tu_set(f->r, TABLE_T2, "rules", "in_force", "4");
    assert_int_equal(run(f, "R-S2-BOUNDS", NULL), 0);
    tu_set(f->r, TABLE_T2, "rules", "in_force", "3");
    Reportd__Result *res;
    assert_int_equal(run(f, "R-S2-BOUNDS", &res), 1);
    const Reportd__Finding *x = tu_find(res, "R-S2-BOUNDS", "rules", "in_force");
    assert_string_equal(x->expected, "≥4");
    assert_string_equal(x->actual, "3");
    assert_int_equal(x->severity, REPORTD__SEVERITY__SEV_WARNING);
    checker_result_free(res);
}

static void test_rules_s5_nonempty(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(run(f, "R-S5-NONEMPTY", NULL), 0);
    free(f->r->section_text[4]);
    f->r->section_text[4] = xstrdup(" 无。\n");
    assert_int_equal(run(f, "R-S5-NONEMPTY", NULL), 1);
}

static void test_rules_s6_fee(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(run(f, "R-S6-FEE", NULL), 0);
    free(f->r->section_text[5]);
    f->r->section_text[5] = xstrdup("2024年度，政府信息公开未发生收费情况。");   /* 沭阳's wording */
    assert_int_equal(run(f, "R-S6-FEE", NULL), 0);
    free(f->r->section_text[5]);
    f->r->section_text[5] = xstrdup("无其他需要报告的事项。");
    Reportd__Result *res;
    assert_int_equal(run(f, "R-S6-FEE", &res), 1);
    assert_int_equal(res->findings[0]->severity, REPORTD__SEVERITY__SEV_NOTICE);
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_PASS);   /* a notice does not fail */
    checker_result_free(res);
    /* an application dropped for an unpaid fee makes the statement mandatory */
    tu_set(f->r, TABLE_T3, "other.no_fee", "natural", "1");
    tu_set(f->r, TABLE_T3, "new", "natural", "7");
    fix_totals(f->r);
    assert_int_equal(run(f, "R-S6-FEE", &res), 1);
    const Reportd__Finding *x = tu_find(res, "R-S6-FEE", "other.no_fee", "total");
    assert_int_equal(x->severity, REPORTD__SEVERITY__SEV_WARNING);
    checker_result_free(res);
}

static void test_rules_text_s3(void **state)
{
    struct fixture *f = *state;
    free(f->r->section_text[0]);
    f->r->section_text[0] = xstrdup("2024年，共受理政府信息公开申请 6 件，办结 6 件。");
    assert_int_equal(run(f, "R-TEXT-S3", NULL), 0);
    /* 沭阳 2023: petitions received are not applications; its applications are */
    free(f->r->section_text[0]);
    f->r->section_text[0] = xstrdup("全年受理网络问政182件。2024年度我局共收到依申请信息公开6件。");
    assert_int_equal(run(f, "R-TEXT-S3", NULL), 0);
    free(f->r->section_text[0]);
    f->r->section_text[0] = xstrdup("2024年，共收到政府信息公开申请7件，上年结转2件，办结 6 件。");
    Reportd__Result *res;
    assert_int_equal(run(f, "R-TEXT-S3", &res), 2);
    const Reportd__Finding *x = tu_find(res, "R-TEXT-S3", "new", "total");
    assert_string_equal(x->expected, "6");
    assert_string_equal(x->actual, "7");
    assert_string_equal(tu_find(res, "R-TEXT-S3", "carried_over", "total")->actual, "2");
    checker_result_free(res);
}

static void test_rules_text_s4(void **state)
{
    struct fixture *f = *state;
    free(f->r->section_text[0]);
    f->r->section_text[0] = xstrdup("发生政府信息公开行政复议 0 件，行政诉讼 0 件。");
    assert_int_equal(run(f, "R-TEXT-S4", NULL), 0);
    free(f->r->section_text[0]);
    f->r->section_text[0] = xstrdup("发生政府信息公开行政复议 2 件，行政诉讼 1 件。");
    Reportd__Result *res;
    assert_int_equal(run(f, "R-TEXT-S4", &res), 2);
    assert_string_equal(tu_find(res, "R-TEXT-S4", "", "review.total")->actual, "2");
    assert_string_equal(tu_find(res, "R-TEXT-S4", "", "suit_direct.total")->actual, "1");
    checker_result_free(res);
}

static Reportd__Result *check_submitted(struct fixture *f, int government, const char *date)
{
    struct tm tm = {0};
    strptime(date, "%Y-%m-%d", &tm);
    tm.tm_hour = 12;
    struct check_meta meta = {.submission_id = "t", .government = government, .year = 2024,
                              .submitted_at = (int64_t)timegm(&tm) - 8 * 3600};
    return checker_check_report(f->c, f->r, &meta);
}

static void test_rules_deadline(void **state)
{
    struct fixture *f = *state;
    Reportd__Result *res = check_submitted(f, 0, "2025-01-31");
    assert_int_equal(tu_count(res, "R-DEADLINE", NULL, NULL), 0);
    assert_int_equal(res->enrichment->days_after_deadline, 0);
    checker_result_free(res);
    res = check_submitted(f, 0, "2025-02-03");
    const Reportd__Finding *x = tu_find(res, "R-DEADLINE", "", "");
    assert_string_equal(x->expected, "2025-01-31");
    assert_string_equal(x->actual, "2025-02-03");
    assert_int_equal(res->enrichment->days_after_deadline, 3);
    checker_result_free(res);
    res = check_submitted(f, 1, "2025-02-03");          /* a government: due 31 March */
    assert_int_equal(tu_count(res, "R-DEADLINE", NULL, NULL), 0);
    assert_string_equal(res->enrichment->deadline, "2025-03-31");
    checker_result_free(res);
}

static void test_rules_severity_override(void **state)
{
    struct fixture *f = *state;
    const char *rules[] = {"R-S3-ROWSUM", "R-STRUCT-LABEL"};
    int sev[] = {1, 2};
    char err[256];
    struct checker *c = checker_new(&(struct checker_options){"config", rules, sev, 2, 0}, err, sizeof err);
    assert_non_null(c);
    tu_set(f->r, TABLE_T3, "new", "total", "9");
    f->r->tables[TABLE_T3].printed[5] = xstrdup("2.其他法律行政止公开");
    Reportd__Result *res = tu_check(c, f->r);
    assert_int_equal(tu_find(res, "R-S3-ROWSUM", "new", "")->severity, REPORTD__SEVERITY__SEV_WARNING);
    assert_int_equal(tu_find(res, "R-STRUCT-LABEL", "refused.law_forbidden", "")->severity,
                     REPORTD__SEVERITY__SEV_ERROR);
    checker_result_free(res);
    checker_destroy(&c);
    const char *bad[] = {"R-NO-SUCH"};
    assert_null(checker_new(&(struct checker_options){"config", bad, sev, 1, 0}, err, sizeof err));
    assert_non_null(strstr(err, "R-NO-SUCH"));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_rules_clean_base_passes), T(test_rules_struct_sections), T(test_rules_struct_version),
        T(test_rules_struct_label), T(test_rules_struct_shape), T(test_rules_struct_shape_missing_table),
        T(test_rules_cell_missing), T(test_rules_cell_missing_grouped),
        T(test_rules_cell_number), T(test_rules_s3_rowsum), T(test_rules_s3_resultsum),
        T(test_rules_s3_resultsum_with_blank), T(test_rules_s3_balance), T(test_rules_s4_sum),
        T(test_rules_s2_bounds), T(test_rules_s5_nonempty), T(test_rules_s6_fee), T(test_rules_text_s3),
        T(test_rules_text_s4), T(test_rules_deadline), T(test_rules_severity_override),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
