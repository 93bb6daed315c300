/*
 * keepalive: whether a worker keeps a FastCGI connection open after its
 * page, judged from how long new connections have waited on the
 * listening socket.  Plain values, so that it can be tested without a
 * socket or a clock.
 *
 * nginx keeps at most its upstream keepalive number of connections idle.
 * With more clients than that, requests on kept connections are served
 * at once and those on new connections wait in the listening socket's
 * backlog: at 4,000 clients, p50 17 ms and p99 4 s.  So once the backlog
 * has stayed non-empty at the end of every page for KEEPALIVE_WAIT_MS,
 * the worker closes each connection after its page, and every request
 * waits its turn in the one queue.  That spell ends as soon as no
 * connection waits, or after KEEPALIVE_CLOSE_MS, and is judged again:
 * closing connections makes nginx open new ones, which then wait, so a
 * spell that went on while any connection waited would keep itself going
 * at 64 clients too, where kept connections carry every page.
 */
#ifndef KEEPALIVE_H
#define KEEPALIVE_H

#define KEEPALIVE_WAIT_MS 50
#define KEEPALIVE_CLOSE_MS 1000

/* One worker's state; all zero is "keeping, nothing waits". */
struct keepalive {
	long long waiting_since; /* the backlog non-empty since; 0: it was empty */
	long long closing_until; /* closing connections until; 0: keeping */
};

/*
 * After a page, at now_ms, with waiting nonzero if new connections wait
 * on the listening socket: 1 to keep the page's connection, 0 to close it.
 */
int keepalive_after_page(struct keepalive *k, long long now_ms, int waiting);

#endif
