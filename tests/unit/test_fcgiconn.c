/*
 * fcgiconn.c: the FastCGI records of one connection, over its buffers.
 * Records are fed in every split the socket could make; the answers the
 * connection writes are parsed back into records and checked field by
 * field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastcgi.h>

#include "fcgiconn.h"
#include "unit.h"

static const struct fconn_limits lim = {4096, 8192};
static struct fconn c;

/* Bytes to feed: records appended one after another. */
struct wire {
	unsigned char p[1 << 19];
	size_t n;
};

static struct wire w;

static void
setup(void)
{
	fconn_init(&c, &lim);
	w.n = 0;
}

static void
teardown(void)
{
	fconn_free(&c);
}

/* Appends a record of type t for request id: n bytes of p, pad padding. */
static void
rec(struct wire *x, int t, unsigned id, const void *p, size_t n, size_t pad)
{
	unsigned char h[8] = {FCGI_VERSION_1, (unsigned char)t,
	    (unsigned char)(id >> 8), (unsigned char)id,
	    (unsigned char)(n >> 8), (unsigned char)n, (unsigned char)pad, 0};

	ck_assert_uint_le(n, 65535);
	ck_assert_uint_lt(x->n + 8 + n + pad, sizeof(x->p));
	memcpy(x->p + x->n, h, 8);
	if (n > 0)
		memcpy(x->p + x->n + 8, p, n);
	memset(x->p + x->n + 8 + n, 0xEE, pad);
	x->n += 8 + n + pad;
}

static void
begin(struct wire *x, unsigned id, unsigned role, int keep)
{
	unsigned char b[8] = {(unsigned char)(role >> 8), (unsigned char)role,
	    (unsigned char)(keep ? FCGI_KEEP_CONN : 0), 0, 0, 0, 0, 0};

	rec(x, FCGI_BEGIN_REQUEST, id, b, sizeof(b), 0);
}

/* A length of a name-value pair: one byte below 128, else four. */
static size_t
put_len(unsigned char *d, size_t len, int four)
{
	if (!four && len < 128) {
		d[0] = (unsigned char)len;
		return 1;
	}
	d[0] = (unsigned char)(0x80 | (len >> 24));
	d[1] = (unsigned char)(len >> 16);
	d[2] = (unsigned char)(len >> 8);
	d[3] = (unsigned char)len;
	return 4;
}

/* A pair, encoded into d; four: four-byte lengths even when short. */
static size_t
pair(unsigned char *d, const char *name, const char *val, int four)
{
	size_t nl = strlen(name), vl = strlen(val), at = 0;

	at += put_len(d + at, nl, four);
	at += put_len(d + at, vl, four);
	memcpy(d + at, name, nl);
	memcpy(d + at + nl, val, vl);
	return at + nl + vl;
}

/* A whole request: begin, its pairs in one record, their end, stdin. */
static void
request(struct wire *x, unsigned id, int keep)
{
	unsigned char p[256];
	size_t n = 0;

	begin(x, id, FCGI_RESPONDER, keep);
	n += pair(p + n, "REQUEST_METHOD", "GET", 0);
	n += pair(p + n, "SCRIPT_NAME", "/", 0);
	n += pair(p + n, "QUERY_STRING", "limit=2", 1);
	rec(x, FCGI_PARAMS, id, p, n, 3);
	rec(x, FCGI_PARAMS, id, NULL, 0, 0);
	rec(x, FCGI_STDIN, id, NULL, 0, 0);
}

/* Events of the bytes fed so far, up to FCONN_MORE, into evs. */
struct evs {
	enum fconn_ev ev[16];
	unsigned n;
};

static void
drain(struct evs *e)
{
	enum fconn_ev ev;

	while ((ev = fconn_next(&c)) != FCONN_MORE) {
		ck_assert_uint_lt(e->n, 16);
		e->ev[e->n++] = ev;
		if (ev == FCONN_ERROR || ev == FCONN_CLOSE)
			break;
	}
}

/* Feeds p[0..n) and takes the events, into e. */
static void
feed(const unsigned char *p, size_t n, struct evs *e)
{
	ck_assert_int_eq(buf_add(&c.in, p, n), 0);
	drain(e);
}

/* Feeds all of w at once; returns the one event it must come to. */
static enum fconn_ev
feed_all(void)
{
	struct evs e = {{0}, 0};

	feed(w.p, w.n, &e);
	w.n = 0;
	ck_assert_uint_le(e.n, 1);
	return e.n == 0 ? FCONN_MORE : e.ev[0];
}

/* A record the connection wrote, parsed. */
struct outrec {
	int type;
	unsigned id;
	const unsigned char *p;
	size_t n;
};

/* The records in c.out, up to max; fails on a partial one. */
static unsigned
out_records(struct outrec *r, unsigned max)
{
	const unsigned char *p = buf_data(&c.out);
	size_t left = c.out.len, clen, pad;
	unsigned k = 0;

	while (left > 0) {
		ck_assert_uint_ge(left, 8);
		ck_assert_int_eq(p[0], FCGI_VERSION_1);
		clen = (size_t)p[4] << 8 | p[5];
		pad = p[6];
		ck_assert_uint_ge(left, 8 + clen + pad);
		ck_assert_uint_lt(k, max);
		r[k].type = p[1];
		r[k].id = (unsigned)p[2] << 8 | p[3];
		r[k].p = p + 8;
		r[k].n = clen;
		k++;
		p += 8 + clen + pad;
		left -= 8 + clen + pad;
	}
	return k;
}

/* c.out is one FCGI_END_REQUEST for id with protocol status st. */
static void
only_end_request(unsigned id, int st)
{
	struct outrec r[4];

	ck_assert_uint_eq(out_records(r, 4), 1);
	ck_assert_int_eq(r[0].type, FCGI_END_REQUEST);
	ck_assert_uint_eq(r[0].id, id);
	ck_assert_uint_eq(r[0].n, 8);
	ck_assert_int_eq(r[0].p[4], st);
	buf_take(&c.out, c.out.len);
}

static void
params_are_the_request(void)
{
	ck_assert_str_eq(fconn_param(&c, "REQUEST_METHOD"), "GET");
	ck_assert_str_eq(fconn_param(&c, "SCRIPT_NAME"), "/");
	ck_assert_str_eq(fconn_param(&c, "QUERY_STRING"), "limit=2");
	ck_assert_ptr_null(fconn_param(&c, "HTTP_ACCEPT"));
	ck_assert_ptr_null(fconn_param(&c, "REQUEST"));
}

/* Fed in two pieces, split at every byte: the same one request. */
START_TEST(a_request_split_at_every_byte)
{
	static struct wire whole;
	struct evs e;
	size_t k;

	whole.n = 0;
	request(&whole, 1, 0);
	for (k = 0; k <= whole.n; k++) {
		fconn_free(&c);
		fconn_init(&c, &lim);
		memset(&e, 0, sizeof(e));
		feed(whole.p, k, &e);
		/* the request is whole with its parameters' empty record */
		ck_assert_msg(e.n == (k >= whole.n - 8 ? 1u : 0u), "split at "
		    "%zu: %u events", k, e.n);
		if (e.n == 0)
			ck_assert_ptr_null(fconn_param(&c, "SCRIPT_NAME"));
		feed(whole.p + k, whole.n - k, &e);
		ck_assert_msg(e.n == 1 && e.ev[0] == FCONN_REQUEST,
		    "split at %zu: %u events", k, e.n);
		ck_assert(fconn_busy(&c));
		params_are_the_request();
		ck_assert_uint_eq(c.in.len, 0);
	}
	/* and a byte at a time */
	fconn_free(&c);
	fconn_init(&c, &lim);
	memset(&e, 0, sizeof(e));
	for (k = 0; k < whole.n; k++)
		feed(whole.p + k, 1, &e);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_int_eq(e.ev[0], FCONN_REQUEST);
	params_are_the_request();
}
END_TEST

/*
 * Lengths of one and four bytes, a name and a value past 127 bytes, and
 * pairs cut across records anywhere, in a length too.
 */
START_TEST(params_with_long_lengths_split_across_records)
{
	static unsigned char p[4096];
	char name[200], val[1000];
	size_t n = 0, cut, at;

	memset(name, 'N', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(val, 'v', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	n += pair(p + n, "A", "1", 0);
	n += pair(p + n, "B", "two", 1);
	n += pair(p + n, name, "x", 0);
	n += pair(p + n, "LONG", val, 0);
	n += pair(p + n, "EMPTY", "", 0);
	for (cut = 1; cut < 40; cut++) {
		fconn_free(&c);
		fconn_init(&c, &lim);
		begin(&w, 7, FCGI_RESPONDER, 1);
		/* records of cut bytes each, the last one shorter */
		for (at = 0; at < n; at += cut)
			rec(&w, FCGI_PARAMS, 7, p + at, n - at < cut ? n - at :
			    cut, at % 3);
		rec(&w, FCGI_PARAMS, 7, NULL, 0, 0);
		ck_assert_int_eq(feed_all(), FCONN_REQUEST);
		ck_assert_str_eq(fconn_param(&c, "A"), "1");
		ck_assert_str_eq(fconn_param(&c, "B"), "two");
		ck_assert_str_eq(fconn_param(&c, name), "x");
		ck_assert_str_eq(fconn_param(&c, "LONG"), val);
		ck_assert_str_eq(fconn_param(&c, "EMPTY"), "");
		ck_assert_int_eq(c.keep, 1);
		ck_assert_uint_eq(c.id, 7);
	}
}
END_TEST

/* No parameters at all: a request still, with none to hand out. */
START_TEST(a_request_without_params)
{
	begin(&w, 1, FCGI_RESPONDER, 0);
	rec(&w, FCGI_PARAMS, 1, NULL, 0, 0);
	ck_assert_int_eq(feed_all(), FCONN_REQUEST);
	ck_assert_ptr_null(fconn_param(&c, "SCRIPT_NAME"));
	ck_assert(fconn_busy(&c));
}
END_TEST

/* A pair whose length runs past the parameters' end: not FastCGI. */
START_TEST(a_pair_past_the_end_is_an_error)
{
	unsigned char p[8] = {5, 1, 'A', 'B'};

	begin(&w, 1, FCGI_RESPONDER, 0);
	rec(&w, FCGI_PARAMS, 1, p, 4, 0);
	rec(&w, FCGI_PARAMS, 1, NULL, 0, 0);
	log_capture_begin();
	ck_assert_int_eq(feed_all(), FCONN_ERROR);
	ck_assert_ptr_nonnull(strstr(log_capture_end(), "not FastCGI "
	    "name-value pairs"));
}
END_TEST

/* The value of name in the pairs of a GET_VALUES_RESULT, or NULL. */
static const char *
result_value(const struct outrec *r, const char *name)
{
	static char v[32];
	size_t at = 0, nl, vl;

	while (at + 2 <= r->n) {
		ck_assert_int_eq(r->p[at] & 0x80, 0);
		ck_assert_int_eq(r->p[at + 1] & 0x80, 0);
		nl = r->p[at];
		vl = r->p[at + 1];
		at += 2;
		ck_assert_uint_le(at + nl + vl, r->n);
		if (nl == strlen(name) && memcmp(r->p + at, name, nl) == 0) {
			ck_assert_uint_lt(vl, sizeof(v));
			memcpy(v, r->p + at + nl, vl);
			v[vl] = '\0';
			return v;
		}
		at += nl + vl;
	}
	ck_assert_uint_eq(at, r->n);
	return NULL;
}

START_TEST(get_values_answers_the_names_it_knows)
{
	unsigned char p[128];
	struct outrec r[4];
	size_t n = 0;

	n += pair(p + n, FCGI_MAX_CONNS, "", 0);
	n += pair(p + n, "FCGI_OTHER", "", 0);
	n += pair(p + n, FCGI_MAX_REQS, "", 1);
	n += pair(p + n, FCGI_MPXS_CONNS, "", 0);
	rec(&w, FCGI_GET_VALUES, 0, p, n, 0);
	ck_assert_int_eq(feed_all(), FCONN_MORE);
	ck_assert_uint_eq(out_records(r, 4), 1);
	ck_assert_int_eq(r[0].type, FCGI_GET_VALUES_RESULT);
	ck_assert_uint_eq(r[0].id, 0);
	ck_assert_str_eq(result_value(&r[0], FCGI_MAX_CONNS), "4096");
	ck_assert_str_eq(result_value(&r[0], FCGI_MAX_REQS), "8192");
	ck_assert_str_eq(result_value(&r[0], FCGI_MPXS_CONNS), "0");
	ck_assert_ptr_null(result_value(&r[0], "FCGI_OTHER"));
	ck_assert(!fconn_busy(&c));
	/* none asked: an empty answer */
	buf_take(&c.out, c.out.len);
	rec(&w, FCGI_GET_VALUES, 0, NULL, 0, 0);
	ck_assert_int_eq(feed_all(), FCONN_MORE);
	ck_assert_uint_eq(out_records(r, 4), 1);
	ck_assert_int_eq(r[0].type, FCGI_GET_VALUES_RESULT);
	ck_assert_uint_eq(r[0].n, 0);
}
END_TEST

START_TEST(another_management_record_gets_unknown_type)
{
	struct outrec r[4];

	rec(&w, 99, 0, "x", 1, 0);
	ck_assert_int_eq(feed_all(), FCONN_MORE);
	ck_assert_uint_eq(out_records(r, 4), 1);
	ck_assert_int_eq(r[0].type, FCGI_UNKNOWN_TYPE);
	ck_assert_uint_eq(r[0].id, 0);
	ck_assert_uint_eq(r[0].n, 8);
	ck_assert_int_eq(r[0].p[0], 99);
}
END_TEST

/* Another role: refused; the connection closes unless it is kept. */
START_TEST(another_role_gets_unknown_role)
{
	begin(&w, 3, FCGI_AUTHORIZER, 1);
	ck_assert_int_eq(feed_all(), FCONN_MORE);
	only_end_request(3, FCGI_UNKNOWN_ROLE);
	ck_assert(!fconn_busy(&c));
	/* its parameters are dropped; the next request is served */
	rec(&w, FCGI_PARAMS, 3, NULL, 0, 0);
	ck_assert_int_eq(feed_all(), FCONN_MORE);
	ck_assert_uint_eq(c.out.len, 0);
	request(&w, 4, 1);
	ck_assert_int_eq(feed_all(), FCONN_REQUEST);
	params_are_the_request();
	fconn_free(&c);
	fconn_init(&c, &lim);
	begin(&w, 3, FCGI_FILTER, 0);
	ck_assert_int_eq(feed_all(), FCONN_CLOSE);
	only_end_request(3, FCGI_UNKNOWN_ROLE);
}
END_TEST

/* A second begin while one request is in progress: refused alone. */
START_TEST(a_second_request_gets_cant_mpx_conn)
{
	struct outrec r[4];

	begin(&w, 1, FCGI_RESPONDER, 1);
	begin(&w, 2, FCGI_RESPONDER, 1);
	ck_assert_int_eq(feed_all(), FCONN_MORE);
	only_end_request(2, FCGI_CANT_MPX_CONN);
	ck_assert_uint_eq(c.id, 1);
	/* the first goes on, and the second's records are dropped */
	rec(&w, FCGI_PARAMS, 2, "\x01\x01XY", 4, 0);
	rec(&w, FCGI_PARAMS, 1, "\x01\x01" "AB", 4, 0);
	rec(&w, FCGI_PARAMS, 2, NULL, 0, 0);
	rec(&w, FCGI_PARAMS, 1, NULL, 0, 0);
	ck_assert_int_eq(feed_all(), FCONN_REQUEST);
	ck_assert_str_eq(fconn_param(&c, "A"), "B");
	ck_assert_ptr_null(fconn_param(&c, "X"));
	ck_assert_uint_eq(out_records(r, 4), 0);
}
END_TEST

/*
 * The body is read past, before the answer and after it, so that the
 * next request on a kept connection starts at a record.
 */
START_TEST(the_body_is_skipped_also_after_the_end)
{
	static char body[3000];
	struct outrec r[4];

	memset(body, 'b', sizeof(body));
	begin(&w, 1, FCGI_RESPONDER, 1);
	rec(&w, FCGI_PARAMS, 1, "\x01\x01" "AB", 4, 0);
	rec(&w, FCGI_PARAMS, 1, NULL, 0, 0);
	rec(&w, FCGI_STDIN, 1, body, sizeof(body), 5);
	ck_assert_int_eq(feed_all(), FCONN_REQUEST);
	ck_assert_int_eq(fconn_end(&c), 0);
	ck_assert(!fconn_busy(&c));
	buf_take(&c.out, c.out.len);
	/* the rest of the body comes after the answer */
	rec(&w, FCGI_STDIN, 1, body, sizeof(body), 0);
	rec(&w, FCGI_DATA, 1, body, 10, 0);
	rec(&w, FCGI_STDIN, 1, NULL, 0, 0);
	ck_assert_int_eq(feed_all(), FCONN_MORE);
	ck_assert_uint_eq(c.body_id, 0);
	ck_assert_uint_eq(c.in.len, 0);
	ck_assert_uint_eq(out_records(r, 4), 0);
	/* the next request on the connection */
	request(&w, 1, 1);
	rec(&w, FCGI_STDIN, 1, body, 100, 0);
	ck_assert_int_eq(feed_all(), FCONN_REQUEST);
	params_are_the_request();
	ck_assert_uint_eq(out_records(r, 4), 0);
}
END_TEST

START_TEST(an_abort_during_the_params_ends_the_request)
{
	begin(&w, 5, FCGI_RESPONDER, 1);
	rec(&w, FCGI_PARAMS, 5, "\x01\x01" "AB", 4, 0);
	rec(&w, FCGI_ABORT_REQUEST, 5, NULL, 0, 0);
	ck_assert_int_eq(feed_all(), FCONN_ABORT);
	ck_assert_uint_eq(c.id, 5); /* the core ends it, with fconn_end */
	ck_assert_ptr_null(fconn_param(&c, "A"));
	/* another request's abort is not this one's */
	fconn_free(&c);
	fconn_init(&c, &lim);
	begin(&w, 5, FCGI_RESPONDER, 1);
	rec(&w, FCGI_ABORT_REQUEST, 6, NULL, 0, 0);
	ck_assert_int_eq(feed_all(), FCONN_MORE);
	ck_assert_uint_eq(c.out.len, 0);
}
END_TEST

START_TEST(an_abort_after_the_end_is_dropped)
{
	struct outrec r[4];

	request(&w, 1, 1);
	ck_assert_int_eq(feed_all(), FCONN_REQUEST);
	ck_assert_int_eq(fconn_end(&c), 0);
	buf_take(&c.out, c.out.len);
	rec(&w, FCGI_ABORT_REQUEST, 1, NULL, 0, 0);
	ck_assert_int_eq(feed_all(), FCONN_MORE);
	ck_assert_uint_eq(out_records(r, 4), 0);
	ck_assert(!fconn_busy(&c));
}
END_TEST

START_TEST(another_version_is_an_error)
{
	request(&w, 1, 0);
	w.p[0] = 2;
	log_capture_begin();
	ck_assert_int_eq(feed_all(), FCONN_ERROR);
	ck_assert_ptr_nonnull(strstr(log_capture_end(), "not FastCGI 1.0"));
	/* and bytes that are no record at all: an HTTP request */
	fconn_free(&c);
	fconn_init(&c, &lim);
	memcpy(w.p, "GET / HTTP/1.1\r\n\r\n", 18);
	w.n = 18;
	log_capture_begin();
	ck_assert_int_eq(feed_all(), FCONN_ERROR);
	(void)log_capture_end();
}
END_TEST

/* Parameters past FCONN_PARAMS_MAX: the connection closes. */
START_TEST(params_over_the_bound_are_an_error)
{
	static unsigned char big[65535];
	struct evs e = {{0}, 0};
	size_t sent = 0;

	memset(big, 'p', sizeof(big));
	begin(&w, 1, FCGI_RESPONDER, 0);
	feed(w.p, w.n, &e);
	log_capture_begin();
	while (e.n == 0 && sent <= FCONN_PARAMS_MAX) {
		w.n = 0;
		rec(&w, FCGI_PARAMS, 1, big, sizeof(big), 0);
		feed(w.p, w.n, &e);
		sent += sizeof(big);
	}
	ck_assert_ptr_nonnull(strstr(log_capture_end(), "parameters are "
	    "longer than"));
	ck_assert_uint_eq(e.n, 1);
	ck_assert_int_eq(e.ev[0], FCONN_ERROR);
	ck_assert_uint_gt(sent, FCONN_PARAMS_MAX);
	ck_assert_uint_le(sent - sizeof(big), FCONN_PARAMS_MAX);
}
END_TEST

/* Parameters near the bound, in many records: all of them are read. */
START_TEST(params_up_to_the_bound_are_read)
{
	static unsigned char p[65535];
	static char val[65000];
	char name[16];
	struct evs e = {{0}, 0};
	size_t n;
	unsigned k;

	memset(val, 'v', sizeof(val) - 1);
	begin(&w, 1, FCGI_RESPONDER, 0);
	feed(w.p, w.n, &e);
	for (k = 0; k < 3; k++) {
		snprintf(name, sizeof(name), "P%u", k);
		n = pair(p, name, val, 0);
		w.n = 0;
		rec(&w, FCGI_PARAMS, 1, p, n, 0);
		feed(w.p, w.n, &e);
	}
	w.n = 0;
	rec(&w, FCGI_PARAMS, 1, NULL, 0, 0);
	feed(w.p, w.n, &e);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_int_eq(e.ev[0], FCONN_REQUEST);
	ck_assert_str_eq(fconn_param(&c, "P0"), val);
	ck_assert_str_eq(fconn_param(&c, "P2"), val);
}
END_TEST

/* An answer past one record's 65535 bytes goes in several, in order. */
START_TEST(stdout_is_split_into_records)
{
	static char data[150000];
	static char back[sizeof(data)];
	struct outrec r[8];
	size_t i, at = 0;
	unsigned k, nr;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 + i / 65535);
	request(&w, 9, 0);
	ck_assert_int_eq(feed_all(), FCONN_REQUEST);
	ck_assert_int_eq(fconn_stdout(&c, data, sizeof(data)), 0);
	ck_assert_int_eq(fconn_stdout(&c, "tail", 4), 0);
	nr = out_records(r, 8);
	ck_assert_uint_eq(nr, 4);
	ck_assert_uint_eq(r[0].n, 65535);
	ck_assert_uint_eq(r[1].n, 65535);
	ck_assert_uint_eq(r[2].n, sizeof(data) - 2 * 65535);
	ck_assert_uint_eq(r[3].n, 4);
	for (k = 0; k < 3; k++) {
		ck_assert_int_eq(r[k].type, FCGI_STDOUT);
		ck_assert_uint_eq(r[k].id, 9);
		memcpy(back + at, r[k].p, r[k].n);
		at += r[k].n;
	}
	ck_assert_uint_eq(at, sizeof(data));
	ck_assert_int_eq(memcmp(back, data, sizeof(data)), 0);
	ck_assert_int_eq(memcmp(r[3].p, "tail", 4), 0);
}
END_TEST

/* The end: the stream's empty record, then END_REQUEST complete. */
START_TEST(end_closes_the_stream_and_the_request)
{
	struct outrec r[4];

	request(&w, 258, 1);
	ck_assert_int_eq(feed_all(), FCONN_REQUEST);
	ck_assert_int_eq(fconn_stdout(&c, "hi", 2), 0);
	ck_assert_int_eq(fconn_end(&c), 0);
	ck_assert(!fconn_busy(&c));
	ck_assert_int_eq(c.keep, 1);
	ck_assert_uint_eq(out_records(r, 4), 3);
	ck_assert_int_eq(r[0].type, FCGI_STDOUT);
	ck_assert_uint_eq(r[0].id, 258);
	ck_assert_int_eq(r[1].type, FCGI_STDOUT);
	ck_assert_uint_eq(r[1].n, 0);
	ck_assert_uint_eq(r[1].id, 258);
	ck_assert_int_eq(r[2].type, FCGI_END_REQUEST);
	ck_assert_uint_eq(r[2].id, 258);
	ck_assert_uint_eq(r[2].n, 8);
	ck_assert_int_eq(r[2].p[0] | r[2].p[1] | r[2].p[2] | r[2].p[3], 0);
	ck_assert_int_eq(r[2].p[4], FCGI_REQUEST_COMPLETE);
	/* a cut answer goes without an end, and the connection is not kept */
	buf_take(&c.out, c.out.len);
	request(&w, 2, 1);
	ck_assert_int_eq(feed_all(), FCONN_REQUEST);
	fconn_drop(&c);
	ck_assert(!fconn_busy(&c));
	ck_assert_int_eq(c.keep, 0);
	ck_assert_uint_eq(out_records(r, 4), 0);
}
END_TEST

/* An idle connection's buffers cost no memory once trimmed. */
START_TEST(trim_frees_the_idle_buffers)
{
	request(&w, 1, 1);
	ck_assert_int_eq(feed_all(), FCONN_REQUEST);
	ck_assert_int_eq(fconn_end(&c), 0);
	buf_take(&c.out, c.out.len);
	fconn_trim(&c);
	ck_assert_ptr_null(c.in.p);
	ck_assert_ptr_null(c.out.p);
	ck_assert_ptr_null(c.params.p);
	ck_assert_ptr_null(fconn_param(&c, "SCRIPT_NAME")); /* gone with it */
	/* and it serves the next request */
	request(&w, 1, 1);
	ck_assert_int_eq(feed_all(), FCONN_REQUEST);
	params_are_the_request();
}
END_TEST

Suite *
suite_fcgiconn(void)
{
	Suite *s = suite_create("fcgiconn");
	TCase *tc = tcase_create("records");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_request_split_at_every_byte);
	tcase_add_test(tc, params_with_long_lengths_split_across_records);
	tcase_add_test(tc, a_request_without_params);
	tcase_add_test(tc, a_pair_past_the_end_is_an_error);
	tcase_add_test(tc, get_values_answers_the_names_it_knows);
	tcase_add_test(tc, another_management_record_gets_unknown_type);
	tcase_add_test(tc, another_role_gets_unknown_role);
	tcase_add_test(tc, a_second_request_gets_cant_mpx_conn);
	tcase_add_test(tc, the_body_is_skipped_also_after_the_end);
	tcase_add_test(tc, an_abort_during_the_params_ends_the_request);
	tcase_add_test(tc, an_abort_after_the_end_is_dropped);
	tcase_add_test(tc, another_version_is_an_error);
	tcase_add_test(tc, params_up_to_the_bound_are_read);
	tcase_add_test(tc, params_over_the_bound_are_an_error);
	tcase_add_test(tc, stdout_is_split_into_records);
	tcase_add_test(tc, end_closes_the_stream_and_the_request);
	tcase_add_test(tc, trim_frees_the_idle_buffers);
	suite_add_tcase(s, tc);
	return s;
}
