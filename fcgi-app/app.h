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
#include "out.h"

struct app {
	const struct config *cfg;
	const struct hostinfo *host;
	struct db *db;
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
 * Writes the answer to req into o.  Returns 0 when the answer is whole
 * (an error answer is whole too), or -1 when a page failed after part
 * of it had gone out: the caller must then end the connection without
 * ending the request, so that the client sees the page cut off rather
 * than a short page that looks whole.  The log says how many rows the
 * page had written.
 */
int app_handle(struct app *app, const struct app_request *req, struct out *o);

#endif
