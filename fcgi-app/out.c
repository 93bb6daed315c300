#include "out.h"

#include <stdio.h>
#include <string.h>

void
out_init(struct out *o, out_sink_fn sink, void *ctx)
{
	o->sink = sink;
	o->ctx = ctx;
	o->len = 0;
	o->err = 0;
	o->sent = 0;
	o->discard = 0;
	o->head_end = 0;
}

static void
drain(struct out *o)
{
	if (o->len > 0 && !o->err) {
		o->sent = 1;
		if (o->sink(o->ctx, o->buf, o->len) != 0)
			o->err = 1;
	}
	o->len = 0;
}

int
out_rewind(struct out *o)
{
	if (o->sent || o->err)
		return -1;
	o->len = 0;
	o->head_end = 0;
	return 0;
}

void
out_discard(struct out *o)
{
	o->discard = 1;
}

void
out_write_slow(struct out *o, const char *p, size_t n)
{
	if (o->err || o->discard)
		return;
	while (n > 0) {
		size_t room = sizeof(o->buf) - o->len;
		size_t k = n < room ? n : room;

		memcpy(o->buf + o->len, p, k);
		o->len += k;
		p += k;
		n -= k;
		if (o->len == sizeof(o->buf))
			drain(o);
		if (o->err)
			return;
	}
}

void
out_putc(struct out *o, char c)
{
	if (o->err || o->discard)
		return;
	o->buf[o->len++] = c;
	if (o->len == sizeof(o->buf))
		drain(o);
}

void
out_uint(struct out *o, unsigned long long v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	out_write(o, tmp + i, sizeof(tmp) - i);
}

void
out_int(struct out *o, long long v)
{
	if (v < 0) {
		out_putc(o, '-');
		/* -(v + 1) + 1 avoids overflow at LLONG_MIN */
		out_uint(o, (unsigned long long)(-(v + 1)) + 1u);
	} else {
		out_uint(o, (unsigned long long)v);
	}
}

void
out_end_headers(struct out *o)
{
	if (!o->sent && !o->err && !o->discard && o->len + 2 <= sizeof(o->buf))
		o->head_end = o->len;
	out_write(o, "\r\n", 2);
}

int
out_finish(struct out *o)
{
	char field[48];
	int k;

	if (!o->sent && !o->err && !o->discard && o->head_end > 0 &&
	    o->head_end + 2 <= o->len) {
		k = snprintf(field, sizeof(field), "Content-Length: %zu\r\n",
		    o->len - o->head_end - 2);
		/* with no room for the field, the answer goes out without it */
		if (k > 0 && (size_t)k < sizeof(field) &&
		    (size_t)k <= sizeof(o->buf) - o->len) {
			memmove(o->buf + o->head_end + k, o->buf + o->head_end,
			    o->len - o->head_end);
			memcpy(o->buf + o->head_end, field, (size_t)k);
			o->len += (size_t)k;
		}
	}
	return out_flush(o);
}

int
out_flush(struct out *o)
{
	drain(o);
	return o->err ? -1 : 0;
}

int
out_error(const struct out *o)
{
	return o->err ? -1 : 0;
}
