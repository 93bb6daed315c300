/*
 * dbpolicy: the outage policy in plain values (dbpolicy.h), and the one
 * outage state that every worker of the instance shares.
 */
#include "dbpolicy.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include "log.h"

/*
 * DB_FAULT_LOST: errors after which the connection, or the statement
 * prepared on it, is no longer usable and a new one may work: the
 * connection is gone, or the table changed shape under the prepared
 * statement.  A TLS error on an open connection is one that went away
 * without a close_notify (a server that failed over or was killed):
 * Connector/C reports it as CR_SSL_CONNECTION_ERROR, not as lost.
 * DB_FAULT_SLOW: a database that is up but did not finish in
 * time, by the server's own statement time limit (set by db_limit_time)
 * or a lock wait; the connection stays usable.
 */
enum db_fault
db_fault_of(unsigned e)
{
	switch (e) {
	case CR_NEW_STMT_METADATA:
	case ER_NEED_REPREPARE:
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case CR_SSL_CONNECTION_ERROR:
	case CR_COMMANDS_OUT_OF_SYNC:
	case ER_CONNECTION_KILLED:
	case ER_SERVER_SHUTDOWN:
	case ER_UNKNOWN_STMT_HANDLER:
	case 4031: /* ER_CLIENT_INTERACTION_TIMEOUT, MySQL 8 */
		return DB_FAULT_LOST;
	case ER_STATEMENT_TIMEOUT:
	case ER_LOCK_WAIT_TIMEOUT:
	case 3024: /* ER_QUERY_TIMEOUT, MySQL's max_execution_time */
		return DB_FAULT_SLOW;
	default:
		return DB_FAULT_OTHER;
	}
}

enum db_rc
db_outage_wait(const struct db_outage *st, long long now_ms)
{
	if (now_ms >= st->next_try_ms)
		return DB_OK;
	return st->held == DB_SLOW || st->held == DB_ERROR ? st->held : DB_DOWN;
}

void
db_outage_unreachable(struct db_outage *st, long long now_ms,
    unsigned delay_ms, const char *msg)
{
	if (msg != NULL) {
		if (!st->down)
			log_msg("database unreachable: %s", msg);
		st->down = 1;
	}
	/* a failure that is no outage stays the 500 it was */
	st->held = msg != NULL ? DB_DOWN : DB_ERROR;
	st->next_try_ms = now_ms + delay_ms;
}

enum db_rc
db_outage_failed(struct db_outage *st, enum db_fault f, long long now_ms,
    unsigned delay_ms, const char *msg, const char *what)
{
	switch (f) {
	case DB_FAULT_SLOW:
		if (!st->slow)
			log_msg("database too slow: %s", msg);
		st->slow = 1;
		st->held = DB_SLOW;
		break;
	case DB_FAULT_LOST:
		if (!st->down)
			log_msg("database connection lost: %s", msg);
		st->down = 1;
		st->held = DB_DOWN;
		break;
	default:
		log_rate(what, now_ms, "%s failed: %s", what, msg);
		return DB_ERROR;
	}
	st->next_try_ms = now_ms + delay_ms;
	return st->held;
}

void
db_outage_connected(struct db_outage *st)
{
	if (st->down)
		log_msg("database connection restored");
	st->down = 0;
	st->next_try_ms = 0; /* and the hold a probe claimed ends */
}

void
db_outage_answered(struct db_outage *st)
{
	if (st->slow)
		log_msg("database answering in time again");
	st->slow = 0;
}

int
db_outage_retry(enum db_fault f, int attempt, long long elapsed_ms,
    unsigned read_timeout_s)
{
	return f == DB_FAULT_LOST && attempt == 0 &&
	    elapsed_ms < (long long)read_timeout_s * 1000;
}

int
db_outage_claim(struct db_outage *st, long long now_ms, unsigned hold_ms)
{
	if (now_ms < st->next_try_ms)
		return 0;
	if (st->down)
		st->next_try_ms = now_ms + hold_ms;
	return 1;
}

/*
 * The instance's outage state, in memory that the master maps before it
 * forks, so that every worker sees one outage: one logs it, one tries
 * the database at a time, and all answer 503 at once meanwhile.  The
 * lock is robust: a worker that dies holding it leaves the state
 * usable.  Without db_shared_init (the unit tests), a process's own.
 */
struct db_shared {
	pthread_mutex_t lock;
	struct db_outage st;
};

static struct db_shared *shared;
static struct db_outage local_st;

int
db_shared_init(void)
{
	pthread_mutexattr_t a;
	void *p = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int rc = -1;

	if (p == MAP_FAILED)
		return -1;
	if (pthread_mutexattr_init(&a) != 0) {
		(void)munmap(p, sizeof(*shared));
		return -1;
	}
	if (pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) == 0 &&
	    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) == 0 &&
	    pthread_mutex_init(&((struct db_shared *)p)->lock, &a) == 0) {
		shared = p;
		rc = 0;
	} else {
		(void)munmap(p, sizeof(*shared));
	}
	(void)pthread_mutexattr_destroy(&a);
	return rc;
}

struct db_outage *
db_shared_lock(void)
{
	int r;

	if (shared == NULL)
		return &local_st;
	r = pthread_mutex_lock(&shared->lock);
	if (r == EOWNERDEAD)
		(void)pthread_mutex_consistent(&shared->lock);
	else if (r != 0)
		log_msg("locking the outage state failed: %s", strerror(r));
	return &shared->st;
}

void
db_shared_unlock(void)
{
	if (shared != NULL)
		(void)pthread_mutex_unlock(&shared->lock);
}
