/* pbguard: unpacking an untrusted protobuf with protobuf-c, which has no size
 * limit of its own and checks neither UTF-8 nor NUL in string fields (a NUL
 * silently cuts a C string: "a\0b" would read as "a"). */
#ifndef REPORTD_PBGUARD_H
#define REPORTD_PBGUARD_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

/* Bytes that unpacking a message of len wire bytes may allocate: a document
 * costs about its size once; a real structured Report 3.5× its wire size,
 * 70,000 well-formed cells under 5× (each small Cell becomes an 80-byte C
 * struct); the cheapest valid Cells (8 wire bytes, ~11×) hit the limit. With
 * the size check before it, this caps one unpack at 8 × (max_message +
 * 64 KiB) + 1 MiB. */
#define PBGUARD_BUDGET(len) (8 * (size_t)(len) + ((size_t)1 << 20))

/* A protobuf varint at *pos in buf[0..len): its value in *out and *pos past
 * it; 0, or -1 when it runs off the end or past 10 bytes. */
int pbguard_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *out);

/* Check every string field of a message of type d in buf (recursively through
 * sub-messages) before it is unpacked: valid UTF-8, no NUL. Structural
 * errors are left to the unpacker. Returns 0, or -1 with the field path and
 * byte offset in err, e.g. "Submission.body.name (byte 14): a NUL character
 * inside a string is not accepted". */
int pbguard_check_strings(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                          char *err, size_t errlen);

/* Whether protobuf-c would unpack buf as a message of type d (given the
 * memory), decided by reading the bytes only, allocating nothing: keys and
 * varints within their lengths, lengths within the message, no groups, known
 * fields with their wire types, packed fields of whole elements, required
 * fields present — recursively; with strings, also pbguard_check_strings.
 * Returns 0, or -1 with the field path, byte offset and why in err, e.g.
 * "Result.status (byte 9): the wrong wire type for its field". */
int pbguard_valid(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                  int strings, char *err, size_t errlen);

/* pbguard_check_strings, then protobuf-c's unpack through an allocator that
 * refuses to go past budget bytes in all. Returns the message (free it with
 * protobuf_c_message_free_unpacked(m, NULL): the memory is malloc's), or NULL
 * with a reason in err — "" when protobuf-c itself refused the bytes. */
ProtobufCMessage *pbguard_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                                 size_t len, size_t budget, char *err, size_t errlen);

/* pbguard_unpack, but every byte of the message comes from arena a (the same
 * budget counts the bytes asked for): never free_unpacked it, it goes with
 * arena_destroy. NULL with a reason in err as above. */
struct arena;
ProtobufCMessage *pbguard_unpack_in(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                                    size_t len, size_t budget, struct arena *a, char *err,
                                    size_t errlen);

#endif
