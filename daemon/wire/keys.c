/* keys: CURVE key files (read, generate) and the CURVE socket options.
 * Invariants: a secret key is only read from a file no one else may read; a
 * key is accepted only if it is 40 Z85 characters that decode to 32 bytes;
 * generated files are created with O_EXCL, so an existing key is never
 * overwritten. */
#include "wire/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "base/util.h"

#define KEYS_FILE_MAX 4096          /* bytes: a key file is one line and comments */
#define KEYS_HANDSHAKE_MS 5000      /* ms: ZMQ_HANDSHAKE_IVL on CURVE servers (libzmq: 30 s) */

char *keys_path(const char *configured)
{
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    if (configured[0] != '/' && dir && *dir)
        return xasprintf("%s/%s", dir, configured);
    return xstrdup(configured);
}

/* The first line that is not empty or a comment, trimmed, as a Z85 key. */
static int parse_key(const char *text, char out[KEYS_Z85_LEN + 1])
{
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\n");
        size_t b = 0, e = n;
        while (b < e && (p[b] == ' ' || p[b] == '\t' || p[b] == '\r'))
            b++;
        while (e > b && (p[e - 1] == ' ' || p[e - 1] == '\t' || p[e - 1] == '\r'))
            e--;
        if (e > b && p[b] != '#') {
            uint8_t raw[32];
            if (e - b != KEYS_Z85_LEN)
                return -1;
            memcpy(out, p + b, KEYS_Z85_LEN);
            out[KEYS_Z85_LEN] = '\0';
            return zmq_z85_decode(raw, out) ? 0 : -1;
        }
        p += n + (p[n] == '\n');
    }
    return -1;
}

int keys_read(const char *path, int secret, char out[KEYS_Z85_LEN + 1], char *err,
              size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errf(err, errlen, "%s: %s", path, strerror(errno));
    if (secret && (st.st_mode & 077))
        return errf(err, errlen, "%s: a secret key must not be readable by group or others "
                    "(mode %03o; chmod 600)", path, (unsigned)(st.st_mode & 0777));
    size_t len;
    char *text = util_read_file(path, KEYS_FILE_MAX, &len, err, errlen);
    if (!text)
        return -1;
    int rc = memchr(text, '\0', len) ? -1 : parse_key(text, out);
    free(text);
    if (rc != 0)
        return errf(err, errlen, "%s: not a CURVE key (expected one line of 40 Z85 characters)",
                    path);
    return 0;
}

int keys_is_key_material(const char *configured)
{
    uint8_t raw[32];
    struct stat st;
    return strlen(configured) == KEYS_Z85_LEN && zmq_z85_decode(raw, configured) &&
           stat(configured, &st) != 0;
}

static int write_new(const char *path, mode_t mode, const char *key, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return errf(err, errlen, "%s: %s", path, strerror(errno));
    char line[KEYS_Z85_LEN + 2];
    snprintf(line, sizeof line, "%s\n", key);
    ssize_t n = write(fd, line, KEYS_Z85_LEN + 1);
    int rc = n == KEYS_Z85_LEN + 1 && fsync(fd) == 0 ? 0 : -1;
    if (close(fd) != 0 || rc != 0) {
        errf(err, errlen, "%s: write: %s", path, strerror(errno));
        unlink(path);
        return -1;
    }
    return 0;
}

int keys_generate(const char *base, char *err, size_t errlen)
{
    char pub[KEYS_Z85_LEN + 1], sec[KEYS_Z85_LEN + 1];
    if (zmq_curve_keypair(pub, sec) != 0)
        return errf(err, errlen, "zmq_curve_keypair: %s (libzmq built without CURVE?)",
                    zmq_strerror(zmq_errno()));
    char *secpath = xasprintf("%s.key", base), *pubpath = xasprintf("%s.pub", base);
    int rc = write_new(secpath, 0600, sec, err, errlen);
    if (rc == 0 && (rc = write_new(pubpath, 0644, pub, err, errlen)) != 0)
        unlink(secpath);
    memset(sec, 0, sizeof sec);
    free(secpath);
    free(pubpath);
    return rc;
}

static int read_configured(const char *configured, int secret, char out[KEYS_Z85_LEN + 1],
                           char *err, size_t errlen)
{
    if (!configured || !*configured)
        return errf(err, errlen, "security.curve is on but a key file is not configured");
    char *path = keys_path(configured);
    int rc = keys_read(path, secret, out, err, errlen);
    free(path);
    return rc;
}

int keys_load_client(struct curve_keys *k, const char *secret_file, const char *server_file,
                     char *err, size_t errlen)
{
    memset(k, 0, sizeof *k);
    if (read_configured(secret_file, 1, k->secret_key, err, errlen) != 0 ||
        read_configured(server_file, 0, k->server_key, err, errlen) != 0)
        return -1;
    if (zmq_curve_public(k->public_key, k->secret_key) != 0)
        return errf(err, errlen, "%s: cannot derive the public key", secret_file);
    k->on = 1;
    return 0;
}

int keys_load_server(struct curve_keys *k, const char *secret_file, char *err, size_t errlen)
{
    memset(k, 0, sizeof *k);
    if (read_configured(secret_file, 1, k->secret_key, err, errlen) != 0)
        return -1;
    if (zmq_curve_public(k->public_key, k->secret_key) != 0)
        return errf(err, errlen, "%s: cannot derive the public key", secret_file);
    k->on = 1;
    return 0;
}

int keys_apply_client(void *sock, const struct curve_keys *k)
{
    if (!k || !k->on)
        return 0;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, k->server_key, KEYS_Z85_LEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, k->public_key, KEYS_Z85_LEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, k->secret_key, KEYS_Z85_LEN) != 0)
        return -1;
    return 0;
}

int keys_apply_server(void *sock, const struct curve_keys *k)
{
    if (!k || !k->on)
        return 0;
    int one = 1, handshake_ms = KEYS_HANDSHAKE_MS;
    /* a peer that stalls in its greeting holds a connection only this long */
    zmq_setsockopt(sock, ZMQ_HANDSHAKE_IVL, &handshake_ms, sizeof handshake_ms);
    /* ZAP_DOMAIN makes libzmq ask the handler; ZAP_ENFORCE_DOMAIN (93, a
     * draft option, may be refused) makes a missing handler a refusal */
    int enforce_domain = 93;
    zmq_setsockopt(sock, enforce_domain, &one, sizeof one);
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, k->secret_key, KEYS_Z85_LEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "reportd", 7) != 0)
        return -1;
    return 0;
}
