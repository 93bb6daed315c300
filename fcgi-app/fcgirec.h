/*
 * fcgirec: the FastCGI records the program answers itself, at a request
 * boundary, before libfcgi reads a request: management records
 * (FCGI_GET_VALUES with the core's own limits, FCGI_UNKNOWN_TYPE for
 * any other type) and an FCGI_BEGIN_REQUEST for a role other than
 * responder (FCGI_UNKNOWN_ROLE); a record of a request that has ended
 * (an FCGI_ABORT_REQUEST after its answer) is dropped.  libfcgi would
 * close a kept connection on such a record, answer GET_VALUES with
 * one connection and one request, serve the authorizer and filter roles
 * as if they were the responder, and drop any other role's connection
 * without a word.
 */
#ifndef FCGIREC_H
#define FCGIREC_H

enum fcgirec_rc {
	FCGIREC_REQUEST,  /* the next record is libfcgi's to read */
	FCGIREC_ANSWERED, /* a record answered or dropped; the connection stays */
	FCGIREC_CLOSE,    /* a role refused, or an error: close the connection */
	FCGIREC_STALLED   /* no byte came within wait_ms: close the connection */
};

/* The limits GET_VALUES reports: what the serving core enforces. */
struct fcgirec_limits {
	unsigned max_conns; /* connections held open at once */
	unsigned max_reqs;  /* requests served at once */
};

/*
 * Looks at the next record on fd without taking it (MSG_PEEK).  A
 * management record (request id 0) is read whole and answered, a record
 * of an ended request read and dropped; an FCGI_BEGIN_REQUEST for
 * another role than responder is read and answered.  Only a record whose header (and, for a begin record, body)
 * has arrived whole is looked at; anything else is left to libfcgi,
 * which reads it within the connection's bounds.  Waits up to wait_ms
 * for the first bytes; reads and writes wait no longer than fd's
 * SO_RCVTIMEO and SO_SNDTIMEO.
 */
enum fcgirec_rc fcgirec_answer(int fd, const struct fcgirec_limits *lim,
    int wait_ms);

#endif
