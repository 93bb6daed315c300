/*
 * buf: a byte buffer that grows up to a bound of its own.  Reads take
 * from the front (buf_take), writes append at the end; the space taken
 * is reclaimed when the buffer empties or more room is needed.
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>

struct buf {
	unsigned char *p;
	size_t off; /* bytes already taken from the front */
	size_t len; /* bytes held, from p + off */
	size_t cap;
	size_t max; /* the most it may hold */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/*
 * Makes room for n more bytes at the end (n > 0); returns a pointer to
 * it, or NULL if the buffer would pass its bound or memory ran out.
 */
unsigned char *buf_room(struct buf *b, size_t n);
/* Appends n bytes (none is fine); returns 0, or -1 as buf_room. */
int buf_add(struct buf *b, const void *p, size_t n);
/* Drops n bytes from the front. */
void buf_take(struct buf *b, size_t n);
/* Frees the memory of an empty buffer, so that an idle holder costs none. */
void buf_trim(struct buf *b);

static inline const unsigned char *
buf_data(const struct buf *b)
{
	return b->p + b->off;
}

#endif
