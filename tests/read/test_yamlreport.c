/* test_yamlreport: the YAML form of the real reports in ../shared/reports —
 * written and read back without loss (byte for byte on a second write; cell
 * states, exact decimals, printed labels, absent sections), and every kind of
 * bad YAML refused with file:line:column at the offending node. */
#include "testutil.h"

#include "read/yamlreport.h"

#define HUAIAN SHARED_REPORTS "huaian-2024.layout.txt"
#define HONGZE SHARED_REPORTS "hongze-2023.layout.txt"
#define XIANGXIANG SHARED_REPORTS "xiangxiang-minzheng-2024.txt"
#define SHUYANG SHARED_REPORTS "shuyang-fgj-2023.html"

static struct report *yaml_read_ok(const struct checker *c, const char *yaml, size_t len)
{
    char err[512] = "";
    struct report *r = NULL;
    if (yamlreport_read(checker_layouts(c), yaml, len, "t.yaml", &r, err, sizeof err) < 0)
        fail_msg("yamlreport_read: %s", err);
    return r;
}

/* Write, read, write again: the same bytes, the same report. */
static char *roundtrip(const struct checker *c, const struct report *r, size_t *len)
{
    size_t n2;
    char *y1 = yamlreport_write(r, len);
    assert_true(yamlreport_sniff(y1, *len));
    assert_int_equal(reader_detect((const uint8_t *)y1, *len), READER_YAML);
    struct report *back = yaml_read_ok(c, y1, *len);
    tu_same_report(r, back);
    char *y2 = yamlreport_write(back, &n2);
    assert_int_equal(n2, *len);
    assert_memory_equal(y1, y2, n2);
    free(y2);
    report_destroy(&back);
    return y1;
}

static void test_yamlreport_real_reports_roundtrip(void **state)
{
    (void)state;
    static const struct { const char *file; enum reader_form form; } cases[] = {
        {HUAIAN, READER_LAYOUT}, {HONGZE, READER_LAYOUT}, {XIANGXIANG, READER_TEXT}, {SHUYANG, READER_DETECT},
    };
    struct checker *c = tu_checker();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct report *r = tu_read(c, cases[i].file, cases[i].form);
        size_t len;
        free(roundtrip(c, r, &len));
        report_destroy(&r);
    }
    checker_destroy(&c);
}

/* What the YAML says: exact decimals, blanks as ~, printed labels. */
static void test_yamlreport_exact_content(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    size_t len;
    struct report *r = tu_read(c, HUAIAN, READER_LAYOUT);
    char *y = roundtrip(c, r, &len);
    assert_non_null(strstr(y, "report: 1\nlayout: 2021\ntitle: \"淮安市人民政府2024年政府信息公开工作年度报告\"\n"));
    assert_non_null(strstr(y, "      fees: {amount: 96171.6}\n"));
    assert_non_null(strstr(y, "      total: {natural: 2932, commercial: 53, research: 0, nonprofit: 0, "
                              "legal: 61, other: 4, total: 3050}\n"));
    struct report *back = yaml_read_ok(c, y, len);
    const struct cell *fee = report_cell(back, TABLE_T2, "fees", "amount");
    assert_int_equal(fee->state, CELL_NUMBER);
    assert_int_equal(fee->value, 961716);                    /* 96171.6 exactly: units of 10^-1 */
    assert_int_equal(fee->scale, 1);
    report_destroy(&back);
    free(y);
    report_destroy(&r);

    r = tu_read(c, XIANGXIANG, READER_TEXT);
    y = roundtrip(c, r, &len);
    assert_non_null(strstr(y, "      refused.enforcement_file: {natural: 0, commercial: 0, research: 0, "
                              "nonprofit: ~, legal: ~, other: 0, total: 0}\n"));
    back = yaml_read_ok(c, y, len);
    assert_int_equal(report_cell(back, TABLE_T3, "refused.enforcement_file", "nonprofit")->state, CELL_BLANK);
    assert_int_equal(report_cell(back, TABLE_T3, "refused.enforcement_file", "other")->state, CELL_NUMBER);
    report_destroy(&back);
    free(y);
    report_destroy(&r);

    r = tu_read(c, HONGZE, READER_LAYOUT);
    y = roundtrip(c, r, &len);
    assert_non_null(strstr(y, "    labels:\n      refused.law_forbidden: \"2.其他法律行政止公开\"\n"));
    assert_non_null(strstr(y, "  T3:\n    layout: 2019\n"));
    free(y);
    report_destroy(&r);
    checker_destroy(&c);
}

/* Placeholders and text are quoted as printed and come back as such; an
 * absent section stays absent. */
static void test_yamlreport_states_and_absent_section(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct report *r = tu_read(c, XIANGXIANG, READER_TEXT);
    tu_set(r, TABLE_T3, "new", "natural", "/");
    tu_set(r, TABLE_T3, "new", "commercial", "暂无数据");
    tu_set(r, TABLE_T3, "new", "research", "12件");
    tu_set(r, TABLE_T3, "new", "legal", "1,234");
    free(r->section_text[5]);
    free(r->section_title[5]);
    r->section_text[5] = r->section_title[5] = NULL;
    r->section_order[5] = -1;
    size_t len;
    char *y = roundtrip(c, r, &len);
    assert_non_null(strstr(y, "new: {natural: \"/\", commercial: \"暂无数据\", research: \"12件\", "));
    assert_null(strstr(y, "id: s6"));
    struct report *back = yaml_read_ok(c, y, len);
    const struct cell *p = report_cell(back, TABLE_T3, "new", "natural");
    assert_int_equal(p->state, CELL_PLACEHOLDER);
    assert_string_equal(p->raw, "/");
    assert_int_equal(report_cell(back, TABLE_T3, "new", "commercial")->state, CELL_TEXT);
    assert_int_equal(report_cell(back, TABLE_T3, "new", "research")->state,
                     report_cell(r, TABLE_T3, "new", "research")->state);
    assert_int_equal(report_cell(back, TABLE_T3, "new", "legal")->value,
                     report_cell(r, TABLE_T3, "new", "legal")->value);
    assert_int_equal(back->section_order[5], -1);
    assert_null(back->section_text[5]);
    report_destroy(&back);
    free(y);
    report_destroy(&r);
    checker_destroy(&c);
}

/* line:column (1-based, columns in characters) of the first `at` in s. */
static void where(const char *s, const char *at, size_t *line, size_t *col)
{
    const char *p = strstr(s, at);
    if (!p)
        fail_msg("'%s' is not in the YAML", at);
    *line = 1, *col = 1;
    for (const char *q = s; q < p; q++) {
        if (*q == '\n')
            (*line)++, *col = 1;
        else if (((unsigned char)*q & 0xc0) != 0x80)
            (*col)++;
    }
}

/* Replace the first `from` in good by `to`, read it, expect "t.yaml:L:C: msg"
 * with L:C where `at` (inside `to`) lands. */
static void expect_error(const struct checker *c, const char *good, const char *from, const char *to,
                         const char *at, const char *msg)
{
    const char *p = strstr(good, from);
    if (!p)
        fail_msg("'%s' is not in the YAML", from);
    struct buf b = {0};
    buf_append(&b, good, (size_t)(p - good));
    buf_puts(&b, to);
    buf_puts(&b, p + strlen(from));
    char *bad = buf_take(&b);
    size_t line, col;
    where(bad, at, &line, &col);
    char want[640], err[640] = "";
    snprintf(want, sizeof want, "t.yaml:%zu:%zu: %s", line, col, msg);
    struct report *r = NULL;
    int rc = yamlreport_read(checker_layouts(c), bad, strlen(bad), "t.yaml", &r, err, sizeof err);
    assert_int_equal(rc, -1);
    assert_null(r);
    assert_string_equal(err, want);
    free(bad);
}

static void test_yamlreport_errors_name_line_and_column(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct report *r = tu_read(c, XIANGXIANG, READER_TEXT);
    size_t len;
    char *y = yamlreport_write(r, &len);
    expect_error(c, y, "nonprofit: ~, legal: ~", "nonprofit: abc, legal: ~", "abc",
                 "'abc' is not a number (quote text as printed)");
    expect_error(c, y, "nonprofit: ~, legal: ~", "nonprofit: [1], legal: ~", "[1]",
                 "a cell must be a number, ~ or a quoted string");
    expect_error(c, y, "refused.enforcement_file: {", "refused.enforcement_filez: {",
                 "refused.enforcement_filez", "T3: unknown row 'refused.enforcement_filez'");
    expect_error(c, y, "nonprofit: ~, legal: ~", "nonprofitz: ~, legal: ~", "nonprofitz",
                 "T3 row refused.enforcement_file: no column 'nonprofitz'");
    expect_error(c, y, "refused.enforcement_file: {", "refused.enforcement_file: 7\n      x: {",
                 "7\n", "T3 row refused.enforcement_file: expected a mapping of column ids");
    /* a cell given twice: refused, as the protobuf form refuses it (the fuzzer
     * found a blank after a number read as blank with the number's value kept) */
    expect_error(c, y, "nonprofit: ~, legal: ~", "nonprofit: 5, nonprofit: ~, legal: ~",
                 "nonprofit: ~, legal", "T3 row refused.enforcement_file: column 'nonprofit' given twice");
    expect_error(c, y, "  T4:\n", "  T5:\n", "T5", "unknown table (expected T2, T3 or T4)");
    expect_error(c, y, "  T3:\n    layout: 2021", "  T3:\n    layout: 2020", "2020\n    rows",
                 "unknown layout 2020");
    expect_error(c, y, "layout: 2021\ntitle", "layout: 2020\ntitle", "2020", "unknown layout 2020");
    expect_error(c, y, "  T3:\n    layout: 2021", "  T3:\n    layout: 1999", "1999",
                 "1999 is out of range [2000, 9999]");
    expect_error(c, y, "- id: s2", "- id: s1", "s1\n  title: \"二", "section s1 given twice");
    expect_error(c, y, "- id: s2", "- id: s9", "s9", "section id must be s1..s6");
    expect_error(c, y, "refused.enforcement_file: {natural: 0,", "refused.enforcement_file: {natural: 0,,",
                 ", commercial: 0, research: 0, nonprofit: ~", "did not find expected node content");
    free(y);
    report_destroy(&r);

    /* not the YAML form at all */
    char err[256] = "";
    struct report *none = NULL;
    assert_false(yamlreport_sniff("一、总体情况\n", strlen("一、总体情况\n")));
    assert_true(yamlreport_sniff("report: 1\n", 10));
    assert_int_equal(yamlreport_read(checker_layouts(c), "[1, 2]\n", 7, "t.yaml", &none, err, sizeof err), -1);
    assert_null(none);
    assert_string_equal(err, "t.yaml:1:1: expected a mapping");
    checker_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yamlreport_real_reports_roundtrip),
        cmocka_unit_test(test_yamlreport_exact_content),
        cmocka_unit_test(test_yamlreport_states_and_absent_section),
        cmocka_unit_test(test_yamlreport_errors_name_line_and_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
