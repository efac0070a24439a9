/* test_region: lookups and guesses against the committed config/regions.tsv
 * (run from the project root), and the loader's line-numbered errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "report/region.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#define REGIONS_TSV "config/regions.tsv"

static int setup(void **state)
{
    char err[256] = "";
    struct regions *rs = regions_load(REGIONS_TSV, err, sizeof err);
    if (!rs) {
        fprintf(stderr, "test_region: %s\n", err);
        return -1;
    }
    *state = rs;
    return 0;
}

static int teardown(void **state)
{
    struct regions *rs = *state;
    regions_destroy(&rs);
    assert_null(rs);
    return 0;
}

static void test_region_load_counts_every_division(void **state)
{
    /* 31 provinces + 342 prefectures + 2975 counties in china-division 2.7.0. */
    assert_int_equal(regions_count(*state), 3348);
}

static void test_region_lookup_county(void **state)
{
    struct region_names rn;
    assert_int_equal(regions_lookup(*state, "430381", &rn), 0);
    assert_string_equal(rn.code, "430381");
    assert_string_equal(rn.province_code, "43");
    assert_string_equal(rn.prefecture_code, "4303");
    assert_string_equal(rn.province, "湖南省");
    assert_string_equal(rn.prefecture, "湘潭市");
    assert_string_equal(rn.county, "湘乡市");
}

static void test_region_lookup_prefecture_has_no_county(void **state)
{
    struct region_names rn;
    assert_int_equal(regions_lookup(*state, "320800", &rn), 0);
    assert_string_equal(rn.province, "江苏省");
    assert_string_equal(rn.prefecture, "淮安市");
    assert_string_equal(rn.prefecture_code, "3208");
    assert_null(rn.county);

    assert_int_equal(regions_lookup(*state, "320813", &rn), 0);
    assert_string_equal(rn.province, "江苏省");
    assert_string_equal(rn.prefecture, "淮安市");
    assert_string_equal(rn.county, "洪泽区");
}

static void test_region_lookup_province_has_only_province(void **state)
{
    struct region_names rn;
    assert_int_equal(regions_lookup(*state, "430000", &rn), 0);
    assert_string_equal(rn.province_code, "43");
    assert_string_equal(rn.prefecture_code, "");
    assert_string_equal(rn.province, "湖南省");
    assert_null(rn.prefecture);
    assert_null(rn.county);
}

static void test_region_lookup_municipality_keeps_placeholder(void **state)
{
    struct region_names rn;
    assert_int_equal(regions_lookup(*state, "110105", &rn), 0);
    assert_string_equal(rn.province, "北京市");
    assert_string_equal(rn.prefecture, "市辖区");
    assert_string_equal(rn.county, "朝阳区");
}

static void test_region_lookup_unknown_county_fills_known_parts(void **state)
{
    struct region_names rn;
    assert_int_equal(regions_lookup(*state, "430399", &rn), -1);
    assert_string_equal(rn.code, "430399");
    assert_string_equal(rn.province, "湖南省");
    assert_string_equal(rn.prefecture, "湘潭市");
    assert_null(rn.county);

    assert_int_equal(regions_lookup(*state, "990101", &rn), -1);
    assert_null(rn.province);
    assert_null(rn.prefecture);
    assert_null(rn.county);
}

static void test_region_lookup_malformed_code(void **state)
{
    static const char *const bad[] = { "", "43038", "4303810", "43038x", "43 381", "４３０３８１" };
    struct region_names rn;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(regions_lookup(*state, bad[i], &rn), -1);
        assert_string_equal(rn.code, "");
        assert_null(rn.province);
    }
    assert_int_equal(regions_lookup(*state, NULL, &rn), -1);
}

static void assert_guess(const struct regions *rs, const char *body, const char *want)
{
    const char *got = regions_guess(rs, body);
    const char *shown = body ? body : "(null)";
    if (want == NULL && got != NULL)
        fail_msg("%s: guessed %s, wanted no guess", shown, got);
    if (want != NULL && (got == NULL || strcmp(got, want) != 0))
        fail_msg("%s: guessed %s, wanted %s", shown, got ? got : "nothing", want);
}

static void test_region_guess_county_city(void **state)
{
    assert_guess(*state, "湘乡市民政局", "430381");
    assert_guess(*state, "湖南省湘乡市人民政府", "430381");
}

static void test_region_guess_prefecture(void **state)
{
    assert_guess(*state, "淮安市人民政府", "320800");
    assert_guess(*state, "淮安市人民政府办公室", "320800");
    /* Same name at two levels: the prefecture, not its county 620201. */
    assert_guess(*state, "嘉峪关市人民政府", "620200");
}

static void test_region_guess_district(void **state)
{
    assert_guess(*state, "洪泽区人民政府", "320813");
    assert_guess(*state, "淮安市洪泽区人民政府", "320813");
    /* 城区 inside 东城区 is not a second candidate. */
    assert_guess(*state, "东城区人民政府", "110101");
}

static void test_region_guess_district_outside_named_city_falls_back(void **state)
{
    /* 长治 has had no 城区 since 2018; the table's three 城区 are elsewhere. */
    assert_guess(*state, "长治市城区人民政府", "140400");
    assert_guess(*state, "阳泉市城区人民政府", "140302");
}

static void test_region_guess_province(void **state)
{
    assert_guess(*state, "湖南省人民政府办公厅", "430000");
    assert_guess(*state, "新疆维吾尔自治区财政厅", "650000");
}

static void test_region_guess_ambiguous_district_is_null(void **state)
{
    /* 鼓楼区 is in 南京, 徐州, 开封 and 福州; 朝阳区 in 北京 and 长春. */
    assert_guess(*state, "鼓楼区人民政府", NULL);
    assert_guess(*state, "朝阳区教育局", NULL);
}

static void test_region_guess_prefecture_disambiguates_district(void **state)
{
    assert_guess(*state, "南京市鼓楼区人民政府", "320106");
    assert_guess(*state, "福州市鼓楼区人民政府", "350102");
    assert_guess(*state, "长春市朝阳区人民政府", "220104");
    assert_guess(*state, "北京市朝阳区人民政府", "110105");
}

static void test_region_guess_without_suffix(void **state)
{
    assert_guess(*state, "湘乡民政局", "430381");
    assert_guess(*state, "淮安洪泽区人民政府", "320813");
    /* A bare name shared by a city and a county means the city. */
    assert_guess(*state, "湘潭人民政府", "430300");
    /* Stems count only where a name may start: not 资源县 here. */
    assert_guess(*state, "自然资源部", NULL);
    assert_guess(*state, "湖南省自然资源厅", "430000");
    /* 公安县's stem is also the police: 荆州市公安局 is the city's. */
    assert_guess(*state, "荆州市公安局", "421000");
    assert_guess(*state, "公安县公安局", "421022");
}

static void test_region_guess_autonomous_short_form(void **state)
{
    assert_guess(*state, "湘西州人民政府", "433100");
    assert_guess(*state, "湘西土家族苗族自治州人民政府", "433100");
    assert_guess(*state, "城步县人民政府", "430529");
    /* 海南州 is 海南藏族自治州 in 青海, not the province 海南省. */
    assert_guess(*state, "海南州人民政府", "632500");
    assert_guess(*state, "海南省人民政府", "460000");
}

static void test_region_guess_no_match(void **state)
{
    assert_guess(*state, "国务院办公厅", NULL);
    assert_guess(*state, "", NULL);
    assert_guess(*state, NULL, NULL);
}

static void test_region_guess_returns_borrowed_code(void **state)
{
    const char *code = regions_guess(*state, "湘乡市民政局");
    assert_non_null(code);
    struct region_names rn;
    assert_int_equal(regions_lookup(*state, code, &rn), 0);
    assert_string_equal(rn.county, "湘乡市");
}

/* Write text to a fresh file in its own temp directory; returns its path. */
static char *write_temp(const char *text, char *dir, size_t dirlen)
{
    snprintf(dir, dirlen, "/tmp/test_region.XXXXXX");
    assert_non_null(mkdtemp(dir));
    char *path = xasprintf("%s/regions.tsv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void assert_load_error(const char *text, const char *want_suffix)
{
    char dir[64], err[256] = "";
    char *path = write_temp(text, dir, sizeof dir);
    struct regions *rs = regions_load(path, err, sizeof err);
    assert_null(rs);
    char *want = xasprintf("%s%s", path, want_suffix);
    assert_string_equal(err, want);
    free(want);
    unlink(path);
    rmdir(dir);
    free(path);
}

static void test_region_load_malformed_file_names_line(void **state)
{
    (void)state;
    assert_load_error("# header\n430000\t湖南省\n4303\t湘潭市\n",
                      ":3: expected a 6-digit code, a tab and a name");
    assert_load_error("430000\t湖南省\n430300\t湘潭市\n\n430381\n",
                      ":4: expected a 6-digit code, a tab and a name");
    assert_load_error("430000\t湖南省\n430300\t\n", ":2: empty name");
    assert_load_error("430000\t湖南省\n430381\t湘乡市\n", ":2: 430381 has no prefecture 430300 before it");
    assert_load_error("430000\t湖南省\n430300\t湘潭市\n430300\t湘潭市\n",
                      ":3: 430300 does not sort after 430300 (sorted, no duplicates)");
    assert_load_error("430000\t\xff\n", ":1: not valid UTF-8");
    assert_load_error("# only a comment\n", ":1: no regions in the file");
}

static void test_region_load_accepts_crlf_and_comments(void **state)
{
    (void)state;
    char dir[64], err[256] = "";
    char *path = write_temp("# c\r\n430000\t湖南省\r\n430300\t湘潭市\r\n430381\t湘乡市\r\n", dir, sizeof dir);
    struct regions *rs = regions_load(path, err, sizeof err);
    assert_non_null(rs);
    struct region_names rn;
    assert_int_equal(regions_lookup(rs, "430381", &rn), 0);
    assert_string_equal(rn.county, "湘乡市");
    assert_string_equal(regions_guess(rs, "湘乡市民政局"), "430381");
    regions_destroy(&rs);
    regions_destroy(&rs);
    unlink(path);
    rmdir(dir);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_region_load_counts_every_division),
        cmocka_unit_test(test_region_lookup_county),
        cmocka_unit_test(test_region_lookup_prefecture_has_no_county),
        cmocka_unit_test(test_region_lookup_province_has_only_province),
        cmocka_unit_test(test_region_lookup_municipality_keeps_placeholder),
        cmocka_unit_test(test_region_lookup_unknown_county_fills_known_parts),
        cmocka_unit_test(test_region_lookup_malformed_code),
        cmocka_unit_test(test_region_guess_county_city),
        cmocka_unit_test(test_region_guess_prefecture),
        cmocka_unit_test(test_region_guess_district),
        cmocka_unit_test(test_region_guess_district_outside_named_city_falls_back),
        cmocka_unit_test(test_region_guess_province),
        cmocka_unit_test(test_region_guess_ambiguous_district_is_null),
        cmocka_unit_test(test_region_guess_prefecture_disambiguates_district),
        cmocka_unit_test(test_region_guess_without_suffix),
        cmocka_unit_test(test_region_guess_autonomous_short_form),
        cmocka_unit_test(test_region_guess_no_match),
        cmocka_unit_test(test_region_guess_returns_borrowed_code),
    };
    const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_region_load_malformed_file_names_line),
        cmocka_unit_test(test_region_load_accepts_crlf_and_comments),
    };
    int failed = cmocka_run_group_tests_name("region table", tests, setup, teardown);
    failed += cmocka_run_group_tests_name("region file", plain, NULL, NULL);
    return failed ? 1 : 0;
}
