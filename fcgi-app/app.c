#include "app.h"

#include <limits.h>
#include <string.h>

#include "clock.h"
#include "drain.h"
#include "html.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "page.h"

#define ERR_MAX 256

/*
 * The build's id (make BUILD_ID=..., by default git describe), on every
 * answer, so that a rollout can tell which build served a page.  The
 * Makefile lets through only [A-Za-z0-9._+-], a valid header value.
 */
#ifndef FCGI_APP_BUILD
#define FCGI_APP_BUILD "unknown"
#endif

static const char *
reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

/* "404 Not Found" */
static void
status_text(struct out *o, int status)
{
	out_uint(o, (unsigned)status);
	out_putc(o, ' ');
	out_puts(o, reason(status));
}

/* Status line and the headers every answer carries. */
static void
head(struct out *o, int status, const char *ctype)
{
	out_puts(o, "Status: ");
	status_text(o, status);
	out_puts(o, "\r\nContent-Type: ");
	out_puts(o, ctype);
	out_puts(o, "\r\nCache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Fcgi-App-Build: " FCGI_APP_BUILD "\r\n");
	if (strncmp(ctype, "text/html", 9) == 0)
		out_puts(o, "Content-Security-Policy: default-src 'none'; "
		    "style-src 'unsafe-inline'; frame-ancestors 'none'\r\n"
		    "Referrer-Policy: no-referrer\r\n");
}

/* HEAD sends the headers alone, with no length: no body was made. */
static void
end_head(struct out *o, int is_head)
{
	if (is_head) {
		out_puts(o, "\r\n");
		(void)out_flush(o);
		out_discard(o);
	} else {
		out_end_headers(o);
	}
}

static const char CT_HTML[] = "text/html; charset=utf-8";
static const char CT_JSON[] = "application/json; charset=utf-8";
static const char CT_TEXT[] = "text/plain; charset=utf-8";

static void
answer_of(const struct app_request *req, struct app_answer *a)
{
	a->is_head = req->method != NULL && strcmp(req->method, "HEAD") == 0;
	a->by_accept = !http_query_format(req->query, &a->fmt);
	if (a->by_accept)
		a->fmt = http_negotiate(req->accept);
}

/* An error answer in the format the client asked for. */
static void
fail(struct app *app, struct out *o, const struct app_answer *a, int status,
    const char *msg)
{
	enum format fmt = a->fmt;

	head(o, status, fmt == FORMAT_JSON ? CT_JSON : CT_HTML);
	if (a->by_accept)
		out_puts(o, "Vary: Accept\r\n");
	if (status == 405)
		out_puts(o, "Allow: GET, HEAD\r\n");
	if (status == 503) {
		out_puts(o, "Retry-After: ");
		out_uint(o, app->cfg->retry_after);
		out_puts(o, "\r\n");
	}
	end_head(o, a->is_head);
	if (fmt == FORMAT_JSON) {
		out_puts(o, "{\"status\":");
		out_uint(o, (unsigned)status);
		out_puts(o, ",\"error\":");
		json_string(o, msg);
		out_puts(o, "}\n");
		return;
	}
	out_puts(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<title>");
	status_text(o, status);
	out_puts(o, "</title>\n</head>\n<body>\n<h1>");
	status_text(o, status);
	out_puts(o, "</h1>\n<p id=\"error\">");
	html_text(o, msg);
	out_puts(o, "</p>\n</body>\n</html>\n");
}

/*
 * The answer when the table cannot be read: 503 when the database is
 * down or too slow (one message for both: either way it is unavailable
 * to this request), 500 for anything else.
 */
static void
fail_db(struct app *app, struct out *o, const struct app_answer *a,
    enum db_rc rc)
{
	if (rc == DB_DOWN || rc == DB_SLOW)
		fail(app, o, a, 503,
		    "The database is unavailable; try again shortly.");
	else if (rc == DB_BUSY)
		fail(app, o, a, 503,
		    "The database is busy; try again shortly.");
	else
		fail(app, o, a, 500, "The table could not be read.");
}

static void
probe(struct out *o, int is_head, int status, const char *body)
{
	head(o, status, CT_TEXT);
	end_head(o, is_head);
	out_puts(o, body);
}

/*
 * Plans the table page: the rows after `after`; the extra row only
 * tells a next page exists.  A bad query is answered here.
 */
static enum app_need
plan_table(struct app *app, const struct app_request *req, struct out *o,
    struct app_plan *plan)
{
	char err[ERR_MAX];

	if (http_parse_query(req->query, app->cfg->default_limit,
	    app->cfg->max_limit, &plan->q, err, sizeof(err)) != 0) {
		fail(app, o, &plan->a, 400, err);
		return APP_ANSWERED;
	}
	plan->q.format = plan->a.fmt;
	plan->from = LLONG_MIN;
	plan->nrows = plan->q.limit + 1;
	if (plan->q.has_after && plan->q.after == LLONG_MAX)
		plan->nrows = 0; /* nothing can follow */
	else if (plan->q.has_after)
		plan->from = plan->q.after + 1;
	return APP_PAGE;
}

/*
 * The table page from the rows db holds.  Returns 0, or -1 when it
 * failed after part of it had gone out (app_finish).
 */
static int
write_table(struct app *app, const struct app_plan *plan, struct db *db,
    struct out *o)
{
	const struct app_answer *a = &plan->a;
	struct page pg;
	enum db_rc rc = DB_OK;

	head(o, 200, a->fmt == FORMAT_JSON ? CT_JSON : CT_HTML);
	out_puts(o, "Vary: Accept\r\n");
	end_head(o, a->is_head);
	pg.table = app->cfg->table;
	pg.host = app->host;
	pg.q = &plan->q;
	pg.mount = app->cfg->mount;
	pg.rows = 0;
	if (!a->is_head)
		rc = a->fmt == FORMAT_JSON ? page_json(o, db, &pg)
					   : page_html(o, db, &pg);
	db_page_close(db);
	/* a peer that stopped taking the answer is the caller's to report */
	if (rc == DB_OK || out_error(o) != 0)
		return 0;
	/*
	 * A page that failed part-way while all of it is still in the
	 * buffer, as every page under 16 KiB is, becomes a clean error
	 * answer.  Past that, its status has gone out: the answer is cut
	 * off, and the caller ends the connection so that it shows.
	 */
	if (out_rewind(o) == 0) {
		fail_db(app, o, a, rc);
		return 0;
	}
	log_rate("cut off", clock_ms(), "a page failed after %u rows had "
	    "been written and part of it had gone out; its connection is "
	    "closed, so the client sees it cut off", pg.rows);
	return -1;
}

enum app_need
app_begin(struct app *app, const struct app_request *req, struct out *o,
    struct app_plan *plan)
{
	char path[HTTP_PATH_MAX];
	int p = http_path(req->script_name, req->path_info, req->request_uri,
	    path, sizeof(path));
	enum route route = http_route(p == 0 ? path : NULL, app->cfg->mount);
	struct app_answer *a = &plan->a;

	answer_of(req, a);
	plan->need = APP_ANSWERED;
	if (p == -1) {
		/* the server's fault, not the client's: it is misconfigured */
		log_rate("no path", clock_ms(), "app: the request has no path: "
		    "SCRIPT_NAME, PATH_INFO and REQUEST_URI are all missing or "
		    "empty; answered 500");
		fail(app, o, a, 500, "The server sent no path for this request.");
	} else if (route == ROUTE_NONE) {
		fail(app, o, a, 404,
		    "There is nothing at this path. Try / or /?format=json.");
	} else if (http_method_ok(req->method) != 0) {
		fail(app, o, a, 405, "Only GET and HEAD are allowed.");
	} else if (drain_active() &&
	    (route == ROUTE_HEALTHZ || route == ROUTE_READYZ)) {
		probe(o, a->is_head, 503, "stopping\n");
	} else if (route == ROUTE_HEALTHZ) {
		probe(o, a->is_head, 200, "ok\n");
	} else if (route == ROUTE_READYZ) {
		/* its error is HTML, whatever was asked */
		a->fmt = FORMAT_HTML;
		a->by_accept = 0;
		plan->need = APP_PING;
	} else {
		plan->need = plan_table(app, req, o, plan);
	}
	return plan->need;
}

int
app_finish(struct app *app, const struct app_plan *plan, struct db *db,
    enum db_rc rc, struct out *o)
{
	if (plan->need == APP_PING && rc == DB_OK)
		probe(o, plan->a.is_head, 200, "ready\n");
	else if (plan->need == APP_PING)
		fail(app, o, &plan->a, 503, "The database does not answer.");
	else if (rc == DB_OK)
		return write_table(app, plan, db, o);
	else
		fail_db(app, o, &plan->a, rc);
	return 0;
}
