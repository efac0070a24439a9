/* commands: reportctl's one table of subcommands — name, operands, a one-line
 * summary, the options each one takes, its exit codes — and what is built
 * from it: the getopt tables, `--help` of every subcommand, `reportctl help`.
 * A subcommand sees only its own options; anything else is a usage error. */
#ifndef REPORTD_COMMANDS_H
#define REPORTD_COMMANDS_H

#include <stdio.h>

/* Exit codes of reportctl (sysexits.h where one fits). */
enum {
    CTL_EX_OK = 0,
    CTL_EX_FINDINGS = 1,        /* a report's status is at or above --fail-on */
    CTL_EX_USAGE = 64,
    CTL_EX_DATAERR = 65,        /* not a report; refused; dead-lettered; no such dead letter */
    CTL_EX_NOINPUT = 66,        /* a file cannot be opened */
    CTL_EX_UNAVAILABLE = 69,    /* the broker does not answer or did not accept */
    CTL_EX_CANTCREAT = 73,      /* an output file cannot be written */
    CTL_EX_TEMPFAIL = 75,       /* accepted, but the Results did not come back in time */
    CTL_EX_CONFIG = 78,         /* -c FILE, key files, the data directory */
};

struct ctl_option {
    const char *name;           /* long name without the dashes; NULL ends a list */
    int key;                    /* what getopt returns for it */
    char letter;                /* its short form (-o), or 0 */
    const char *arg;            /* the argument's name; NULL for a flag */
    const char *help;           /* one line */
};

struct ctl_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *operands;       /* e.g. "FILE…" */
    const char *summary;        /* one line */
    const struct ctl_option *options;
    const char *exits;          /* its exit codes, one line each */
};

/* The command called name, or NULL. */
const struct ctl_command *ctl_command_find(const char *name);
/* The table, for listing: *n is set to the number of commands. */
const struct ctl_command *ctl_commands(size_t *n);

/* Every command's synopsis, then how to get more (the bare `reportctl`). */
void ctl_overview(FILE *f);
/* One command's help: synopsis, summary, options, exit codes. */
void ctl_help(FILE *f, const struct ctl_command *c);

/* Parse argv (argv[0] the command's name) with that command's options,
 * calling take(ctx, key, arg) for each; take returns 0 or an exit code to stop
 * with. Returns -1 when parsing is done (operands from *first on), else the
 * exit code to return now: 0 after --help (printed), 64 for an option the
 * command does not take (message printed), or take's code. */
int ctl_parse(int argc, char **argv, int (*take)(void *ctx, int key, const char *arg),
              void *ctx, int *first);

/* A whole number in [min, max] for option opt ("--year"). 0, or 64 with a
 * message naming the option and the text. */
int ctl_number(const char *opt, const char *arg, long min, long max, long *out);
/* --fail-on: PASS, WARN, FAIL or REJECTED (the Status values, any case), or
 * none (4: nothing fails). 0, or 64 with a message. */
int ctl_fail_on(const char *arg, int *out);
/* The usage error for a wrong number of operands: a message, then 64. */
int ctl_usage_error(const char *command, const char *why);

#endif
