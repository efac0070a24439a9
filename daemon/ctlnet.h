/* ctlnet: what reportctl's network subcommands (submit, watch, deadletter)
 * share — where the broker and its publisher are, and how they are told. */
#ifndef REPORTD_CTLNET_H
#define REPORTD_CTLNET_H

#include <stddef.h>
#include <stdint.h>

struct mdp_msg;

struct ctl_endpoints {
    char *broker;               /* ROUTER to connect to */
    char *publish;              /* XPUB to subscribe to */
};

/* Defaults: $REPORTD_BROKER / $REPORTD_PUBLISH, else tcp://127.0.0.1:5555 / 5556. */
void ctlnet_defaults(struct ctl_endpoints *e);
/* Take -c FILE (a reportd config: its broker.bind / broker.publish, with a
 * wildcard host made 127.0.0.1), --broker EP, --publish EP. Returns 1 when opt
 * was one of them, 0 when not, -1 (message printed) on a bad config. */
int ctlnet_option(struct ctl_endpoints *e, int opt, const char *arg);
void ctlnet_free(struct ctl_endpoints *e);

/* The long options above, for getopt_long tables: 'c', 'B' (--broker), 'P'. */
#define CTLNET_LONGOPTS \
    {"config", required_argument, NULL, 'c'}, {"broker", required_argument, NULL, 'B'}, \
    {"publish", required_argument, NULL, 'P'}

/* A random RFC 4122 version 4 UUID, 36 characters. */
void ctlnet_uuid(char out[37]);

/* Status names as the Status enum spells them: "PASS", "FAIL" … */
const char *ctlnet_status_name(int status);

#endif
