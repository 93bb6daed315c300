/*
 * keepalive.c: when a worker stops keeping its FastCGI connections, and
 * that it starts again, without a socket or a clock.
 */
#include "keepalive.h"
#include "unit.h"

/* Pages every step ms from *now for span ms, with waiting as given;
 * returns how many of them kept their connection. */
static int
pages(struct keepalive *k, long long *now, long long span, long long step,
    int waiting)
{
	long long end = *now + span;
	int kept = 0;

	for (; *now < end; *now += step)
		kept += keepalive_after_page(k, *now, waiting);
	return kept;
}

START_TEST(nothing_waiting_keeps_every_connection)
{
	struct keepalive k = {0, 0};
	long long now = 1000000;

	ck_assert_int_eq(pages(&k, &now, 10000, 1, 0), 10000);
}
END_TEST

START_TEST(a_short_wait_keeps_them)
{
	struct keepalive k = {0, 0};
	long long now = 1000000;

	/* waits shorter than KEEPALIVE_WAIT_MS, with an empty look between */
	ck_assert_int_eq(pages(&k, &now, KEEPALIVE_WAIT_MS - 1, 1, 1),
	    KEEPALIVE_WAIT_MS - 1);
	ck_assert_int_eq(keepalive_after_page(&k, now++, 0), 1);
	ck_assert_int_eq(pages(&k, &now, KEEPALIVE_WAIT_MS - 1, 1, 1),
	    KEEPALIVE_WAIT_MS - 1);
}
END_TEST

START_TEST(a_long_wait_closes_them_for_the_spell)
{
	struct keepalive k = {0, 0};
	long long now = 1000000;

	ck_assert_int_eq(pages(&k, &now, KEEPALIVE_WAIT_MS, 1, 1),
	    KEEPALIVE_WAIT_MS);
	/* the first page at KEEPALIVE_WAIT_MS closes, and so does the spell */
	ck_assert_int_eq(pages(&k, &now, KEEPALIVE_CLOSE_MS, 1, 1), 0);
}
END_TEST

START_TEST(the_spell_ends_while_connections_still_wait)
{
	struct keepalive k = {0, 0};
	long long now = 1000000;

	(void)pages(&k, &now, KEEPALIVE_WAIT_MS + KEEPALIVE_CLOSE_MS, 1, 1);
	/* judged afresh: kept for a whole wait, then a new spell */
	ck_assert_int_eq(pages(&k, &now, KEEPALIVE_WAIT_MS, 1, 1),
	    KEEPALIVE_WAIT_MS);
	ck_assert_int_eq(keepalive_after_page(&k, now++, 1), 0);
}
END_TEST

START_TEST(the_spell_ends_once_nothing_waits)
{
	struct keepalive k = {0, 0};
	long long now = 1000000;

	(void)pages(&k, &now, KEEPALIVE_WAIT_MS + 1, 1, 1);
	ck_assert_int_eq(keepalive_after_page(&k, now++, 1), 0);
	ck_assert_int_eq(keepalive_after_page(&k, now++, 0), 1);
	ck_assert_int_eq(keepalive_after_page(&k, now++, 1), 1);
}
END_TEST

START_TEST(under_lasting_backlog_the_spells_take_most_of_the_time)
{
	struct keepalive k = {0, 0};
	long long now = 1000000;
	long long span = 100 * (KEEPALIVE_WAIT_MS + KEEPALIVE_CLOSE_MS);
	int kept = pages(&k, &now, span, 1, 1);

	/* about one kept page per millisecond of each wait, no more */
	ck_assert_int_le(kept, 101 * KEEPALIVE_WAIT_MS);
	ck_assert_int_ge(kept, 99 * KEEPALIVE_WAIT_MS);
}
END_TEST

Suite *
suite_keepalive(void)
{
	Suite *s = suite_create("keepalive");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, nothing_waiting_keeps_every_connection);
	tcase_add_test(tc, a_short_wait_keeps_them);
	tcase_add_test(tc, a_long_wait_closes_them_for_the_spell);
	tcase_add_test(tc, the_spell_ends_while_connections_still_wait);
	tcase_add_test(tc, the_spell_ends_once_nothing_waits);
	tcase_add_test(tc, under_lasting_backlog_the_spells_take_most_of_the_time);
	suite_add_tcase(s, tc);
	return s;
}
