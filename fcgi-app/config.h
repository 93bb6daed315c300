/*
 * config: the program's settings, from a MySQL option file.
 *
 * The file has a [client] group, which the client library reads itself
 * when it connects (so the password never passes through this program),
 * and an [fcgi-app] group with the settings below.  config_load checks
 * the syntax of every line and the values of [fcgi-app].
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>

#define CONFIG_DEFAULT_PATH "/etc/fcgi-app/fcgi-app.cnf"
#define CONFIG_IDENT_MAX 64  /* MySQL's limit on a table or column name */
#define CONFIG_LINE_MAX 1024 /* longer lines are an error */
#define CONFIG_USER_MAX 32   /* a system user name, as useradd allows */
#define CONFIG_MOUNT_MAX 128 /* the path prefix the server mounts us at */

struct config {
	char path[4096];
	char table[CONFIG_IDENT_MAX + 1];
	char key[CONFIG_IDENT_MAX + 1]; /* unique integer column for paging */
	char mount[CONFIG_MOUNT_MAX + 1]; /* "/", or "/a/b/": where we serve */
	unsigned default_limit;
	unsigned max_limit;
	unsigned connect_timeout; /* seconds */
	unsigned read_timeout;    /* seconds */
	unsigned write_timeout;   /* seconds */
	unsigned reconnect_delay_ms;
	unsigned retry_after; /* seconds, sent with 503 */
	unsigned request_read_timeout;   /* seconds a request may stall */
	unsigned response_write_timeout; /* seconds an answer may stall */
	char run_as_user[CONFIG_USER_MAX + 1]; /* to switch to from root */
	unsigned workers;        /* processes; 0 in the file: one per CPU */
	unsigned connections;    /* FastCGI connections a worker holds */
	unsigned db_connections; /* database connections of all workers */
	unsigned db_wait_ms;     /* the longest a page waits for one */
	unsigned drain_seconds; /* on SIGTERM, fail health checks this long */
	int require_tls;
	int imds;            /* look up the EC2 instance at start */
	char imds_host[64];  /* IPv4 address */
	unsigned imds_port;
	unsigned imds_timeout_ms;
};

/*
 * Fills cfg with defaults, then reads path.  Returns 0, or -1 with a
 * message naming the file (and line, where there is one) in err.
 */
int config_load(struct config *cfg, const char *path, char *err,
    size_t errlen);

/*
 * Sizes what the file left to the machine: workers = 0 becomes one per
 * processor (nproc), but no more than db-connections.  config_load calls
 * it; the unit tests call it with any nproc.
 */
void config_size(struct config *cfg, unsigned nproc);

/* Each worker's share of db-connections, rounded down: at least 1. */
unsigned config_db_per_worker(const struct config *cfg);

/* Nonzero if s is a plain MySQL identifier: [0-9A-Za-z_$], not all digits. */
int config_is_ident(const char *s);

/*
 * Nonzero if s is a mount path: "/" or "/seg/.../" whose segments are
 * [A-Za-z0-9._~-], none of them "." or "..", at most CONFIG_MOUNT_MAX
 * bytes.  Such a path needs no escaping in a link, HTML or JSON.
 */
int config_is_mount(const char *s);

#endif
