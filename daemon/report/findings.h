/* findings: the rule catalogue (ids, default severities, titles) and the list
 * of findings one check produces. Findings name cells by index into their
 * table's layout; check.c turns them into protobuf with ids and labels. */
#ifndef REPORTD_FINDINGS_H
#define REPORTD_FINDINGS_H

#include <stddef.h>

enum rule_id {
    RULE_STRUCT_SECTIONS, RULE_STRUCT_VERSION, RULE_STRUCT_SHAPE, RULE_STRUCT_LABEL,
    RULE_CELL_MISSING, RULE_CELL_NUMBER, RULE_S3_ROWSUM, RULE_S3_RESULTSUM, RULE_S3_BALANCE, RULE_S4_SUM,
    RULE_S2_BOUNDS, RULE_S5_NONEMPTY, RULE_S6_FEE, RULE_TEXT_S3, RULE_TEXT_S4, RULE_DEADLINE,
    /* across years: against the same body's report for the previous year */
    RULE_S3_PREV_CARRY, RULE_S2_CONTINUITY, RULE_DUP_PREV, RULE_YOY_JUMP, RULE_PREV_PARTIAL,
    RULE_COUNT
};

enum severity { SEV_NOTICE = 0, SEV_WARNING = 1, SEV_ERROR = 2 };

struct rule_info {
    const char *id;              /* "R-S3-ROWSUM" */
    enum severity severity;      /* default */
    const char *what_en;         /* one line, for --list-rules and docs */
};

/* The catalogue entry of rule r. */
const struct rule_info *findings_rule(enum rule_id r);
/* The rule with that id, or -1. */
int findings_rule_find(const char *id);

#define FINDING_MAX_CELLS 48

struct finding {
    enum rule_id rule;
    enum severity severity;
    int table;                   /* TABLE_T2.., or -1 for a section/document rule */
    int row, col;                /* layout indexes, -1 where not applicable */
    char expected[96];
    char actual[192];
    char *message_zh;            /* owned */
    char *message_en;            /* owned */
    int cells[FINDING_MAX_CELLS];   /* cell numbers in the table, involved */
    int ncells;
    int missing[FINDING_MAX_CELLS]; /* cell numbers found blank that the check needed */
    int nmissing;
};

struct findings {
    struct finding *v;
    size_t n, cap;
};

/* Append a finding for rule r at severity sev (zeroed otherwise; row/col -1). */
struct finding *findings_add(struct findings *fs, enum rule_id r, enum severity sev, int table);
void findings_free(struct findings *fs);

#endif
