/* The HTML and JSON escapers and the UTF-8 check under them. */
#include <string.h>

#include "html.h"
#include "json.h"
#include "unit.h"

static struct out o;
static struct mem m;

static const char *
html(const char *s, size_t n)
{
	struct utf8_esc st = {{0}, 0};

	mem_open(&o, &m);
	html_escape(&o, &st, s, n);
	utf8_esc_end(&o, &st);
	return mem_str(&o, &m);
}

static const char *
json(const char *s, size_t n)
{
	struct utf8_esc st = {{0}, 0};

	mem_open(&o, &m);
	json_escape(&o, &st, s, n);
	utf8_esc_end(&o, &st);
	return mem_str(&o, &m);
}

#define H(s) html((s), sizeof(s) - 1)
#define J(s) json((s), sizeof(s) - 1)

START_TEST(html_markup)
{
	ck_assert_str_eq(H("<a href=\"x\">Tom & 'J'</a>"),
	    "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;J&#39;&lt;/a&gt;");
	ck_assert_str_eq(H("plain text"), "plain text");
	ck_assert_str_eq(H(""), "");
	ck_assert_str_eq(H("&amp;"), "&amp;amp;");
}
END_TEST

START_TEST(html_controls)
{
	/* tab, LF, CR stay; other C0 and DEL become control pictures */
	ck_assert_str_eq(H("a\tb\nc\rd"), "a\tb\nc\rd");
	ck_assert_str_eq(H("\x01"), "\xE2\x90\x81");
	ck_assert_str_eq(H("\x7F"), "\xE2\x90\xA1");
	ck_assert_str_eq(html("x\0y", 3), "x\xE2\x90\x80y");
}
END_TEST

START_TEST(utf8_passes)
{
	ck_assert_str_eq(H("서울 🚀 Zürich"), "서울 🚀 Zürich");
	ck_assert_str_eq(J("日本語 ✨"), "日本語 ✨");
}
END_TEST

START_TEST(utf8_invalid)
{
	/* lone continuation, overlong, surrogate, above U+10FFFF, bad lead */
	ck_assert_str_eq(H("a\x80" "b"), "a\xEF\xBF\xBD" "b");
	ck_assert_str_eq(H("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
	ck_assert_str_eq(H("\xED\xA0\x80"),
	    "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	ck_assert_str_eq(H("\xF4\x90\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD"
	    "\xEF\xBF\xBD\xEF\xBF\xBD");
	ck_assert_str_eq(H("\xFF"), "\xEF\xBF\xBD");
	/* a truncated sequence is one replacement, then the next char */
	ck_assert_str_eq(H("\xE2\x82<"), "\xEF\xBF\xBD&lt;");
	/* unfinished at the very end */
	ck_assert_str_eq(H("ok\xF0\x9F\x9A"), "ok\xEF\xBF\xBD");
}
END_TEST

START_TEST(html_c1_and_noncharacters)
{
	static const char *const forbidden[] = {"\xC2\x80", "\xC2\x9F",
	    "\xEF\xB7\x90", "\xEF\xB7\xAF", "\xEF\xBF\xBE", "\xEF\xBF\xBF",
	    "\xF0\x9F\xBF\xBE", "\xF0\x9F\xBF\xBF", "\xF3\xBF\xBF\xBF",
	    "\xF4\x8F\xBF\xBE", "\xF4\x8F\xBF\xBF"};
	/* their neighbours: U+00A0, U+FDCF, U+FDF0, U+FFFD, U+1FFFD, U+E0001 */
	static const char *const allowed[] = {"\xC2\xA0", "\xEF\xB7\x8F",
	    "\xEF\xB7\xB0", "\xEF\xBF\xBD", "\xF0\x9F\xBF\xBD",
	    "\xF3\xA0\x80\x81"};
	struct utf8_esc st = {{0}, 0};
	size_t i, cut;

	for (i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		ck_assert_str_eq(html(forbidden[i], strlen(forbidden[i])),
		    "\xEF\xBF\xBD");
		/* JSON carries them as they are: they are valid there */
		ck_assert_str_eq(json(forbidden[i], strlen(forbidden[i])),
		    forbidden[i]);
	}
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		ck_assert_str_eq(html(allowed[i], strlen(allowed[i])),
		    allowed[i]);
	ck_assert_str_eq(H("a\xC2\x85" "b"), "a\xEF\xBF\xBD" "b");
	/* split across chunks at every point: still one replacement */
	for (cut = 0; cut <= 3; cut++) {
		mem_open(&o, &m);
		html_escape(&o, &st, "x\xEF\xBF\xBF", 1 + cut);
		html_escape(&o, &st, "x\xEF\xBF\xBF" + 1 + cut, 3 - cut);
		utf8_esc_end(&o, &st);
		ck_assert_str_eq(mem_str(&o, &m), "x\xEF\xBF\xBD");
	}
}
END_TEST

START_TEST(utf8_split_across_chunks)
{
	const char *rocket = "\xF0\x9F\x9A\x80";
	struct utf8_esc st = {{0}, 0};
	size_t cut;

	/* every split point of a 4-byte character gives it back whole */
	for (cut = 0; cut <= 4; cut++) {
		mem_open(&o, &m);
		html_escape(&o, &st, rocket, cut);
		html_escape(&o, &st, rocket + cut, 4 - cut);
		utf8_esc_end(&o, &st);
		ck_assert_str_eq(mem_str(&o, &m), rocket);
	}
	/* a split sequence broken by the next chunk */
	mem_open(&o, &m);
	html_escape(&o, &st, "\xE2\x82", 2);
	html_escape(&o, &st, "<", 1);
	utf8_esc_end(&o, &st);
	ck_assert_str_eq(mem_str(&o, &m), "\xEF\xBF\xBD&lt;");
	/* one byte at a time */
	mem_open(&o, &m);
	for (cut = 0; cut < 4; cut++)
		json_escape(&o, &st, rocket + cut, 1);
	utf8_esc_end(&o, &st);
	ck_assert_str_eq(mem_str(&o, &m), rocket);
}
END_TEST

START_TEST(json_specials)
{
	ck_assert_str_eq(J("say \"hi\" \\ back"), "say \\\"hi\\\" \\\\ back");
	ck_assert_str_eq(J("a\nb\tc\rd\be\ff"), "a\\nb\\tc\\rd\\be\\ff");
	ck_assert_str_eq(json("\0\x01\x1f", 3), "\\u0000\\u0001\\u001f");
	ck_assert_str_eq(J("</script>"), "</script>");
	ck_assert_str_eq(J("\x7F"), "\x7F");
}
END_TEST

START_TEST(json_plain_means_unchanged)
{
	static const char *const plain[] = {"", "id", "created_at", "서울 🚀",
	    "a b/c'd<e>&", "del \x7f"};
	static const char *const not_plain[] = {"a\"b", "back\\slash",
	    "tab\there", "\xFF", "\xE2\x82", "\xED\xA0\x80"};
	size_t i;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		ck_assert_int_ne(json_plain(plain[i], strlen(plain[i])), 0);
		ck_assert_str_eq(json(plain[i], strlen(plain[i])), plain[i]);
	}
	for (i = 0; i < sizeof(not_plain) / sizeof(not_plain[0]); i++) {
		ck_assert_int_eq(json_plain(not_plain[i], strlen(not_plain[i])),
		    0);
		ck_assert_str_ne(json(not_plain[i], strlen(not_plain[i])),
		    not_plain[i]);
	}
	ck_assert_int_eq(json_plain("x\0y", 3), 0);
}
END_TEST

START_TEST(json_string_and_null)
{
	mem_open(&o, &m);
	json_string(&o, "x\"y");
	out_putc(&o, ',');
	json_string(&o, NULL);
	ck_assert_str_eq(mem_str(&o, &m), "\"x\\\"y\",null");
}
END_TEST

START_TEST(json_numbers)
{
	static const char *const good[] = {"0", "-0", "12", "12.50", "-5.25",
	    "1e10", "1.5E-3", "2e+7", "1234567890123456789012345"};
	static const char *const bad[] = {"", "-", "01", "1.", ".5", "+1",
	    "1e", "0x10", "NaN", "inf", "1 ", " 1", "1.2.3", "--1"};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(json_is_number(good[i], strlen(good[i])),
		    "%s should be a JSON number", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!json_is_number(bad[i], strlen(bad[i])),
		    "%s should not be a JSON number", bad[i]);
}
END_TEST

START_TEST(utf8_seq_lengths)
{
	ck_assert_int_eq(utf8_seq((const unsigned char *)"A", 1), 1);
	ck_assert_int_eq(utf8_seq((const unsigned char *)"\xC3\xA9", 2), 2);
	ck_assert_int_eq(utf8_seq((const unsigned char *)"\xC3", 1), 0);
	ck_assert_int_eq(utf8_seq((const unsigned char *)"\xE0\x80", 2), -1);
	ck_assert_int_eq(utf8_seq((const unsigned char *)"\xE2\x82\x41", 3),
	    -2);
	ck_assert_int_eq(utf8_seq((const unsigned char *)"\xF0\x9F\x9A\x80",
	    4), 4);
}
END_TEST

Suite *
suite_escape(void)
{
	Suite *s = suite_create("escape");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, html_markup);
	tcase_add_test(tc, html_controls);
	tcase_add_test(tc, utf8_passes);
	tcase_add_test(tc, utf8_invalid);
	tcase_add_test(tc, html_c1_and_noncharacters);
	tcase_add_test(tc, utf8_split_across_chunks);
	tcase_add_test(tc, json_specials);
	tcase_add_test(tc, json_plain_means_unchanged);
	tcase_add_test(tc, json_string_and_null);
	tcase_add_test(tc, json_numbers);
	tcase_add_test(tc, utf8_seq_lengths);
	suite_add_tcase(s, tc);
	return s;
}
