/* fuzz_yaml: reader_read with the form fixed to READER_YAML on arbitrary bytes; a
 * report that reads is checked and round-tripped. */
#include "fuzz/fuzz_targets.h"

FUZZ_TARGET_WITH_CHECKER(fuzz_reader(checker, READER_YAML, data, size))
