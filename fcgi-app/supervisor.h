/*
 * supervisor: the master process.  It forks the workers, starts a new
 * one when one dies, and on SIGTERM or SIGINT stops them all and exits
 * once each has answered its request in flight.
 *
 * With drain_ms > 0, SIGTERM first drains (see drain.h) for that long,
 * so the load balancer stops sending before the workers go; SIGINT, or
 * a second signal, skips what is left of the drain.  SIGHUP is logged
 * and ignored.  Workers start with SIGTERM and SIGINT blocked and
 * SIGHUP ignored.
 */
#ifndef SUPERVISOR_H
#define SUPERVISOR_H

/* Runs work(arg) in n children; returns the master's exit status. */
int supervisor_run(unsigned n, unsigned drain_ms, int (*work)(void *),
    void *arg);

#endif
