/*
 * app.c over the fake database (tests/fuzz/fake_db.c): every status the
 * program answers, HEAD, 405 with Allow, the clean 503 or 500 when a
 * page fails before any of it went out, and the notice when it fails
 * after.  Answers are parsed: the status line, the headers, the body.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "drain.h"
#include "fake_db.h"
#include "fuzz.h"
#include "unit.h"

/* The encoded table the fake serves (see fake_db_new). */
static uint8_t tbl[4096];
static size_t tlen;
static struct config cfg;
static struct hostinfo host;
static struct app app;
static struct db *db;
static int waits; /* the fake answers each call after one DB_WAIT */
static struct out o;
static struct mem m;

/* One answer, parsed. */
struct answer {
	int status;
	char headers[2048]; /* "name: value\n" lines, names lower-case */
	const char *body;
	size_t body_len;
};

static void
put(uint8_t b)
{
	ck_assert_uint_lt(tlen, sizeof(tbl));
	tbl[tlen++] = b;
}

static void
put_text(const char *s)
{
	put((uint8_t)strlen(s));
	while (*s != '\0')
		put((uint8_t)*s++);
}

/* Two columns: id (numeric, a JSON number) and name. */
static void
table_begin(void)
{
	tlen = 0;
	put(2);
	put(0x80 | 0x40 | 2);
	tbl[tlen++] = 'i';
	tbl[tlen++] = 'd';
	put(4);
	memcpy(tbl + tlen, "name", 4);
	tlen += 4;
}

/* A row with key 0 to 150 and a name in one chunk. */
static void
table_row(int key, const char *name)
{
	char k[8];

	snprintf(k, sizeof(k), "%d", key);
	put(4);                 /* a row follows */
	put((uint8_t)(key + 100));
	put(2);                 /* id: a value in one chunk */
	put_text(k);
	put(2);                 /* name: a value in one chunk */
	put_text(name);
}

/* A row whose name is four chunks of 4064 bytes of 'x'. */
static void
table_big_row(int key)
{
	char k[8];
	int i;

	snprintf(k, sizeof(k), "%d", key);
	put(4);
	put((uint8_t)(key + 100));
	put(2);
	put_text(k);
	put(2 | 3 << 3);        /* four chunks */
	for (i = 0; i < 4; i++) {
		put(0x80 | 127);  /* a run of 127 * 32 bytes */
		put('x');
	}
}

/* How the rows end: DB_END, DB_ERROR, DB_DOWN or DB_SLOW. */
static void
table_end(enum db_rc rc)
{
	put(rc == DB_END ? 0 : rc == DB_ERROR ? 1 : rc == DB_DOWN ? 2 : 3);
}

static void
table_open(void)
{
	struct reader r = {tbl, tlen, 0};

	db = fake_db_new(&r);
	ck_assert_ptr_nonnull(db);
	fake_db_waits(db, waits);
}

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.table, "demo");
	strcpy(cfg.key, "id");
	strcpy(cfg.mount, "/");
	cfg.default_limit = 10;
	cfg.max_limit = 100;
	cfg.retry_after = 7;
	memset(&host, 0, sizeof(host));
	strcpy(host.hostname, "web-1");
	app.cfg = &cfg;
	app.host = &host;
	table_begin();
	table_row(1, "one");
	table_row(2, "two");
	table_row(3, "three");
	table_end(DB_END);
	table_open();
}

static void
teardown(void)
{
	fake_db_free(db);
	db = NULL;
}

/* Splits what app_begin and app_finish wrote into status, headers and body. */
static void
parse(const char *text, size_t len, struct answer *a)
{
	const char *p = text, *end = text + len, *eol, *colon;
	size_t hl = 0, i;

	memset(a, 0, sizeof(*a));
	ck_assert_msg(strncmp(p, "Status: ", 8) == 0, "no status: %s", p);
	a->status = (int)strtol(p + 8, NULL, 10);
	for (;;) {
		eol = strstr(p, "\r\n");
		ck_assert_ptr_nonnull(eol);
		if (eol == p)
			break;
		colon = memchr(p, ':', (size_t)(eol - p));
		ck_assert_ptr_nonnull(colon);
		for (i = 0; p + i < colon; i++) {
			ck_assert_uint_lt(hl, sizeof(a->headers) - 2);
			a->headers[hl++] = (char)(p[i] >= 'A' && p[i] <= 'Z' ?
			    p[i] + 32 : p[i]);
		}
		for (p = colon + 1; *p == ' '; p++)
			;
		a->headers[hl++] = ':';
		for (; p < eol; p++) {
			ck_assert_uint_lt(hl, sizeof(a->headers) - 2);
			a->headers[hl++] = *p;
		}
		a->headers[hl++] = '\n';
		p = eol + 2;
	}
	a->headers[hl] = '\0';
	a->body = eol + 2;
	a->body_len = (size_t)(end - a->body);
}

/* The value of header name (lower case), or NULL; in a static buffer. */
static const char *
header(const struct answer *a, const char *name)
{
	static char v[512];
	char key[64];
	const char *p, *nl;

	snprintf(key, sizeof(key), "%s:", name);
	for (p = a->headers; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (strncmp(p, key, strlen(key)) == 0) {
			snprintf(v, sizeof(v), "%.*s", (int)(nl - p -
			    (long)strlen(key)), p + strlen(key));
			return v;
		}
	}
	return NULL;
}

/* The text of the element with id="id" in an HTML body, or NULL. */
static const char *
html_id(const struct answer *a, const char *id)
{
	static char v[512];
	char attr[64];
	const char *p, *gt, *lt;

	snprintf(attr, sizeof(attr), " id=\"%s\"", id);
	p = strstr(a->body, attr);
	if (p == NULL)
		return NULL;
	gt = strchr(p, '>');
	lt = gt != NULL ? strchr(gt, '<') : NULL;
	ck_assert_ptr_nonnull(lt);
	snprintf(v, sizeof(v), "%.*s", (int)(lt - gt - 1), gt + 1);
	return v;
}

/* The text of top-level member name of a JSON body, or NULL. */
static const char *
json_member(const struct answer *a, const char *name)
{
	static char v[512];
	const char *names[1] = {name};
	struct json_span f[1];

	ck_assert_msg(json_find(a->body, a->body_len, names, 1, f),
	    "not JSON: %s", a->body);
	if (f[0].len == 0)
		return NULL;
	snprintf(v, sizeof(v), "%.*s", (int)f[0].len, a->body + f[0].off);
	return v;
}

/* What app_finish returned last: 0, or -1 for an answer cut off. */
static int handled;

/* Runs a database call as the serving core does: resumed until it ends. */
static enum db_rc
finish_call(enum db_rc rc)
{
	struct db_wait w;
	int i;

	for (i = 0; rc == DB_WAIT; i++) {
		ck_assert_int_lt(i, 4);
		db_wait_of(db, &w);
		ck_assert_int_eq(w.fd, -1);
		ck_assert(w.deadline_ms != 0);
		rc = db_resume(db, DB_WAIT_TIMEOUT);
	}
	return rc;
}

/*
 * The serving core's part: app_begin, then the call it plans on a
 * connection (connected first if it was lost), then app_finish with
 * the call's answer; the rows only with DB_OK.
 */
static void
handle(const struct app_request *req)
{
	struct app_plan plan;
	enum app_need need;
	enum db_rc rc;

	handled = 0;
	need = app_begin(&app, req, &o, &plan);
	ck_assert_int_eq(need, plan.need);
	if (need == APP_ANSWERED)
		return;
	if (!db_is_ready(db))
		ck_assert_int_eq(finish_call(db_connect_start(db)), DB_OK);
	rc = finish_call(need == APP_PING ? db_ping_start(db) :
	    db_page_start(db, plan.from, plan.nrows));
	handled = app_finish(&app, &plan, rc == DB_OK ? db : NULL, rc, &o);
	/* the rows are freed: the connection takes the next call */
	ck_assert(db_is_ready(db) || db_is_closed(db));
}

/* A request with its path in SCRIPT_NAME, PATH_INFO and REQUEST_URI. */
static void
ask_cgi(const char *method, const char *script_name, const char *path_info,
    const char *request_uri, const char *query, struct answer *a)
{
	struct app_request req = {method, script_name, path_info, request_uri,
	    query, NULL};
	const char *text;

	mem_open(&o, &m);
	handle(&req);
	text = mem_str(&o, &m);
	parse(text, m.len, a);
}

/* A request as nginx sends it: the whole path in SCRIPT_NAME. */
static void
ask(const char *method, const char *path, const char *query,
    const char *accept, struct answer *a)
{
	struct app_request req = {method, path, NULL, path, query, accept};
	const char *text;

	mem_open(&o, &m);
	handle(&req);
	text = mem_str(&o, &m);
	parse(text, m.len, a);
}

START_TEST(table_as_html_and_json)
{
	struct answer a;

	ask("GET", "/", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(header(&a, "content-type"), "text/html; charset=utf-8");
	ck_assert_str_eq(header(&a, "vary"), "Accept");
	ck_assert_ptr_null(header(&a, "retry-after"));
	ck_assert_str_eq(html_id(&a, "count"), "3 rows");
	ask("GET", "/", "format=json", NULL, &a);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(header(&a, "content-type"),
	    "application/json; charset=utf-8");
	ck_assert_str_eq(json_member(&a, "count"), "3");
	ask("GET", "/", NULL, "application/json", &a);
	ck_assert_str_eq(json_member(&a, "count"), "3");
	ck_assert_uint_eq(fake_db_calls(db)->closes, 3);
	/* with waits, each page query was resumed once */
	ck_assert_uint_eq(fake_db_calls(db)->resumes, waits ? 3 : 0);
}
END_TEST

START_TEST(the_page_asks_for_one_row_more_than_it_shows)
{
	struct answer a;

	ask("GET", "/", "limit=2&after=5", NULL, &a);
	ck_assert_int_eq(a.status, 200);
	ck_assert_int_eq(fake_db_calls(db)->from, 6);
	ck_assert_uint_eq(fake_db_calls(db)->nrows, 3);
	ck_assert_str_eq(html_id(&a, "count"), "2 rows");
	ask("GET", "/", "after=9223372036854775807", NULL, &a);
	ck_assert_uint_eq(fake_db_calls(db)->nrows, 0); /* none can follow */
	ask("GET", "/", NULL, NULL, &a);
	ck_assert_int_eq(fake_db_calls(db)->from, LLONG_MIN);
	ck_assert_uint_eq(fake_db_calls(db)->nrows, 11);
}
END_TEST

START_TEST(head_sends_the_headers_only)
{
	struct answer a;

	ask("HEAD", "/", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(header(&a, "content-type"), "text/html; charset=utf-8");
	ck_assert_uint_eq(a.body_len, 0);
	ask("HEAD", "/", "format=json", NULL, &a);
	ck_assert_str_eq(header(&a, "content-type"),
	    "application/json; charset=utf-8");
	ck_assert_uint_eq(a.body_len, 0);
	ask("HEAD", "/nope", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 404);
	ck_assert_uint_eq(a.body_len, 0);
	ask("HEAD", "/healthz", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 200);
	ck_assert_uint_eq(a.body_len, 0);
	fake_db_answer(db, DB_DOWN, DB_OK);
	ask("HEAD", "/", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 503);
	ck_assert_str_eq(header(&a, "retry-after"), "7");
	ck_assert_uint_eq(a.body_len, 0);
}
END_TEST

START_TEST(bad_parameters_get_400)
{
	struct answer a;

	ask("GET", "/", "limit=abc", NULL, &a);
	ck_assert_int_eq(a.status, 400);
	ck_assert_ptr_nonnull(strstr(html_id(&a, "error"), "limit"));
	ask("GET", "/", "limit=0x10", "application/json", &a);
	ck_assert_int_eq(a.status, 400);
	ck_assert_str_eq(json_member(&a, "status"), "400");
	ck_assert_uint_eq(fake_db_calls(db)->opens, 0);
}
END_TEST

START_TEST(unknown_path_gets_404)
{
	struct answer a;

	ask("GET", "/nope", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 404);
	ck_assert_str_eq(header(&a, "content-type"), "text/html; charset=utf-8");
	ck_assert_ptr_nonnull(html_id(&a, "error"));
	ask("GET", "/nope", NULL, "application/json", &a);
	ck_assert_str_eq(json_member(&a, "status"), "404");
}
END_TEST

START_TEST(other_methods_get_405_with_allow)
{
	static const char *const methods[] = {"POST", "PUT", "DELETE", "get",
	    NULL};
	struct answer a;
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		ask(methods[i], "/", NULL, NULL, &a);
		ck_assert_int_eq(a.status, 405);
		ck_assert_str_eq(header(&a, "allow"), "GET, HEAD");
		ck_assert_ptr_nonnull(html_id(&a, "error"));
	}
	ask("POST", "/healthz", NULL, "application/json", &a);
	ck_assert_int_eq(a.status, 405);
	ck_assert_str_eq(header(&a, "allow"), "GET, HEAD");
	ck_assert_str_eq(json_member(&a, "status"), "405");
	ck_assert_uint_eq(fake_db_calls(db)->opens, 0);
}
END_TEST

START_TEST(database_down_or_slow_gets_503_and_other_errors_500)
{
	static const enum db_rc rcs[] = {DB_DOWN, DB_SLOW, DB_ERROR};
	struct answer a;
	size_t i;

	for (i = 0; i < sizeof(rcs) / sizeof(rcs[0]); i++) {
		int want = rcs[i] == DB_ERROR ? 500 : 503;

		fake_db_answer(db, rcs[i], DB_OK);
		ask("GET", "/", NULL, NULL, &a);
		ck_assert_int_eq(a.status, want);
		ck_assert_ptr_null(html_id(&a, "rows"));
		ask("GET", "/", "format=json", NULL, &a);
		ck_assert_int_eq(a.status, want);
		ck_assert_str_eq(json_member(&a, "status"),
		    want == 500 ? "500" : "503");
		if (want == 503) {
			ck_assert_str_eq(header(&a, "retry-after"), "7");
			ck_assert_ptr_nonnull(strstr(json_member(&a, "error"),
			    "unavailable"));
		} else {
			ck_assert_ptr_null(header(&a, "retry-after"));
		}
	}
}
END_TEST

/* Every connection stayed busy for db-wait-ms: 503, in other words. */
START_TEST(a_busy_pool_gets_503_busy)
{
	struct app_request req = {"GET", "/", NULL, "/", "format=json", NULL};
	struct app_plan plan;
	struct answer a;
	const char *text;

	mem_open(&o, &m);
	ck_assert_int_eq(app_begin(&app, &req, &o, &plan), APP_PAGE);
	ck_assert_int_eq(app_finish(&app, &plan, NULL, DB_BUSY, &o), 0);
	text = mem_str(&o, &m);
	parse(text, m.len, &a);
	ck_assert_int_eq(a.status, 503);
	ck_assert_str_eq(header(&a, "retry-after"), "7");
	ck_assert_str_eq(json_member(&a, "status"), "503");
	ck_assert_ptr_nonnull(strstr(json_member(&a, "error"), "busy"));
	ck_assert_uint_eq(fake_db_calls(db)->opens, 0);
	/* and a ping that found no connection in time: not ready */
	req.script_name = req.request_uri = "/readyz";
	mem_open(&o, &m);
	ck_assert_int_eq(app_begin(&app, &req, &o, &plan), APP_PING);
	ck_assert_int_eq(app_finish(&app, &plan, NULL, DB_BUSY, &o), 0);
	text = mem_str(&o, &m);
	parse(text, m.len, &a);
	ck_assert_int_eq(a.status, 503);
	ck_assert_ptr_nonnull(html_id(&a, "error"));
}
END_TEST

/* A lost connection is made anew before the next page, which is served. */
START_TEST(a_page_after_a_lost_connection)
{
	struct answer a;

	fake_db_answer(db, DB_DOWN, DB_OK);
	ask("GET", "/", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 503);
	ck_assert(db_is_closed(db));
	fake_db_answer(db, DB_OK, DB_OK);
	ask("GET", "/", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(html_id(&a, "count"), "3 rows");
	ck_assert_uint_eq(fake_db_calls(db)->connects, 1);
}
END_TEST

/* Rows that fail while the whole page is still in the buffer. */
static void
fail_early(enum db_rc rc)
{
	table_begin();
	table_row(1, "one");
	table_row(2, "two");
	table_end(rc);
	fake_db_free(db);
	table_open();
}

START_TEST(failure_before_the_first_flush_is_a_clean_error)
{
	static const enum db_rc rcs[] = {DB_DOWN, DB_SLOW, DB_ERROR};
	struct answer a;
	size_t i;

	for (i = 0; i < sizeof(rcs) / sizeof(rcs[0]); i++) {
		int want = rcs[i] == DB_ERROR ? 500 : 503;

		fail_early(rcs[i]);
		ask("GET", "/", NULL, NULL, &a);
		ck_assert_int_eq(a.status, want);
		ck_assert_ptr_null(html_id(&a, "rows")); /* no table at all */
		ck_assert_ptr_null(html_id(&a, "count"));
		ck_assert_ptr_nonnull(html_id(&a, "error"));
		ck_assert_ptr_null(strstr(html_id(&a, "error"), "incomplete"));
		ck_assert_uint_eq(count_of(a.body, "Status:"), 0);
		ask("GET", "/", "format=json", NULL, &a);
		ck_assert_int_eq(a.status, want);
		ck_assert_ptr_null(json_member(&a, "rows"));
		ck_assert_str_eq(json_member(&a, "status"),
		    want == 500 ? "500" : "503");
		ck_assert_uint_eq(fake_db_calls(db)->closes, 2);
	}
}
END_TEST

START_TEST(failure_after_the_first_flush_is_cut_off)
{
	struct answer a;
	const char *names[1] = {"rows"};
	struct json_span f[1];

	table_begin();
	table_big_row(1);
	table_big_row(2);
	table_end(DB_DOWN);
	fake_db_free(db);
	table_open();
	ask("GET", "/", NULL, NULL, &a);
	ck_assert_uint_gt(m.calls, 1); /* some of it went out first */
	ck_assert_int_eq(handled, -1); /* the caller must cut it off */
	ck_assert_int_eq(a.status, 200);
	ck_assert_ptr_null(html_id(&a, "count"));
	ck_assert_ptr_null(html_id(&a, "error"));
	ck_assert_uint_eq(count_of(a.body, "</html>"), 0);
	ask("GET", "/", "format=json", NULL, &a);
	ck_assert_int_eq(handled, -1);
	ck_assert_int_eq(a.status, 200);
	/* unfinished: no parser takes it for a whole answer */
	ck_assert(!json_find(a.body, a.body_len, names, 1, f));
	/* a whole page and an error answer are not cut off */
	fake_db_free(db);
	setup();
	ask("GET", "/", NULL, NULL, &a);
	ck_assert_int_eq(handled, 0);
	ask("GET", "/", "limit=0", NULL, &a);
	ck_assert_int_eq(handled, 0);
	ck_assert_int_eq(a.status, 400);
}
END_TEST

START_TEST(errors_follow_the_format_asked_for)
{
	static const char *const queries[] = {"format=json&limit=0",
	    "limit=0&format=json", "format=json&bogus=1", "format=json&limit=1&limit=2",
	    "limit=abc&format=%6Ason"};
	struct answer a;
	size_t i;

	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		ask("GET", "/", queries[i], "*/*", &a);
		ck_assert_int_eq(a.status, 400);
		ck_assert_str_eq(header(&a, "content-type"),
		    "application/json; charset=utf-8");
		ck_assert_str_eq(json_member(&a, "status"), "400");
		/* the query chose the format, not Accept */
		ck_assert_ptr_null(header(&a, "vary"));
	}
	/* format=html wins over an Accept that prefers JSON */
	ask("GET", "/", "format=html&limit=0", "application/json", &a);
	ck_assert_str_eq(header(&a, "content-type"), "text/html; charset=utf-8");
	ck_assert_ptr_nonnull(html_id(&a, "error"));
	/* with no format in the query, Accept decides, and the answer says so */
	ask("GET", "/", "limit=0", "application/json", &a);
	ck_assert_str_eq(json_member(&a, "status"), "400");
	ck_assert_str_eq(header(&a, "vary"), "Accept");
	ask("GET", "/", "limit=0&format=xml", NULL, &a);
	ck_assert_ptr_nonnull(html_id(&a, "error"));
	ck_assert_str_eq(header(&a, "vary"), "Accept");
	ask("GET", "/nope", "format=json", NULL, &a);
	ck_assert_int_eq(a.status, 404);
	ck_assert_str_eq(json_member(&a, "status"), "404");
	ask("POST", "/", "format=json", NULL, &a);
	ck_assert_int_eq(a.status, 405);
	ck_assert_str_eq(json_member(&a, "status"), "405");
	fake_db_answer(db, DB_DOWN, DB_OK);
	ask("GET", "/", "format=json", NULL, &a);
	ck_assert_int_eq(a.status, 503);
	ck_assert_str_eq(json_member(&a, "status"), "503");
	ask("GET", "/", NULL, "application/json", &a);
	ck_assert_str_eq(json_member(&a, "status"), "503");
	ck_assert_str_eq(header(&a, "vary"), "Accept");
}
END_TEST

/* A JSON-number column whose value is no number: the page fails. */
START_TEST(a_number_column_never_turns_string)
{
	struct answer a;

	table_begin();
	table_row(1, "one");
	put(4);                 /* a row whose id is not a number */
	put((uint8_t)(2 + 100));
	put(2);
	put_text("2x");
	put(2);
	put_text("two");
	table_end(DB_END);
	fake_db_free(db);
	table_open();
	ask("GET", "/", "format=json", NULL, &a);
	ck_assert_int_eq(handled, 0);
	ck_assert_int_eq(a.status, 500);
	ck_assert_str_eq(json_member(&a, "status"), "500");
	/* HTML shows the text as it is */
	ask("GET", "/", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(html_id(&a, "count"), "2 rows");
}
END_TEST

START_TEST(health_probes)
{
	struct answer a;

	ask("GET", "/healthz", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(header(&a, "content-type"), "text/plain; charset=utf-8");
	ck_assert_str_eq(a.body, "ok\n");
	ask("GET", "/readyz", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(a.body, "ready\n");
	ck_assert_uint_eq(fake_db_calls(db)->pings, 1);
	fake_db_answer(db, DB_OK, DB_DOWN);
	ask("GET", "/readyz", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 503);
	ck_assert_str_eq(header(&a, "retry-after"), "7");
	ck_assert_ptr_nonnull(html_id(&a, "error"));
	ask("GET", "/healthz", NULL, NULL, &a); /* no database in it */
	ck_assert_int_eq(a.status, 200);
}
END_TEST

START_TEST(draining_fails_the_probes_and_serves_pages)
{
	struct answer a;

	ck_assert_int_eq(drain_init(), 0);
	drain_begin();
	ask("GET", "/healthz", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 503);
	ck_assert_str_eq(a.body, "stopping\n");
	ask("GET", "/readyz", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 503);
	ck_assert_uint_eq(fake_db_calls(db)->pings, 0);
	ask("GET", "/", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(html_id(&a, "count"), "3 rows");
}
END_TEST

/* Under a mount, the table and probes are below it, and links keep it. */
START_TEST(a_mount_serves_below_its_prefix)
{
	struct answer a;

	strcpy(cfg.mount, "/table/");
	ask("GET", "/table/", "limit=2&format=json", NULL, &a);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(json_member(&a, "next"),
	    "\"/table/?format=json&limit=2&after=2\"");
	ask_cgi("GET", NULL, "/table/healthz", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 200);
	ask_cgi("GET", "", "", "/table/readyz?x", NULL, &a);
	ck_assert_int_eq(a.status, 200);
	ask("GET", "/", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 404);
	ask("GET", "/healthz", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 404);
}
END_TEST

/* Each server's split of the path reaches the same route. */
START_TEST(every_split_of_the_path_routes_alike)
{
	struct answer a;

	ask_cgi("GET", "", "/", "/?limit=1", "limit=1", &a); /* lighttpd */
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(html_id(&a, "count"), "1 row");
	ask_cgi("GET", "/", NULL, "/", NULL, &a); /* Apache */
	ck_assert_int_eq(a.status, 200);
	ask_cgi("GET", NULL, "/healthz", "/healthz", NULL, &a); /* h2o */
	ck_assert_str_eq(a.body, "ok\n");
	ask_cgi("GET", NULL, NULL, "/healthz?a", NULL, &a); /* no pair */
	ck_assert_str_eq(a.body, "ok\n");
	ask_cgi("GET", "/nope", NULL, "/", NULL, &a); /* the pair wins */
	ck_assert_int_eq(a.status, 404);
}
END_TEST

/* No path at all is the server's misconfiguration: 500, not 404. */
START_TEST(no_path_gets_500)
{
	struct answer a;

	ask_cgi("GET", NULL, NULL, NULL, NULL, &a);
	ck_assert_int_eq(a.status, 500);
	ck_assert_ptr_nonnull(html_id(&a, "error"));
	ask_cgi("GET", "", "", "", NULL, &a);
	ck_assert_int_eq(a.status, 500);
	ck_assert_uint_eq(fake_db_calls(db)->opens, 0);
}
END_TEST

static void
setup_waiting(void)
{
	waits = 1;
	setup();
}

static void
teardown_waiting(void)
{
	teardown();
	waits = 0;
}

static void
add_tests(TCase *tc)
{
	tcase_add_test(tc, table_as_html_and_json);
	tcase_add_test(tc, the_page_asks_for_one_row_more_than_it_shows);
	tcase_add_test(tc, head_sends_the_headers_only);
	tcase_add_test(tc, bad_parameters_get_400);
	tcase_add_test(tc, unknown_path_gets_404);
	tcase_add_test(tc, other_methods_get_405_with_allow);
	tcase_add_test(tc, database_down_or_slow_gets_503_and_other_errors_500);
	tcase_add_test(tc, a_busy_pool_gets_503_busy);
	tcase_add_test(tc, a_page_after_a_lost_connection);
	tcase_add_test(tc, failure_before_the_first_flush_is_a_clean_error);
	tcase_add_test(tc, failure_after_the_first_flush_is_cut_off);
	tcase_add_test(tc, errors_follow_the_format_asked_for);
	tcase_add_test(tc, a_number_column_never_turns_string);
	tcase_add_test(tc, health_probes);
	tcase_add_test(tc, draining_fails_the_probes_and_serves_pages);
	tcase_add_test(tc, a_mount_serves_below_its_prefix);
	tcase_add_test(tc, every_split_of_the_path_routes_alike);
	tcase_add_test(tc, no_path_gets_500);
}

/* Each case twice: the database answering at once, and after a wait. */
Suite *
suite_app(void)
{
	Suite *s = suite_create("app");
	TCase *now = tcase_create("answers"), *later = tcase_create("waits");

	tcase_add_checked_fixture(now, setup, teardown);
	add_tests(now);
	suite_add_tcase(s, now);
	tcase_add_checked_fixture(later, setup_waiting, teardown_waiting);
	add_tests(later);
	suite_add_tcase(s, later);
	return s;
}
