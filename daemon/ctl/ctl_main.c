/* reportctl: the command-line client of reportd. main only dispatches to the
 * subcommand; each lives in its own ctl_*.c. */
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
};

static const struct command COMMANDS[] = {
    {"check", ctl_check, "check [--json] [--form text|layout|yaml|pb] [--year Y] [--region CODE]\n"
                         "        [--kind department|government] [--submitted YYYY-MM-DD] FILE…"},
    {"convert", ctl_convert, "convert [--form F] --to yaml|pb [-o OUT] FILE"},
    {"submit", ctl_submit, "submit [--no-wait] [--plain] [--region CODE] [--name N] [--year Y]\n"
                           "        [--repeat N] [--timeout MS] [--broker EP | -c CONF]\n"
                           "        [--key FILE --server-key FILE] FILE…"},
    {"watch", ctl_watch, "watch [--json] [--from SEQ] [--count N] [--idle MS] [--publish EP]\n"
                         "        [--broker EP | -c CONF] [--key FILE --server-key FILE] [PREFIX…]"},
    {"deadletter", ctl_deadletter, "deadletter [--broker EP | -c CONF] [--key FILE --server-key FILE]\n"
                                   "        list | show UUID | retry UUID"},
    {"keygen", ctl_keygen, "keygen DIR/NAME   (CURVE key pair: NAME.key, NAME.pub)"},
};

static int usage(FILE *f)
{
    fprintf(f, "usage: reportctl COMMAND [ARGS]\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(f, "  reportctl %s\n", COMMANDS[i].usage);
    return 64;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (!strcmp(argv[1], COMMANDS[i].name))
            return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "reportctl: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
