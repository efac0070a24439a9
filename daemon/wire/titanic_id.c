/* titanic_id: a job's UUID is a pure function of what the client sends, so a
 * resend after a lost "200" (Lazy Pirate) names the same job and the spool
 * stores it once. A submission id that is a UUID is kept (its hex digits);
 * any other id, and a body without one, is hashed with a tag ("sid:", "raw:")
 * so the two kinds never collide. Nothing here touches a socket or the spool. */
#include "wire/titanic_id.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static const char hexdigits[] = "0123456789abcdef";

static void hex32(const unsigned char *d, char out[TITANIC_ID_LEN + 1])
{
    for (int i = 0; i < TITANIC_ID_LEN / 2; i++) {
        out[2 * i] = hexdigits[d[i] >> 4];
        out[2 * i + 1] = hexdigits[d[i] & 15];
    }
    out[TITANIC_ID_LEN] = '\0';
}

static int hex_lower(char c)
{
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 'a';
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ? c : -1;
}

void titanic_id_for(const char *sid, char out[TITANIC_ID_LEN + 1])
{
    size_t n = 0;
    const char *s = sid;
    for (; *s && n < TITANIC_ID_LEN + 1; s++) {
        if (*s == '-')
            continue;
        int c = hex_lower(*s);
        if (c < 0)
            break;
        out[n++] = (char)c;
    }
    if (*s == '\0' && n == TITANIC_ID_LEN && strlen(sid) == 36) {
        out[TITANIC_ID_LEN] = '\0';
        return;
    }
    unsigned char d[SHA256_DIGEST_LENGTH];
    char *tagged = xasprintf("sid:%s", sid);
    SHA256((const unsigned char *)tagged, strlen(tagged), d);
    free(tagged);
    hex32(d, out);
}

void titanic_id_for_bytes(const char *service, const void *body, size_t len,
                          char out[TITANIC_ID_LEN + 1])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    struct buf b = {0};
    buf_puts(&b, "raw:");
    buf_append(&b, service, strlen(service) + 1);
    buf_append(&b, body, len);
    SHA256((const unsigned char *)b.data, b.len, d);
    buf_free(&b);
    hex32(d, out);
}

int titanic_id_parse(const void *data, size_t len, char out[TITANIC_ID_LEN + 1])
{
    if (len != TITANIC_ID_LEN)
        return -1;
    for (size_t k = 0; k < TITANIC_ID_LEN; k++) {
        int c = hex_lower(((const char *)data)[k]);
        if (c < 0)
            return -1;
        out[k] = (char)c;
    }
    out[TITANIC_ID_LEN] = '\0';
    return 0;
}
