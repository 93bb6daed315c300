/* Routing, query parameters and content negotiation. */
#include <limits.h>
#include <string.h>

#include "http.h"
#include "unit.h"

static struct query q;
static char err[256];

static int
parse(const char *qs)
{
	err[0] = '\0';
	return http_parse_query(qs, 100, 1000, &q, err, sizeof(err));
}

START_TEST(routes)
{
	ck_assert_int_eq(http_route("/", "/"), ROUTE_TABLE);
	ck_assert_int_eq(http_route("/healthz", "/"), ROUTE_HEALTHZ);
	ck_assert_int_eq(http_route("/readyz", "/"), ROUTE_READYZ);
	ck_assert_int_eq(http_route("/healthz/", "/"), ROUTE_NONE);
	ck_assert_int_eq(http_route("/index.html", "/"), ROUTE_NONE);
	ck_assert_int_eq(http_route("", "/"), ROUTE_NONE);
	ck_assert_int_eq(http_route(NULL, "/"), ROUTE_NONE);
}
END_TEST

/* Under a prefix: the same three paths below it, nothing else. */
START_TEST(routes_mounted)
{
	const char *m = "/table/";

	ck_assert_int_eq(http_route("/table/", m), ROUTE_TABLE);
	ck_assert_int_eq(http_route("/table/healthz", m), ROUTE_HEALTHZ);
	ck_assert_int_eq(http_route("/table/readyz", m), ROUTE_READYZ);
	ck_assert_int_eq(http_route("/", m), ROUTE_NONE);
	ck_assert_int_eq(http_route("/healthz", m), ROUTE_NONE);
	ck_assert_int_eq(http_route("/table", m), ROUTE_NONE);
	ck_assert_int_eq(http_route("/tablehealthz", m), ROUTE_NONE);
	ck_assert_int_eq(http_route("/table/table/", m), ROUTE_NONE);
	ck_assert_int_eq(http_route("/other/", m), ROUTE_NONE);
	ck_assert_int_eq(http_route("/a/b/", "/a/b/"), ROUTE_TABLE);
	ck_assert_int_eq(http_route("/a/", "/a/b/"), ROUTE_NONE);
}
END_TEST

static char pbuf[64];

static int
path(const char *sn, const char *pi, const char *uri)
{
	memset(pbuf, 'x', sizeof(pbuf));
	return http_path(sn, pi, uri, pbuf, sizeof(pbuf));
}

/* SCRIPT_NAME + PATH_INFO however a server splits them (docs/service.md). */
START_TEST(paths_cgi)
{
	/* nginx: the whole path in SCRIPT_NAME, REQUEST_URI not used */
	ck_assert_int_eq(path("/healthz", NULL, "/other?x"), 0);
	ck_assert_str_eq(pbuf, "/healthz");
	/* Apache: SCRIPT_NAME alone */
	ck_assert_int_eq(path("/table/", NULL, "/table/?limit=3"), 0);
	ck_assert_str_eq(pbuf, "/table/");
	/* lighttpd at the root: an empty SCRIPT_NAME, the path in PATH_INFO */
	ck_assert_int_eq(path("", "/", "/?limit=3"), 0);
	ck_assert_str_eq(pbuf, "/");
	/* Caddy and h2o: PATH_INFO alone */
	ck_assert_int_eq(path(NULL, "/table/readyz", NULL), 0);
	ck_assert_str_eq(pbuf, "/table/readyz");
	/* a real split: the two joined */
	ck_assert_int_eq(path("/table", "/healthz", "/x"), 0);
	ck_assert_str_eq(pbuf, "/table/healthz");
}
END_TEST

/* REQUEST_URI only where the pair gives nothing; no path is -1. */
START_TEST(paths_fallback)
{
	ck_assert_int_eq(path(NULL, NULL, "/healthz?x=1"), 0);
	ck_assert_str_eq(pbuf, "/healthz");
	ck_assert_int_eq(path("", "", "/table/"), 0);
	ck_assert_str_eq(pbuf, "/table/");
	ck_assert_int_eq(path("", NULL, "/?a?b"), 0);
	ck_assert_str_eq(pbuf, "/");
	ck_assert_int_eq(path(NULL, NULL, NULL), -1);
	ck_assert_int_eq(path("", "", ""), -1);
	ck_assert_int_eq(path(NULL, NULL, "?limit=3"), -1);
}
END_TEST

/* A path that does not fit is -2, with nothing written past the end. */
START_TEST(paths_long)
{
	char sn[sizeof(pbuf) + 1];

	memset(sn, 'a', sizeof(sn) - 1);
	sn[0] = '/';
	sn[sizeof(sn) - 1] = '\0';
	ck_assert_int_eq(path(sn, NULL, NULL), -2);
	sn[sizeof(pbuf) - 1] = '\0'; /* 63 bytes and the NUL fit */
	ck_assert_int_eq(path(sn, NULL, NULL), 0);
	ck_assert_str_eq(pbuf, sn);
	ck_assert_int_eq(path(sn, "/", NULL), -2);
	sn[sizeof(pbuf) - 2] = '\0';
	ck_assert_int_eq(path(sn, "/", NULL), 0);
	ck_assert_int_eq(path(NULL, NULL, sn), 0);
}
END_TEST

START_TEST(methods)
{
	ck_assert_int_eq(http_method_ok("GET"), 0);
	ck_assert_int_eq(http_method_ok("HEAD"), 0);
	ck_assert_int_eq(http_method_ok("POST"), -1);
	ck_assert_int_eq(http_method_ok("get"), -1);
	ck_assert_int_eq(http_method_ok(NULL), -1);
}
END_TEST

START_TEST(defaults)
{
	ck_assert_int_eq(parse(NULL), 0);
	ck_assert_uint_eq(q.limit, 100);
	ck_assert_int_eq(q.has_after, 0);
	ck_assert_int_eq(q.format_given, 0);
	ck_assert_int_eq(parse(""), 0);
	ck_assert_int_eq(parse("&&"), 0);
	ck_assert_uint_eq(q.limit, 100);
}
END_TEST

START_TEST(good_values)
{
	ck_assert_int_eq(parse("limit=5&after=10&format=json"), 0);
	ck_assert_uint_eq(q.limit, 5);
	ck_assert_int_eq(q.has_after, 1);
	ck_assert_int_eq(q.after, 10);
	ck_assert_int_eq(q.format, FORMAT_JSON);
	ck_assert_int_eq(parse("limit=1000"), 0);
	ck_assert_uint_eq(q.limit, 1000);
	ck_assert_int_eq(parse("after=-9223372036854775808"), 0);
	ck_assert(q.after == LLONG_MIN);
	ck_assert_int_eq(parse("after=9223372036854775807&format=html"), 0);
	ck_assert(q.after == LLONG_MAX);
	ck_assert_int_eq(q.format, FORMAT_HTML);
	/* percent-encoding of names and values */
	ck_assert_int_eq(parse("%6cimit=%32%30"), 0);
	ck_assert_uint_eq(q.limit, 20);
}
END_TEST

START_TEST(bad_values)
{
	static const struct {
		const char *qs, *says;
	} cases[] = {
		{"limit=0", "limit must be a whole number from 1 to 1000"},
		{"limit=1001", "limit must be"},
		{"limit=-1", "limit must be"},
		{"limit=+5", "limit must be"},
		{"limit=5x", "limit must be"},
		{"limit=", "limit must be"},
		{"limit", "limit must be"},
		{"limit=99999999999999999999", "limit must be"},
		{"limit=%20%35", "limit must be"},
		{"after=abc", "after must be"},
		{"after=9223372036854775808", "after must be"},
		{"after=1.5", "after must be"},
		{"after=", "after must be"},
		{"format=xml", "format must be html or json"},
		{"format=JSON", "format must be"},
		{"limit=5&limit=6", "limit is given twice"},
		{"after=1&after=1", "after is given twice"},
		{"format=json&format=json", "format is given twice"},
		{"sort=id", "unknown parameter 'sort'"},
		{"limit=%zz", "malformed value for 'limit'"},
		{"limit=%4", "malformed value"},
		{"limit=%", "malformed value"},
		{"li%00mit=5", "malformed parameter name"},
		{"limit=5%00", "malformed value"},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1", "malformed parameter name"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(parse(cases[i].qs) == -1, "%s was accepted",
		    cases[i].qs);
		ck_assert_msg(strstr(err, cases[i].says) != NULL,
		    "%s: message '%s' lacks '%s'", cases[i].qs, err,
		    cases[i].says);
	}
}
END_TEST

START_TEST(long_query)
{
	static char qs[HTTP_QUERY_MAX + 2];

	memset(qs, '&', sizeof(qs) - 1);
	qs[sizeof(qs) - 1] = '\0';
	ck_assert_int_eq(parse(qs), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer than"));
	qs[HTTP_QUERY_MAX] = '\0';
	ck_assert_int_eq(parse(qs), 0);
}
END_TEST

START_TEST(negotiate)
{
	ck_assert_int_eq(http_negotiate(NULL), FORMAT_HTML);
	ck_assert_int_eq(http_negotiate("*/*"), FORMAT_HTML);
	ck_assert_int_eq(http_negotiate("application/json"), FORMAT_JSON);
	ck_assert_int_eq(http_negotiate("Application/JSON"), FORMAT_JSON);
	ck_assert_int_eq(http_negotiate("application/json, */*"),
	    FORMAT_JSON);
	ck_assert_int_eq(http_negotiate("text/html,application/xhtml+xml,"
	    "application/xml;q=0.9,*/*;q=0.8"), FORMAT_HTML);
	ck_assert_int_eq(http_negotiate("text/html, application/json"),
	    FORMAT_HTML);
	ck_assert_int_eq(http_negotiate("text/html;q=0.5, application/json"),
	    FORMAT_JSON);
	ck_assert_int_eq(http_negotiate("application/json;q=0"), FORMAT_HTML);
	ck_assert_int_eq(http_negotiate("application/json; q=0.9, text/*;"
	    "q=0.95"), FORMAT_HTML);
	ck_assert_int_eq(http_negotiate("application/jsonx"), FORMAT_HTML);
	/* the more specific range decides */
	ck_assert_int_eq(http_negotiate("text/*, text/html;q=0, "
	    "application/json;q=0.5"), FORMAT_JSON);
	ck_assert_int_eq(http_negotiate("text/*;q=0.1, application/json;"
	    "q=0.5"), FORMAT_JSON);
	ck_assert_int_eq(http_negotiate(",,;;q=,application/json;q"),
	    FORMAT_JSON);
}
END_TEST

Suite *
suite_http(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, routes);
	tcase_add_test(tc, routes_mounted);
	tcase_add_test(tc, paths_cgi);
	tcase_add_test(tc, paths_fallback);
	tcase_add_test(tc, paths_long);
	tcase_add_test(tc, methods);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, good_values);
	tcase_add_test(tc, bad_values);
	tcase_add_test(tc, long_query);
	tcase_add_test(tc, negotiate);
	suite_add_tcase(s, tc);
	return s;
}
