/* The build's version: `git describe` of the tree it was built from (or the
 * Makefile's VERSION when there is no git), compiled into version.o. */
#ifndef REPORTD_VERSION_H
#define REPORTD_VERSION_H

/* The version string, e.g. "0.9.0-42-g28c190d" or "0.9.0-42-g28c190d-dirty".
 * Borrowed; never NULL. */
const char *reportd_version(void);

#endif
