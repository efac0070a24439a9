/* test_keys: CURVE key files — keygen writes NAME.key 0600 and NAME.pub 0644
 * and never overwrites, the keys are Z85 that round-trip and belong together,
 * reading accepts comments and white space and refuses everything else with
 * "path: reason", credentials come from $CREDENTIALS_DIRECTORY, and the socket
 * options land on the socket. Each case works in its own temp directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "base/util.h"
#include "wire/keys.h"

/* A fixed, valid key pair (from zmq_curve_keypair). */
#define PUB "-1O/3SFjf#U:vwCUQ=UFvTcjDu$^:wwDAS3I2N=Y"
#define SEC "V+qK8r!YNl[dS+Lru@-s0Xcea9:B0s>1>q[?Dxur"
#define SEC39 "V+qK8r!YNl[dS+Lru@-s0Xcea9:B0s>1>q[?Dxu"

struct dir {
    char path[64];
};

static int setup(void **state)
{
    struct dir *d = xcalloc(1, sizeof *d);
    snprintf(d->path, sizeof d->path, "/tmp/test_keys.XXXXXX");
    if (!mkdtemp(d->path))
        return -1;
    umask(022);
    unsetenv("CREDENTIALS_DIRECTORY");
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    struct dir *d = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->path);
    int rc = system(cmd);
    free(d);
    unsetenv("CREDENTIALS_DIRECTORY");
    return rc == 0 ? 0 : -1;
}

static char *in(const struct dir *d, const char *name)
{
    return xasprintf("%s/%s", d->path, name);
}

static void put_file(const char *path, const char *text, size_t len, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 0777;
}

static void test_keys_generate_files_and_modes(void **state)
{
    struct dir *d = *state;
    char err[256] = "", *base = in(d, "broker"), *kp = in(d, "broker.key"), *pp = in(d, "broker.pub");
    assert_int_equal(keys_generate(base, err, sizeof err), 0);
    assert_int_equal(mode_of(kp), 0600);
    assert_int_equal(mode_of(pp), 0644);
    size_t kl, pl;
    char *ktext = util_read_file(kp, 4096, &kl, err, sizeof err), *ptext = util_read_file(pp, 4096, &pl, err, sizeof err);
    assert_int_equal(kl, KEYS_Z85_LEN + 1);                 /* one line: the key and a newline */
    assert_int_equal(pl, KEYS_Z85_LEN + 1);
    assert_int_equal(ktext[KEYS_Z85_LEN], '\n');
    assert_int_equal(ptext[KEYS_Z85_LEN], '\n');
    /* they belong together: the public key derives from the secret one */
    char sec[KEYS_Z85_LEN + 1], pub[KEYS_Z85_LEN + 1], derived[KEYS_Z85_LEN + 1];
    assert_int_equal(keys_read(kp, 1, sec, err, sizeof err), 0);
    assert_int_equal(keys_read(pp, 0, pub, err, sizeof err), 0);
    assert_memory_equal(sec, ktext, KEYS_Z85_LEN);
    assert_int_equal(zmq_curve_public(derived, sec), 0);
    assert_string_equal(derived, pub);
    /* Z85 round trip: 40 characters are 32 bytes and back */
    uint8_t raw[32];
    char again[KEYS_Z85_LEN + 1];
    assert_non_null(zmq_z85_decode(raw, pub));
    assert_non_null(zmq_z85_encode(again, raw, sizeof raw));
    assert_string_equal(again, pub);
    /* a second pair is another pair */
    char *base2 = in(d, "worker"), *pp2 = in(d, "worker.pub"), pub2[KEYS_Z85_LEN + 1];
    assert_int_equal(keys_generate(base2, err, sizeof err), 0);
    assert_int_equal(keys_read(pp2, 0, pub2, err, sizeof err), 0);
    assert_string_not_equal(pub, pub2);
    free(ktext), free(ptext), free(base), free(kp), free(pp), free(base2), free(pp2);
}

static void test_keys_generate_never_overwrites(void **state)
{
    struct dir *d = *state;
    char err[256] = "", want[256], *base = in(d, "a"), *kp = in(d, "a.key"), *pp = in(d, "a.pub");
    assert_int_equal(keys_generate(base, err, sizeof err), 0);
    char before[KEYS_Z85_LEN + 1], after[KEYS_Z85_LEN + 1];
    assert_int_equal(keys_read(kp, 1, before, err, sizeof err), 0);
    assert_int_equal(keys_generate(base, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: File exists", kp);
    assert_string_equal(err, want);
    assert_int_equal(keys_read(kp, 1, after, err, sizeof err), 0);
    assert_string_equal(before, after);
    /* only the .pub is there: the new .key is taken back, the .pub kept */
    assert_int_equal(unlink(kp), 0);
    put_file(pp, PUB "\n", KEYS_Z85_LEN + 1, 0644);
    assert_int_equal(keys_generate(base, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: File exists", pp);
    assert_string_equal(err, want);
    assert_int_equal(access(kp, F_OK), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(keys_read(pp, 0, after, err, sizeof err), 0);
    assert_string_equal(after, PUB);
    /* a directory that is not there */
    char *nodir = in(d, "no/such/x");
    assert_int_equal(keys_generate(nodir, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s.key: No such file or directory", nodir);
    assert_string_equal(err, want);
    free(base), free(kp), free(pp), free(nodir);
}

/* Comments, blank lines, CRLF and surrounding blanks are fine. */
static void test_keys_read_accepts_comments_and_blanks(void **state)
{
    struct dir *d = *state;
    static const char *const texts[] = {
        SEC, SEC "\n", SEC "\r\n", "  " SEC "\t\n", "# reportd broker key\n\n# made today\n" SEC "\n",
        "\n\n" SEC "\n# trailing comment\n",
    };
    char *p = in(d, "k.key"), err[256], out[KEYS_Z85_LEN + 1];
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        unlink(p);
        put_file(p, texts[i], strlen(texts[i]), 0600);
        memset(out, 0, sizeof out);
        if (keys_read(p, 1, out, err, sizeof err) != 0)
            fail_msg("text %zu: %s", i, err);
        assert_string_equal(out, SEC);
    }
    /* 0400 is stricter than 0600: fine for a secret */
    assert_int_equal(chmod(p, 0400), 0);
    assert_int_equal(keys_read(p, 1, out, err, sizeof err), 0);
    free(p);
}

static void test_keys_read_refuses_bad_files(void **state)
{
    struct dir *d = *state;
    static const struct { const char *text; size_t len; } bad[] = {
        {"", 0},
        {"# only a comment\n\n", 18},
        {SEC "x\n", KEYS_Z85_LEN + 2},                       /* 41 characters */
        {SEC39 "\n", KEYS_Z85_LEN},                            /* 39 */
        {SEC39 "\"\n", KEYS_Z85_LEN + 1},                      /* '"' is not Z85 */
        {"V+qK8r!YNl[dS+Lru@-s0\0cea9:B0s>1>q[?Dxur\n", KEYS_Z85_LEN + 1}, /* a NUL */
        {"first line is taken: " SEC "\n", 22 + KEYS_Z85_LEN},
    };
    char *p = in(d, "bad.pub"), err[256], want[256], out[KEYS_Z85_LEN + 1];
    snprintf(want, sizeof want, "%s: not a CURVE key (expected one line of 40 Z85 characters)", p);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unlink(p);
        put_file(p, bad[i].text, bad[i].len, 0644);
        err[0] = '\0';
        assert_int_equal(keys_read(p, 0, out, err, sizeof err), -1);
        if (strcmp(err, want))
            fail_msg("file %zu: \"%s\"", i, err);
    }
    /* a secret key others may read */
    char *k = in(d, "open.key");
    put_file(k, SEC "\n", KEYS_Z85_LEN + 1, 0640);
    assert_int_equal(keys_read(k, 1, out, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: a secret key must not be readable by group or others (mode 640; chmod 600)", k);
    assert_string_equal(err, want);
    assert_int_equal(keys_read(k, 0, out, err, sizeof err), 0);   /* as a public key: fine */
    /* missing, and too big to be a key file */
    char *none = in(d, "none.key");
    assert_int_equal(keys_read(none, 1, out, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: No such file or directory", none);
    assert_string_equal(err, want);
    char *big = in(d, "big.pub"), *text = xmalloc(5000);
    memset(text, '#', 5000);
    put_file(big, text, 5000, 0644);
    assert_int_equal(keys_read(big, 0, out, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: larger than the limit of 4096 bytes", big);
    assert_string_equal(err, want);
    free(text), free(big), free(none), free(k), free(p);
}

static void test_keys_credentials_directory(void **state)
{
    struct dir *d = *state;
    char *p = keys_path("broker.key");
    assert_string_equal(p, "broker.key");                    /* unset: as given */
    free(p);
    setenv("CREDENTIALS_DIRECTORY", d->path, 1);
    p = keys_path("broker.key");
    char *want = in(d, "broker.key");
    assert_string_equal(p, want);
    free(p);
    p = keys_path("/etc/reportd/broker.key");                 /* absolute: as is */
    assert_string_equal(p, "/etc/reportd/broker.key");
    free(p);

    char *sk = in(d, "worker.key"), *spub = in(d, "server.pub"), err[256] = "";
    put_file(sk, SEC "\n", KEYS_Z85_LEN + 1, 0600);
    put_file(spub, PUB "\n", KEYS_Z85_LEN + 1, 0644);
    struct curve_keys k;
    assert_int_equal(keys_load_client(&k, "worker.key", "server.pub", err, sizeof err), 0);
    assert_true(k.on);
    assert_string_equal(k.secret_key, SEC);
    assert_string_equal(k.server_key, PUB);
    assert_string_equal(k.public_key, PUB);                  /* PUB is SEC's public key */
    assert_int_equal(keys_load_server(&k, "worker.key", err, sizeof err), 0);
    assert_true(k.on);
    assert_string_equal(k.public_key, PUB);
    assert_string_equal(k.server_key, "");
    assert_int_equal(keys_load_client(&k, "worker.key", "", err, sizeof err), -1);
    assert_string_equal(err, "security.curve is on but a key file is not configured");
    assert_false(k.on);
    assert_int_equal(keys_load_server(&k, NULL, err, sizeof err), -1);
    assert_string_equal(err, "security.curve is on but a key file is not configured");
    assert_int_equal(keys_load_client(&k, "server.pub", "server.pub", err, sizeof err), -1);
    char w[256];
    snprintf(w, sizeof w, "%s: a secret key must not be readable by group or others (mode 644; chmod 600)", spub);
    assert_string_equal(err, w);
    free(want), free(sk), free(spub);
}

static void test_keys_key_material_in_config(void **state)
{
    struct dir *d = *state;
    assert_true(keys_is_key_material(PUB));
    assert_true(keys_is_key_material(SEC));
    assert_false(keys_is_key_material("broker.key"));
    assert_false(keys_is_key_material(SEC39));                               /* 39 */
    assert_false(keys_is_key_material(SEC39 "\""));                         /* not Z85 */
    /* a file really named like a key is a file name */
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(d->path), 0);
    put_file(SEC, "x", 1, 0644);                             /* SEC has no '/' */
    assert_false(keys_is_key_material(SEC));
    assert_int_equal(chdir(cwd), 0);
}

static void test_keys_socket_options(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *cli = zmq_socket(ctx, ZMQ_DEALER), *srv = zmq_socket(ctx, ZMQ_ROUTER), *plain = zmq_socket(ctx, ZMQ_DEALER);
    struct curve_keys k = {1, PUB, SEC, PUB}, off = {0};
    assert_int_equal(keys_apply_client(cli, &k), 0);
    assert_int_equal(keys_apply_server(srv, &k), 0);
    assert_int_equal(keys_apply_client(plain, &off), 0);
    assert_int_equal(keys_apply_server(plain, NULL), 0);
    int mech = -1, server = -1;
    size_t n = sizeof mech;
    assert_int_equal(zmq_getsockopt(cli, ZMQ_MECHANISM, &mech, &n), 0);
    assert_int_equal(mech, ZMQ_CURVE);
    n = sizeof server;
    assert_int_equal(zmq_getsockopt(srv, ZMQ_CURVE_SERVER, &server, &n), 0);
    assert_int_equal(server, 1);
    n = sizeof mech;
    assert_int_equal(zmq_getsockopt(plain, ZMQ_MECHANISM, &mech, &n), 0);
    assert_int_equal(mech, ZMQ_NULL);
    char z[KEYS_Z85_LEN + 1];
    n = sizeof z;
    assert_int_equal(zmq_getsockopt(cli, ZMQ_CURVE_SERVERKEY, z, &n), 0);
    assert_string_equal(z, PUB);
    n = sizeof z;
    assert_int_equal(zmq_getsockopt(srv, ZMQ_CURVE_SECRETKEY, z, &n), 0);
    assert_string_equal(z, SEC);
    int hs = 0;
    n = sizeof hs;
    assert_int_equal(zmq_getsockopt(srv, ZMQ_HANDSHAKE_IVL, &hs, &n), 0);
    assert_int_equal(hs, 5000);
    zmq_close(cli), zmq_close(srv), zmq_close(plain);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keys_generate_files_and_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_generate_never_overwrites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_read_accepts_comments_and_blanks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_read_refuses_bad_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_credentials_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_key_material_in_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_socket_options, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
