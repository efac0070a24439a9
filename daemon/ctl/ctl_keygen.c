/* ctl_keygen: `reportctl keygen DIR/NAME` — a CURVE key pair for a broker,
 * worker or client: NAME.key (secret, 0600) and NAME.pub (public). Copy
 * NAME.pub into the broker's security.allow_dir to let that peer in. */
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"
#include "wire/keys.h"

int ctl_keygen(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-' || argv[1][0] == '\0') {
        fputs("usage: reportctl keygen DIR/NAME   (writes NAME.key 0600 and NAME.pub)\n", stderr);
        return 64;
    }
    char err[512];
    if (keys_generate(argv[1], err, sizeof err) != 0) {
        fprintf(stderr, "reportctl: keygen: %s\n", err);
        return 73;              /* EX_CANTCREAT */
    }
    printf("%s.key (secret, 0600) and %s.pub written\n", argv[1], argv[1]);
    return 0;
}
