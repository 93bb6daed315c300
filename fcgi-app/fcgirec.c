#include "fcgirec.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <fastcgi.h>

/* The largest record: its header, 65535 bytes of content, 255 of padding. */
#define REC_MAX (FCGI_HEADER_LEN + FCGI_MAX_LENGTH + 255)

/* Writes all n bytes, or returns -1. */
static int
send_all(int fd, const unsigned char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A record header for content of len bytes, no padding, in h[8]. */
static void
header(unsigned char *h, int type, unsigned id, size_t len)
{
	h[0] = FCGI_VERSION_1;
	h[1] = (unsigned char)type;
	h[2] = (unsigned char)(id >> 8);
	h[3] = (unsigned char)id;
	h[4] = (unsigned char)(len >> 8);
	h[5] = (unsigned char)len;
	h[6] = h[7] = 0;
}

/* A name-value pair's length at p (one or four bytes), or -1 past end. */
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
 * The FCGI_GET_VALUES_RESULT for the names in the content c[0..n): each
 * name the program knows, with its value; other names are left out, as
 * FastCGI 1.0 (4.1) asks.  Returns 0, or -1 for malformed pairs.
 */
static int
get_values(int fd, const unsigned char *c, size_t n,
    const struct fcgirec_limits *lim)
{
	unsigned char out[FCGI_HEADER_LEN + 128];
	size_t at = 0, len = FCGI_HEADER_LEN;
	long nl, vl;

	while (at < n) {
		const char *name, *val;
		char num[16];

		nl = pair_len(c, n, &at);
		vl = nl < 0 ? -1 : pair_len(c, n, &at);
		if (vl < 0 || (size_t)nl > n - at || (size_t)vl > n - at -
		    (size_t)nl)
			return -1;
		name = (const char *)c + at;
		at += (size_t)nl + (size_t)vl;
		if ((size_t)nl == strlen(FCGI_MAX_CONNS) &&
		    memcmp(name, FCGI_MAX_CONNS, (size_t)nl) == 0)
			(void)snprintf(num, sizeof(num), "%u", lim->max_conns);
		else if ((size_t)nl == strlen(FCGI_MAX_REQS) &&
		    memcmp(name, FCGI_MAX_REQS, (size_t)nl) == 0)
			(void)snprintf(num, sizeof(num), "%u", lim->max_reqs);
		else if ((size_t)nl == strlen(FCGI_MPXS_CONNS) &&
		    memcmp(name, FCGI_MPXS_CONNS, (size_t)nl) == 0)
			(void)snprintf(num, sizeof(num), "0");
		else
			continue;
		val = num;
		/* each known name once: three short pairs fit */
		if (len + 2 + (size_t)nl + strlen(val) > sizeof(out))
			continue;
		out[len++] = (unsigned char)nl;
		out[len++] = (unsigned char)strlen(val);
		memcpy(out + len, name, (size_t)nl);
		len += (size_t)nl;
		memcpy(out + len, val, strlen(val));
		len += strlen(val);
	}
	header(out, FCGI_GET_VALUES_RESULT, FCGI_NULL_REQUEST_ID,
	    len - FCGI_HEADER_LEN);
	return send_all(fd, out, len);
}

/*
 * Reads the record whose header is h whole, and answers it if it is a
 * management record.  Any other record here (the caller has ruled out
 * a begin record) belongs to no request in progress, such as an
 * FCGI_ABORT_REQUEST for a request already answered, and is dropped.
 */
static enum fcgirec_rc
take(int fd, const unsigned char *h, const struct fcgirec_limits *lim)
{
	static unsigned char rec[REC_MAX]; /* one worker, one record at a time */
	size_t clen = (size_t)h[4] << 8 | h[5], n = FCGI_HEADER_LEN + clen + h[6];
	unsigned char out[FCGI_HEADER_LEN + 8];

	if (recv(fd, rec, n, MSG_WAITALL) != (ssize_t)n)
		return FCGIREC_CLOSE;
	if (((unsigned)h[2] << 8 | h[3]) != FCGI_NULL_REQUEST_ID)
		return FCGIREC_ANSWERED;
	if (h[1] == FCGI_GET_VALUES)
		return get_values(fd, rec + FCGI_HEADER_LEN, clen, lim) == 0 ?
		    FCGIREC_ANSWERED : FCGIREC_CLOSE;
	header(out, FCGI_UNKNOWN_TYPE, FCGI_NULL_REQUEST_ID, 8);
	memset(out + FCGI_HEADER_LEN, 0, 8);
	out[FCGI_HEADER_LEN] = h[1];
	return send_all(fd, out, sizeof(out)) == 0 ? FCGIREC_ANSWERED
						   : FCGIREC_CLOSE;
}

enum fcgirec_rc
fcgirec_answer(int fd, const struct fcgirec_limits *lim, int wait_ms)
{
	unsigned char r[2 * FCGI_HEADER_LEN], out[2 * FCGI_HEADER_LEN];
	struct pollfd p = {fd, POLLIN, 0};
	ssize_t n = recv(fd, r, sizeof(r), MSG_PEEK | MSG_DONTWAIT);
	unsigned id;

	/* a new connection's first bytes may not be there yet */
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		if (poll(&p, 1, wait_ms) == 0)
			return FCGIREC_STALLED;
		n = recv(fd, r, sizeof(r), MSG_PEEK | MSG_DONTWAIT);
	}
	if (n < FCGI_HEADER_LEN || r[0] != FCGI_VERSION_1)
		return FCGIREC_REQUEST;
	id = (unsigned)r[2] << 8 | r[3];
	if (r[1] != FCGI_BEGIN_REQUEST)
		return take(fd, r, lim);
	/* a begin record: 8 bytes of body, the role in the first two */
	if (n < (ssize_t)sizeof(r) || r[4] != 0 || r[5] != 8 || id == 0 ||
	    ((unsigned)r[8] << 8 | r[9]) == FCGI_RESPONDER)
		return FCGIREC_REQUEST;
	/* the connection closes after the answer: its padding can stay */
	if (recv(fd, r, sizeof(r), MSG_WAITALL) != (ssize_t)sizeof(r))
		return FCGIREC_CLOSE;
	header(out, FCGI_END_REQUEST, id, 8);
	memset(out + FCGI_HEADER_LEN, 0, 8);
	out[FCGI_HEADER_LEN + 4] = FCGI_UNKNOWN_ROLE;
	(void)send_all(fd, out, sizeof(out));
	return FCGIREC_CLOSE;
}
