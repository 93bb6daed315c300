/*
 * http: what a request asks for, decided from its FastCGI parameters
 * before any work is done.  Every parameter passes a validator here;
 * nothing else reads the query string.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>

#define HTTP_QUERY_MAX 2048 /* longer query strings get 400 */
#define HTTP_NAME_MAX 32    /* a parameter name, decoded */
#define HTTP_VALUE_MAX 64   /* a parameter value, decoded */
#define HTTP_PATH_MAX 1024  /* a longer path is nothing we serve: 404 */

enum route { ROUTE_TABLE, ROUTE_HEALTHZ, ROUTE_READYZ, ROUTE_NONE };
enum format { FORMAT_HTML, FORMAT_JSON };

struct query {
	enum format format;
	int format_given;
	unsigned limit;
	long long after; /* show rows whose key is above this */
	int has_after;
};

/*
 * The request's path as CGI/1.1 gives it (RFC 3875 4.1.13, 4.1.5):
 * SCRIPT_NAME followed by PATH_INFO, however the server split it (either
 * may be NULL).  Only when both are absent or empty, the path part of
 * REQUEST_URI, before any '?'.  Writes it with its NUL into dst, which
 * holds cap bytes.  Returns 0; -1 if there is no path in any of the
 * three (the server sent none of them); -2 if it does not fit in cap.
 */
int http_path(const char *script_name, const char *path_info,
    const char *request_uri, char *dst, size_t cap);

/*
 * What path asks for, with the program mounted at mount ("/", or a
 * prefix such as "/table/": config_is_mount): the table at the mount
 * itself, the probes right below it, nothing anywhere else.
 */
enum route http_route(const char *path, const char *mount);

/* 0 for GET and HEAD; -1 for any other method (405). */
int http_method_ok(const char *method);

/*
 * Parses a query string (may be NULL).  Returns 0, or -1 with a message
 * for the client in err, which says which parameter was wrong and why.
 */
int http_parse_query(const char *qs, unsigned default_limit,
    unsigned max_limit, struct query *q, char *err, size_t errlen);

/* JSON if Accept prefers application/json over text/html, else HTML. */
enum format http_negotiate(const char *accept);

/*
 * The format the query string asks for with its first well-formed
 * format=html or format=json, also when the query is wrong otherwise,
 * so that its error answer comes in that format.  Returns 1 and sets
 * *fmt, or 0 if the query names no format (Accept then decides).
 */
int http_query_format(const char *qs, enum format *fmt);

#endif
