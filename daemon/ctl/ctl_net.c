/* ctl_net: reportctl's shared network plumbing (endpoints from flags, env or a
 * reportd config; UUIDs) and `reportctl deadletter`, which asks
 * the broker's reportd.deadletter service: list | show UUID | retry UUID. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "wire/client.h"
#include "conf/config.h"
#include "ctl/commands.h"
#include "ctl/ctl.h"
#include "ctl/ctlnet.h"
#include "wire/mdp.h"
#include "base/util.h"

void ctlnet_defaults(struct ctl_endpoints *e)
{
    const char *b = getenv("REPORTD_BROKER"), *p = getenv("REPORTD_PUBLISH");
    memset(e, 0, sizeof *e);
    e->broker = xstrdup(b && *b ? b : "tcp://127.0.0.1:5555");
    e->publish = xstrdup(p && *p ? p : "tcp://127.0.0.1:5556");
}

/* A bind address as a connect address: a wildcard host means this host. */
static char *connectable(const char *bind)
{
    const char *rest = NULL;
    if (strncmp(bind, "tcp://*:", 8) == 0)
        rest = bind + 8;
    else if (strncmp(bind, "tcp://0.0.0.0:", 14) == 0)
        rest = bind + 14;
    return rest ? xasprintf("tcp://127.0.0.1:%s", rest) : xstrdup(bind);
}

int ctlnet_option(struct ctl_endpoints *e, int opt, const char *arg)
{
    if (opt == 'K' || opt == 'S') {
        char **slot = opt == 'K' ? &e->client_key : &e->server_key;
        free(*slot);
        *slot = xstrdup(arg);
        e->curve_on = 1;
        return 1;
    }
    if (opt == 'B' || opt == 'P') {
        char **slot = opt == 'B' ? &e->broker : &e->publish;
        int *given = opt == 'B' ? &e->broker_given : &e->publish_given;
        char *v = *given ? xasprintf("%s,%s", *slot, arg) : xstrdup(arg);
        free(*slot);
        *slot = v;
        *given = 1;
        return 1;
    }
    if (opt != 'c')
        return 0;
    struct config cfg;
    char err[512];
    config_defaults(&cfg);
    if (config_load(&cfg, arg, err, sizeof err) != 0) {
        fprintf(stderr, "reportctl: %s\n", err);
        config_free(&cfg);
        return -1;
    }
    free(e->broker);
    free(e->publish);
    e->broker = connectable(cfg.broker_bind);
    e->publish = connectable(cfg.publish_bind);
    if (cfg.curve) {
        e->curve_on = 1;
        free(e->client_key);
        free(e->server_key);
        e->client_key = xstrdup(cfg.client_secret_key);
        e->server_key = xstrdup(cfg.server_public_key);
    }
    config_free(&cfg);
    return 1;
}

void ctlnet_free(struct ctl_endpoints *e)
{
    free(e->broker);
    free(e->publish);
    free(e->client_key);
    free(e->server_key);
    memset(e, 0, sizeof *e);
}

int ctlnet_keys(struct ctl_endpoints *e)
{
    char err[512];
    if (!e->curve_on)
        return 0;
    if (!e->client_key || !e->server_key) {
        fprintf(stderr, "reportctl: CURVE needs both --key FILE and --server-key FILE\n");
        return -1;
    }
    if (keys_load_client(&e->curve, e->client_key, e->server_key, err, sizeof err) != 0) {
        fprintf(stderr, "reportctl: %s\n", err);
        return -1;
    }
    return 0;
}

struct client *ctlnet_client(void *ctx, const struct ctl_endpoints *e)
{
    struct client *c = client_new(ctx, e->broker);
    client_use_curve(c, &e->curve);
    return c;
}

void ctlnet_uuid(char out[37])
{
    unsigned char r[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, r, sizeof r) != (ssize_t)sizeof r) {
        /* no urandom: time and pid are unique enough for one host's client ids */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        for (size_t i = 0; i < sizeof r; i++)
            r[i] = (unsigned char)((ts.tv_nsec >> (i % 4 * 8)) ^ (getpid() >> (i % 3 * 8)) ^
                                   (ts.tv_sec >> (i % 5 * 8)) ^ rand());
    }
    if (fd >= 0)
        close(fd);
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
             r[13], r[14], r[15]);
}

static void print_list(const char *text)
{
    json_t *arr = json_loads(text, 0, NULL);
    size_t i;
    json_t *o;
    printf("%-32s  %-36s  %8s  %s\n", "UUID", "SUBMISSION", "ATTEMPTS", "REASON");
    json_array_foreach(arr, i, o) {
        printf("%-32s  %-36s  %8lld  %s\n", json_string_value(json_object_get(o, "uuid")),
               json_string_value(json_object_get(o, "submission_id")),
               (long long)json_integer_value(json_object_get(o, "attempts")),
               json_string_value(json_object_get(o, "reason")));
    }
    json_decref(arr);
}

static int take_net(void *ctx, int key, const char *arg)
{
    int rc = ctlnet_option(ctx, key, arg);
    return rc > 0 ? 0 : rc < 0 ? CTL_EX_CONFIG : CTL_EX_USAGE;
}

/* A dead letter's UUID as `deadletter list` prints it: 32 hex digits (the
 * dashes of a submission id are dropped). 0, or 65 with a message. */
static int dead_uuid(const char *cmd, const char *arg, char out[33])
{
    size_t n = 0;
    for (const char *p = arg; *p && n < 33; p++)
        if (*p != '-')
            out[n++] = *p;
    if (n == 32 && strspn(out, "0123456789abcdefABCDEF") >= 32) {
        out[32] = '\0';
        return 0;
    }
    fprintf(stderr, "reportctl: deadletter %s: '%s' is not a dead letter's UUID (32 hex digits, "
            "as 'reportctl deadletter list' prints them)\n", cmd, arg);
    return CTL_EX_DATAERR;
}

int ctl_deadletter(int argc, char **argv)
{
    struct ctl_endpoints ep;
    char uuid[33] = "";
    int first, rc;
    ctlnet_defaults(&ep);
    if ((rc = ctl_parse(argc, argv, take_net, &ep, &first)) < 0 && ctlnet_keys(&ep) != 0)
        rc = CTL_EX_CONFIG;
    int n = argc - first;
    const char *cmd = n > 0 ? argv[first] : "";
    if (rc < 0 && !((n == 1 && !strcmp(cmd, "list")) ||
                    (n == 2 && (!strcmp(cmd, "show") || !strcmp(cmd, "retry")))))
        rc = ctl_usage_error("deadletter", "expected list, show UUID or retry UUID");
    if (rc < 0 && n == 2 && (rc = dead_uuid(cmd, argv[first + 1], uuid)) == 0)
        rc = -1;
    if (rc >= 0) {
        ctlnet_free(&ep);
        return rc;
    }
    void *ctx = zmq_ctx_new();
    struct client *c = ctlnet_client(ctx, &ep);
    struct mdp_msg *req = mdp_msg_new(), *rep;
    mdp_msg_addstr(req, cmd);
    if (*uuid)
        mdp_msg_addstr(req, uuid);
    char err[256];
    rep = client_call(c, "reportd.deadletter", req, 3000, 3, err, sizeof err);
    if (!rep) {
        fprintf(stderr, "reportctl: %s\n", err);
        rc = CTL_EX_UNAVAILABLE;
    } else if (!mdp_msg_is(rep, 0, "200")) {
        char *status = mdp_msg_strdup(rep, 0);
        if (!strncmp(status, "404", 3))
            fprintf(stderr, "reportctl: deadletter %s: no dead letter %s ('reportctl deadletter "
                    "list' shows them)\n", cmd, uuid);
        else
            fprintf(stderr, "reportctl: deadletter %s: the broker refused the request (%s)\n",
                    cmd, status);
        free(status);
        rc = CTL_EX_DATAERR;
    } else {
        if (!strcmp(cmd, "list") && rep->n > 1) {
            char *text = mdp_msg_strdup(rep, 1);
            print_list(text);
            free(text);
        } else if (!strcmp(cmd, "show") && rep->n > 1) {
            char *text = mdp_msg_strdup(rep, 1);
            printf("%s\n", text);
            free(text);
        } else {
            printf("%s handed to a worker again\n", uuid);
        }
        rc = 0;
    }
    mdp_msg_destroy(&req);
    mdp_msg_destroy(&rep);
    client_destroy(&c);
    zmq_ctx_term(ctx);
    ctlnet_free(&ep);
    return rc;
}
