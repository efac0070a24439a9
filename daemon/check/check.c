/* check: the per-report pipeline shared by the daemon's workers and reportctl.
 * A checker holds what is loaded once (layouts, region table, the SHA-256
 * implementation, severities) and is read-only afterwards, so worker threads
 * share one. A Result and all its parts live in one arena (base/arena.h),
 * freed in one go by checker_result_free: never free_unpacked a Result.
 * It borrows what outlives it — layout ids and labels, rule texts, region
 * names, and for checker_run_bytes the unpacked Submission's strings. */
#include "check/check.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check/crossyear.h"
#include "base/arena.h"
#include "check/enrich.h"
#include "report/findings.h"
#include "base/pbguard.h"
#include "report/norm.h"
#include "read/reader.h"
#include "report/region.h"
#include "report/report.h"
#include "read/reportpb.h"
#include "check/rules.h"
#include "base/util.h"

#define CHECK_RULESET_VERSION "reportd-rules-1 (report-format.md, layouts 2021+2019)"
#define CHECK_DEFAULT_MAX_DOCUMENT (8u << 20)

struct checker {
    struct layouts layouts;
    struct regions *regions;
    EVP_MD *sha256;
    enum severity severity[RULE_COUNT];
    size_t max_document;
};

const char *checker_ruleset_version(void)
{
    return CHECK_RULESET_VERSION;
}

const struct layouts *checker_layouts(const struct checker *c)
{
    return &c->layouts;
}

struct checker *checker_new(const struct checker_options *opt, char *err, size_t errlen)
{
    struct checker *c = xcalloc(1, sizeof *c);
    const char *dir = opt && opt->datadir ? opt->datadir : util_datadir();
    char *path = xasprintf("%s/layouts", dir);
    int rc = layouts_load_dir(&c->layouts, path, err, errlen);
    free(path);
    if (rc < 0)
        goto fail;
    path = xasprintf("%s/regions.tsv", dir);
    c->regions = regions_load(path, err, errlen);
    free(path);
    if (!c->regions)
        goto fail;
    c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!c->sha256) {
        errf(err, errlen, "OpenSSL has no SHA-256 implementation");
        goto fail;
    }
    for (int i = 0; i < RULE_COUNT; i++)
        c->severity[i] = findings_rule(i)->severity;
    for (size_t i = 0; opt && i < opt->noverrides; i++) {
        int r = findings_rule_find(opt->override_rules[i]);
        int s = opt->override_severities[i];
        if (r < 0 || s < SEV_NOTICE || s > SEV_ERROR) {
            errf(err, errlen, "severity override: unknown rule '%s' or severity %d", opt->override_rules[i], s);
            goto fail;
        }
        c->severity[r] = (enum severity)s;
    }
    c->max_document = opt && opt->max_document ? opt->max_document : CHECK_DEFAULT_MAX_DOCUMENT;
    return c;
fail:
    checker_destroy(&c);
    return NULL;
}

void checker_destroy(struct checker **cp)
{
    struct checker *c = cp ? *cp : NULL;
    if (!c)
        return;
    layouts_free(&c->layouts);
    regions_destroy(&c->regions);
    EVP_MD_free(c->sha256);
    free(c);
    *cp = NULL;
}

/* Drop bracketed parts of a normalised name in place: the fold has made
 * （） ASCII; 〔〕 and 【】 stay three bytes. */
static void drop_brackets(char *s)
{
    static const char *const open[] = {"(", "〔", "【"}, *const close[] = {")", "〕", "】"};
    int depth = 0;
    char *w = s;
    for (const char *p = s; *p;) {
        size_t step = 1;
        int bracket = 0;
        for (int k = 0; k < 3 && !bracket; k++) {
            size_t n = strlen(open[k]);
            if (!strncmp(p, open[k], n))
                bracket = 1, step = n, depth++;
            else if (!strncmp(p, close[k], n))
                bracket = 1, step = n, depth -= depth > 0;
        }
        if (!bracket && !depth)
            memmove(w, p, step), w += step;
        p += step;
    }
    *w = '\0';
}

static const char *skip_prefix(const char *s, const char *prefix)
{
    size_t n = prefix ? strlen(prefix) : 0;
    return n && !strncmp(s, prefix, n) && s[n] ? s + n : s;
}

char *checker_body_key(const struct checker *c, const char *name, const char *region_code)
{
    if (!name || !*name)
        return NULL;
    const char *code = region_code && *region_code ? region_code : regions_guess(c->regions, name);
    struct region_names rn = {0};
    if (code)
        regions_lookup(c->regions, code, &rn);
    char *n = norm_label(name);
    drop_brackets(n);
    const char *rest = skip_prefix(skip_prefix(n, rn.province), rn.prefecture);
    char *key = xasprintf("%s %s", code ? code : "", rest);
    free(n);
    return key;
}

/* A Result and the arena it lives in: every part of it — and, for
 * checker_run_bytes, the unpacked Submission whose strings it borrows —
 * comes from that arena and goes with it in checker_result_free. */
struct result_box {
    Reportd__Result res;             /* first: a Result pointer is a box pointer */
    struct arena *arena;
};

/* s kept as is when the Result may borrow it, else copied into the arena. */
static char *keep(struct arena *a, const char *s, int borrow)
{
    return borrow ? (char *)s : arena_strdup(a, s);
}

static Reportd__Result *result_new(struct arena *a, const char *submission_id, int borrow)
{
    struct result_box *box = arena_alloc(a, sizeof *box);
    box->arena = a;
    Reportd__Result *res = &box->res;
    reportd__result__init(res);
    res->schema_version = 1;
    res->submission_id = keep(a, submission_id ? submission_id : "", borrow || !submission_id);
    res->ruleset_version = (char *)CHECK_RULESET_VERSION;
    return res;
}

static struct arena *arena_of(const Reportd__Result *res)
{
    return ((const struct result_box *)res)->arena;
}

static Reportd__Result *rejected_in(struct arena *a, const char *submission_id, int borrow,
                                    const char *reason)
{
    Reportd__Result *res = result_new(a, submission_id, borrow);
    res->status = REPORTD__STATUS__STATUS_REJECTED;
    res->reject_reason = arena_strdup(a, reason);
    return res;
}

Reportd__Result *checker_rejected(const char *submission_id, const char *reason)
{
    return rejected_in(arena_new(1024), submission_id, 0, reason);
}

/* Ids and labels are the layout's, borrowed: the checker outlives its Results. */
static Reportd__CellRef *cell_ref(struct arena *a, const struct report *r, int ti, int cell)
{
    const struct layout_table *lt = &r->tables[ti].layout->tables[ti];
    const struct layout_row *row = &lt->rows[lt->cell_row[cell]];
    const struct layout_col *col = &lt->cols[lt->cell_col[cell]];
    Reportd__CellRef *m = arena_alloc(a, sizeof *m);
    reportd__cell_ref__init(m);
    m->table = (char *)layout_table_id(ti);
    m->row = row->id;
    m->column = col->id;
    m->row_label = row->label;
    if (col->group) {
        size_t g = strlen(col->group), l = strlen(col->label);
        m->column_label = arena_alloc(a, g + l + 2);
        memcpy(m->column_label, col->group, g);
        m->column_label[g] = ' ';
        memcpy(m->column_label + g + 1, col->label, l + 1);
    } else {
        m->column_label = col->label;
    }
    return m;
}

static Reportd__CellRef **cell_refs(struct arena *a, const struct report *r, int ti, const int *cells,
                                    int n, size_t *out_n)
{
    *out_n = (size_t)n;
    if (n == 0 || ti < 0)
        return (*out_n = 0, NULL);
    Reportd__CellRef **v = arena_alloc(a, (size_t)n * sizeof *v);
    for (int i = 0; i < n; i++)
        v[i] = cell_ref(a, r, ti, cells[i]);
    return v;
}

static Reportd__Finding *finding_to_pb(struct arena *a, const struct report *r, const struct finding *f)
{
    Reportd__Finding *m = arena_alloc(a, sizeof *m);
    reportd__finding__init(m);
    const struct layout_table *lt = f->table >= 0 && r->tables[f->table].layout
                                        ? &r->tables[f->table].layout->tables[f->table] : NULL;
    m->rule = (char *)findings_rule(f->rule)->id;
    m->severity = (Reportd__Severity)f->severity;
    m->table = (char *)(f->table >= 0 ? layout_table_id(f->table) : "");
    m->row = lt && f->row >= 0 ? lt->rows[f->row].id : (char *)"";
    m->column = lt && f->col >= 0 ? lt->cols[f->col].id : (char *)"";
    m->expected = arena_strdup(a, f->expected);
    m->actual = arena_strdup(a, f->actual);
    m->message_zh = arena_strdup(a, f->message_zh ? f->message_zh : "");
    m->message_en = arena_strdup(a, f->message_en ? f->message_en : "");
    if (lt) {
        m->cells = cell_refs(a, r, f->table, f->cells, f->ncells, &m->n_cells);
        m->missing = cell_refs(a, r, f->table, f->missing, f->nmissing, &m->n_missing);
    }
    return m;
}

/* How the document was read: the reader, and per table whether its cells
 * were reconstructed and which rows were left unread. */
static void read_info(struct arena *a, const struct report *r, Reportd__Enrichment *e)
{
    e->reader = (char *)r->reader;              /* static */
    for (int ti = 0; ti < LAYOUT_TABLES; ti++) {
        const struct report_table *t = &r->tables[ti];
        if (!t->layout || (!t->reconstructed && !t->unread))
            continue;
        Reportd__TableRead *m = arena_alloc(a, sizeof *m);
        reportd__table_read__init(m);
        m->table = (char *)layout_table_id(ti);
        m->has_reconstructed = 1;
        m->reconstructed = t->reconstructed != 0;
        const struct layout_table *lt = &t->layout->tables[ti];
        size_t n = 0;
        for (int row = 0; t->unread && row < lt->nrows; row++)
            n += t->unread[row] != NULL;
        m->unread = n ? arena_alloc(a, n * sizeof *m->unread) : NULL;
        for (int row = 0; t->unread && row < lt->nrows; row++)
            if (t->unread[row]) {
                size_t k = strlen(lt->rows[row].id), l = strlen(t->unread[row]);
                char *u = arena_alloc(a, k + l + 3);
                memcpy(u, lt->rows[row].id, k);
                memcpy(u + k, ": ", 2);
                memcpy(u + k + 2, t->unread[row], l + 1);
                m->unread[m->n_unread++] = u;
            }
        if (!e->tables_read)
            e->tables_read = arena_alloc(a, LAYOUT_TABLES * sizeof *e->tables_read);
        e->tables_read[e->n_tables_read++] = m;
    }
}

/* A whole government (本级政府, due 31 March) is named "…人民政府", or by its
 * division alone: 平潭综合实验区, 淮安市, 沭阳县 — a name that ends in a
 * division's suffix, where a department's ends in 局, 委员会, 办公室, 中心…. */
static int is_government(const char *name)
{
    static const char *const suffixes[] = {"人民政府", "省", "市", "县", "区", "旗", "州", "盟"};
    size_t n = name ? strlen(name) : 0;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && !strcmp(name + n - k, suffixes[i]))
            return 1;
    }
    return 0;
}

/* With an arena the strings are borrowed (they live at least as long as
 * the Result); without, copied to the heap for an Alert. */
static Reportd__Body *body_pb(struct arena *a, const char *name, const char *region, int government)
{
    Reportd__Body *b = arena_alloc(a, sizeof *b);
    reportd__body__init(b);
    b->name = a || !name ? (char *)name : xstrdup(name);
    b->region_code = a || !region ? (char *)region : xstrdup(region);
    b->has_kind = 1;
    b->kind = government < 0 ? REPORTD__BODY_KIND__BODY_UNKNOWN
              : government ? REPORTD__BODY_KIND__BODY_GOVERNMENT : REPORTD__BODY_KIND__BODY_DEPARTMENT;
    return b;
}

/* The check proper, into arena a; borrow: meta's strings live in a (or
 * longer), so the Result may point at them. */
static Reportd__Result *check_report(const struct checker *c, const struct report *r,
                                     const struct check_meta *meta, struct arena *a, int borrow)
{
    int64_t t0 = util_now_us();
    const char *name = meta->body_name ? meta->body_name : r->body_name;
    int gov = meta->government >= 0 ? meta->government : name ? is_government(name) : -1;
    unsigned year = meta->year ? meta->year : r->year;
    struct rules_ctx ctx = {&c->layouts, c->severity, year, gov, meta->submitted_at};
    struct findings fs = {0};
    rules_check_report(&ctx, r, &fs);
    int compared = 0;
    if (meta->previous)
        compared = crossyear_check(&ctx, r, meta->previous, meta->previous_year, &fs);
    else if (meta->previous_unusable)
        crossyear_unusable(&ctx, meta->previous_unusable, &fs);

    Reportd__Result *res = result_new(a, meta->submission_id, borrow);
    int worst = -1;
    res->findings = fs.n ? arena_alloc(a, fs.n * sizeof *res->findings) : NULL;
    for (size_t i = 0; i < fs.n; i++) {
        res->findings[res->n_findings++] = finding_to_pb(a, r, &fs.v[i]);
        if ((int)fs.v[i].severity > worst)
            worst = (int)fs.v[i].severity;
    }
    findings_free(&fs);
    res->status = worst == SEV_ERROR ? REPORTD__STATUS__STATUS_FAIL
                  : worst == SEV_WARNING ? REPORTD__STATUS__STATUS_WARN : REPORTD__STATUS__STATUS_PASS;
    res->enrichment = arena_alloc(a, sizeof *res->enrichment);
    reportd__enrichment__init(res->enrichment);
    struct enrich_ctx ec = {c->regions, (const struct evp_md_st *)c->sha256, meta->region_code, name,
                            year, gov, meta->submitted_at, a};
    enrich_report(&ec, r, res->enrichment);
    read_info(a, r, res->enrichment);
    if (compared)
        enrich_year_on_year(a, meta->previous,
                            meta->previous_year ? meta->previous_year : year ? year - 1 : 0,
                            res->enrichment);
    res->has_layout = 1;
    res->layout = r->layout;
    /* the title's name lives in r, which goes before the Result: copied */
    const char *body = name == r->body_name ? arena_strdup(a, name) : keep(a, name, borrow || !name);
    const char *code = res->enrichment->region ? res->enrichment->region->code : meta->region_code;
    if (code == meta->region_code)
        code = keep(a, code, borrow || !code);
    res->body = body_pb(a, body, code, gov);
    if (year)
        res->has_year = 1, res->year = year;
    res->has_processing_us = 1;
    res->processing_us = (uint64_t)(util_now_us() - t0);
    return res;
}

Reportd__Result *checker_check_report(const struct checker *c, const struct report *r,
                                      const struct check_meta *meta)
{
    return check_report(c, r, meta, arena_new(16384), 0);
}

static int government_of(const Reportd__Body *b)
{
    if (!b || !b->has_kind || b->kind == REPORTD__BODY_KIND__BODY_UNKNOWN)
        return -1;
    return b->kind == REPORTD__BODY_KIND__BODY_GOVERNMENT;
}

/* REJECTED for a Submission that was decoded: the envelope is kept — body
 * name, region (with its names), kind, year — so the Result and its Alert
 * reach the subscribers of the submitter's region. */
static Reportd__Result *rejected(const struct checker *c, const Reportd__Submission *sub,
                                 struct arena *a, int borrow, const char *reason)
{
    Reportd__Result *res = rejected_in(a, sub->submission_id, borrow, reason);
    const Reportd__Body *b = sub->body;
    const char *name = b && b->name && *b->name ? keep(a, b->name, borrow) : NULL;
    const char *code = b && b->region_code && *b->region_code ? keep(a, b->region_code, borrow) : NULL;
    int gov = government_of(b);
    if (gov < 0 && name)
        gov = is_government(name);
    struct enrich_ctx ec = {c->regions, NULL, code, name, 0, gov, 0, a};
    res->enrichment = arena_alloc(a, sizeof *res->enrichment);
    reportd__enrichment__init(res->enrichment);
    enrich_region(&ec, res->enrichment);
    if (name || code)
        res->body = body_pb(a, name, res->enrichment->region ? res->enrichment->region->code : code,
                            gov);
    if (sub->has_year && sub->year)
        res->has_year = 1, res->year = sub->year;
    return res;
}

/* The previous year attached to a Submission, read against the layouts; NULL
 * with the reason in why when it cannot be used. */
static struct report *previous_of(const struct checker *c, const Reportd__PreviousReport *p, char *why,
                                  size_t whylen)
{
    struct report *prev = NULL;
    size_t n = reportd__previous_report__get_packed_size(p);
    if (n > CHECK_MAX_PREVIOUS)
        errf(why, whylen, "%zu bytes, over the limit of %zu", n, CHECK_MAX_PREVIOUS);
    else if (reportpb_to_report(&c->layouts, p->report, &prev, why, whylen) < 0)
        prev = NULL;
    return prev;
}

/* r as a protobuf Report living in arena a (Result.report, asked for by
 * Submission.want_report); NULL when it packs to more than CHECK_MAX_PREVIOUS,
 * the most a broker would attach as a previous year. */
static Reportd__Report *report_in(const struct report *r, struct arena *a)
{
    size_t n;
    uint8_t *bytes = reportpb_write(r, &n);
    char why[200];
    Reportd__Report *m = n > CHECK_MAX_PREVIOUS ? NULL
        : (Reportd__Report *)pbguard_unpack_in(&reportd__report__descriptor, bytes, n,
                                                PBGUARD_BUDGET(n), a, why, sizeof why);
    free(bytes);
    return m;
}

/* checker_run into arena a; borrow: sub lives in a. */
static Reportd__Result *run(const struct checker *c, const Reportd__Submission *sub, struct arena *a,
                            int borrow)
{
    int64_t t0 = util_now_us();
    char err[1024];
    struct report *r = NULL;
    const char *id = sub->submission_id;
    if (sub->schema_version != 1) {
        snprintf(err, sizeof err, "unsupported Submission schema_version %u (this reportd speaks 1)",
                 sub->schema_version);
        return rejected(c, sub, a, borrow, err);
    }
    unsigned year = sub->has_year ? sub->year : 0;
    if (sub->content_case == REPORTD__SUBMISSION__CONTENT_REPORT) {
        /* strings of a Submission from bytes were checked in pbguard's walk */
        if (reportpb_to_report_checked(&c->layouts, sub->report, borrow, &r, err, sizeof err) < 0)
            return rejected(c, sub, a, borrow, err);
    } else if (sub->content_case == REPORTD__SUBMISSION__CONTENT_DOCUMENT) {
        const Reportd__Document *d = sub->document;
        if (d->data.len > c->max_document) {
            snprintf(err, sizeof err, "document of %zu bytes exceeds the limit of %zu", d->data.len, c->max_document);
            return rejected(c, sub, a, borrow, err);
        }
        if (reader_read(&c->layouts, d->data.data, d->data.len, (enum reader_form)d->form,
                        d->filename, year, &r, err, sizeof err) < 0)
            return rejected(c, sub, a, borrow, err);
    } else {
        return rejected(c, sub, a, borrow, "the Submission carries neither a report nor a document");
    }
    const Reportd__Body *b = sub->body;
    struct check_meta meta = {.submission_id = id,
                              .body_name = b && b->name && *b->name ? b->name : NULL,
                              .region_code = b && b->region_code && *b->region_code ? b->region_code : NULL,
                              .government = government_of(b), .year = year,
                              .submitted_at = sub->has_submitted_at ? sub->submitted_at : 0};
    struct report *prev = NULL;
    char why[512];
    if (sub->previous) {
        prev = previous_of(c, sub->previous, why, sizeof why);
        meta.previous = prev;
        meta.previous_year = sub->previous->year;
        meta.previous_unusable = prev ? NULL : why;
    }
    Reportd__Result *res = check_report(c, r, &meta, a, borrow);
    if (sub->has_want_report && sub->want_report)
        res->report = report_in(r, a);
    report_destroy(&r);
    report_destroy(&prev);
    res->processing_us = (uint64_t)(util_now_us() - t0);
    return res;
}

Reportd__Result *checker_run(const struct checker *c, const Reportd__Submission *sub)
{
    return run(c, sub, arena_new(16384), 0);
}

/* The reader a Submission's content goes through (for metrics). */
static const char *reader_of(const Reportd__Submission *sub)
{
    if (sub->content_case == REPORTD__SUBMISSION__CONTENT_REPORT)
        return "report";
    if (sub->content_case != REPORTD__SUBMISSION__CONTENT_DOCUMENT)
        return "none";
    const Reportd__Document *d = sub->document;
    enum reader_form f = d->form ? (enum reader_form)d->form : reader_detect(d->data.data, d->data.len);
    const char *name = reader_form_name(f);
    return name ? name : "none";
}

Reportd__Result *checker_run_bytes_reader(const struct checker *c, const uint8_t *buf, size_t len,
                                          const char **reader)
{
    char err[512], why[200];
    if (reader)
        *reader = "none";
    size_t limit = c->max_document + CHECK_MAX_PREVIOUS + 65536;
    if (len > limit) {
        snprintf(err, sizeof err, "message of %zu bytes exceeds the limit of %zu", len, limit);
        return checker_rejected("", err);
    }
    /* strings UTF-8 without NUL, and a memory budget: protobuf-c checks
     * neither. The Submission goes into the arena the Result is built in, so
     * the Result borrows its strings; both go in checker_result_free. */
    struct arena *a = arena_new(4 * len + 16384);
    Reportd__Submission *sub = (Reportd__Submission *)pbguard_unpack_in(
        &reportd__submission__descriptor, buf, len, PBGUARD_BUDGET(len), a, why, sizeof why);
    if (!sub) {
        snprintf(err, sizeof err, "the request body (%zu bytes) is not a valid Submission protobuf%s%s",
                 len, *why ? ": " : "", why);
        return rejected_in(a, "", 1, err);
    }
    if (reader)
        *reader = reader_of(sub);
    return run(c, sub, a, 1);
}

Reportd__Result *checker_run_bytes(const struct checker *c, const uint8_t *buf, size_t len)
{
    return checker_run_bytes_reader(c, buf, len, NULL);
}

void checker_result_free(Reportd__Result *res)
{
    if (res) {
        struct arena *a = arena_of(res);
        arena_destroy(&a);
    }
}

/* A finding for an Alert: rule, severity, table/row/column ids,
 * expected/actual and the one-line message (message_zh) — without its cell
 * lists (every cell with its official labels: most of a finding's bytes) and
 * without message_en; the Result has them all. A typical Alert (湘乡's, 5
 * findings) stays under 1 KiB. */
static Reportd__Finding *finding_brief(const Reportd__Finding *f)
{
    Reportd__Finding brief = *f;
    brief.n_cells = brief.n_missing = 0;
    brief.cells = brief.missing = NULL;
    brief.message_en = NULL;
    size_t n = reportd__finding__get_packed_size(&brief);
    uint8_t *b = xmalloc(n);
    reportd__finding__pack(&brief, b);
    Reportd__Finding *copy = reportd__finding__unpack(NULL, n, b);
    free(b);
    return copy;
}

Reportd__Alert *checker_alert(const Reportd__Result *res)
{
    Reportd__Alert *a = xmalloc(sizeof *a);
    reportd__alert__init(a);
    a->schema_version = 1;
    a->submission_id = xstrdup(res->submission_id);
    a->status = res->status;
    if (res->body)
        a->body = body_pb(NULL, res->body->name, res->body->region_code,
                          government_of(res->body) < 0 ? -1 : government_of(res->body));
    if (res->enrichment && res->enrichment->region) {
        a->region = xmalloc(sizeof *a->region);
        reportd__region__init(a->region);
        const Reportd__Region *g = res->enrichment->region;
        a->region->code = g->code ? xstrdup(g->code) : NULL;
        a->region->province = g->province ? xstrdup(g->province) : NULL;
        a->region->prefecture = g->prefecture ? xstrdup(g->prefecture) : NULL;
        a->region->county = g->county ? xstrdup(g->county) : NULL;
        a->region->province_code = g->province_code ? xstrdup(g->province_code) : NULL;
        a->region->prefecture_code = g->prefecture_code ? xstrdup(g->prefecture_code) : NULL;
    }
    a->has_year = res->has_year;
    a->year = res->year;
    a->has_errors = a->has_warnings = a->has_notices = 1;
    for (size_t i = 0; i < res->n_findings; i++) {
        Reportd__Severity s = res->findings[i]->severity;
        a->errors += s == REPORTD__SEVERITY__SEV_ERROR;
        a->warnings += s == REPORTD__SEVERITY__SEV_WARNING;
        a->notices += s == REPORTD__SEVERITY__SEV_NOTICE;
    }
    a->top_findings = xcalloc(CHECK_ALERT_TOP, sizeof *a->top_findings);
    for (int sev = REPORTD__SEVERITY__SEV_ERROR; sev >= REPORTD__SEVERITY__SEV_NOTICE; sev--)
        for (size_t i = 0; i < res->n_findings && a->n_top_findings < CHECK_ALERT_TOP; i++)
            if ((int)res->findings[i]->severity == sev)
                a->top_findings[a->n_top_findings++] = finding_brief(res->findings[i]);
    return a;
}

void checker_alert_free(Reportd__Alert *a)
{
    if (a)
        protobuf_c_message_free_unpacked(&a->base, NULL);
}
