/* enrich: figures derived from a checked report. Every figure from a missing
 * cell is left absent rather than computed from a guessed 0. Ratings follow
 * the public dashboard of report-format.md: correction rate > 15% red, > 10%
 * yellow; disclosure rate < 40% red, < 45% yellow; nothing rated when fewer
 * than 30 applications (or cases) were concluded. */
#include "enrich.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "region.h"
#include "rules.h"
#include "util.h"

#define ENRICH_MIN_CONCLUDED 30

/* Sum of the T3 总计 cells of rows whose id starts with prefix (or equals it). */
static int t3_sum(const struct report *r, const char *prefix, int exact, int64_t *out)
{
    const struct report_table *t = &r->tables[TABLE_T3];
    if (!t->layout)
        return 0;
    const struct layout_table *lt = &t->layout->tables[TABLE_T3];
    int col = layout_col_index(lt, "total"), found = 0;
    size_t pl = strlen(prefix);
    int64_t sum = 0;
    for (int row = 0; row < lt->nrows; row++) {
        const char *id = lt->rows[row].id;
        if (exact ? strcmp(id, prefix) : strncmp(id, prefix, pl))
            continue;
        const struct cell *c = &t->cells[lt->cell_index[row][col]];
        if (c->state != CELL_NUMBER || c->value < 0)
            return 0;
        sum += c->value;
        found = 1;
    }
    *out = sum;
    return found;
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

static Reportd__Rate *rate(int64_t num, int64_t den, int64_t concluded, int higher_is_bad,
                           double red, double yellow)
{
    if (den <= 0)
        return NULL;
    Reportd__Rate *rt = xmalloc(sizeof *rt);
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

static void t3_figures(const struct report *r, Reportd__Enrichment *e)
{
    int64_t v, total = 0, a, b;
    if (t3_sum(r, "new", 1, &v))
        e->has_received = 1, e->received = v;
    if (t3_sum(r, "carried_over", 1, &v))
        e->has_carried_over = 1, e->carried_over = v;
    if (t3_sum(r, "total", 1, &total))
        e->has_concluded = 1, e->concluded = total;
    if (t3_sum(r, "carry_forward", 1, &v))
        e->has_carried_forward = 1, e->carried_forward = v;
    if (!e->has_concluded)
        return;
    if (t3_sum(r, "granted", 1, &a) && t3_sum(r, "partial", 1, &b))
        e->disclosure_rate = rate(a + b, total, total, 0, 0.40, 0.45);
    if (t3_sum(r, "refused.", 0, &a))
        e->refusal_rate = rate(a, total, total, 1, -1, -1);
    if (t3_sum(r, "unable.", 0, &a))
        e->unable_rate = rate(a, total, total, 1, -1, -1);
}

static Reportd__Rate *correction(const struct report *r, const char *block)
{
    char col[64];
    int64_t upheld, corrected, other;
    snprintf(col, sizeof col, "%s.upheld", block);
    if (!t4_count(r, col, &upheld))
        return NULL;
    snprintf(col, sizeof col, "%s.corrected", block);
    if (!t4_count(r, col, &corrected))
        return NULL;
    snprintf(col, sizeof col, "%s.other", block);
    if (!t4_count(r, col, &other))
        return NULL;
    int64_t concluded = upheld + corrected + other;
    return rate(corrected, concluded, concluded, 1, 0.15, 0.10);
}

static void t4_figures(const struct report *r, Reportd__Enrichment *e)
{
    int64_t v, w;
    if (t4_count(r, "review.total", &v))
        e->has_reviews = 1, e->reviews = v;
    if (t4_count(r, "suit_direct.total", &v) && t4_count(r, "suit_after_review.total", &w))
        e->has_suits = 1, e->suits = v + w;
    e->review_correction_rate = correction(r, "review");
    e->suit_direct_correction_rate = correction(r, "suit_direct");
    e->suit_after_review_correction_rate = correction(r, "suit_after_review");
}

static void region_figures(const struct enrich_ctx *ctx, const struct report *r, Reportd__Enrichment *e)
{
    const char *code = ctx->region_code;
    const char *name = ctx->body_name ? ctx->body_name : r->body_name;
    if ((!code || !*code) && ctx->regions && name)
        code = regions_guess(ctx->regions, name);
    if (!code || !*code || !ctx->regions)
        return;
    struct region_names rn;
    if (regions_lookup(ctx->regions, code, &rn) < 0 && !rn.province)
        return;
    Reportd__Region *g = xmalloc(sizeof *g);
    reportd__region__init(g);
    g->code = xstrdup(rn.code);
    g->province_code = xstrdup(rn.province_code);
    g->prefecture_code = xstrdup(rn.prefecture_code);
    g->province = rn.province ? xstrdup(rn.province) : NULL;
    g->prefecture = rn.prefecture ? xstrdup(rn.prefecture) : NULL;
    g->county = rn.county ? xstrdup(rn.county) : NULL;
    e->region = g;
}

void enrich_report(const struct enrich_ctx *ctx, const struct report *r, Reportd__Enrichment *e)
{
    t3_figures(r, e);
    t4_figures(r, e);
    region_figures(ctx, r, e);
    if (ctx->year) {
        char day[16];
        long due = rules_deadline_day(ctx->year, ctx->government);
        rules_format_day(due, day, sizeof day);
        e->deadline = xstrdup(day);
        if (ctx->submitted_at) {
            e->has_days_after_deadline = 1;
            e->days_after_deadline = (int32_t)(rules_china_day(ctx->submitted_at) - due);
        }
    }
    char hex[65];
    if (ctx->sha256 && enrich_fingerprint(ctx->sha256, r, hex) == 0)
        e->fingerprint = xstrdup(hex);
}

static void put_u32(struct buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    buf_append(b, x, 4);
}

/* Canonical form, version 1: "reportd-fp-1", then for each section in order its
 * text length (u32 LE, 0xffffffff when absent) and text, then for each table
 * its layout version (u32, 0 when absent) and per cell in layout order: state
 * byte, scale byte, value (i64 LE), raw length (u32) and raw text. */
void enrich_canonical(const struct report *r, struct buf *b)
{
    buf_append(b, "reportd-fp-1", 12);
    for (int i = 0; i < LAYOUT_SECTIONS; i++) {
        const char *t = r->section_order[i] >= 0 ? r->section_text[i] : NULL;
        size_t n = t ? strlen(t) : 0;
        put_u32(b, t ? (uint32_t)n : 0xffffffffu);
        buf_append(b, t, n);
    }
    for (int ti = 0; ti < LAYOUT_TABLES; ti++) {
        const struct report_table *t = &r->tables[ti];
        put_u32(b, t->layout ? t->layout->version : 0);
        if (!t->layout)
            continue;
        int n = t->layout->tables[ti].ncells;
        for (int k = 0; k < n; k++) {
            const struct cell *c = &t->cells[k];
            unsigned char x[10] = {c->state, c->scale};
            uint64_t v = (uint64_t)c->value;
            for (int j = 0; j < 8; j++)
                x[2 + j] = (unsigned char)(v >> (8 * j));
            buf_append(b, x, sizeof x);
            size_t rl = c->raw ? strlen(c->raw) : 0;
            put_u32(b, (uint32_t)rl);
            buf_append(b, c->raw, rl);
        }
    }
}

int enrich_fingerprint(const struct evp_md_st *sha256, const struct report *r, char hex[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    struct buf b = {0};
    enrich_canonical(r, &b);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, (const EVP_MD *)sha256, NULL) &&
             EVP_DigestUpdate(ctx, b.data, b.len) && EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen == 32;
    EVP_MD_CTX_free(ctx);
    buf_free(&b);
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
