/*
 * dbpool.c over the fake database, whose calls answer as they start, as
 * a connect over a socket whose peer is quick can: a connect that ends
 * at once is taken by the call that started it.  Its connection runs
 * the page; its failure is the page's answer (a 500 for a table that is
 * wrong, not a 503); and a page tried again on a new connection gets
 * the answer of that connect.
 */
#include <limits.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "clock.h"
#include "dbpool.h"
#include "fake_db.h"
#include "unit.h"

static struct config cfg;
static int epfd = -1;
static struct dbpool *pool;
static struct dbjob job;
static unsigned ended;  /* how many times a job's done ran */
static enum db_rc given; /* the answer it was given last */

static void
job_done(struct dbjob *j, struct db *db, enum db_rc rc)
{
	ck_assert_ptr_eq(j, &job);
	ck_assert(rc == DB_OK ? db != NULL : db == NULL);
	ended++;
	given = rc;
	if (db != NULL)
		db_page_close(db);
}

/* One connection, not made yet; the fake answers every call at once. */
static void
pool_open(enum db_rc connect_rc, enum db_rc open_rc, int may_retry)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.db_wait_ms = 500;
	cfg.reconnect_delay_ms = 0;
	fake_db_pool.waits = 0;
	fake_db_pool.connect_rc = connect_rc;
	fake_db_pool.open_rc = open_rc;
	fake_db_pool.may_retry = may_retry;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	ck_assert_int_ge(epfd, 0);
	pool = dbpool_new(&cfg, 1, epfd);
	ck_assert_ptr_nonnull(pool);
	memset(&job, 0, sizeof(job));
	job.from = LLONG_MIN;
	job.nrows = 10;
	job.done = job_done;
	ended = 0;
}

static void
pool_close(void)
{
	ck_assert_uint_eq(dbpool_jobs(pool), 0);
	dbpool_free(pool);
	ck_assert_int_eq(close(epfd), 0);
}

/* The ticks of a serving loop, until the job has ended (a few at most). */
static void
run_until_done(void)
{
	int i;

	for (i = 0; ended == 0 && i < 4; i++)
		(void)dbpool_tick(pool, clock_ms());
	ck_assert_uint_eq(ended, 1);
}

START_TEST(a_connect_that_ends_at_once_runs_the_page_on_its_connection)
{
	pool_open(DB_OK, DB_OK, 0);
	ck_assert_int_eq(dbpool_submit(pool, &job), DB_WAIT);
	run_until_done();
	ck_assert_int_eq(given, DB_OK);
	pool_close();
}
END_TEST

START_TEST(a_connect_that_fails_at_once_gives_the_page_its_answer)
{
	static const enum db_rc rcs[] = {DB_ERROR, DB_DOWN, DB_SLOW};
	size_t i;

	for (i = 0; i < sizeof(rcs) / sizeof(rcs[0]); i++) {
		pool_open(rcs[i], DB_OK, 0);
		ck_assert_int_eq(dbpool_submit(pool, &job), rcs[i]);
		ck_assert_uint_eq(ended, 0); /* the answer is submit's */
		pool_close();
	}
}
END_TEST

/*
 * A page lost with its connection is tried once more on a new one; that
 * connect fails at once with a 500's error, which is the page's answer.
 */
START_TEST(a_page_tried_again_gets_the_answer_of_its_new_connect)
{
	pool_open(DB_OK, DB_DOWN, 1);
	(void)dbpool_tick(pool, clock_ms()); /* the connection is made */
	fake_db_pool.connect_rc = DB_ERROR;
	ck_assert_int_eq(dbpool_submit(pool, &job), DB_WAIT);
	run_until_done();
	ck_assert_int_eq(given, DB_ERROR);
	pool_close();
}
END_TEST

Suite *
suite_dbpool(void)
{
	Suite *s = suite_create("dbpool");
	TCase *tc = tcase_create("answers at once");

	tcase_add_test(tc,
	    a_connect_that_ends_at_once_runs_the_page_on_its_connection);
	tcase_add_test(tc, a_connect_that_fails_at_once_gives_the_page_its_answer);
	tcase_add_test(tc, a_page_tried_again_gets_the_answer_of_its_new_connect);
	suite_add_tcase(s, tc);
	return s;
}
