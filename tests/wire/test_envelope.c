/* test_envelope: the broker's envelope reader (wire/envelope.c) — exact
 * fields and offsets of the wire reader, malformed bytes refused with the
 * field and byte, a duplicate field's last value (merged messages), unknown
 * fields skipped; and against protobuf-c on real Results and Submissions
 * (湘乡, FAIL): the same fields, the same Alert bytes as checker_alert, the
 * same Result and report once stripped, the same verdict on every prefix. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fuzz/fuzz_targets.h"
#include "testutil.h"

static void test_envelope_next_reads_each_wire_type(void **state)
{
    (void)state;
    static const uint8_t m[] = {0x08, 0x96, 0x01,               /* 1: varint 150 */
                                0x12, 0x02, 'h', 'i',           /* 2: "hi" */
                                0x1d, 0x01, 0x02, 0x03, 0x04,   /* 3: fixed32 */
                                0x21, 1, 0, 0, 0, 0, 0, 0, 0x80}; /* 4: fixed64 */
    struct envelope_field f;
    size_t pos = 0;
    assert_int_equal(envelope_next(m, sizeof m, &pos, &f), 1);
    assert_int_equal(f.id, 1);
    assert_int_equal(f.wire, 0);
    assert_int_equal(f.value, 150);
    assert_int_equal(f.start, 0);
    assert_int_equal(f.value_at, 1);
    assert_int_equal(f.end, 3);
    assert_int_equal(envelope_next(m, sizeof m, &pos, &f), 1);
    assert_int_equal(f.id, 2);
    assert_int_equal(f.wire, 2);
    assert_int_equal(f.len, 2);
    assert_memory_equal(f.data, "hi", 2);
    assert_int_equal(f.value_at, 4);
    assert_int_equal(f.end, 7);
    assert_int_equal(envelope_next(m, sizeof m, &pos, &f), 1);
    assert_int_equal(f.id, 3);
    assert_int_equal(f.wire, 5);
    assert_int_equal(f.value, 0x04030201u);
    assert_int_equal(envelope_next(m, sizeof m, &pos, &f), 1);
    assert_int_equal(f.id, 4);
    assert_int_equal(f.wire, 1);
    assert_int_equal(f.value, 0x8000000000000001ull);
    assert_int_equal(pos, sizeof m);
    assert_int_equal(envelope_next(m, sizeof m, &pos, &f), 0);
}

static void test_envelope_next_refuses_malformed(void **state)
{
    (void)state;
    static const struct {
        uint8_t b[6];
        size_t n;
    } bad[] = {
        {{0x08, 0x96}, 2},                      /* a varint that runs off the end */
        {{0x88}, 1},                            /* a key that runs off the end */
        {{0x12, 0x05, 'a', 'b'}, 4},            /* a length past the end */
        {{0x0b, 0x00}, 2},                      /* wire type 3: a group */
        {{0x0c, 0x00}, 2},                      /* 4 */
        {{0x0e, 0x00}, 2},                      /* 6 */
        {{0x0f, 0x00}, 2},                      /* 7 */
        {{0x0d, 1, 2, 3}, 4},                   /* a fixed32 cut short */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct envelope_field f;
        size_t pos = 0;
        assert_int_equal(envelope_next(bad[i].b, bad[i].n, &pos, &f), -1);
    }
}

/* Result: schema_version 1, submission_id "x", then what each case adds. */
static size_t result_bytes(uint8_t *out, const uint8_t *tail, size_t n)
{
    static const uint8_t head[] = {0x08, 0x01, 0x12, 0x01, 'x'};
    memcpy(out, head, sizeof head);
    if (n)
        memcpy(out + sizeof head, tail, n);
    return sizeof head + n;
}

static void test_envelope_result_refuses_with_field_and_byte(void **state)
{
    (void)state;
    uint8_t m[64];
    char err[256] = "";
    struct envelope_result e;
    static const uint8_t wrong_wire[] = {0x1a, 0x00};          /* status, length-delimited */
    size_t n = result_bytes(m, wrong_wire, sizeof wrong_wire);
    assert_int_equal(envelope_result(m, n, &e, err, sizeof err), -1);
    assert_string_equal(err, "Result.status (byte 5): the wrong wire type for its field");
    assert_null(reportd__result__unpack(NULL, n, m));
    n = result_bytes(m, NULL, 0);                               /* no status */
    assert_int_equal(envelope_result(m, n, &e, err, sizeof err), -1);
    assert_string_equal(err, "Result.status (byte 0): a required field is missing");
    static const uint8_t truncated[] = {0x18, 0x82};            /* status 0x82…: cut */
    n = result_bytes(m, truncated, sizeof truncated);
    assert_int_equal(envelope_result(m, n, &e, err, sizeof err), -1);
    assert_string_equal(err, "Result.status (byte 5): a truncated varint");
    static const uint8_t past[] = {0x18, 0x02, 0x52, 0x09, 0x0a, 0x01, 'a'};  /* body of 9, 3 there */
    n = result_bytes(m, past, sizeof past);
    assert_int_equal(envelope_result(m, n, &e, err, sizeof err), -1);
    assert_string_equal(err, "Result.body (byte 7): a length past the end of the message");
    /* a finding without its required severity, inside: the path says where */
    static const uint8_t inner[] = {0x18, 0x02, 0x2a, 0x03, 0x0a, 0x01, 'R'};
    n = result_bytes(m, inner, sizeof inner);
    assert_int_equal(envelope_result(m, n, &e, err, sizeof err), -1);
    assert_string_equal(err, "Result.findings.severity (byte 9): a required field is missing");
    assert_null(reportd__result__unpack(NULL, n, m));
}

static void test_envelope_result_last_wins_and_skips_unknown(void **state)
{
    (void)state;
    static const uint8_t tail[] = {
        0x18, 0x02,                                     /* status FAIL … */
        0xfa, 0x06, 0x02, 'z', 'z',                     /* field 111, unknown: skipped */
        0x12, 0x02, 'b', 'c',                           /* submission_id again: "bc" wins */
        0x52, 0x05, 0x0a, 0x03, 0xe7, 0x94, 0xb2,       /* body { name 甲 } */
        0x18, 0x01,                                     /* … status WARN wins */
        0x52, 0x08, 0x12, 0x06, '4', '3', '0', '3', '8', '1', /* body { region_code }: merged */
        0x2a, 0x05, 0x0a, 0x01, 'R', 0x10, 0x02,        /* a finding, error */
        0x2a, 0x07, 0x0a, 0x01, 'R', 0x10, 0x00, 0x10, 0x02, /* severity twice: error */
        0x2a, 0x05, 0x0a, 0x01, 'R', 0x10, 0x00,        /* a notice */
        0x80, 0x07, 0x05,                               /* field 112, unknown varint */
        0x58, 0xe8, 0x0f,                               /* year 2024 */
    };
    uint8_t m[128];
    size_t n = result_bytes(m, tail, sizeof tail);
    struct envelope_result e;
    char err[256] = "";
    assert_int_equal(envelope_result(m, n, &e, err, sizeof err), 0);
    assert_int_equal(e.status, REPORTD__STATUS__STATUS_WARN);
    assert_int_equal(e.submission_id.len, 2);
    assert_memory_equal(e.submission_id.p, "bc", 2);
    assert_true(e.has_body);
    assert_int_equal(e.body_name.len, 3);
    assert_memory_equal(e.body_name.p, "甲", 3);
    assert_int_equal(e.body_region.len, 6);
    assert_memory_equal(e.body_region.p, "430381", 6);
    assert_false(e.has_region);
    struct envelope_str code = envelope_result_region(&e);
    assert_memory_equal(code.p, "430381", 6);             /* the body's, without a region */
    assert_int_equal(e.severity[2], 2);
    assert_int_equal(e.severity[1], 0);
    assert_int_equal(e.severity[0], 1);
    assert_true(e.has_year);
    assert_int_equal(e.year, 2024);
    assert_false(e.has_report);
    /* and protobuf-c reads the same bytes the same way, Alert included */
    Reportd__Result *r = reportd__result__unpack(NULL, n, m);
    assert_non_null(r);
    assert_int_equal(fuzz_envelope_result(r, m, n, &e), 0);
    reportd__result__free_unpacked(r, NULL);
}

static void test_envelope_submission_checks_strings(void **state)
{
    (void)state;
    /* schema_version 1, submission_id "a\0b", year 2024 */
    static const uint8_t nul[] = {0x08, 0x01, 0x12, 0x03, 'a', 0x00, 'b', 0x20, 0xe8, 0x0f};
    struct envelope_submission e;
    char err[256] = "";
    assert_int_equal(envelope_submission(nul, sizeof nul, &e, err, sizeof err), -1);
    assert_string_equal(err, "Submission.submission_id (byte 4): a NUL character inside a "
                             "string is not accepted");
    static const uint8_t ok[] = {0x08, 0x01, 0x12, 0x03, 'a', '-', 'b', 0x20, 0xe8, 0x0f,
                                 0x42, 0x00 /* previous {} … */};
    /* … lacks its required fields: protobuf-c refuses it, so does the reader */
    assert_int_equal(envelope_submission(ok, sizeof ok, &e, err, sizeof err), -1);
    assert_string_equal(err, "Submission.previous.year (byte 12): a required field is missing");
    assert_int_equal(envelope_submission(ok, sizeof ok - 2, &e, err, sizeof err), 0);
    assert_int_equal(e.submission_id.len, 3);
    assert_memory_equal(e.submission_id.p, "a-b", 3);
    assert_true(e.has_year);
    assert_int_equal(e.year, 2024);
    assert_false(e.has_previous);
    assert_null(e.body_name.p);
}

/* 湘乡's Submission (the example, with want_report) and its FAIL Result. */
static uint8_t *xiangxiang(const struct checker *c, size_t *sublen, size_t *reslen)
{
    size_t len;
    char *doc = tu_slurp("examples/xiangxiang-minzheng-2024.txt", &len);
    Reportd__Submission sub = REPORTD__SUBMISSION__INIT;
    Reportd__Document d = REPORTD__DOCUMENT__INIT;
    Reportd__Body body = REPORTD__BODY__INIT;
    sub.schema_version = 1;
    sub.submission_id = (char *)"e2e3a4b5-0000-4000-8000-000000000001";
    body.name = (char *)"湘乡市民政局";
    body.region_code = (char *)"430381";
    sub.body = &body;
    sub.has_year = 1;
    sub.year = 2024;
    sub.has_want_report = sub.want_report = 1;
    d.data.data = (uint8_t *)doc;
    d.data.len = len;
    sub.content_case = REPORTD__SUBMISSION__CONTENT_DOCUMENT;
    sub.document = &d;
    uint8_t *s = fuzz_pack(&sub.base, sublen);
    free(doc);
    Reportd__Result *r = checker_run_bytes(c, s, *sublen);
    uint8_t *res = fuzz_pack(&r->base, reslen);
    checker_result_free(r);
    uint8_t *both = xmalloc(*sublen + *reslen);
    memcpy(both, s, *sublen);
    memcpy(both + *sublen, res, *reslen);
    free(s);
    free(res);
    return both;
}

static void test_envelope_real_result_as_protobuf_c(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    size_t sublen, reslen;
    uint8_t *both = xiangxiang(c, &sublen, &reslen);
    const uint8_t *res = both + sublen;
    struct envelope_result e;
    char err[256] = "";
    assert_int_equal(envelope_result(res, reslen, &e, err, sizeof err), 0);
    assert_int_equal(e.status, REPORTD__STATUS__STATUS_FAIL);
    assert_true(e.has_region);
    assert_int_equal(e.region_code.len, 6);
    assert_memory_equal(e.region_code.p, "430381", 6);
    assert_true(e.has_report);
    assert_true(e.severity[2] > 0);
    Reportd__Result *r = reportd__result__unpack(NULL, reslen, res);
    assert_non_null(r);
    assert_int_equal(e.severity[2], tu_count_severity(r, REPORTD__SEVERITY__SEV_ERROR));
    /* fields, Alert bytes, stripped Result and report: as protobuf-c's */
    assert_int_equal(fuzz_envelope_result(r, res, reslen, &e), 0);
    reportd__result__free_unpacked(r, NULL);
    struct envelope_submission es;
    assert_int_equal(envelope_submission(both, sublen, &es, err, sizeof err), 0);
    assert_int_equal(es.body_name.len, strlen("湘乡市民政局"));
    assert_memory_equal(es.body_region.p, "430381", 6);
    assert_int_equal(fuzz_envelope(both, sublen), 0);
    free(both);
    checker_destroy(&c);
}

/* Every prefix, and every byte changed, of the Result and the Submission:
 * the reader's verdict and fields are protobuf-c's (fuzz_envelope). */
static void test_envelope_cut_and_changed_as_protobuf_c(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    size_t sublen, reslen;
    uint8_t *both = xiangxiang(c, &sublen, &reslen);
    const struct {
        uint8_t *p;
        size_t n;
    } msgs[] = {{both, sublen}, {both + sublen, reslen}};
    int refused = 0, checked = 0;
    for (int k = 0; k < 2; k++) {
        size_t step = msgs[k].n / 400 + 1;
        for (size_t cut = 0; cut <= msgs[k].n; cut += cut < 64 ? 1 : step) {
            assert_int_equal(fuzz_envelope(msgs[k].p, cut), 0);
            char err[256];
            struct envelope_result e;
            refused += envelope_result(msgs[k].p, cut, &e, err, sizeof err) != 0;
            checked++;
        }
        for (size_t at = 0; at < msgs[k].n; at += at < 64 ? 1 : step) {
            uint8_t *copy = xmalloc(msgs[k].n);
            memcpy(copy, msgs[k].p, msgs[k].n);
            static const uint8_t with[] = {0x00, 0x80, 0xff, 0x0a, 0x12, 0x1a};
            for (size_t w = 0; w < sizeof with; w++) {
                copy[at] = with[w];
                assert_int_equal(fuzz_envelope(copy, msgs[k].n), 0);
            }
            free(copy);
        }
    }
    assert_true(refused > 0 && refused < checked);      /* both verdicts were met */
    free(both);
    checker_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_next_reads_each_wire_type),
        cmocka_unit_test(test_envelope_next_refuses_malformed),
        cmocka_unit_test(test_envelope_result_refuses_with_field_and_byte),
        cmocka_unit_test(test_envelope_result_last_wins_and_skips_unknown),
        cmocka_unit_test(test_envelope_submission_checks_strings),
        cmocka_unit_test(test_envelope_real_result_as_protobuf_c),
        cmocka_unit_test(test_envelope_cut_and_changed_as_protobuf_c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
