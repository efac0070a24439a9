/* worker_fault: the fault seam of build/reportd-test, the daemon the
 * end-to-end tests run (make install never installs it). A constructor
 * points worker_fault_hook at poison(), which kills the process (SIGKILL)
 * when a request body contains $REPORTD_TEST_POISON and sleeps
 * $REPORTD_TEST_DELAY_MS before each request. The installed reportd has no
 * such code: its hook stays NULL. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "worker/worker.h"

static void poison(const void *body, size_t len)
{
    const char *marker = getenv("REPORTD_TEST_POISON");
    const char *delay = getenv("REPORTD_TEST_DELAY_MS");
    if (marker && *marker && memmem(body, len, marker, strlen(marker)))
        raise(SIGKILL);
    if (delay && *delay) {
        long ms = atol(delay);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

__attribute__((constructor)) static void arm(void)
{
    if (getenv("REPORTD_TEST_POISON") || getenv("REPORTD_TEST_DELAY_MS"))
        worker_fault_hook = poison;
}
