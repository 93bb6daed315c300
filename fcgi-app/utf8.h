/*
 * utf8: validation shared by the HTML and JSON escapers.
 *
 * Values arrive in chunks that may split a character, so the escaper
 * keeps up to three bytes of an unfinished sequence between calls.
 * Invalid bytes become U+FFFD: the output is always valid UTF-8.
 */
#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>

#include "out.h"

struct utf8_esc {
	unsigned char pend[4];
	size_t npend;
};

/* Writes the escaped form of one special ASCII byte. */
typedef void (*utf8_special_fn)(struct out *o, unsigned char c);

/*
 * Length of the UTF-8 sequence at p: n > 0 for a complete valid one,
 * 0 for a valid but unfinished prefix, -m for an invalid subpart of m
 * bytes, which stands for one U+FFFD.
 */
int utf8_seq(const unsigned char *p, size_t n);

/*
 * Nonzero if the complete, valid sequence p[0..n) is a character that
 * HTML forbids in a document (a parse error in the HTML standard): a C1
 * control (U+0080 to U+009F) or a noncharacter (U+FDD0 to U+FDEF, and
 * the last two code points of every plane).
 */
int utf8_html_forbidden(const unsigned char *p, int n);

/*
 * Copies p to o, passing valid UTF-8 through, calling special() for each
 * ASCII byte whose flag is set in special_tab, and writing U+FFFD for
 * each invalid subpart, and with strict also for each character that
 * utf8_html_forbidden names.  st carries an unfinished sequence to the
 * next call; utf8_esc_end() closes it.
 */
void utf8_esc_write(struct out *o, struct utf8_esc *st, const char *p,
    size_t n, const unsigned char special_tab[128], utf8_special_fn special,
    int strict);
void utf8_esc_end(struct out *o, struct utf8_esc *st);

#define UTF8_REPLACEMENT "\xEF\xBF\xBD"

#endif
