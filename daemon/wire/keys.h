/* keys: CURVE key files and the socket options that use them. A key file
 * holds one Z85 key (40 characters, then an optional newline; lines starting
 * with '#' are comments). NAME.key is a secret key (mode 0600 or stricter),
 * NAME.pub a public key. Key material never comes from the YAML: the config
 * names files, and a relative name is looked up in $CREDENTIALS_DIRECTORY
 * (systemd LoadCredential=) when that is set. */
#ifndef REPORTD_KEYS_H
#define REPORTD_KEYS_H

#include <stddef.h>

#define KEYS_Z85_LEN 40             /* characters of a Z85 CURVE key */

struct curve_keys {
    int on;                                 /* 0: no CURVE options are set */
    char public_key[KEYS_Z85_LEN + 1];      /* ours, derived from secret_key */
    char secret_key[KEYS_Z85_LEN + 1];
    char server_key[KEYS_Z85_LEN + 1];      /* the broker's public key (client side) */
};

/* Where a configured key file is: an absolute path as is; a relative one in
 * $CREDENTIALS_DIRECTORY when set, else as given. Caller frees. */
char *keys_path(const char *configured);

/* Read the Z85 key of path into out. secret: refuse a file that group or
 * others may read. Returns 0, or -1 with "path: reason" in err. */
int keys_read(const char *path, int secret, char out[KEYS_Z85_LEN + 1], char *err,
              size_t errlen);

/* Nonzero when a configured file name is really a Z85 key (40 characters
 * that decode, and no such file): key material put in the YAML. */
int keys_is_key_material(const char *configured);

/* Write base.key (0600) and base.pub (0644) from zmq_curve_keypair. Refuses
 * to overwrite either. Returns 0, or -1 with err. */
int keys_generate(const char *base, char *err, size_t errlen);

/* Fill k for a CURVE client (worker or reportctl): our secret key file and
 * the broker's public key file, both through keys_path. 0 or -1 with err. */
int keys_load_client(struct curve_keys *k, const char *secret_file, const char *server_file,
                     char *err, size_t errlen);
/* Fill k for the CURVE server (the broker): its secret key file. */
int keys_load_server(struct curve_keys *k, const char *secret_file, char *err, size_t errlen);

/* Set the CURVE options on sock before its connect (client) or bind (server);
 * nothing when k is NULL or off. Returns 0, or -1 (zmq_errno()). */
int keys_apply_client(void *sock, const struct curve_keys *k);
int keys_apply_server(void *sock, const struct curve_keys *k);

#endif
