/* The run-together text reader (flatread.c) and its solver (digitsplit.c).
 * The 平潭 pages of ../shared/reports are read in place: every number of T2,
 * T3 and T4 as the layout's identities split it (transcribed by hand from the
 * pages: each T3 row's 总计 is the sum of its columns, the result rows add up
 * to （七）总计, and T4's blocks to their 总计). T2's 行政规范性文件 row has
 * no identity and its digits split many ways: it stays blank, with the reason. */
#include "testutil.h"

#include <unistd.h>

#include "read/digitsplit.h"
#include "read/flatread.h"

#define PINGTAN_2023 SHARED_REPORTS "pingtan-2023.page.txt"
#define PINGTAN_2024 SHARED_REPORTS "pingtan-2024.page.txt"

static const char *const T3_2023[] = {
    "80 1 0 0 0 0 81", "0 0 0 0 0 0 0", "22 0 0 0 0 0 22", "19 1 0 0 0 0 20", "0 0 0 0 0 0 0",
    "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "1 0 0 0 0 0 1", "0 0 0 0 0 0 0", "1 0 0 0 0 0 1",
    "1 0 0 0 0 0 1", "2 0 0 0 0 0 2", "31 0 0 0 0 0 31", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0",
    "0 0 0 0 0 0 0", "1 0 0 0 0 0 1", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0",
    "1 0 0 0 0 0 1", "0 0 0 0 0 0 0", "1 0 0 0 0 0 1", "80 1 0 0 0 0 81", "0 0 0 0 0 0 0", NULL,
};
static const char *const T3_2024[] = {
    "217 1 0 0 0 0 218", "0 0 0 0 0 0 0", "71 0 0 0 0 0 71", "29 0 0 0 0 0 29", "4 0 0 0 0 0 4",
    "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "3 0 0 0 0 0 3", "32 0 0 0 0 0 32", "0 0 0 0 0 0 0",
    "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "75 0 0 0 0 0 75", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0",
    "0 0 0 0 0 0 0", "1 0 0 0 0 0 1", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0", "0 0 0 0 0 0 0",
    "1 0 0 0 0 0 1", "0 0 0 0 0 0 0", "1 1 0 0 0 0 2", "217 1 0 0 0 0 218", "0 0 0 0 0 0 0", NULL,
};

struct page {
    const char *path;
    const char *t2[7];
    const char *const *t3;
    const char *t4;
    const char *unread;          /* T2 normative_docs, why */
};

static const struct page P2023 = {
    PINGTAN_2023,
    {"0 0 0", "_ _ _", "2629", "1330", "54", "5949.088667", NULL},
    T3_2023,
    "1 1 0 0 2 4 0 0 1 5 1 0 1 0 2",
    "77132470 splits 21 ways: 7,7,132470 | 7,71,32470 | 7,713,2470 | …",
};

static const struct page P2024 = {
    PINGTAN_2024,
    {"0 0 0", "_ _ _", "4529", "1100", "65", "18651.06", NULL},
    T3_2024,
    "2 1 3 1 7 0 0 0 0 0 13 2 4 0 19",
    "6233440 splits 15 ways: 6,2,33440 | 6,23,3440 | 6,233,440 | …",
};

static void assert_page(const struct page *p)
{
    struct checker *c = tu_checker();
    struct report *r = tu_read(c, p->path, READER_DETECT);
    char got[256];
    assert_string_equal(r->reader, "flat");
    assert_int_equal(r->layout, 2021);
    for (int ti = 0; ti < LAYOUT_TABLES; ti++) {
        assert_non_null(r->tables[ti].layout);
        assert_int_equal(r->tables[ti].reconstructed, 1);
    }
    for (int n = 0; n < 6; n++) {
        tu_row_text(r, TABLE_T2, n, got, sizeof got);
        assert_string_equal(got, p->t2[n]);
    }
    const struct layout_table *t3 = &r->tables[TABLE_T3].layout->tables[TABLE_T3];
    assert_int_equal(t3->nrows, 25);
    for (int n = 0; n < 25; n++) {
        tu_row_text(r, TABLE_T3, n, got, sizeof got);
        if (strcmp(got, p->t3[n]))
            fail_msg("%s T3 row %s: got \"%s\", expected \"%s\"", p->path, t3->rows[n].id, got, p->t3[n]);
    }
    tu_row_text(r, TABLE_T4, 0, got, sizeof got);
    assert_string_equal(got, p->t4);
    assert_string_equal(r->tables[TABLE_T2].unread[1], p->unread);
    assert_null(r->tables[TABLE_T2].unread[0]);
    assert_null(r->tables[TABLE_T3].unread);

    Reportd__Result *res = tu_check(c, r);
    tu_dump(res);
    /* both balance: no sum fails; the one finding is the unread T2 row */
    assert_int_equal(tu_count(res, "R-S3-ROWSUM", NULL, NULL), 0);
    assert_int_equal(tu_count(res, "R-S3-RESULTSUM", NULL, NULL), 0);
    assert_int_equal(tu_count(res, "R-S3-BALANCE", NULL, NULL), 0);
    assert_int_equal(tu_count(res, "R-S4-SUM", NULL, NULL), 0);
    const Reportd__Finding *f = tu_find(res, "R-CELL-MISSING", "normative_docs", "");
    assert_int_equal(f->n_missing, 3);
    assert_string_equal(f->actual, p->unread);
    assert_int_equal(res->n_findings, 1);
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_WARN);
    const Reportd__Enrichment *e = res->enrichment;
    assert_string_equal(e->reader, "flat");
    assert_int_equal(e->n_tables_read, 3);
    assert_string_equal(e->tables_read[0]->table, "T2");
    assert_true(e->tables_read[0]->reconstructed);
    assert_int_equal(e->tables_read[0]->n_unread, 1);
    assert_true(e->tables_read[1]->reconstructed && e->tables_read[2]->reconstructed);
    assert_int_equal(e->tables_read[1]->n_unread, 0);
    assert_string_equal(res->body->name, "平潭综合实验区");
    checker_result_free(res);
    report_destroy(&r);
    checker_destroy(&c);
}

static void test_flat_pingtan_2023(void **state)
{
    (void)state;
    assert_page(&P2023);
}

static void test_flat_pingtan_2024(void **state)
{
    (void)state;
    assert_page(&P2024);
}

/* Sections and the archive around them: the header and the preamble before
 * 一、总体情况 are not the report; each section's text is its own. */
static void test_flat_sections(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct report *r = tu_read(c, PINGTAN_2024, READER_FLAT);
    assert_string_equal(r->title, "平潭综合实验区2024年度政府信息公开工作年度报告");
    assert_int_equal(r->year, 2024);
    for (int i = 0; i < LAYOUT_SECTIONS; i++)
        assert_int_equal(r->section_order[i], i);
    assert_int_equal(strncmp(r->section_text[0], "2024年，平潭综合实验区坚持", strlen("2024年，平潭综合实验区坚持")), 0);
    assert_null(strstr(r->section_text[0], "本报告根据"));
    assert_string_equal(r->section_text[5], "2024年，无收取信息处理费情况。");
    assert_int_equal(r->section_line[2], 10);
    report_destroy(&r);
    checker_destroy(&c);
}

/* Detection: the flat pages, and no existing form taken for one. */
static void test_flat_detect(void **state)
{
    (void)state;
    static const struct { const char *path; enum reader_form form; } files[] = {
        {PINGTAN_2023, READER_FLAT}, {PINGTAN_2024, READER_FLAT},
        {SHARED_REPORTS "xiangxiang-minzheng-2024.txt", READER_TEXT},
        {SHARED_REPORTS "huaian-2024.layout.txt", READER_LAYOUT},
        {SHARED_REPORTS "hongze-2023.layout.txt", READER_LAYOUT},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char err[256];
        size_t len;
        char *data = util_read_file(files[i].path, 1u << 20, &len, err, sizeof err);
        assert_non_null(data);
        assert_int_equal(reader_detect((const uint8_t *)data, len), files[i].form);
        free(data);
    }
    assert_int_equal(reader_form_parse("flat"), READER_FLAT);
    assert_string_equal(reader_form_name(READER_FLAT), "flat");
    assert_int_equal(reader_form_parse("5"), -1);
}

static const struct layout_table *t3_2021(struct checker *c, int ti)
{
    return &layouts_find(checker_layouts(c), 2021)->tables[ti];
}

/* Solve T3 with every row "0000000" except those given. */
static struct digitsplit *solve_t3(const struct layout_table *lt, const char *const set[][2],
                                   unsigned long max_nodes, int *bad, char *err, size_t errlen)
{
    const char *runs[LAYOUT_MAX_ROWS];
    size_t lens[LAYOUT_MAX_ROWS];
    for (int r = 0; r < lt->nrows; r++) {
        runs[r] = "0000000";
        for (int i = 0; set[i][0]; i++)
            if (!strcmp(lt->rows[r].id, set[i][0]))
                runs[r] = set[i][1];
        lens[r] = strlen(runs[r]);
    }
    return digitsplit_solve(lt, runs, lens, max_nodes, bad, err, errlen);
}

static void cell_text(const struct digitsplit *d, const char *run, int r, int k, char *out)
{
    size_t off, len;
    assert_true(digitsplit_cell(d, r, k, &off, &len));
    memcpy(out, run + off, len);
    out[len] = '\0';
}

/* The row: unique by its own 总计, and the 2023 rows that only the
 * column identities decide (予以公开 22 or 2+20; 部分公开 19+1 or 1+9+10). */
static void test_flat_solver_unique(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    const struct layout_table *lt = t3_2021(c, TABLE_T3);
    static const char *const set[][2] = {
        {"new", "801000081"}, {"granted", "220000022"}, {"partial", "191000020"},
        {"refused.third_party", "1000001"}, {"refused.process_info", "1000001"},
        {"refused.enforcement_file", "1000001"}, {"refused.query_service", "2000002"},
        {"unable.not_held", "310000031"}, {"not_handled.repeat", "1000001"},
        {"other.no_correction", "1000001"}, {"other.other", "1000001"}, {"total", "801000081"}, {NULL, NULL},
    };
    char err[512] = "", v[32];
    int bad;
    struct digitsplit *d = solve_t3(lt, set, DIGITSPLIT_MAX_NODES, &bad, err, sizeof err);
    if (!d)
        fail_msg("%s", err);
    cell_text(d, "220000022", 2, 0, v);
    assert_string_equal(v, "22");
    cell_text(d, "191000020", 3, 0, v);
    assert_string_equal(v, "19");
    cell_text(d, "191000020", 3, 1, v);
    assert_string_equal(v, "1");
    cell_text(d, "801000081", 0, 6, v);
    assert_string_equal(v, "81");
    assert_int_equal(digitsplit_split(d, 2), 1);
    assert_null(digitsplit_note(d, 2));
    assert_true(digitsplit_nodes(d) > 25);
    digitsplit_destroy(&d);

    /* T4 of 2024, from the issue */
    const struct layout_table *t4 = t3_2021(c, TABLE_T4);
    const char *run = "21317000001324019";
    size_t len = strlen(run);
    d = digitsplit_solve(t4, &run, &len, DIGITSPLIT_MAX_NODES, &bad, err, sizeof err);
    assert_non_null(d);
    static const char *const want[] = {"2", "1", "3", "1", "7", "0", "0", "0", "0", "0", "13", "2", "4", "0", "19"};
    for (int k = 0; k < 15; k++) {
        cell_text(d, run, 0, k, v);
        assert_string_equal(v, want[k]);
    }
    digitsplit_destroy(&d);
    checker_destroy(&c);
}

/* Several splits satisfy every identity: an error naming the row and them. */
static void test_flat_solver_ambiguous(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    char err[512] = "";
    int bad = 7;
    /* 220000022 is 2+20=22 or 22=22; new, granted and total alike satisfy
     * both the column sums and the balance either way */
    static const char *const set[][2] = {
        {"new", "220000022"}, {"granted", "220000022"}, {"total", "220000022"}, {NULL, NULL},
    };
    assert_null(solve_t3(t3_2021(c, TABLE_T3), set, DIGITSPLIT_MAX_NODES, &bad, err, sizeof err));
    assert_string_equal(err, "T3 row new: 220000022 splits 2 ways: 2,20,0,0,0,0,22 | 22,0,0,0,0,0,22");
    assert_int_equal(bad, 0);

    const struct layout_table *t4 = t3_2021(c, TABLE_T4);
    const char *run = "1001202211001122122101034";
    size_t len = strlen(run);
    assert_null(digitsplit_solve(t4, &run, &len, DIGITSPLIT_MAX_NODES, &bad, err, sizeof err));
    assert_string_equal(err, "T4: 1001202211001122122101034 splits 2 ways: "
                             "10,0,12,0,22,1,10,0,11,22,12,2,10,10,34 | 10,0,12,0,22,11,0,0,11,22,12,2,10,10,34");
    checker_destroy(&c);
}

/* No split satisfies the identities: an error naming the row, never a guess. */
static void test_flat_solver_impossible(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    char err[512] = "";
    int bad = -1;
    static const char *const set[][2] = {{"new", "21710000219"}, {NULL, NULL}};
    assert_null(solve_t3(t3_2021(c, TABLE_T3), set, DIGITSPLIT_MAX_NODES, &bad, err, sizeof err));
    assert_string_equal(err, "T3 row new: 21710000219 has no split into 7 numbers written without leading "
                             "zeros that keeps R-S3-ROWSUM");
    assert_int_equal(bad, 0);
    /* too few digits for the cells */
    static const char *const shortrun[][2] = {{"granted", "000000"}, {NULL, NULL}};
    assert_null(solve_t3(t3_2021(c, TABLE_T3), shortrun, DIGITSPLIT_MAX_NODES, &bad, err, sizeof err));
    assert_int_equal(bad, 2);
    assert_non_null(strstr(err, "T3 row granted: 000000 has no split into 7 numbers"));
    /* the bound on the work is an error too */
    static const char *const none[][2] = {{NULL, NULL}};
    assert_null(solve_t3(t3_2021(c, TABLE_T3), none, 5, &bad, err, sizeof err));
    assert_string_equal(err, "T3 row new: 0000000: more than 5 search nodes");
    checker_destroy(&c);
}

/* A copy of the 2024 page (in a temp file; the shared file is not changed)
 * with one digit altered: row 一's 218 printed as 219. No split keeps the
 * row's sum: REJECTED naming the file, line, column and row. */
static void test_flat_altered_digit_rejected(void **state)
{
    (void)state;
    char err[1024];
    size_t len;
    char *data = util_read_file(PINGTAN_2024, 1u << 20, &len, err, sizeof err);
    assert_non_null(data);
    char *p = strstr(data, "申请数量21710000218");
    assert_non_null(p);
    p[strlen("申请数量21710000218") - 1] = '9';
    char path[] = "/tmp/test_flat_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    struct checker *c = tu_checker();
    struct report *r = NULL;
    int rc = reader_read(checker_layouts(c), (const uint8_t *)data, len, READER_DETECT, path, 0, &r, err,
                         sizeof err);
    unlink(path);
    assert_int_equal(rc, -1);
    assert_null(r);
    char want[256];
    snprintf(want, sizeof want, "%s:10:", path);
    assert_int_equal(strncmp(err, want, strlen(want)), 0);
    assert_non_null(strstr(err, ": T3 row new: 21710000219 has no split into 7 numbers"));
    free(data);
    checker_destroy(&c);
}

/* A copy of the 2024 page (temp file) with 洪泽's typo put into T3's row
 * （三）2: the row is found between its neighbours, read, and its printed
 * label gives an R-STRUCT-LABEL warning. */
static void test_flat_misprinted_label(void **state)
{
    (void)state;
    char err[1024];
    size_t len;
    char *data = util_read_file(PINGTAN_2024, 1u << 20, &len, err, sizeof err);
    assert_non_null(data);
    const char *from = "2.其他法律行政法规禁止公开", *to = "2.其他法律行政止公开";
    char *p = strstr(data, from);
    assert_non_null(p);
    size_t a = strlen(from), b = strlen(to);
    memcpy(p, to, b);
    memmove(p + b, p + a, len - (size_t)(p + a - data));
    len -= a - b;
    struct checker *c = tu_checker();
    struct report *r = NULL;
    if (reader_read(checker_layouts(c), (const uint8_t *)data, len, READER_DETECT, "typo.txt", 0, &r, err,
                    sizeof err) < 0)
        fail_msg("%s", err);
    char got[128];
    tu_row_text(r, TABLE_T3, 4, got, sizeof got);
    assert_string_equal(got, "4 0 0 0 0 0 4");
    tu_row_text(r, TABLE_T3, 5, got, sizeof got);
    assert_string_equal(got, "0 0 0 0 0 0 0");
    Reportd__Result *res = tu_check(c, r);
    const Reportd__Finding *f = tu_find(res, "R-STRUCT-LABEL", "refused.law_forbidden", "");
    assert_string_equal(f->actual, "2.其他法律行政止公开");
    assert_int_equal(tu_count(res, "R-STRUCT-SHAPE", NULL, NULL), 0);
    checker_result_free(res);
    report_destroy(&r);
    free(data);
    checker_destroy(&c);
}

/* Pages that are not readable as run-together text: each a reason. */
static void test_flat_unreadable(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    const char *none = "标题: x\n==== 正文 ====\n没有任何内容。\n";
    assert_non_null(strstr(tu_read_error(c, none, strlen(none), READER_FLAT), "no section heading"));
    /* a row missing between its neighbours */
    const char *gap = "一、总体情况 无。三、收到和处理政府信息公开申请情况一、本年新收政府信息公开申请数量1000001"
                      "四、政府信息公开行政复议、行政诉讼情况";
    const char *e = tu_read_error(c, gap, strlen(gap), READER_FLAT);
    assert_non_null(strstr(e, "T3: row carried_over (二、上年结转政府信息公开申请数量) not found"));
    checker_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat_pingtan_2023),
        cmocka_unit_test(test_flat_pingtan_2024),
        cmocka_unit_test(test_flat_sections),
        cmocka_unit_test(test_flat_detect),
        cmocka_unit_test(test_flat_solver_unique),
        cmocka_unit_test(test_flat_solver_ambiguous),
        cmocka_unit_test(test_flat_solver_impossible),
        cmocka_unit_test(test_flat_altered_digit_rejected),
        cmocka_unit_test(test_flat_misprinted_label),
        cmocka_unit_test(test_flat_unreadable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
