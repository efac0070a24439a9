/* HTML pages: the 沭阳 page (Word-exported markup: <o:p>, <font> and <span>
 * splitting labels, rowspan/colspan headers) read in place, every T2, T3 and
 * T4 number as printed on the page, the 125 blank T3 cells blank (never 0),
 * a WARN without errors; a GBK and a GB18030 copy of it (converted here with
 * iconv, its <meta charset> changed) give the same Result; pages without a
 * report, without tables, and with a charset their bytes contradict are
 * read errors saying so. */
#include <iconv.h>

#include "testutil.h"

#include "read/htmlread.h"

#define SHUYANG SHARED_REPORTS "shuyang-fgj-2023.html"

/* Transcribed from the page by reading its tables. */
static const char *const T2[] = {"0 0 0", "8 0 18", "0", "0", "0", "0"};
static const char *const T4 = "0 0 0 1 1 0 0 0 0 0 0 0 0 0 0";

static const char *t3_row(int row)
{
    /* new 26, granted 26, total 26; every other row 0; the five 法人或其他组织
     * columns blank in all 25 rows */
    int id = row;
    return id == 0 || id == 2 || id == 23 ? "26 _ _ _ _ _ 26" : "0 _ _ _ _ _ 0";
}

static void test_html_shuyang_every_number(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    size_t len;
    char *page = tu_slurp(SHUYANG, &len);
    assert_int_equal(reader_detect((const uint8_t *)page, len), READER_HTML);
    free(page);
    struct report *r = tu_read(c, SHUYANG, READER_DETECT);
    char got[256];
    assert_int_equal(r->layout, 2021);
    assert_int_equal(r->year, 2023);
    assert_string_equal(r->body_name, "沭阳县发展和改革局");
    assert_int_equal(r->tables[TABLE_T2].layout->tables[TABLE_T2].nrows, 6);
    for (int i = 0; i < 6; i++) {
        tu_row_text(r, TABLE_T2, i, got, sizeof got);
        assert_string_equal(got, T2[i]);
    }
    assert_int_equal(r->tables[TABLE_T3].layout->tables[TABLE_T3].nrows, 25);
    int blanks = 0;
    for (int i = 0; i < 25; i++) {
        tu_row_text(r, TABLE_T3, i, got, sizeof got);
        assert_string_equal(got, t3_row(i));
        for (const char *p = got; *p; p++)
            blanks += *p == '_';
    }
    assert_int_equal(blanks, 125);
    tu_row_text(r, TABLE_T4, 0, got, sizeof got);
    assert_string_equal(got, T4);
    /* the labels joined across <span>s: the group label spans 22 rows */
    assert_null(r->tables[TABLE_T3].printed[2]);
    assert_string_equal(r->tables[TABLE_T2].printed[1], "规范性文件");
    for (int s = 0; s < LAYOUT_SECTIONS; s++)
        assert_int_equal(r->section_order[s], s);
    assert_string_equal(r->section_title[2], "三、收到和处理政府信息公开申请情况");
    assert_non_null(strstr(r->section_text[5], "2023年度，县发展和改革局政府信息公开未发生收费情况。"));

    Reportd__Result *res = tu_check(c, r);
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_WARN);
    assert_int_equal(tu_count_severity(res, REPORTD__SEVERITY__SEV_ERROR), 0);
    assert_int_equal(tu_count(res, "R-STRUCT-LABEL", "normative_docs", NULL), 1);
    /* the blank columns: one finding each, not 125 */
    assert_int_equal(tu_count(res, "R-CELL-MISSING", NULL, NULL), 5);
    static const char *const cols[] = {"commercial", "research", "nonprofit", "legal", "other"};
    for (int k = 0; k < 5; k++)
        assert_int_equal(tu_count(res, "R-CELL-MISSING", "", cols[k]), 1);
    assert_int_equal(res->enrichment->received, 26);
    assert_int_equal(res->enrichment->concluded, 26);
    assert_int_equal(res->enrichment->reviews, 1);
    checker_result_free(res);
    report_destroy(&r);
    checker_destroy(&c);
}

static char *to_charset(const char *s, size_t len, const char *cs, size_t *outlen)
{
    iconv_t cd = iconv_open(cs, "UTF-8");
    assert_true(cd != (iconv_t)-1);
    size_t cap = 2 * len + 16, left = cap;
    char *out = xmalloc(cap), *o = out, *in = (char *)s;
    size_t inleft = len;
    assert_int_not_equal(iconv(cd, &in, &inleft, &o, &left), (size_t)-1);
    iconv_close(cd);
    *outlen = cap - left;
    return out;
}

/* The page's first <meta charset="utf-8" /> becomes <meta charset="cs" />, or
 * with cs "http-equiv:X" the older <meta http-equiv="Content-Type" …charset=X>. */
static char *redeclare(const char *page, size_t len, const char *cs, size_t *outlen)
{
    const char *m = strstr(page, "<meta charset=\"utf-8\" />");
    assert_non_null(m);
    struct buf b = {0};
    buf_append(&b, page, (size_t)(m - page));
    if (!strncmp(cs, "http-equiv:", 11))
        buf_printf(&b, "<META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=%s\">", cs + 11);
    else
        buf_printf(&b, "<meta charset=\"%s\" />", cs);
    const char *rest = m + strlen("<meta charset=\"utf-8\" />");
    buf_append(&b, rest, len - (size_t)(rest - page));
    *outlen = b.len;
    return buf_take(&b);
}

static Reportd__Result *check_bytes(const struct checker *c, const char *data, size_t len)
{
    char err[1024];
    struct report *r = NULL;
    if (reader_read(checker_layouts(c), (const uint8_t *)data, len, READER_DETECT, "p.html", 0, &r, err,
                    sizeof err) < 0)
        fail_msg("%s", err);
    Reportd__Result *res = tu_check(c, r);
    report_destroy(&r);
    return res;
}

static void test_html_gbk_and_gb18030_copies_read_identically(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    size_t len;
    char *page = tu_slurp(SHUYANG, &len);
    Reportd__Result *want = check_bytes(c, page, len);
    static const char *const charsets[][2] = {
        {"gbk", "GBK"}, {"GB2312", "GB18030"}, {"gb18030", "GB18030"}, {"http-equiv:gb2312", "GBK"}};
    for (int i = 0; i < 4; i++) {
        size_t dl, gl;
        char *declared = redeclare(page, len, charsets[i][0], &dl);
        char *g = to_charset(declared, dl, charsets[i][1], &gl);
        assert_false(util_utf8_valid(g, gl));          /* really another encoding */
        Reportd__Result *got = check_bytes(c, g, gl);
        assert_string_equal(got->enrichment->fingerprint, want->enrichment->fingerprint);
        tu_same_result(got, want);
        checker_result_free(got);
        free(g);
        free(declared);
    }
    checker_result_free(want);
    free(page);
    checker_destroy(&c);
}

static void test_html_mojibake_is_rejected(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    size_t len, gl;
    char *page = tu_slurp(SHUYANG, &len);
    /* GBK bytes under the page's own utf-8 declaration */
    char *g = to_charset(page, len, "GBK", &gl);
    const char *e = tu_read_error(c, g, gl, READER_DETECT);
    assert_string_equal(e, "t.txt: the page declares charset utf-8 but byte 133 is not UTF-8 (mojibake: it is "
                           "in another charset, GBK?): save it as UTF-8 or declare its real charset");
    free(g);
    /* UTF-8 bytes declared gbk */
    char *d = redeclare(page, len, "gbk", &gl);
    e = tu_read_error(c, d, gl, READER_DETECT);
    assert_string_equal(e, "t.txt: the page declares charset gbk but its text is UTF-8 (mojibake): declare "
                           "charset=utf-8");
    free(d);
    /* no declaration, neither UTF-8 nor GB18030 */
    static const char bad[] = "<!DOCTYPE html><p>\xff\xff</p>";
    e = tu_read_error(c, bad, sizeof bad - 1, READER_DETECT);
    assert_string_equal(e, "t.txt: byte 18 is not valid GB18030, nor is the page UTF-8 (mojibake, or a damaged page)");
    free(page);
    checker_destroy(&c);
}

static void test_html_without_report_is_rejected(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    static const char none[] = "<!DOCTYPE html><html><head><title>首页</title></head>"
                               "<body><p>欢迎</p><table><tr><td>1</td></tr></table></body></html>";
    assert_string_equal(tu_read_error(c, none, sizeof none - 1, READER_DETECT),
                        "t.txt: no annual report in this page: no section heading (\"一、总体情况\" …) was "
                        "found in its text");
    /* the headings, but the tables left out (an image of them, say) */
    static const char notables[] =
        "<html><body><p>某局2023年政府信息公开工作年度报告</p><p>一、总体情况</p><p>文字</p>"
        "<p>二、主动公开政府信息情况</p><p><img src=t2.png></p><p>三、收到和处理政府信息公开申请情况</p>"
        "</body></html>";
    assert_string_equal(tu_read_error(c, notables, sizeof notables - 1, READER_HTML),
                        "t.txt: no table found (T2, T3 and T4 are missing)");
    checker_destroy(&c);
}

/* A page as sites publish it: navigation before, a footer after the article.
 * The title is the shortest line naming a year and a report; section text
 * stops at the article's end, so the footer is not part of section 六. */
static void test_html_page_chrome_is_not_report_text(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    static const char page[] =
        "<!DOCTYPE html><html><head><title>某县人民政府</title></head><body>"
        "<div class=nav><a>首页</a> &gt; <a>政府信息公开</a> &gt; 某县民政局2023年政府信息公开工作年度报告-某县</div>"
        "<div class=article><h2>某县民政局2023年政府信息公开工作年度报告</h2>"
        "<p>一、总体情况</p><p>本年收到申请<span>1</span>件。</p>"
        "<p>二、主动公开政府信息情况</p>"
        "<table><tr><td>规章</td><td>0</td><td>0</td><td>0</td></tr>"
        "<tr><td>行政规范性文件</td><td>0</td><td>0</td><td>0</td></tr>"
        "<tr><td>行政许可</td><td colspan=3>0</td></tr><tr><td>行政处罚</td><td>0</td></tr>"
        "<tr><td>行政强制</td><td>0</td></tr><tr><td>行政事业性收费</td><td>0</td></tr></table>"
        "<p>五、存在的主要问题及改进情况</p><p>问题。</p>"
        "<div><p>六、其他需要报告的事项</p></div><p>本年度未收取信息处理费。</p></div>"
        "<div class=footer><p>主办单位：某县人民政府办公室 网站标识码：0000000000</p></div>"
        "</body></html>";
    char err[1024] = "";
    struct report *r = NULL;
    if (reader_read(checker_layouts(c), (const uint8_t *)page, sizeof page - 1, READER_DETECT, "p.html", 0, &r,
                    err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_string_equal(r->title, "某县民政局2023年政府信息公开工作年度报告");
    assert_string_equal(r->body_name, "某县民政局");
    assert_string_equal(r->section_text[0], "本年收到申请1件。");
    assert_string_equal(r->section_text[5], "本年度未收取信息处理费。");
    char got[256];
    tu_row_text(r, TABLE_T2, 2, got, sizeof got);
    assert_string_equal(got, "0");
    report_destroy(&r);
    checker_destroy(&c);
}

static void test_html_detection(void **state)
{
    (void)state;
    static const char *const yes[] = {"<!DOCTYPE html>", "\xef\xbb\xbf  <HTML lang=zh>", "\n<table><tr>",
                                      "<!-- saved --><html>", NULL};
    static const char *const no[] = {"一、总体情况\n<html>", "layout: 2021\n", "\tcell", NULL};
    for (int i = 0; yes[i]; i++)
        assert_true(htmlread_sniff(yes[i], strlen(yes[i])));
    for (int i = 0; no[i]; i++)
        assert_false(htmlread_sniff(no[i], strlen(no[i])));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_shuyang_every_number),
        cmocka_unit_test(test_html_gbk_and_gb18030_copies_read_identically),
        cmocka_unit_test(test_html_mojibake_is_rejected),
        cmocka_unit_test(test_html_without_report_is_rejected),
        cmocka_unit_test(test_html_page_chrome_is_not_report_text),
        cmocka_unit_test(test_html_detection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
