/* fuzz_flat: reader_read with the form fixed to READER_FLAT (run-together page
 * text) on arbitrary bytes; a report that reads is checked and round-tripped
 * through its other forms. */
#include "fuzz/fuzz_targets.h"

FUZZ_TARGET_WITH_CHECKER(fuzz_reader(checker, READER_FLAT, data, size))
