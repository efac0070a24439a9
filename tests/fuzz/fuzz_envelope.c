/* fuzz_envelope: the broker's envelope reader (wire/envelope.c) on arbitrary
 * bytes, against protobuf-c's unpacking of the same bytes (fuzz_envelope). */
#include "fuzz/fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_envelope(data, size) < 0)
        abort();
    return 0;
}
