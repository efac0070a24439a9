/* ctl_keygen: `reportctl keygen DIR/NAME` — a CURVE key pair for a broker,
 * worker or client: NAME.key (secret, 0600) and NAME.pub (public). Copy
 * NAME.pub into the broker's security.allow_dir to let that peer in. */
#include <stdio.h>
#include <string.h>

#include "ctl/commands.h"
#include "ctl/ctl.h"
#include "wire/keys.h"

int ctl_keygen(int argc, char **argv)
{
    int first, rc = ctl_parse(argc, argv, NULL, NULL, &first);
    if (rc >= 0)
        return rc;
    if (argc - first != 1 || argv[first][0] == '\0')
        return ctl_usage_error("keygen", "one DIR/NAME");
    char err[512];
    if (keys_generate(argv[first], err, sizeof err) != 0) {
        fprintf(stderr, "reportctl: keygen: %s\n", err);
        return CTL_EX_CANTCREAT;
    }
    printf("%s.key (secret, 0600) and %s.pub written\n", argv[first], argv[first]);
    return 0;
}
