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

void app_handle(struct app *app, const struct app_request *req, struct out *o);

#endif
