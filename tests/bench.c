/* make bench: throughput on one core, as ratios within one run. Readers are
 * timed from bytes in memory to a report; check+enrich from an already-read
 * report to a Result; the floor is SHA-256 alone over the same canonical
 * content (what the fingerprint hashes). Not a test: it prints, it asserts
 * nothing about speed. */
#include <fcntl.h>
#include <libxml/HTMLparser.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "check/check.h"
#include "check/enrich.h"
#include "read/digitsplit.h"
#include "read/flatread.h"
#include "read/reader.h"
#include "report/report.h"
#include "read/reportpb.h"
#include "base/util.h"
#include "read/yamlreport.h"

static double BENCH_SECONDS = 0.6;   /* $REPORTD_BENCH_SECONDS overrides */
static long BENCH_CALLS;             /* $REPORTD_BENCH_CALLS: exactly that many (callgrind) */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef void (*bench_fn)(void *arg);

/* Run fn until BENCH_SECONDS have passed; returns calls per second. */
static double rate(bench_fn fn, void *arg)
{
    long n = 0, batch = 16;
    double t0 = now(), t;
    if (BENCH_CALLS) {
        for (n = 0; n < BENCH_CALLS; n++)
            fn(arg);
        return (double)n / (now() - t0);
    }
    do {
        for (long i = 0; i < batch; i++)
            fn(arg);
        n += batch;
        t = now();
        if (batch < 4096)
            batch *= 2;
    } while (t - t0 < BENCH_SECONDS);
    return (double)n / (t - t0);
}

struct read_arg {
    const struct checker *c;
    const char *data;
    size_t len;
    enum reader_form form;
};

static void do_read(void *p)
{
    struct read_arg *a = p;
    struct report *r = NULL;
    char err[512];
    if (reader_read(checker_layouts(a->c), (const uint8_t *)a->data, a->len, a->form, "bench", 0, &r, err, sizeof err) < 0) {
        fprintf(stderr, "bench: %s\n", err);
        exit(70);
    }
    report_destroy(&r);
}

struct check_arg {
    const struct checker *c;
    const struct report *r;
    const char *region;
};

static void do_check(void *p)
{
    struct check_arg *a = p;
    struct check_meta meta = {.submission_id = "bench", .region_code = a->region, .government = -1,
                              .submitted_at = 1738000000};
    checker_result_free(checker_check_report(a->c, a->r, &meta));
}

struct hash_arg {
    const EVP_MD *md;
    struct buf canon;
};

static void do_hash(void *p)
{
    struct hash_arg *a = p;
    unsigned char md[32];
    unsigned int n;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, a->md, NULL);
    EVP_DigestUpdate(ctx, a->canon.data, a->canon.len);
    EVP_DigestFinal_ex(ctx, md, &n);
    EVP_MD_CTX_free(ctx);
}

/* libxml2's bare HTML parse of a page (the options htmlread.c uses), no walk. */
static void do_html_parse(void *p)
{
    struct read_arg *a = p;
    htmlDocPtr d = htmlReadMemory(a->data, (int)a->len, NULL, "UTF-8",
                                  HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                      HTML_PARSE_NONET);
    xmlFreeDoc(d);
}

/* poppler's extraction alone: pdftotext -layout FILE to /dev/null, no limits,
 * no pipes read, no report. */
static void do_pdftotext(void *p)
{
    const char *path = p;
    char *const argv[] = {(char *)"pdftotext", (char *)"-layout", (char *)"-enc", (char *)"UTF-8",
                          (char *)path, (char *)"-", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int status;
    if (posix_spawn(&pid, "/usr/bin/pdftotext", &fa, NULL, argv, NULL) != 0) {
        fprintf(stderr, "bench: cannot run /usr/bin/pdftotext\n");
        exit(70);
    }
    waitpid(pid, &status, 0);
    posix_spawn_file_actions_destroy(&fa);
}

/* Submission bytes -> Result bytes, what a worker does per request. */
struct bytes_arg {
    const struct checker *c;
    const uint8_t *sub;
    size_t len;
    uint8_t *out;                 /* xmalloc'd like the worker's reply buffer */
    size_t outlen;
};

static void do_bytes(void *p)
{
    struct bytes_arg *a = p;
    Reportd__Result *r = checker_run_bytes(a->c, a->sub, a->len);
    a->outlen = reportd__result__get_packed_size(r);
    a->out = xmalloc(a->outlen);
    reportd__result__pack(r, a->out);
    checker_result_free(r);
    free(a->out);
}

/* A Submission of report r (structured Report form) or of a document. */
static uint8_t *submission(const struct report *r, const char *doc, size_t doclen,
                           Reportd__DocumentForm form, const char *name, const char *region,
                           size_t *len)
{
    Reportd__Submission s = REPORTD__SUBMISSION__INIT;
    Reportd__Body body = REPORTD__BODY__INIT;
    Reportd__Document d = REPORTD__DOCUMENT__INIT;
    s.schema_version = 1;
    s.submission_id = (char *)"00000000-0000-4000-8000-000000000001";
    body.name = (char *)name;
    body.region_code = (char *)region;
    s.body = &body;
    s.has_year = 1, s.year = 2024;
    s.has_submitted_at = 1, s.submitted_at = 1738000000;
    if (r) {
        s.content_case = REPORTD__SUBMISSION__CONTENT_REPORT;
        s.report = reportpb_from_report(r);
    } else {
        d.data.data = (uint8_t *)doc, d.data.len = doclen;
        d.has_form = 1, d.form = form;
        s.content_case = REPORTD__SUBMISSION__CONTENT_DOCUMENT;
        s.document = &d;
    }
    *len = reportd__submission__get_packed_size(&s);
    uint8_t *buf = xmalloc(*len);
    reportd__submission__pack(&s, buf);
    if (r)
        protobuf_c_message_free_unpacked(&s.report->base, NULL);
    return buf;
}

static double bench_bytes(const struct checker *c, const char *label, const uint8_t *sub, size_t len)
{
    struct bytes_arg a = {c, sub, len, NULL, 0};
    double v = rate(do_bytes, &a);
    printf("  %-34s %9.0f reports/s  (%zu -> %zu bytes)\n", label, v, len, a.outlen);
    return v;
}

static uint8_t *submission_of(const struct report *r, const char *name, const char *region, size_t *len)
{
    return submission(r, NULL, 0, 0, name, region, len);
}

/* build/bench-data/sub-NAME.pb and reportd's res-NAME.pb for it. */
static void dump(const struct checker *c, const char *name, uint8_t *sub, size_t len)
{
    struct bytes_arg a = {c, sub, len, NULL, 0};
    Reportd__Result *r = checker_run_bytes(c, sub, len);
    a.outlen = reportd__result__get_packed_size(r);
    a.out = xmalloc(a.outlen);
    reportd__result__pack(r, a.out);
    checker_result_free(r);
    const char *dir = getenv("REPORTD_BENCH_DATA") ? getenv("REPORTD_BENCH_DATA") : "build/bench-data";
    const void *data[2] = {sub, a.out};
    size_t n[2] = {len, a.outlen};
    for (int i = 0; i < 2; i++) {
        char *path = xasprintf("%s/%s-%s.pb", dir, i ? "res" : "sub", name);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(data[i], 1, n[i], f) != n[i] || fclose(f) != 0) {
            fprintf(stderr, "bench: cannot write %s\n", path);
            exit(73);
        }
        free(path);
    }
    free(a.out);
    free(sub);
}

static char *load(const char *path, size_t *len)
{
    char err[512];
    char *s = util_read_file(path, 1 << 24, len, err, sizeof err);
    if (!s) {
        fprintf(stderr, "bench: %s\n", err);
        exit(66);
    }
    return s;
}

static void bench_reader(const struct checker *c, const char *label, const char *data, size_t len,
                         enum reader_form form)
{
    struct read_arg a = {c, data, len, form};
    printf("  %-34s %9.0f reports/s  (%zu bytes)\n", label, rate(do_read, &a), len);
}

/* A published form: the whole path to a report against its library alone.
 * The two alternate in 5 rounds and each keeps its best round, so that a
 * neighbour's burst on a shared machine does not land on one side only. */
static void bench_form(const struct checker *c, const char *label, const char *path, enum reader_form form)
{
    size_t len;
    char *data = load(path, &len);
    struct read_arg a = {c, data, len, form};
    double ours = 0, alone = 0, saved = BENCH_SECONDS;
    BENCH_SECONDS = saved / 5;
    for (int round = 0; round < 5; round++) {
        double o = rate(do_read, &a);
        double l = form == READER_HTML ? rate(do_html_parse, &a) : rate(do_pdftotext, (void *)path);
        ours = o > ours ? o : ours;
        alone = l > alone ? l : alone;
    }
    BENCH_SECONDS = saved;
    printf("  %-34s %9.1f reports/s  %s alone %9.1f/s  ratio %.2f  (%zu bytes)\n", label, ours,
           form == READER_HTML ? "htmlReadMemory" : "pdftotext", alone, alone / ours, len);
    free(data);
}

/* The run-together reader: reads per second, and the solver's work on the
 * page (search nodes over all tables, and of its worst table). */
static void bench_flat(const struct checker *c, const char *label, const char *data, size_t len)
{
    struct read_arg a = {c, data, len, READER_FLAT};
    struct flatread_stats st = {0, 0};
    struct report *r = NULL;
    char err[512];
    if (flatread_read(checker_layouts(c), data, len, "bench", 0, &r, &st, err, sizeof err) < 0) {
        fprintf(stderr, "bench: %s\n", err);
        exit(70);
    }
    report_destroy(&r);
    double per = rate(do_read, &a);
    printf("  %-34s %9.0f reports/s  (%zu bytes; %.1f us a page; solver %lu nodes, worst table %lu)\n",
           label, per, len, 1e6 / per, st.nodes, st.max_nodes);
}

struct hostile_arg {
    const struct layout_table *lt;
    const char *runs[LAYOUT_MAX_ROWS];
    size_t lens[LAYOUT_MAX_ROWS];
};

static void do_hostile(void *p)
{
    struct hostile_arg *a = p;
    char err[256];
    int bad;
    struct digitsplit *d = digitsplit_solve(a->lt, a->runs, a->lens, DIGITSPLIT_MAX_NODES, &bad, err, sizeof err);
    digitsplit_destroy(&d);
}

/* The solver at its bound: every T3 row a run of twenty 1s (no split keeps a
 * row's sum, and there are C(19,6) ways to cut each). */
static void bench_hostile(const struct checker *c)
{
    static const char ones[] = "11111111111111111111";
    struct hostile_arg a = {&layouts_find(checker_layouts(c), 2021)->tables[TABLE_T3], {0}, {0}};
    for (int r = 0; r < a.lt->nrows; r++)
        a.runs[r] = ones, a.lens[r] = sizeof ones - 1;
    double per = rate(do_hostile, &a);
    printf("  %-34s %9.0f tables/s  (%.2f ms at the bound of %lu search nodes)\n",
           "solver, hostile T3 (20-digit runs)", per, 1e3 / per, DIGITSPLIT_MAX_NODES);
}

static void bench_check(const struct checker *c, const char *label, const struct report *r, const char *region)
{
    struct check_arg a = {c, r, region};
    struct hash_arg h = {EVP_MD_fetch(NULL, "SHA256", NULL), {0}};
    enrich_canonical(r, &h.canon);
    double check = rate(do_check, &a), hash = rate(do_hash, &h);
    printf("  %-34s %9.0f reports/s  sha256 alone %9.0f/s over %zu bytes  ratio %.2f\n", label, check,
           hash, h.canon.len, hash / check);
    buf_free(&h.canon);
    EVP_MD_free((EVP_MD *)h.md);
}

int main(int argc, char **argv)
{
    if (getenv("REPORTD_BENCH_SECONDS"))
        BENCH_SECONDS = atof(getenv("REPORTD_BENCH_SECONDS"));
    if (getenv("REPORTD_BENCH_CALLS"))
        BENCH_CALLS = atol(getenv("REPORTD_BENCH_CALLS"));
    const char *only = argc > 1 ? argv[1] : "";   /* "readers" or "check": one part, for profiling */
    char err[1024];
    struct checker *c = checker_new(&(struct checker_options){.datadir = "config"}, err, sizeof err);
    if (!c) {
        fprintf(stderr, "bench: %s\n", err);
        return 78;
    }
    size_t xl, hl, zl, yl, pl;
    char *x = load("../shared/reports/xiangxiang-minzheng-2024.txt", &xl);
    char *h = load("../shared/reports/huaian-2024.layout.txt", &hl);
    char *z = load("../shared/reports/hongze-2023.layout.txt", &zl);
    struct report *rx = NULL, *rh = NULL, *rz = NULL;
    reader_read(checker_layouts(c), (uint8_t *)x, xl, READER_TEXT, "x", 0, &rx, err, sizeof err);
    reader_read(checker_layouts(c), (uint8_t *)h, hl, READER_LAYOUT, "h", 0, &rh, err, sizeof err);
    reader_read(checker_layouts(c), (uint8_t *)z, zl, READER_LAYOUT, "z", 0, &rz, err, sizeof err);
    char *y = yamlreport_write(rh, &yl);
    uint8_t *p = reportpb_write(rh, &pl);

    size_t sl;
    uint8_t *s;
    if (!strcmp(only, "dump")) {         /* for tests/bench/ref_bench.py */
        s = submission_of(rh, "淮安市人民政府", "320800", &sl);
        dump(c, "huaian", s, sl);
        s = submission_of(rx, "湘乡市民政局", "430381", &sl);
        dump(c, "xiangxiang", s, sl);
        checker_destroy(&c);
        return 0;
    }
    printf("reportd bench (one core, %.1f s per figure)\n", BENCH_SECONDS);
    if (!*only || !strcmp(only, "readers")) {
    printf("readers, bytes in memory -> report:\n");
    bench_reader(c, "text dump (湘乡)", x, xl, READER_TEXT);
    bench_reader(c, "pdftotext -layout (淮安)", h, hl, READER_LAYOUT);
    bench_reader(c, "pdftotext -layout (洪泽)", z, zl, READER_LAYOUT);
    bench_reader(c, "YAML form (淮安)", y, yl, READER_YAML);
    bench_reader(c, "protobuf Report (淮安)", (char *)p, pl, READER_PROTOBUF);
    printf("published forms, the reader against its library alone (ratio = alone / reader):\n");
    bench_form(c, "HTML page (沭阳)", "../shared/reports/shuyang-fgj-2023.html", READER_HTML);
    bench_form(c, "PDF, isolated child (淮安)", "../shared/reports/huaian-2024.pdf", READER_PDF);
    bench_form(c, "PDF, isolated child (洪泽)", "../shared/reports/hongze-2023.pdf", READER_PDF);
    size_t f3l, f4l;
    char *f3 = load("../shared/reports/pingtan-2023.page.txt", &f3l);
    char *f4 = load("../shared/reports/pingtan-2024.page.txt", &f4l);
    bench_flat(c, "run-together page (平潭 2023)", f3, f3l);
    bench_flat(c, "run-together page (平潭 2024)", f4, f4l);
    bench_hostile(c);
    free(f3), free(f4);
    }
    if (!strncmp(only, "bytes", 5) || !*only) {
    printf("bytes -> bytes, Submission -> checker_run_bytes -> packed Result:\n");
    s = submission_of(rh, "淮安市人民政府", "320800", &sl);
    bench_bytes(c, "Report form (淮安, PASS)", s, sl);
    free(s);
    if (!strcmp(only, "bytes1")) {       /* one figure, for profiling */
        checker_destroy(&c);
        return 0;
    }
    s = submission_of(rx, "湘乡市民政局", "430381", &sl);
    bench_bytes(c, "Report form (湘乡, FAIL)", s, sl);
    free(s);
    s = submission(NULL, x, xl, REPORTD__DOCUMENT_FORM__FORM_TEXT, "湘乡市民政局", "430381", &sl);
    bench_bytes(c, "text dump document (湘乡, FAIL)", s, sl);
    free(s);
    s = submission(NULL, h, hl, REPORTD__DOCUMENT_FORM__FORM_LAYOUT, "淮安市人民政府", "320800", &sl);
    bench_bytes(c, "layout text document (淮安, PASS)", s, sl);
    free(s);
    }
    if (!*only || !strncmp(only, "check", 5)) {
    printf("check+enrich of an already-read report -> Result:\n");
    bench_check(c, "淮安 (PASS, 0 findings)", rh, "320800");
    if (!strcmp(only, "check1")) {
        checker_destroy(&c);
        return 0;
    }
    bench_check(c, "湘乡 (FAIL, 8 findings)", rx, "430381");
    bench_check(c, "洪泽 (FAIL, 4 findings)", rz, "320813");
    }
    free(x), free(h), free(z), free(y), free(p);
    report_destroy(&rx), report_destroy(&rh), report_destroy(&rz);
    checker_destroy(&c);
    return 0;
}
