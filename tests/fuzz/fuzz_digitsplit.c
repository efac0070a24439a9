/* fuzz_digitsplit: the digit-run solver on arbitrary runs for the rows of
 * T2, T3 or T4 (byte 0 picks the table): bounded work, a solution that cuts
 * each run exactly and keeps the identities, or a refusal naming the row. */
#include "fuzz/fuzz_targets.h"

FUZZ_TARGET_WITH_CHECKER(fuzz_digitsplit(checker, data, size))
