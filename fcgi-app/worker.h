/*
 * worker: the accept loop of one worker process.
 */
#ifndef WORKER_H
#define WORKER_H

#include "config.h"
#include "hostinfo.h"

/*
 * Serves FastCGI requests from the listening socket on fd 0, one at a
 * time, with one database connection kept across them.  SIGTERM or
 * SIGINT ends the loop once the request in flight is answered.  Returns
 * the process exit status.
 */
int worker_run(const struct config *cfg, const struct hostinfo *host);

#endif
