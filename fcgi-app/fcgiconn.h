/*
 * fcgiconn: the FastCGI 1.0 protocol of one connection, over buffers,
 * with no socket: the serving core reads bytes into `in`, takes the
 * events fconn_next finds in them, and writes `out` to the peer.
 *
 * One request at a time (FCGI_MPXS_CONNS is 0): a second
 * FCGI_BEGIN_REQUEST while one is in progress gets FCGI_CANT_MPX_CONN,
 * a role other than the responder FCGI_UNKNOWN_ROLE, a management record
 * other than FCGI_GET_VALUES FCGI_UNKNOWN_TYPE.  A request's body
 * (FCGI_STDIN) is read past, also after its answer, so that the next
 * request on a kept connection starts at a record; a record of a
 * request that has ended (an FCGI_ABORT_REQUEST after the answer) is
 * dropped.
 */
#ifndef FCGICONN_H
#define FCGICONN_H

#include <stddef.h>

#include "buf.h"

/* The largest record: its header, 65535 bytes of content, 255 of padding. */
#define FCONN_REC_MAX (8 + 65535 + 255)
/* A request's parameters, all pairs together (nginx sends about 1 KiB). */
#define FCONN_PARAMS_MAX (256 * 1024)
/* An answer's records, as they wait for the peer to take them. */
#define FCONN_OUT_MAX (64 * 1024 * 1024)

/* The limits FCGI_GET_VALUES reports: what the serving core enforces. */
struct fconn_limits {
	unsigned max_conns; /* connections held open at once */
	unsigned max_reqs;  /* requests served at once */
};

struct fconn {
	struct buf in;
	struct buf params; /* the request's pairs, then NAME\0VALUE\0... */
	struct buf out;
	const struct fconn_limits *lim;
	unsigned id;      /* the request in progress, or 0 */
	unsigned body_id; /* the request whose body is still arriving, or 0 */
	int keep;         /* FCGI_KEEP_CONN of the request in progress */
	int params_done;
};

enum fconn_ev {
	FCONN_MORE,    /* nothing more in `in`: read on */
	FCONN_REQUEST, /* a request's parameters are whole: fconn_param */
	FCONN_ABORT,   /* the request in progress was aborted: end it */
	FCONN_ERROR,   /* not FastCGI, or past a bound: close (logged) */
	FCONN_CLOSE,   /* a request refused on a connection not kept: close
			  once `out` is sent */
};

void fconn_init(struct fconn *c, const struct fconn_limits *lim);
void fconn_free(struct fconn *c);
/* Drops the memory of an idle connection's empty buffers. */
void fconn_trim(struct fconn *c);

/* The next event in the bytes read so far. */
enum fconn_ev fconn_next(struct fconn *c);

/* A parameter of the request FCONN_REQUEST handed out, or NULL. */
const char *fconn_param(const struct fconn *c, const char *name);

/* Appends n bytes of answer as FCGI_STDOUT; returns 0, or -1 past a bound. */
int fconn_stdout(struct fconn *c, const char *p, size_t n);
/*
 * Ends the request in progress with FCGI_END_REQUEST (the stream's end
 * first).  Returns 0, or -1 past a bound.  The connection is then kept
 * if c->keep was set.
 */
int fconn_end(struct fconn *c);
/* The request in progress goes without FCGI_END_REQUEST (a cut answer). */
void fconn_drop(struct fconn *c);

/* Nonzero between a request's FCGI_BEGIN_REQUEST and its end. */
static inline int
fconn_busy(const struct fconn *c)
{
	return c->id != 0;
}

#endif
