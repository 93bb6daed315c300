/* The harnesses' failing check and their bounded output sink. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
	abort();
}

static int
sink_write(void *ctx, const char *p, size_t n)
{
	struct sink *s = ctx;

	if (n > s->cap - s->len) {
		s->overflow = 1;
		return -1;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return 0;
}

int
sink_open(struct sink *s, struct out *o, size_t cap)
{
	s->buf = malloc(cap + 1);
	s->len = 0;
	s->cap = cap;
	s->overflow = 0;
	if (s->buf == NULL)
		return -1;
	s->buf[0] = '\0';
	out_init(o, sink_write, s);
	return 0;
}

void
sink_close(struct sink *s)
{
	free(s->buf);
	s->buf = NULL;
}
