/* buf.c: the bound, growth that keeps the bytes, taking and trimming. */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "unit.h"

/* The bytes held are exactly p[0..n). */
static void
holds(const struct buf *b, const void *p, size_t n)
{
	ck_assert_uint_eq(b->len, n);
	ck_assert_uint_le(b->off + b->len, b->cap);
	ck_assert_uint_le(b->cap, b->max);
	if (n > 0)
		ck_assert_int_eq(memcmp(buf_data(b), p, n), 0);
}

START_TEST(the_bound_holds)
{
	struct buf b;

	buf_init(&b, 10);
	ck_assert_ptr_null(b.p);
	ck_assert_int_eq(buf_add(&b, "", 0), 0); /* nothing, and no memory */
	holds(&b, "", 0);
	ck_assert_ptr_null(buf_room(&b, 11));
	ck_assert_int_eq(buf_add(&b, "0123456789x", 11), -1);
	holds(&b, "", 0);
	ck_assert_int_eq(buf_add(&b, "0123456789", 10), 0);
	holds(&b, "0123456789", 10);
	ck_assert_uint_eq(b.cap, 10); /* not the usual 4096: the bound */
	ck_assert_int_eq(buf_add(&b, "x", 1), -1);
	ck_assert_ptr_null(buf_room(&b, 1));
	ck_assert_ptr_null(buf_room(&b, SIZE_MAX));
	/* a failed add leaves the bytes as they were */
	holds(&b, "0123456789", 10);
	ck_assert_ptr_nonnull(buf_room(&b, 0));
	buf_free(&b);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.max, 10);
	ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(growth_keeps_the_bytes)
{
	static unsigned char want[100000];
	struct buf b;
	size_t i, at = 0, step;

	for (i = 0; i < sizeof(want); i++)
		want[i] = (unsigned char)(i * 31 + 7);
	buf_init(&b, sizeof(want));
	for (step = 1; at < sizeof(want); step = step * 3 + 1) {
		size_t k = sizeof(want) - at < step ? sizeof(want) - at : step;

		ck_assert_int_eq(buf_add(&b, want + at, k), 0);
		at += k;
		holds(&b, want, at);
	}
	ck_assert_uint_eq(b.cap, sizeof(want)); /* doubled up to the bound */
	ck_assert_int_eq(buf_add(&b, "x", 1), -1);
	holds(&b, want, sizeof(want));
	buf_free(&b);
}
END_TEST

/* buf_room hands out room past the bytes; only the length makes them count. */
START_TEST(room_is_written_in_place)
{
	struct buf b;
	unsigned char *r;

	buf_init(&b, 64);
	ck_assert_int_eq(buf_add(&b, "ab", 2), 0);
	r = buf_room(&b, 3);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_eq(r, buf_data(&b) + 2);
	memcpy(r, "cde", 3);
	holds(&b, "ab", 2);
	b.len += 3;
	holds(&b, "abcde", 5);
	buf_free(&b);
}
END_TEST

START_TEST(take_drops_from_the_front)
{
	struct buf b;

	buf_init(&b, 10);
	ck_assert_int_eq(buf_add(&b, "0123456789", 10), 0);
	buf_take(&b, 3);
	holds(&b, "3456789", 7);
	ck_assert_uint_eq(b.off, 3);
	/* the room taken at the front is reused: 7 + 3 fit in 10 */
	ck_assert_int_eq(buf_add(&b, "abc", 3), 0);
	holds(&b, "3456789abc", 10);
	ck_assert_uint_eq(b.off, 0);
	ck_assert_int_eq(buf_add(&b, "d", 1), -1);
	buf_take(&b, 0);
	holds(&b, "3456789abc", 10);
	/* taking all, or more, empties it and starts again at the front */
	buf_take(&b, 4);
	buf_take(&b, 100);
	holds(&b, "", 0);
	ck_assert_uint_eq(b.off, 0);
	ck_assert_int_eq(buf_add(&b, "0123456789", 10), 0);
	holds(&b, "0123456789", 10);
	buf_free(&b);
}
END_TEST

START_TEST(trim_frees_only_an_empty_buffer)
{
	struct buf b;

	buf_init(&b, 100000);
	ck_assert_int_eq(buf_add(&b, "hello", 5), 0);
	buf_trim(&b);
	ck_assert_ptr_nonnull(b.p);
	holds(&b, "hello", 5);
	buf_take(&b, 2);
	buf_trim(&b);
	holds(&b, "llo", 3);
	buf_take(&b, 3);
	buf_trim(&b);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.cap, 0);
	ck_assert_uint_eq(b.off, 0);
	ck_assert_uint_eq(b.max, 100000);
	/* and it grows again */
	ck_assert_int_eq(buf_add(&b, "again", 5), 0);
	holds(&b, "again", 5);
	buf_trim(&b);
	buf_free(&b);
	buf_trim(&b); /* freed: nothing to do, no double free */
	ck_assert_ptr_null(b.p);
}
END_TEST

Suite *
suite_buf(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("bounds");

	tcase_add_test(tc, the_bound_holds);
	tcase_add_test(tc, growth_keeps_the_bytes);
	tcase_add_test(tc, room_is_written_in_place);
	tcase_add_test(tc, take_drops_from_the_front);
	tcase_add_test(tc, trim_frees_only_an_empty_buffer);
	suite_add_tcase(s, tc);
	return s;
}
