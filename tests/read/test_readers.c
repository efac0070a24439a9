/* The readers on the real reports in ../shared/reports (read in place, never
 * copied): every number of T2, T3 and T4 exactly as printed, the findings a
 * careful reader makes, and the YAML and protobuf forms round-tripping without
 * loss. Also documents that cannot be read: a clear error, never a crash. */
#include "testutil.h"

#include <unistd.h>

#include "read/reportpb.h"
#include "read/yamlreport.h"

/* Expected cells, as printed, row by row in layout order. */
struct expect {
    const char *path;
    enum reader_form form;
    const char *t2[8];
    const char *t3[26];
    const char *t4;
};

static const struct expect HUAIAN = {
    SHARED_REPORTS "huaian-2024.layout.txt", READER_LAYOUT,
    {"1 0 11", "8 26 66", "447228", "3985758", "88283", "96171.6", NULL},
    {"3001 53 0 0 61 4 3119", "34 0 0 0 0 0 34", "1288 21 0 0 50 3 1362", "447 7 0 0 0 0 454",
     "2 0 0 0 0 0 2", "30 1 0 0 0 0 31", "5 0 0 0 0 0 5", "6 0 0 0 0 0 6", "7 1 0 0 0 0 8",
     "12 0 0 0 0 0 12", "9 0 0 0 0 0 9", "105 0 0 0 0 0 105", "746 12 0 0 10 1 769",
     "11 0 0 0 0 0 11", "1 0 0 0 0 0 1", "56 6 0 0 0 0 62", "25 0 0 0 0 0 25", "0 0 0 0 0 0 0",
     "0 0 0 0 0 0 0", "1 0 0 0 0 0 1", "67 3 0 0 1 0 71", "6 0 0 0 0 0 6", "108 2 0 0 0 0 110",
     "2932 53 0 0 61 4 3050", "103 0 0 0 0 0 103", NULL},
    "72 64 178 37 351 13 4 8 1 26 12 1 1 6 20",
};

static const struct expect HONGZE = {
    SHARED_REPORTS "hongze-2023.layout.txt", READER_LAYOUT,
    {"0 0 0", "0 5 5", "550", "4119", "195", "7730.28", NULL},
    {"21 0 0 0 0 0 21", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "4 0 0 0 0 0 4", "1 0 0 0 0 0 1",
     "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "1 0 0 0 0 0 1",
     "1 0 0 0 0 0 1", "0 0 0 0 0 0 0", "10 0 0 0 0 0 10", "3 0 0 0 0 0 3", "0 0 0 0 0 0 0",
     "1 0 0 0 0 0 1", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0",
     "0 0 0 0 0 0 0", "21 0 0 0 0 0 21", "0 0 0 0 0 0 0", NULL},
    "10 1 0 0 0 0 0 0 0 0 5 0 0 0 0",
};

static const struct expect XIANGXIANG = {
    SHARED_REPORTS "xiangxiang-minzheng-2024.txt", READER_TEXT,
    {"0 0 0", "0 0 0", "33", "4", "0", "0", NULL},
    {"6 0 0 0 0 0 0", "0 0 0 0 0 0 0", "0 0 0 5 0 0 0", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0",
     "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "6 0 0 0 0 0 0", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0",
     "0 0 0 _ _ 0 0", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0",
     "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0",
     "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "6 0 0 0 0 0 0", "0 0 0 0 0 0 0", NULL},
    "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0",
};

static int count_numbers(struct report *r, int ti)
{
    const struct layout_table *lt = &r->tables[ti].layout->tables[ti];
    int n = 0;
    for (int k = 0; k < lt->ncells; k++)
        n += r->tables[ti].cells[k].state == CELL_NUMBER;
    return n;
}

static void assert_cells(struct report *r, const struct expect *e)
{
    char got[256];
    const struct layout_table *t2 = &r->tables[TABLE_T2].layout->tables[TABLE_T2];
    const struct layout_table *t3 = &r->tables[TABLE_T3].layout->tables[TABLE_T3];
    int n = 0;
    for (; e->t2[n]; n++) {
        tu_row_text(r, TABLE_T2, n, got, sizeof got);
        assert_string_equal(got, e->t2[n]);
    }
    assert_int_equal(n, t2->nrows);
    for (n = 0; e->t3[n]; n++) {
        tu_row_text(r, TABLE_T3, n, got, sizeof got);
        if (strcmp(got, e->t3[n]))
            fail_msg("%s T3 row %s: got \"%s\", expected \"%s\"", e->path, t3->rows[n].id, got, e->t3[n]);
    }
    assert_int_equal(n, t3->nrows);
    tu_row_text(r, TABLE_T4, 0, got, sizeof got);
    assert_string_equal(got, e->t4);
}

static void test_readers_huaian_every_number(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct report *r = tu_read(c, HUAIAN.path, READER_DETECT);
    assert_int_equal(r->layout, 2021);
    assert_int_equal(r->year, 2024);
    assert_string_equal(r->body_name, "淮安市人民政府");
    assert_cells(r, &HUAIAN);
    assert_int_equal(count_numbers(r, TABLE_T2), 10);
    assert_int_equal(count_numbers(r, TABLE_T3), 175);
    assert_int_equal(count_numbers(r, TABLE_T4), 15);
    for (int i = 0; i < LAYOUT_SECTIONS; i++)
        assert_int_equal(r->section_order[i], i);
    report_destroy(&r);
    checker_destroy(&c);
}

static void test_readers_huaian_no_error(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct report *r = tu_read(c, HUAIAN.path, READER_LAYOUT);
    Reportd__Result *res = tu_check(c, r);
    if (res->n_findings)
        tu_dump(res);
    assert_int_equal(tu_count_severity(res, REPORTD__SEVERITY__SEV_ERROR), 0);
    assert_int_equal(res->n_findings, 0);
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_PASS);
    const Reportd__Enrichment *e = res->enrichment;
    assert_int_equal(e->received, 3119);
    assert_int_equal(e->carried_over, 34);
    assert_int_equal(e->concluded, 3050);
    assert_int_equal(e->carried_forward, 103);
    assert_true(e->disclosure_rate->value > 0.5954 && e->disclosure_rate->value < 0.5955); /* 1816/3050 */
    assert_int_equal(e->disclosure_rate->rating, REPORTD__RATING__RATING_GREEN);
    assert_int_equal(e->reviews, 351);
    assert_int_equal(e->suits, 46);
    /* correction rate of reviews: 64 / (72 + 64 + 178) = 20.4% -> red */
    assert_int_equal(e->review_correction_rate->rating, REPORTD__RATING__RATING_RED);
    assert_string_equal(e->region->code, "320800");
    assert_string_equal(e->region->prefecture, "淮安市");
    assert_string_equal(e->deadline, "2025-03-31");   /* a whole government */
    assert_int_equal(strlen(e->fingerprint), 64);
    checker_result_free(res);
    report_destroy(&r);
    checker_destroy(&c);
}

static void test_readers_hongze_findings(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct report *r = tu_read(c, HONGZE.path, READER_DETECT);
    assert_cells(r, &HONGZE);
    assert_int_equal(r->tables[TABLE_T3].layout->version, 2019);   /* single （六）其他处理 row */
    assert_int_equal(r->tables[TABLE_T2].layout->version, 2021);
    Reportd__Result *res = tu_check(c, r);
    tu_dump(res);
    /* the 2019 T3 in a 2023 report */
    const Reportd__Finding *v = tu_find(res, "R-STRUCT-VERSION", "", "");
    assert_string_equal(v->table, "T3");
    assert_string_equal(v->expected, "2021");
    assert_string_equal(v->actual, "2019");
    /* 2.其他法律行政法规禁止公开 printed as 2.其他法律行政止公开: still that row, a warning */
    const Reportd__Finding *lab = tu_find(res, "R-STRUCT-LABEL", "refused.law_forbidden", "");
    assert_string_equal(lab->actual, "2.其他法律行政止公开");
    assert_int_equal(lab->severity, REPORTD__SEVERITY__SEV_WARNING);
    assert_int_equal(tu_count(res, "R-STRUCT-SHAPE", NULL, NULL), 0);
    /* T4: 行政复议 10 + 1 with 总计 0; 复议后起诉 5 with 总计 0 */
    assert_string_equal(tu_find(res, "R-S4-SUM", "", "review.total")->expected, "11");
    assert_string_equal(tu_find(res, "R-S4-SUM", "", "suit_after_review.total")->expected, "5");
    assert_int_equal(tu_count(res, "R-S4-SUM", NULL, NULL), 2);
    assert_int_equal(tu_count_severity(res, REPORTD__SEVERITY__SEV_ERROR), 3);
    assert_int_equal(res->n_findings, 4);
    assert_string_equal(res->enrichment->region->code, "320813");
    checker_result_free(res);
    report_destroy(&r);
    checker_destroy(&c);
}

static void test_readers_xiangxiang_findings(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct report *r = tu_read(c, XIANGXIANG.path, READER_DETECT);
    assert_cells(r, &XIANGXIANG);
    assert_string_equal(r->title, "湘乡市民政局2024年政府信息公开工作年度报告");
    Reportd__Result *res = tu_check(c, r);
    static const char *const rowsum[] = {"new", "granted", "refused.third_party", "total"};
    assert_int_equal(tu_count(res, "R-S3-ROWSUM", NULL, NULL), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(tu_count(res, "R-S3-ROWSUM", rowsum[i], ""), 1);
    assert_int_equal(tu_count(res, "R-S3-RESULTSUM", NULL, NULL), 1);
    assert_int_equal(tu_count(res, "R-S3-RESULTSUM", "", "nonprofit"), 1);
    assert_int_equal(tu_count(res, "R-CELL-MISSING", NULL, NULL), 2);
    assert_int_equal(tu_count(res, "R-CELL-MISSING", "refused.enforcement_file", "nonprofit"), 1);
    assert_int_equal(tu_count(res, "R-CELL-MISSING", "refused.enforcement_file", "legal"), 1);
    assert_int_equal(tu_find(res, "R-S6-FEE", "", "")->severity, REPORTD__SEVERITY__SEV_NOTICE);
    assert_int_equal(tu_count(res, "R-S3-BALANCE", NULL, NULL), 0);
    assert_int_equal(tu_count(res, "R-S4-SUM", NULL, NULL), 0);
    assert_int_equal(res->n_findings, 8);
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_FAIL);
    assert_string_equal(res->enrichment->region->county, "湘乡市");
    checker_result_free(res);
    report_destroy(&r);
    checker_destroy(&c);
}

/* A copy of the 湘乡 text dump (in a temp file; the shared file is not
 * changed) with T3's 科研机构 column blanked in all 25 rows: one grouped
 * R-CELL-MISSING for the column, listing its 25 cells; the two blank cells of
 * row （三）7 keep their own findings. */
static void test_readers_xiangxiang_blank_column(void **state)
{
    (void)state;
    char err[256];
    size_t len;
    char *src = util_read_file(XIANGXIANG.path, 1u << 20, &len, err, sizeof err);
    assert_non_null(src);
    struct buf out = {0};
    int in_t3 = 0, nums = 0;
    for (char *line = src, *next; *line; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : line + strlen(line);
        size_t n = (size_t)(next - line);
        if (!strncmp(line, "三、收到和处理", strlen("三、收到和处理")))
            in_t3 = 1;
        else if (!strncmp(line, "四、", strlen("四、")))
            in_t3 = 0;
        size_t digits = line[0] == '\t' ? strspn(line + 1, "0123456789") : 0;
        int number = digits && (line[1 + digits] == '\n' || !line[1 + digits]);
        int blank_cell = line[0] == '\t' && (line[1] == '\n' || !line[1]);
        nums = number || (nums && blank_cell) ? nums + 1 : 0;
        if (in_t3 && number && nums == 3)
            buf_append(&out, "\t\n", 2);            /* the third number of a row: 科研机构 */
        else
            buf_append(&out, line, n);
    }
    free(src);
    char path[] = "/tmp/test_readers_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, out.data, out.len), (ssize_t)out.len);
    close(fd);
    buf_free(&out);
    struct checker *c = tu_checker();
    struct report *r = tu_read(c, path, READER_DETECT);
    unlink(path);
    Reportd__Result *res = tu_check(c, r);
    tu_dump(res);
    assert_int_equal(tu_count(res, "R-CELL-MISSING", NULL, NULL), 3);
    const Reportd__Finding *x = tu_find(res, "R-CELL-MISSING", "", "research");
    assert_string_equal(x->table, "T3");
    assert_int_equal(x->severity, REPORTD__SEVERITY__SEV_WARNING);
    assert_int_equal(x->n_missing, 25);
    assert_string_equal(x->missing[0]->row, "new");
    assert_string_equal(x->missing[10]->row, "refused.enforcement_file");
    assert_string_equal(x->missing[24]->row, "carry_forward");
    for (size_t i = 0; i < x->n_missing; i++)
        assert_string_equal(x->missing[i]->column, "research");
    assert_int_equal(tu_count(res, "R-CELL-MISSING", "refused.enforcement_file", "nonprofit"), 1);
    assert_int_equal(tu_count(res, "R-CELL-MISSING", "refused.enforcement_file", "legal"), 1);
    checker_result_free(res);
    report_destroy(&r);
    checker_destroy(&c);
}

static void roundtrip(const char *path)
{
    struct checker *c = tu_checker();
    struct report *r = tu_read(c, path, READER_DETECT), *y = NULL, *p = NULL;
    char err[512] = "";
    size_t ylen, plen;
    char *yaml = yamlreport_write(r, &ylen);
    if (yamlreport_read(checker_layouts(c), yaml, ylen, "rt.yaml", &y, err, sizeof err) < 0)
        fail_msg("%s: %s\n%s", path, err, yaml);
    tu_same_report(r, y);
    uint8_t *pb = reportpb_write(r, &plen);
    assert_int_equal(reportpb_read(checker_layouts(c), pb, plen, &p, err, sizeof err), 0);
    tu_same_report(r, p);
    /* form detection sends each to its reader */
    assert_int_equal(reader_detect((const uint8_t *)yaml, ylen), READER_YAML);
    /* and the fingerprint, over canonical content, is the same for all three */
    Reportd__Result *a = tu_check(c, r), *b = tu_check(c, y), *d = tu_check(c, p);
    assert_string_equal(a->enrichment->fingerprint, b->enrichment->fingerprint);
    assert_string_equal(a->enrichment->fingerprint, d->enrichment->fingerprint);
    assert_int_equal(a->n_findings, b->n_findings);
    checker_result_free(a), checker_result_free(b), checker_result_free(d);
    free(yaml), free(pb);
    report_destroy(&r), report_destroy(&y), report_destroy(&p);
    checker_destroy(&c);
}

static void test_readers_yaml_pb_roundtrip(void **state)
{
    (void)state;
    roundtrip(XIANGXIANG.path);
    roundtrip(HUAIAN.path);
    roundtrip(HONGZE.path);
}

static void test_readers_fingerprint_tracks_content(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct report *r = tu_read(c, XIANGXIANG.path, READER_TEXT);
    Reportd__Result *a = tu_check(c, r);
    tu_set(r, TABLE_T3, "new", "total", "6");
    Reportd__Result *b = tu_check(c, r);
    assert_string_not_equal(a->enrichment->fingerprint, b->enrichment->fingerprint);
    checker_result_free(a), checker_result_free(b);
    report_destroy(&r);
    checker_destroy(&c);
}

static char *file_without_line(const char *path, const char *needle, size_t *len)
{
    char err[256];
    char *s = util_read_file(path, 1 << 20, len, err, sizeof err);
    assert_non_null(s);
    char *p = strstr(s, needle);
    assert_non_null(p);
    while (p > s && p[-1] != '\n')
        p--;
    char *e = strchr(p, '\n');
    memmove(p, e + 1, strlen(e + 1) + 1);
    *len = strlen(s);
    return s;
}

static void test_readers_unreadable_documents(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    size_t len;
    /* a T3 row deleted from a copy of the huaian text: counted, not guessed */
    char *s = file_without_line(HUAIAN.path, "2.重复申请", &len);
    const char *e = tu_read_error(c, s, len, READER_LAYOUT);
    assert_non_null(strstr(e, "T3: found 24 rows of 7 numbers, expected 25 or 23"));
    assert_non_null(strstr(e, "where the 2021 layout has 2.重复申请"));
    free(s);
    /* a T3 cell deleted in a copy of the 湘乡 dump (the 6 of row 一) */
    s = util_read_file(XIANGXIANG.path, 1 << 20, &len, NULL, 0);
    char *p = strstr(s, "\t6\n");
    memmove(p, p + 3, strlen(p + 3) + 1);
    e = tu_read_error(c, s, strlen(s), READER_TEXT);
    assert_non_null(strstr(e, "T3 row 1"));
    assert_non_null(strstr(e, "found 6 cells, expected 7"));
    free(s);
    assert_non_null(strstr(tu_read_error(c, "", 0, READER_DETECT), "empty document"));
    assert_non_null(strstr(tu_read_error(c, "hello\nworld\n", 12, READER_DETECT), "t.txt"));
    assert_non_null(strstr(tu_read_error(c, "\xff\xfe\x00garbage", 10, READER_DETECT), "neither UTF-8 text nor"));
    assert_non_null(strstr(tu_read_error(c, "ab\xc3", 3, READER_TEXT), "not valid UTF-8"));
    assert_non_null(strstr(tu_read_error(c, "report: 1\nlayout: 2021\ntables: {T9: {}}\n", 39, READER_YAML),
                           "t.txt:3:10: unknown table"));
    checker_destroy(&c);
}

/* The 2019 trial T2 (22 numbers) in a text dump, made by replacing section 二
 * of a copy of the 湘乡 dump: the layout is told from the content, table by
 * table, and the report's year decides R-STRUCT-VERSION. */
static const char T2_2019[] =
    "二、主动公开政府信息情况\n\n"
    "\t第二十条第（一）项\n\n\t信息内容\n\t本年新制作数量\n\t本年新公开数量\n\t对外公开总数量\n\n"
    "\t规章\n\t1\n\t1\n\t9\n\n\t规范性文件\n\t2\n\t2\n\t30\n\n"
    "\t第二十条第（五）项\n\n\t信息内容\n\t上一年项目数量\n\t本年增/减\n\t处理决定数量\n\n"
    "\t行政许可\n\t12\n\t-2\n\t300\n\n\t其他对外管理服务事项\n\t3\n\t0\n\t40\n\n"
    "\t第二十条第（六）项\n\n\t信息内容\n\t上一年项目数量\n\t本年增/减\n\t处理决定数量\n\n"
    "\t行政处罚\n\t20\n\t1\n\t55\n\n\t行政强制\n\t4\n\t0\n\t6\n\n"
    "\t第二十条第（八）项\n\n\t信息内容\n\t上一年项目数量\n\t本年增/减\n\n"
    "\t行政事业性收费\n\t5\n\t-1\n\n"
    "\t第二十条第（九）项\n\n\t信息内容\n\t采购项目数量\n\t采购总金额\n\n"
    "\t政府集中采购\n\t8\n\t120.55\n\n\n";

static char *with_2019_t2(const char *year_from, const char *year_to)
{
    size_t len;
    char *s = util_read_file(XIANGXIANG.path, 1 << 20, &len, NULL, 0);
    assert_non_null(s);
    char *a = strstr(s, "二、主动公开政府信息情况"), *b = strstr(s, "三、收到和处理政府信息公开申请情况");
    assert_true(a && b && a < b);
    struct buf out = {0};
    buf_append(&out, s, (size_t)(a - s));
    buf_puts(&out, T2_2019);
    buf_puts(&out, b);
    free(s);
    char *text = buf_take(&out), *y = strstr(text, year_from);
    memcpy(y, year_to, strlen(year_to));          /* the title's year */
    return text;
}

static void test_readers_2019_t2_detected(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    char err[512] = "";
    struct report *r = NULL;
    char *text = with_2019_t2("2024", "2020");
    if (reader_read(checker_layouts(c), (const uint8_t *)text, strlen(text), READER_DETECT, "t2019.txt", 0,
                    &r, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_int_equal(r->year, 2020);
    assert_int_equal(r->tables[TABLE_T2].layout->version, 2019);
    assert_int_equal(tu_value(r, TABLE_T2, "licensing", "change"), -2);   /* signed: not an error */
    assert_int_equal(tu_value(r, TABLE_T2, "other_services", "decisions"), 40);
    struct cell *fee = report_cell(r, TABLE_T2, "procurement", "amount");
    assert_int_equal(fee->value, 12055);
    assert_int_equal(fee->scale, 2);
    /* T3 and T4 of the 2021 dump fit both layouts' T4, and only 2021's T3 */
    assert_int_equal(r->tables[TABLE_T3].layout->version, 2021);
    Reportd__Result *res = tu_check(c, r);
    assert_int_equal(tu_count(res, "R-CELL-NUMBER", NULL, NULL), 0);
    /* a 2020 report must use the 2019 layout: T3 (2021) is flagged, T2 is not */
    assert_int_equal(tu_count(res, "R-STRUCT-VERSION", NULL, NULL), 1);
    assert_string_equal(tu_find(res, "R-STRUCT-VERSION", "", "")->table, "T3");
    assert_int_equal(tu_count(res, "R-S2-BOUNDS", NULL, NULL), 0);   /* a 2021-layout rule */
    checker_result_free(res);
    report_destroy(&r);
    free(text);
    checker_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readers_huaian_every_number),
        cmocka_unit_test(test_readers_huaian_no_error),
        cmocka_unit_test(test_readers_hongze_findings),
        cmocka_unit_test(test_readers_xiangxiang_findings),
        cmocka_unit_test(test_readers_xiangxiang_blank_column),
        cmocka_unit_test(test_readers_yaml_pb_roundtrip),
        cmocka_unit_test(test_readers_fingerprint_tracks_content),
        cmocka_unit_test(test_readers_unreadable_documents),
        cmocka_unit_test(test_readers_2019_t2_detected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
