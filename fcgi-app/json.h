/*
 * json: the only way a value reaches a JSON document.
 */
#ifndef JSON_H
#define JSON_H

#include <stddef.h>

#include "utf8.h"

/*
 * Escapes the inside of a JSON string: " and \ with a backslash, control
 * characters as \n, \t, ... or \u00XX.  Streams: see utf8_esc_write.
 */
void json_escape(struct out *o, struct utf8_esc *st, const char *p, size_t n);
/*
 * Nonzero if json_escape would copy p[0..n) unchanged: valid UTF-8 with
 * no byte that needs escaping.
 */
int json_plain(const char *p, size_t n);
/* A whole NUL-terminated string, with its quotes; NULL writes null. */
void json_string(struct out *o, const char *s);
/*
 * Nonzero if p[0..n) is a number in JSON's grammar, so a numeric column
 * can be written bare; anything else is written as a string.
 */
int json_is_number(const char *p, size_t n);

#endif
