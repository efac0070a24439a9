/* test_crossyear: the rules across years (R-S3-PREV-CARRY, R-S2-CONTINUITY,
 * R-DUP-PREV, R-YOY-JUMP, R-PREV-PARTIAL), each passing and failing, the
 * year-on-year deltas, a first year, a previous year in the 2019 layout, the
 * previous year on the wire (Submission.previous through checker_run_bytes and
 * pbguard) and the body key that groups one body's years.
 *
 * 洪泽 has no 2024 report here: the tests make one as a temporary copy of the
 * real hongze-2023.layout.txt (never edited) with the title's year set to 2024,
 * T2 行政规范性文件 本年废止 5 -> 0 (so its T2 follows on from 2023) and, where
 * a test says so, T3 二、上年结转 商业企业 0 -> 3. */
#include "testutil.h"

#include <unistd.h>

#include "base/pbguard.h"
#include "check/crossyear.h"
#include "check/jsonout.h"
#include "read/reportpb.h"

#define HONGZE SHARED_REPORTS "hongze-2023.layout.txt"
#define HUAIAN SHARED_REPORTS "huaian-2024.layout.txt"
#define PINGTAN23 SHARED_REPORTS "pingtan-2023.page.txt"
#define PINGTAN24 SHARED_REPORTS "pingtan-2024.page.txt"

static const char *const CROSS[] = {"R-S3-PREV-CARRY", "R-S2-CONTINUITY", "R-DUP-PREV", "R-YOY-JUMP",
                                    "R-PREV-PARTIAL"};

/* Replace the one occurrence of old in *s (heap) by new; the test fails when
 * old is not there exactly once. */
static void replace_once(char **s, const char *old, const char *new)
{
    char *at = strstr(*s, old);
    assert_non_null(at);
    assert_null(strstr(at + 1, old));
    size_t pre = (size_t)(at - *s);
    char *out = xasprintf("%.*s%s%s", (int)pre, *s, new, at + strlen(old));
    free(*s);
    *s = out;
}

/* The temporary "2024" copy of 洪泽 2023 (see the top of this file); carry:
 * also alter 上年结转 商业企业. Returns the report read from it. */
static struct report *hongze_2024(const struct checker *c, int carry)
{
    size_t len;
    char *t = tu_slurp(HONGZE, &len);
    replace_once(&t, "      2023 年政府信息公开工作年度报告", "      2024 年政府信息公开工作年度报告");
    replace_once(&t, "行政规范性文件          0          5       5", "行政规范性文件          0          0       5");
    if (carry)
        replace_once(&t, "二、上年结转政府信息公开申请数量                              0    0",
                     "二、上年结转政府信息公开申请数量                              0    3");
    char path[] = "/tmp/test_crossyear_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
    close(fd);
    free(t);
    struct report *r = tu_read(c, path, READER_DETECT);
    unlink(path);
    assert_int_equal(r->year, 2024);
    return r;
}

static Reportd__Result *check_pair(const struct checker *c, const struct report *r, unsigned year,
                                   const struct report *prev, unsigned prev_year)
{
    struct check_meta meta = {.submission_id = "t", .government = -1, .year = year, .previous = prev,
                              .previous_year = prev_year};
    return checker_check_report(c, r, &meta);
}

/* Findings of the cross-year rules. */
static int cross_count(const Reportd__Result *res)
{
    int n = 0;
    for (size_t i = 0; i < sizeof CROSS / sizeof CROSS[0]; i++)
        n += tu_count(res, CROSS[i], NULL, NULL);
    return n;
}

/* Set every narrative section of r to the text of another report's. */
static void take_text(struct report *r, const struct report *from)
{
    static const int narrative[] = {0, 4, 5};
    for (int i = 0; i < 3; i++) {
        free(r->section_text[narrative[i]]);
        r->section_text[narrative[i]] = xstrdup(from->section_text[narrative[i]]);
    }
}

static void test_crossyear_hongze_carry_altered(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct report *prev = tu_read(c, HONGZE, READER_DETECT);
    struct report *r = hongze_2024(c, 1);
    Reportd__Result *res = check_pair(c, r, 0, prev, 2023);
    /* the copy repeats 2023's text word for word: R-DUP-PREV, rightly */
    assert_int_equal(cross_count(res), 2);
    assert_int_equal(tu_count(res, "R-S3-PREV-CARRY", NULL, NULL), 1);
    const Reportd__Finding *f = tu_find(res, "R-S3-PREV-CARRY", "carried_over", "commercial");
    assert_string_equal(f->table, "T3");
    assert_string_equal(f->expected, "0");
    assert_string_equal(f->actual, "3");
    assert_int_equal(f->severity, REPORTD__SEVERITY__SEV_WARNING);
    assert_int_equal(f->n_cells, 1);
    assert_string_equal(f->cells[0]->row_label, "二、上年结转政府信息公开申请数量");
    assert_string_equal(f->message_zh, "T3「商业企业」列「二、上年结转」为 3 件，但上年报告「四、结转下年度继续办理」为 0 件");
    assert_string_equal(f->message_en, "T3 column commercial: 3 carried over, but last year's report carried 0 forward");
    f = tu_find(res, "R-DUP-PREV", "", "");
    assert_string_equal(f->actual, "100.0%");
    checker_result_free(res);

    /* the same copy with the text of another report: exactly R-S3-PREV-CARRY */
    struct report *other = tu_read(c, HUAIAN, READER_DETECT);
    take_text(r, other);
    res = check_pair(c, r, 0, prev, 2023);
    assert_int_equal(cross_count(res), 1);
    tu_find(res, "R-S3-PREV-CARRY", "carried_over", "commercial");
    checker_result_free(res);
    report_destroy(&other);
    report_destroy(&r);
    report_destroy(&prev);
    checker_destroy(&c);
}

/* 平潭 2023 -> 2024, two real consecutive years (run-together page text):
 * 2023 carried 0 forward in every column and 2024 carried 0 over, so no
 * cross-year finding; the deltas; the text rewritten (10.6% of 2023's
 * shingles again), and a copy of 2023 is 100%. */
static void test_crossyear_pingtan(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct report *p23 = tu_read(c, PINGTAN23, READER_DETECT);
    struct report *p24 = tu_read(c, PINGTAN24, READER_DETECT);
    assert_int_equal(p23->year, 2023);
    assert_int_equal(p24->year, 2024);
    const struct layout_table *lt = &p24->tables[TABLE_T3].layout->tables[TABLE_T3];
    for (int col = 0; col < lt->ncols; col++) {
        int64_t forward = -1, over = -2;
        assert_true(rules_count(p23, TABLE_T3, "carry_forward", lt->cols[col].id, &forward));
        assert_true(rules_count(p24, TABLE_T3, "carried_over", lt->cols[col].id, &over));
        assert_int_equal(forward, over);
    }
    Reportd__Result *res = check_pair(c, p24, 0, p23, 2023);
    assert_int_equal(cross_count(res), 0);
    assert_int_equal(tu_count_severity(res, REPORTD__SEVERITY__SEV_ERROR), 0);
    const Reportd__YearOnYear *y = res->enrichment->year_on_year;
    assert_non_null(y);
    assert_int_equal(y->received, 218 - 81);
    assert_int_equal(y->concluded, 218 - 81);
    assert_int_equal(y->reviews, 7 - 2);
    assert_int_equal(y->suits, 19 - 7);
    assert_true(y->has_disclosure_rate && y->disclosure_rate < -0.0598 && y->disclosure_rate > -0.0599);
    checker_result_free(res);
    size_t n;
    assert_int_equal(crossyear_repeated(p23, p24, &n), 106);
    assert_int_equal(n, 1516);
    assert_int_equal(crossyear_repeated(p24, p23, NULL), 131);
    assert_int_equal(crossyear_repeated(p23, p23, NULL), 1000);
    /* the carry-over is really compared: 2024 altered in memory */
    tu_set(p24, TABLE_T3, "carried_over", "natural", "1");
    res = check_pair(c, p24, 0, p23, 2023);
    assert_int_equal(cross_count(res), 1);
    tu_find(res, "R-S3-PREV-CARRY", "carried_over", "natural");
    checker_result_free(res);
    report_destroy(&p24);
    report_destroy(&p23);
    checker_destroy(&c);
}

/* R-S3-PREV-CARRY and R-S2-CONTINUITY pass on the consistent copy; T2 without
 * the fix breaks continuity at 行政规范性文件 (5 + 0 − 5 = 0, not 5). */
static void test_crossyear_carry_and_continuity(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct report *prev = tu_read(c, HONGZE, READER_DETECT);
    struct report *r = hongze_2024(c, 0);
    Reportd__Result *res = check_pair(c, r, 0, prev, 2023);
    assert_int_equal(tu_count(res, "R-S3-PREV-CARRY", NULL, NULL), 0);
    assert_int_equal(tu_count(res, "R-S2-CONTINUITY", NULL, NULL), 0);
    checker_result_free(res);

    tu_set(r, TABLE_T2, "normative_docs", "repealed", "5");
    tu_set(r, TABLE_T2, "rules", "issued", "2");       /* 0 + 2 − 0 = 2, not 0 */
    res = check_pair(c, r, 0, prev, 2023);
    assert_int_equal(tu_count(res, "R-S2-CONTINUITY", NULL, NULL), 2);
    const Reportd__Finding *f = tu_find(res, "R-S2-CONTINUITY", "normative_docs", "in_force");
    assert_string_equal(f->expected, "0");
    assert_string_equal(f->actual, "5");
    assert_int_equal(f->n_cells, 3);
    assert_string_equal(f->message_en, "T2 normative_docs: 5 in force, but last year's 5 + 0 issued − 5 repealed = 0 "
                                       "(amendments can explain a difference)");
    f = tu_find(res, "R-S2-CONTINUITY", "rules", "in_force");
    assert_string_equal(f->expected, "2");
    assert_string_equal(f->actual, "0");
    checker_result_free(res);

    /* a blank is not 0: nothing compared where either year's cell is blank */
    tu_set(r, TABLE_T2, "rules", "issued", "");
    tu_set(r, TABLE_T3, "carried_over", "commercial", "3");
    tu_set(prev, TABLE_T3, "carry_forward", "commercial", "/");
    res = check_pair(c, r, 0, prev, 2023);
    assert_int_equal(tu_count(res, "R-S2-CONTINUITY", "rules", NULL), 0);
    assert_int_equal(tu_count(res, "R-S3-PREV-CARRY", NULL, NULL), 0);
    checker_result_free(res);
    report_destroy(&r);
    report_destroy(&prev);
    checker_destroy(&c);
}

/* R-DUP-PREV: the measure on real texts, exact per mille. */
static void test_crossyear_dup_measure(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct report *hz = tu_read(c, HONGZE, READER_DETECT);
    struct report *ha = tu_read(c, HUAIAN, READER_DETECT);
    struct report *xx = tu_read(c, "examples/xiangxiang-minzheng-2024.txt", READER_DETECT);
    struct report *copy = hongze_2024(c, 0);
    size_t n = 0;
    assert_int_equal(crossyear_repeated(hz, copy, &n), 1000);
    assert_int_equal(n, 796);
    /* every figure changed: still a copy (digits are one class) */
    char *t = copy->section_text[0];
    for (size_t i = 0; t[i]; i++)
        if (t[i] >= '0' && t[i] <= '8')
            t[i]++;
    assert_int_equal(crossyear_repeated(hz, copy, NULL), 1000);
    /* unrelated bodies share the official phrases only */
    assert_int_equal(crossyear_repeated(hz, ha, NULL), 146);
    assert_int_equal(crossyear_repeated(ha, hz, NULL), 85);
    assert_int_equal(crossyear_repeated(xx, hz, NULL), 99);
    /* half of last year's text kept: the first half of each section */
    static const int narrative[] = {0, 4, 5};
    for (int i = 0; i < 3; i++) {
        char *s = copy->section_text[narrative[i]];
        size_t len = strlen(s), cut = len / 2;
        while (cut < len && ((unsigned char)s[cut] & 0xc0) == 0x80)
            cut++;
        char *half = xasprintf("%.*s%s", (int)cut, hz->section_text[narrative[i]], ha->section_text[narrative[i]]);
        free(copy->section_text[narrative[i]]);
        copy->section_text[narrative[i]] = half;
    }
    /* half of each section's bytes (the longer sections weigh more): over the line */
    assert_int_equal(crossyear_repeated(hz, copy, NULL), 552);
    /* too little text last year to copy: not compared */
    free(xx->section_text[0]);
    xx->section_text[0] = xstrdup("无。");
    free(xx->section_text[4]);
    xx->section_text[4] = xstrdup("无");
    free(xx->section_text[5]);
    xx->section_text[5] = xstrdup("");
    assert_int_equal(crossyear_repeated(xx, hz, &n), -1);
    assert_int_equal(n, 0);
    report_destroy(&copy);
    report_destroy(&xx);
    report_destroy(&ha);
    report_destroy(&hz);
    checker_destroy(&c);
}

static void test_crossyear_dup_rule(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct report *prev = tu_read(c, HONGZE, READER_DETECT);
    struct report *r = hongze_2024(c, 0);
    struct report *other = tu_read(c, HUAIAN, READER_DETECT);
    Reportd__Result *res = check_pair(c, r, 0, prev, 2023);
    const Reportd__Finding *f = tu_find(res, "R-DUP-PREV", "", "");
    assert_string_equal(f->table, "");
    assert_string_equal(f->expected, "≤50%");
    assert_string_equal(f->actual, "100.0%");
    assert_string_equal(f->message_en, "sections 1, 5 and 6 repeat 100.0% of last year's text (in 5-character "
                                       "shingles, figures ignored): more than 50%");
    checker_result_free(res);
    take_text(r, other);
    res = check_pair(c, r, 0, prev, 2023);
    assert_int_equal(tu_count(res, "R-DUP-PREV", NULL, NULL), 0);
    checker_result_free(res);
    /* last year without the narrative sections: said so */
    for (int i = 0; i < LAYOUT_SECTIONS; i++)
        prev->section_order[i] = -1;
    res = check_pair(c, r, 0, prev, 2023);
    assert_int_equal(tu_count(res, "R-DUP-PREV", NULL, NULL), 0);
    f = tu_find(res, "R-PREV-PARTIAL", "", "");
    assert_int_equal(f->severity, REPORTD__SEVERITY__SEV_NOTICE);
    assert_string_equal(f->message_en, "last year's report carries no text of sections 1, 5 and 6: R-DUP-PREV not checked");
    checker_result_free(res);
    report_destroy(&other);
    report_destroy(&r);
    report_destroy(&prev);
    checker_destroy(&c);
}

/* R-YOY-JUMP at the edges of ×5 and ×0.2, the floor of 10, and from 0. */
static void test_crossyear_yoy_jump(void **state)
{
    (void)state;
    static const struct {
        const char *before, *now;
        int jump;
        const char *actual;
    } cases[] = {
        {"21", "105", 0, NULL}, {"21", "106", 1, "×5.05 (21 → 106)"}, {"21", "5", 0, NULL},
        {"21", "4", 1, "×0.19 (21 → 4)"}, {"1", "9", 0, NULL}, {"0", "10", 1, "from 0 (0 → 10)"},
        {"0", "9", 0, NULL}, {"12", "0", 1, "×0.00 (12 → 0)"},
    };
    struct checker *c = tu_checker();
    struct report *prev = tu_read(c, HONGZE, READER_DETECT);
    struct report *r = hongze_2024(c, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tu_set(prev, TABLE_T3, "new", "total", cases[i].before);
        tu_set(r, TABLE_T3, "new", "total", cases[i].now);
        Reportd__Result *res = check_pair(c, r, 0, prev, 2023);
        assert_int_equal(tu_count(res, "R-YOY-JUMP", NULL, NULL), cases[i].jump);
        if (cases[i].jump) {
            const Reportd__Finding *f = tu_find(res, "R-YOY-JUMP", "new", "total");
            assert_int_equal(f->severity, REPORTD__SEVERITY__SEV_NOTICE);
            assert_string_equal(f->expected, "×0.2–×5");
            assert_string_equal(f->actual, cases[i].actual);
        }
        checker_result_free(res);
    }
    /* lawsuits: the sum of both T4 blocks, named by no one column */
    tu_set(r, TABLE_T3, "new", "total", "21");
    tu_set(prev, TABLE_T3, "new", "total", "21");
    tu_set(r, TABLE_T4, "", "suit_direct.total", "40");
    tu_set(r, TABLE_T4, "", "suit_after_review.total", "20");
    tu_set(prev, TABLE_T4, "", "suit_direct.total", "5");
    tu_set(prev, TABLE_T4, "", "suit_after_review.total", "6");
    Reportd__Result *res = check_pair(c, r, 0, prev, 2023);
    assert_int_equal(tu_count(res, "R-YOY-JUMP", NULL, NULL), 1);
    const Reportd__Finding *f = tu_find(res, "R-YOY-JUMP", "", "");
    assert_string_equal(f->table, "T4");
    assert_int_equal(f->n_cells, 2);
    assert_string_equal(f->actual, "×5.45 (11 → 60)");
    assert_string_equal(f->message_zh, "行政诉讼数从上年的 11 变为 60（×5.45），同比变化超过5倍或不足五分之一，请核实");
    checker_result_free(res);
    report_destroy(&r);
    report_destroy(&prev);
    checker_destroy(&c);
}

/* No previous: no cross-year finding, no deltas. */
static void test_crossyear_first_year(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct report *r = hongze_2024(c, 1);
    Reportd__Result *res = check_pair(c, r, 0, NULL, 0);
    assert_int_equal(cross_count(res), 0);
    assert_null(res->enrichment->year_on_year);
    char *json = jsonout_result(res, NULL);
    assert_null(strstr(json, "year_on_year"));
    free(json);
    checker_result_free(res);
    report_destroy(&r);
    checker_destroy(&c);
}

/* A previous year for another year than Y − 1 is not compared, and says so. */
static void test_crossyear_not_the_year_before(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct report *prev = tu_read(c, HONGZE, READER_DETECT);
    struct report *r = hongze_2024(c, 1);
    Reportd__Result *res = check_pair(c, r, 0, prev, 2022);
    assert_int_equal(cross_count(res), 1);
    const Reportd__Finding *f = tu_find(res, "R-PREV-PARTIAL", "", "");
    assert_string_equal(f->expected, "2023");
    assert_string_equal(f->actual, "2022");
    assert_null(res->enrichment->year_on_year);
    checker_result_free(res);
    report_destroy(&r);
    report_destroy(&prev);
    checker_destroy(&c);
}

/* A previous year in the 2019 layout: 洪泽's T3 is one already (compared with
 * this year's by the same ids); a 2019 T2 has no 现行有效件数, so
 * R-S2-CONTINUITY is not checked and R-PREV-PARTIAL says so. */
static void test_crossyear_previous_2019_layout(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    const struct layout *l2019 = layouts_find(checker_layouts(c), 2019);
    assert_non_null(l2019);
    struct report *prev = tu_read(c, HONGZE, READER_DETECT);
    assert_int_equal(prev->tables[TABLE_T3].layout->version, 2019);
    report_set_table(prev, TABLE_T2, l2019);
    tu_set(prev, TABLE_T2, "rules", "made", "1");
    tu_set(prev, TABLE_T2, "normative_docs", "total", "5");
    /* this year in the 2021 layout throughout: 湘乡 with 洪泽's 2023 carry-forward in mind */
    struct report *r = tu_read(c, "examples/xiangxiang-minzheng-2024.txt", READER_DETECT);
    assert_int_equal(r->tables[TABLE_T3].layout->version, 2021);
    tu_set(r, TABLE_T3, "carried_over", "natural", "2");
    Reportd__Result *res = check_pair(c, r, 0, prev, 2023);
    assert_int_equal(tu_count(res, "R-S2-CONTINUITY", NULL, NULL), 0);
    const Reportd__Finding *f = tu_find(res, "R-PREV-PARTIAL", "", "");
    assert_string_equal(f->table, "T2");
    assert_string_equal(f->message_en, "last year's T2 is in the 2019 layout, which has no 现行有效件数 (in force): "
                                       "R-S2-CONTINUITY not checked");
    assert_string_equal(f->message_zh, "上年表二为2019年版格式，没有「现行有效件数」，未核对R-S2-CONTINUITY");
    f = tu_find(res, "R-S3-PREV-CARRY", "carried_over", "natural");
    assert_string_equal(f->expected, "0");
    assert_string_equal(f->actual, "2");
    /* T3 new 总计: 湘乡 prints 0 (its total column is all 0), 洪泽 21 */
    assert_non_null(res->enrichment->year_on_year);
    assert_int_equal(res->enrichment->year_on_year->received, -21);
    assert_int_equal(tu_count(res, "R-PREV-PARTIAL", NULL, NULL), 1);
    checker_result_free(res);

    /* last year without a T3: said so */
    report_destroy(&prev);
    prev = tu_read(c, HONGZE, READER_DETECT);
    const struct layout *t3 = prev->tables[TABLE_T3].layout;
    prev->tables[TABLE_T3].layout = NULL;
    res = check_pair(c, r, 0, prev, 2023);
    prev->tables[TABLE_T3].layout = t3;   /* so report_destroy frees its cells */
    f = tu_find(res, "R-PREV-PARTIAL", NULL, NULL);
    assert_string_equal(f->table, "T3");
    assert_string_equal(f->message_en, "last year's report has no T3: R-S3-PREV-CARRY not checked");
    checker_result_free(res);
    report_destroy(&r);
    report_destroy(&prev);
    checker_destroy(&c);
}

/* The deltas in the Result and the JSON. */
static void test_crossyear_year_on_year(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct report *prev = tu_read(c, HONGZE, READER_DETECT);
    struct report *r = hongze_2024(c, 0);
    /* 2024: 4 more received and granted (so the rate moves), 2 more reviews */
    tu_set(r, TABLE_T3, "new", "total", "25");
    tu_set(r, TABLE_T3, "granted", "total", "4");
    tu_set(r, TABLE_T3, "total", "total", "25");
    tu_set(r, TABLE_T4, "", "review.total", "2");
    tu_set(r, TABLE_T4, "", "suit_direct.total", "");
    Reportd__Result *res = check_pair(c, r, 0, prev, 2023);
    const Reportd__YearOnYear *y = res->enrichment->year_on_year;
    assert_non_null(y);
    assert_int_equal(y->previous_year, 2023);
    assert_true(y->has_received && y->received == 4);
    assert_true(y->has_concluded && y->concluded == 4);
    assert_true(y->has_disclosure_rate);
    assert_true(y->disclosure_rate > 8.0 / 25 - 4.0 / 21 - 1e-9 && y->disclosure_rate < 8.0 / 25 - 4.0 / 21 + 1e-9);
    assert_true(y->has_reviews && y->reviews == 2);
    assert_false(y->has_suits);  /* a blank this year: no delta */
    char *json = jsonout_result(res, NULL);
    assert_non_null(strstr(json, "\"year_on_year\":{\"previous_year\":2023,\"received\":4,\"concluded\":4,"
                                 "\"disclosure_rate\":0.12952380952380"));
    assert_non_null(strstr(json, ",\"reviews\":2}"));
    free(json);
    checker_result_free(res);
    report_destroy(&r);
    report_destroy(&prev);
    checker_destroy(&c);
}

/* Severities of the new rules are overridable like the others. */
static void test_crossyear_severity_override(void **state)
{
    (void)state;
    const char *rules[] = {"R-S3-PREV-CARRY", "R-YOY-JUMP"};
    int sev[] = {2, 1};
    char err[256];
    struct checker *c = checker_new(&(struct checker_options){.datadir = "config", .override_rules = rules,
                                                              .override_severities = sev, .noverrides = 2},
                                    err, sizeof err);
    assert_non_null(c);
    struct report *prev = tu_read(c, HONGZE, READER_DETECT);
    struct report *r = hongze_2024(c, 1);
    tu_set(r, TABLE_T4, "", "review.total", "10");
    Reportd__Result *res = check_pair(c, r, 0, prev, 2023);
    assert_int_equal(tu_find(res, "R-S3-PREV-CARRY", NULL, NULL)->severity, REPORTD__SEVERITY__SEV_ERROR);
    assert_int_equal(tu_find(res, "R-YOY-JUMP", NULL, NULL)->severity, REPORTD__SEVERITY__SEV_WARNING);
    checker_result_free(res);
    report_destroy(&r);
    report_destroy(&prev);
    checker_destroy(&c);
}

static uint8_t *pack_sub(const Reportd__Submission *s, size_t *len)
{
    *len = reportd__submission__get_packed_size(s);
    uint8_t *buf = xmalloc(*len);
    reportd__submission__pack(s, buf);
    return buf;
}

/* Submission.previous through the worker's entry point: the same Result as
 * the offline pair; without it, the same Submission has no cross-year rule. */
static void test_crossyear_on_the_wire(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct report *prev = tu_read(c, HONGZE, READER_DETECT);
    struct report *r = hongze_2024(c, 1);
    Reportd__Submission s = REPORTD__SUBMISSION__INIT;
    Reportd__PreviousReport p = REPORTD__PREVIOUS_REPORT__INIT;
    s.schema_version = 1;
    s.submission_id = (char *)"t";
    s.content_case = REPORTD__SUBMISSION__CONTENT_REPORT;
    s.report = reportpb_from_report(r);
    p.year = 2023;
    p.report = reportpb_from_report(prev);
    s.previous = &p;
    size_t len;
    uint8_t *buf = pack_sub(&s, &len);
    Reportd__Result *wire = checker_run_bytes(c, buf, len);
    Reportd__Result *offline = check_pair(c, r, 0, prev, 2023);
    assert_int_equal(cross_count(wire), 2);
    tu_find(wire, "R-S3-PREV-CARRY", "carried_over", "commercial");
    assert_non_null(wire->enrichment->year_on_year);
    tu_same_result(wire, offline);
    checker_result_free(wire);
    checker_result_free(offline);
    free(buf);

    /* a broker without history: no field 8 */
    s.previous = NULL;
    buf = pack_sub(&s, &len);
    wire = checker_run_bytes(c, buf, len);
    assert_int_equal(cross_count(wire), 0);
    assert_null(wire->enrichment->year_on_year);
    checker_result_free(wire);
    free(buf);

    /* pbguard walks into the new field: a bad string there is named */
    free(p.report->sections[0]->text);
    p.report->sections[0]->text = xstrdup("\xe6\xb4\xaa\xff");
    s.previous = &p;
    buf = pack_sub(&s, &len);
    char err[256];
    assert_null(pbguard_unpack(&reportd__submission__descriptor, buf, len, PBGUARD_BUDGET(len), err, sizeof err));
    assert_non_null(strstr(err, "Submission.previous.report.sections.text (byte "));
    assert_non_null(strstr(err, "): not valid UTF-8"));
    free(buf);

    /* a previous Report that is not a report: checked without it, said so */
    free(p.report->sections[0]->text);
    p.report->sections[0]->text = xstrdup("ok");
    free(p.report->tables[0]->id);
    p.report->tables[0]->id = xstrdup("T9");
    buf = pack_sub(&s, &len);
    wire = checker_run_bytes(c, buf, len);
    assert_int_equal(cross_count(wire), 1);
    const Reportd__Finding *f = tu_find(wire, "R-PREV-PARTIAL", "", "");
    assert_non_null(strstr(f->message_en, "the previous year's report sent with this one cannot be used ("));
    assert_non_null(strstr(f->message_en, "T9"));
    assert_null(wire->enrichment->year_on_year);
    checker_result_free(wire);
    free(buf);
    free(p.report->tables[0]->id);
    p.report->tables[0]->id = xstrdup("T2");

    /* over CHECK_MAX_PREVIOUS: not compared, said so */
    free(p.report->sections[0]->text);
    p.report->sections[0]->text = xmalloc(CHECK_MAX_PREVIOUS + 1);
    memset(p.report->sections[0]->text, 'a', CHECK_MAX_PREVIOUS);
    p.report->sections[0]->text[CHECK_MAX_PREVIOUS] = '\0';
    buf = pack_sub(&s, &len);
    wire = checker_run_bytes(c, buf, len);
    f = tu_find(wire, "R-PREV-PARTIAL", "", "");
    assert_non_null(strstr(f->message_en, "bytes, over the limit of 1048576): no cross-year rule checked"));
    assert_int_equal(cross_count(wire), 1);
    checker_result_free(wire);
    free(buf);

    s.previous = NULL;
    protobuf_c_message_free_unpacked(&p.report->base, NULL);
    protobuf_c_message_free_unpacked(&s.report->base, NULL);
    report_destroy(&r);
    report_destroy(&prev);
    checker_destroy(&c);
}

static void test_crossyear_body_key(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    static const char *const same[] = {"洪泽区人民政府", "淮安市洪泽区人民政府", "江苏省淮安市洪泽区人民政府",
                                       "洪泽区 人民政府", "淮安市洪泽区人民政府（办公室）"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        char *k = checker_body_key(c, same[i], NULL);
        assert_string_equal(k, "320813 洪泽区人民政府");
        free(k);
    }
    char *k = checker_body_key(c, "洪泽区民政局", NULL);
    assert_string_equal(k, "320813 洪泽区民政局");
    free(k);
    k = checker_body_key(c, "湘乡市民政局", "430381");
    assert_string_equal(k, "430381 湘乡市民政局");
    free(k);
    k = checker_body_key(c, "某某局", NULL);
    assert_string_equal(k, " 某某局");
    free(k);
    assert_null(checker_body_key(c, "", NULL));
    assert_null(checker_body_key(c, NULL, NULL));
    checker_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crossyear_hongze_carry_altered),
        cmocka_unit_test(test_crossyear_pingtan),
        cmocka_unit_test(test_crossyear_carry_and_continuity),
        cmocka_unit_test(test_crossyear_dup_measure),
        cmocka_unit_test(test_crossyear_dup_rule),
        cmocka_unit_test(test_crossyear_yoy_jump),
        cmocka_unit_test(test_crossyear_first_year),
        cmocka_unit_test(test_crossyear_not_the_year_before),
        cmocka_unit_test(test_crossyear_previous_2019_layout),
        cmocka_unit_test(test_crossyear_year_on_year),
        cmocka_unit_test(test_crossyear_severity_override),
        cmocka_unit_test(test_crossyear_on_the_wire),
        cmocka_unit_test(test_crossyear_body_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
