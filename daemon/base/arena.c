/* arena: blocks chained newest first; an allocation bumps an offset in the
 * newest block, or starts a block at least twice the last one (so a request
 * takes a handful of malloc calls, not one per string). Nothing is freed
 * until arena_destroy. The protobuf-c budget counts the bytes asked for,
 * not what alignment adds, so a limit means what it meant with malloc. */
#include "base/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define ARENA_ALIGN alignof(max_align_t)
#define ARENA_MIN_BLOCK 4096         /* bytes */

struct block {
    struct block *next;
    size_t size, used;               /* bytes of data[] */
    alignas(max_align_t) unsigned char data[];
};

struct arena {
    struct block *head;
    size_t pb_used, pb_limit;        /* bytes asked for through the protobuf-c hook */
    int refused;
};

static struct block *block_new(size_t size, struct block *next)
{
    struct block *b = xmalloc(sizeof *b + size);
    b->next = next;
    b->size = size;
    b->used = 0;
    return b;
}

struct arena *arena_new(size_t hint)
{
    struct arena *a = xcalloc(1, sizeof *a);
    a->head = block_new(hint < ARENA_MIN_BLOCK ? ARENA_MIN_BLOCK : hint, NULL);
    return a;
}

void arena_destroy(struct arena **ap)
{
    struct arena *a = ap ? *ap : NULL;
    if (!a)
        return;
    for (struct block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
    *ap = NULL;
}

void *arena_alloc(struct arena *a, size_t n)
{
    if (!a)
        return xmalloc(n);
    size_t need = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
    struct block *b = a->head;
    if (need < n || need > b->size - b->used) {
        size_t size = b->size * 2;
        while (size < need)
            size *= 2;
        if (need < n || size < need)
            abort();                 /* n near SIZE_MAX: a programmer error */
        b = a->head = block_new(size, b);
    }
    void *p = b->data + b->used;
    b->used += need;
    return p;
}

void *arena_zalloc(struct arena *a, size_t n)
{
    return memset(arena_alloc(a, n), 0, n);
}

char *arena_strdup(struct arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    return memcpy(arena_alloc(a, n), s, n);
}

static void *pb_alloc(void *data, size_t size)
{
    struct arena *a = data;
    if (size > a->pb_limit - a->pb_used) {
        a->refused = 1;
        return NULL;
    }
    a->pb_used += size;
    return arena_alloc(a, size ? size : 1);
}

static void pb_free(void *data, void *p)
{
    (void)data, (void)p;
}

void arena_pb_allocator(struct arena *a, size_t limit, ProtobufCAllocator *out)
{
    a->pb_used = 0;
    a->pb_limit = limit;
    a->refused = 0;
    out->alloc = pb_alloc;
    out->free = pb_free;
    out->allocator_data = a;
}

int arena_refused(const struct arena *a)
{
    return a->refused;
}
