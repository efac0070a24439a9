/* test_badinput: every class of hostile input that reaches the core — through
 * the entry points the daemon uses (checker_run_bytes, checker_run,
 * reader_read, config_load) — gets the exact answer documented in the
 * README's bad-input table; and every input the fuzzers found is replayed
 * from tests/regress/<target>/ through the fuzzers' own entry points. Big
 * inputs are generated in memory, never committed. */
#include "testutil.h"

#include <dirent.h>
#include <unistd.h>

#include "conf/config.h"
#include "fuzz/fuzz_targets.h"
#include "read/yamlreport.h"

#define EXAMPLE "examples/xiangxiang-minzheng-2024.txt"
#define LAYOUT_NOT_UTF8 \
    "t.txt: not UTF-8 text (binary, or another encoding); expected the output of pdftotext -layout"

static char *example(size_t *len)
{
    char err[256] = "";
    char *s = util_read_file(EXAMPLE, 1u << 20, len, err, sizeof err);
    if (!s)
        fail_msg("%s", err);
    return s;
}

/* A packed Submission carrying data as a document of the given form. */
static uint8_t *pack_document(const void *data, size_t len, Reportd__DocumentForm form, size_t *outlen)
{
    Reportd__Submission sub;
    Reportd__Document d;
    reportd__submission__init(&sub);
    reportd__document__init(&d);
    sub.schema_version = 1;
    sub.submission_id = (char *)"bad-0001";
    d.data.data = (uint8_t *)data;
    d.data.len = len;
    d.has_form = 1;
    d.form = form;
    d.filename = (char *)"t.txt";
    sub.content_case = REPORTD__SUBMISSION__CONTENT_DOCUMENT;
    sub.document = &d;
    *outlen = reportd__submission__get_packed_size(&sub);
    uint8_t *b = xmalloc(*outlen);
    reportd__submission__pack(&sub, b);
    return b;
}

/* Run bytes through the checker; expect REJECTED with exactly reason. */
static void expect_rejected_bytes(const struct checker *c, const uint8_t *b, size_t len, const char *id,
                                  const char *reason)
{
    Reportd__Result *res = checker_run_bytes(c, b, len);
    assert_non_null(res);
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_REJECTED);
    assert_string_equal(res->submission_id, id);
    assert_string_equal(res->reject_reason, reason);
    assert_int_equal(res->n_findings, 0);
    checker_result_free(res);
}

static void expect_rejected_document(const struct checker *c, const void *data, size_t len,
                                     Reportd__DocumentForm form, const char *reason)
{
    size_t n;
    uint8_t *b = pack_document(data, len, form, &n);
    expect_rejected_bytes(c, b, n, "bad-0001", reason);
    free(b);
}

static void test_badinput_truncated_submission(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    size_t len, n;
    char *text = example(&len);
    uint8_t *b = pack_document(text, len, REPORTD__DOCUMENT_FORM__FORM_TEXT, &n);
    char want[128];
    /* cut inside the document bytes, and right after the first tag */
    size_t cuts[] = {n / 2, n - 1, 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        snprintf(want, sizeof want, "the request body (%zu bytes) is not a valid Submission protobuf", cuts[i]);
        expect_rejected_bytes(c, b, cuts[i], "", want);
    }
    free(b);
    free(text);
    checker_destroy(&c);
}

static void test_badinput_garbage_submission(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    expect_rejected_bytes(c, garbage, sizeof garbage, "",
                          "the request body (11 bytes) is not a valid Submission protobuf");
    /* a valid message missing its required submission_id */
    static const uint8_t no_id[] = {0x08, 0x01};
    expect_rejected_bytes(c, no_id, sizeof no_id, "",
                          "the request body (2 bytes) is not a valid Submission protobuf");
    checker_destroy(&c);
}

/* Over max_document + CHECK_MAX_PREVIOUS (room for Submission.previous) +
 * 64 KiB: refused before protobuf-c allocates anything. */
static void test_badinput_oversized_submission(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    size_t limit = (8u << 20) + CHECK_MAX_PREVIOUS + 65536, n = limit + 1;
    assert_int_equal(limit, 9502720);
    uint8_t *b = xcalloc(1, n);
    char want[128];
    snprintf(want, sizeof want, "message of %zu bytes exceeds the limit of %zu", n, limit);
    expect_rejected_bytes(c, b, n, "", want);
    free(b);
    checker_destroy(&c);
}

/* A 100 MB text document is refused by max_document before any reader runs. */
static void test_badinput_100mb_text(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    size_t n = 100u << 20;
    uint8_t *big = xmalloc(n);
    memset(big, 'a', n);
    Reportd__Submission sub;
    Reportd__Document d;
    reportd__submission__init(&sub);
    reportd__document__init(&d);
    sub.schema_version = 1;
    sub.submission_id = (char *)"bad-big";
    d.data.data = big;
    d.data.len = n;
    d.has_form = 1;
    d.form = REPORTD__DOCUMENT_FORM__FORM_TEXT;
    sub.content_case = REPORTD__SUBMISSION__CONTENT_DOCUMENT;
    sub.document = &d;
    Reportd__Result *res = checker_run(c, &sub);
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_REJECTED);
    assert_string_equal(res->submission_id, "bad-big");
    assert_string_equal(res->reject_reason, "document of 104857600 bytes exceeds the limit of 8388608");
    checker_result_free(res);
    free(big);
    checker_destroy(&c);
}

static void test_badinput_invalid_utf8_text(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    size_t len;
    char *text = example(&len);
    text[len / 2] = (char)0xff;
    static const char not_utf8[] = "t.txt: not valid UTF-8 text (or contains a NUL byte)";
    expect_rejected_document(c, text, len, REPORTD__DOCUMENT_FORM__FORM_TEXT, not_utf8);
    expect_rejected_document(c, text, len, REPORTD__DOCUMENT_FORM__FORM_YAML, not_utf8);
    expect_rejected_document(c, text, len, REPORTD__DOCUMENT_FORM__FORM_LAYOUT, LAYOUT_NOT_UTF8);
    /* undeclared form: not UTF-8, so it must be a protobuf Report — and is not */
    expect_rejected_document(c, text, len, REPORTD__DOCUMENT_FORM__FORM_UNKNOWN,
                             "t.txt: neither UTF-8 text nor a readable protobuf Report: "
                             "not a valid protobuf Report (5262 bytes)");
    free(text);
    checker_destroy(&c);
}

static void test_badinput_nul_in_text(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    size_t len;
    char *text = example(&len);
    text[100] = '\0';
    expect_rejected_document(c, text, len, REPORTD__DOCUMENT_FORM__FORM_TEXT,
                             "t.txt: not valid UTF-8 text (or contains a NUL byte)");
    expect_rejected_document(c, text, len, REPORTD__DOCUMENT_FORM__FORM_LAYOUT, LAYOUT_NOT_UTF8);
    free(text);
    checker_destroy(&c);
}

/* The YAML form of the example, written by reportd itself. */
static char *example_yaml(const struct checker *c, size_t *len)
{
    struct report *r = tu_read(c, EXAMPLE, READER_TEXT);
    char *y = yamlreport_write(r, len);
    report_destroy(&r);
    return y;
}

/* "\0" is a legal YAML escape: the scalar would end at the NUL for C. */
static void test_badinput_nul_in_yaml_string(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    size_t len;
    char *y = example_yaml(c, &len);
    const char *title = strstr(y, "title: \"") + strlen("title: \"");
    struct buf b = {0};
    buf_append(&b, y, (size_t)(title - y));
    buf_puts(&b, "\\0");
    buf_append(&b, title, len - (size_t)(title - y));
    expect_rejected_document(c, b.data, b.len, REPORTD__DOCUMENT_FORM__FORM_YAML,
                             "t.txt:3:8: a NUL character inside a string (\\0) is not accepted");
    buf_free(&b);
    free(y);
    checker_destroy(&c);
}

/* A Submission whose body name hides a NUL (or an invalid byte) behind a
 * valid prefix: protobuf-c would hand on a C string cut at the NUL, so the
 * wire bytes are checked before unpacking (pbguard). */
static void hidden_in_name(uint8_t byte, const char *why)
{
    struct checker *c = tu_checker();
    size_t len, n;
    char *text = example(&len);
    Reportd__Submission sub;
    Reportd__Document d;
    Reportd__Body body;
    reportd__submission__init(&sub);
    reportd__document__init(&d);
    reportd__body__init(&body);
    sub.schema_version = 1;
    sub.submission_id = (char *)"bad-0001";
    body.name = (char *)"湘乡市民政局XEVIL";
    sub.body = &body;
    d.data.data = (uint8_t *)text;
    d.data.len = len;
    d.has_form = 1;
    d.form = REPORTD__DOCUMENT_FORM__FORM_TEXT;
    sub.content_case = REPORTD__SUBMISSION__CONTENT_DOCUMENT;
    sub.document = &d;
    n = reportd__submission__get_packed_size(&sub);
    uint8_t *b = xmalloc(n);
    reportd__submission__pack(&sub, b);
    uint8_t *mark = memmem(b, n, "XEVIL", 5);
    assert_non_null(mark);
    *mark = byte;
    char want[256];
    snprintf(want, sizeof want, "the request body (%zu bytes) is not a valid Submission protobuf: "
             "Submission.body.name (byte 16): %s", n, why);
    expect_rejected_bytes(c, b, n, "", want);
    free(b);
    free(text);
    checker_destroy(&c);
}

static void test_badinput_nul_in_protobuf_string(void **state)
{
    (void)state;
    hidden_in_name(0, "a NUL character inside a string is not accepted");
}

static void test_badinput_invalid_utf8_in_protobuf_string(void **state)
{
    (void)state;
    hidden_in_name(0xff, "not valid UTF-8");
}

/* A web-page dump whose T3 has 10,000 rows: refused with the count, quickly. */
static void test_badinput_10000_rows(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct buf t = {0};
    buf_puts(&t, "某某局2024年政府信息公开工作年度报告\n\n三、收到和处理政府信息公开申请情况\n\n");
    for (int i = 0; i < 10000; i++)
        buf_puts(&t, "\t（一）予以公开\n\t1\n\t2\n\t3\n\t4\n\t5\n\t6\n\t7\n\n");
    buf_puts(&t, "四、政府信息公开行政复议、行政诉讼情况\n");
    expect_rejected_document(c, t.data, t.len, REPORTD__DOCUMENT_FORM__FORM_TEXT,
                             "t.txt:5: T3: found 10000 rows of 7 cells, expected 25 (2021 layout) "
                             "or 23 (2019 layout)");
    buf_free(&t);
    checker_destroy(&c);
}

/* The same 10,000 rows as a structured Report (70,000 cells) and in the YAML form. */
static void test_badinput_10000_rows_structured(void **state)
{
    (void)state;
    static const char *const cols[] = {"natural", "commercial", "research", "nonprofit", "legal", "other", "total"};
    struct checker *c = tu_checker();
    size_t ncells = 10000 * 7;
    Reportd__Cell *cells = xcalloc(ncells, sizeof *cells);
    Reportd__Cell **pcells = xcalloc(ncells, sizeof *pcells);
    struct buf y = {0};
    buf_puts(&y, "report: 1\nlayout: 2021\ntables:\n- id: T3\n  layout: 2021\n  cells:\n");
    for (size_t i = 0; i < ncells; i++) {
        reportd__cell__init(&cells[i]);
        cells[i].row = (char *)"new";
        cells[i].column = (char *)cols[i % 7];
        cells[i].state = REPORTD__CELL_STATE__CELL_NUMBER;
        cells[i].has_count = 1;
        cells[i].count = 1;
        pcells[i] = &cells[i];
        buf_printf(&y, "  - {row: new, column: %s, state: number, count: 1}\n", cols[i % 7]);
    }
    Reportd__Table t3;
    reportd__table__init(&t3);
    t3.id = (char *)"T3";
    t3.layout = 2021;
    t3.n_cells = ncells;
    t3.cells = pcells;
    Reportd__Table *tables[] = {&t3};
    Reportd__Report rep;
    reportd__report__init(&rep);
    rep.layout = 2021;
    rep.n_tables = 1;
    rep.tables = tables;
    Reportd__Submission sub;
    reportd__submission__init(&sub);
    sub.schema_version = 1;
    sub.submission_id = (char *)"bad-rows";
    sub.content_case = REPORTD__SUBMISSION__CONTENT_REPORT;
    sub.report = &rep;
    size_t n = reportd__submission__get_packed_size(&sub);
    uint8_t *b = xmalloc(n);
    reportd__submission__pack(&sub, b);
    expect_rejected_bytes(c, b, n, "bad-rows", "T3 new × natural: cell given twice");
    free(b);
    expect_rejected_document(c, y.data, y.len, REPORTD__DOCUMENT_FORM__FORM_YAML, "t.txt: more than 100000 YAML nodes");
    buf_free(&y);
    free(pcells);
    free(cells);
    checker_destroy(&c);
}

static const char yaml_bomb[] =
    "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
    "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
    "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n";

static void test_badinput_yaml_alias_bomb_report(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct buf b = {0};
    buf_puts(&b, "report: 1\nlayout: 2021\n");
    buf_puts(&b, yaml_bomb);
    expect_rejected_document(c, b.data, b.len, REPORTD__DOCUMENT_FORM__FORM_YAML,
                             "t.txt:3:4: YAML aliases are not accepted here");
    /* detected as YAML from "report: 1" */
    expect_rejected_document(c, b.data, b.len, REPORTD__DOCUMENT_FORM__FORM_UNKNOWN,
                             "t.txt:3:4: YAML aliases are not accepted here");
    buf_free(&b);
    checker_destroy(&c);
}

/* Load a config text; the error from the line number on (the temp name cut). */
static const char *config_error(const char *text)
{
    static char err[512];
    char path[] = "/tmp/test_badinput.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct config cfg;
    config_defaults(&cfg);
    err[0] = '\0';
    int rc = config_load(&cfg, path, err, sizeof err);
    config_free(&cfg);
    unlink(path);
    if (rc == 0)
        return NULL;
    assert_memory_equal(err, path, strlen(path));
    return err + strlen(path) + 1;
}

/* libyaml's document API shares aliased nodes (nothing is expanded); the
 * config loads through ydoc, which refuses any alias, as the layouts and the
 * YAML report form do. */
static void test_badinput_yaml_alias_bomb_config(void **state)
{
    (void)state;
    const char *e = config_error(yaml_bomb);
    assert_non_null(e);
    assert_string_equal(e, "1:4: YAML aliases are not accepted here");
    /* behind real keys: an anchored severity; a list that contains itself */
    e = config_error("rules:\n  severity:\n    R-S3-ROWSUM: &s error\n    R-S4-SUM: *s\n");
    assert_non_null(e);
    assert_string_equal(e, "3:18: YAML aliases are not accepted here");
    e = config_error("alerts:\n  statuses: &l [FAIL, &m [*l, *l]]\n");
    assert_non_null(e);
    assert_string_equal(e, "2:13: YAML aliases are not accepted here");
    /* without aliases, a nested list is named as what it is */
    e = config_error("alerts:\n  statuses: [FAIL, [PASS]]\n");
    assert_non_null(e);
    assert_string_equal(e, "2:20: alerts.statuses: (not a scalar) is not PASS, WARN, FAIL or REJECTED");
}

static void test_badinput_config_unknown_keys(void **state)
{
    (void)state;
    assert_string_equal(config_error("broker:\n  bind: tcp://127.0.0.1:5555\n  bindd: x\n"),
                        "3:3: unknown key broker.bindd");
    assert_string_equal(config_error("# reportd\nlimitz:\n  max_message: 1024\n"),
                        "2:1: unknown key limitz");
    assert_string_equal(config_error("limits:\n  max_message: 2048\n  max_rows: 10\n"),
                        "3:3: unknown key limits.max_rows");
}

/* Every input the fuzzers kept (tests/regress/<target>/) through the
 * fuzzers' own entry points. */
static int replay_one(const struct checker *c, const char *target, const uint8_t *d, size_t n)
{
    static const struct {
        const char *name;
        enum reader_form form;
    } readers[] = {{"text", READER_TEXT}, {"layout", READER_LAYOUT}, {"flat", READER_FLAT},
                   {"yaml", READER_YAML}, {"pb", READER_PROTOBUF}, {"html", READER_HTML},
                   {"pdf", READER_PDF}};
    if (!strcmp(target, "submission"))
        return fuzz_submission(c, d, n);
    if (!strcmp(target, "config"))
        return fuzz_config(d, n);
    if (!strcmp(target, "mdp"))
        return fuzz_mdp(d, n);
    if (!strcmp(target, "envelope"))
        return fuzz_envelope(d, n);
    if (!strcmp(target, "digitsplit"))
        return fuzz_digitsplit(c, d, n);
    for (size_t i = 0; i < sizeof readers / sizeof readers[0]; i++)
        if (!strcmp(target, readers[i].name))
            return fuzz_reader(c, readers[i].form, d, n);
    fail_msg("tests/regress/%s: no fuzz target of that name", target);
    return -1;
}

static void test_badinput_regressions_replay(void **state)
{
    (void)state;
    struct checker *c = fuzz_checker_new();
    assert_non_null(c);
    DIR *top = opendir("tests/regress");
    assert_non_null(top);
    int replayed = 0;
    for (struct dirent *t; (t = readdir(top));) {
        if (t->d_name[0] == '.')
            continue;
        char *dir = xasprintf("tests/regress/%s", t->d_name);
        DIR *dd = opendir(dir);
        assert_non_null(dd);
        for (struct dirent *f; (f = readdir(dd));) {
            if (f->d_name[0] == '.')
                continue;
            char *path = xasprintf("%s/%s", dir, f->d_name), err[256] = "";
            size_t n;
            char *data = util_read_file(path, FUZZ_MAX_INPUT, &n, err, sizeof err);
            if (!data)
                fail_msg("%s", err);
            if (replay_one(c, t->d_name, (const uint8_t *)data, n) != 0)
                fail_msg("%s: the answer breaks an invariant", path);
            replayed++;
            free(data);
            free(path);
        }
        closedir(dd);
        free(dir);
    }
    closedir(top);
    print_message("replayed %d regression inputs\n", replayed);
    assert_true(replayed > 0);
    checker_destroy(&c);
}

/* Issue 9 item 12: an unreadable document from a known submitter is REJECTED
 * with the envelope kept — name, region, year — so its Result and Alert reach
 * the subscribers of its region (result.43.4303.430381), not result.unknown. */
static void test_badinput_rejected_keeps_submitter(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    Reportd__Submission sub = REPORTD__SUBMISSION__INIT;
    Reportd__Body body = REPORTD__BODY__INIT;
    Reportd__Document d = REPORTD__DOCUMENT__INIT;
    static const uint8_t junk[] = {0xff, 0xfe, 0x00, 0x41};
    sub.schema_version = 1;
    sub.submission_id = (char *)"bad-0002";
    body.name = (char *)"湘乡市民政局";
    body.region_code = (char *)"430381";
    body.has_kind = 1;
    body.kind = REPORTD__BODY_KIND__BODY_DEPARTMENT;
    sub.body = &body;
    sub.has_year = 1;
    sub.year = 2024;
    d.data.data = (uint8_t *)junk;
    d.data.len = sizeof junk;
    d.has_form = 1;
    d.form = REPORTD__DOCUMENT_FORM__FORM_TEXT;
    d.filename = (char *)"t.txt";
    sub.content_case = REPORTD__SUBMISSION__CONTENT_DOCUMENT;
    sub.document = &d;
    size_t n = reportd__submission__get_packed_size(&sub);
    uint8_t *b = xmalloc(n);
    reportd__submission__pack(&sub, b);
    Reportd__Result *res = checker_run_bytes(c, b, n);
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_REJECTED);
    assert_string_equal(res->reject_reason,
                        "t.txt: not valid UTF-8 text (or contains a NUL byte)");
    assert_non_null(res->body);
    assert_string_equal(res->body->name, "湘乡市民政局");
    assert_string_equal(res->body->region_code, "430381");
    assert_true(res->body->has_kind);
    assert_int_equal(res->body->kind, REPORTD__BODY_KIND__BODY_DEPARTMENT);
    assert_true(res->has_year);
    assert_int_equal(res->year, 2024);
    assert_non_null(res->enrichment);
    assert_non_null(res->enrichment->region);
    assert_string_equal(res->enrichment->region->code, "430381");
    assert_string_equal(res->enrichment->region->prefecture_code, "4303");
    Reportd__Alert *a = checker_alert(res);
    assert_non_null(a->body);
    assert_string_equal(a->body->name, "湘乡市民政局");
    assert_non_null(a->region);
    assert_string_equal(a->region->code, "430381");
    assert_int_equal(a->year, 2024);
    checker_alert_free(a);
    checker_result_free(res);
    free(b);
    checker_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_badinput_truncated_submission),
        cmocka_unit_test(test_badinput_garbage_submission),
        cmocka_unit_test(test_badinput_oversized_submission),
        cmocka_unit_test(test_badinput_100mb_text),
        cmocka_unit_test(test_badinput_invalid_utf8_text),
        cmocka_unit_test(test_badinput_nul_in_text),
        cmocka_unit_test(test_badinput_nul_in_yaml_string),
        cmocka_unit_test(test_badinput_nul_in_protobuf_string),
        cmocka_unit_test(test_badinput_invalid_utf8_in_protobuf_string),
        cmocka_unit_test(test_badinput_10000_rows),
        cmocka_unit_test(test_badinput_10000_rows_structured),
        cmocka_unit_test(test_badinput_yaml_alias_bomb_report),
        cmocka_unit_test(test_badinput_yaml_alias_bomb_config),
        cmocka_unit_test(test_badinput_config_unknown_keys),
        cmocka_unit_test(test_badinput_regressions_replay),
        cmocka_unit_test(test_badinput_rejected_keeps_submitter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
