/*
 * The request's parameters: http_parse_query, and from the same input
 * http_negotiate, http_route and http_method_ok.
 *
 * The input is up to four NUL-separated fields: the query string, the
 * Accept header, the path and the method; a missing field is NULL.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "http.h"

#define ERR_LEN 256
#define NFIELDS 4

struct limits {
	unsigned def, max;
};

/* the service's defaults, and the widest and narrowest settings */
static const struct limits narrow = {1, 1}, usual = {100, 1000},
			   wide = {1, 100000};

/* Nonzero if s contains word, ignoring ASCII case. */
static int
has_word(const char *s, const char *word)
{
	size_t k = strlen(word);

	for (; *s != '\0'; s++)
		if (strncasecmp(s, word, k) == 0)
			return 1;
	return 0;
}

/* Checks the message of a failed parse: there, terminated, non-empty. */
static void
check_err(const char *err, size_t errlen)
{
	FUZZ_CHECK(memchr(err, '\0', errlen) != NULL);
	FUZZ_CHECK(err[0] != '\0');
	FUZZ_CHECK(strlen(err) < errlen);
}

/*
 * Parses qs with lim; checks what any result must hold.  Returns the
 * parser's answer.  A message cut short by a small errlen must be the
 * start of the whole one.
 */
static int
parse(const char *qs, const struct limits *lim, size_t small, struct query *q)
{
	char err[ERR_LEN];
	char *cut;
	struct query q2;
	int rc, rc2;

	memset(err, 0xA5, sizeof(err));
	rc = http_parse_query(qs, lim->def, lim->max, q, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		FUZZ_CHECK(q->limit >= 1 && q->limit <= lim->max);
		FUZZ_CHECK(q->format == FORMAT_HTML || q->format == FORMAT_JSON);
		FUZZ_CHECK(q->format_given == 0 || q->format_given == 1);
		FUZZ_CHECK(q->has_after == 0 || q->has_after == 1);
		FUZZ_CHECK(q->format_given || q->format == FORMAT_HTML);
		FUZZ_CHECK(q->has_after || q->after == 0);
		return rc;
	}
	check_err(err, sizeof(err));
	/* exactly small bytes, so that ASan sees a write past them */
	cut = malloc(small);
	FUZZ_CHECK(cut != NULL);
	rc2 = http_parse_query(qs, lim->def, lim->max, &q2, cut, small);
	FUZZ_CHECK(rc2 == -1);
	check_err(cut, small);
	FUZZ_CHECK(strncmp(cut, err, strlen(cut)) == 0);
	free(cut);
	return rc;
}

/* A parameter the raw string does not name cannot have been given. */
static void
check_absent(const char *qs, const struct limits *lim, const struct query *q)
{
	if (strchr(qs, '%') != NULL)
		return; /* the name may be percent-encoded */
	if (strstr(qs, "limit") == NULL)
		FUZZ_CHECK(q->limit == lim->def);
	if (strstr(qs, "after") == NULL)
		FUZZ_CHECK(!q->has_after);
	if (strstr(qs, "format") == NULL)
		FUZZ_CHECK(!q->format_given);
}

/*
 * The link a page gives to its next page is built from these fields;
 * it must parse back to the same query.
 */
static void
check_link(const struct query *q, const struct limits *lim)
{
	char link[128];
	struct query back;
	int n;
	const char *fmt = q->format == FORMAT_JSON ? "format=json&" : "";

	if (q->has_after)
		n = snprintf(link, sizeof(link), "%slimit=%u&after=%lld", fmt,
		    q->limit, q->after);
	else
		n = snprintf(link, sizeof(link), "%slimit=%u", fmt, q->limit);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(link));
	FUZZ_CHECK(parse(link, lim, ERR_LEN, &back) == 0);
	FUZZ_CHECK(back.limit == q->limit);
	FUZZ_CHECK(back.format == q->format);
	FUZZ_CHECK(back.has_after == q->has_after);
	FUZZ_CHECK(back.after == q->after);
}

static int
same_query(const struct query *a, const struct query *b)
{
	return a->format == b->format && a->format_given == b->format_given &&
	    a->limit == b->limit && a->has_after == b->has_after &&
	    a->after == b->after;
}

/*
 * Parses qs rewritten in a way that must not change what it asks for:
 * percent-encoding every byte but & = and + (in a query without %),
 * or the parameters in the opposite order.  The rewrite fits in
 * HTTP_QUERY_MAX, or it is not made.
 */
static void
check_rewritten(const char *qs, int ra, const struct query *a)
{
	static const char hex[] = "0123456789ABCDEF";
	char buf[HTTP_QUERY_MAX + 1], err[ERR_LEN];
	size_t len = strlen(qs), k = 0, i, end;
	struct query r;

	if (strchr(qs, '%') == NULL && 3 * len <= HTTP_QUERY_MAX) {
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)qs[i];

			if (c == '&' || c == '=' || c == '+') {
				buf[k++] = (char)c;
				continue;
			}
			buf[k++] = '%';
			buf[k++] = hex[c >> 4];
			buf[k++] = hex[c & 15];
		}
		buf[k] = '\0';
		FUZZ_CHECK(http_parse_query(buf, usual.def, usual.max, &r, err,
		    sizeof(err)) == ra);
		FUZZ_CHECK(ra != 0 || same_query(a, &r));
	}
	if (len > HTTP_QUERY_MAX)
		return;
	/* the pairs from last to first, each followed by & */
	k = 0;
	for (end = len; end > 0; end = i > 0 ? i - 1 : 0) {
		for (i = end; i > 0 && qs[i - 1] != '&'; i--)
			;
		memcpy(buf + k, qs + i, end - i);
		k += end - i;
		buf[k++] = '&';
		if (i == 0)
			break;
	}
	buf[k > 0 ? k - 1 : 0] = '\0';
	FUZZ_CHECK(http_parse_query(buf, usual.def, usual.max, &r, err,
	    sizeof(err)) == 0 ? ra == 0 && same_query(a, &r) : ra != 0);
}

static void
check_query(const char *qs, size_t small)
{
	struct query a, b, c;
	int ra, rb, rc;

	ra = parse(qs, &usual, small, &a);
	rb = parse(qs, &wide, small, &b);
	rc = parse(qs, &narrow, small, &c);
	if (strlen(qs) > HTTP_QUERY_MAX)
		FUZZ_CHECK(ra == -1 && rb == -1 && rc == -1);
	/* a wider max-limit accepts all that a narrower one does */
	if (ra == 0) {
		FUZZ_CHECK(rb == 0);
		FUZZ_CHECK(b.format == a.format && b.after == a.after);
		FUZZ_CHECK(b.format_given == a.format_given);
		FUZZ_CHECK(b.has_after == a.has_after);
		FUZZ_CHECK(b.limit == a.limit ||
		    (a.limit == usual.def && b.limit == wide.def));
		check_absent(qs, &usual, &a);
		check_link(&a, &usual);
	}
	if (rb == 0 && b.limit <= usual.max)
		FUZZ_CHECK(ra == 0);
	if (rc == 0)
		FUZZ_CHECK(ra == 0 && c.limit == 1);
	check_rewritten(qs, ra, &a);
}

static void
check_accept(const char *accept)
{
	enum format f = http_negotiate(accept);

	FUZZ_CHECK(f == FORMAT_HTML || f == FORMAT_JSON);
	if (f == FORMAT_JSON)
		FUZZ_CHECK(accept != NULL && has_word(accept, "application/json"));
}

static void
check_path(const char *path)
{
	enum route r = http_route(path, "/");
	enum route m = http_route(path, "/t/");
	char joined[HTTP_PATH_MAX];

	FUZZ_CHECK(r == ROUTE_TABLE || r == ROUTE_HEALTHZ ||
	    r == ROUTE_READYZ || r == ROUTE_NONE);
	FUZZ_CHECK((r == ROUTE_TABLE) == (path != NULL && strcmp(path, "/") == 0));
	if (r != ROUTE_NONE)
		FUZZ_CHECK(path != NULL && path[0] == '/');
	/* under a mount, only the paths below it, as at the root */
	if (m != ROUTE_NONE)
		FUZZ_CHECK(path != NULL && strncmp(path, "/t/", 3) == 0 &&
		    http_route(path + 2, "/") == m);
	/* the path as SCRIPT_NAME, as PATH_INFO or as REQUEST_URI: the same */
	if (path != NULL && path[0] != '\0' && strchr(path, '?') == NULL &&
	    http_path(path, NULL, NULL, joined, sizeof(joined)) == 0) {
		FUZZ_CHECK(strcmp(joined, path) == 0);
		FUZZ_CHECK(http_path("", path, "/x", joined,
		    sizeof(joined)) == 0 && strcmp(joined, path) == 0);
		FUZZ_CHECK(http_path(NULL, NULL, path, joined,
		    sizeof(joined)) == 0 && strcmp(joined, path) == 0);
	}
}

static void
check_method(const char *method)
{
	int ok = http_method_ok(method);

	FUZZ_CHECK(ok == 0 || ok == -1);
	FUZZ_CHECK((ok == 0) == (method != NULL && (strcmp(method, "GET") == 0 ||
	    strcmp(method, "HEAD") == 0)));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	const char *field[NFIELDS] = {NULL, NULL, NULL, NULL};
	size_t i, nf = 0, start = 0;
	struct query q;
	char err[ERR_LEN];

	FUZZ_CHECK(buf != NULL);
	if (size > 0)
		memcpy(buf, data, size);
	buf[size] = '\0';
	for (i = 0; i <= size && nf < NFIELDS; i++) {
		if (buf[i] == '\0') {
			field[nf++] = buf + start;
			start = i + 1;
		}
	}
	/* a short errlen, from 2 (one byte and the NUL) up */
	check_query(field[0], 2 + size % 48);
	FUZZ_CHECK(http_parse_query(NULL, usual.def, usual.max, &q, err,
	    sizeof(err)) == 0 && q.limit == usual.def && !q.has_after);
	check_accept(field[1]);
	check_accept(field[0]);
	check_path(field[2]);
	check_path(field[0]);
	check_method(field[3]);
	check_method(field[0]);
	free(buf);
	return 0;
}
