/* fuzz_submission: checker_run_bytes — Submission unpack, read, check,
 * enrich — on arbitrary bytes, as a worker runs a request body. */
#include "fuzz/fuzz_targets.h"

FUZZ_TARGET_WITH_CHECKER(fuzz_submission(checker, data, size))
