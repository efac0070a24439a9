/* test_layoutread: the pdftotext -layout reader on the two real reports in
 * ../shared/reports (read in place, never changed; variants are edited copies
 * in memory), every number checked against the printed tables; failures on
 * altered copies; speed. Run from the project root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "report/layout.h"
#include "read/layoutread.h"
#include "read/rawdoc.h"
#include "report/norm.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HUAIAN "../shared/reports/huaian-2024.layout.txt"
#define HONGZE "../shared/reports/hongze-2023.layout.txt"
#define XIANGXIANG "../shared/reports/xiangxiang-minzheng-2024.txt"

struct fixture {
    struct layouts ls;
    char *huaian, *hongze;
    size_t huaian_len, hongze_len;
};

static char *slurp(const char *path, size_t *len)
{
    char err[256] = "";
    char *s = util_read_file(path, 1 << 24, len, err, sizeof err);
    if (!s)
        fprintf(stderr, "test_layoutread: %s\n", err);
    return s;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[512] = "";
    if (!f || layouts_load_dir(&f->ls, "config/layouts", err, sizeof err) < 0) {
        fprintf(stderr, "test_layoutread: %s\n", err);
        free(f);
        return -1;
    }
    f->huaian = slurp(HUAIAN, &f->huaian_len);
    f->hongze = slurp(HONGZE, &f->hongze_len);
    if (!f->huaian || !f->hongze)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    layouts_free(&f->ls);
    free(f->huaian);
    free(f->hongze);
    free(f);
    return 0;
}

/* A copy of text with line no (1-based) replaced by repl, or deleted when
 * repl is NULL. */
static char *edit_line(const char *text, size_t len, unsigned no, const char *repl, size_t *outlen)
{
    struct buf b = {0};
    const char *p = text, *end = text + len;
    for (unsigned n = 1; p < end; n++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl + 1 : end;
        if (n != no)
            buf_append(&b, p, (size_t)(e - p));
        else if (repl) {
            buf_puts(&b, repl);
            buf_puts(&b, "\n");
        }
        p = e;
    }
    *outlen = b.len;
    return buf_take(&b);
}

static int parse(struct fixture *f, const char *text, size_t len, struct rawdoc *d, char *err,
                 size_t errlen)
{
    return layoutread_parse(text, len, "doc.txt", &f->ls, d, err, errlen);
}

/* Assert a row: its tokens exactly, and that they sit on the row's line. */
static void assert_row(const struct rawrow *r, const char *const *want, size_t n)
{
    assert_int_equal(r->ntokens, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(r->tokens[i].text, want[i]);
        assert_true(r->tokens[i].line >= r->line);
        assert_true(r->tokens[i].col >= 1);
    }
}

/* The printed label holds the official one, as fit.c will check. */
static void assert_label_holds(const struct layout_row *lr, const char *printed)
{
    char *p = norm_label(printed);
    if (!strstr(p, lr->norm))
        fail_msg("label \"%s\" does not hold \"%s\"", printed, lr->label);
    free(p);
}

/* --- huaian-2024: 2021 layout, 25 T3 rows ----------------------------- */

static const char *const HUAIAN_T3_LABEL[25] = {
    "一、本年新收政府信息公开申请数量",
    "二、上年结转政府信息公开申请数量",
    "（一）予以公开",
    "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
    "1.属于国家秘密",
    "2.其他法律行政法规禁止公开",
    "3.危及“三安全一稳定”",
    "4.保护第三方合法权益",
    "5.属于三类内部事务信息",
    "6.属于四类过程性信息",
    "7.属于行政执法案卷",
    "8.属于行政查询事项",
    "1.本机关不掌握相关政府信息",
    "2.没有现成信息需要另行制作",
    "3.补正后申请内容仍不明确",
    "1.信访举报投诉类申请",
    "2.重复申请",
    "3.要求提供公开出版物",
    "4.无正当理由大量反复申请",
    "5.要求行政机关确认或重新出具已获取信息",
    "1、申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "2、申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "3、其他",
    "（七）总计",
    "四、结转下年度继续办理",
};

/* As printed, row by row: 自然人 商业企业 科研机构 社会公益组织 法律服务机构 其他 总计. */
static const char *const HUAIAN_T3[25][7] = {
    {"3001", "53", "0", "0", "61", "4", "3119"},
    {"34", "0", "0", "0", "0", "0", "34"},
    {"1288", "21", "0", "0", "50", "3", "1362"},
    {"447", "7", "0", "0", "0", "0", "454"},
    {"2", "0", "0", "0", "0", "0", "2"},
    {"30", "1", "0", "0", "0", "0", "31"},
    {"5", "0", "0", "0", "0", "0", "5"},
    {"6", "0", "0", "0", "0", "0", "6"},
    {"7", "1", "0", "0", "0", "0", "8"},
    {"12", "0", "0", "0", "0", "0", "12"},
    {"9", "0", "0", "0", "0", "0", "9"},
    {"105", "0", "0", "0", "0", "0", "105"},
    {"746", "12", "0", "0", "10", "1", "769"},
    {"11", "0", "0", "0", "0", "0", "11"},
    {"1", "0", "0", "0", "0", "0", "1"},
    {"56", "6", "0", "0", "0", "0", "62"},
    {"25", "0", "0", "0", "0", "0", "25"},
    {"0", "0", "0", "0", "0", "0", "0"},
    {"0", "0", "0", "0", "0", "0", "0"},
    {"1", "0", "0", "0", "0", "0", "1"},
    {"67", "3", "0", "0", "1", "0", "71"},
    {"6", "0", "0", "0", "0", "0", "6"},
    {"108", "2", "0", "0", "0", "0", "110"},
    {"2932", "53", "0", "0", "61", "4", "3050"},
    {"103", "0", "0", "0", "0", "0", "103"},
};

static const unsigned HUAIAN_T3_LINE[25] = {
    123, 125, 127, 130, 134, 137, 140, 143, 147, 150, 152, 154, 156,
    161, 164, 167, 169, 171, 173, 176, 182, 188, 192, 194, 197,
};

static void test_layoutread_huaian_title_and_sections(void **state)
{
    struct fixture *f = *state;
    struct rawdoc d;
    char err[512] = "";
    assert_int_equal(parse(f, f->huaian, f->huaian_len, &d, err, sizeof err), 0);
    assert_string_equal(d.title, "淮安市人民政府2024年政府信息公开工作年度报告");
    assert_string_equal(d.filename, "doc.txt");
    static const char *const title[6] = {
        "一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
        "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项",
    };
    static const unsigned line[6] = {11, 65, 111, 202, 225, 239};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(d.sections[i].found, 1);
        assert_int_equal(d.sections[i].order, i);
        assert_int_equal(d.sections[i].line, line[i]);
        assert_string_equal(d.sections[i].title, title[i]);
        assert_null(strchr(d.sections[i].text, '\f'));
        assert_null(strstr(d.sections[i].text, "-1-"));
        assert_null(strstr(d.sections[i].text, "-2-"));
        assert_null(strstr(d.sections[i].text, "-5-"));
    }
    const char *s1 = d.sections[0].text;
    /* wrapped lines joined, across the page break after "-1-" too */
    assert_non_null(strstr(s1, "2024 年，我市坚持以习近平新时代中国特色社会主义思想为指导，认真学习"));
    assert_non_null(strstr(s1, "“建设‘四最’一流营商环境高质量推进产业发展”"));
    assert_non_null(strstr(s1, "完成了各项任务。\n（一）主动公开情况。"));
    assert_non_null(strstr(s1, "全市共受理政府信息公开申请 3119 件，答复 3050 件"));
    assert_null(strstr(s1, "二、主动公开"));
    /* the table sections hold only their tables */
    assert_string_equal(d.sections[1].text, "");
    assert_string_equal(d.sections[2].text, "");
    assert_string_equal(d.sections[3].text, "");
    assert_non_null(strstr(d.sections[4].text, "还有一些需要加强和改进的地方。主要表现在"));
    assert_string_equal(d.sections[5].text, "2024 年，市政府严格落实《政府信息公开信息处理费管理"
                                            "办法》，全年收取政府信息公开信息处理费 3940 元。");
    rawdoc_free(&d);
    assert_null(d.title);
}

static void test_layoutread_huaian_t2_every_number(void **state)
{
    struct fixture *f = *state;
    struct rawdoc d;
    char err[512] = "";
    assert_int_equal(parse(f, f->huaian, f->huaian_len, &d, err, sizeof err), 0);
    const struct rawtable *t = &d.tables[TABLE_T2];
    assert_int_equal(t->found, 1);
    assert_int_equal(t->nrows, 6);
    static const char *const label[6] = {"规章", "行政规范性文件", "行政许可", "行政处罚", "行政强制", "行政事业性收费"};
    static const unsigned line[6] = {72, 74, 82, 94, 97, 106};
    for (int r = 0; r < 6; r++) {
        assert_string_equal(t->rows[r].label, label[r]);
        assert_int_equal(t->rows[r].line, line[r]);
    }
    assert_row(&t->rows[0], (const char *const[]){"1", "0", "11"}, 3);
    assert_row(&t->rows[1], (const char *const[]){"8", "26", "66"}, 3);
    assert_row(&t->rows[2], (const char *const[]){"447228"}, 1);
    assert_row(&t->rows[3], (const char *const[]){"3985758"}, 1);
    assert_row(&t->rows[4], (const char *const[]){"88283"}, 1);
    assert_row(&t->rows[5], (const char *const[]){"96171.6"}, 1);
    /* line 106: "行政事业性收费" then spaces up to column 31 */
    assert_int_equal(t->rows[5].tokens[0].line, 106);
    assert_int_equal(t->rows[5].tokens[0].col, 31);
    rawdoc_free(&d);
}

static void test_layoutread_huaian_t3_every_number(void **state)
{
    struct fixture *f = *state;
    struct rawdoc d;
    char err[512] = "";
    assert_int_equal(parse(f, f->huaian, f->huaian_len, &d, err, sizeof err), 0);
    const struct rawtable *t = &d.tables[TABLE_T3];
    const struct layout_table *lt = &layouts_find(&f->ls, 2021)->tables[TABLE_T3];
    assert_int_equal(t->found, 1);
    assert_int_equal(t->nrows, 25);
    for (int r = 0; r < 25; r++) {
        assert_string_equal(t->rows[r].label, HUAIAN_T3_LABEL[r]);
        assert_label_holds(&lt->rows[r], t->rows[r].label);
        assert_int_equal(t->rows[r].line, HUAIAN_T3_LINE[r]);
        assert_row(&t->rows[r], HUAIAN_T3[r], 7);
        for (int k = 0; k < 7; k++)
            assert_int_equal(t->rows[r].tokens[k].line, HUAIAN_T3_LINE[r]);
    }
    /* columns count code points: 16 ideographs and 16 spaces before "3001" */
    assert_int_equal(t->rows[0].tokens[0].col, 33);
    assert_int_equal(t->rows[0].tokens[6].col, 81);
    /* line 161 opens page 5 with a form feed, which is not counted */
    assert_int_equal(t->rows[13].tokens[6].col, 94);
    rawdoc_free(&d);
}

static void test_layoutread_huaian_t4_every_number(void **state)
{
    struct fixture *f = *state;
    struct rawdoc d;
    char err[512] = "";
    assert_int_equal(parse(f, f->huaian, f->huaian_len, &d, err, sizeof err), 0);
    const struct rawtable *t = &d.tables[TABLE_T4];
    assert_int_equal(t->found, 1);
    assert_int_equal(t->nrows, 1);
    assert_string_equal(t->rows[0].label, "");
    assert_int_equal(t->rows[0].line, 220);
    assert_row(&t->rows[0], (const char *const[]){"72", "64", "178", "37", "351", "13", "4", "8", "1",
                                                 "26", "12", "1", "1", "6", "20"}, 15);
    assert_int_equal(t->rows[0].tokens[0].col, 1);
    assert_int_equal(t->rows[0].tokens[14].col, 93);
    rawdoc_free(&d);
}

/* --- hongze-2023: 2019 trial T3 (23 rows), typo kept ------------------- */

static void test_layoutread_hongze_t3_rows(void **state)
{
    struct fixture *f = *state;
    struct rawdoc d;
    char err[512] = "";
    assert_int_equal(parse(f, f->hongze, f->hongze_len, &d, err, sizeof err), 0);
    assert_string_equal(d.title, "洪泽区人民政府2023年政府信息公开工作年度报告");
    for (int i = 0; i < 6; i++)
        assert_int_equal(d.sections[i].order, i);
    const struct rawtable *t = &d.tables[TABLE_T3];
    const struct layout_table *lt = &layouts_find(&f->ls, 2019)->tables[TABLE_T3];
    assert_int_equal(t->nrows, 23);
    static const char *const zero[7] = {"0", "0", "0", "0", "0", "0", "0"};
    static const char *const one[7] = {"1", "0", "0", "0", "0", "0", "1"};
    static const char *const twenty_one[7] = {"21", "0", "0", "0", "0", "0", "21"};
    static const char *const four[7] = {"4", "0", "0", "0", "0", "0", "4"};
    static const char *const ten[7] = {"10", "0", "0", "0", "0", "0", "10"};
    static const char *const three[7] = {"3", "0", "0", "0", "0", "0", "3"};
    const char *const *want[23] = {
        twenty_one, zero, zero, four,                          /* 一 二 （一） （二） */
        one, zero, zero, zero, zero, one, one, zero,           /* （三）1–8 */
        ten, three, zero,                                      /* （四）1–3 */
        one, zero, zero, zero, zero,                           /* （五）1–5 */
        zero, twenty_one, zero,                                /* （六） （七） 四 */
    };
    static const unsigned line[23] = {96, 97, 98, 101, 102, 108, 109, 110, 112, 113, 114, 115,
                                      116, 118, 121, 122, 123, 124, 126, 129, 130, 131, 132};
    for (int r = 0; r < 23; r++) {
        assert_int_equal(t->rows[r].line, line[r]);
        assert_row(&t->rows[r], want[r], 7);
        if (r != 5)
            assert_label_holds(&lt->rows[r], t->rows[r].label);
    }
    /* the report's typo comes through as printed, not corrected */
    assert_string_equal(t->rows[5].label, "2.其他法律行政止公开");
    assert_string_equal(t->rows[3].label, "（二）部分公开（区分处理的，只计这一情形，不计其他情形）");
    assert_string_equal(t->rows[18].label, "4.无正当理由大量反复申请");
    assert_string_equal(t->rows[19].label, "5.要求行政机关确认或重新出具已获取信息");
    assert_string_equal(t->rows[20].label, "（六）其他处理");
    rawdoc_free(&d);
}

static void test_layoutread_hongze_t2_t4_every_number(void **state)
{
    struct fixture *f = *state;
    struct rawdoc d;
    char err[512] = "";
    assert_int_equal(parse(f, f->hongze, f->hongze_len, &d, err, sizeof err), 0);
    const struct rawtable *t2 = &d.tables[TABLE_T2];
    assert_int_equal(t2->nrows, 6);
    assert_row(&t2->rows[0], (const char *const[]){"0", "0", "0"}, 3);
    assert_row(&t2->rows[1], (const char *const[]){"0", "5", "5"}, 3);
    assert_row(&t2->rows[2], (const char *const[]){"550"}, 1);
    assert_row(&t2->rows[3], (const char *const[]){"4119"}, 1);
    assert_row(&t2->rows[4], (const char *const[]){"195"}, 1);
    assert_row(&t2->rows[5], (const char *const[]){"7730.28"}, 1);
    assert_string_equal(t2->rows[5].label, "行政事业性收费");
    const struct rawtable *t4 = &d.tables[TABLE_T4];
    assert_int_equal(t4->nrows, 1);
    assert_row(&t4->rows[0], (const char *const[]){"10", "1", "0", "0", "0", "0", "0", "0", "0",
                                                  "0", "5", "0", "0", "0", "0"}, 15);
    assert_int_equal(t4->rows[0].line, 149);
    assert_string_equal(d.sections[5].text, "2023 年，区政府严格落实《政府信息公开信息处理费管理办"
                                            "法》，全年收取政府信息公开信息处理费 0 元。");
    rawdoc_free(&d);
}

/* --- altered copies ----------------------------------------------------- */

static void test_layoutread_missing_t3_row_fails(void **state)
{
    struct fixture *f = *state;
    size_t len;
    /* line 147 is "5.属于三类内部事务信息 7 1 0 0 0 0 8" */
    char *text = edit_line(f->huaian, f->huaian_len, 147, NULL, &len);
    struct rawdoc d;
    char err[512] = "";
    assert_int_equal(parse(f, text, len, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "doc.txt:123: T3: found 24 rows of 7 numbers, expected 25 or 23"));
    /* and where: the next row now sits where 5. was expected */
    assert_non_null(strstr(err, "line 149 reads 6.属于四类过程性信息"));
    assert_non_null(strstr(err, "5.属于三类内部事务信息"));
    rawdoc_free(&d);
    free(text);
}

static void test_layoutread_t4_count_fails(void **state)
{
    struct fixture *f = *state;
    size_t len;
    char *text = edit_line(f->hongze, f->hongze_len, 149,
                           "10    1      0   0    0   0    0   0   0    0   5", &len);
    struct rawdoc d;
    char err[512] = "";
    assert_int_equal(parse(f, text, len, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "doc.txt:149: T4: found 11 numbers on 1 line, expected 15"));
    rawdoc_free(&d);
    free(text);
}

/* Text between two T3 rows that no row label could need: an error naming
 * the row, not minutes of label matching. */
static void test_layoutread_text_flood_in_t3_fails(void **state)
{
    struct fixture *f = *state;
    struct buf flood = {0};
    for (int i = 0; i < 40; i++)
        buf_puts(&flood, "             予公开  ");
    size_t len;
    char *text = edit_line(f->huaian, f->huaian_len, 144, flood.data, &len);
    struct rawdoc d;
    char err[512] = "";
    assert_int_equal(parse(f, text, len, &d, err, sizeof err), -1);
    /* the 40, and "理" / "予公开" of the group label on lines 145-146 */
    assert_string_equal(err, "doc.txt:143: T3: 42 pieces of text below this row before the "
                             "next: not a table this reader can follow");
    rawdoc_free(&d);
    buf_free(&flood);
    free(text);
}

static void test_layoutread_empty_input_fails(void **state)
{
    struct fixture *f = *state;
    struct rawdoc d;
    char err[512] = "";
    assert_int_equal(parse(f, "", 0, &d, err, sizeof err), -1);
    assert_string_equal(err, "doc.txt: empty input");
    rawdoc_free(&d);
    /* white space only: no heading */
    assert_int_equal(parse(f, "\n\n   \f\n", 6, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "no section heading like 一、总体情况 found"));
    rawdoc_free(&d);
}

static void test_layoutread_binary_garbage_fails(void **state)
{
    struct fixture *f = *state;
    char buf[4096];
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        buf[i] = (char)x;
    }
    struct rawdoc d;
    char err[512] = "";
    assert_int_equal(parse(f, buf, sizeof buf, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "not UTF-8 text"));
    rawdoc_free(&d);
    /* a NUL inside otherwise good text */
    char *copy = xstrndup(f->huaian, f->huaian_len);
    copy[500] = '\0';
    assert_int_equal(parse(f, copy, f->huaian_len, &d, err, sizeof err), -1);
    rawdoc_free(&d);
    free(copy);
}

/* The reader's own fast UTF-8 check says what util_utf8_valid says, on
 * random mixes of ASCII, CJK, edge sequences and broken ones. */
static void test_layoutread_utf8_check_agrees_with_util(void **state)
{
    struct fixture *f = *state;
    static const char *const piece[] = {
        "a", " ", "\n", "中", "（", "\xef\xbc\x91", "\xe0\xa0\x80", "\xe0\x9f\xbf",
        "\xed\x9f\xbf", "\xed\xa0\x80", "\xf0\x9f\x98\x80", "\xf4\x90\x80\x80", "\xc0\xaf",
        "\xc2\xa0", "\xe4\xb8", "\x80", "\xff", "\xe3\x80\x80",
    };
    uint32_t x = 12345u;
    for (int round = 0; round < 3000; round++) {
        struct buf b = {0};
        buf_puts(&b, "一、总体情况\n");
        int n = 1 + (int)(x % 24);
        for (int i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            /* mostly good pieces, so that whole documents are often valid */
            unsigned k = x % 100 < 85 ? x % 6 : x % (sizeof piece / sizeof piece[0]);
            buf_puts(&b, piece[k]);
        }
        struct rawdoc d;
        char err[512] = "";
        int rc = parse(f, b.data, b.len, &d, err, sizeof err);
        int said_bad = rc < 0 && strstr(err, "not UTF-8") != NULL;
        assert_int_equal(said_bad, !util_utf8_valid(b.data, b.len));
        rawdoc_free(&d);
        buf_free(&b);
    }
}

/* Valid UTF-8 noise made of the report's own pieces: any answer, no crash. */
static void test_layoutread_noise_never_crashes(void **state)
{
    struct fixture *f = *state;
    static const char *const piece[] = {
        " ", "   ", "\n", "\f", "0", "12", "-3-", "/", "—", "无", "三、", "（三）不", "1.",
        "一、总体情况", "\n三、收到和处理政府信息公开申请情况\n", "\n四、政府信息公开行政复议、行政诉讼情况\n",
        "二、主动公开政府信息情况\n", "规章", "属于国家秘密", "元", "。",
    };
    uint32_t x = 88172645u;
    for (int round = 0; round < 200; round++) {
        struct buf b = {0};
        for (int i = 0; i < 400; i++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            buf_puts(&b, piece[x % (sizeof piece / sizeof piece[0])]);
        }
        struct rawdoc d;
        char err[512] = "";
        int rc = parse(f, b.data, b.len, &d, err, sizeof err);
        assert_true(rc == 0 || (rc == -1 && err[0]));
        rawdoc_free(&d);
        buf_free(&b);
    }
}

/* Every line of the real report deleted in turn, and every prefix: the
 * reader answers 0 or -1 with a reason, and never reads past its input. */
static void test_layoutread_each_line_deleted_never_crashes(void **state)
{
    struct fixture *f = *state;
    for (unsigned no = 1; no <= 247; no++) {
        size_t len;
        char *text = edit_line(f->huaian, f->huaian_len, no, NULL, &len);
        struct rawdoc d;
        char err[512] = "";
        int rc = parse(f, text, len, &d, err, sizeof err);
        assert_true(rc == 0 || (rc == -1 && err[0]));
        rawdoc_free(&d);
        /* the prefix up to that line, in an exact-size heap block */
        const char *p = f->huaian;
        for (unsigned k = 1; k < no && p; k++)
            p = memchr(p, '\n', (size_t)(f->huaian + f->huaian_len - p)), p = p ? p + 1 : NULL;
        size_t plen = p ? (size_t)(p - f->huaian) : f->huaian_len;
        char *prefix = xmalloc(plen ? plen : 1);
        memcpy(prefix, f->huaian, plen);
        rc = parse(f, prefix, plen, &d, err, sizeof err);
        assert_true(rc == 0 || (rc == -1 && err[0]));
        rawdoc_free(&d);
        free(prefix);
        free(text);
    }
}

static void test_layoutread_blank_cell_placed_by_column(void **state)
{
    struct fixture *f = *state;
    size_t len;
    /* row （三）5: the 商业企业 cell "1" left blank */
    char *text = edit_line(f->huaian, f->huaian_len, 147,
                           "             5.属于三类内部事务信息        7                   0        0        0    0    8",
                           &len);
    struct rawdoc d;
    char err[512] = "";
    assert_int_equal(parse(f, text, len, &d, err, sizeof err), 0);
    assert_row(&d.tables[TABLE_T3].rows[8],
               (const char *const[]){"7", "", "0", "0", "0", "0", "8"}, 7);
    assert_int_equal(d.tables[TABLE_T3].rows[8].tokens[1].col, 45);
    rawdoc_free(&d);
    free(text);
}

static void test_layoutread_page_numbers_are_not_cells(void **state)
{
    struct fixture *f = *state;
    size_t len1, len2, len3;
    /* "-4-" moved onto the last row of page 4, and "- 4 -" / a bare "4" as
     * the page-number lines */
    char *a = edit_line(f->huaian, f->huaian_len, 156,
                        "             1.本机关不掌握相关政府信息     746         12       0        0    10       1   769        -4-",
                        &len1);
    char *b = edit_line(a, len1, 160, "4", &len2);
    char *c = edit_line(b, len2, 90, "                                      - 3 -", &len3);
    struct rawdoc d;
    char err[512] = "";
    assert_int_equal(parse(f, c, len3, &d, err, sizeof err), 0);
    assert_int_equal(d.tables[TABLE_T3].nrows, 25);
    for (int r = 0; r < 25; r++)
        assert_row(&d.tables[TABLE_T3].rows[r], HUAIAN_T3[r], 7);
    assert_int_equal(d.tables[TABLE_T2].nrows, 6);
    rawdoc_free(&d);
    free(a);
    free(b);
    free(c);
}

static void test_layoutread_placeholders_and_units_are_cells(void **state)
{
    struct fixture *f = *state;
    size_t len1, len2;
    char *a = edit_line(f->huaian, f->huaian_len, 134,
                        "             1.属于国家秘密            2          /        —        -        无    0    2", &len1);
    char *b = edit_line(a, len1, 106, "行政事业性收费                       251000元", &len2);
    struct rawdoc d;
    char err[512] = "";
    assert_int_equal(parse(f, b, len2, &d, err, sizeof err), 0);
    assert_row(&d.tables[TABLE_T3].rows[4],
               (const char *const[]){"2", "/", "—", "-", "无", "0", "2"}, 7);
    assert_row(&d.tables[TABLE_T2].rows[5], (const char *const[]){"251000元"}, 1);
    rawdoc_free(&d);
    free(a);
    free(b);
}

static void test_layoutread_sniff_tells_forms_apart(void **state)
{
    struct fixture *f = *state;
    assert_true(layoutread_sniff(f->huaian, f->huaian_len));
    assert_true(layoutread_sniff(f->hongze, f->hongze_len));
    size_t len;
    char *web = slurp(XIANGXIANG, &len);
    assert_non_null(web);
    assert_false(layoutread_sniff(web, len));
    free(web);
    assert_false(layoutread_sniff("", 0));
    assert_false(layoutread_sniff("一、总体情况\n本年度无。\n", 27));
}

/* huaian with n pieces of text after a T2 row whose label is not official
 * (so each piece is weighed), and n more above the T3 header. */
static char *padded(struct fixture *f, int n, size_t *len)
{
    struct buf pad = {0};
    buf_puts(&pad, "规xx            1          0        11\n");
    for (int i = 0; i < n; i++)
        buf_puts(&pad, "行政  ");
    buf_puts(&pad, "\n");
    size_t l1;
    char *a = edit_line(f->huaian, f->huaian_len, 72, pad.data, &l1);
    buf_free(&pad);
    for (int i = 0; i < n; i++)
        buf_puts(&pad, "（一）予以  ");
    char *b = edit_line(a, l1, 122, pad.data, len);
    buf_free(&pad);
    free(a);
    return b;
}

/* Long runs of text between rows (16,000 pieces) are read, not choked on.
 * How the time grows with them is for `make bench`, not a test. */
static void test_layoutread_long_text_between_rows(void **state)
{
    struct fixture *f = *state;
    size_t len;
    char *text = padded(f, 16000, &len);
    struct rawdoc d;
    char err[512];
    assert_int_equal(parse(f, text, len, &d, err, sizeof err), 0);
    assert_int_equal(d.tables[TABLE_T3].nrows, 25);
    rawdoc_free(&d);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layoutread_huaian_title_and_sections),
        cmocka_unit_test(test_layoutread_huaian_t2_every_number),
        cmocka_unit_test(test_layoutread_huaian_t3_every_number),
        cmocka_unit_test(test_layoutread_huaian_t4_every_number),
        cmocka_unit_test(test_layoutread_hongze_t3_rows),
        cmocka_unit_test(test_layoutread_hongze_t2_t4_every_number),
        cmocka_unit_test(test_layoutread_missing_t3_row_fails),
        cmocka_unit_test(test_layoutread_t4_count_fails),
        cmocka_unit_test(test_layoutread_text_flood_in_t3_fails),
        cmocka_unit_test(test_layoutread_empty_input_fails),
        cmocka_unit_test(test_layoutread_binary_garbage_fails),
        cmocka_unit_test(test_layoutread_utf8_check_agrees_with_util),
        cmocka_unit_test(test_layoutread_noise_never_crashes),
        cmocka_unit_test(test_layoutread_each_line_deleted_never_crashes),
        cmocka_unit_test(test_layoutread_blank_cell_placed_by_column),
        cmocka_unit_test(test_layoutread_page_numbers_are_not_cells),
        cmocka_unit_test(test_layoutread_placeholders_and_units_are_cells),
        cmocka_unit_test(test_layoutread_sniff_tells_forms_apart),
        cmocka_unit_test(test_layoutread_long_text_between_rows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
