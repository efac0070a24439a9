/* fuzz_pdf: the PDF path through its isolation — each input goes to a real
 * pdftotext child under the limits (read/pdfread.c), its text to the layout
 * reader. Whatever the child does (fails, crashes, spins, balloons), the
 * answer must be a report or a read error with a reason, and this process
 * must go on: fuzz_reader aborts otherwise. Slow (a fork and exec per input):
 * fuzz.mk gives it a small max_len. */
#include "fuzz/fuzz_targets.h"

FUZZ_TARGET_WITH_CHECKER(fuzz_reader(checker, READER_PDF, data, size))
