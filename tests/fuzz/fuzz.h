/*
 * Shared by the libFuzzer harnesses: the entry point, a failing check
 * that libFuzzer reports as a crash, a bounded output sink, and the
 * UTF-8 and JSON validators the invariants are checked with.  The
 * validators are written apart from the product's code on purpose, so
 * that a bug there is not repeated here.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "out.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints what broke and aborts: libFuzzer saves the input as a crash. */
#define FUZZ_CHECK(cond)                                                   \
	((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))

void fuzz_fail(const char *file, int line, const char *what)
    __attribute__((noreturn));

/*
 * A sink that appends to a buffer of cap bytes.  A write that would
 * not fit fails (and sets overflow), as a client that went away would;
 * the buffer stays NUL-terminated.
 */
struct sink {
	char *buf;
	size_t len, cap;
	int overflow;
};

/* Allocates cap + 1 bytes; returns 0, or -1 if that fails. */
int sink_open(struct sink *s, struct out *o, size_t cap);
void sink_close(struct sink *s);

/* Nonzero if p[0..n) is well-formed UTF-8 (RFC 3629). */
int utf8_valid(const char *p, size_t n);
/* Length of the well-formed sequence at p (n > 0), or 0 if none is. */
size_t utf8_seq_len(const char *p, size_t n);
/*
 * Nonzero if p[0..n) is well-formed UTF-8 with no character that HTML
 * forbids in a document: no C1 control and no noncharacter.
 */
int html_chars_clean(const char *p, size_t n);
/* How many well-formed characters of p[0..n) HTML forbids so. */
size_t html_forbidden_chars(const char *p, size_t n);

/*
 * Nonzero if p[0..n) is one JSON text (RFC 8259): one value between
 * optional whitespace, strings in valid UTF-8 with no raw controls and
 * no unpaired surrogate escapes, nesting at most JSON_DEPTH_MAX deep.
 */
#define JSON_DEPTH_MAX 64
int json_valid(const char *p, size_t n);

/*
 * json_valid, which also finds the members called names[k] (as written,
 * escapes and all) of the top-level object: the text of the value of
 * the last one of each name is at p[found[k].off..+found[k].len), and
 * found[k].len is 0 where there is none.
 */
struct json_span {
	size_t off, len;
};
int json_find(const char *p, size_t n, const char *const names[],
    size_t nnames, struct json_span found[]);

/*
 * json_valid, which also checks that the objects three deep (the rows of
 * a page) give member k the same kind of value on every row: kinds[k] is
 * then 'n' (a number), 's' (a string), 'o' (any other but null) or 0
 * (only nulls, or no row).  0 if not valid, if a member changes kind, or
 * if a row has more than nkinds members.
 */
int json_row_kinds(const char *p, size_t n, char kinds[], size_t nkinds);

/*
 * Decodes the inside of a JSON string (no quotes) into dst, which holds
 * cap bytes.  Returns the decoded length, or -1 if p[0..n) is not a
 * valid string body or the result does not fit.
 */
long json_unescape(const char *p, size_t n, char *dst, size_t cap);

#endif
