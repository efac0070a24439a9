/* fuzz_dispatch: the broker's dispatch state machine (tests/fuzz/dispatch_driver.h):
 * input is a sequence of (op, argument) byte pairs — workers' READY, REPLY
 * (to the job held, or stale), HEARTBEAT, DISCONNECT, unreachable peers;
 * clients' titanic.request/reply/close and plain requests; time advancing;
 * garbage — with the broker's invariants checked after every step. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz/dispatch_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once++)
        atexit(dispatch_end);   /* the context and the spools' directory */
    if (dispatch_run(data, size) < 0)
        abort();
    return 0;
}
