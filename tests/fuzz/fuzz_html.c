/* fuzz_html: reader_read with the form fixed to READER_HTML on arbitrary bytes
 * (charset sniffing, iconv, libxml2's HTML parser, the grid); a report that
 * reads is checked and round-tripped through its other forms. */
#include "fuzz/fuzz_targets.h"

FUZZ_TARGET_WITH_CHECKER(fuzz_reader(checker, READER_HTML, data, size))
