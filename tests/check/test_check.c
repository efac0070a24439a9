/* test_check: the pipeline the daemon and reportctl share — a Submission
 * (a document, or a structured Report) in, a Result out: status, rule ids in
 * order, the envelope carried through, REJECTED reasons with the envelope
 * kept, severity overrides, and the Alert built from a Result. Real reports
 * in ../shared/reports, read in place. (Hostile bytes: test_badinput.c.) */
#include "testutil.h"

#include "read/reportpb.h"

#define HUAIAN SHARED_REPORTS "huaian-2024.layout.txt"
#define HONGZE SHARED_REPORTS "hongze-2023.layout.txt"
#define XIANGXIANG SHARED_REPORTS "xiangxiang-minzheng-2024.txt"

/* 湘乡's findings, in the order the rules give them. */
static const struct { const char *rule; Reportd__Severity sev; const char *row, *col; } XIANGXIANG_FINDINGS[] = {
    {"R-CELL-MISSING", REPORTD__SEVERITY__SEV_WARNING, "refused.enforcement_file", "nonprofit"},
    {"R-CELL-MISSING", REPORTD__SEVERITY__SEV_WARNING, "refused.enforcement_file", "legal"},
    {"R-S3-ROWSUM", REPORTD__SEVERITY__SEV_ERROR, "new", ""},
    {"R-S3-ROWSUM", REPORTD__SEVERITY__SEV_ERROR, "granted", ""},
    {"R-S3-ROWSUM", REPORTD__SEVERITY__SEV_ERROR, "refused.third_party", ""},
    {"R-S3-ROWSUM", REPORTD__SEVERITY__SEV_ERROR, "total", ""},
    {"R-S3-RESULTSUM", REPORTD__SEVERITY__SEV_ERROR, "", "nonprofit"},
    {"R-S6-FEE", REPORTD__SEVERITY__SEV_NOTICE, "", ""},
};
#define NX (sizeof XIANGXIANG_FINDINGS / sizeof XIANGXIANG_FINDINGS[0])

struct sub {
    Reportd__Submission s;
    Reportd__Body body;
    Reportd__Document doc;
    char *data;
};

/* A Submission of file as a document of form, by 湘乡市民政局 (or no body). */
static void sub_document(struct sub *x, const char *file, Reportd__DocumentForm form, int with_body)
{
    size_t len;
    memset(x, 0, sizeof *x);
    reportd__submission__init(&x->s);
    reportd__body__init(&x->body);
    reportd__document__init(&x->doc);
    x->data = tu_slurp(file, &len);
    x->s.schema_version = 1;
    x->s.submission_id = (char *)"sub-0001";
    if (with_body) {
        x->body.name = (char *)"湘乡市民政局";
        x->body.region_code = (char *)"430381";
        x->body.has_kind = 1;
        x->body.kind = REPORTD__BODY_KIND__BODY_DEPARTMENT;
        x->s.body = &x->body;
    }
    x->s.has_year = 1;
    x->s.year = 2024;
    x->s.has_submitted_at = 1;
    x->s.submitted_at = 1737302400;          /* 2025-01-20, before the deadline */
    x->doc.data.data = (uint8_t *)x->data;
    x->doc.data.len = len;
    x->doc.has_form = 1;
    x->doc.form = form;
    x->doc.filename = (char *)"report.txt";
    x->s.content_case = REPORTD__SUBMISSION__CONTENT_DOCUMENT;
    x->s.document = &x->doc;
}

static void sub_free(struct sub *x)
{
    free(x->data);
}

static void assert_xiangxiang_findings(const Reportd__Result *res)
{
    if (res->n_findings != NX) {
        tu_dump(res);
        fail_msg("%zu findings, want %zu", res->n_findings, NX);
    }
    for (size_t i = 0; i < NX; i++) {
        const Reportd__Finding *f = res->findings[i];
        assert_string_equal(f->rule, XIANGXIANG_FINDINGS[i].rule);
        assert_int_equal(f->severity, XIANGXIANG_FINDINGS[i].sev);
        assert_string_equal(f->row, XIANGXIANG_FINDINGS[i].row);
        assert_string_equal(f->column, XIANGXIANG_FINDINGS[i].col);
    }
}

static void test_check_document_to_result(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct sub x;
    sub_document(&x, XIANGXIANG, REPORTD__DOCUMENT_FORM__FORM_TEXT, 1);
    Reportd__Result *res = checker_run(c, &x.s);
    assert_int_equal(res->schema_version, 1);
    assert_string_equal(res->submission_id, "sub-0001");
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_FAIL);
    assert_null(res->reject_reason);
    assert_string_equal(res->ruleset_version, checker_ruleset_version());
    assert_string_equal(res->ruleset_version, "reportd-rules-1 (report-format.md, layouts 2021+2019)");
    assert_true(res->has_layout && res->layout == 2021);
    assert_true(res->has_year && res->year == 2024);
    assert_true(res->has_processing_us);
    assert_string_equal(res->body->name, "湘乡市民政局");
    assert_string_equal(res->body->region_code, "430381");
    assert_int_equal(res->body->kind, REPORTD__BODY_KIND__BODY_DEPARTMENT);
    assert_xiangxiang_findings(res);
    /* the finding carries its cells with labels */
    const Reportd__Finding *m = res->findings[0];
    assert_string_equal(m->table, "T3");
    assert_int_equal(m->n_cells, 1);
    assert_string_equal(m->cells[0]->row_label, "7.属于行政执法案卷");
    assert_string_equal(m->cells[0]->column_label, "法人或其他组织 社会公益组织");
    assert_string_equal(res->enrichment->deadline, "2025-01-31");
    assert_int_equal(res->enrichment->days_after_deadline, -11);
    assert_string_equal(res->enrichment->region->county, "湘乡市");
    checker_result_free(res);

    /* submitted after 31 January: R-DEADLINE joins, as a warning */
    x.s.submitted_at = 1738339200 + 2 * 86400;          /* 2025-02-03 */
    res = checker_run(c, &x.s);
    assert_int_equal(tu_count(res, "R-DEADLINE", NULL, NULL), 1);
    assert_int_equal(tu_find(res, "R-DEADLINE", NULL, NULL)->severity, REPORTD__SEVERITY__SEV_WARNING);
    assert_int_equal(res->enrichment->days_after_deadline, 3);
    checker_result_free(res);
    sub_free(&x);
    checker_destroy(&c);
}

/* Without a body in the envelope: the name from the title, the kind from the
 * name, the region guessed from the name; the form detected. */
static void test_check_envelope_defaults_from_the_report(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct sub x;
    sub_document(&x, HUAIAN, REPORTD__DOCUMENT_FORM__FORM_UNKNOWN, 0);
    x.s.has_year = 0;
    Reportd__Result *res = checker_run(c, &x.s);
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_PASS);
    assert_int_equal(res->n_findings, 0);
    assert_true(res->has_year && res->year == 2024);       /* from the title */
    assert_string_equal(res->body->name, "淮安市人民政府");
    assert_int_equal(res->body->kind, REPORTD__BODY_KIND__BODY_GOVERNMENT);
    assert_string_equal(res->body->region_code, "320800");
    assert_string_equal(res->enrichment->deadline, "2025-03-31");
    checker_result_free(res);
    sub_free(&x);
    checker_destroy(&c);
}

/* The kind of body from its name: a division's own name (平潭综合实验区, a
 * special zone's whole government) is due 31 March like …人民政府; a
 * department (…局) 31 January. */
static void test_check_kind_from_the_name(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct sub x;
    sub_document(&x, SHARED_REPORTS "pingtan-2023.page.txt", REPORTD__DOCUMENT_FORM__FORM_UNKNOWN, 0);
    x.s.has_year = 0;                                       /* the year from the title */
    Reportd__Result *res = checker_run(c, &x.s);
    assert_string_equal(res->body->name, "平潭综合实验区");
    assert_int_equal(res->body->kind, REPORTD__BODY_KIND__BODY_GOVERNMENT);
    assert_string_equal(res->enrichment->deadline, "2024-03-31");
    checker_result_free(res);
    sub_free(&x);
    sub_document(&x, SHARED_REPORTS "shuyang-fgj-2023.html", REPORTD__DOCUMENT_FORM__FORM_UNKNOWN, 0);
    x.s.has_year = 0;
    res = checker_run(c, &x.s);
    assert_string_equal(res->body->name, "沭阳县发展和改革局");
    assert_int_equal(res->body->kind, REPORTD__BODY_KIND__BODY_DEPARTMENT);
    assert_string_equal(res->enrichment->deadline, "2024-01-31");
    checker_result_free(res);
    sub_free(&x);
    checker_destroy(&c);
}

/* The same report as a document and as a structured Report: the same Result. */
static void test_check_structured_report_same_result(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    const char *files[] = {XIANGXIANG, HONGZE};
    Reportd__DocumentForm forms[] = {REPORTD__DOCUMENT_FORM__FORM_TEXT, REPORTD__DOCUMENT_FORM__FORM_LAYOUT};
    for (int i = 0; i < 2; i++) {
        struct sub x;
        sub_document(&x, files[i], forms[i], 1);
        Reportd__Result *a = checker_run(c, &x.s);
        struct report *r = tu_read(c, files[i], (enum reader_form)forms[i]);
        x.s.content_case = REPORTD__SUBMISSION__CONTENT_REPORT;
        x.s.report = reportpb_from_report(r);
        Reportd__Result *b = checker_run(c, &x.s);
        assert_int_equal(b->status, REPORTD__STATUS__STATUS_FAIL);
        tu_same_result(a, b);
        protobuf_c_message_free_unpacked(&x.s.report->base, NULL);
        report_destroy(&r);
        checker_result_free(a);
        checker_result_free(b);
        sub_free(&x);
    }
    checker_destroy(&c);
}

static void expect_rejected(const struct checker *c, const Reportd__Submission *s, const char *reason)
{
    Reportd__Result *res = checker_run(c, s);
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_REJECTED);
    assert_string_equal(res->submission_id, "sub-0001");
    assert_string_equal(res->reject_reason, reason);
    assert_int_equal(res->n_findings, 0);
    assert_false(res->has_layout);
    /* the envelope is kept, so the rejection reaches the region's subscribers */
    assert_string_equal(res->body->name, "湘乡市民政局");
    assert_string_equal(res->body->region_code, "430381");
    assert_string_equal(res->enrichment->region->county, "湘乡市");
    assert_true(res->has_year && res->year == 2024);
    assert_null(res->enrichment->fingerprint);
    checker_result_free(res);
}

static void test_check_rejected_reasons(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct sub x;
    sub_document(&x, XIANGXIANG, REPORTD__DOCUMENT_FORM__FORM_TEXT, 1);

    x.s.schema_version = 2;
    expect_rejected(c, &x.s, "unsupported Submission schema_version 2 (this reportd speaks 1)");
    x.s.schema_version = 1;

    x.doc.form = REPORTD__DOCUMENT_FORM__FORM_LAYOUT;      /* a text dump is no pdftotext output */
    expect_rejected(c, &x.s, "report.txt:78: T3: found 173 rows of numbers, 173 of them not of 7, "
                             "expected 25 or 23; one number a line: a web-page text dump, not pdftotext -layout?");
    x.doc.form = REPORTD__DOCUMENT_FORM__FORM_TEXT;

    x.s.content_case = REPORTD__SUBMISSION__CONTENT__NOT_SET;
    expect_rejected(c, &x.s, "the Submission carries neither a report nor a document");
    x.s.content_case = REPORTD__SUBMISSION__CONTENT_DOCUMENT;

    Reportd__Report rep;                                  /* a Report with an unknown layout */
    Reportd__Table t;
    Reportd__Table *tv[1] = {&t};
    reportd__report__init(&rep);
    reportd__table__init(&t);
    rep.layout = 2021;
    t.id = (char *)"T3";
    t.layout = 1999;
    rep.n_tables = 1;
    rep.tables = tv;
    x.s.content_case = REPORTD__SUBMISSION__CONTENT_REPORT;
    x.s.report = &rep;
    expect_rejected(c, &x.s, "T3: unknown layout 1999");
    x.s.content_case = REPORTD__SUBMISSION__CONTENT_DOCUMENT;
    sub_free(&x);
    checker_destroy(&c);

    /* a document over the checker's limit */
    c = checker_new(&(struct checker_options){.datadir = "config", .max_document = 1000}, NULL, 0);
    assert_non_null(c);
    sub_document(&x, XIANGXIANG, REPORTD__DOCUMENT_FORM__FORM_TEXT, 1);
    char want[128];
    snprintf(want, sizeof want, "document of %zu bytes exceeds the limit of 1000", x.doc.data.len);
    expect_rejected(c, &x.s, want);
    sub_free(&x);
    checker_destroy(&c);
}

/* checker_rejected alone: no envelope, no enrichment. */
static void test_check_rejected_bare(void **state)
{
    (void)state;
    Reportd__Result *res = checker_rejected(NULL, "why");
    assert_string_equal(res->submission_id, "");
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_REJECTED);
    assert_string_equal(res->reject_reason, "why");
    assert_null(res->body);
    assert_null(res->enrichment);
    Reportd__Alert *a = checker_alert(res);
    assert_int_equal(a->status, REPORTD__STATUS__STATUS_REJECTED);
    assert_string_equal(a->submission_id, "");
    assert_null(a->body);
    assert_null(a->region);
    assert_int_equal(a->errors + a->warnings + a->notices, 0);
    assert_int_equal(a->n_top_findings, 0);
    checker_alert_free(a);
    checker_result_free(res);
}

/* Severity overrides decide the status: 湘乡 with its errors made notices. */
static void test_check_severity_overrides(void **state)
{
    (void)state;
    const char *rules[] = {"R-S3-ROWSUM", "R-S3-RESULTSUM", "R-CELL-MISSING"};
    int sev[] = {0, 0, 1};
    struct checker *c = checker_new(&(struct checker_options){.datadir = "config", .override_rules = rules,
                                                              .override_severities = sev, .noverrides = 2},
                                    NULL, 0);
    assert_non_null(c);
    struct sub x;
    sub_document(&x, XIANGXIANG, REPORTD__DOCUMENT_FORM__FORM_TEXT, 1);
    Reportd__Result *res = checker_run(c, &x.s);
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_WARN);   /* R-CELL-MISSING still warns */
    assert_int_equal(tu_count_severity(res, REPORTD__SEVERITY__SEV_ERROR), 0);
    assert_int_equal(tu_count_severity(res, REPORTD__SEVERITY__SEV_WARNING), 2);
    assert_int_equal(tu_count_severity(res, REPORTD__SEVERITY__SEV_NOTICE), 6);
    checker_result_free(res);
    checker_destroy(&c);

    int all_notice[] = {0, 0, 0};
    c = checker_new(&(struct checker_options){.datadir = "config", .override_rules = rules,
                                              .override_severities = all_notice, .noverrides = 3},
                    NULL, 0);
    res = checker_run(c, &x.s);
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_PASS);   /* only notices left */
    assert_int_equal(res->n_findings, NX);
    checker_result_free(res);
    checker_destroy(&c);
    sub_free(&x);
}

static void test_check_alert_from_result(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct sub x;
    sub_document(&x, XIANGXIANG, REPORTD__DOCUMENT_FORM__FORM_TEXT, 1);
    Reportd__Result *res = checker_run(c, &x.s);
    Reportd__Alert *a = checker_alert(res);
    assert_int_equal(a->schema_version, 1);
    assert_string_equal(a->submission_id, "sub-0001");
    assert_int_equal(a->status, REPORTD__STATUS__STATUS_FAIL);
    assert_string_equal(a->body->name, "湘乡市民政局");
    assert_int_equal(a->body->kind, REPORTD__BODY_KIND__BODY_DEPARTMENT);
    assert_string_equal(a->region->code, "430381");
    assert_string_equal(a->region->province, "湖南省");
    assert_string_equal(a->region->prefecture_code, "4303");
    assert_true(a->has_year && a->year == 2024);
    assert_int_equal(a->errors, 5);
    assert_int_equal(a->warnings, 2);
    assert_int_equal(a->notices, 1);
    /* at most five, errors first, in the Result's order */
    assert_int_equal(a->n_top_findings, 5);
    static const char *const top_rows[] = {"new", "granted", "refused.third_party", "total", ""};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(a->top_findings[i]->severity, REPORTD__SEVERITY__SEV_ERROR);
        assert_string_equal(a->top_findings[i]->rule, i < 4 ? "R-S3-ROWSUM" : "R-S3-RESULTSUM");
        assert_string_equal(a->top_findings[i]->row, top_rows[i]);
        assert_string_equal(a->top_findings[i]->message_zh, res->findings[i + 2]->message_zh);
        assert_string_equal(a->top_findings[i]->expected, res->findings[i + 2]->expected);
        assert_string_equal(a->top_findings[i]->actual, res->findings[i + 2]->actual);
        assert_string_equal(a->top_findings[i]->table, res->findings[i + 2]->table);
        /* the cell lists stay in the Result: the Alert says what is wrong briefly */
        assert_true(res->findings[i + 2]->n_cells > 0);
        assert_true(i < 4 || res->findings[i + 2]->n_missing > 0);   /* the column over blanks */
        assert_int_equal(a->top_findings[i]->n_cells, 0);
        assert_int_equal(a->top_findings[i]->n_missing, 0);
        assert_null(a->top_findings[i]->message_en);
    }
    size_t packed = reportd__alert__get_packed_size(a);
    if (packed > 1024)
        fail_msg("湘乡's Alert is %zu bytes packed, more than 1 KiB", packed);
    checker_alert_free(a);
    checker_result_free(res);

    /* 洪泽: 3 errors then its warning fill the five */
    struct sub h;
    sub_document(&h, HONGZE, REPORTD__DOCUMENT_FORM__FORM_LAYOUT, 0);
    res = checker_run(c, &h.s);
    a = checker_alert(res);
    assert_int_equal(a->errors, 3);
    assert_int_equal(a->warnings, 1);
    assert_int_equal(a->n_top_findings, 4);
    assert_string_equal(a->top_findings[0]->rule, "R-STRUCT-VERSION");
    assert_string_equal(a->top_findings[1]->rule, "R-S4-SUM");
    assert_string_equal(a->top_findings[2]->rule, "R-S4-SUM");
    assert_string_equal(a->top_findings[3]->rule, "R-STRUCT-LABEL");
    assert_string_equal(a->region->county, "洪泽区");
    assert_true(a->has_year && a->year == 2024);            /* the envelope's year wins */
    checker_alert_free(a);
    checker_result_free(res);
    sub_free(&h);
    sub_free(&x);
    checker_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_document_to_result),
        cmocka_unit_test(test_check_envelope_defaults_from_the_report),
        cmocka_unit_test(test_check_kind_from_the_name),
        cmocka_unit_test(test_check_structured_report_same_result),
        cmocka_unit_test(test_check_rejected_reasons),
        cmocka_unit_test(test_check_rejected_bare),
        cmocka_unit_test(test_check_severity_overrides),
        cmocka_unit_test(test_check_alert_from_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
