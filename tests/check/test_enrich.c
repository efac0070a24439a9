/* test_enrich: the figures a Result carries, on the real reports in
 * ../shared/reports (read in place; changes are made in memory): T3 totals and
 * rates, T4 counts and correction rates, the dashboard colours at their
 * thresholds, the region, the deadline and days after it, and the fingerprint,
 * equal across the text, YAML and protobuf forms of one report. */
#include "testutil.h"

#include <openssl/evp.h>

#include "check/enrich.h"
#include "read/reportpb.h"
#include "read/yamlreport.h"
#include "report/region.h"

#define HUAIAN SHARED_REPORTS "huaian-2024.layout.txt"
#define HONGZE SHARED_REPORTS "hongze-2023.layout.txt"
#define XIANGXIANG SHARED_REPORTS "xiangxiang-minzheng-2024.txt"

#define FP_HUAIAN "285386478df59d9cc5034fd210207c27f956fc295e285dcbae08e4e082e04cd9"
#define FP_XIANGXIANG "5f69b2861220b849824b1e01af00723e4e1037e92bc7a9a4daef382e5f00a477"

struct fixture {
    struct checker *c;
    struct regions *regions;
    EVP_MD *sha256;
    struct report *huaian;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof *f);
    char err[256];
    f->c = tu_checker();
    f->regions = regions_load("config/regions.tsv", err, sizeof err);
    if (!f->regions)
        fail_msg("%s", err);
    f->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    assert_non_null(f->sha256);
    f->huaian = tu_read(f->c, HUAIAN, READER_LAYOUT);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    report_destroy(&f->huaian);
    regions_destroy(&f->regions);
    EVP_MD_free(f->sha256);
    checker_destroy(&f->c);
    free(f);
    return 0;
}

/* Enrich r as a 2024 report of a government submitted 2025-01-20 (China time). */
static Reportd__Enrichment *enrich(const struct fixture *f, const struct report *r, int government)
{
    struct enrich_ctx ctx = {f->regions, (const struct evp_md_st *)f->sha256, NULL, NULL, 2024,
                             government, 1737302400, NULL};
    Reportd__Enrichment *e = xmalloc(sizeof *e);
    reportd__enrichment__init(e);
    enrich_report(&ctx, r, e);
    return e;
}

static void enrichment_free(Reportd__Enrichment *e)
{
    protobuf_c_message_free_unpacked(&e->base, NULL);
}

static void assert_rate(const Reportd__Rate *r, double value, Reportd__Rating rating)
{
    assert_non_null(r);
    assert_true(r->has_value && r->has_rating);
    if (r->value != value)
        fail_msg("rate %.17g, want %.17g", r->value, value);
    assert_int_equal(r->rating, rating);
}

static void test_enrich_huaian_figures(void **state)
{
    struct fixture *f = *state;
    Reportd__Enrichment *e = enrich(f, f->huaian, 1);
    assert_true(e->has_received && e->has_carried_over && e->has_concluded && e->has_carried_forward);
    assert_int_equal(e->received, 3119);
    assert_int_equal(e->carried_over, 34);
    assert_int_equal(e->concluded, 3050);
    assert_int_equal(e->carried_forward, 103);
    /* (一) 1362 + (二) 454 of 3050; Σ(三) 178; Σ(四) 781 */
    assert_rate(e->disclosure_rate, 1816.0 / 3050, REPORTD__RATING__RATING_GREEN);
    assert_rate(e->refusal_rate, 178.0 / 3050, REPORTD__RATING__RATING_NONE);
    assert_rate(e->unable_rate, 781.0 / 3050, REPORTD__RATING__RATING_NONE);
    assert_true(e->has_reviews && e->has_suits);
    assert_int_equal(e->reviews, 351);
    assert_int_equal(e->suits, 26 + 20);
    /* 纠正 64 of 72 + 64 + 178: over 15% with 314 concluded */
    assert_rate(e->review_correction_rate, 64.0 / 314, REPORTD__RATING__RATING_RED);
    /* 4 of 25 and 1 of 14: too few concluded to rate */
    assert_rate(e->suit_direct_correction_rate, 4.0 / 25, REPORTD__RATING__RATING_NONE);
    assert_rate(e->suit_after_review_correction_rate, 1.0 / 14, REPORTD__RATING__RATING_NONE);
    assert_non_null(e->region);
    assert_string_equal(e->region->code, "320800");
    assert_string_equal(e->region->province_code, "32");
    assert_string_equal(e->region->prefecture_code, "3208");
    assert_string_equal(e->region->province, "江苏省");
    assert_string_equal(e->region->prefecture, "淮安市");
    assert_null(e->region->county);
    assert_string_equal(e->deadline, "2025-03-31");
    assert_true(e->has_days_after_deadline);
    assert_int_equal(e->days_after_deadline, -70);
    assert_string_equal(e->fingerprint, FP_HUAIAN);
    enrichment_free(e);
}

static void set_review(struct report *r, const char *upheld, const char *corrected, const char *other)
{
    tu_set(r, TABLE_T4, "", "review.upheld", upheld);
    tu_set(r, TABLE_T4, "", "review.corrected", corrected);
    tu_set(r, TABLE_T4, "", "review.other", other);
}

/* Correction rate: > 15% red, > 10% yellow, else green; unrated under 30. */
static void test_enrich_correction_rating_thresholds(void **state)
{
    struct fixture *f = *state;
    static const struct { const char *u, *c, *o; double v; Reportd__Rating want; } cases[] = {
        {"85", "15", "0", 0.15, REPORTD__RATING__RATING_YELLOW},   /* 15% exactly: not over */
        {"84", "16", "0", 0.16, REPORTD__RATING__RATING_RED},
        {"89", "11", "0", 0.11, REPORTD__RATING__RATING_YELLOW},
        {"90", "10", "0", 0.10, REPORTD__RATING__RATING_GREEN},     /* 10% exactly */
        {"100", "0", "0", 0.0, REPORTD__RATING__RATING_GREEN},
        {"20", "9", "0", 9.0 / 29, REPORTD__RATING__RATING_NONE},  /* 29 concluded */
        {"21", "9", "0", 0.3, REPORTD__RATING__RATING_RED},        /* 30 concluded */
        {"10", "5", "15", 5.0 / 30, REPORTD__RATING__RATING_RED},  /* 其他结果 counts as concluded */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        set_review(f->huaian, cases[i].u, cases[i].c, cases[i].o);
        Reportd__Enrichment *e = enrich(f, f->huaian, 1);
        assert_rate(e->review_correction_rate, cases[i].v, cases[i].want);
        enrichment_free(e);
    }
    set_review(f->huaian, "0", "0", "0");                    /* nothing concluded: no rate */
    Reportd__Enrichment *e = enrich(f, f->huaian, 1);
    assert_null(e->review_correction_rate);
    enrichment_free(e);
}

/* Disclosure rate: < 40% red, < 45% yellow, else green. */
static void test_enrich_disclosure_rating_thresholds(void **state)
{
    struct fixture *f = *state;
    static const struct { const char *granted; double v; Reportd__Rating want; } cases[] = {
        {"1219", 1219.0 / 3050, REPORTD__RATING__RATING_RED},
        {"1220", 0.40, REPORTD__RATING__RATING_YELLOW},          /* 40% exactly: not under */
        {"1372", 1372.0 / 3050, REPORTD__RATING__RATING_YELLOW},
        {"1373", 1373.0 / 3050, REPORTD__RATING__RATING_GREEN},
    };
    tu_set(f->huaian, TABLE_T3, "partial", "total", "0");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tu_set(f->huaian, TABLE_T3, "granted", "total", cases[i].granted);
        Reportd__Enrichment *e = enrich(f, f->huaian, 1);
        assert_rate(e->disclosure_rate, cases[i].v, cases[i].want);
        enrichment_free(e);
    }
}

/* A figure from a missing cell is absent, never computed from a guessed 0. */
static void test_enrich_missing_cells_leave_figures_absent(void **state)
{
    struct fixture *f = *state;
    tu_set(f->huaian, TABLE_T3, "refused.process_info", "total", "");
    tu_set(f->huaian, TABLE_T4, "", "suit_direct.total", "/");
    tu_set(f->huaian, TABLE_T4, "", "review.corrected", "");
    Reportd__Enrichment *e = enrich(f, f->huaian, 1);
    assert_null(e->refusal_rate);                            /* one refused.* cell is blank */
    assert_non_null(e->unable_rate);
    assert_non_null(e->disclosure_rate);
    assert_false(e->has_suits);                              /* suit_direct.total is a placeholder */
    assert_true(e->has_reviews);
    assert_null(e->review_correction_rate);
    assert_non_null(e->suit_direct_correction_rate);
    enrichment_free(e);
    tu_set(f->huaian, TABLE_T3, "total", "total", "");
    e = enrich(f, f->huaian, 1);
    assert_false(e->has_concluded);
    assert_true(e->has_received);
    assert_null(e->disclosure_rate);
    assert_null(e->unable_rate);
    enrichment_free(e);
}

/* 洪泽: fewer than 30 concluded, nothing rated; its county from its name. */
static void test_enrich_hongze_small_counts_unrated(void **state)
{
    struct fixture *f = *state;
    struct report *r = tu_read(f->c, HONGZE, READER_LAYOUT);
    Reportd__Enrichment *e = enrich(f, r, 1);
    assert_int_equal(e->concluded, 21);
    assert_rate(e->disclosure_rate, 4.0 / 21, REPORTD__RATING__RATING_NONE);
    assert_rate(e->refusal_rate, 3.0 / 21, REPORTD__RATING__RATING_NONE);
    assert_rate(e->unable_rate, 13.0 / 21, REPORTD__RATING__RATING_NONE);
    assert_string_equal(e->region->code, "320813");
    assert_string_equal(e->region->county, "洪泽区");
    enrichment_free(e);
    report_destroy(&r);
}

static void test_enrich_region_from_name_code_or_none(void **state)
{
    struct fixture *f = *state;
    struct report *r = tu_read(f->c, XIANGXIANG, READER_TEXT);
    Reportd__Enrichment *e = enrich(f, r, 0);                /* 湘乡市民政局 */
    assert_string_equal(e->region->code, "430381");
    assert_string_equal(e->region->province, "湖南省");
    assert_string_equal(e->region->prefecture, "湘潭市");
    assert_string_equal(e->region->county, "湘乡市");
    enrichment_free(e);

    struct enrich_ctx ctx = {f->regions, NULL, "320813", NULL, 0, -1, 0, NULL};   /* the code wins */
    e = xmalloc(sizeof *e);
    reportd__enrichment__init(e);
    enrich_report(&ctx, r, e);
    assert_string_equal(e->region->code, "320813");
    assert_string_equal(e->region->county, "洪泽区");
    assert_null(e->deadline);                                /* year unknown */
    assert_false(e->has_days_after_deadline);
    assert_null(e->fingerprint);                             /* no digest given */
    enrichment_free(e);

    ctx.region_code = "990000";                              /* no such province */
    e = xmalloc(sizeof *e);
    reportd__enrichment__init(e);
    enrich_report(&ctx, r, e);
    assert_null(e->region);
    enrichment_free(e);

    ctx.region_code = NULL;                                  /* a REJECTED Result: name only */
    ctx.body_name = "淮安市人民政府";
    ctx.regions = f->regions;
    e = xmalloc(sizeof *e);
    reportd__enrichment__init(e);
    enrich_region(&ctx, e);
    assert_string_equal(e->region->code, "320800");
    assert_null(e->deadline);
    assert_false(e->has_concluded);
    enrichment_free(e);

    ctx.regions = NULL;                                      /* no table: no region */
    e = xmalloc(sizeof *e);
    reportd__enrichment__init(e);
    enrich_region(&ctx, e);
    assert_null(e->region);
    enrichment_free(e);
    report_destroy(&r);
}

static void test_enrich_deadline_and_days(void **state)
{
    struct fixture *f = *state;
    static const struct { int government; int64_t at; const char *due; int days; } cases[] = {
        {0, 1737302400, "2025-01-31", -11},      /* 2025-01-20 00:00 China time */
        {0, 1738339199, "2025-01-31", 0},        /* 2025-01-31 23:59:59 */
        {0, 1738339200, "2025-01-31", 1},        /* 2025-02-01 00:00 */
        {-1, 1738339200, "2025-01-31", 1},       /* unknown: as a department */
        {1, 1738339200, "2025-03-31", -58},
        {1, 1743393600, "2025-03-31", 0},        /* 2025-03-31 12:00 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct enrich_ctx ctx = {NULL, NULL, NULL, NULL, 2024, cases[i].government, cases[i].at, NULL};
        Reportd__Enrichment *e = xmalloc(sizeof *e);
        reportd__enrichment__init(e);
        enrich_report(&ctx, f->huaian, e);
        assert_string_equal(e->deadline, cases[i].due);
        assert_true(e->has_days_after_deadline);
        assert_int_equal(e->days_after_deadline, cases[i].days);
        enrichment_free(e);
    }
    struct enrich_ctx ctx = {NULL, NULL, NULL, NULL, 2024, 0, 0, NULL};     /* not submitted */
    Reportd__Enrichment *e = xmalloc(sizeof *e);
    reportd__enrichment__init(e);
    enrich_report(&ctx, f->huaian, e);
    assert_string_equal(e->deadline, "2025-01-31");
    assert_false(e->has_days_after_deadline);
    enrichment_free(e);
}

static void fingerprint_of(const struct fixture *f, const struct report *r, char hex[65])
{
    assert_int_equal(enrich_fingerprint((const struct evp_md_st *)f->sha256, r, hex), 0);
}

/* One report, three forms, one fingerprint. */
static void assert_forms_agree(const struct fixture *f, const struct report *r, const char *want)
{
    char hex[65], err[512];
    fingerprint_of(f, r, hex);
    assert_string_equal(hex, want);

    size_t ylen;
    char *yaml = yamlreport_write(r, &ylen);
    struct report *ry = NULL;
    if (yamlreport_read(checker_layouts(f->c), yaml, ylen, "t.yaml", &ry, err, sizeof err) < 0)
        fail_msg("%s", err);
    fingerprint_of(f, ry, hex);
    assert_string_equal(hex, want);

    size_t plen;
    uint8_t *pb = reportpb_write(ry, &plen);
    struct report *rp = NULL;
    if (reportpb_read(checker_layouts(f->c), pb, plen, &rp, err, sizeof err) < 0)
        fail_msg("%s", err);
    fingerprint_of(f, rp, hex);
    assert_string_equal(hex, want);

    struct buf canon = {0};
    enrich_canonical(rp, &canon);
    assert_true(canon.len > 12);
    assert_memory_equal(canon.data, "reportd-fp-1", 12);
    buf_free(&canon);
    free(yaml);
    free(pb);
    report_destroy(&ry);
    report_destroy(&rp);
}

static void test_enrich_fingerprint_same_across_forms(void **state)
{
    struct fixture *f = *state;
    assert_forms_agree(f, f->huaian, FP_HUAIAN);
    struct report *x = tu_read(f->c, XIANGXIANG, READER_TEXT);
    assert_forms_agree(f, x, FP_XIANGXIANG);
    report_destroy(&x);
    x = tu_read(f->c, "examples/xiangxiang-minzheng-2024.txt", READER_TEXT);
    assert_forms_agree(f, x, FP_XIANGXIANG);                 /* the in-tree copy is the same report */
    report_destroy(&x);
}

/* Every part of the content counts: a cell, its raw text, a section's text. */
static void test_enrich_fingerprint_changes_with_content(void **state)
{
    struct fixture *f = *state;
    char hex[65];
    tu_set(f->huaian, TABLE_T3, "new", "natural", "3002");
    fingerprint_of(f, f->huaian, hex);
    assert_string_not_equal(hex, FP_HUAIAN);
    tu_set(f->huaian, TABLE_T3, "new", "natural", "3001");
    fingerprint_of(f, f->huaian, hex);
    assert_string_equal(hex, FP_HUAIAN);                     /* back to the same bytes */
    tu_set(f->huaian, TABLE_T3, "new", "natural", "3 001");  /* same number, printed otherwise */
    fingerprint_of(f, f->huaian, hex);
    assert_string_not_equal(hex, FP_HUAIAN);
    tu_set(f->huaian, TABLE_T3, "new", "natural", "3001");
    char *old = f->huaian->section_text[5];
    f->huaian->section_text[5] = xstrdup("无");
    fingerprint_of(f, f->huaian, hex);
    assert_string_not_equal(hex, FP_HUAIAN);
    free(f->huaian->section_text[5]);
    f->huaian->section_text[5] = old;
    fingerprint_of(f, f->huaian, hex);
    assert_string_equal(hex, FP_HUAIAN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enrich_huaian_figures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enrich_correction_rating_thresholds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enrich_disclosure_rating_thresholds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enrich_missing_cells_leave_figures_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enrich_hongze_small_counts_unrated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enrich_region_from_name_code_or_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enrich_deadline_and_days, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enrich_fingerprint_same_across_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enrich_fingerprint_changes_with_content, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
