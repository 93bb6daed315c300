/* The output buffer: large writes, numbers, sticky failure, HEAD. */
#include <limits.h>
#include <string.h>

#include "unit.h"

static struct out o;
static struct mem m;

START_TEST(passes_bytes_in_few_calls)
{
	static char big[OUT_BUFSZ * 3 + 17];
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	mem_open(&o, &m);
	out_write(&o, big, sizeof(big));
	ck_assert_int_eq(out_flush(&o), 0);
	ck_assert_uint_eq(m.len, sizeof(big));
	ck_assert_int_eq(memcmp(m.data, big, sizeof(big)), 0);
	ck_assert_int_eq(m.calls, 4); /* three full buffers and the rest */
}
END_TEST

START_TEST(short_writes_up_to_a_full_buffer)
{
	static char part[OUT_BUFSZ];
	size_t i;

	for (i = 0; i < sizeof(part); i++)
		part[i] = (char)('A' + i % 26);
	mem_open(&o, &m);
	out_write(&o, part, sizeof(part) - 3); /* copied inline */
	out_puts(&o, "xyz");                  /* fills the buffer: sent */
	ck_assert_int_eq(m.calls, 1);
	ck_assert_uint_eq(m.len, sizeof(part));
	out_puts(&o, "tail");
	ck_assert_int_eq(m.calls, 1);
	ck_assert_str_eq(mem_str(&o, &m) + sizeof(part), "tail");
	ck_assert_int_eq(memcmp(m.data, part, sizeof(part) - 3), 0);
	ck_assert_int_eq(memcmp(m.data + sizeof(part) - 3, "xyz", 3), 0);
}
END_TEST

START_TEST(numbers)
{
	mem_open(&o, &m);
	out_uint(&o, 0);
	out_putc(&o, ' ');
	out_int(&o, -42);
	out_putc(&o, ' ');
	out_int(&o, LLONG_MIN);
	out_putc(&o, ' ');
	out_int(&o, LLONG_MAX);
	ck_assert_str_eq(mem_str(&o, &m),
	    "0 -42 -9223372036854775808 9223372036854775807");
}
END_TEST

START_TEST(failure_is_sticky)
{
	static char big[OUT_BUFSZ];

	mem_open(&o, &m);
	m.fail_after = 1;
	out_write(&o, big, sizeof(big)); /* first sink call succeeds */
	ck_assert_int_eq(out_error(&o), 0);
	out_write(&o, big, sizeof(big)); /* second fails */
	ck_assert_int_eq(out_error(&o), -1);
	out_puts(&o, "more");
	ck_assert_int_eq(out_flush(&o), -1);
	ck_assert_uint_eq(m.len, sizeof(big));
}
END_TEST

START_TEST(discard_sends_nothing)
{
	mem_open(&o, &m);
	out_puts(&o, "head");
	ck_assert_int_eq(out_flush(&o), 0);
	out_discard(&o);
	out_puts(&o, "body");
	out_putc(&o, '!');
	ck_assert_str_eq(mem_str(&o, &m), "head");
}
END_TEST

START_TEST(rewind_only_before_anything_is_sent)
{
	static char part[OUT_BUFSZ];

	memset(part, 'p', sizeof(part));
	mem_open(&o, &m);
	out_puts(&o, "Status: 200 OK\r\n\r\n<table>");
	ck_assert_int_eq(out_rewind(&o), 0);
	out_puts(&o, "Status: 503");
	ck_assert_int_eq(out_flush(&o), 0);
	ck_assert_uint_eq(m.len, 11);
	ck_assert_int_eq(memcmp(m.data, "Status: 503", 11), 0);

	mem_open(&o, &m);
	out_write(&o, part, sizeof(part)); /* a full buffer goes out */
	out_puts(&o, "more");
	ck_assert_int_eq(out_rewind(&o), -1);
	ck_assert_int_eq(out_flush(&o), 0);
	ck_assert_uint_eq(m.len, sizeof(part) + 4); /* nothing dropped */
}
END_TEST

Suite *
suite_out(void)
{
	Suite *s = suite_create("out");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, passes_bytes_in_few_calls);
	tcase_add_test(tc, short_writes_up_to_a_full_buffer);
	tcase_add_test(tc, numbers);
	tcase_add_test(tc, failure_is_sticky);
	tcase_add_test(tc, discard_sends_nothing);
	tcase_add_test(tc, rewind_only_before_anything_is_sent);
	suite_add_tcase(s, tc);
	return s;
}
