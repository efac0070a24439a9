/* version: the one place the build's version lives; the Makefile passes
 * REPORTD_VERSION (git describe, else its VERSION) and rebuilds this file
 * when it changes. */
#include "base/version.h"

#ifndef REPORTD_VERSION
#define REPORTD_VERSION "unknown"
#endif

const char *reportd_version(void)
{
    return REPORTD_VERSION;
}
