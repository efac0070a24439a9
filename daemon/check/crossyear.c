/* crossyear: one function per rule across years, each comparing this year's
 * report with the same body's report for the year before by stable ids, so a
 * previous year read against the 2019 layout is compared wherever the cell
 * exists in both layouts (T3 and T4 have the same ids; the 2019 T2 has no
 * 现行有效件数). A blank or placeholder on either side is never taken as 0:
 * that comparison is skipped (R-CELL-MISSING already names the cell). Where a
 * rule cannot run because last year's report lacks what it needs, one
 * R-PREV-PARTIAL notice says which rule and why. */
#include "check/crossyear.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/norm.h"
#include "base/util.h"

static struct finding *add(const struct rules_ctx *ctx, struct findings *out, enum rule_id r, int ti)
{
    return findings_add(out, r, ctx->severity[r], ti);
}

static const struct layout_table *ltab(const struct report *r, int ti)
{
    return r->tables[ti].layout ? &r->tables[ti].layout->tables[ti] : NULL;
}

/* R-PREV-PARTIAL: rule was not checked (in table ti, -1 for the text) because
 * last year's report lacks what it needs. */
static void partial(const struct rules_ctx *ctx, struct findings *out, int ti, enum rule_id rule,
                    const char *need, const char *why_zh, const char *why_en)
{
    struct finding *f = add(ctx, out, RULE_PREV_PARTIAL, ti);
    snprintf(f->expected, sizeof f->expected, "%s", need);
    snprintf(f->actual, sizeof f->actual, "%s", why_zh);
    f->message_zh = xasprintf("%s，未核对%s", why_zh, findings_rule(rule)->id);
    f->message_en = xasprintf("%s: %s not checked", why_en, findings_rule(rule)->id);
}

void crossyear_unusable(const struct rules_ctx *ctx, const char *why, struct findings *out)
{
    struct finding *f = add(ctx, out, RULE_PREV_PARTIAL, -1);
    snprintf(f->expected, sizeof f->expected, "上年报告");
    snprintf(f->actual, sizeof f->actual, "%s", why);
    f->message_zh = xasprintf("附带的上年报告无法使用（%s），未进行跨年度核对", why);
    f->message_en = xasprintf("the previous year's report sent with this one cannot be used (%s): "
                              "no cross-year rule checked", why);
}

static void R_S3_PREV_CARRY(const struct rules_ctx *ctx, const struct report *r, const struct report *prev,
                            struct findings *out)
{
    const struct layout_table *lt = ltab(r, TABLE_T3), *pt = ltab(prev, TABLE_T3);
    if (!lt)
        return;                  /* this year's T3 absent: R-STRUCT-SHAPE says so */
    if (!pt) {
        partial(ctx, out, TABLE_T3, RULE_S3_PREV_CARRY, "上年表三「四、结转下年度继续办理」",
                "上年报告没有表三", "last year's report has no T3");
        return;
    }
    int row = layout_row_index(lt, "carried_over");
    for (int col = 0; col < lt->ncols; col++) {
        const char *id = lt->cols[col].id;
        int64_t forward, over;
        if (!rules_count(prev, TABLE_T3, "carry_forward", id, &forward) ||
            !rules_count(r, TABLE_T3, "carried_over", id, &over) || forward == over)
            continue;
        struct finding *f = add(ctx, out, RULE_S3_PREV_CARRY, TABLE_T3);
        rules_at_cell(f, lt, row, col);
        snprintf(f->expected, sizeof f->expected, "%lld", (long long)forward);
        snprintf(f->actual, sizeof f->actual, "%lld", (long long)over);
        f->message_zh = xasprintf("T3「%s」列「二、上年结转」为 %lld 件，但上年报告「四、结转下年度继续办理」为 %lld 件",
                                  lt->cols[col].label, (long long)over, (long long)forward);
        f->message_en = xasprintf("T3 column %s: %lld carried over, but last year's report carried %lld forward",
                                  id, (long long)over, (long long)forward);
    }
}

static void R_S2_CONTINUITY(const struct rules_ctx *ctx, const struct report *r, const struct report *prev,
                            struct findings *out)
{
    static const char *const rows[] = {"rules", "normative_docs"};
    const struct layout_table *lt = ltab(r, TABLE_T2), *pt = ltab(prev, TABLE_T2);
    if (!lt)
        return;
    if (!pt) {
        partial(ctx, out, TABLE_T2, RULE_S2_CONTINUITY, "上年表二「现行有效件数」", "上年报告没有表二",
                "last year's report has no T2");
        return;
    }
    int in_force = layout_col_index(lt, "in_force");
    if (in_force < 0 || layout_col_index(pt, "in_force") < 0) {
        unsigned v = in_force < 0 ? r->tables[TABLE_T2].layout->version : prev->tables[TABLE_T2].layout->version;
        char zh[160], en[160];
        snprintf(zh, sizeof zh, "%s表二为%u年版格式，没有「现行有效件数」", in_force < 0 ? "本年" : "上年", v);
        snprintf(en, sizeof en, "%s T2 is in the %u layout, which has no 现行有效件数 (in force)",
                 in_force < 0 ? "this year's" : "last year's", v);
        partial(ctx, out, TABLE_T2, RULE_S2_CONTINUITY, "现行有效件数", zh, en);
        return;
    }
    for (int i = 0; i < 2; i++) {
        int64_t before, issued, repealed, now;
        if (!rules_count(prev, TABLE_T2, rows[i], "in_force", &before) ||
            !rules_count(r, TABLE_T2, rows[i], "issued", &issued) ||
            !rules_count(r, TABLE_T2, rows[i], "repealed", &repealed) ||
            !rules_count(r, TABLE_T2, rows[i], "in_force", &now))
            continue;
        int64_t want = before + issued - repealed;
        if (want == now)
            continue;
        int row = layout_row_index(lt, rows[i]);
        struct finding *f = add(ctx, out, RULE_S2_CONTINUITY, TABLE_T2);
        rules_at_cell(f, lt, row, in_force);
        f->cells[f->ncells++] = lt->cell_index[row][layout_col_index(lt, "issued")];
        f->cells[f->ncells++] = lt->cell_index[row][layout_col_index(lt, "repealed")];
        snprintf(f->expected, sizeof f->expected, "%lld", (long long)want);
        snprintf(f->actual, sizeof f->actual, "%lld", (long long)now);
        f->message_zh = xasprintf("T2「%s」现行有效件数为 %lld，但上年现行有效 %lld 加本年制发 %lld 减本年废止 %lld 为 %lld"
                                  "（修订也可能造成差异）", lt->rows[row].label, (long long)now, (long long)before,
                                  (long long)issued, (long long)repealed, (long long)want);
        f->message_en = xasprintf("T2 %s: %lld in force, but last year's %lld + %lld issued − %lld repealed = %lld "
                                  "(amendments can explain a difference)", rows[i], (long long)now,
                                  (long long)before, (long long)issued, (long long)repealed, (long long)want);
    }
}

/* Punctuation and symbols, after norm_fold (full-width forms are ASCII by then). */
static int is_punct(uint32_t cp)
{
    if (cp < 0x80)
        return !((cp >= '0' && cp <= '9') || (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z'));
    return cp == 0xb7 || (cp >= 0x2010 && cp <= 0x206f) || (cp >= 0x3000 && cp <= 0x303f) ||
           (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff5f && cp <= 0xff65) || (cp >= 0x2190 && cp <= 0x2bff);
}

/* The shingle hashes of the narrative sections of r, appended to *h (FNV-1a
 * over each run of CROSSYEAR_SHINGLE folded code points), at most
 * CROSSYEAR_TEXT_MAX code points in all. */
static void shingles(const struct report *r, uint64_t **h, size_t *n)
{
    static const int narrative[] = {0, 4, 5};
    size_t cap = 0, budget = CROSSYEAR_TEXT_MAX;
    for (size_t s = 0; s < sizeof narrative / sizeof narrative[0]; s++) {
        const char *t = r->section_order[narrative[s]] >= 0 ? r->section_text[narrative[s]] : NULL;
        size_t len = t ? strlen(t) : 0, k = 0;
        uint32_t win[CROSSYEAR_SHINGLE];
        for (size_t i = 0; i < len && budget > 0;) {
            uint32_t cp;
            size_t step = util_utf8_next(t + i, len - i, &cp);
            i += step ? step : 1;
            if (!step || !(cp = norm_fold(cp)) || is_punct(cp))
                continue;
            if (cp >= '0' && cp <= '9')
                cp = '0';        /* a copy with this year's figures is still a copy */
            budget--;
            memmove(win, win + 1, sizeof win - sizeof win[0]);
            win[CROSSYEAR_SHINGLE - 1] = cp;
            if (++k < CROSSYEAR_SHINGLE)
                continue;
            uint64_t x = 1469598103934665603u;
            for (int j = 0; j < CROSSYEAR_SHINGLE; j++)
                for (int b = 0; b < 4; b++)
                    x = (x ^ ((win[j] >> (8 * b)) & 0xff)) * 1099511628211u;
            if (*n == cap)
                *h = xrealloc(*h, (cap = cap ? 2 * cap : 1024) * sizeof **h);
            (*h)[(*n)++] = x;
        }
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sort and drop repeats: the distinct shingles. */
static size_t distinct(uint64_t *h, size_t n)
{
    if (n == 0)
        return 0;
    qsort(h, n, sizeof *h, cmp_u64);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (h[i] != h[k - 1])
            h[k++] = h[i];
    return k;
}

int crossyear_repeated(const struct report *prev, const struct report *r, size_t *nprev)
{
    uint64_t *p = NULL, *c = NULL;
    size_t np = 0, nc = 0, both = 0;
    shingles(prev, &p, &np);
    np = distinct(p, np);
    if (nprev)
        *nprev = np;
    if (np < CROSSYEAR_DUP_MIN) {
        free(p);
        return -1;
    }
    shingles(r, &c, &nc);
    nc = distinct(c, nc);
    for (size_t i = 0, j = 0; i < np && j < nc;) {
        if (p[i] == c[j])
            both++, i++, j++;
        else if (p[i] < c[j])
            i++;
        else
            j++;
    }
    free(p);
    free(c);
    return (int)(both * 1000 / np);
}

static void R_DUP_PREV(const struct rules_ctx *ctx, const struct report *r, const struct report *prev,
                       struct findings *out)
{
    if (prev->section_order[0] < 0 && prev->section_order[4] < 0 && prev->section_order[5] < 0) {
        partial(ctx, out, -1, RULE_DUP_PREV, "上年第一、五、六部分的文字", "上年报告没有第一、五、六部分的文字",
                "last year's report carries no text of sections 1, 5 and 6");
        return;
    }
    int share = crossyear_repeated(prev, r, NULL);
    if (share <= CROSSYEAR_DUP_LIMIT)
        return;                  /* also -1: too little text last year to copy */
    struct finding *f = add(ctx, out, RULE_DUP_PREV, -1);
    snprintf(f->expected, sizeof f->expected, "≤%d%%", CROSSYEAR_DUP_LIMIT / 10);
    snprintf(f->actual, sizeof f->actual, "%d.%d%%", share / 10, share % 10);
    f->message_zh = xasprintf("第一、五、六部分的文字重复了上年报告的 %s（按%d字片段计，数字不计差异），超过50%%",
                              f->actual, CROSSYEAR_SHINGLE);
    f->message_en = xasprintf("sections 1, 5 and 6 repeat %s of last year's text (in %d-character shingles, "
                              "figures ignored): more than 50%%", f->actual, CROSSYEAR_SHINGLE);
}

/* One key total of R-YOY-JUMP: a T3 总计 cell, or the sum of T4 cells. */
struct key_total {
    int table;
    const char *row;
    const char *cols[2];         /* the second NULL when one cell */
    const char *zh, *en;
};

static int key_value(const struct report *r, const struct key_total *k, int64_t *v)
{
    int64_t x;
    *v = 0;
    for (int i = 0; i < 2 && k->cols[i]; i++) {
        if (!rules_count(r, k->table, k->row, k->cols[i], &x))
            return 0;
        *v += x;
    }
    return 1;
}

/* Has a total jumped: beyond ×5 or below ×0.2, the larger at least CROSSYEAR_JUMP_MIN? */
static int jumped(int64_t before, int64_t now)
{
    int64_t hi = before > now ? before : now;
    return hi >= CROSSYEAR_JUMP_MIN && (now > 5 * before || 5 * now < before);
}

static void R_YOY_JUMP(const struct rules_ctx *ctx, const struct report *r, const struct report *prev,
                       struct findings *out)
{
    static const struct key_total keys[] = {
        {TABLE_T3, "new", {"total", NULL}, "本年新收申请数", "applications received"},
        {TABLE_T3, "total", {"total", NULL}, "办理结果总计", "applications concluded"},
        {TABLE_T4, "", {"review.total", NULL}, "行政复议数", "administrative reviews"},
        {TABLE_T4, "", {"suit_direct.total", "suit_after_review.total"}, "行政诉讼数", "lawsuits"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const struct key_total *k = &keys[i];
        int64_t before, now;
        if (!key_value(prev, k, &before) || !key_value(r, k, &now) || !jumped(before, now))
            continue;
        const struct layout_table *lt = ltab(r, k->table);
        int row = layout_row_index(lt, k->row);
        struct finding *f = add(ctx, out, RULE_YOY_JUMP, k->table);
        rules_at_cell(f, lt, row, layout_col_index(lt, k->cols[0]));
        if (k->cols[1]) {
            f->cells[f->ncells++] = lt->cell_index[row][layout_col_index(lt, k->cols[1])];
            f->col = -1;         /* a sum of two cells: no one column */
        }
        if (lt->nrows == 1)
            f->row = -1;
        char ratio[32];
        if (before > 0)
            snprintf(ratio, sizeof ratio, "×%.2f", (double)now / (double)before);
        else
            snprintf(ratio, sizeof ratio, "from 0");
        snprintf(f->expected, sizeof f->expected, "×0.2–×5");
        snprintf(f->actual, sizeof f->actual, "%s (%lld → %lld)", ratio, (long long)before, (long long)now);
        f->message_zh = xasprintf("%s从上年的 %lld 变为 %lld（%s），同比变化超过5倍或不足五分之一，请核实",
                                  k->zh, (long long)before, (long long)now, before > 0 ? ratio : "由0增加");
        f->message_en = xasprintf("%s went from %lld last year to %lld (%s): more than ×5 or below ×0.2 "
                                  "year on year; please verify", k->en, (long long)before, (long long)now, ratio);
    }
}

int crossyear_check(const struct rules_ctx *ctx, const struct report *r, const struct report *prev,
                    unsigned prev_year, struct findings *out)
{
    if (ctx->year && prev_year && prev_year + 1 != ctx->year) {
        struct finding *f = add(ctx, out, RULE_PREV_PARTIAL, -1);
        snprintf(f->expected, sizeof f->expected, "%u", ctx->year - 1);
        snprintf(f->actual, sizeof f->actual, "%u", prev_year);
        f->message_zh = xasprintf("附带的往年报告是%u年度的，不是上一年度（%u年度），未进行跨年度核对", prev_year,
                                  ctx->year - 1);
        f->message_en = xasprintf("the earlier report sent with this one is for %u, not the previous year %u: "
                                  "no cross-year rule checked", prev_year, ctx->year - 1);
        return 0;
    }
    R_S3_PREV_CARRY(ctx, r, prev, out);
    R_S2_CONTINUITY(ctx, r, prev, out);
    R_DUP_PREV(ctx, r, prev, out);
    R_YOY_JUMP(ctx, r, prev, out);
    return 1;
}
