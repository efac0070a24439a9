/* ctlnet: what reportctl's network subcommands (submit, watch, deadletter)
 * share — where the broker and its publisher are, and how they are told. */
#ifndef REPORTD_CTLNET_H
#define REPORTD_CTLNET_H

#include <stddef.h>
#include <stdint.h>

#include "wire/keys.h"

struct mdp_msg;
struct client;

struct ctl_endpoints {
    char *broker;               /* ROUTER(s) to connect to: EP[,EP…] */
    char *publish;              /* XPUB(s) to subscribe to: EP[,EP…] */
    int broker_given, publish_given;    /* a --broker / --publish seen: the next one adds */
    /* CURVE: on with --key/--server-key, or a config with security.curve */
    int curve_on;
    char *client_key;           /* our secret key file */
    char *server_key;           /* the broker's public key file */
    struct curve_keys curve;    /* loaded by ctlnet_keys */
};

/* Defaults: $REPORTD_BROKER / $REPORTD_PUBLISH, else tcp://127.0.0.1:5555 / 5556. */
void ctlnet_defaults(struct ctl_endpoints *e);
/* Take -c FILE (a reportd config: its broker.bind / broker.publish, with a
 * wildcard host made 127.0.0.1, and its security.* client settings), --broker
 * EP, --publish EP (each may be a comma-separated list, and repeated options
 * add to the list), --key FILE (our secret key), --server-key FILE (the
 * broker's public key). Returns 1 when opt was one of them, 0 when not, -1
 * (message printed) on a bad config. */
int ctlnet_option(struct ctl_endpoints *e, int opt, const char *arg);
void ctlnet_free(struct ctl_endpoints *e);
/* After the options: read the key files when CURVE is on. 0, or -1 with a
 * message printed (exit 78). */
int ctlnet_keys(struct ctl_endpoints *e);
/* A client for e->broker, with CURVE when it is on. */
struct client *ctlnet_client(void *ctx, const struct ctl_endpoints *e);

/* The long options above, for getopt_long tables: 'c', 'B' (--broker), 'P',
 * 'K' (--key), 'S' (--server-key). */
#define CTLNET_LONGOPTS \
    {"config", required_argument, NULL, 'c'}, {"broker", required_argument, NULL, 'B'}, \
    {"publish", required_argument, NULL, 'P'}, {"key", required_argument, NULL, 'K'}, \
    {"server-key", required_argument, NULL, 'S'}

/* A random RFC 4122 version 4 UUID, 36 characters. */
void ctlnet_uuid(char out[37]);

#endif
