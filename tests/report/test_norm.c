/* test_norm: the one label normalisation (report/norm.h): each fold of its
 * table, the 、 rule, numbering keys, the fixed-buffer bounds, the layouts'
 * pre-normalised labels, and that the labels of the real reports in
 * ../shared/reports still match their rows. Run from the project root. */
#include "testutil.h"

#include "read/fit.h"
#include "report/norm.h"

static void assert_norm(const char *in, const char *want)
{
    char *got = norm_label(in);
    if (strcmp(got, want))
        fail_msg("norm_label(\"%s\") = \"%s\", want \"%s\"", in, got, want);
    free(got);
}

static void test_norm_white_space_is_dropped(void **state)
{
    (void)state;
    assert_norm("1 . 属于\t国家\r秘密\n", "1.属于国家秘密");
    assert_norm("\v\f总计", "总计");
    assert_norm("总\xc2\xa0计", "总计");                     /* U+00A0 */
    assert_norm("总\xc2\x85计", "总计");                     /* U+0085 */
    assert_norm("　一、总体情况　", "一、总体情况");            /* U+3000 */
    assert_norm("总\xe2\x80\x80\xe2\x80\x8b计", "总计");     /* U+2000, U+200B */
    assert_norm("总\xe2\x80\xaf计\xe2\x81\x9f", "总计");     /* U+202F, U+205F */
    assert_norm("\xef\xbb\xbf总\xe1\x9a\x80计\xe2\x80\xa8", "总计");   /* U+FEFF, U+1680, U+2028 */
    assert_norm("   ", "");
    assert_norm("", "");
    /* U+2010 (a hyphen) and U+200C..U+200F are not white space */
    assert_norm("a\xe2\x80\x90z", "a\xe2\x80\x90z");
}

static void test_norm_full_width_ascii_to_half_width(void **state)
{
    (void)state;
    assert_norm("（一）予以公开", "(一)予以公开");
    assert_norm("(一)予以公开", "(一)予以公开");
    assert_norm("本年收费金额（单位：万元）", "本年收费金额(单位:万元)");
    assert_norm("区分处理的，只计这一情形；", "区分处理的,只计这一情形;");
    assert_norm("１２３．４５", "123.45");
    assert_norm("ＡＢＣｘｙｚ％！～", "ABCxyz%!~");
    assert_norm("\xef\xbc\x81\xef\xbd\x9e", "!~");          /* U+FF01 and U+FF5E, the ends */
    /* just outside the block, and CJK punctuation, stay */
    assert_norm("\xef\xbd\x9f\xef\xbc\x80", "\xef\xbd\x9f\xef\xbc\x80");
    assert_norm("无。—〔2020〕", "无。—〔2020〕");
}

static void test_norm_quotes_are_dropped(void **state)
{
    (void)state;
    assert_norm("3.危及“三安全一稳定”", "3.危及三安全一稳定");
    assert_norm("3.危及\"三安全一稳定\"", "3.危及三安全一稳定");
    assert_norm("‘a’「b」『c』'd'＂e＂＇f＇‚g‛", "abcdefg");
}

static void test_norm_enumeration_comma_after_digit(void **state)
{
    (void)state;
    assert_norm("1、属于国家秘密", "1.属于国家秘密");
    assert_norm("1．属于国家秘密", "1.属于国家秘密");
    assert_norm("１、属于国家秘密", "1.属于国家秘密");
    assert_norm("12 、其他", "12.其他");                     /* white space between */
    assert_norm("一、本年新收", "一、本年新收");               /* stays after a Chinese numeral */
    assert_norm("行政复议、行政诉讼", "行政复议、行政诉讼");
}

static void test_norm_invalid_utf8_is_dropped(void **state)
{
    (void)state;
    assert_norm("总\xff计\xe4\xb8", "总计");
    assert_norm("\xe4\xb8\x80\x80", "一");
}

static void test_norm_idempotent_on_every_layout_label(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    const struct layouts *ls = checker_layouts(c);
    int n = 0;
    for (int k = 0; k < ls->n; k++)
        for (int ti = 0; ti < LAYOUT_TABLES; ti++) {
            const struct layout_table *lt = &ls->v[k]->tables[ti];
            for (int r = 0; r < lt->nrows; r++, n++) {
                assert_norm(lt->rows[r].norm, lt->rows[r].norm);
                char *again = norm_label(lt->rows[r].label);
                assert_string_equal(again, lt->rows[r].norm);
                free(again);
            }
        }
    assert_int_equal(n, (8 + 23 + 1) + (6 + 25 + 1));      /* 2019 and 2021: T2, T3, T4 rows */
    checker_destroy(&c);
}

static void test_norm_fixed_buffer_never_cuts_a_code_point(void **state)
{
    (void)state;
    const char *s = "（一）予以公开";        /* -> "(一)予以公开", 17 bytes */
    char out[32];
    memset(out, 'x', sizeof out);
    assert_int_equal(norm_label_into(out, sizeof out, s, strlen(s)), 17);
    assert_string_equal(out, "(一)予以公开");
    assert_int_equal(norm_label_into(out, 5, s, strlen(s)), 4);       /* "(一" */
    assert_string_equal(out, "(一");
    assert_int_equal(norm_label_into(out, 4, s, strlen(s)), 1);       /* "一" would not fit */
    assert_string_equal(out, "(");
    assert_int_equal(norm_label_into(out, 1, s, strlen(s)), 0);
    assert_string_equal(out, "");
    out[0] = 'x';
    assert_int_equal(norm_label_into(out, 0, s, strlen(s)), 0);
    assert_int_equal(out[0], 'x');                                   /* cap 0: nothing written */
    /* only n bytes are read: no NUL needed, and a cut sequence at the end is dropped */
    assert_int_equal(norm_label_into(out, sizeof out, "总计总计", 4), 3);
    assert_string_equal(out, "总");
    /* the output never outgrows the input: cap = n + 1 holds all of it */
    const char *wide = "（１２）ＡＢ，　“三”";
    size_t n = strlen(wide);
    char *exact = xmalloc(n + 1);
    size_t got = norm_label_into(exact, n + 1, wide, n);
    assert_string_equal(exact, "(12)AB,三");
    assert_int_equal(got, strlen("(12)AB,三"));
    free(exact);
}

/* The map back to the bytes as printed (the run-together reader's need). */
static void test_norm_map_points_back(void **state)
{
    (void)state;
    const char *s = "（一） 予\xef\xbc\x91、";            /* "（一） 予１、" */
    char out[32];
    size_t map[32];
    size_t n = norm_label_map(out, sizeof out, s, strlen(s), map);
    assert_string_equal(out, "(一)予1.");
    assert_int_equal(n, 10);
    static const size_t want[10] = {0, 3, 3, 3, 6, 10, 10, 10, 13, 16};
    for (size_t i = 0; i < n; i++)
        if (map[i] != want[i])
            fail_msg("map[%zu] = %zu, want %zu", i, map[i], want[i]);
    char plain[32];
    assert_int_equal(norm_label_into(plain, sizeof plain, s, strlen(s)), n);   /* the same text */
    assert_string_equal(plain, out);
}

static void test_norm_first_code_point(void **state)
{
    (void)state;
    assert_int_equal(norm_first_cp("　 一、总体情况", strlen("　 一、总体情况")), 0x4e00);
    assert_int_equal(norm_first_cp("“四”", strlen("“四”")), 0x56db);
    assert_int_equal(norm_first_cp("（一）", strlen("（一）")), '(');
    assert_int_equal(norm_first_cp("１．", strlen("１．")), '1');
    assert_int_equal(norm_first_cp(" \t　", strlen(" \t　")), 0);
    assert_int_equal(norm_first_cp("", 0), 0);
    assert_int_equal(norm_fold(0xff08), '(');
    assert_int_equal(norm_fold(0x3000), 0);
    assert_int_equal(norm_fold(0x3001), 0x3001);      /* 、 folds only after a digit */
    assert_int_equal(norm_fold(0x4e00), 0x4e00);
}

/* The two old folds (the layouts' and the pdftotext reader's heading filter)
 * are one now: the first code point of every title and variant as the filter
 * sees it is the first code point of its normalised form. */
static void test_norm_heading_filter_agrees_with_labels(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    const struct layouts *ls = checker_layouts(c);
    int n = 0;
    for (int k = 0; k < ls->n; k++)
        for (int i = 0; i < LAYOUT_SECTIONS; i++) {
            const struct layout_section *s = &ls->v[k]->sections[i];
            for (size_t v = 0; v < s->norm.n; v++, n++) {
                const char *raw = v ? s->variants.v[v - 1] : s->title;
                uint32_t cp;
                assert_true(util_utf8_next(s->norm.v[v], strlen(s->norm.v[v]), &cp) > 0);
                assert_int_equal(norm_first_cp(raw, strlen(raw)), cp);
            }
        }
    assert_true(n >= 2 * (LAYOUT_SECTIONS + 3));           /* titles and variants of 2019 and 2021 */
    assert_int_equal(layouts_match_heading(ls, "一、总体情况"), 0);
    assert_int_equal(layouts_match_heading(ls, "　一、 总 体 情 况\xc2\xa0"), 0);
    assert_int_equal(layouts_match_heading(ls, "五、存在问题及改进情况"), 4);
    assert_int_equal(layouts_match_heading(ls, "六、其他需要报告的事项"), 5);
    assert_int_equal(layouts_match_heading(ls, "七、附则"), -1);
    assert_int_equal(layouts_match_heading(ls, "一、总体情况如下"), -1);
    checker_destroy(&c);
}

static void test_norm_numbering_keys(void **state)
{
    (void)state;
    static const struct { const char *s; size_t len; int key; } cases[] = {
        {"(三)不予公开", 5, 1003},
        {"(十一)其他", 8, 1011},
        {"三、本年度办理结果", 6, 3},
        {"十一、其他", 9, 11},
        {"二十一、其他", 12, 21},
        {"3.危及三安全一稳定", 2, 103},
        {"12.其他", 3, 112},
        {"3)其他", 2, 103},
        {"(3)其他", 3, 1103},
        {"三其他", 0, -1},       /* no closing 、 */
        {"3其他", 0, -1},
        {"(注)", 0, -1},
        {"(3其他", 0, -1},
        {"三.其他", 0, -1},
        {"总计", 0, -1},
        {"", 0, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int key = 42;
        size_t len = norm_numbering(cases[i].s, strlen(cases[i].s), &key);
        if (len != cases[i].len || key != cases[i].key)
            fail_msg("norm_numbering(\"%s\") = %zu key %d, want %zu key %d", cases[i].s, len, key,
                     cases[i].len, cases[i].key);
    }
    assert_int_equal(norm_numbering("(三)", 4, NULL), 0);              /* cut short: no ")" */
    assert_string_equal(norm_skip_numbering("(二)部分公开"), "部分公开");
    assert_string_equal(norm_skip_numbering("1.属于国家秘密"), "属于国家秘密");
    assert_string_equal(norm_skip_numbering("四、结转下年度继续办理"), "结转下年度继续办理");
    assert_string_equal(norm_skip_numbering("总计"), "总计");
    assert_true(norm_key_match(103, 1103));                  /* "3." and "(3)" */
    assert_true(norm_key_match(103, 103));
    assert_false(norm_key_match(3, 1003));                   /* "三、" and "(三)" */
    assert_false(norm_key_match(103, 3));                    /* "3." and "三、" */
    assert_false(norm_key_match(-1, -1));
}

static void test_norm_space_len(void **state)
{
    (void)state;
    static const char *const spaces[] = {" ", "\t", "\n", "\v", "\f", "\r", "\xc2\x85", "\xc2\xa0",
                                         "\xe1\x9a\x80", "\xe2\x80\x80", "\xe2\x80\x8b",
                                         "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x80\xaf",
                                         "\xe2\x81\x9f", "　", "\xef\xbb\xbf", NULL};
    for (int i = 0; spaces[i]; i++) {
        size_t n = strlen(spaces[i]);
        assert_int_equal(norm_space_len(spaces[i], n), n);
        uint32_t cp;
        assert_int_equal(util_utf8_next(spaces[i], n, &cp), n);
        assert_int_equal(norm_fold(cp), 0);                  /* the fold drops the same set */
    }
    assert_int_equal(norm_space_len("a", 1), 0);
    assert_int_equal(norm_space_len("、", 3), 0);
    assert_int_equal(norm_space_len("“", 3), 0);
    assert_int_equal(norm_space_len("\xe2\x80\x8c", 3), 0);   /* U+200C joiner */
    assert_int_equal(norm_space_len("　", 2), 0);               /* cut short */
    assert_int_equal(norm_space_len("", 0), 0);
}

/* The layouts keep every label, group, block and column label pre-normalised. */
static void test_norm_layout_prenormalised(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    const struct layout *l = layouts_find(checker_layouts(c), 2021);
    assert_non_null(l);
    const struct layout_table *t3 = &l->tables[TABLE_T3];
    const struct layout_row *partial = &t3->rows[layout_row_index(t3, "partial")];
    assert_string_equal(partial->norm, "(二)部分公开(区分处理的,只计这一情形,不计其他情形)");
    assert_int_equal(partial->match.n, 2);
    assert_string_equal(partial->match.v[0], "部分公开(区分处理的,只计这一情形,不计其他情形)");
    assert_string_equal(partial->match.v[1], "部分公开");
    assert_string_equal(partial->group_norm, "三、本年度办理结果");
    assert_null(partial->block_norm);
    const struct layout_row *sec = &t3->rows[layout_row_index(t3, "refused.security_stability")];
    assert_string_equal(sec->norm, "3.危及三安全一稳定");
    assert_string_equal(sec->match.v[0], "危及三安全一稳定");
    assert_string_equal(sec->group_norm, "(三)不予公开");
    const struct layout_table *t2 = &l->tables[TABLE_T2];
    const struct layout_row *rules = &t2->rows[layout_row_index(t2, "rules")];
    assert_string_equal(rules->block_norm, "第二十条第(一)项");
    assert_null(rules->group_norm);
    int amount = layout_col_index(t2, "amount");
    assert_true(amount >= 0);
    assert_string_equal(t2->cols[amount].label_norm, "本年收费金额(单位:万元)");
    assert_null(t2->cols[amount].group_norm);
    checker_destroy(&c);
}

/* Both readers match the real reports' printed labels to their rows: only
 * 洪泽's typo in T3 is kept as printed (fit keeps a label that is not the
 * official one). */
static void test_norm_real_reports_labels_still_match(void **state)
{
    (void)state;
    static const struct { const char *file; enum reader_form form; int kept, rows; } cases[] = {
        {SHARED_REPORTS "huaian-2024.layout.txt", READER_LAYOUT, 0, 32},
        {SHARED_REPORTS "hongze-2023.layout.txt", READER_LAYOUT, 1, 30},   /* T2, T4 2021; T3 2019 */
        {SHARED_REPORTS "xiangxiang-minzheng-2024.txt", READER_TEXT, 0, 32},
        {"examples/xiangxiang-minzheng-2024.txt", READER_TEXT, 0, 32},
    };
    struct checker *c = tu_checker();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct report *r = tu_read(c, cases[i].file, cases[i].form);
        int kept = 0, rows = 0;
        for (int ti = 0; ti < LAYOUT_TABLES; ti++) {
            const struct layout_table *lt = &r->tables[ti].layout->tables[ti];
            for (int row = 0; row < lt->nrows; row++, rows++) {
                const char *p = r->tables[ti].printed[row];
                if (!p)
                    continue;
                kept++;
                assert_int_equal(ti, TABLE_T3);
                assert_string_equal(lt->rows[row].id, "refused.law_forbidden");
                assert_string_equal(p, "2.其他法律行政止公开");
                assert_false(fit_label_matches(&lt->rows[row], p));
            }
        }
        if (kept != cases[i].kept)
            fail_msg("%s: %d printed labels kept, want %d", cases[i].file, kept, cases[i].kept);
        if (rows != cases[i].rows)
            fail_msg("%s: %d rows, want %d", cases[i].file, rows, cases[i].rows);
        report_destroy(&r);
    }
    checker_destroy(&c);
}

static void test_norm_fit_matches_printed_variants(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    const struct layout *l = layouts_find(checker_layouts(c), 2021);
    const struct layout_table *t3 = &l->tables[TABLE_T3];
    const struct layout_row *sec = &t3->rows[layout_row_index(t3, "refused.security_stability")];
    const struct layout_row *partial = &t3->rows[layout_row_index(t3, "partial")];
    assert_true(fit_label_matches(sec, "3.危及“三安全一稳定”"));
    assert_true(fit_label_matches(sec, "３、危及\"三安全一稳定\""));
    assert_true(fit_label_matches(sec, "（三）不予公开 3. 危及 三安全一稳定"));
    assert_false(fit_label_matches(sec, "3.危及三安全"));
    assert_true(fit_label_matches(partial, "(二)部分公开(区分处理的,只计这一情形,不计其他情形)"));
    assert_true(fit_label_matches(partial, "（二） 部分公开"));
    assert_false(fit_label_matches(partial, "（一）予以公开"));
    checker_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_norm_white_space_is_dropped),
        cmocka_unit_test(test_norm_full_width_ascii_to_half_width),
        cmocka_unit_test(test_norm_quotes_are_dropped),
        cmocka_unit_test(test_norm_enumeration_comma_after_digit),
        cmocka_unit_test(test_norm_invalid_utf8_is_dropped),
        cmocka_unit_test(test_norm_idempotent_on_every_layout_label),
        cmocka_unit_test(test_norm_fixed_buffer_never_cuts_a_code_point),
        cmocka_unit_test(test_norm_map_points_back),
        cmocka_unit_test(test_norm_first_code_point),
        cmocka_unit_test(test_norm_heading_filter_agrees_with_labels),
        cmocka_unit_test(test_norm_numbering_keys),
        cmocka_unit_test(test_norm_space_len),
        cmocka_unit_test(test_norm_layout_prenormalised),
        cmocka_unit_test(test_norm_real_reports_labels_still_match),
        cmocka_unit_test(test_norm_fit_matches_printed_variants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
