/* The output buffer: large writes, numbers, sticky failure, HEAD, length. */
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

/* An answer's headers, ended by out_end_headers, and a body of n bytes. */
static void
answer(size_t n)
{
	size_t i;

	out_puts(&o, "Status: 200 OK\r\nContent-Type: text/plain\r\n");
	out_end_headers(&o);
	for (i = 0; i < n; i++)
		out_putc(&o, (char)('a' + i % 26));
}

START_TEST(a_whole_answer_gets_its_length)
{
	mem_open(&o, &m);
	answer(11);
	ck_assert_int_eq(out_finish(&o), 0);
	ck_assert_int_eq(m.calls, 1);
	ck_assert_str_eq(m.data, "Status: 200 OK\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 11\r\n\r\nabcdefghijk");
}
END_TEST

START_TEST(an_empty_body_has_length_zero)
{
	mem_open(&o, &m);
	answer(0);
	ck_assert_int_eq(out_finish(&o), 0);
	ck_assert_ptr_nonnull(strstr(m.data, "\r\nContent-Length: 0\r\n\r\n"));
	ck_assert_uint_eq(strlen(m.data) - (size_t)(strstr(m.data, "\r\n\r\n") + 4 - m.data),
	    0);
}
END_TEST

START_TEST(an_answer_already_partly_sent_has_none)
{
	mem_open(&o, &m);
	answer(OUT_BUFSZ + 100); /* one full buffer went out */
	ck_assert_int_eq(m.calls, 1);
	ck_assert_int_eq(out_finish(&o), 0);
	ck_assert_ptr_null(strstr(m.data, "Content-Length"));
	ck_assert_uint_eq(m.len, strlen("Status: 200 OK\r\nContent-Type: "
	    "text/plain\r\n\r\n") + OUT_BUFSZ + 100);
}
END_TEST

START_TEST(a_full_buffer_goes_out_without_it)
{
	size_t head = strlen("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n");

	mem_open(&o, &m);
	answer(OUT_BUFSZ - head - 5); /* no room for the field */
	ck_assert_int_eq(m.calls, 0);
	ck_assert_int_eq(out_finish(&o), 0);
	ck_assert_ptr_null(strstr(m.data, "Content-Length"));
	ck_assert_uint_eq(m.len, OUT_BUFSZ - 5);
}
END_TEST

START_TEST(a_rewound_answer_is_measured_afresh)
{
	mem_open(&o, &m);
	answer(40);
	ck_assert_int_eq(out_rewind(&o), 0);
	out_puts(&o, "Status: 503 Service Unavailable\r\n");
	out_end_headers(&o);
	out_puts(&o, "down");
	ck_assert_int_eq(out_finish(&o), 0);
	ck_assert_str_eq(m.data, "Status: 503 Service Unavailable\r\n"
	    "Content-Length: 4\r\n\r\ndown");
}
END_TEST

START_TEST(no_length_without_ended_headers_or_after_discard)
{
	mem_open(&o, &m);
	out_puts(&o, "bytes with no headers");
	ck_assert_int_eq(out_finish(&o), 0);
	ck_assert_str_eq(m.data, "bytes with no headers");
	mem_open(&o, &m);
	out_puts(&o, "Status: 200 OK\r\n\r\n");
	ck_assert_int_eq(out_flush(&o), 0);
	out_discard(&o);
	out_puts(&o, "body");
	ck_assert_int_eq(out_finish(&o), 0);
	ck_assert_str_eq(m.data, "Status: 200 OK\r\n\r\n");
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
	tcase_add_test(tc, a_whole_answer_gets_its_length);
	tcase_add_test(tc, an_empty_body_has_length_zero);
	tcase_add_test(tc, an_answer_already_partly_sent_has_none);
	tcase_add_test(tc, a_full_buffer_goes_out_without_it);
	tcase_add_test(tc, a_rewound_answer_is_measured_afresh);
	tcase_add_test(tc, no_length_without_ended_headers_or_after_discard);
	suite_add_tcase(s, tc);
	return s;
}
