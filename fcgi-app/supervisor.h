/*
 * supervisor: the master process.  It forks the workers, starts a new
 * one when one dies, and on SIGTERM or SIGINT stops them all and exits
 * once each has answered its request in flight.
 */
#ifndef SUPERVISOR_H
#define SUPERVISOR_H

/* Runs work(arg) in n children; returns the master's exit status. */
int supervise(unsigned n, int (*work)(void *), void *arg);

#endif
