/* mkseeds: builds the fuzzers' seed corpora at run time from real reports
 * (never committed): `mkseeds OUTDIR FILE...` writes OUTDIR/<target>/ seeds —
 * each document as printed (text, layout, HTML or PDF), its YAML and protobuf forms,
 * Submissions carrying each form or the structured Report (once with itself
 * attached as its previous year, for the rules across years), and MDP messages
 * of every command in the length-prefixed frame encoding of fuzz_mdp. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check/check.h"
#include "wire/mdp.h"
#include "read/reader.h"
#include "report/report.h"
#include "read/reportpb.h"
#include "base/util.h"
#include "read/yamlreport.h"

static const char *outdir;
static struct checker *checker;     /* for the envelope seeds: Results */

static void put(const char *target, const char *name, const void *data, size_t len)
{
    char *dir = xasprintf("%s/%s", outdir, target);
    mkdir(dir, 0755);
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "mkseeds: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    free(path);
    free(dir);
}

static void put_submission(const char *name, const uint8_t *doc, size_t len, int form,
                           Reportd__Report *report, Reportd__Report *previous)
{
    Reportd__Submission sub;
    Reportd__PreviousReport prev;
    reportd__previous_report__init(&prev);
    Reportd__Document d;
    Reportd__Body body;
    reportd__submission__init(&sub);
    reportd__document__init(&d);
    reportd__body__init(&body);
    sub.schema_version = 1;
    sub.submission_id = (char *)"seed-0001";
    body.name = (char *)"湘乡市民政局";
    body.region_code = (char *)"430381";
    body.has_kind = 1;
    body.kind = REPORTD__BODY_KIND__BODY_DEPARTMENT;
    sub.body = &body;
    sub.has_year = 1;
    sub.year = 2024;
    sub.has_submitted_at = 1;
    sub.submitted_at = 1736899200;       /* 2025-01-15 */
    if (previous) {
        prev.year = 2023;
        prev.report = previous;
        sub.previous = &prev;
    }
    if (report) {
        sub.content_case = REPORTD__SUBMISSION__CONTENT_REPORT;
        sub.report = report;
    } else {
        d.data.data = (uint8_t *)doc;
        d.data.len = len;
        d.has_form = form >= 0;
        d.form = form >= 0 ? (Reportd__DocumentForm)form : REPORTD__DOCUMENT_FORM__FORM_UNKNOWN;
        d.filename = (char *)name;
        sub.content_case = REPORTD__SUBMISSION__CONTENT_DOCUMENT;
        sub.document = &d;
    }
    size_t n = reportd__submission__get_packed_size(&sub);
    uint8_t *b = xmalloc(n);
    reportd__submission__pack(&sub, b);
    put("submission", name, b, n);
    put("envelope", name, b, n);
    free(b);
    /* the Result of it, with the report as read (field 12), as a broker gets it */
    sub.has_want_report = 1;
    sub.want_report = 1;
    n = reportd__submission__get_packed_size(&sub);
    b = xmalloc(n);
    reportd__submission__pack(&sub, b);
    Reportd__Result *res = checker_run_bytes(checker, b, n);
    free(b);
    n = reportd__result__get_packed_size(res);
    b = xmalloc(n);
    reportd__result__pack(res, b);
    char *rname = xasprintf("%s.result", name);
    put("envelope", rname, b, n);
    free(rname);
    free(b);
    checker_result_free(res);
}

/* The solver's seeds: each table of r written as fuzz_digitsplit reads it,
 * byte 0 the table, then each row's cells run together, rows apart. */
static void seed_digitsplit(const struct report *r, const char *base)
{
    for (int ti = 0; ti < LAYOUT_TABLES; ti++) {
        if (!r->tables[ti].layout)
            continue;
        const struct layout_table *lt = &r->tables[ti].layout->tables[ti];
        struct buf b = {0};
        unsigned char t = (unsigned char)ti;
        buf_append(&b, &t, 1);
        for (int row = 0; row < lt->nrows; row++) {
            for (int k = 0; k < lt->rows[row].ncols; k++) {
                char v[64];
                report_format_cell(&r->tables[ti].cells[lt->cell_index[row][lt->rows[row].cols[k]]], v, sizeof v);
                buf_puts(&b, v);
            }
            buf_puts(&b, " ");
        }
        char *name = xasprintf("%s.%s", base, layout_table_id(ti));
        put("digitsplit", name, b.data, b.len);
        free(name);
        buf_free(&b);
    }
}

static void seed_document(const struct checker *c, const char *path)
{
    char err[1024];
    size_t len;
    char *data = util_read_file(path, 16u << 20, &len, err, sizeof err);
    if (!data) {
        fprintf(stderr, "mkseeds: %s\n", err);
        exit(1);
    }
    char *copy = xstrdup(path);
    const char *base = basename(copy);
    enum reader_form form = reader_detect((const uint8_t *)data, len);
    put(reader_form_name(form), base, data, len);
    char *name = xasprintf("%s.doc", base);
    put_submission(name, (const uint8_t *)data, len, -1, NULL, NULL);
    free(name);
    struct report *r = NULL;
    if (reader_read(checker_layouts(c), (const uint8_t *)data, len, form, path, 0, &r, err,
                    sizeof err) < 0) {
        fprintf(stderr, "mkseeds: %s (raw seed only)\n", err);
        goto done;
    }
    size_t n;
    char *yaml = yamlreport_write(r, &n);
    name = xasprintf("%s.yaml", base);
    put("yaml", name, yaml, n);
    put_submission(name, (const uint8_t *)yaml, n, READER_YAML, NULL, NULL);
    free(name);
    free(yaml);
    uint8_t *pb = reportpb_write(r, &n);
    name = xasprintf("%s.pb", base);
    put("pb", name, pb, n);
    put_submission(name, pb, n, READER_PROTOBUF, NULL, NULL);
    free(name);
    free(pb);
    seed_digitsplit(r, base);
    Reportd__Report *m = reportpb_from_report(r);
    name = xasprintf("%s.report", base);
    put_submission(name, NULL, 0, -1, m, NULL);
    free(name);
    name = xasprintf("%s.with-previous", base);
    put_submission(name, NULL, 0, -1, m, m);
    free(name);
    protobuf_c_message_free_unpacked(&m->base, NULL);
    report_destroy(&r);
done:
    free(copy);
    free(data);
}

/* One MDP message as fuzz_mdp reads it: frames[i] with a length byte each. */
static void put_mdp(const char *name, const char *const *frames, const size_t *lens, size_t n)
{
    struct buf b = {0};
    for (size_t i = 0; i < n; i++) {
        unsigned char l = (unsigned char)lens[i];
        buf_append(&b, &l, 1);
        buf_append(&b, frames[i], lens[i]);
    }
    put("mdp", name, b.data, b.len);
    buf_free(&b);
}

#define MDP_SEED(name, ...)                                                            \
    do {                                                                               \
        static const char *const f_[] = {__VA_ARGS__};                                 \
        size_t l_[sizeof f_ / sizeof f_[0]];                                           \
        for (size_t i_ = 0; i_ < sizeof f_ / sizeof f_[0]; i_++)                       \
            l_[i_] = strlen(f_[i_]);                                                   \
        put_mdp(name, f_, l_, sizeof f_ / sizeof f_[0]);                               \
    } while (0)

static const char empty[] = "";
static const char ready[] = "\001", request[] = "\002", reply[] = "\003", heartbeat[] = "\004",
                  disconnect[] = "\005";

static void seed_mdp(void)
{
    MDP_SEED("client-request", "peer", empty, MDP_CLIENT, "report.check", "body");
    MDP_SEED("client-mmi", "peer", empty, MDP_CLIENT, "mmi.service", "report.check");
    MDP_SEED("client-titanic", "peer", empty, MDP_CLIENT, "titanic.request", "report.check", "b");
    MDP_SEED("worker-ready", "w1", empty, MDP_WORKER, ready, "report.check");
    MDP_SEED("worker-request", "w1", empty, MDP_WORKER, request, "client", empty, "body");
    MDP_SEED("worker-reply", "w1", empty, MDP_WORKER, reply, "client", empty, "result");
    MDP_SEED("worker-heartbeat", "w1", empty, MDP_WORKER, heartbeat);
    MDP_SEED("worker-disconnect", "w1", empty, MDP_WORKER, disconnect);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mkseeds OUTDIR FILE...\n");
        return 64;
    }
    outdir = argv[1];
    mkdir(outdir, 0755);
    char err[1024] = "";
    struct checker *c = checker_new(&(struct checker_options){.datadir = "config"}, err, sizeof err);
    if (!c) {
        fprintf(stderr, "mkseeds: %s\n", err);
        return 78;
    }
    checker = c;
    for (int i = 2; i < argc; i++)
        seed_document(c, argv[i]);
    seed_mdp();
    checker_destroy(&c);
    return 0;
}
