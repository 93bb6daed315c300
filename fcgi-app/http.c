#include "http.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int
http_path(const char *script_name, const char *path_info,
    const char *request_uri, char *dst, size_t cap)
{
	const char *sn = script_name != NULL ? script_name : "";
	const char *pi = path_info != NULL ? path_info : "";
	size_t a = strlen(sn), b = strlen(pi);

	if (a + b == 0 && request_uri != NULL && request_uri[0] != '\0') {
		sn = request_uri;
		a = strcspn(request_uri, "?");
	}
	if (a + b == 0)
		return -1;
	if (a + b >= cap)
		return -2;
	memcpy(dst, sn, a);
	memcpy(dst + a, pi, b);
	dst[a + b] = '\0';
	return 0;
}

enum route
http_route(const char *path, const char *mount)
{
	size_t m = strlen(mount);

	/* the rest keeps the mount's last '/' */
	if (path == NULL || m == 0 || strncmp(path, mount, m) != 0)
		return ROUTE_NONE;
	path += m - 1;
	if (strcmp(path, "/") == 0)
		return ROUTE_TABLE;
	if (strcmp(path, "/healthz") == 0)
		return ROUTE_HEALTHZ;
	if (strcmp(path, "/readyz") == 0)
		return ROUTE_READYZ;
	return ROUTE_NONE;
}

int
http_method_ok(const char *method)
{
	if (method != NULL &&
	    (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0))
		return 0;
	return -1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes p[0..n) (percent-encoding, '+' as space) into dst, which holds
 * cap - 1 bytes and a NUL.  Returns 0, -1 for bad encoding or a NUL
 * byte, -2 if it does not fit.
 */
static int
decode(const char *p, size_t n, char *dst, size_t cap)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)p[i];

		if (c == '%') {
			int hi, lo;

			if (n - i < 3)
				return -1;
			hi = hexval(p[i + 1]);
			lo = hexval(p[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
			if (c == 0)
				return -1;
		} else if (c == '+') {
			c = ' ';
		}
		if (k + 1 >= cap)
			return -2;
		dst[k++] = (char)c;
	}
	dst[k] = '\0';
	return 0;
}

static int
parse_limit(const char *v, unsigned max, unsigned *out)
{
	unsigned long x;
	char *end;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || x < 1 || x > max)
		return -1;
	*out = (unsigned)x;
	return 0;
}

static int
parse_key(const char *v, long long *out)
{
	const char *d = *v == '-' ? v + 1 : v;
	long long x;
	char *end;

	if (*d < '0' || *d > '9')
		return -1;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = x;
	return 0;
}

int
http_parse_query(const char *qs, unsigned default_limit, unsigned max_limit,
    struct query *q, char *err, size_t errlen)
{
	char name[HTTP_NAME_MAX + 1], value[HTTP_VALUE_MAX + 1];
	int seen_limit = 0;
	const char *p, *amp, *eq;
	size_t len;

	memset(q, 0, sizeof(*q));
	q->format = FORMAT_HTML;
	q->limit = default_limit;
	if (qs == NULL)
		return 0;
	if (strlen(qs) > HTTP_QUERY_MAX) {
		snprintf(err, errlen, "query string longer than %d bytes",
		    HTTP_QUERY_MAX);
		return -1;
	}
	for (p = qs; *p != '\0'; p = *amp == '\0' ? amp : amp + 1) {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		len = (size_t)(amp - p);
		if (len == 0)
			continue; /* "a=1&&b=2" and a trailing '&' */
		eq = memchr(p, '=', len);
		if (decode(p, eq != NULL ? (size_t)(eq - p) : len, name,
		    sizeof(name)) != 0) {
			snprintf(err, errlen, "malformed parameter name "
			    "(bad percent-encoding, NUL, or over %d bytes)",
			    HTTP_NAME_MAX);
			return -1;
		}
		value[0] = '\0';
		if (eq != NULL && decode(eq + 1, (size_t)(amp - eq - 1), value,
		    sizeof(value)) != 0) {
			snprintf(err, errlen, "malformed value for '%s' (bad "
			    "percent-encoding, NUL, or over %d bytes)", name,
			    HTTP_VALUE_MAX);
			return -1;
		}
		if (strcmp(name, "limit") == 0) {
			if (seen_limit++) {
				snprintf(err, errlen, "limit is given twice");
				return -1;
			}
			if (parse_limit(value, max_limit, &q->limit) != 0) {
				snprintf(err, errlen, "limit must be a whole "
				    "number from 1 to %u", max_limit);
				return -1;
			}
		} else if (strcmp(name, "after") == 0) {
			if (q->has_after++) {
				snprintf(err, errlen, "after is given twice");
				return -1;
			}
			if (parse_key(value, &q->after) != 0) {
				snprintf(err, errlen, "after must be a whole "
				    "number from %lld to %lld (the key of the "
				    "last row seen)", LLONG_MIN, LLONG_MAX);
				return -1;
			}
		} else if (strcmp(name, "format") == 0) {
			if (q->format_given++) {
				snprintf(err, errlen, "format is given twice");
				return -1;
			}
			if (strcmp(value, "html") == 0) {
				q->format = FORMAT_HTML;
			} else if (strcmp(value, "json") == 0) {
				q->format = FORMAT_JSON;
			} else {
				snprintf(err, errlen, "format must be html or "
				    "json");
				return -1;
			}
		} else {
			snprintf(err, errlen, "unknown parameter '%s' (known: "
			    "limit, after, format)", name);
			return -1;
		}
	}
	return 0;
}

/* q as thousandths, from "q=0.5"; 1000 when absent or malformed. */
static int
qvalue(const char *params, size_t n)
{
	const char *p = params, *end = params + n;
	int q = 1000, scale = 100;

	while (p < end) {
		while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
			p++;
		if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
			p += 2;
			if (p < end && *p == '0') {
				q = 0;
				p++;
				if (p < end && *p == '.')
					for (p++; p < end && *p >= '0' &&
					    *p <= '9' && scale > 0; p++) {
						q += (*p - '0') * scale;
						scale /= 10;
					}
			}
			return q;
		}
		while (p < end && *p != ';')
			p++;
	}
	return q;
}

/* Nonzero if the media range b..e is type, ignoring case. */
static int
range_is(const char *b, const char *e, const char *type)
{
	size_t n = strlen(type);

	return (size_t)(e - b) == n && strncasecmp(b, type, n) == 0;
}

enum format
http_negotiate(const char *accept)
{
	int q_json = -1, q_html = -1, q_text = -1, *q;
	const char *p = accept, *comma, *semi, *b, *e;

	if (accept == NULL)
		return FORMAT_HTML;
	while (*p != '\0') {
		comma = strchr(p, ',');
		if (comma == NULL)
			comma = p + strlen(p);
		semi = memchr(p, ';', (size_t)(comma - p));
		if (semi == NULL)
			semi = comma;
		for (b = p; b < semi && (*b == ' ' || *b == '\t'); b++)
			;
		for (e = semi; e > b && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		q = range_is(b, e, "application/json") ? &q_json
		  : range_is(b, e, "text/html")      ? &q_html
		  : range_is(b, e, "text/*")         ? &q_text
						     : NULL;
		if (q != NULL)
			*q = qvalue(semi, (size_t)(comma - semi));
		p = *comma == '\0' ? comma : comma + 1;
	}
	/* the more specific range decides, as in RFC 9110 */
	if (q_html < 0)
		q_html = q_text;
	return q_json > 0 && q_json > q_html ? FORMAT_JSON : FORMAT_HTML;
}

int
http_query_format(const char *qs, enum format *fmt)
{
	char value[HTTP_VALUE_MAX + 1];
	const char *p, *amp;
	size_t len;

	if (qs == NULL || strlen(qs) > HTTP_QUERY_MAX)
		return 0;
	for (p = qs; *p != '\0'; p = *amp == '\0' ? amp : amp + 1) {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		len = (size_t)(amp - p);
		if (len < 7 || memcmp(p, "format=", 7) != 0 ||
		    decode(p + 7, len - 7, value, sizeof(value)) != 0)
			continue;
		if (strcmp(value, "json") == 0 || strcmp(value, "html") == 0) {
			*fmt = value[0] == 'j' ? FORMAT_JSON : FORMAT_HTML;
			return 1;
		}
	}
	return 0;
}
