/* fuzz_config: config_load on arbitrary bytes (through a memfd path). */
#include "fuzz/fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_config(data, size) < 0)
        abort();
    return 0;
}
