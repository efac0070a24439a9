/* reportctl: the command-line client of reportd. main only dispatches to the
 * subcommand named in commands.c's table; each lives in its own ctl_*.c. */
#include <stdio.h>
#include <string.h>

#include "base/version.h"
#include "ctl/commands.h"
#include "ctl/ctl.h"

int ctl_help_command(int argc, char **argv)
{
    int first, rc = ctl_parse(argc, argv, NULL, NULL, &first);
    if (rc >= 0)
        return rc;
    if (first == argc) {
        ctl_overview(stdout);
        return CTL_EX_OK;
    }
    const struct ctl_command *c = first + 1 == argc ? ctl_command_find(argv[first]) : NULL;
    if (!c) {
        fprintf(stderr, "reportctl help: no command '%s'\n", argv[first]);
        ctl_overview(stderr);
        return CTL_EX_USAGE;
    }
    ctl_help(stdout, c);
    return CTL_EX_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        ctl_overview(stderr);
        return CTL_EX_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        ctl_overview(stdout);
        return CTL_EX_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("reportctl %s\n", reportd_version());
        return CTL_EX_OK;
    }
    const struct ctl_command *c = ctl_command_find(argv[1]);
    if (c)
        return c->run(argc - 1, argv + 1);
    fprintf(stderr, "reportctl: unknown command '%s'\n", argv[1]);
    ctl_overview(stderr);
    return CTL_EX_USAGE;
}
