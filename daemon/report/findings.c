/* findings: the catalogue of the rules of shared/docs/report-format.md — per
 * report, then across years — with their default severities, and the growable
 * list of findings. */
#include "report/findings.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static const struct rule_info RULES[RULE_COUNT] = {
    [RULE_STRUCT_SECTIONS] = {"R-STRUCT-SECTIONS", SEV_ERROR, "the six sections are present, in order"},
    [RULE_STRUCT_VERSION] = {"R-STRUCT-VERSION", SEV_ERROR, "the report uses the layout of its year"},
    [RULE_STRUCT_SHAPE] = {"R-STRUCT-SHAPE", SEV_ERROR, "T2, T3, T4 have exactly the rows and columns of their layout, in order"},
    [RULE_STRUCT_LABEL] = {"R-STRUCT-LABEL", SEV_WARNING, "a row is printed with another label, still unambiguously that row"},
    [RULE_CELL_MISSING] = {"R-CELL-MISSING", SEV_WARNING, "a numeric cell is blank or a placeholder (a wholly blank row or column is one finding)"},
    [RULE_CELL_NUMBER] = {"R-CELL-NUMBER", SEV_ERROR, "a numeric cell is not a number, or a count is negative or not whole"},
    [RULE_S3_ROWSUM] = {"R-S3-ROWSUM", SEV_ERROR, "T3 each row: the six applicant columns add up to 总计"},
    [RULE_S3_RESULTSUM] = {"R-S3-RESULTSUM", SEV_ERROR, "T3 each column: the result rows add up to （七）总计"},
    [RULE_S3_BALANCE] = {"R-S3-BALANCE", SEV_ERROR, "T3 each column: 一 + 二 = （七）总计 + 四"},
    [RULE_S4_SUM] = {"R-S4-SUM", SEV_ERROR, "T4 each block: 维持 + 纠正 + 其他 + 尚未审结 = 总计"},
    [RULE_S2_BOUNDS] = {"R-S2-BOUNDS", SEV_WARNING, "T2: 现行有效件数 ≥ 本年制发件数 − 本年废止件数"},
    [RULE_S5_NONEMPTY] = {"R-S5-NONEMPTY", SEV_WARNING, "section 五 says something"},
    [RULE_S6_FEE] = {"R-S6-FEE", SEV_NOTICE, "section 六 states the 信息处理费 collected (warning if T3 （六）2 > 0)"},
    [RULE_TEXT_S3] = {"R-TEXT-S3", SEV_WARNING, "counts stated in the text equal the T3 总计 column"},
    [RULE_TEXT_S4] = {"R-TEXT-S4", SEV_WARNING, "review and litigation counts in the text equal the T4 totals"},
    [RULE_DEADLINE] = {"R-DEADLINE", SEV_WARNING, "submitted by the deadline of its kind of body"},
    [RULE_S3_PREV_CARRY] = {"R-S3-PREV-CARRY", SEV_WARNING, "T3 each column: 二 上年结转 = last year's 四 结转下年度继续办理"},
    [RULE_S2_CONTINUITY] = {"R-S2-CONTINUITY", SEV_WARNING, "T2 规章, 行政规范性文件: last year's 现行有效 + 本年制发 − 本年废止 = 现行有效"},
    [RULE_DUP_PREV] = {"R-DUP-PREV", SEV_WARNING, "the narrative sections repeat more than 50% of last year's"},
    [RULE_YOY_JUMP] = {"R-YOY-JUMP", SEV_NOTICE, "a key total changed by more than ×5 or below ×0.2 year on year"},
    [RULE_PREV_PARTIAL] = {"R-PREV-PARTIAL", SEV_NOTICE, "last year's report could be compared only in part (old layout, absent table or text)"},
};

const struct rule_info *findings_rule(enum rule_id r)
{
    return &RULES[r];
}

int findings_rule_find(const char *id)
{
    for (int i = 0; i < RULE_COUNT; i++)
        if (!strcmp(RULES[i].id, id))
            return i;
    return -1;
}

struct finding *findings_add(struct findings *fs, enum rule_id r, enum severity sev, int table)
{
    if (fs->n == fs->cap) {
        fs->cap = fs->cap ? fs->cap * 2 : 16;
        fs->v = xrealloc(fs->v, fs->cap * sizeof *fs->v);
    }
    struct finding *f = &fs->v[fs->n++];
    memset(f, 0, sizeof *f);
    f->rule = r;
    f->severity = sev;
    f->table = table;
    f->row = f->col = -1;
    return f;
}

void findings_free(struct findings *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        free(fs->v[i].message_zh);
        free(fs->v[i].message_en);
    }
    free(fs->v);
    fs->v = NULL;
    fs->n = fs->cap = 0;
}
