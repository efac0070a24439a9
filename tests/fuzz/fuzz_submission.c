/* fuzz_submission: checker_run_bytes — Submission unpack, read, check,
 * enrich — on arbitrary bytes, as a worker runs a request body. */
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
    if (fuzz_submission(checker, data, size) < 0)
        abort();
    return 0;
}
