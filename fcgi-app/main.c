/*
 * fcgi-app: serves one database table as HTML and JSON over FastCGI.
 *
 * spawn-fcgi binds the socket and hands it over on fd 0.  This process
 * reads the config, looks up the host once, and becomes the supervisor
 * of the worker processes that serve requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "hostinfo.h"
#include "log.h"
#include "privs.h"
#include "supervisor.h"
#include "worker.h"

struct ctx {
	struct config cfg;
	struct hostinfo host;
};

static int
work(void *arg)
{
	struct ctx *c = arg;

	return worker_run(&c->cfg, &c->host);
}

/*
 * Nonzero if fd 0 is a listening socket, as spawn-fcgi hands it over.
 * Asked here rather than with FCGX_IsCGI, which would initialise libfcgi
 * in the master and leave its signal handlers to every worker.
 */
static int
listening_on_stdin(void)
{
	int on = 0;
	socklen_t len = sizeof(on);

	return getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 &&
	    on != 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: fcgi-app [-t] [-c config]\n"
	    "  -c FILE  config file (default " CONFIG_DEFAULT_PATH ")\n"
	    "  -t       check the config and exit\n");
}

int
main(int argc, char *argv[])
{
	static struct ctx c;
	const char *path = CONFIG_DEFAULT_PATH;
	char err[512];
	int ch, rc, test_only = 0;

	while ((ch = getopt(argc, argv, "c:th")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test_only = 1;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc) {
		usage();
		return 2;
	}
	if (config_load(&c.cfg, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "fcgi-app: %s\n", err);
		return 1;
	}
	if (test_only) {
		printf("fcgi-app: %s: ok (table `%s`, %u workers)\n", path,
		    c.cfg.table, c.cfg.workers);
		return 0;
	}
	if (!listening_on_stdin()) {
		fprintf(stderr, "fcgi-app: fd 0 is not a listening socket; "
		    "start it with spawn-fcgi\n");
		return 1;
	}
	if (privs_drop(&c.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "fcgi-app: %s\n", err);
		return 1;
	}
	hostinfo_load(&c.host, &c.cfg);
	log_msg("serving table `%s` with %u workers on host %s%s%s",
	    c.cfg.table, c.cfg.workers, c.host.hostname,
	    c.host.instance_id[0] ? ", instance " : "", c.host.instance_id);
	if (db_library_init() != 0) {
		log_msg("cannot initialise the database client library");
		return 1;
	}
	rc = supervisor_run(c.cfg.workers, c.cfg.drain_seconds * 1000u, work,
	    &c);
	db_library_end();
	return rc;
}
