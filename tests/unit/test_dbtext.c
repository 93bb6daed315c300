/* Integers, dates and times as MariaDB prints them. */
#include <limits.h>
#include <string.h>

#include "dbtext.h"
#include "unit.h"

static char buf[DBTEXT_MAX + 1];

static const char *
int_text(unsigned long long v, int is_unsigned, unsigned width)
{
	size_t n = dbtext_int(buf, DBTEXT_MAX, v, is_unsigned, width);

	buf[n] = '\0';
	return buf;
}

static const char *
time_text(enum dbtext_kind kind, const struct dbtext_time *t,
    unsigned decimals)
{
	size_t n = dbtext_time(buf, DBTEXT_MAX, kind, t, decimals);

	buf[n] = '\0';
	return buf;
}

START_TEST(integers)
{
	ck_assert_str_eq(int_text(0, 0, 0), "0");
	ck_assert_str_eq(int_text(0, 1, 0), "0");
	ck_assert_str_eq(int_text((unsigned long long)-1LL, 0, 0), "-1");
	ck_assert_str_eq(int_text((unsigned long long)-1LL, 1, 0),
	    "18446744073709551615");
	ck_assert_str_eq(int_text((unsigned long long)LLONG_MIN, 0, 0),
	    "-9223372036854775808");
	ck_assert_str_eq(int_text(LLONG_MAX, 0, 0), "9223372036854775807");
	ck_assert_str_eq(int_text(127, 0, 0), "127");
}
END_TEST

START_TEST(zerofill)
{
	ck_assert_str_eq(int_text(0, 1, 4), "0000"); /* YEAR 0000 */
	ck_assert_str_eq(int_text(42, 1, 8), "00000042");
	ck_assert_str_eq(int_text(4294967295u, 1, 8), "4294967295");
	ck_assert_str_eq(int_text(7, 1, 1), "7");
	ck_assert_uint_eq(strlen(int_text(1, 1, DBTEXT_WIDTH_MAX)),
	    DBTEXT_WIDTH_MAX);
}
END_TEST

START_TEST(integers_bounded)
{
	char small[4];

	ck_assert_uint_eq(dbtext_int(small, sizeof(small), 1234, 1, 0), 4);
	ck_assert_uint_eq(dbtext_int(small, sizeof(small), 12345, 1, 0), 0);
	ck_assert_uint_eq(dbtext_int(small, sizeof(small), 1, 1, 5), 0);
	ck_assert_uint_eq(dbtext_int(small, sizeof(small), (unsigned long long)
	    -123LL, 0, 0), 4);
	ck_assert_uint_eq(dbtext_int(small, sizeof(small), (unsigned long long)
	    -1234LL, 0, 0), 0);
	ck_assert_uint_eq(dbtext_int(small, 0, 0, 1, 0), 0);
}
END_TEST

START_TEST(dates)
{
	struct dbtext_time zero = {0, 0, 0, 0, 0, 0, 0, 0};
	struct dbtext_time t = {2024, 2, 29, 9, 8, 7, 0, 0};

	ck_assert_str_eq(time_text(DBTEXT_DATE, &zero, 0), "0000-00-00");
	ck_assert_str_eq(time_text(DBTEXT_DATE, &t, 0), "2024-02-29");
	ck_assert_str_eq(time_text(DBTEXT_DATE, &t, 6), "2024-02-29");
	ck_assert_str_eq(time_text(DBTEXT_DATETIME, &zero, 0),
	    "0000-00-00 00:00:00");
	ck_assert_str_eq(time_text(DBTEXT_DATETIME, &zero, 6),
	    "0000-00-00 00:00:00.000000");
	ck_assert_str_eq(time_text(DBTEXT_DATETIME, &t, 0),
	    "2024-02-29 09:08:07");
}
END_TEST

START_TEST(fractions)
{
	struct dbtext_time t = {9999, 12, 31, 23, 59, 59, 999999, 0};

	ck_assert_str_eq(time_text(DBTEXT_DATETIME, &t, 6),
	    "9999-12-31 23:59:59.999999");
	ck_assert_str_eq(time_text(DBTEXT_DATETIME, &t, 3),
	    "9999-12-31 23:59:59.999");
	t.usec = 1;
	ck_assert_str_eq(time_text(DBTEXT_DATETIME, &t, 6),
	    "9999-12-31 23:59:59.000001");
	ck_assert_str_eq(time_text(DBTEXT_DATETIME, &t, 5),
	    "9999-12-31 23:59:59.00000");
	t.usec = 500000;
	ck_assert_str_eq(time_text(DBTEXT_DATETIME, &t, 1),
	    "9999-12-31 23:59:59.5");
	ck_assert_uint_eq(dbtext_time(buf, DBTEXT_MAX, DBTEXT_DATETIME, &t, 7),
	    0);
}
END_TEST

START_TEST(times)
{
	struct dbtext_time t = {0, 0, 0, 838, 59, 59, 0, 1};

	ck_assert_str_eq(time_text(DBTEXT_TIME, &t, 0), "-838:59:59");
	t.neg = 0;
	ck_assert_str_eq(time_text(DBTEXT_TIME, &t, 3), "838:59:59.000");
	t.hour = 100;
	t.minute = t.second = 0;
	ck_assert_str_eq(time_text(DBTEXT_TIME, &t, 0), "100:00:00");
	t.hour = 0;
	t.usec = 1000;
	t.neg = 1;
	ck_assert_str_eq(time_text(DBTEXT_TIME, &t, 3), "-00:00:00.001");
	t.year = 2024; /* a TIME shows no date */
	ck_assert_str_eq(time_text(DBTEXT_TIME, &t, 0), "-00:00:00");
}
END_TEST

START_TEST(times_bounded)
{
	struct dbtext_time t = {2024, 1, 2, 3, 4, 5, 6, 0};
	struct dbtext_time huge = {UINT_MAX, UINT_MAX, UINT_MAX, UINT_MAX,
	    UINT_MAX, UINT_MAX, ULONG_MAX, 1};
	char exact[26], tiny[25];

	ck_assert_uint_eq(dbtext_time(exact, sizeof(exact), DBTEXT_DATETIME,
	    &t, 6), 26);
	ck_assert_int_eq(memcmp(exact, "2024-01-02 03:04:05.000006", 26), 0);
	ck_assert_uint_eq(dbtext_time(tiny, sizeof(tiny), DBTEXT_DATETIME,
	    &t, 6), 0);
	/* out-of-range fields still fit the documented maximum */
	ck_assert_uint_gt(dbtext_time(buf, DBTEXT_MAX, DBTEXT_DATETIME, &huge,
	    6), 0);
	ck_assert_uint_gt(dbtext_time(buf, DBTEXT_MAX, DBTEXT_TIME, &huge, 6),
	    0);
}
END_TEST

Suite *
suite_dbtext(void)
{
	Suite *s = suite_create("dbtext");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, integers);
	tcase_add_test(tc, zerofill);
	tcase_add_test(tc, integers_bounded);
	tcase_add_test(tc, dates);
	tcase_add_test(tc, fractions);
	tcase_add_test(tc, times);
	tcase_add_test(tc, times_bounded);
	suite_add_tcase(s, tc);
	return s;
}
