/*
 * worker: the event loop of one worker process.
 */
#ifndef WORKER_H
#define WORKER_H

#include "config.h"
#include "hostinfo.h"

/*
 * Serves FastCGI connections from the listening socket on fd 0, many at
 * once, in one epoll loop with the worker's database connections
 * (dbpool.h): a page waits only for a database connection, never for
 * another connection's page, and an idle connection holds nothing but
 * a descriptor and a few hundred bytes.  SIGTERM or SIGINT ends the
 * loop: no new connection is taken, requests in flight are answered,
 * and kept connections get a second (WORKER_STOP_GRACE_MS) for a request
 * already sent on them.  Returns the process exit status.
 */
int worker_run(const struct config *cfg, const struct hostinfo *host);

#endif
