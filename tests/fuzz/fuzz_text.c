/* fuzz_text: reader_read with the form fixed to READER_TEXT on arbitrary bytes; a
 * report that reads is checked and round-tripped through its other forms. */
#include "fuzz/fuzz_targets.h"

FUZZ_TARGET_WITH_CHECKER(fuzz_reader(checker, READER_TEXT, data, size))
