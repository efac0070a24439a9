/* fuzz_targets: the entry points the libFuzzer targets (tests/fuzz/fuzz_*.c)
 * and the regression replay (tests/check/test_badinput.c) share, so a crasher kept
 * under tests/regress/<target>/ runs through exactly the code that found it.
 * Each entry frees everything it allocated and returns 0, or -1 when an
 * invariant of the answer is broken (the fuzzers abort on that). Header-only:
 * every function is static inline, each program is one translation unit. */
#ifndef REPORTD_FUZZ_TARGETS_H
#define REPORTD_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/pbguard.h"
#include "check/check.h"
#include "conf/config.h"
#include "wire/envelope.h"
#include "wire/mdp.h"
#include "read/digitsplit.h"
#include "read/reader.h"
#include "report/report.h"
#include "read/reportpb.h"
#include "base/util.h"
#include "read/yamlreport.h"

#define FUZZ_MAX_INPUT ((size_t)1 << 20)     /* bytes; libFuzzer runs with -max_len below it */
#define FUZZ_MAX_DOCUMENT ((size_t)1 << 20)  /* the checker's max_document in the targets */

/* The checker every target shares: data files from ./config (run from the
 * project root). NULL with a message on stderr when they are missing. */
static inline struct checker *fuzz_checker_new(void)
{
    char err[1024] = "";
    struct checker_options opt = {.datadir = "config", .max_document = FUZZ_MAX_DOCUMENT};
    struct checker *c = checker_new(&opt, err, sizeof err);
    if (!c)
        fprintf(stderr, "fuzz: checker_new: %s (run from the project root)\n", err);
    return c;
}

/* A Result must name a status; REJECTED must say why, the others must not. */
static inline int fuzz_result_ok(const Reportd__Result *res)
{
    if (!res || !res->submission_id || !res->ruleset_version)
        return -1;
    if (res->status == REPORTD__STATUS__STATUS_REJECTED)
        return res->reject_reason && *res->reject_reason ? 0 : -1;
    if (res->status != REPORTD__STATUS__STATUS_PASS && res->status != REPORTD__STATUS__STATUS_WARN &&
        res->status != REPORTD__STATUS__STATUS_FAIL)
        return -1;
    for (size_t i = 0; i < res->n_findings; i++)
        if (!res->findings[i]->rule || !res->findings[i]->expected || !res->findings[i]->actual)
            return -1;
    return 0;
}

/* (a) Submission bytes → unpack → read → check → Result, and its Alert. */
static inline int fuzz_submission(const struct checker *c, const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    Reportd__Result *res = checker_run_bytes(c, data, size);
    int rc = fuzz_result_ok(res);
    if (rc == 0) {
        /* what the broker publishes must pack: a Result with a bad string would not */
        size_t n = reportd__result__get_packed_size(res);
        uint8_t *b = xmalloc(n ? n : 1);
        if (reportd__result__pack(res, b) != n)
            rc = -1;
        free(b);
        Reportd__Alert *a = checker_alert(res);
        checker_alert_free(a);
    }
    checker_result_free(res);
    return rc;
}

/* The fingerprint of r as a check computes it ("" when there is none). */
static inline char *fuzz_fingerprint(const struct checker *c, const struct report *r, int *rc)
{
    struct check_meta meta = {.submission_id = "fuzz", .government = -1};
    Reportd__Result *res = checker_check_report(c, r, &meta);
    if (fuzz_result_ok(res) < 0)
        *rc = -1;
    const char *fp = res->enrichment && res->enrichment->fingerprint ? res->enrichment->fingerprint : "";
    char *copy = xstrdup(fp);
    checker_result_free(res);
    return copy;
}

/* Read back what a writer made of r (form pb or yaml): it must read and have
 * the same fingerprint — the forms are lossless. */
static inline int fuzz_round_trip(const struct checker *c, const struct report *r, const char *fp,
                                  enum reader_form form)
{
    size_t n = 0;
    char err[1024];
    uint8_t *data = form == READER_YAML ? (uint8_t *)yamlreport_write(r, &n) : reportpb_write(r, &n);
    struct report *back = NULL;
    int rc = 0;
    if (reader_read(checker_layouts(c), data, n, form, "fuzz.out", 0, &back, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz: the %s form does not read back: %s\n", reader_form_name(form), err);
        rc = -1;
    } else {
        char *fp2 = fuzz_fingerprint(c, back, &rc);
        if (strcmp(fp, fp2) != 0) {
            fprintf(stderr, "fuzz: the %s form changes the fingerprint\n", reader_form_name(form));
            rc = -1;
        }
        free(fp2);
    }
    report_destroy(&back);
    free(data);
    return rc;
}

/* (b) One reader with a fixed form; a report that was read is also checked
 * and written as YAML and protobuf, which must read back unchanged. */
static inline int fuzz_reader(const struct checker *c, enum reader_form form, const uint8_t *data,
                              size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    char err[1024];
    err[0] = '\0';
    struct report *r = NULL;
    if (reader_read(checker_layouts(c), data, size, form, "fuzz", 0, &r, err, sizeof err) < 0)
        return r == NULL && err[0] ? 0 : -1;
    if (!r)
        return -1;
    int rc = 0;
    char *fp = fuzz_fingerprint(c, r, &rc);
    if (fuzz_round_trip(c, r, fp, READER_PROTOBUF) < 0 || fuzz_round_trip(c, r, fp, READER_YAML) < 0)
        rc = -1;
    free(fp);
    report_destroy(&r);
    return rc;
}

#define FUZZ_SPLIT_NODES 200000ul   /* the solver's bound in the target: keeps each input fast */

/* (b') The digit-run solver alone. Byte 0 picks the table (T2, T3, T4 of the
 * 2021 layout); the rest is the rows' runs, separated by any byte that is
 * not a digit or '.'. A solution must cut each split row into exactly its
 * run, counts without leading zeros, and keep every identity lying wholly in
 * a split row; a refusal must say why and name a row of the table or none. */
static inline int fuzz_digitsplit(const struct checker *c, const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    const struct layout *l = layouts_find(checker_layouts(c), 2021);
    const struct layout_table *lt = &l->tables[data[0] % LAYOUT_TABLES];
    const char *runs[LAYOUT_MAX_ROWS];
    size_t lens[LAYOUT_MAX_ROWS];
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    for (int r = 0; r < lt->nrows; r++) {
        while (p < end && !((*p >= '0' && *p <= '9') || *p == '.'))
            p++;
        runs[r] = p;
        while (p < end && ((*p >= '0' && *p <= '9') || *p == '.'))
            p++;
        lens[r] = (size_t)(p - runs[r]);
    }
    char err[1024] = "";
    int bad = -2;
    struct digitsplit *d = digitsplit_solve(lt, runs, lens, FUZZ_SPLIT_NODES, &bad, err, sizeof err);
    if (!d)
        return err[0] && bad >= -1 && bad < lt->nrows ? 0 : -1;
    int rc = digitsplit_nodes(d) <= FUZZ_SPLIT_NODES + 1 ? 0 : -1;
    int64_t v[LAYOUT_MAX_ROWS * LAYOUT_MAX_COLS];
    uint8_t have[LAYOUT_MAX_ROWS * LAYOUT_MAX_COLS] = {0};
    for (int r = 0; r < lt->nrows; r++) {
        size_t at = 0, off, len;
        for (int k = 0; k < lt->rows[r].ncols && digitsplit_cell(d, r, k, &off, &len); k++) {
            int col = lt->rows[r].cols[k], cell = lt->cell_index[r][col];
            if (off != at || len == 0 || (!lt->cols[col].amount && lt->rows[r].ncols > 1 &&
                                          runs[r][off] == '0' && len > 1))
                rc = -1;
            at = off + len;
            if (!lt->cols[col].amount && len <= 15 && !memchr(runs[r] + off, '.', len)) {
                v[cell] = 0;
                for (size_t j = 0; j < len; j++)
                    v[cell] = v[cell] * 10 + (runs[r][off + j] - '0');
                have[cell] = 1;
            }
        }
        if (at && at != lens[r])
            rc = -1;
    }
    for (int s = 0; s < lt->nsums; s++) {
        const int *f = lt->sums[s].flat;
        for (int i = 0; i < lt->sums[s].ninst; i++) {
            int64_t side[2] = {0, 0};
            int complete = 1, row = -1, local = 1;
            for (int k = 0; k < 2; k++)
                for (int n = *f++; n > 0; n--, f++) {
                    complete &= have[*f];
                    side[k] += have[*f] ? v[*f] : 0;
                    local &= row < 0 || lt->cell_row[*f] == row;
                    row = lt->cell_row[*f];
                }
            if (complete && local && side[0] != side[1])
                rc = -1;
        }
    }
    digitsplit_destroy(&d);
    return rc;
}

/* (c) The config loader, on a memfd named by its /proc/self/fd path. */
static inline int fuzz_config(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    static int fd = -1;
    if (fd < 0 && (fd = memfd_create("reportd-fuzz-config", 0)) < 0)
        return -1;
    if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
        return -1;
    char path[64], err[1024];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    err[0] = '\0';
    struct config cfg;
    config_defaults(&cfg);
    int rc = config_load(&cfg, path, err, sizeof err);
    int ok = 0;
    if (rc < 0)
        ok = strncmp(err, path, strlen(path)) == 0 ? 0 : -1;    /* every error names the file */
    else if (!cfg.broker_bind || !cfg.publish_bind || !cfg.worker_connect || !cfg.service)
        ok = -1;
    config_free(&cfg);
    return ok;
}

/* (d) MDP frame parsing as the broker does it on its ROUTER: input bytes are
 * frames, each a length byte and that many bytes (the last may be short).
 * Frame 0 is the peer identity; mdp_parse starts at frame 1. */
static inline int fuzz_mdp(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    struct mdp_msg *m = mdp_msg_new();
    for (size_t i = 0; i < size;) {
        size_t n = data[i++];
        if (n > size - i)
            n = size - i;
        mdp_msg_add(m, data + i, n);
        i += n;
    }
    int rc = 0;
    char err[256];
    struct mdp_parsed p;
    for (size_t first = 0; first <= 1; first++) {
        err[0] = '\0';
        if (mdp_parse(m, first, &p, err, sizeof err) < 0) {
            if (!err[0])
                rc = -1;
            continue;
        }
        if (p.body > m->n || (p.worker && p.command != MDP_READY && p.command != MDP_REQUEST &&
                              p.command != MDP_REPLY && p.command != MDP_HEARTBEAT &&
                              p.command != MDP_DISCONNECT))
            rc = -1;
        if ((!p.worker || p.command == MDP_READY) && p.service >= m->n)
            rc = -1;
        if (p.worker && (p.command == MDP_REQUEST || p.command == MDP_REPLY) &&
            (p.address >= m->n || p.body > m->n || mdp_msg_size(m, p.address + 1) != 0))
            rc = -1;
        if ((!p.worker || p.command == MDP_READY)) {
            char *svc = mdp_msg_strdup(m, p.service);
            free(svc);
        }
    }
    mdp_msg_destroy(&m);
    return rc;
}

/* m packed (heap, *n). */
static inline uint8_t *fuzz_pack(const ProtobufCMessage *m, size_t *n)
{
    *n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = xmalloc(*n ? *n : 1);
    protobuf_c_message_pack(m, b);
    return b;
}

/* Whether a slice says what protobuf-c's C string says (NULL: absent). */
static inline int fuzz_same_str(struct envelope_str s, const char *c)
{
    if (!s.p || !c)
        return !s.p && !c;
    return strlen(c) == s.len && memcmp(c, s.p, s.len) == 0;
}

/* Whether the bytes a and b unpack as d to messages that pack the same. */
static inline int fuzz_same_message(const ProtobufCMessageDescriptor *d, const uint8_t *a,
                                    size_t alen, const ProtobufCMessage *b)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, alen, a);
    if (!m)
        return 0;
    size_t n1, n2;
    uint8_t *p1 = fuzz_pack(m, &n1), *p2 = fuzz_pack(b, &n2);
    int same = n1 == n2 && memcmp(p1, p2, n1) == 0;
    free(p1);
    free(p2);
    protobuf_c_message_free_unpacked(m, NULL);
    return same;
}

/* What the broker reads of a Result (envelope.c) against protobuf-c's
 * unpacking of it: the same fields, the same Alert bytes as checker_alert
 * packs, the same Result and report once the report is stripped. */
static inline int fuzz_envelope_result(const Reportd__Result *r, const uint8_t *data, size_t size,
                                       const struct envelope_result *e)
{
    unsigned sev[3] = {0, 0, 0};
    for (size_t i = 0; i < r->n_findings; i++)
        if (r->findings[i]->severity >= 0 && r->findings[i]->severity < 3)
            sev[r->findings[i]->severity]++;
    const Reportd__Region *g = r->enrichment ? r->enrichment->region : NULL;
    if (e->status != (int32_t)r->status || !fuzz_same_str(e->submission_id, r->submission_id) ||
        e->has_body != (r->body != NULL) ||
        (r->body && (!fuzz_same_str(e->body_name, r->body->name) ||
                     !fuzz_same_str(e->body_region, r->body->region_code))) ||
        e->has_region != (g != NULL) || (g && !fuzz_same_str(e->region_code, g->code)) ||
        e->has_year != (int)r->has_year || e->year != r->year || memcmp(e->severity, sev, sizeof sev) ||
        e->has_report != (r->report != NULL))
        return -1;
    size_t n1, n2;
    Reportd__Alert *a = checker_alert(r);
    uint8_t *p1 = fuzz_pack(&a->base, &n1), *p2 = envelope_alert(data, size, e, &n2);
    int rc = n1 == n2 && memcmp(p1, p2, n1) == 0 ? 0 : -1;
    free(p1);
    free(p2);
    checker_alert_free(a);
    if (rc == 0 && r->report) {
        uint8_t *rep;
        size_t rlen, slen;
        uint8_t *rest = envelope_strip_report(data, size, &slen, &rep, &rlen);
        Reportd__Result copy = *r;
        copy.report = NULL;
        if (!fuzz_same_message(&reportd__result__descriptor, rest, slen, &copy.base) ||
            !fuzz_same_message(&reportd__report__descriptor, rep, rlen, &r->report->base))
            rc = -1;
        free(rest);
        free(rep);
    }
    return rc;
}

/* (e) The broker's envelope reader on arbitrary bytes, read as a Result and
 * as a Submission: it accepts exactly what protobuf-c (for a Submission,
 * pbguard) unpacks, and reads the fields the unpacked message holds. */
static inline int fuzz_envelope(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    char err[256];
    struct envelope_result e;
    Reportd__Result *r = reportd__result__unpack(NULL, size, data);
    int rc = (envelope_result(data, size, &e, err, sizeof err) == 0) == (r != NULL) ? 0 : -1;
    if (rc == 0 && r)
        rc = fuzz_envelope_result(r, data, size, &e);
    reportd__result__free_unpacked(r, NULL);
    if (rc != 0)
        return rc;
    struct envelope_submission es;
    Reportd__Submission *sub = (Reportd__Submission *)pbguard_unpack(
        &reportd__submission__descriptor, data, size, PBGUARD_BUDGET(size), err, sizeof err);
    if ((envelope_submission(data, size, &es, err, sizeof err) == 0) != (sub != NULL))
        rc = -1;
    else if (sub && (!fuzz_same_str(es.submission_id, sub->submission_id) ||
                     !fuzz_same_str(es.body_name, sub->body ? sub->body->name : NULL) ||
                     !fuzz_same_str(es.body_region, sub->body ? sub->body->region_code : NULL) ||
                     es.has_year != (int)sub->has_year || es.year != sub->year ||
                     es.has_previous != (sub->previous != NULL)))
        rc = -1;
    reportd__submission__free_unpacked(sub, NULL);
    return rc;
}

/* A libFuzzer target around one entry point that needs a checker: the
 * checker is made once (LLVMFuzzerInitialize), then `call` — an expression of
 * checker, data and size returning < 0 on a broken invariant — runs on every
 * input. */
#define FUZZ_TARGET_WITH_CHECKER(call)                                    \
    int LLVMFuzzerInitialize(int *argc, char ***argv);                    \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);         \
    static struct checker *checker;                                       \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                     \
    {                                                                     \
        (void)argc, (void)argv;                                           \
        checker = fuzz_checker_new();                                     \
        if (!checker)                                                     \
            abort();                                                      \
        return 0;                                                         \
    }                                                                     \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)          \
    {                                                                     \
        if ((call) < 0)                                                   \
            abort();                                                      \
        return 0;                                                         \
    }

#endif
