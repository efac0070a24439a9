/* mdp: multipart messages and the frame layout of 7/MDP (MDPC01, MDPW01).
 * A message owns its zmq frames; parsing only indexes into them. */
#ifndef REPORTD_MDP_H
#define REPORTD_MDP_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define MDP_CLIENT "MDPC01"
#define MDP_WORKER "MDPW01"

enum mdp_command {
    MDP_NONE = 0,               /* a client REQUEST/REPLY */
    MDP_READY = 1,
    MDP_REQUEST = 2,
    MDP_REPLY = 3,
    MDP_HEARTBEAT = 4,
    MDP_DISCONNECT = 5
};

/* A multipart message: frames[0..n). */
struct mdp_msg {
    zmq_msg_t *frames;
    size_t n;
    size_t cap;
};

struct mdp_msg *mdp_msg_new(void);
void mdp_msg_destroy(struct mdp_msg **mp);

/* Append a copy of data[0..size) (or a string) as the last frame. */
void mdp_msg_add(struct mdp_msg *m, const void *data, size_t size);
void mdp_msg_addstr(struct mdp_msg *m, const char *s);
/* Append frame i of src (shares its content, no copy). */
void mdp_msg_addframe(struct mdp_msg *m, const struct mdp_msg *src, size_t i);

const void *mdp_msg_data(const struct mdp_msg *m, size_t i);
size_t mdp_msg_size(const struct mdp_msg *m, size_t i);
/* Nonzero when frame i exists and equals the string s exactly. */
int mdp_msg_is(const struct mdp_msg *m, size_t i, const char *s);
/* Frame i as a fresh NUL-terminated string; the caller frees it. */
char *mdp_msg_strdup(const struct mdp_msg *m, size_t i);

/* Receive one whole multipart message into a new mdp_msg. Returns NULL with errno
 * set (EAGAIN, ETERM, EINTR …). A message of more than max_frames frames is
 * drained and refused with errno E2BIG. */
struct mdp_msg *mdp_msg_recv(void *sock, int flags, size_t max_frames);

/* Send every frame; the message stays owned by the caller. Returns 0, or -1 with
 * errno (EHOSTUNREACH for an unknown ROUTER peer, EAGAIN …). */
int mdp_msg_send(const struct mdp_msg *m, void *sock, int flags);

/* Where the parts of an MDP command sit in a message (frame indexes). */
struct mdp_parsed {
    int worker;                 /* 1: MDPW01, 0: MDPC01 */
    int command;                /* enum mdp_command; MDP_NONE for client frames */
    size_t service;             /* READY / client: service name frame */
    size_t address;             /* worker REQUEST/REPLY: client address frame */
    size_t body;                /* first body frame (== m->n when none) */
};

/* Parse the command that starts at frame `first` (1 after a ROUTER identity).
 * Returns 0, or -1 with a reason naming the frame in err. */
int mdp_parse(const struct mdp_msg *m, size_t first, struct mdp_parsed *p, char *err,
              size_t errlen);

/* Set the options both ends of the broker link share: linger (ms), hwm
 * messages queued each way, messages over max_message bytes refused, and
 * ZMTP heartbeats (every 1 s, dead after 5 s) under the MDP ones. Before
 * bind/connect. */
void mdp_socket_limits(void *s, int linger_ms, int hwm, int64_t max_message);

/* Build a worker command: [identity], "", MDPW01, cmd. identity may be NULL
 * (DEALER side). The caller appends address, "" and body for REQUEST/REPLY. */
struct mdp_msg *mdp_worker_cmd(const void *identity, size_t idlen, int cmd);
/* Build a client-side REPLY/REQUEST head: [identity], "", MDPC01, service. */
struct mdp_msg *mdp_client_cmd(const void *identity, size_t idlen, const char *service);
/* Build the broker's answer to a client request req (ROUTER identity at frame
 * 0, parsed as p): identity, "", MDPC01, req's service frame, status. The
 * caller may append more frames. */
struct mdp_msg *mdp_client_answer(const struct mdp_msg *req, const struct mdp_parsed *p,
                                  const char *status);

/* Frames first.. of m as one byte string, for storing a 9/TSP body or reply
 * ("frames 1+") whole: one frame that does not begin with the marker is its
 * own bytes (what a one-frame body always was); otherwise the marker
 * "\0TSPF" and per frame a 4-byte big-endian length and the bytes. Returns
 * a malloc'd string (*len bytes) the caller frees. */
#define MDP_FRAMES_MARKER "\0TSPF"
#define MDP_FRAMES_MARKER_LEN 5
void *mdp_frames_pack(const struct mdp_msg *m, size_t first, size_t *len);
/* Append the frames of a string mdp_frames_pack made (or any other bytes: as
 * one frame) to m. Returns the number of frames appended, or -1 (nothing
 * appended) when a marked string is truncated. */
int mdp_frames_unpack(struct mdp_msg *m, const void *data, size_t len);

#endif
