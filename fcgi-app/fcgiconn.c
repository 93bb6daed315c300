#include "fcgiconn.h"

#include <stdio.h>
#include <string.h>

#include <fastcgi.h>

#include "clock.h"
#include "log.h"

void
fconn_init(struct fconn *c, const struct fconn_limits *lim)
{
	buf_init(&c->in, FCONN_REC_MAX);
	buf_init(&c->params, FCONN_PARAMS_MAX);
	buf_init(&c->out, FCONN_OUT_MAX);
	c->lim = lim;
	c->id = c->body_id = 0;
	c->keep = 0;
	c->params_done = 0;
}

void
fconn_free(struct fconn *c)
{
	buf_free(&c->in);
	buf_free(&c->params);
	buf_free(&c->out);
}

void
fconn_trim(struct fconn *c)
{
	buf_trim(&c->in);
	buf_trim(&c->params);
	buf_trim(&c->out);
}

/* Appends a record header for len bytes of content, no padding. */
static int
header(struct buf *b, int type, unsigned id, size_t len)
{
	unsigned char h[FCGI_HEADER_LEN];

	h[0] = FCGI_VERSION_1;
	h[1] = (unsigned char)type;
	h[2] = (unsigned char)(id >> 8);
	h[3] = (unsigned char)id;
	h[4] = (unsigned char)(len >> 8);
	h[5] = (unsigned char)len;
	h[6] = h[7] = 0;
	return buf_add(b, h, sizeof(h));
}

static int
end_request(struct buf *b, unsigned id, unsigned char status)
{
	unsigned char body[8] = {0};

	body[4] = status;
	return header(b, FCGI_END_REQUEST, id, sizeof(body)) == 0 &&
	    buf_add(b, body, sizeof(body)) == 0 ? 0 : -1;
}

/* A name-value pair's length at p[*at] (one or four bytes), or -1. */
static long
pair_len(const unsigned char *p, size_t n, size_t *at)
{
	long v;

	if (*at >= n)
		return -1;
	if ((p[*at] & 0x80) == 0)
		return p[(*at)++];
	if (n - *at < 4)
		return -1;
	v = ((long)(p[*at] & 0x7f) << 24) | ((long)p[*at + 1] << 16) |
	    ((long)p[*at + 2] << 8) | p[*at + 3];
	*at += 4;
	return v;
}

/*
 * The next pair of p[0..n) from *at: its name and value.  Returns 1, 0
 * at the end, -1 for a pair that runs past the end.
 */
static int
next_pair(const unsigned char *p, size_t n, size_t *at,
    const unsigned char **name, size_t *nl, const unsigned char **val,
    size_t *vl)
{
	long a, b;

	if (*at == n)
		return 0;
	a = pair_len(p, n, at);
	b = a < 0 ? -1 : pair_len(p, n, at);
	if (b < 0 || (size_t)a > n - *at || (size_t)b > n - *at - (size_t)a)
		return -1;
	*name = p + *at;
	*nl = (size_t)a;
	*val = p + *at + a;
	*vl = (size_t)b;
	*at += (size_t)a + (size_t)b;
	return 1;
}

static int
is_name(const unsigned char *p, size_t n, const char *name)
{
	return n == strlen(name) && memcmp(p, name, n) == 0;
}

/* Appends one pair with one-byte lengths. */
static int
add_pair(struct buf *b, const char *name, const char *val)
{
	unsigned char l[2] = {(unsigned char)strlen(name),
	    (unsigned char)strlen(val)};

	return buf_add(b, l, 2) == 0 && buf_add(b, name, l[0]) == 0 &&
	    buf_add(b, val, l[1]) == 0 ? 0 : -1;
}

/*
 * FCGI_GET_VALUES_RESULT for the names asked in p[0..n): each name the
 * program knows with its value; other names are left out (FastCGI 1.0,
 * 4.1).  Returns 0, or -1 for malformed pairs or past the bound.
 */
static int
get_values(struct fconn *c, const unsigned char *p, size_t n)
{
	unsigned char res[128];
	struct buf b = {res, 0, 0, sizeof(res), sizeof(res)};
	const unsigned char *name, *val;
	size_t at = 0, nl, vl;
	char num[16];
	int r;

	while ((r = next_pair(p, n, &at, &name, &nl, &val, &vl)) == 1) {
		const char *key;
		unsigned v;

		if (is_name(name, nl, FCGI_MAX_CONNS)) {
			key = FCGI_MAX_CONNS;
			v = c->lim->max_conns;
		} else if (is_name(name, nl, FCGI_MAX_REQS)) {
			key = FCGI_MAX_REQS;
			v = c->lim->max_reqs;
		} else if (is_name(name, nl, FCGI_MPXS_CONNS)) {
			key = FCGI_MPXS_CONNS;
			v = 0;
		} else {
			continue;
		}
		(void)snprintf(num, sizeof(num), "%u", v);
		/* the three names fit; a name asked again past them is left out */
		(void)add_pair(&b, key, num);
	}
	if (r < 0)
		return -1;
	return header(&c->out, FCGI_GET_VALUES_RESULT, FCGI_NULL_REQUEST_ID,
	    b.len) == 0 && buf_add(&c->out, res, b.len) == 0 ? 0 : -1;
}

/* A management record (request id 0) of type t: answered. */
static int
management(struct fconn *c, int t, const unsigned char *p, size_t n)
{
	unsigned char body[8] = {0};

	if (t == FCGI_GET_VALUES)
		return get_values(c, p, n);
	body[0] = (unsigned char)t;
	return header(&c->out, FCGI_UNKNOWN_TYPE, FCGI_NULL_REQUEST_ID,
	    sizeof(body)) == 0 && buf_add(&c->out, body, sizeof(body)) == 0 ?
	    0 : -1;
}

/*
 * The request's pairs, made NAME\0VALUE\0... in place of the raw ones,
 * so that fconn_param hands out C strings.  A value with a NUL byte in
 * it ends there.  Returns 0, or -1 for malformed pairs.
 */
static int
params_decode(struct fconn *c)
{
	struct buf *b = &c->params;
	size_t n = b->len, at = 0, nl, vl, w = 0;
	const unsigned char *name, *val;
	unsigned char *d;
	int r;

	if (n == 0)
		return 0; /* no pairs at all, and maybe no memory */
	/*
	 * Decoded front to back over themselves: a decoded pair is no
	 * longer than its raw form (two NULs for at least two bytes of
	 * lengths), so each write lands before the bytes still to be
	 * read, and the next pair is read whole before any of it moves.
	 */
	d = b->p + b->off;
	while ((r = next_pair(d, n, &at, &name, &nl, &val, &vl)) == 1) {
		memmove(d + w, name, nl);
		d[w + nl] = '\0';
		memmove(d + w + nl + 1, val, vl);
		d[w + nl + 1 + vl] = '\0';
		w += nl + vl + 2;
	}
	b->len = w;
	return r == 0 ? 0 : -1;
}

const char *
fconn_param(const struct fconn *c, const char *name)
{
	const char *p = (const char *)buf_data(&c->params),
	    *end = p + c->params.len;
	size_t n;

	if (!c->params_done)
		return NULL;
	while (p < end) {
		n = strlen(p);
		if (strcmp(p, name) == 0)
			return p + n + 1;
		p += n + 1;
		p += strlen(p) + 1;
	}
	return NULL;
}

/* A begin record's body: the role, and whether the connection is kept. */
static enum fconn_ev
begin(struct fconn *c, unsigned id, const unsigned char *p, size_t n)
{
	unsigned role;

	if (n < 8 || id == FCGI_NULL_REQUEST_ID)
		return FCONN_ERROR;
	role = (unsigned)p[0] << 8 | p[1];
	if (c->id != 0) {
		/* one request at a time on a connection */
		return end_request(&c->out, id, FCGI_CANT_MPX_CONN) == 0 ?
		    FCONN_MORE : FCONN_ERROR;
	}
	if (role != FCGI_RESPONDER) {
		if (end_request(&c->out, id, FCGI_UNKNOWN_ROLE) != 0)
			return FCONN_ERROR;
		return (p[2] & FCGI_KEEP_CONN) != 0 ? FCONN_MORE : FCONN_CLOSE;
	}
	c->id = id;
	c->body_id = id;
	c->keep = (p[2] & FCGI_KEEP_CONN) != 0;
	c->params_done = 0;
	c->params.off = c->params.len = 0;
	return FCONN_MORE;
}

/* One whole record of type t for request id, content p[0..n). */
static enum fconn_ev
record(struct fconn *c, int t, unsigned id, const unsigned char *p, size_t n)
{
	if (id == FCGI_NULL_REQUEST_ID)
		return management(c, t, p, n) == 0 ? FCONN_MORE : FCONN_ERROR;
	if (t == FCGI_BEGIN_REQUEST)
		return begin(c, id, p, n);
	if (t == FCGI_STDIN && id == c->body_id) {
		if (n == 0)
			c->body_id = 0; /* the body's end; its bytes are unread */
		return FCONN_MORE;
	}
	if (id != c->id)
		return FCONN_MORE; /* a request that has ended, or was refused */
	if (t == FCGI_ABORT_REQUEST)
		return FCONN_ABORT;
	if (t != FCGI_PARAMS || c->params_done)
		return FCONN_MORE; /* FCGI_DATA, or more parameters: unread */
	if (n > 0) {
		if (buf_add(&c->params, p, n) == 0)
			return FCONN_MORE;
		log_rate("params", clock_ms(), "a request's parameters are "
		    "longer than %u bytes; connection closed",
		    (unsigned)FCONN_PARAMS_MAX);
		return FCONN_ERROR;
	}
	if (params_decode(c) != 0) {
		log_rate("pairs", clock_ms(), "a request's parameters are not "
		    "FastCGI name-value pairs; connection closed");
		return FCONN_ERROR;
	}
	c->params_done = 1;
	return FCONN_REQUEST;
}

enum fconn_ev
fconn_next(struct fconn *c)
{
	const unsigned char *h;
	size_t clen, total;
	enum fconn_ev ev = FCONN_MORE;

	while (ev == FCONN_MORE && c->in.len >= FCGI_HEADER_LEN) {
		h = buf_data(&c->in);
		if (h[0] != FCGI_VERSION_1) {
			log_rate("version", clock_ms(), "a connection sent "
			    "something that is not FastCGI 1.0; closed");
			return FCONN_ERROR;
		}
		clen = (size_t)h[4] << 8 | h[5];
		total = FCGI_HEADER_LEN + clen + h[6];
		if (c->in.len < total)
			break;
		ev = record(c, h[1], (unsigned)h[2] << 8 | h[3],
		    h + FCGI_HEADER_LEN, clen);
		buf_take(&c->in, total);
	}
	return ev;
}

int
fconn_stdout(struct fconn *c, const char *p, size_t n)
{
	size_t k;

	while (n > 0) {
		k = n < FCGI_MAX_LENGTH ? n : FCGI_MAX_LENGTH;
		if (header(&c->out, FCGI_STDOUT, c->id, k) != 0 ||
		    buf_add(&c->out, p, k) != 0)
			return -1;
		p += k;
		n -= k;
	}
	return 0;
}

/*
 * The request in progress has ended: its parameters go, so that an
 * idle connection's buffers are empty and fconn_trim frees them.
 */
static void
request_over(struct fconn *c)
{
	c->id = 0;
	c->params_done = 0;
	buf_take(&c->params, c->params.len);
}

int
fconn_end(struct fconn *c)
{
	int r = header(&c->out, FCGI_STDOUT, c->id, 0) == 0 &&
	    end_request(&c->out, c->id, FCGI_REQUEST_COMPLETE) == 0 ? 0 : -1;

	request_over(c);
	return r;
}

void
fconn_drop(struct fconn *c)
{
	request_over(c);
	c->keep = 0;
}
