/*
 * app: one request in, one whole response (FastCGI headers and body)
 * out.  Bad input gets 4xx with a message that says what was wrong; a
 * database outage gets a fast 503 with Retry-After; nothing a request
 * sends can stop the worker from serving the next one.
 */
#ifndef APP_H
#define APP_H

#include "config.h"
#include "db.h"
#include "hostinfo.h"
#include "http.h"
#include "out.h"

struct app {
	const struct config *cfg;
	const struct hostinfo *host;
};

/* The FastCGI parameters a response depends on; any may be NULL. */
struct app_request {
	const char *method;
	const char *script_name; /* the path, with path_info (http_path) */
	const char *path_info;
	const char *request_uri; /* its path where the two give none */
	const char *query;
	const char *accept;
};

/*
 * How an answer is written: the method's HEAD, and the format, which
 * follows the query's format= when it names one, else the Accept
 * header; an answer whose format Accept chose says so (Vary: Accept).
 */
struct app_answer {
	int is_head;
	enum format fmt;
	int by_accept;
};

/* What a request needs from the database before it can be answered. */
enum app_need {
	APP_ANSWERED, /* nothing: the answer is written */
	APP_PAGE,     /* the page query, rows from `from`, at most nrows */
	APP_PING,     /* a ping (/readyz) */
};

struct app_plan {
	enum app_need need;
	struct app_answer a;
	struct query q;
	long long from;
	unsigned nrows;
};

/*
 * Starts the answer to req: writes it into o when it needs no database
 * (a probe, an error, a bad query), and returns what it needs.
 */
enum app_need app_begin(struct app *app, const struct app_request *req,
    struct out *o, struct app_plan *plan);

/*
 * Writes the answer to a request app_begin planned, once its database
 * call ended with rc; with DB_OK, db holds the page's rows (or answered
 * the ping), and the rows are freed here.  Returns 0 when the answer is
 * whole (an error answer is whole too), or -1 when a page failed after
 * part of it had gone out: the caller must then end the connection
 * without ending the request, so that the client sees the page cut off
 * rather than a short page that looks whole.  The log says how many
 * rows the page had written.
 */
int app_finish(struct app *app, const struct app_plan *plan, struct db *db,
    enum db_rc rc, struct out *o);

#endif
