#include "buf.h"

#include <stdlib.h>
#include <string.h>

void
buf_init(struct buf *b, size_t max)
{
	b->p = NULL;
	b->off = b->len = b->cap = 0;
	b->max = max;
}

void
buf_free(struct buf *b)
{
	free(b->p);
	buf_init(b, b->max);
}

unsigned char *
buf_room(struct buf *b, size_t n)
{
	unsigned char *np;
	size_t want;

	if (n > b->max || b->len > b->max - n)
		return NULL;
	if (b->off > 0 && b->off + b->len + n > b->cap) {
		memmove(b->p, b->p + b->off, b->len);
		b->off = 0;
	}
	if (b->len + n > b->cap) {
		want = b->cap > 0 ? b->cap : 4096;
		while (want < b->len + n)
			want *= 2;
		if (want > b->max)
			want = b->max;
		np = realloc(b->p, want);
		if (np == NULL)
			return NULL;
		b->p = np;
		b->cap = want;
	}
	return b->p + b->off + b->len;
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	unsigned char *d;

	if (n == 0)
		return 0; /* nothing to add, and maybe no memory to point at */
	d = buf_room(b, n);
	if (d == NULL)
		return -1;
	memcpy(d, p, n);
	b->len += n;
	return 0;
}

void
buf_take(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->off = b->len = 0;
		return;
	}
	b->off += n;
	b->len -= n;
}

void
buf_trim(struct buf *b)
{
	if (b->len == 0) {
		free(b->p);
		b->p = NULL;
		b->off = b->cap = 0;
	}
}
