/* enrich: figures derived from a checked report. Every figure from a missing
 * cell is left absent rather than computed from a guessed 0. Ratings follow
 * the public dashboard of report-format.md: correction rate > 15% red, > 10%
 * yellow; disclosure rate < 40% red, < 45% yellow; nothing rated when fewer
 * than 30 applications (or cases) were concluded. */
#include "check/enrich.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "report/region.h"
#include "check/rules.h"
#include "base/util.h"

#define ENRICH_MIN_CONCLUDED 30

/* The T3 总计 figures, in one pass over the rows. A group sum (refused.*,
 * unable.*) is known only when every cell of the group is. */
struct t3_totals {
    int64_t v[8];
    int known[8];
};

enum { T3_NEW, T3_CARRIED, T3_TOTAL, T3_FORWARD, T3_GRANTED, T3_PARTIAL, T3_REFUSED, T3_UNABLE };

static int t3_totals(const struct report *r, struct t3_totals *out)
{
    static const struct {
        const char *id;
        size_t prefix;           /* 0: exact match */
        int slot;
    } map[] = {
        {"new", 0, T3_NEW}, {"carried_over", 0, T3_CARRIED}, {"total", 0, T3_TOTAL},
        {"carry_forward", 0, T3_FORWARD}, {"granted", 0, T3_GRANTED}, {"partial", 0, T3_PARTIAL},
        {"refused.", 8, T3_REFUSED}, {"unable.", 7, T3_UNABLE},
    };
    const struct report_table *t = &r->tables[TABLE_T3];
    memset(out, 0, sizeof *out);
    if (!t->layout)
        return 0;
    const struct layout_table *lt = &t->layout->tables[TABLE_T3];
    int col = layout_col_index(lt, "total");
    int bad[8] = {0};
    for (int row = 0; row < lt->nrows; row++) {
        const char *id = lt->rows[row].id;
        for (size_t k = 0; k < sizeof map / sizeof map[0]; k++) {
            if (id[0] != map[k].id[0] || (map[k].prefix ? strncmp(id, map[k].id, map[k].prefix) : strcmp(id, map[k].id)))
                continue;
            const struct cell *c = &t->cells[lt->cell_index[row][col]];
            if (c->state != CELL_NUMBER || c->value < 0)
                bad[map[k].slot] = 1;
            else
                out->v[map[k].slot] += c->value, out->known[map[k].slot] = 1;
            break;
        }
    }
    for (int i = 0; i < 8; i++)
        out->known[i] &= !bad[i];
    return 1;
}

static int t4_count(const struct report *r, const char *col, int64_t *out)
{
    const struct report_table *t = &r->tables[TABLE_T4];
    if (!t->layout)
        return 0;
    const struct layout_table *lt = &t->layout->tables[TABLE_T4];
    int c = layout_col_index(lt, col);
    if (c < 0)
        return 0;
    const struct cell *cell = &t->cells[lt->cell_index[0][c]];
    if (cell->state != CELL_NUMBER || cell->value < 0)
        return 0;
    *out = cell->value;
    return 1;
}

static Reportd__Rate *rate(struct arena *a, int64_t num, int64_t den, int64_t concluded,
                           int higher_is_bad, double red, double yellow)
{
    if (den <= 0)
        return NULL;
    Reportd__Rate *rt = arena_alloc(a, sizeof *rt);
    reportd__rate__init(rt);
    rt->has_value = 1;
    rt->value = (double)num / (double)den;
    rt->has_rating = 1;
    if (concluded < ENRICH_MIN_CONCLUDED || red < 0)
        rt->rating = REPORTD__RATING__RATING_NONE;
    else if (higher_is_bad ? rt->value > red : rt->value < red)
        rt->rating = REPORTD__RATING__RATING_RED;
    else if (higher_is_bad ? rt->value > yellow : rt->value < yellow)
        rt->rating = REPORTD__RATING__RATING_YELLOW;
    else
        rt->rating = REPORTD__RATING__RATING_GREEN;
    return rt;
}

static void t3_figures(struct arena *a, const struct report *r, Reportd__Enrichment *e)
{
    struct t3_totals t;
    if (!t3_totals(r, &t))
        return;
    e->has_received = t.known[T3_NEW], e->received = t.v[T3_NEW];
    e->has_carried_over = t.known[T3_CARRIED], e->carried_over = t.v[T3_CARRIED];
    e->has_concluded = t.known[T3_TOTAL], e->concluded = t.v[T3_TOTAL];
    e->has_carried_forward = t.known[T3_FORWARD], e->carried_forward = t.v[T3_FORWARD];
    if (!e->has_concluded)
        return;
    int64_t total = t.v[T3_TOTAL];
    if (t.known[T3_GRANTED] && t.known[T3_PARTIAL])
        e->disclosure_rate = rate(a, t.v[T3_GRANTED] + t.v[T3_PARTIAL], total, total, 0, 0.40, 0.45);
    if (t.known[T3_REFUSED])
        e->refusal_rate = rate(a, t.v[T3_REFUSED], total, total, 1, -1, -1);
    if (t.known[T3_UNABLE])
        e->unable_rate = rate(a, t.v[T3_UNABLE], total, total, 1, -1, -1);
}

/* 纠正 / (维持 + 纠正 + 其他) of one T4 block; cols: upheld, corrected, other. */
static Reportd__Rate *correction(struct arena *a, const struct report *r, const char *const cols[3])
{
    int64_t upheld, corrected, other;
    if (!t4_count(r, cols[0], &upheld) || !t4_count(r, cols[1], &corrected) || !t4_count(r, cols[2], &other))
        return NULL;
    int64_t concluded = upheld + corrected + other;
    return rate(a, corrected, concluded, concluded, 1, 0.15, 0.10);
}

static void t4_figures(struct arena *a, const struct report *r, Reportd__Enrichment *e)
{
    int64_t v, w;
    if (t4_count(r, "review.total", &v))
        e->has_reviews = 1, e->reviews = v;
    if (t4_count(r, "suit_direct.total", &v) && t4_count(r, "suit_after_review.total", &w))
        e->has_suits = 1, e->suits = v + w;
    static const char *const review[3] = {"review.upheld", "review.corrected", "review.other"};
    static const char *const direct[3] = {"suit_direct.upheld", "suit_direct.corrected", "suit_direct.other"};
    static const char *const after[3] = {"suit_after_review.upheld", "suit_after_review.corrected",
                                         "suit_after_review.other"};
    e->review_correction_rate = correction(a, r, review);
    e->suit_direct_correction_rate = correction(a, r, direct);
    e->suit_after_review_correction_rate = correction(a, r, after);
}

/* A string of the region table: borrowed into an arena's Result (the table
 * outlives it), copied for a heap one. */
static char *held(struct arena *a, const char *s)
{
    return a || !s ? (char *)s : xstrdup(s);
}

void enrich_year_on_year(struct arena *a, const struct report *prev, unsigned prev_year,
                         Reportd__Enrichment *e)
{
    Reportd__Enrichment *p = xmalloc(sizeof *p);      /* the heap: freed below */
    reportd__enrichment__init(p);
    t3_figures(NULL, prev, p);
    t4_figures(NULL, prev, p);
    Reportd__YearOnYear *y = arena_alloc(a, sizeof *y);
    reportd__year_on_year__init(y);
    y->previous_year = prev_year;
    y->has_received = e->has_received && p->has_received;
    y->received = e->received - p->received;
    y->has_concluded = e->has_concluded && p->has_concluded;
    y->concluded = e->concluded - p->concluded;
    if (e->disclosure_rate && e->disclosure_rate->has_value && p->disclosure_rate && p->disclosure_rate->has_value)
        y->has_disclosure_rate = 1, y->disclosure_rate = e->disclosure_rate->value - p->disclosure_rate->value;
    y->has_reviews = e->has_reviews && p->has_reviews;
    y->reviews = e->reviews - p->reviews;
    y->has_suits = e->has_suits && p->has_suits;
    y->suits = e->suits - p->suits;
    e->year_on_year = y;
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

static void region_figures(const struct enrich_ctx *ctx, const char *name, Reportd__Enrichment *e)
{
    const char *code = ctx->region_code;
    if ((!code || !*code) && ctx->regions && name)
        code = regions_guess(ctx->regions, name);
    if (!code || !*code || !ctx->regions)
        return;
    struct region_names rn;
    if (regions_lookup(ctx->regions, code, &rn) < 0 && !rn.province)
        return;
    Reportd__Region *g = arena_alloc(ctx->arena, sizeof *g);
    reportd__region__init(g);
    g->code = arena_strdup(ctx->arena, rn.code);       /* codes: rn's own arrays */
    g->province_code = arena_strdup(ctx->arena, rn.province_code);
    g->prefecture_code = arena_strdup(ctx->arena, rn.prefecture_code);
    g->province = held(ctx->arena, rn.province);
    g->prefecture = held(ctx->arena, rn.prefecture);
    g->county = held(ctx->arena, rn.county);
    e->region = g;
}

void enrich_region(const struct enrich_ctx *ctx, Reportd__Enrichment *e)
{
    region_figures(ctx, ctx->body_name, e);
}

void enrich_report(const struct enrich_ctx *ctx, const struct report *r, Reportd__Enrichment *e)
{
    t3_figures(ctx->arena, r, e);
    t4_figures(ctx->arena, r, e);
    region_figures(ctx, ctx->body_name ? ctx->body_name : r->body_name, e);
    if (ctx->year) {
        char day[16];
        long due = rules_deadline_day(ctx->year, ctx->government);
        rules_format_day(due, day, sizeof day);
        e->deadline = arena_strdup(ctx->arena, day);
        if (ctx->submitted_at) {
            e->has_days_after_deadline = 1;
            e->days_after_deadline = (int32_t)(rules_china_day(ctx->submitted_at) - due);
        }
    }
    char hex[65];
    if (ctx->sha256 && enrich_fingerprint(ctx->sha256, r, hex) == 0)
        e->fingerprint = arena_strdup(ctx->arena, hex);
}

/* The canonical bytes go to a sink — a buffer, or the digest directly, so
 * the fingerprint copies only the small cell records, never the text. */
typedef int (*sink_fn)(void *arg, const void *p, size_t n);

/* A small staging block for the fixed-size records between sink calls. */
struct emit {
    sink_fn sink;
    void *arg;
    unsigned char block[4096];
    size_t used;
    int ok;
};

static void flush(struct emit *e)
{
    if (e->used && e->ok)
        e->ok = e->sink(e->arg, e->block, e->used);
    e->used = 0;
}

static void put(struct emit *e, const void *p, size_t n)
{
    if (n == 0)
        return;                  /* p may be NULL then (an absent raw text) */
    if (n > sizeof e->block / 4) {       /* text: straight to the sink */
        flush(e);
        if (e->ok)
            e->ok = e->sink(e->arg, p, n);
        return;
    }
    if (e->used + n > sizeof e->block)
        flush(e);
    memcpy(e->block + e->used, p, n);
    e->used += n;
}

static void put_u32(struct emit *e, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(e, x, 4);
}

/* Canonical form, version 1: "reportd-fp-1", then for each section in order its
 * text length (u32 LE, 0xffffffff when absent) and text, then for each table
 * its layout version (u32, 0 when absent) and per cell in layout order: state
 * byte, scale byte, value (i64 LE), raw length (u32 LE) and raw text. */
static int canonical(const struct report *r, sink_fn sink, void *arg)
{
    struct emit e = {.sink = sink, .arg = arg, .ok = 1};
    put(&e, "reportd-fp-1", 12);
    for (int i = 0; i < LAYOUT_SECTIONS; i++) {
        const char *t = r->section_order[i] >= 0 ? r->section_text[i] : NULL;
        size_t n = t ? strlen(t) : 0;
        put_u32(&e, t ? (uint32_t)n : 0xffffffffu);
        put(&e, t, n);
    }
    for (int ti = 0; ti < LAYOUT_TABLES; ti++) {
        const struct report_table *t = &r->tables[ti];
        put_u32(&e, t->layout ? t->layout->version : 0);
        if (!t->layout)
            continue;
        int n = t->layout->tables[ti].ncells;
        for (int k = 0; k < n; k++) {
            const struct cell *c = &t->cells[k];
            size_t rl = c->raw ? strlen(c->raw) : 0;
            if (e.used + 14 > sizeof e.block)
                flush(&e);
            unsigned char *x = e.block + e.used;     /* the record, written in place */
            x[0] = c->state, x[1] = c->scale;
            uint64_t v = (uint64_t)c->value;
            for (int j = 0; j < 8; j++)
                x[2 + j] = (unsigned char)(v >> (8 * j));
            for (int j = 0; j < 4; j++)
                x[10 + j] = (unsigned char)((uint32_t)rl >> (8 * j));
            e.used += 14;
            put(&e, c->raw, rl);
        }
    }
    flush(&e);
    return e.ok ? 0 : -1;
}

static int to_buf(void *arg, const void *p, size_t n)
{
    buf_append(arg, p, n);
    return 1;
}

void enrich_canonical(const struct report *r, struct buf *b)
{
    canonical(r, to_buf, b);
}

static int to_digest(void *arg, const void *p, size_t n)
{
    return EVP_DigestUpdate(arg, p, n);
}

int enrich_fingerprint(const struct evp_md_st *sha256, const struct report *r, char hex[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, (const EVP_MD *)sha256, NULL) &&
             canonical(r, to_digest, ctx) == 0 && EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -1;
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    return 0;
}
