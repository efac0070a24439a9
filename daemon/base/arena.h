/* arena: a bump allocator for one request's short-lived memory — the unpacked
 * Submission and the Result built from it — freed in one go. */
#ifndef REPORTD_ARENA_H
#define REPORTD_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

struct arena;

/* A new arena whose first block holds about hint bytes. Never NULL. */
struct arena *arena_new(size_t hint);
/* Free every block, the arena itself and all it handed out; NULL-safe, nulls *ap. */
void arena_destroy(struct arena **ap);

/* n bytes aligned for any object (aborts when out of memory, like xmalloc).
 * With a NULL arena: plain xmalloc, to free with free(). */
void *arena_alloc(struct arena *a, size_t n);
/* n zeroed bytes. */
void *arena_zalloc(struct arena *a, size_t n);
/* A copy of s (NULL: NULL). */
char *arena_strdup(struct arena *a, const char *s);

/* A protobuf-c allocator drawing from a that refuses (returns NULL) once the
 * bytes it was asked for pass limit in all; its free does nothing.
 * arena_refused says whether that happened. */
void arena_pb_allocator(struct arena *a, size_t limit, ProtobufCAllocator *out);
int arena_refused(const struct arena *a);

#endif
