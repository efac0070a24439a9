/* rules: one function per non-sum rule of report-format.md, named after its
 * id. Each reads the dense report, never guesses a missing value (a blank is
 * not 0), and appends findings with expected and actual values and a message
 * in Chinese and English. rules_check_report runs them in catalogue order. */
#include "check/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/sums.h"
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

/* A whole count at (row id, col id) of table ti: 1 with *v, 0 when absent or
 * not a clean number. */
static int count_at(const struct report *r, int ti, const char *row, const char *col, int64_t *v)
{
    const struct layout_table *lt = ltab(r, ti);
    if (!lt)
        return 0;
    int ri = layout_row_index(lt, row), ci = layout_col_index(lt, col);
    if (ri < 0 || ci < 0 || lt->cell_index[ri][ci] < 0)
        return 0;
    const struct cell *c = &r->tables[ti].cells[lt->cell_index[ri][ci]];
    if (c->state != CELL_NUMBER || c->value < 0)
        return 0;
    *v = c->value;
    return 1;
}

static void at_cell(struct finding *f, const struct layout_table *lt, int row, int col)
{
    f->row = row;
    f->col = col;
    if (row >= 0 && col >= 0 && lt->cell_index[row][col] >= 0)
        f->cells[f->ncells++] = lt->cell_index[row][col];
}

int rules_count(const struct report *r, int ti, const char *row, const char *col, int64_t *v)
{
    return count_at(r, ti, row, col, v);
}

void rules_at_cell(struct finding *f, const struct layout_table *lt, int row, int col)
{
    at_cell(f, lt, row, col);
}

static void R_STRUCT_SECTIONS(const struct rules_ctx *ctx, const struct report *r, struct findings *out)
{
    const struct layout *l = layouts_find(ctx->layouts, r->layout);
    int last = -1, ordered = 1;
    for (int i = 0; i < LAYOUT_SECTIONS; i++) {
        if (r->section_order[i] < 0) {
            struct finding *f = add(ctx, out, RULE_STRUCT_SECTIONS, -1);
            const char *t = l ? l->sections[i].title : "";
            snprintf(f->expected, sizeof f->expected, "%s", t);
            snprintf(f->actual, sizeof f->actual, "缺失");
            f->message_zh = xasprintf("缺少第%d部分「%s」", i + 1, t);
            f->message_en = xasprintf("section %d (%s) is missing", i + 1, l ? l->sections[i].id : "");
            continue;
        }
        if (r->section_order[i] < last)
            ordered = 0;
        last = r->section_order[i];
    }
    if (!ordered) {
        struct finding *f = add(ctx, out, RULE_STRUCT_SECTIONS, -1);
        snprintf(f->expected, sizeof f->expected, "一 二 三 四 五 六");
        char *p = f->actual;
        static const char *const cn[] = {"一", "二", "三", "四", "五", "六"};
        for (int k = 0; k < LAYOUT_SECTIONS; k++)
            for (int i = 0; i < LAYOUT_SECTIONS; i++)
                if (r->section_order[i] == k)
                    p += snprintf(p, sizeof f->actual - (size_t)(p - f->actual), "%s%s",
                                  p == f->actual ? "" : " ", cn[i]);
        f->message_zh = xasprintf("各部分顺序不符合规定格式：%s", f->actual);
        f->message_en = xasprintf("the sections are out of order: %s", f->actual);
    }
}

static void R_STRUCT_VERSION(const struct rules_ctx *ctx, const struct report *r, struct findings *out)
{
    const struct layout *want = ctx->year ? layouts_for_year(ctx->layouts, ctx->year) : NULL;
    if (!want)
        return;
    for (int ti = 0; ti < LAYOUT_TABLES; ti++) {
        const struct layout *got = r->tables[ti].layout;
        if (!got || got->version == want->version)
            continue;
        struct finding *f = add(ctx, out, RULE_STRUCT_VERSION, ti);
        snprintf(f->expected, sizeof f->expected, "%u", want->version);
        snprintf(f->actual, sizeof f->actual, "%u", got->version);
        f->message_zh = xasprintf("%u年度报告的%s应使用%u年版格式，实际使用的是%u年版格式", ctx->year,
                                  layout_table_id(ti), want->version, got->version);
        f->message_en = xasprintf("a report for %u must use the %u layout; %s uses the %u layout",
                                  ctx->year, want->version, layout_table_id(ti), got->version);
    }
}

#define LIKE_MAX 96              /* code points compared; labels are shorter */

/* A label's code points, normalized and without its numbering. */
static int label_points(const char *label, uint32_t *cp)
{
    char *n = norm_label(label);
    const char *p = norm_skip_numbering(n);
    size_t len = strlen(p);
    int k = 0;
    for (size_t i = 0; i < len && k < LIKE_MAX;) {
        size_t step = util_utf8_next(p + i, len - i, &cp[k]);
        if (!step)
            break;
        i += step;
        k++;
    }
    free(n);
    return k;
}

/* Dice similarity of two labels over their longest common subsequence of code
 * points, in per mille: 1000 alike, 0 nothing in common. */
static int label_likeness(const uint32_t *a, int na, const uint32_t *b, int nb)
{
    if (!na || !nb)
        return 0;
    int prev[LIKE_MAX + 1] = {0}, cur[LIKE_MAX + 1] = {0};
    for (int i = 1; i <= na; i++) {
        for (int j = 1; j <= nb; j++)
            cur[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1 : prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
        memcpy(prev, cur, sizeof prev);
    }
    return 2000 * prev[nb] / (na + nb);
}

/* Is the label printed at row still unambiguously that row? Its official label
 * (or a variant) must be the one most like it, by a clear margin over every
 * other row's, and at least half alike. */
static int label_unambiguous(const struct layout_table *lt, int row, const char *printed)
{
    uint32_t p[LIKE_MAX], o[LIKE_MAX];
    int np = label_points(printed, p), best_other = 0, own = 0;
    for (int r = 0; r < lt->nrows; r++) {
        const struct layout_names *m = &lt->rows[r].match;
        for (size_t v = 0; v < m->n; v++) {
            int no = label_points(m->v[v], o);
            int like = label_likeness(o, no, p, np);
            if (r == row && like > own)
                own = like;
            if (r != row && like > best_other)
                best_other = like;
        }
    }
    return own >= 500 && own > best_other;
}

/* R-STRUCT-SHAPE: a table missing, or a row printed as another row or as none
 * of the layout's; R-STRUCT-LABEL: a row printed with another label that is
 * still clearly that row (a typo, an abbreviation). */
static void R_STRUCT_SHAPE_LABEL(const struct rules_ctx *ctx, const struct report *r, struct findings *out)
{
    for (int ti = 0; ti < LAYOUT_TABLES; ti++) {
        const struct layout_table *lt = ltab(r, ti);
        if (!lt) {
            struct finding *f = add(ctx, out, RULE_STRUCT_SHAPE, ti);
            snprintf(f->expected, sizeof f->expected, "%s", layout_table_id(ti));
            snprintf(f->actual, sizeof f->actual, "缺失");
            f->message_zh = xasprintf("缺少表格%s", layout_table_id(ti));
            f->message_en = xasprintf("table %s is missing", layout_table_id(ti));
            continue;
        }
        for (int row = 0; row < lt->nrows; row++) {
            const char *printed = r->tables[ti].printed[row];
            if (!printed)
                continue;
            int label = label_unambiguous(lt, row, printed);
            struct finding *f = add(ctx, out, label ? RULE_STRUCT_LABEL : RULE_STRUCT_SHAPE, ti);
            f->row = row;
            snprintf(f->expected, sizeof f->expected, "%s", lt->rows[row].label);
            snprintf(f->actual, sizeof f->actual, "%s", printed);
            if (label) {
                f->message_zh = xasprintf("%s第%d行的名称「%s」不是规定名称「%s」", layout_table_id(ti), row + 1,
                                          printed, lt->rows[row].label);
                f->message_en = xasprintf("%s row %d (%s) is labelled \"%s\", not the official \"%s\"",
                                          layout_table_id(ti), row + 1, lt->rows[row].id, printed,
                                          lt->rows[row].label);
            } else {
                f->message_zh = xasprintf("%s第%d行应为「%s」，实际为「%s」（行缺失、多余或顺序不符）",
                                          layout_table_id(ti), row + 1, lt->rows[row].label, printed);
                f->message_en = xasprintf("%s row %d should be %s (\"%s\") but reads \"%s\": a row missing, "
                                          "extra or out of order", layout_table_id(ti), row + 1,
                                          lt->rows[row].id, lt->rows[row].label, printed);
            }
        }
    }
}

static void cell_label(const struct layout_table *lt, int row, int col, char *out, size_t outlen)
{
    const struct layout_row *rw = &lt->rows[row];
    const struct layout_col *c = &lt->cols[col];
    if (lt->nrows == 1)
        snprintf(out, outlen, "%s%s", c->group ? c->group : "", c->label);
    else
        snprintf(out, outlen, "「%s」×「%s」", rw->label, c->label);
}

static int is_missing(const struct cell *c)
{
    return c->state == CELL_BLANK || c->state == CELL_PLACEHOLDER;
}

/* One R-CELL-MISSING for a whole row (line_row >= 0) or column whose cells
 * are all missing, listing the cells not already grouped; marks them. */
static void blank_line(const struct rules_ctx *ctx, const struct report *r, int ti, int line_row,
                       int line_col, char *grouped, struct findings *out)
{
    const struct layout_table *lt = ltab(r, ti);
    int cells[LAYOUT_MAX_ROWS * LAYOUT_MAX_COLS], n = 0, fresh = 0;
    /* only the line's own cells, in cell order; the first number ends it */
    int len = line_row >= 0 ? lt->rows[line_row].ncols : lt->nrows;
    for (int i = 0; i < len; i++) {
        int k = line_row >= 0 ? lt->cell_index[line_row][lt->rows[line_row].cols[i]]
                              : lt->cell_index[i][line_col];
        if (k < 0)
            continue;
        if (!is_missing(&r->tables[ti].cells[k]))
            return;
        cells[n++] = k;
        fresh += !grouped[k];
    }
    if (n < 2 || !fresh)
        return;
    struct finding *f = add(ctx, out, RULE_CELL_MISSING, ti);
    f->row = line_row;
    f->col = line_col;
    for (int i = 0; i < n && f->nmissing < FINDING_MAX_CELLS; i++) {
        if (grouped[cells[i]])
            continue;
        grouped[cells[i]] = 1;
        f->cells[f->ncells++] = cells[i];
        f->missing[f->nmissing++] = cells[i];
    }
    snprintf(f->expected, sizeof f->expected, "%d个数字", n);
    snprintf(f->actual, sizeof f->actual, "%d个空白或占位符", n);
    const char *unread = line_row >= 0 && r->tables[ti].unread ? r->tables[ti].unread[line_row] : NULL;
    if (unread) {
        snprintf(f->actual, sizeof f->actual, "%s", unread);
        f->message_zh = xasprintf("%s「%s」行的数字连在一起（%s），没有勾稽关系可以确定如何拆分，按缺失处理",
                                  layout_table_id(ti), lt->rows[line_row].label, unread);
        f->message_en = xasprintf("%s row %s: its cells ran together and no identity decides the split "
                                  "(%s): missing values", layout_table_id(ti), lt->rows[line_row].id, unread);
    } else if (line_row >= 0) {
        const char *label = lt->nrows == 1 ? "" : lt->rows[line_row].label;
        f->message_zh = xasprintf("%s「%s」行全部%d个单元格为空白或占位符，应填写数字（没有则填0）",
                                  layout_table_id(ti), label, n);
        f->message_en = xasprintf("%s row %s: all %d cells are blank or placeholders: missing values, not 0",
                                  layout_table_id(ti), lt->nrows == 1 ? "(the only row)" : lt->rows[line_row].id, n);
    } else {
        const struct layout_col *c = &lt->cols[line_col];
        f->message_zh = xasprintf("%s「%s%s%s」列全部%d个单元格为空白或占位符，应填写数字（没有则填0）",
                                  layout_table_id(ti), c->group ? c->group : "", c->group ? " " : "", c->label, n);
        f->message_en = xasprintf("%s column %s: all %d cells are blank or placeholders: missing values, not 0",
                                  layout_table_id(ti), c->id, n);
    }
}

/* R-CELL-MISSING and R-CELL-NUMBER, cell by cell, except that a wholly blank
 * column, then a wholly blank row, is one finding listing its cells. */
static void R_CELL_MISSING_NUMBER(const struct rules_ctx *ctx, const struct report *r, struct findings *out)
{
    for (int ti = 0; ti < LAYOUT_TABLES; ti++) {
        const struct layout_table *lt = ltab(r, ti);
        if (!lt)
            continue;
        char grouped[LAYOUT_MAX_ROWS * LAYOUT_MAX_COLS] = {0};
        for (int col = 0; col < lt->ncols; col++)
            blank_line(ctx, r, ti, -1, col, grouped, out);
        for (int row = 0; row < lt->nrows; row++)
            blank_line(ctx, r, ti, row, -1, grouped, out);
        for (int k = 0; k < lt->ncells; k++) {
            const struct cell *c = &r->tables[ti].cells[k];
            if (grouped[k])
                continue;
            int row = lt->cell_row[k], col = lt->cell_col[k];
            int negative = c->state == CELL_NUMBER && c->value < 0 && !lt->cols[col].is_signed;
            if (c->state == CELL_NUMBER && !negative)
                continue;
            char where[512];
            cell_label(lt, row, col, where, sizeof where);
            int missing = is_missing(c);
            struct finding *f = add(ctx, out, missing ? RULE_CELL_MISSING : RULE_CELL_NUMBER, ti);
            at_cell(f, lt, row, col);
            snprintf(f->expected, sizeof f->expected, "%s",
                     lt->cols[col].amount ? "一个数（万元）" : "一个不小于0的整数");
            report_format_cell(c, f->actual, sizeof f->actual);
            if (missing) {
                f->message_zh = xasprintf("%s %s 为空白或占位符（%s），应填写数字（没有则填0）",
                                          layout_table_id(ti), where, c->state == CELL_BLANK ? "空白" : f->actual);
                f->message_en = xasprintf("%s %s.%s is %s: a missing value, not 0", layout_table_id(ti),
                                          lt->rows[row].id, lt->cols[col].id,
                                          c->state == CELL_BLANK ? "blank" : "a placeholder");
            } else {
                f->message_zh = xasprintf("%s %s 的值「%s」不是%s", layout_table_id(ti), where, f->actual,
                                          f->expected);
                f->message_en = xasprintf("%s %s.%s holds \"%s\", which is not a %s", layout_table_id(ti),
                                          lt->rows[row].id, lt->cols[col].id, f->actual,
                                          lt->cols[col].amount ? "number" : "whole count ≥ 0");
            }
        }
    }
}

static void R_S2_BOUNDS(const struct rules_ctx *ctx, const struct report *r, struct findings *out)
{
    static const char *const rows[] = {"rules", "normative_docs"};
    const struct layout_table *lt = ltab(r, TABLE_T2);
    if (!lt || layout_col_index(lt, "in_force") < 0)
        return;
    for (int i = 0; i < 2; i++) {
        int64_t issued, repealed, in_force;
        if (!count_at(r, TABLE_T2, rows[i], "issued", &issued) ||
            !count_at(r, TABLE_T2, rows[i], "repealed", &repealed) ||
            !count_at(r, TABLE_T2, rows[i], "in_force", &in_force))
            continue;
        if (in_force >= issued - repealed)
            continue;
        int row = layout_row_index(lt, rows[i]);
        struct finding *f = add(ctx, out, RULE_S2_BOUNDS, TABLE_T2);
        at_cell(f, lt, row, layout_col_index(lt, "in_force"));
        f->cells[f->ncells++] = lt->cell_index[row][layout_col_index(lt, "issued")];
        f->cells[f->ncells++] = lt->cell_index[row][layout_col_index(lt, "repealed")];
        snprintf(f->expected, sizeof f->expected, "≥%lld", (long long)(issued - repealed));
        snprintf(f->actual, sizeof f->actual, "%lld", (long long)in_force);
        f->message_zh = xasprintf("T2「%s」现行有效件数 %lld 小于本年制发件数 %lld 减本年废止件数 %lld",
                                  lt->rows[row].label, (long long)in_force, (long long)issued,
                                  (long long)repealed);
        f->message_en = xasprintf("T2 %s: in force (%lld) is less than issued (%lld) minus repealed (%lld)",
                                  rows[i], (long long)in_force, (long long)issued, (long long)repealed);
    }
}

/* Text with white space and punctuation removed, for "says nothing" tests. */
static int says_nothing(const char *text)
{
    if (text && strlen(text) > 64)
        return 0;                /* longer than any way of saying nothing */
    char *n = norm_label(text ? text : "");
    static const char *const empty[] = {"", "无", "无。", "无.", "暂无", "暂无。", "无其他需要报告的事项。", NULL};
    int nothing = 0;
    for (int i = 0; empty[i]; i++)
        if (!strcmp(n, empty[i]))
            nothing = 1;
    free(n);
    return nothing;
}

static void R_S5_NONEMPTY(const struct rules_ctx *ctx, const struct report *r, struct findings *out)
{
    if (r->section_order[4] < 0 || !says_nothing(r->section_text[4]))
        return;   /* a missing section is R-STRUCT-SECTIONS' finding */
    struct finding *f = add(ctx, out, RULE_S5_NONEMPTY, -1);
    snprintf(f->expected, sizeof f->expected, "存在的主要问题及改进情况");
    snprintf(f->actual, sizeof f->actual, "%s", r->section_text[4][0] ? r->section_text[4] : "（空）");
    f->message_zh = xasprintf("第五部分「存在的主要问题及改进情况」没有实际内容");
    f->message_en = xasprintf("section 5 (problems and improvements) says nothing");
}

static void R_S6_FEE(const struct rules_ctx *ctx, const struct report *r, struct findings *out)
{
    if (r->layout < 2021 && ctx->year < 2021)
        return;                  /* the fee rules date from 2021 */
    const char *text = r->section_order[5] >= 0 ? r->section_text[5] : "";
    if (strstr(text, "处理费") || strstr(text, "收费"))
        return;                  /* "未发生收费情况" states it too */
    int64_t no_fee = 0;
    int has = count_at(r, TABLE_T3, "other.no_fee", "total", &no_fee);
    enum severity sev = ctx->severity[RULE_S6_FEE];
    if (has && no_fee > 0 && sev < SEV_WARNING)
        sev = SEV_WARNING;
    struct finding *f = findings_add(out, RULE_S6_FEE, sev, -1);
    snprintf(f->expected, sizeof f->expected, "说明信息处理费收取情况");
    snprintf(f->actual, sizeof f->actual, "%s", text[0] ? text : "（空）");
    if (has && no_fee > 0) {
        const struct layout_table *lt = ltab(r, TABLE_T3);
        f->table = TABLE_T3;
        at_cell(f, lt, layout_row_index(lt, "other.no_fee"), layout_col_index(lt, "total"));
        f->message_zh = xasprintf("T3（六）2 有 %lld 件因逾期未缴费不再处理的申请，但第六部分未说明信息处理费收取情况",
                                  (long long)no_fee);
        f->message_en = xasprintf("T3 other.no_fee counts %lld applications dropped for an unpaid fee, "
                                  "but section 6 does not state the information-processing fees charged",
                                  (long long)no_fee);
    } else {
        f->message_zh = xasprintf("第六部分未说明信息处理费的收取情况（国办函〔2020〕109号）");
        f->message_en = xasprintf("section 6 does not state whether information-processing fees were charged");
    }
}

/* Counts stated in the text: every number followed by 件, attributed to the
 * nearest keyword before it within the same clause (no sentence or clause
 * break between them, at most 24 code points back). One pass over the text
 * finds the numbers; only the few candidates look back for keywords. */
enum claim { CLAIM_RECEIVED, CLAIM_CARRIED, CLAIM_CONCLUDED, CLAIM_REVIEW, CLAIM_SUIT, CLAIM_COUNT };

static const struct {
    const char *word;
    enum claim claim;
} KEYWORDS[] = {
    {"新收", CLAIM_RECEIVED}, {"收到", CLAIM_RECEIVED}, {"受理", CLAIM_RECEIVED},
    {"结转", CLAIM_CARRIED}, {"办结", CLAIM_CONCLUDED}, {"答复", CLAIM_CONCLUDED},
    {"行政复议", CLAIM_REVIEW}, {"行政诉讼", CLAIM_SUIT},
};

/* Is the character at p (a lead byte) a clause break: 。，、；（） or their
 * ASCII forms, or a line break? Compared as bytes, without decoding: the wide
 * ones are EF BC xx or E3 80 xx. */
static int is_break(const char *p)
{
    unsigned char a = (unsigned char)p[0], b = (unsigned char)p[1], c = (unsigned char)p[2];
    if (a < 0x80)
        return a == ';' || a == ',' || a == '(' || a == ')' || a == '\n';
    if (a == 0xe3 && b == 0x80)
        return c == 0x82 || c == 0x81;                     /* 。、 */
    if (a == 0xef && b == 0xbc)
        return c == 0x8c || c == 0x9b || c == 0x88 || c == 0x89;   /* ，；（） */
    return 0;
}

/* The keyword that ends the clause before end, nearest first, at most 24
 * code points back and not across a clause break; -1 when there is none. A
 * received count needs 申请 between its keyword and the number. A
 * 结转 followed by 下年, 到下 or 至下 is the carry-forward, not the carry-over.
 * Every keyword starts with a 3-byte character: others are skipped cheaply. */
static int nearest_keyword(const char *text, const char *end)
{
    const char *p = end;
    for (int steps = 0; steps < 24 && p > text; steps++) {
        p--;
        while (p > text && ((unsigned char)*p & 0xc0) == 0x80)
            p--;
        unsigned char lead = (unsigned char)*p;
        if (lead < 0xe3 || lead > 0xef)
            continue;
        if (is_break(p))
            return -1;
        if (lead < 0xe5 || lead > 0xe8)
            continue;
        for (size_t k = 0; k < sizeof KEYWORDS / sizeof KEYWORDS[0]; k++) {
            const char *w = KEYWORDS[k].word;
            if (p[0] != w[0] || p[1] != w[1] || p[2] != w[2])
                continue;
            size_t wl = strlen(w);
            if ((size_t)(end - p) < wl || memcmp(p, w, wl))
                continue;
            /* a count received is of applications: "受理网络问政182件" is not one */
            if (KEYWORDS[k].claim == CLAIM_RECEIVED && !memmem(p + wl, (size_t)(end - p) - wl, "申请", 6))
                return -1;
            if (KEYWORDS[k].claim == CLAIM_CARRIED &&
                (!strncmp(p + wl, "下年", 6) || !strncmp(p + wl, "到下", 6) || !strncmp(p + wl, "至下", 6)))
                continue;
            return (int)KEYWORDS[k].claim;
        }
    }
    return -1;
}

/* Fill claims[CLAIM_COUNT] with the first count stated for each, or -1.
 * Scans for 件 (rare, so the scan is fast) and reads the number before it. */
static void text_claims(const char *text, long long claims[CLAIM_COUNT])
{
    int found = 0;
    for (int i = 0; i < CLAIM_COUNT; i++)
        claims[i] = -1;
    for (const char *p = text; found < CLAIM_COUNT && (p = strstr(p, "件")); p += 3) {
        const char *end = p;
        while (end > text && end[-1] == ' ')
            end--;
        const char *start = end;
        while (start > text && start[-1] >= '0' && start[-1] <= '9' && end - start < 12)
            start--;
        if (start == end || (start > text && (start[-1] == '.' || start[-1] == '-' ||
                                               (start[-1] >= '0' && start[-1] <= '9'))))
            continue;
        long long v = 0;
        for (const char *d = start; d < end; d++)
            v = v * 10 + (*d - '0');
        const char *from = start;
        while (from > text && from[-1] == ' ')
            from--;
        int claim = nearest_keyword(text, from);
        if (claim >= 0 && claims[claim] < 0)
            claims[claim] = v, found++;     /* the first of each counts: stop when all are in */
    }
}

struct text_claim {
    enum claim claim;
    const char *row;             /* T3 row, or NULL for T4 */
    const char *t4[2];           /* T4 total columns that add up to the claim */
    const char *what_zh, *what_en;
};

static void check_claim(const struct rules_ctx *ctx, const struct report *r, enum rule_id rule,
                        const struct text_claim *cl, long long stated, struct findings *out)
{
    if (stated < 0)
        return;
    int ti = cl->row ? TABLE_T3 : TABLE_T4;
    const struct layout_table *lt = ltab(r, ti);
    int64_t table = 0, v;
    if (!lt)
        return;
    for (int i = 0; i < (cl->row ? 1 : 2); i++) {
        const char *row = cl->row ? cl->row : "", *col = cl->row ? "total" : cl->t4[i];
        if (!col)
            break;
        if (!count_at(r, ti, row, col, &v))
            return;
        table += v;
    }
    if (table == stated)
        return;
    struct finding *f = add(ctx, out, rule, ti);
    int row = layout_row_index(lt, cl->row ? cl->row : "");
    at_cell(f, lt, row, layout_col_index(lt, cl->row ? "total" : cl->t4[0]));
    if (!cl->row)
        f->row = -1;
    snprintf(f->expected, sizeof f->expected, "%lld", (long long)table);
    snprintf(f->actual, sizeof f->actual, "%lld", stated);
    f->message_zh = xasprintf("正文所述%s为 %lld 件，但表格中为 %lld 件", cl->what_zh, stated, (long long)table);
    f->message_en = xasprintf("the text states %lld %s, the table %lld", stated, cl->what_en, (long long)table);
}

/* R-TEXT-S3 and R-TEXT-S4 share one scan of section 一. */
static void R_TEXT_S3_S4(const struct rules_ctx *ctx, const struct report *r, struct findings *out)
{
    static const struct text_claim claims[] = {
        {CLAIM_RECEIVED, "new", {NULL, NULL}, "收到申请数", "applications received"},
        {CLAIM_CARRIED, "carried_over", {NULL, NULL}, "上年结转申请数", "applications carried over"},
        {CLAIM_CONCLUDED, "total", {NULL, NULL}, "办结申请数", "applications concluded"},
        {CLAIM_REVIEW, NULL, {"review.total", NULL}, "行政复议数", "administrative reviews"},
        {CLAIM_SUIT, NULL, {"suit_direct.total", "suit_after_review.total"}, "行政诉讼数", "lawsuits"},
    };
    if (r->section_order[0] < 0)
        return;
    long long stated[CLAIM_COUNT];
    text_claims(r->section_text[0], stated);
    for (size_t i = 0; i < sizeof claims / sizeof claims[0]; i++)
        check_claim(ctx, r, claims[i].row ? RULE_TEXT_S3 : RULE_TEXT_S4, &claims[i],
                    stated[claims[i].claim], out);
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long days_from_date(long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

long rules_deadline_day(unsigned year, int government)
{
    return days_from_date((long)year + 1, government > 0 ? 3 : 1, 31);
}

long rules_china_day(int64_t unix_seconds)
{
    int64_t s = unix_seconds + 8 * 3600;
    return (long)(s >= 0 ? s / 86400 : (s - 86399) / 86400);
}

void rules_format_day(long day, char *out, size_t outlen)
{
    long z = day + 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1;
    long m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    char s[11] = {(char)('0' + y / 1000 % 10), (char)('0' + y / 100 % 10), (char)('0' + y / 10 % 10),
                  (char)('0' + y % 10), '-', (char)('0' + m / 10), (char)('0' + m % 10), '-',
                  (char)('0' + d / 10), (char)('0' + d % 10), '\0'};
    snprintf(out, outlen, "%s", s);
}

static void R_DEADLINE(const struct rules_ctx *ctx, const struct report *r, struct findings *out)
{
    (void)r;
    if (!ctx->year || !ctx->submitted_at)
        return;
    long due = rules_deadline_day(ctx->year, ctx->government);
    long day = rules_china_day(ctx->submitted_at);
    if (day <= due)
        return;
    struct finding *f = add(ctx, out, RULE_DEADLINE, -1);
    rules_format_day(due, f->expected, sizeof f->expected);
    rules_format_day(day, f->actual, sizeof f->actual);
    f->message_zh = xasprintf("%u年度报告应于%s前报送%s，实际报送于%s，逾期%ld天", ctx->year,
                              f->expected, ctx->government > 0 ? "（本级政府）" : "（政府部门）",
                              f->actual, day - due);
    f->message_en = xasprintf("the report for %u was due on %s (%s) and came %ld day(s) late, on %s",
                              ctx->year, f->expected, ctx->government > 0 ? "a government" : "a department",
                              day - due, f->actual);
}

void rules_check_report(const struct rules_ctx *ctx, const struct report *r, struct findings *out)
{
    R_STRUCT_SECTIONS(ctx, r, out);
    R_STRUCT_VERSION(ctx, r, out);
    R_STRUCT_SHAPE_LABEL(ctx, r, out);
    R_CELL_MISSING_NUMBER(ctx, r, out);
    for (int ti = 0; ti < LAYOUT_TABLES; ti++)
        sums_check_table(r, ti, ctx->severity, out);
    R_S2_BOUNDS(ctx, r, out);
    R_S5_NONEMPTY(ctx, r, out);
    R_S6_FEE(ctx, r, out);
    R_TEXT_S3_S4(ctx, r, out);
    R_DEADLINE(ctx, r, out);
}
