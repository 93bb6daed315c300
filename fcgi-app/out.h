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
#include <string.h>

#define OUT_BUFSZ 16384

/* Takes n bytes; returns 0 on success, -1 on failure. */
typedef int (*out_sink_fn)(void *ctx, const char *p, size_t n);

struct out {
	out_sink_fn sink;
	void *ctx;
	size_t len;
	int err;
	int sent;    /* the sink has taken bytes: they cannot be taken back */
	int discard; /* set for HEAD: count nothing, send nothing */
	size_t head_end; /* where the headers' blank line starts; 0: unmarked */
	char buf[OUT_BUFSZ];
};

void out_init(struct out *o, out_sink_fn sink, void *ctx);
/* out_write for what does not fit the room left, or after a failure. */
void out_write_slow(struct out *o, const char *p, size_t n);
void out_putc(struct out *o, char c);

/*
 * Inline, so that a page's many short copies cost a memcpy the compiler
 * can see, and out_puts of a literal no strlen at run time.  The buffer
 * never fills here (n < room): draining stays in out_write_slow.
 */
static inline void
out_write(struct out *o, const char *p, size_t n)
{
	if (n < sizeof(o->buf) && n < sizeof(o->buf) - o->len && !o->err &&
	    !o->discard) {
		memcpy(o->buf + o->len, p, n);
		o->len += n;
	} else {
		out_write_slow(o, p, n);
	}
}

static inline void
out_puts(struct out *o, const char *s)
{
	out_write(o, s, strlen(s));
}
void out_uint(struct out *o, unsigned long long v);
void out_int(struct out *o, long long v);
/*
 * Drops everything written so far, so that another answer can take its
 * place; returns 0, or -1 if some of it has already gone to the sink.
 */
int out_rewind(struct out *o);
/*
 * Ends the headers with their blank line, and marks where it starts, so
 * that out_finish can put the body's length in front of it.
 */
void out_end_headers(struct out *o);
/*
 * The answer is complete: sends what is buffered, and if all of it is
 * still here, the headers ended by out_end_headers first gain a
 * Content-Length, so that nginx passes the answer on in one piece
 * instead of chunks and their last empty chunk in a write of its own.
 * Returns 0, or -1 if any write failed.
 */
int out_finish(struct out *o);
/* From here on, writes are dropped: for HEAD, once the headers are out. */
void out_discard(struct out *o);
/* Sends what is buffered; returns 0, or -1 if any write failed. */
int out_flush(struct out *o);
int out_error(const struct out *o);

#endif
