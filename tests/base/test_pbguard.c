/* test_pbguard: untrusted Submission bytes — a NUL hidden in a string, invalid
 * UTF-8 in a nested string, and a message whose unpacking would blow up in
 * memory are refused with the field and byte; real submissions (a document,
 * a structured Report) pass within the budget. */
#include "testutil.h"

#include "base/pbguard.h"
#include "read/reportpb.h"

#define SID "6f9619ff-8b86-4011-b42d-00c04fc964ff"

static uint8_t *pack_sub(const Reportd__Submission *s, size_t *len)
{
    *len = reportd__submission__get_packed_size(s);
    uint8_t *buf = xmalloc(*len);
    reportd__submission__pack(s, buf);
    return buf;
}

/* Submission {schema_version 1, submission_id sid[0..n)} by hand: protobuf-c
 * itself would stop a C string at its NUL. */
static size_t wire_sub(uint8_t *out, const char *sid, size_t n)
{
    size_t k = 0;
    out[k++] = 0x08;
    out[k++] = 0x01;
    out[k++] = 0x12;
    out[k++] = (uint8_t)n;
    memcpy(out + k, sid, n);
    return k + n;
}

static void test_pbguard_hidden_nul_refused(void **state)
{
    (void)state;
    uint8_t buf[64];
    char err[256];
    size_t len = wire_sub(buf, "a\0b", 3);
    /* what protobuf-c alone makes of it: "a" — another submission's id */
    Reportd__Submission *s = reportd__submission__unpack(NULL, len, buf);
    assert_non_null(s);
    assert_string_equal(s->submission_id, "a");
    reportd__submission__free_unpacked(s, NULL);
    assert_null(pbguard_unpack(&reportd__submission__descriptor, buf, len, PBGUARD_BUDGET(len),
                               err, sizeof err));
    assert_string_equal(err, "Submission.submission_id (byte 4): a NUL character inside a string "
                             "is not accepted");
    /* the worker's answer */
    struct checker *c = tu_checker();
    Reportd__Result *r = checker_run_bytes(c, buf, len);
    assert_int_equal(r->status, REPORTD__STATUS__STATUS_REJECTED);
    assert_string_equal(r->reject_reason,
                        "the request body (7 bytes) is not a valid Submission protobuf: "
                        "Submission.submission_id (byte 4): a NUL character inside a string is "
                        "not accepted");
    checker_result_free(r);
    checker_destroy(&c);
}

static void test_pbguard_nested_invalid_utf8_refused(void **state)
{
    (void)state;
    Reportd__Submission s = REPORTD__SUBMISSION__INIT;
    Reportd__Body body = REPORTD__BODY__INIT;
    s.schema_version = 1;
    s.submission_id = (char *)SID;
    body.name = (char *)"\xe6\xb9\x98\xff";     /* 湘 then a stray byte */
    s.body = &body;
    size_t len;
    uint8_t *buf = pack_sub(&s, &len);
    char err[256];
    assert_null(pbguard_unpack(&reportd__submission__descriptor, buf, len, PBGUARD_BUDGET(len),
                               err, sizeof err));
    /* 2 + 2+36 bytes before Body; its name field's bytes start 2 further */
    assert_string_equal(err, "Submission.body.name (byte 44): not valid UTF-8");
    free(buf);
}

static void test_pbguard_memory_budget(void **state)
{
    (void)state;
    /* 200,000 minimal cells: 8 wire bytes each, ~84 bytes each unpacked */
    enum { NCELLS = 200000 };
    Reportd__Cell cell = REPORTD__CELL__INIT;
    cell.row = (char *)"";
    cell.column = (char *)"";
    Reportd__Cell **cells = xcalloc(NCELLS, sizeof *cells);
    for (int i = 0; i < NCELLS; i++)
        cells[i] = &cell;
    Reportd__Table t = REPORTD__TABLE__INIT;
    t.id = (char *)"T3";
    t.layout = 2021;
    t.n_cells = NCELLS;
    t.cells = cells;
    Reportd__Table *tables[] = {&t};
    Reportd__Report rep = REPORTD__REPORT__INIT;
    rep.layout = 2021;
    rep.n_tables = 1;
    rep.tables = tables;
    Reportd__Submission s = REPORTD__SUBMISSION__INIT;
    s.schema_version = 1;
    s.submission_id = (char *)SID;
    s.content_case = REPORTD__SUBMISSION__CONTENT_REPORT;
    s.report = &rep;
    size_t len;
    uint8_t *buf = pack_sub(&s, &len);
    free(cells);
    char err[256], want[256];
    assert_true(len < 2000000);
    assert_null(pbguard_unpack(&reportd__submission__descriptor, buf, len, PBGUARD_BUDGET(len),
                               err, sizeof err));
    snprintf(want, sizeof want, "unpacking it would take more than %zu bytes of memory",
             PBGUARD_BUDGET(len));
    assert_string_equal(err, want);
    /* with room enough it is a valid message: the budget alone refused it */
    ProtobufCMessage *m = pbguard_unpack(&reportd__submission__descriptor, buf, len,
                                         (size_t)64 << 20, err, sizeof err);
    assert_non_null(m);
    protobuf_c_message_free_unpacked(m, NULL);
    free(buf);
}

/* Real submissions fit: the example as a document, and as a structured Report. */
static void test_pbguard_real_submissions_fit(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct report *r = tu_read(c, "examples/xiangxiang-minzheng-2024.txt", READER_DETECT);
    Reportd__Submission s = REPORTD__SUBMISSION__INIT;
    s.schema_version = 1;
    s.submission_id = (char *)SID;
    s.content_case = REPORTD__SUBMISSION__CONTENT_REPORT;
    s.report = reportpb_from_report(r);
    size_t len;
    uint8_t *buf = pack_sub(&s, &len);
    char err[256] = "";
    ProtobufCMessage *m = pbguard_unpack(&reportd__submission__descriptor, buf, len,
                                         PBGUARD_BUDGET(len), err, sizeof err);
    assert_non_null(m);
    assert_string_equal(err, "");
    protobuf_c_message_free_unpacked(m, NULL);
    Reportd__Result *res = checker_run_bytes(c, buf, len);
    assert_int_equal(res->status, REPORTD__STATUS__STATUS_FAIL);
    checker_result_free(res);
    free(buf);
    protobuf_c_message_free_unpacked(&s.report->base, NULL);
    report_destroy(&r);
    checker_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pbguard_hidden_nul_refused),
        cmocka_unit_test(test_pbguard_nested_invalid_utf8_refused),
        cmocka_unit_test(test_pbguard_memory_budget),
        cmocka_unit_test(test_pbguard_real_submissions_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
