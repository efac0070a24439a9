/* pdfread: poppler's pdftotext as an isolated child. The parent forks; the
 * child, using only async-signal-safe calls, sets RLIMIT_CPU, RLIMIT_AS,
 * RLIMIT_FSIZE 0 (no files written) and RLIMIT_CORE 0, unblocks
 * signals, keeps only fds 0-2 and execs the program directly (no shell, a
 * fixed argv, a two-variable environment). The PDF goes in on a socket
 * (send with MSG_NOSIGNAL: a child that dies early cannot SIGPIPE the
 * worker), the text comes back on a pipe, capped; stderr is kept for the
 * reason. A wall-clock deadline over the whole exchange ends in SIGKILL, and
 * the child is always reaped before returning. No temporary files. */
#include "read/pdfread.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

#define STDERR_KEEP 2048         /* bytes of the child's stderr kept for the reason */
#define EXIT_NOEXEC 127          /* the child could not exec the program */
#define EXIT_NOLIMIT 126         /* the child could not set its limits */

static pthread_mutex_t limits_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pdfread_limits limits = {PDFREAD_PROGRAM, PDFREAD_CPU_SECONDS, PDFREAD_TIMEOUT_MS,
                                       PDFREAD_MAX_MEMORY, PDFREAD_MAX_OUTPUT};

void pdfread_limits_default(struct pdfread_limits *l)
{
    *l = (struct pdfread_limits){PDFREAD_PROGRAM, PDFREAD_CPU_SECONDS, PDFREAD_TIMEOUT_MS,
                                 PDFREAD_MAX_MEMORY, PDFREAD_MAX_OUTPUT};
}

void pdfread_set_limits(const struct pdfread_limits *l)
{
    pthread_mutex_lock(&limits_lock);
    limits = *l;
    limits.program[sizeof limits.program - 1] = '\0';
    pthread_mutex_unlock(&limits_lock);
}

void pdfread_get_limits(struct pdfread_limits *l)
{
    pthread_mutex_lock(&limits_lock);
    *l = limits;
    pthread_mutex_unlock(&limits_lock);
}

int pdfread_sniff(const uint8_t *data, size_t len)
{
    size_t head = len < 1024 ? len : 1024;
    return memmem(data, head, "%PDF-", 5) != NULL;
}

/* In the child, after fork: async-signal-safe calls only. */
static void child_write(const char *s)
{
    ssize_t n = write(2, s, strlen(s));
    (void)n;
}

static int child_limit(int resource, rlim_t soft, rlim_t hard)
{
    struct rlimit rl = {soft, hard};
    return setrlimit(resource, &rl);
}

static _Noreturn void child_exec(const struct pdfread_limits *lim, int in, int out, int errfd)
{
    static char *const argv[] = {(char *)"pdftotext", (char *)"-layout", (char *)"-enc",
                                 (char *)"UTF-8", (char *)"-", (char *)"-", NULL};
    static char *const envp[] = {(char *)"LC_ALL=C.UTF-8", (char *)"PATH=/usr/bin:/bin", NULL};
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
        _exit(EXIT_NOLIMIT);
    if (close_range(3, ~0u, 0) < 0)
        for (int fd = 3; fd < 65536; fd++)
            close(fd);
    if (child_limit(RLIMIT_CPU, lim->cpu_seconds, lim->cpu_seconds + 1) < 0 ||
        child_limit(RLIMIT_AS, lim->max_memory, lim->max_memory) < 0 ||
        child_limit(RLIMIT_FSIZE, 0, 0) < 0 || child_limit(RLIMIT_CORE, 0, 0) < 0) {
        child_write("setrlimit refused (a seccomp filter without setrlimit/prlimit64?)\n");
        _exit(EXIT_NOLIMIT);
    }
    execve(lim->program, argv, envp);
    child_write("cannot execute ");
    child_write(lim->program);
    child_write("\n");
    _exit(EXIT_NOEXEC);
}

enum outcome { DONE, TIMED_OUT, TOO_MUCH };

struct exchange {
    const uint8_t *in;           /* the PDF */
    size_t inlen, sent;
    int to_child, from_child, err_child;   /* our ends; -1 once closed */
    struct buf out;              /* stdout, at most max_output + 1 bytes */
    char errtext[STDERR_KEEP];
    size_t errlen;
};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Read what is there on *fd into b, or into keep[*kept..cap) when b is NULL;
 * past cap (+1 for b, so the caller sees the excess) is dropped. EOF or an
 * error closes *fd. */
static void drain(int *fd, struct buf *b, char *keep, size_t *kept, size_t cap)
{
    char chunk[65536];
    ssize_t n = read(*fd, chunk, sizeof chunk);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        close_fd(fd);
        return;
    }
    if (n < 0)
        return;
    if (b) {
        size_t take = b->len + (size_t)n > cap + 1 ? cap + 1 - b->len : (size_t)n;
        buf_append(b, chunk, take);
    } else {
        size_t take = *kept + (size_t)n > cap ? cap - *kept : (size_t)n;
        memcpy(keep + *kept, chunk, take);
        *kept += take;
    }
}

static enum outcome converse(struct exchange *x, const struct pdfread_limits *lim, int64_t deadline)
{
    while (x->from_child >= 0 || x->err_child >= 0) {
        struct pollfd p[3] = {{x->to_child, POLLOUT, 0}, {x->from_child, POLLIN, 0},
                              {x->err_child, POLLIN, 0}};
        int64_t now = util_now_ms();
        if (now >= deadline)
            return TIMED_OUT;
        int rc = poll(p, 3, (int)(deadline - now));
        if (rc < 0 && errno != EINTR)
            return TIMED_OUT;
        if (rc <= 0)
            continue;
        if (x->to_child >= 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t n = send(x->to_child, x->in + x->sent, x->inlen - x->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0)
                x->sent += (size_t)n;
            /* the child stopped reading (it died or gave up): its exit says why */
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || x->sent == x->inlen)
                close_fd(&x->to_child);
        }
        if (x->from_child >= 0 && (p[1].revents & (POLLIN | POLLERR | POLLHUP))) {
            drain(&x->from_child, &x->out, NULL, NULL, lim->max_output);
            if (x->out.len > lim->max_output)
                return TOO_MUCH;
        }
        if (x->err_child >= 0 && (p[2].revents & (POLLIN | POLLERR | POLLHUP)))
            drain(&x->err_child, NULL, x->errtext, &x->errlen, sizeof x->errtext - 1);
    }
    return DONE;
}

/* Reap the child; kill it first if it outlives the deadline (or now). */
static int reap(pid_t pid, int64_t deadline, int kill_now)
{
    int status = 0;
    if (kill_now)
        kill(pid, SIGKILL);
    for (;;) {
        pid_t r = waitpid(pid, &status, kill_now ? 0 : WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        if (r == 0 && util_now_ms() >= deadline) {
            kill(pid, SIGKILL);
            kill_now = 1;
        } else if (r == 0) {
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        }
    }
}

/* The last non-empty line pdftotext wrote on stderr: its most final word. */
static const char *last_line(char *s)
{
    char *end = s + strlen(s);
    while (end > s && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        *--end = '\0';
    char *nl = strrchr(s, '\n');
    return nl ? nl + 1 : s;
}

static int explain(int status, struct exchange *x, const struct pdfread_limits *lim, char *err, size_t errlen)
{
    x->errtext[x->errlen] = '\0';
    const char *why = last_line(x->errtext);
    if (status == -1)
        return errf(err, errlen, "the PDF text extractor could not be waited for");
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (sig == SIGXCPU || sig == SIGKILL)
            return errf(err, errlen, "pdftotext used more than %u s of CPU on this PDF (a PDF that "
                        "loops or balloons?): not read", lim->cpu_seconds);
        return errf(err, errlen, "pdftotext crashed on this PDF (signal %d, %s; memory limit %zu MiB): "
                    "the PDF is damaged or hostile — export it again from the original document",
                    sig, strsignal(sig), lim->max_memory >> 20);
    }
    int code = WEXITSTATUS(status);
    if (code == EXIT_NOEXEC)
        return errf(err, errlen, "cannot read PDF files here: %s (install poppler-utils)", why);
    if (code == EXIT_NOLIMIT)
        return errf(err, errlen, "cannot read PDF files here: %s", why);
    if (code == 3)
        return errf(err, errlen, "the PDF does not permit copying its text (pdftotext: %s)",
                    *why ? why : "permission error");
    if (code != 0)
        return errf(err, errlen, "not a readable PDF (truncated or damaged?): pdftotext: %s",
                    *why ? why : "error");
    return 0;
}

static int has_text(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\n' && s[i] != '\f' && s[i] != '\r' && s[i] != '\t')
            return 1;
    return 0;
}

static int open_channels(int in[2], int out[2], int errp[2])
{
    in[0] = in[1] = out[0] = out[1] = errp[0] = errp[1] = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
        pipe2(errp, O_CLOEXEC) < 0)
        return -1;
    fcntl(in[0], F_SETFL, O_NONBLOCK);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(errp[0], F_SETFL, O_NONBLOCK);
    return 0;
}

int pdfread_text(const uint8_t *pdf, size_t len, const struct pdfread_limits *lim, char **text,
                 size_t *textlen, char *err, size_t errlen)
{
    struct pdfread_limits own;
    if (!lim) {
        pdfread_get_limits(&own);
        lim = &own;
    }
    *text = NULL;
    *textlen = 0;
    int in[2], out[2], errp[2];
    if (open_channels(in, out, errp) < 0) {
        int e = errno;
        for (int i = 0; i < 2; i++)
            close_fd(&in[i]), close_fd(&out[i]), close_fd(&errp[i]);
        return errf(err, errlen, "cannot start the PDF text extractor: %s", strerror(e));
    }
    int64_t deadline = util_now_ms() + lim->timeout_ms;
    pid_t pid = fork();
    if (pid == 0)
        child_exec(lim, in[1], out[1], errp[1]);
    close_fd(&in[1]);
    close_fd(&out[1]);
    close_fd(&errp[1]);
    struct exchange x = {.in = pdf, .inlen = len, .to_child = in[0], .from_child = out[0], .err_child = errp[0]};
    int rc = -1;
    if (pid < 0) {
        errf(err, errlen, "cannot start the PDF text extractor: %s", strerror(errno));
        goto done;
    }
    enum outcome o = converse(&x, lim, deadline);
    int status = reap(pid, deadline, o != DONE);
    if (o == TIMED_OUT)
        errf(err, errlen, "pdftotext did not finish within %u ms (a PDF that loops or balloons?): not read",
             lim->timeout_ms);
    else if (o == TOO_MUCH)
        errf(err, errlen, "pdftotext wrote more than %zu bytes of text for this PDF (a PDF that balloons?): "
             "not read", lim->max_output);
    else if (explain(status, &x, lim, err, errlen) == 0) {
        if (!has_text(x.out.data, x.out.len))
            errf(err, errlen, "the PDF has no text layer (scanned?): it holds only images or nothing; "
                 "submit the PDF exported from the original document, or its text");
        else
            rc = 0;
    }
done:
    close_fd(&x.to_child);
    close_fd(&x.from_child);
    close_fd(&x.err_child);
    if (rc == 0) {
        *textlen = x.out.len;
        buf_append(&x.out, "", 0);
        *text = buf_take(&x.out);
    } else {
        buf_free(&x.out);
    }
    return rc;
}
