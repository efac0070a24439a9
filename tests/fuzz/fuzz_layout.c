/* fuzz_layout: reader_read with the form fixed to READER_LAYOUT on arbitrary bytes; a
 * report that reads is checked and round-tripped through its protobuf form. */
#include "fuzz/fuzz_targets.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct checker *checker;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    checker = fuzz_checker_new();
    if (!checker)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_reader(checker, READER_LAYOUT, data, size) < 0)
        abort();
    return 0;
}
