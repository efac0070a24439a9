/* sums: the generic engine for the summation identities a layout file
 * declares (lhs = rhs, by row, by column, or once). */
#ifndef REPORTD_SUMS_H
#define REPORTD_SUMS_H

#include "report/findings.h"
#include "report/report.h"

/* Evaluate every identity of table ti of r; append a finding per failing row,
 * column or block. sev gives each rule's severity. Terms that are missing
 * (blank, placeholder, not a number) make an identity undecidable unless the
 * known terms already break it (all counts are ≥ 0): then the finding says
 * which cells were missing and the expected value is a lower bound ("≥5"). */
void sums_check_table(const struct report *r, int ti, const enum severity sev[RULE_COUNT],
                      struct findings *out);

#endif
