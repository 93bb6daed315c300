/*
 * dbpolicy: db.c's outage policy in plain values, so that it can be
 * tested without a server.  What an error number means, when the next
 * connect may be tried, whether a failed try is repeated, and what is
 * logged when an outage starts and ends; and the state itself, shared by
 * every worker of the instance.  Implemented in dbpolicy.c.
 */
#ifndef DBPOLICY_H
#define DBPOLICY_H

#include "db.h"

enum db_fault {
	DB_FAULT_OTHER, /* the query or the table is wrong: DB_ERROR */
	DB_FAULT_LOST,  /* the connection or its statement is unusable */
	DB_FAULT_SLOW,  /* the database is up but did not answer in time */
};

/* The outage state of one connection; all zero is "no outage yet". */
struct db_outage {
	long long next_try_ms; /* no connect attempt before this */
	enum db_rc held;       /* the answer until then: DB_DOWN or DB_SLOW */
	int down;              /* an outage has been logged */
	int slow;              /* a timed-out query has been logged */
};

/* What a client-library or server error number says about the database. */
enum db_fault db_fault_of(unsigned e);

/* DB_OK if a connect may be tried at now_ms, else the held answer. */
enum db_rc db_outage_wait(const struct db_outage *st, long long now_ms);

/*
 * A connect that failed: logs "database unreachable" when an outage
 * starts, and backs off for delay_ms.  msg may be NULL for a failure
 * that is not an outage (a bad option, TLS): then only the back-off.
 */
void db_outage_unreachable(struct db_outage *st, long long now_ms,
    unsigned delay_ms, const char *msg);

/*
 * A call that failed on an open connection with fault f: a lost
 * connection is DB_DOWN, a timeout DB_SLOW, both logged once per outage
 * and followed by a back-off of delay_ms; anything else is DB_ERROR,
 * logged with what (names the call) every time.  The caller closes the
 * connection on DB_FAULT_LOST.
 */
enum db_rc db_outage_failed(struct db_outage *st, enum db_fault f,
    long long now_ms, unsigned delay_ms, const char *msg, const char *what);

/* A connect that worked: logs the end of an outage. */
void db_outage_connected(struct db_outage *st);

/* A call that was answered: logs the end of a slow spell. */
void db_outage_answered(struct db_outage *st);

/*
 * Nonzero if a failed try is repeated at once on a fresh connection:
 * only a lost connection, only on the first try, and only if the try
 * took less than the read timeout (a slow database would double it).
 */
int db_outage_retry(enum db_fault f, int attempt, long long elapsed_ms,
    unsigned read_timeout_s);

/*
 * Nonzero if a connect may be tried at now_ms.  During an outage it
 * claims the try: no other is let through for hold_ms, so that one
 * connect at a time, across all workers, probes a database that is down.
 */
int db_outage_claim(struct db_outage *st, long long now_ms, unsigned hold_ms);

/*
 * The outage state of the instance: db_shared_init, in the master
 * before it forks, puts it in memory every worker shares.  Each use is
 * between db_shared_lock, which returns it, and db_shared_unlock.
 */
int db_shared_init(void);
struct db_outage *db_shared_lock(void);
void db_shared_unlock(void);

#endif
