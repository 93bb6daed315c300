/*
 * out: a bounded output buffer in front of a sink.
 *
 * Writers append to a fixed buffer; when it fills, the bytes go to the
 * sink in one call, so a page leaves in few, large pieces and no write
 * allocates.  The first sink failure is sticky: later writes are dropped
 * and out_error() reports it, so callers may check once at the end.
 */
#ifndef OUT_H
#define OUT_H

#include <stddef.h>

#define OUT_BUFSZ 16384

/* Takes n bytes; returns 0 on success, -1 on failure. */
typedef int (*out_sink_fn)(void *ctx, const char *p, size_t n);

struct out {
	out_sink_fn sink;
	void *ctx;
	size_t len;
	int err;
	int discard; /* set for HEAD: count nothing, send nothing */
	char buf[OUT_BUFSZ];
};

void out_init(struct out *o, out_sink_fn sink, void *ctx);
void out_write(struct out *o, const char *p, size_t n);
void out_puts(struct out *o, const char *s);
void out_putc(struct out *o, char c);
void out_uint(struct out *o, unsigned long long v);
void out_int(struct out *o, long long v);
/* Sends what is buffered; returns 0, or -1 if any write failed. */
int out_flush(struct out *o);
int out_error(const struct out *o);

#endif
