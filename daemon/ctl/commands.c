/* commands: the table of reportctl's subcommands and the parser, help and
 * overview built from it. Adding an option is one line here plus its case in
 * the subcommand's take(); the man page test (tests/cli.sh) checks that
 * reportctl(1) names every option listed here. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl/commands.h"
#include "ctl/ctl.h"

#define NET_OPTIONS \
    {"config", 'c', 'c', "FILE", "a reportd config: its broker.bind, broker.publish and security.*"}, \
    {"broker", 'B', 0, "EP", "the broker's endpoint, or several (EP,EP or repeated; tried in turn on a timeout); default $REPORTD_BROKER, else tcp://127.0.0.1:5555"}, \
    {"key", 'K', 0, "FILE", "CURVE: this client's secret key file (turns CURVE on)"}, \
    {"server-key", 'S', 0, "FILE", "CURVE: the broker's public key file"}

#define READ_OPTIONS \
    {"form", 'f', 0, "FORM", "text, layout, flat, yaml, pb, pdf or html (default: detected from the content)"}, \
    {"year", 'y', 0, "YEAR", "the report's year, 2000 to 2100 (default: from the report)"}

static const struct ctl_option CHECK_OPTS[] = {
    {"json", 'j', 0, NULL, "one JSON object per report per line"},
    READ_OPTIONS,
    {"region", 'r', 0, "CODE", "the body's 6-digit region code"},
    {"kind", 'k', 0, "KIND", "department or government (decides the deadline)"},
    {"submitted", 's', 0, "DATE", "the submission date, YYYY-MM-DD (R-DEADLINE)"},
    {"fail-on", 'F', 0, "STATUS", "exit 1 when a report is PASS, WARN, FAIL (default) or REJECTED or worse; none: never"},
    {"previous", 'P', 0, "FILE", "the same body's report for the year before FILE's (one FILE; any form)"},
    {NULL, 0, 0, NULL, NULL},
};

static const struct ctl_option CONVERT_OPTS[] = {
    READ_OPTIONS,
    {"to", 't', 0, "FORM", "yaml or pb (required)"},
    {"output", 'o', 'o', "OUT", "write to OUT (default: standard output)"},
    {NULL, 0, 0, NULL, NULL},
};

static const struct ctl_option SUBMIT_OPTS[] = {
    {"no-wait", 'n', 0, NULL, "stop once every submission is accepted (200 and its UUID)"},
    {"plain", 'p', 0, NULL, "a plain MDP request to report.check, not durable"},
    {"region", 'r', 0, "CODE", "the body's 6-digit region code"},
    {"name", 'N', 0, "NAME", "the body's name"},
    {"kind", 'k', 0, "KIND", "department or government"},
    {"year", 'y', 0, "YEAR", "the report's year, 2000 to 2100"},
    {"form", 'f', 0, "FORM", "auto, text, layout, flat, yaml, pb, pdf or html (default auto)"},
    {"id", 'i', 0, "UUID", "the submission id (one FILE, no --repeat); default: a random UUID"},
    {"repeat", 'R', 0, "N", "submit each FILE N times, 1 to 1000000 (default 1)"},
    {"timeout", 't', 0, "MS", "wait this long for an answer before resending, 10 to 3600000 (default 5000)"},
    {"retries", 'T', 0, "N", "resend at most N times, 0 to 1000 (default 5)"},
    {"wait", 'w', 0, "S", "wait at most S seconds for the Results, 1 to 86400 (default 600)"},
    {"fail-on", 'F', 0, "STATUS", "exit 1 when a Result is PASS, WARN, FAIL (default) or REJECTED or worse; none: never"},
    NET_OPTIONS,
    {NULL, 0, 0, NULL, NULL},
};

static const struct ctl_option WATCH_OPTS[] = {
    {"json", 'j', 0, NULL, "one JSON object per message"},
    {"from", 'f', 0, "SEQ", "replay from sequence number SEQ (1 or more) first"},
    {"count", 'n', 0, "N", "stop after N messages (default: never)"},
    {"idle", 'i', 0, "MS", "stop after MS milliseconds without a message (default: never)"},
    {"publish", 'P', 0, "EP", "the publisher's endpoint, or several (EP,EP or repeated; each sequence number printed once, in order); default $REPORTD_PUBLISH, else tcp://127.0.0.1:5556"},
    NET_OPTIONS,
    {NULL, 0, 0, NULL, NULL},
};

static const struct ctl_option NET_ONLY_OPTS[] = {NET_OPTIONS, {NULL, 0, 0, NULL, NULL}};
static const struct ctl_option NO_OPTS[] = {{NULL, 0, 0, NULL, NULL}};

static const struct ctl_option HELP_OPT = {"help", 'h', 'h', NULL, "this help"};

static const struct ctl_command COMMANDS[] = {
    {"check", ctl_check, "FILE… (- reads standard input)",
     "read reports offline, check them and print the findings; one body's reports in year order, each against the year before",
     CHECK_OPTS,
     "0 no report at or above --fail-on; 1 one is; 65 a file (or --previous) is not a report;\n"
     "66 a file (or --previous) cannot be opened; 64 usage; 78 the data directory is unusable"},
    {"convert", ctl_convert, "FILE", "write a report in its YAML or protobuf form", CONVERT_OPTS,
     "0 written; 65 the file is not a report; 66 it cannot be opened;\n"
     "73 the output cannot be written; 64 usage; 78 the data directory is unusable"},
    {"submit", ctl_submit, "FILE…", "submit reports to reportd (durable) and print each Result", SUBMIT_OPTS,
     "0 every Result below --fail-on; 1 one at or above it; 65 refused or dead-lettered;\n"
     "66 a file cannot be opened; 69 not accepted (no broker); 75 accepted, Results late;\n"
     "64 usage; 78 -c FILE or a key file"},
    {"watch", ctl_watch, "[PREFIX…]", "print the results, alerts and dead letters reportd publishes", WATCH_OPTS,
     "0 stopped (--count, --idle); 64 usage; 78 -c FILE or a key file"},
    {"deadletter", ctl_deadletter, "list | show UUID | retry UUID",
     "list the dead letters, show one, or hand one to a worker again", NET_ONLY_OPTS,
     "0 done; 65 no such dead letter, or not a UUID; 69 no broker; 64 usage; 78 -c FILE or a key file"},
    {"keygen", ctl_keygen, "DIR/NAME", "write a CURVE key pair: NAME.key (secret, 0600) and NAME.pub", NO_OPTS,
     "0 written; 73 cannot be written; 64 usage"},
    {"help", ctl_help_command, "[COMMAND]", "this overview, or one command's options and exit codes", NO_OPTS,
     "0; 64 no such command"},
};
#define NCOMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

const struct ctl_command *ctl_command_find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(name, COMMANDS[i].name))
            return &COMMANDS[i];
    return NULL;
}

const struct ctl_command *ctl_commands(size_t *n)
{
    *n = NCOMMANDS;
    return COMMANDS;
}

void ctl_overview(FILE *f)
{
    fputs("usage: reportctl COMMAND [OPTIONS] [ARGS]\n"
          "       reportctl --version | --help\n\ncommands:\n", f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-11s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fputs("\n'reportctl help COMMAND' or 'reportctl COMMAND --help' lists its options and\n"
          "exit codes; reportctl(1) has the rest.\n", f);
}

static void print_option(FILE *f, const struct ctl_option *o)
{
    char head[64];
    int n = o->letter ? snprintf(head, sizeof head, "-%c, --%s", o->letter, o->name)
                      : snprintf(head, sizeof head, "    --%s", o->name);
    if (o->arg && n > 0 && (size_t)n < sizeof head)
        snprintf(head + n, sizeof head - (size_t)n, " %s", o->arg);
    fprintf(f, "  %-24s %s\n", head, o->help);
}

void ctl_help(FILE *f, const struct ctl_command *c)
{
    fprintf(f, "usage: reportctl %s%s %s\n%s.\n\noptions:\n", c->name,
            c->options[0].name ? " [OPTIONS]" : "", c->operands, c->summary);
    for (const struct ctl_option *o = c->options; o->name; o++)
        print_option(f, o);
    print_option(f, &HELP_OPT);
    fputs("\nexit status:\n", f);
    for (const char *line = c->exits, *nl; *line; line = nl + (*nl != '\0')) {
        nl = line + strcspn(line, "\n");
        fprintf(f, "  %.*s\n", (int)(nl - line), line);
    }
}

/* The getopt tables for c: long options, and "+:" plus the short letters. */
static void build_getopt(const struct ctl_command *c, struct option *lo, char *shorts)
{
    size_t n = 0, s = 0;
    shorts[s++] = ':';
    for (const struct ctl_option *o = c->options; o->name; o++, n++) {
        lo[n] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL, o->key};
        if (o->letter) {
            shorts[s++] = o->letter;
            if (o->arg)
                shorts[s++] = ':';
        }
    }
    lo[n++] = (struct option){"help", no_argument, NULL, 'h'};
    lo[n] = (struct option){NULL, 0, NULL, 0};
    shorts[s++] = 'h';
    shorts[s] = '\0';
}

int ctl_parse(int argc, char **argv, int (*take)(void *ctx, int key, const char *arg),
              void *ctx, int *first)
{
    const struct ctl_command *c = ctl_command_find(argv[0]);
    struct option lo[48];
    char shorts[64];
    int key, rc;
    build_getopt(c, lo, shorts);
    optind = 1;
    opterr = 0;
    while ((key = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        if (key == 'h') {
            ctl_help(stdout, c);
            return 0;
        }
        if (key == '?' || key == ':') {
            fprintf(stderr, "reportctl %s: %s '%s'; see 'reportctl help %s'\n", c->name,
                    key == ':' ? "missing the value of" : "unknown option", argv[optind - 1],
                    c->name);
            return CTL_EX_USAGE;
        }
        if ((rc = take(ctx, key, optarg)) != 0)
            return rc;
    }
    *first = optind;
    return -1;
}

int ctl_number(const char *opt, const char *arg, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max) {
        fprintf(stderr, "reportctl: %s must be a whole number from %ld to %ld, not '%s'\n", opt,
                min, max, arg);
        return CTL_EX_USAGE;
    }
    *out = v;
    return 0;
}

int ctl_fail_on(const char *arg, int *out)
{
    static const char *const names[] = {"PASS", "WARN", "FAIL", "REJECTED", "none"};
    for (int i = 0; i < 5; i++)
        if (!strcasecmp(arg, names[i])) {
            *out = i;
            return 0;
        }
    fprintf(stderr, "reportctl: --fail-on must be PASS, WARN, FAIL, REJECTED or none, not '%s'\n", arg);
    return CTL_EX_USAGE;
}

int ctl_usage_error(const char *command, const char *why)
{
    fprintf(stderr, "reportctl %s: %s; see 'reportctl help %s'\n", command, why, command);
    return CTL_EX_USAGE;
}
