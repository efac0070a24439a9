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
        e->disclosure_rate = rate(t.v[T3_GRANTED] + t.v[T3_PARTIAL], total, total, 0, 0.40, 0.45);
    if (t.known[T3_REFUSED])
        e->refusal_rate = rate(t.v[T3_REFUSED], total, total, 1, -1, -1);
    if (t.known[T3_UNABLE])
        e->unable_rate = rate(t.v[T3_UNABLE], total, total, 1, -1, -1);
}

/* 纠正 / (维持 + 纠正 + 其他) of one T4 block; cols: upheld, corrected, other. */
static Reportd__Rate *correction(const struct report *r, const char *const cols[3])
{
    int64_t upheld, corrected, other;
    if (!t4_count(r, cols[0], &upheld) || !t4_count(r, cols[1], &corrected) || !t4_count(r, cols[2], &other))
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
    static const char *const review[3] = {"review.upheld", "review.corrected", "review.other"};
    static const char *const direct[3] = {"suit_direct.upheld", "suit_direct.corrected", "suit_direct.other"};
    static const char *const after[3] = {"suit_after_review.upheld", "suit_after_review.corrected",
                                         "suit_after_review.other"};
    e->review_correction_rate = correction(r, review);
    e->suit_direct_correction_rate = correction(r, direct);
    e->suit_after_review_correction_rate = correction(r, after);
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

static unsigned char *put_u32(unsigned char *p, uint32_t v)
{
    for (int j = 0; j < 4; j++)
        *p++ = (unsigned char)(v >> (8 * j));
    return p;
}

static size_t canonical_size(const struct report *r)
{
    size_t n = 12 + 4 * LAYOUT_SECTIONS + 4 * LAYOUT_TABLES;
    for (int i = 0; i < LAYOUT_SECTIONS; i++)
        if (r->section_order[i] >= 0)
            n += strlen(r->section_text[i]);
    for (int ti = 0; ti < LAYOUT_TABLES; ti++) {
        const struct report_table *t = &r->tables[ti];
        if (!t->layout)
            continue;
        int cells = t->layout->tables[ti].ncells;
        n += (size_t)cells * 14;
        for (int k = 0; k < cells; k++)
            if (t->cells[k].raw)
                n += strlen(t->cells[k].raw);
    }
    return n;
}

/* Canonical form, version 1: "reportd-fp-1", then for each section in order its
 * text length (u32 LE, 0xffffffff when absent) and text, then for each table
 * its layout version (u32, 0 when absent) and per cell in layout order: state
 * byte, scale byte, value (i64 LE), raw length (u32 LE) and raw text. */
void enrich_canonical(const struct report *r, struct buf *b)
{
    size_t size = canonical_size(r);
    buf_append(b, NULL, 0);
    if (b->cap < b->len + size + 1) {
        b->data = xrealloc(b->data, b->len + size + 1);
        b->cap = b->len + size + 1;
    }
    unsigned char *p = (unsigned char *)b->data + b->len;
    memcpy(p, "reportd-fp-1", 12);
    p += 12;
    for (int i = 0; i < LAYOUT_SECTIONS; i++) {
        const char *t = r->section_order[i] >= 0 ? r->section_text[i] : NULL;
        size_t n = t ? strlen(t) : 0;
        p = put_u32(p, t ? (uint32_t)n : 0xffffffffu);
        if (n)
            memcpy(p, t, n);
        p += n;
    }
    for (int ti = 0; ti < LAYOUT_TABLES; ti++) {
        const struct report_table *t = &r->tables[ti];
        p = put_u32(p, t->layout ? t->layout->version : 0);
        if (!t->layout)
            continue;
        int n = t->layout->tables[ti].ncells;
        for (int k = 0; k < n; k++) {
            const struct cell *c = &t->cells[k];
            *p++ = c->state;
            *p++ = c->scale;
            uint64_t v = (uint64_t)c->value;
            for (int j = 0; j < 8; j++)
                *p++ = (unsigned char)(v >> (8 * j));
            size_t rl = c->raw ? strlen(c->raw) : 0;
            p = put_u32(p, (uint32_t)rl);
            if (rl)
                memcpy(p, c->raw, rl);
            p += rl;
        }
    }
    b->len = (size_t)((char *)p - b->data);
    b->data[b->len] = '\0';
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
