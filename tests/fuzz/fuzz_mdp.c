/* fuzz_mdp: the broker's frame grammar (mdp_parse) on arbitrary multipart
 * messages: input is length-prefixed frames, frame 0 the ROUTER identity. */
#include "fuzz/fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_mdp(data, size) < 0)
        abort();
    return 0;
}
