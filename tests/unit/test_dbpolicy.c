/*
 * db.c's outage policy, without a server: what each error number means,
 * the back-off and the answer it holds, the retry rule, and that each
 * outage is logged once when it starts and once when it ends.
 */
#include <errmsg.h>
#include <mysqld_error.h>

#include "dbpolicy.h"
#include "log.h"
#include "unit.h"

START_TEST(lost_connections)
{
	static const unsigned lost[] = {
		CR_SERVER_LOST, CR_SERVER_GONE_ERROR, CR_CONNECTION_ERROR,
		CR_CONN_HOST_ERROR, CR_SERVER_LOST_EXTENDED,
		CR_SSL_CONNECTION_ERROR, CR_COMMANDS_OUT_OF_SYNC, CR_NEW_STMT_METADATA,
		ER_NEED_REPREPARE, ER_CONNECTION_KILLED, ER_SERVER_SHUTDOWN,
		ER_UNKNOWN_STMT_HANDLER, 4031,
	};
	size_t i;

	for (i = 0; i < sizeof(lost) / sizeof(lost[0]); i++)
		ck_assert_msg(db_fault_of(lost[i]) == DB_FAULT_LOST,
		    "error %u", lost[i]);
}
END_TEST

START_TEST(timeouts_are_slow_not_lost)
{
	ck_assert_int_eq(db_fault_of(ER_STATEMENT_TIMEOUT), DB_FAULT_SLOW);
	ck_assert_int_eq(db_fault_of(ER_LOCK_WAIT_TIMEOUT), DB_FAULT_SLOW);
	ck_assert_int_eq(db_fault_of(3024), DB_FAULT_SLOW);
}
END_TEST

START_TEST(other_errors)
{
	ck_assert_int_eq(db_fault_of(0), DB_FAULT_OTHER);
	ck_assert_int_eq(db_fault_of(ER_NO_SUCH_TABLE), DB_FAULT_OTHER);
	ck_assert_int_eq(db_fault_of(ER_TABLEACCESS_DENIED_ERROR),
	    DB_FAULT_OTHER);
	ck_assert_int_eq(db_fault_of(ER_BAD_FIELD_ERROR), DB_FAULT_OTHER);
	ck_assert_int_eq(db_fault_of(CR_OUT_OF_MEMORY), DB_FAULT_OTHER);
}
END_TEST

START_TEST(failed_connect_backs_off_for_the_delay)
{
	struct db_outage st = {0};
	const char *log;

	ck_assert_int_eq(db_outage_wait(&st, 0), DB_OK);
	log_capture_begin();
	db_outage_unreachable(&st, 10000, 500, "refused");
	ck_assert_int_eq(db_outage_wait(&st, 10000), DB_DOWN);
	ck_assert_int_eq(db_outage_wait(&st, 10499), DB_DOWN);
	ck_assert_int_eq(db_outage_wait(&st, 10500), DB_OK);
	/* the next failed try: a new back-off, and no second log line */
	db_outage_unreachable(&st, 10500, 500, "refused");
	ck_assert_int_eq(db_outage_wait(&st, 10999), DB_DOWN);
	db_outage_connected(&st);
	db_outage_connected(&st);
	log = log_capture_end();
	ck_assert_uint_eq(count_of(log, "database unreachable: refused"), 1);
	ck_assert_uint_eq(count_of(log, "database connection restored"), 1);
}
END_TEST

START_TEST(a_failure_that_is_no_outage_backs_off_and_stays_a_500)
{
	struct db_outage st = {0};
	const char *log;

	log_capture_begin();
	db_outage_unreachable(&st, 0, 100, NULL); /* a bad option, TLS */
	/* inside the back-off, the same 500, not a 503 for an outage */
	ck_assert_int_eq(db_outage_wait(&st, 99), DB_ERROR);
	ck_assert_int_eq(db_outage_wait(&st, 100), DB_OK);
	/* a connect that works then ends no outage: nothing logged */
	db_outage_connected(&st);
	log = log_capture_end();
	ck_assert_str_eq(log, "");
	/* a real outage after it holds DB_DOWN again */
	log_capture_begin();
	db_outage_unreachable(&st, 100, 100, "refused");
	(void)log_capture_end();
	ck_assert_int_eq(db_outage_wait(&st, 150), DB_DOWN);
}
END_TEST

START_TEST(no_delay_tries_at_once)
{
	struct db_outage st = {0};

	log_capture_begin();
	db_outage_unreachable(&st, 5000, 0, "refused");
	(void)log_capture_end();
	ck_assert_int_eq(db_outage_wait(&st, 5000), DB_OK);
}
END_TEST

START_TEST(lost_connection_is_down)
{
	struct db_outage st = {0};
	const char *log;

	log_capture_begin();
	ck_assert_int_eq(db_outage_failed(&st, DB_FAULT_LOST, 0, 300, "gone",
	    "query"), DB_DOWN);
	ck_assert_int_eq(db_outage_failed(&st, DB_FAULT_LOST, 0, 300, "gone",
	    "query"), DB_DOWN);
	log = log_capture_end();
	ck_assert_int_eq(db_outage_wait(&st, 299), DB_DOWN);
	ck_assert_int_eq(db_outage_wait(&st, 300), DB_OK);
	ck_assert_uint_eq(count_of(log, "database connection lost: gone"), 1);
}
END_TEST

START_TEST(timeout_is_slow_and_holds_slow)
{
	struct db_outage st = {0};
	const char *log;

	log_capture_begin();
	ck_assert_int_eq(db_outage_failed(&st, DB_FAULT_SLOW, 1000, 200,
	    "interrupted", "query"), DB_SLOW);
	ck_assert_int_eq(db_outage_failed(&st, DB_FAULT_SLOW, 1000, 200,
	    "interrupted", "query"), DB_SLOW);
	/* inside the back-off the answer is the one that started it */
	ck_assert_int_eq(db_outage_wait(&st, 1100), DB_SLOW);
	ck_assert_int_eq(db_outage_wait(&st, 1200), DB_OK);
	db_outage_answered(&st);
	db_outage_answered(&st);
	log = log_capture_end();
	ck_assert_uint_eq(count_of(log, "database too slow: interrupted"), 1);
	ck_assert_uint_eq(count_of(log, "database answering in time again"), 1);
	ck_assert_uint_eq(count_of(log, "connection lost"), 0);
}
END_TEST

START_TEST(a_connect_failure_after_a_timeout_holds_down)
{
	struct db_outage st = {0};

	log_capture_begin();
	(void)db_outage_failed(&st, DB_FAULT_SLOW, 0, 100, "slow", "query");
	db_outage_unreachable(&st, 100, 100, "refused");
	(void)log_capture_end();
	ck_assert_int_eq(db_outage_wait(&st, 150), DB_DOWN);
}
END_TEST

START_TEST(other_errors_are_logged_once_per_cause_per_interval)
{
	struct db_outage st = {0};
	const char *log;
	long long t;

	log_capture_begin();
	/* a second a request, for a minute, each without back-off */
	for (t = 1000000; t < 1060000; t += 100) {
		ck_assert_int_eq(db_outage_failed(&st, DB_FAULT_OTHER, t, 500,
		    "no such table", "query"), DB_ERROR);
		ck_assert_int_eq(db_outage_wait(&st, t), DB_OK);
	}
	ck_assert_int_eq(db_outage_failed(&st, DB_FAULT_OTHER, t, 500,
	    "no such table", "reading rows"), DB_ERROR);
	log = log_capture_end();
	/* one line per 10 s, each after the first with its count */
	ck_assert_uint_eq(count_of(log, "query failed: no such table"),
	    60000 / LOG_RATE_INTERVAL_MS);
	ck_assert_uint_eq(count_of(log, "(99 more like it since the last "
	    "such line, left out)"), 60000 / LOG_RATE_INTERVAL_MS - 1);
	/* another cause has a line of its own */
	ck_assert_uint_eq(count_of(log, "reading rows failed: no such table"),
	    1);
}
END_TEST

START_TEST(only_a_quick_lost_connection_is_retried_once)
{
	ck_assert(db_outage_retry(DB_FAULT_LOST, 0, 0, 5));
	ck_assert(db_outage_retry(DB_FAULT_LOST, 0, 4999, 5));
	ck_assert(!db_outage_retry(DB_FAULT_LOST, 0, 5000, 5)); /* slow */
	ck_assert(!db_outage_retry(DB_FAULT_LOST, 1, 0, 5));    /* once */
	ck_assert(!db_outage_retry(DB_FAULT_SLOW, 0, 0, 5));
	ck_assert(!db_outage_retry(DB_FAULT_OTHER, 0, 0, 5));
}
END_TEST

/*
 * During an outage one connect at a time probes the database, across
 * all workers: the first claim after the back-off wins, and the others
 * wait out its hold, answering the held 503 meanwhile.
 */
START_TEST(one_connect_at_a_time_probes_an_outage)
{
	struct db_outage st = {0};

	/* no outage: every connect may go, and none holds the others */
	ck_assert(db_outage_claim(&st, 1000, 3000));
	ck_assert(db_outage_claim(&st, 1000, 3000));
	ck_assert_int_eq(db_outage_wait(&st, 1000), DB_OK);
	log_capture_begin();
	db_outage_unreachable(&st, 1000, 500, "refused");
	(void)log_capture_end();
	/* inside the back-off, none */
	ck_assert(!db_outage_claim(&st, 1200, 3000));
	ck_assert(!db_outage_claim(&st, 1499, 3000));
	/* after it, one: the next waits out its hold */
	ck_assert(db_outage_claim(&st, 1500, 3000));
	ck_assert(!db_outage_claim(&st, 1500, 3000));
	ck_assert(!db_outage_claim(&st, 4499, 3000));
	ck_assert_int_eq(db_outage_wait(&st, 2000), DB_DOWN);
	/* a probe that never came back: the hold ends, and another goes */
	ck_assert(db_outage_claim(&st, 4500, 3000));
	ck_assert(!db_outage_claim(&st, 4501, 3000));
}
END_TEST

/* The probe connected: its hold ends at once, and so does the outage. */
START_TEST(a_connect_that_works_clears_the_hold)
{
	struct db_outage st = {0};
	const char *log;

	log_capture_begin();
	db_outage_unreachable(&st, 0, 500, "refused");
	ck_assert(db_outage_claim(&st, 500, 3000));
	ck_assert_int_eq(db_outage_wait(&st, 600), DB_DOWN);
	db_outage_connected(&st);
	log = log_capture_end();
	ck_assert_uint_eq(count_of(log, "database connection restored"), 1);
	/* pages are tried, and every worker may connect, long before 3500 */
	ck_assert_int_eq(db_outage_wait(&st, 600), DB_OK);
	ck_assert(db_outage_claim(&st, 600, 3000));
	ck_assert(db_outage_claim(&st, 600, 3000));
	/* a slow spell's answer is not an outage's hold either */
	log_capture_begin();
	(void)db_outage_failed(&st, DB_FAULT_SLOW, 700, 200, "slow", "query");
	(void)log_capture_end();
	ck_assert(!db_outage_claim(&st, 800, 3000));
	ck_assert(db_outage_claim(&st, 900, 3000));
	ck_assert(db_outage_claim(&st, 900, 3000)); /* no outage: no hold */
}
END_TEST

Suite *
suite_dbpolicy(void)
{
	Suite *s = suite_create("dbpolicy");
	TCase *tc = tcase_create("outage");

	tcase_add_test(tc, lost_connections);
	tcase_add_test(tc, timeouts_are_slow_not_lost);
	tcase_add_test(tc, other_errors);
	tcase_add_test(tc, failed_connect_backs_off_for_the_delay);
	tcase_add_test(tc, a_failure_that_is_no_outage_backs_off_and_stays_a_500);
	tcase_add_test(tc, no_delay_tries_at_once);
	tcase_add_test(tc, lost_connection_is_down);
	tcase_add_test(tc, timeout_is_slow_and_holds_slow);
	tcase_add_test(tc, a_connect_failure_after_a_timeout_holds_down);
	tcase_add_test(tc, other_errors_are_logged_once_per_cause_per_interval);
	tcase_add_test(tc, only_a_quick_lost_connection_is_retried_once);
	tcase_add_test(tc, one_connect_at_a_time_probes_an_outage);
	tcase_add_test(tc, a_connect_that_works_clears_the_hold);
	suite_add_tcase(s, tc);
	return s;
}
