/* PDF documents: the real PDFs read directly give the same Result (findings,
 * figures, fingerprint: the whole packed Result but its timing) as the
 * pdftotext -layout text beside them; a truncated PDF, a PDF without a text
 * layer, a child that spins, sleeps, crashes or writes too much are each a
 * read error saying so, and the checker answers the next request after. The
 * hostile children are stand-in programs (the limits' program seam); the
 * real PDFs are read in place, a truncated one is a prefix in memory. */
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "check/jsonout.h"
#include "read/pdfread.h"

static void same_result(const char *pdf, const char *layout, const char *status, int nfindings)
{
    struct checker *c = tu_checker();
    size_t len;
    char *data = tu_slurp(pdf, &len);
    assert_int_equal(reader_detect((const uint8_t *)data, len), READER_PDF);
    free(data);
    struct report *a = tu_read(c, pdf, READER_DETECT);
    struct report *b = tu_read(c, layout, READER_LAYOUT);
    Reportd__Result *ra = tu_check(c, a), *rb = tu_check(c, b);
    assert_string_equal(jsonout_status(ra->status), status);
    assert_int_equal(ra->n_findings, nfindings);
    assert_non_null(ra->enrichment);
    assert_string_equal(ra->enrichment->fingerprint, rb->enrichment->fingerprint);
    tu_same_result(ra, rb);
    checker_result_free(ra);
    checker_result_free(rb);
    report_destroy(&a);
    report_destroy(&b);
    checker_destroy(&c);
}

static void test_pdf_huaian_same_as_layout_text(void **state)
{
    (void)state;
    same_result(SHARED_REPORTS "huaian-2024.pdf", SHARED_REPORTS "huaian-2024.layout.txt", "PASS", 0);
}

static void test_pdf_hongze_same_as_layout_text(void **state)
{
    (void)state;
    same_result(SHARED_REPORTS "hongze-2023.pdf", SHARED_REPORTS "hongze-2023.layout.txt", "FAIL", 4);
}

/* A one-page PDF written here with a correct xref; content is the page's
 * content stream ("" for none: a page with nothing on it, as a scan without
 * OCR is to pdftotext). */
static char *tiny_pdf(const char *content, size_t *len)
{
    struct buf b = {0};
    size_t off[6];
    buf_puts(&b, "%PDF-1.4\n");
    off[1] = b.len;
    buf_puts(&b, "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n");
    off[2] = b.len;
    buf_puts(&b, "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n");
    off[3] = b.len;
    buf_puts(&b, "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
                 "/Resources << /Font << /F1 5 0 R >> >> >> endobj\n");
    off[4] = b.len;
    buf_printf(&b, "4 0 obj << /Length %zu >> stream\n%s\nendstream endobj\n", strlen(content), content);
    off[5] = b.len;
    buf_puts(&b, "5 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> endobj\n");
    size_t xref = b.len;
    buf_puts(&b, "xref\n0 6\n0000000000 65535 f \n");
    for (int i = 1; i <= 5; i++)
        buf_printf(&b, "%010zu 00000 n \n", off[i]);
    buf_printf(&b, "trailer << /Size 6 /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n", xref);
    *len = b.len;
    return buf_take(&b);
}

static void test_pdf_tiny_text_layer_is_read(void **state)
{
    (void)state;
    size_t len, tlen;
    char *pdf = tiny_pdf("BT /F1 12 Tf 72 700 Td (Hello PDF) Tj ET", &len), *text, err[512] = "";
    if (pdfread_text((const uint8_t *)pdf, len, NULL, &text, &tlen, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_non_null(strstr(text, "Hello PDF"));
    free(text);
    free(pdf);
}

static void test_pdf_without_text_layer_is_rejected(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    size_t len;
    char *pdf = tiny_pdf("", &len);
    const char *e = tu_read_error(c, pdf, len, READER_DETECT);
    assert_non_null(strstr(e, "t.txt: the PDF has no text layer (scanned?)"));
    free(pdf);
    checker_destroy(&c);
}

static void test_pdf_truncated_is_rejected(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    size_t len;
    char *pdf = tu_slurp(SHARED_REPORTS "huaian-2024.pdf", &len);
    size_t cuts[] = {len / 2, len - 100, 4096};
    for (size_t i = 0; i < 3; i++) {
        const char *e = tu_read_error(c, pdf, cuts[i], READER_DETECT);
        assert_non_null(strstr(e, "t.txt: not a readable PDF (truncated or damaged?): pdftotext: "));
        assert_non_null(strstr(e, "xref"));
    }
    free(pdf);
    checker_destroy(&c);
}

/* A stand-in for pdftotext: a shell script in a fresh temp dir. */
static void fake_program(struct pdfread_limits *l, char dir[64], const char *body)
{
    strcpy(dir, "/tmp/test_pdf.XXXXXX");
    assert_non_null(mkdtemp(dir));
    pdfread_limits_default(l);
    snprintf(l->program, sizeof l->program, "%s/pdftotext", dir);
    FILE *f = fopen(l->program, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    chmod(l->program, 0755);
}

static void drop_program(const struct pdfread_limits *l, const char *dir)
{
    unlink(l->program);
    rmdir(dir);
}

static const char *extract_error(const struct pdfread_limits *l, const char *pdf, size_t len)
{
    static char err[512];
    char *text = NULL;
    size_t tlen;
    err[0] = '\0';
    assert_int_equal(pdfread_text((const uint8_t *)pdf, len, l, &text, &tlen, err, sizeof err), -1);
    assert_null(text);
    return err;
}

static void test_pdf_child_limits(void **state)
{
    (void)state;
    struct pdfread_limits l;
    char dir[64];
    size_t len;
    char *pdf = tu_slurp(SHARED_REPORTS "hongze-2023.pdf", &len);

    fake_program(&l, dir, "exec sleep 30");         /* loops without using CPU */
    l.timeout_ms = 300;
    assert_string_equal(extract_error(&l, pdf, len),
                        "pdftotext did not finish within 300 ms (a PDF that loops or balloons?): not read");
    drop_program(&l, dir);

    fake_program(&l, dir, "cat >/dev/null; while :; do :; done");   /* spins */
    l.cpu_seconds = 1;
    assert_string_equal(extract_error(&l, pdf, len),
                        "pdftotext used more than 1 s of CPU on this PDF (a PDF that loops or balloons?): not read");
    drop_program(&l, dir);

    fake_program(&l, dir, "kill -SEGV $$");
    assert_non_null(strstr(extract_error(&l, pdf, len), "pdftotext crashed on this PDF (signal 11, "));
    drop_program(&l, dir);

    fake_program(&l, dir, "exec cat");              /* echoes the PDF: balloons past the cap */
    l.max_output = 4096;
    assert_string_equal(extract_error(&l, pdf, len),
                        "pdftotext wrote more than 4096 bytes of text for this PDF (a PDF that balloons?): not read");
    drop_program(&l, dir);

    fake_program(&l, dir, "");
    unlink(l.program);
    char want[512];
    snprintf(want, sizeof want, "cannot read PDF files here: cannot execute %s (install poppler-utils)", l.program);
    assert_string_equal(extract_error(&l, pdf, len), want);
    rmdir(dir);

    /* the real program under a real limit: the text of 淮安 is 11121 bytes */
    pdfread_limits_default(&l);
    l.max_output = 8192;
    free(pdf);
    pdf = tu_slurp(SHARED_REPORTS "huaian-2024.pdf", &len);
    assert_string_equal(extract_error(&l, pdf, len),
                        "pdftotext wrote more than 8192 bytes of text for this PDF (a PDF that balloons?): not read");
    free(pdf);
}

/* The checker's answer to a bad PDF is a REJECTED Result, and it answers the
 * next Submission as usual: the process that read the bad one is unharmed. */
static Reportd__Result *submit(const struct checker *c, const char *data, size_t len)
{
    Reportd__Document doc = REPORTD__DOCUMENT__INIT;
    doc.data.data = (uint8_t *)data;
    doc.data.len = len;
    doc.filename = (char *)"report.pdf";
    Reportd__Submission sub = REPORTD__SUBMISSION__INIT;
    sub.schema_version = 1;
    sub.submission_id = (char *)"pdf-test";
    sub.content_case = REPORTD__SUBMISSION__CONTENT_DOCUMENT;
    sub.document = &doc;
    return checker_run(c, &sub);
}

static void test_pdf_checker_survives_bad_pdfs(void **state)
{
    (void)state;
    struct checker *c = tu_checker();
    struct pdfread_limits saved, l;
    pdfread_get_limits(&saved);
    size_t len, tlen;
    char *pdf = tu_slurp(SHARED_REPORTS "huaian-2024.pdf", &len), *blank = tiny_pdf("", &tlen);

    Reportd__Result *r = submit(c, pdf, len / 3);
    assert_int_equal(r->status, REPORTD__STATUS__STATUS_REJECTED);
    assert_non_null(strstr(r->reject_reason, "report.pdf: not a readable PDF (truncated or damaged?)"));
    checker_result_free(r);

    r = submit(c, blank, tlen);
    assert_int_equal(r->status, REPORTD__STATUS__STATUS_REJECTED);
    assert_non_null(strstr(r->reject_reason, "report.pdf: the PDF has no text layer (scanned?)"));
    checker_result_free(r);

    char dir[64];
    fake_program(&l, dir, "kill -SEGV $$");
    pdfread_set_limits(&l);
    r = submit(c, pdf, len);
    pdfread_set_limits(&saved);
    drop_program(&l, dir);
    assert_int_equal(r->status, REPORTD__STATUS__STATUS_REJECTED);
    assert_non_null(strstr(r->reject_reason, "report.pdf: pdftotext crashed on this PDF (signal 11, "));
    checker_result_free(r);

    r = submit(c, pdf, len);
    assert_int_equal(r->status, REPORTD__STATUS__STATUS_PASS);
    assert_string_equal(r->body->name, "淮安市人民政府");
    checker_result_free(r);
    free(blank);
    free(pdf);
    checker_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pdf_huaian_same_as_layout_text),
        cmocka_unit_test(test_pdf_hongze_same_as_layout_text),
        cmocka_unit_test(test_pdf_tiny_text_layer_is_read),
        cmocka_unit_test(test_pdf_without_text_layer_is_rejected),
        cmocka_unit_test(test_pdf_truncated_is_rejected),
        cmocka_unit_test(test_pdf_child_limits),
        cmocka_unit_test(test_pdf_checker_survives_bad_pdfs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
