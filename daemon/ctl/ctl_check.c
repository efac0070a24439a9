/* ctl_check: `reportctl check` and `reportctl convert` — the offline checker.
 * Reads each file with the same code the workers run (reader.c, check.c) and
 * prints findings for a person, grouped by table, or one JSON line a report.
 * The files of one body (checker_body_key) form a chain checked in year order
 * whatever the argument order, each against the year before when it is
 * there; --previous FILE gives one FILE its previous year. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check/check.h"
#include "ctl/commands.h"
#include "ctl/ctl.h"
#include "check/jsonout.h"
#include "read/reader.h"
#include "report/layout.h"
#include "report/report.h"
#include "read/reportpb.h"
#include "base/util.h"
#include "read/yamlreport.h"

#define CTL_MAX_FILE (64u << 20)

struct check_opts {
    int json;
    int form;
    unsigned year;
    const char *region;
    int government;
    int64_t submitted_at;
    const char *out;
    const char *to;
    const char *previous;       /* --previous FILE, or NULL */
    int fail_on;                /* exit 1 at this status or above (4: never) */
};

static int parse_date(const char *s, int64_t *out)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%d", &tm);
    if (!end || *end)
        return -1;
    tm.tm_hour = 12;             /* noon in China: the day is unambiguous */
    *out = (int64_t)timegm(&tm) - 8 * 3600;
    return 0;
}

static int take_opt(void *ctx, int key, const char *arg)
{
    struct check_opts *o = ctx;
    long year;
    switch (key) {
    case 'j': o->json = 1; return 0;
    case 'f':
        if ((o->form = reader_form_parse(arg)) < 0) {
            fprintf(stderr, "reportctl: --form must be text, layout, flat, yaml, pb, pdf or html, not '%s'\n", arg);
            return CTL_EX_USAGE;
        }
        return 0;
    case 'y':
        if (ctl_number("--year", arg, 2000, 2100, &year) != 0)
            return CTL_EX_USAGE;
        o->year = (unsigned)year;
        return 0;
    case 'r': o->region = arg; return 0;
    case 'k':
        if (!strcmp(arg, "government") || !strcmp(arg, "department")) {
            o->government = !strcmp(arg, "government");
            return 0;
        }
        fprintf(stderr, "reportctl: --kind must be department or government, not '%s'\n", arg);
        return CTL_EX_USAGE;
    case 's':
        if (parse_date(arg, &o->submitted_at) < 0) {
            fprintf(stderr, "reportctl: --submitted must be a date YYYY-MM-DD, not '%s'\n", arg);
            return CTL_EX_USAGE;
        }
        return 0;
    case 'F': return ctl_fail_on(arg, &o->fail_on);
    case 't': o->to = arg; return 0;
    case 'o': o->out = arg; return 0;
    case 'P': o->previous = arg; return 0;
    default: return CTL_EX_USAGE;
    }
}

/* Options of check or convert (argv[0]); -1 when parsed, else the exit code. */
static int parse_opts(int argc, char **argv, struct check_opts *o, int *first)
{
    memset(o, 0, sizeof *o);
    o->government = -1;
    o->fail_on = REPORTD__STATUS__STATUS_FAIL;
    return ctl_parse(argc, argv, take_opt, o, first);
}

static void print_finding(const Reportd__Finding *f)
{
    printf("    %-7s %-17s", jsonout_severity(f->severity), f->rule);
    if (f->row && *f->row)
        printf(" row %s", f->row);
    if (f->column && *f->column)
        printf(" column %s", f->column);
    printf(": expected %s, actual %s\n", f->expected, f->actual);
    printf("            %s\n", f->message_zh);
}

static void print_rate(const char *name, const Reportd__Rate *r)
{
    if (r && r->has_value)
        printf(" %s %.1f%% (%s)", name, r->value * 100, jsonout_rating(r->rating));
}

static void print_enrichment(const Reportd__Enrichment *e)
{
    printf("  figures:");
    if (e->has_received)
        printf(" received %lld", (long long)e->received);
    if (e->has_concluded)
        printf(", concluded %lld", (long long)e->concluded);
    print_rate("disclosure", e->disclosure_rate);
    if (e->has_reviews)
        printf(", reviews %lld", (long long)e->reviews);
    if (e->has_suits)
        printf(", suits %lld", (long long)e->suits);
    printf("\n");
    const Reportd__YearOnYear *y = e->year_on_year;
    if (y) {
        printf("  year on year (against %u):", y->previous_year);
        if (y->has_received)
            printf(" received %+lld", (long long)y->received);
        if (y->has_concluded)
            printf(", concluded %+lld", (long long)y->concluded);
        if (y->has_disclosure_rate)
            printf(", disclosure %+.1f points", y->disclosure_rate * 100);
        if (y->has_reviews)
            printf(", reviews %+lld", (long long)y->reviews);
        if (y->has_suits)
            printf(", suits %+lld", (long long)y->suits);
        printf("\n");
    }
    if (e->region)
        printf("  region: %s %s %s %s\n", e->region->code, e->region->province ? e->region->province : "",
               e->region->prefecture ? e->region->prefecture : "", e->region->county ? e->region->county : "");
    if (e->deadline) {
        printf("  deadline: %s", e->deadline);
        if (e->has_days_after_deadline)
            printf(" (submitted %d day(s) %s)", abs(e->days_after_deadline),
                   e->days_after_deadline > 0 ? "late" : "before");
        printf("\n");
    }
    if (e->fingerprint)
        printf("  fingerprint: sha256:%s\n", e->fingerprint);
    if (e->n_tables_read) {
        printf("  read: %s; cells reconstructed from digits that ran together:", e->reader ? e->reader : "?");
        for (size_t i = 0; i < e->n_tables_read; i++)
            if (e->tables_read[i]->reconstructed)
                printf(" %s", e->tables_read[i]->table);
        printf("\n");
        for (size_t i = 0; i < e->n_tables_read; i++)
            for (size_t k = 0; k < e->tables_read[i]->n_unread; k++)
                printf("  unread: %s %s\n", e->tables_read[i]->table, e->tables_read[i]->unread[k]);
    }
}

static void print_human(const char *file, const Reportd__Result *res)
{
    printf("%s: %s", file, jsonout_status(res->status));
    if (res->status == REPORTD__STATUS__STATUS_REJECTED) {
        printf("\n  %s\n", res->reject_reason);
        return;
    }
    printf(" (layout %u", res->layout);
    if (res->body && res->body->name)
        printf(", %s", res->body->name);
    if (res->has_year)
        printf(", %u", res->year);
    printf(", %zu finding(s))\n", res->n_findings);
    for (int g = -1; g < LAYOUT_TABLES; g++) {     /* the report's own findings, then T2..T4 */
        const char *group = g < 0 ? "" : layout_table_id(g);
        int header = 0;
        for (size_t i = 0; i < res->n_findings; i++) {
            const Reportd__Finding *f = res->findings[i];
            if (strcmp(f->table ? f->table : "", group))
                continue;
            if (!header++)
                printf("  %s\n", g >= 0 ? group : "report");
            print_finding(f);
        }
    }
    if (res->enrichment)
        print_enrichment(res->enrichment);
}

static struct checker *open_checker(void)
{
    char err[1024];
    struct checker *c = checker_new(NULL, err, sizeof err);
    if (!c)
        fprintf(stderr, "reportctl: %s; set REPORTD_DATADIR to the directory holding layouts/ "
                "and regions.tsv (looked in %s)\n", err, util_datadir());
    return c;
}

/* 0, -1 when the file is not a report, -2 when it cannot be read. form and
 * year as --form and --year (0: detect, from the report). */
static int read_report(const struct checker *c, const char *file, int form, unsigned year,
                       struct report **r, char *err, size_t errlen)
{
    size_t len;
    int in = !strcmp(file, "-");  /* "-": standard input, named <stdin> in messages */
    char *data = util_read_file(in ? "/dev/stdin" : file, CTL_MAX_FILE, &len, err, errlen);
    if (!data)
        return -2;
    int rc = reader_read(checker_layouts(c), (const uint8_t *)data, len, (enum reader_form)form,
                         in ? "<stdin>" : file, year, r, err, errlen);
    free(data);
    return rc;
}

/* The worse of two exit codes: 66 (cannot open) > 65 (not a report) > 1 > 0. */
static int worse(int a, int b)
{
    return a > b ? a : b;
}

/* One FILE of check, read before any is checked so that the years of one
 * body can be put in order. */
struct item {
    const char *file;
    size_t pos;                  /* its place among the operands */
    struct report *r;            /* NULL when it could not be read */
    int rc;                      /* read_report's: 0, -1 not a report, -2 cannot be read */
    char err[1024];
    unsigned year;               /* --year, else the report's; 0 unknown */
    char *body;                  /* checker_body_key, NULL when it names no body */
    size_t group;                /* pos of the first operand of the same body */
};

static int by_chain(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    if (x->year != y->year)
        return x->year < y->year ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Read every operand, key each by body, and order them: bodies in the order
 * they first appear, each body's reports by year (then by position). */
static struct item *read_chain(const struct checker *c, const struct check_opts *o, char **files, size_t n)
{
    struct item *v = xcalloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        struct item *it = &v[i];
        it->file = files[i];
        it->pos = it->group = i;
        it->rc = read_report(c, it->file, o->form, o->year, &it->r, it->err, sizeof it->err);
        if (it->rc < 0)
            continue;
        it->year = o->year ? o->year : it->r->year;
        it->body = checker_body_key(c, it->r->body_name, o->region);
        for (size_t j = 0; j < i && it->body; j++)
            if (v[j].body && !strcmp(v[j].body, it->body)) {
                it->group = v[j].group;
                break;
            }
    }
    qsort(v, n, sizeof *v, by_chain);
    return v;
}

/* Check one read report against prev (NULL: none), print it; returns the exit code it earns. */
static int check_one(const struct checker *c, const struct check_opts *o, const struct item *it,
                     const struct report *prev, unsigned prev_year)
{
    int rc = CTL_EX_OK;
    Reportd__Result *res;
    if (it->rc < 0) {
        res = checker_rejected("", it->err);
        rc = it->rc == -2 ? CTL_EX_NOINPUT : CTL_EX_DATAERR;
    } else {
        struct check_meta meta = {.submission_id = "", .region_code = o->region, .government = o->government,
                                  .year = o->year, .submitted_at = o->submitted_at, .previous = prev,
                                  .previous_year = prev_year};
        res = checker_check_report(c, it->r, &meta);
        if ((int)res->status >= o->fail_on)
            rc = CTL_EX_FINDINGS;
    }
    if (o->json) {
        char *line = jsonout_result(res, it->file);
        printf("%s\n", line);
        free(line);
    } else {
        print_human(it->file, res);
    }
    checker_result_free(res);
    return rc;
}

/* --previous FILE: read it (any form, its own year). NULL after a message,
 * with the exit code in *rc. */
static struct report *read_previous(const struct checker *c, const char *file, int *rc)
{
    char err[1024];
    struct report *prev = NULL;
    int got = read_report(c, file, 0, 0, &prev, err, sizeof err);
    if (got == 0)
        return prev;
    fprintf(stderr, "reportctl: --previous %s: %s\n", file, err);
    *rc = got == -2 ? CTL_EX_NOINPUT : CTL_EX_DATAERR;
    return NULL;
}

int ctl_check(int argc, char **argv)
{
    struct check_opts o;
    int first, rc = parse_opts(argc, argv, &o, &first);
    if (rc >= 0)
        return rc;
    if (first >= argc)
        return ctl_usage_error("check", "no FILE to check");
    if (o.previous && argc - first != 1)
        return ctl_usage_error("check", "--previous goes with one FILE (several FILEs of one body are a chain)");
    struct checker *c = open_checker();
    if (!c)
        return CTL_EX_CONFIG;
    int worst = CTL_EX_OK;
    size_t n = (size_t)(argc - first);
    struct report *given = o.previous ? read_previous(c, o.previous, &worst) : NULL;
    struct item *v = o.previous && !given ? NULL : read_chain(c, &o, argv + first, n);
    for (size_t i = 0; v && i < n; i++) {
        const struct item *p = i ? &v[i - 1] : NULL;
        if (given)
            worst = worse(worst, check_one(c, &o, &v[i], given, given->year));
        else if (p && p->r && p->group == v[i].group && p->year && p->year + 1 == v[i].year)
            worst = worse(worst, check_one(c, &o, &v[i], p->r, p->year));
        else
            worst = worse(worst, check_one(c, &o, &v[i], NULL, 0));
    }
    for (size_t i = 0; v && i < n; i++) {
        report_destroy(&v[i].r);
        free(v[i].body);
    }
    free(v);
    report_destroy(&given);
    checker_destroy(&c);
    return worst;
}

int ctl_convert(int argc, char **argv)
{
    struct check_opts o;
    int first, rc = parse_opts(argc, argv, &o, &first);
    if (rc >= 0)
        return rc;
    if (!o.to || (strcmp(o.to, "yaml") && strcmp(o.to, "pb")))
        return ctl_usage_error("convert", "--to must be yaml or pb");
    if (first != argc - 1)
        return ctl_usage_error("convert", "one FILE to convert");
    struct checker *c = open_checker();
    if (!c)
        return CTL_EX_CONFIG;
    char err[1024];
    struct report *r = NULL;
    if ((rc = read_report(c, argv[first], o.form, o.year, &r, err, sizeof err)) < 0) {
        fprintf(stderr, "reportctl: %s\n", err);
        checker_destroy(&c);
        return rc == -2 ? CTL_EX_NOINPUT : CTL_EX_DATAERR;
    }
    size_t len;
    char *data = !strcmp(o.to, "yaml") ? yamlreport_write(r, &len) : (char *)reportpb_write(r, &len);
    FILE *f = o.out ? fopen(o.out, "wb") : stdout;
    if (!f || fwrite(data, 1, len, f) != len || (o.out && fclose(f) != 0)) {
        fprintf(stderr, "reportctl: cannot write %s\n", o.out ? o.out : "standard output");
        rc = CTL_EX_CANTCREAT;
    }
    free(data);
    report_destroy(&r);
    checker_destroy(&c);
    return rc;
}
