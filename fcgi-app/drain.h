/*
 * drain: the master tells its workers that the instance is stopping.
 *
 * While draining, workers still serve pages but the health probes answer
 * 503, so the load balancer takes the instance out of service before the
 * workers stop.  The flag lives in memory shared with every worker forked
 * after drain_init, including ones started during the drain.
 */
#ifndef DRAIN_H
#define DRAIN_H

/* Before the first fork.  Returns 0, or -1 if no shared page was had. */
int drain_init(void);
void drain_begin(void);
/* Nonzero once drain_begin has run in the master. */
int drain_active(void);

#endif
