/*
 * html: the only way a value reaches an HTML page.
 */
#ifndef HTML_H
#define HTML_H

#include <stddef.h>

#include "utf8.h"

/*
 * Escapes & < > " ' as character references; C0 controls other than
 * tab, LF and CR, and DEL, become their visible Unicode control pictures
 * (U+2400 block), and C1 controls and noncharacters U+FFFD, which
 * keeps the page valid HTML.  Streams: see utf8_esc_write.
 */
void html_escape(struct out *o, struct utf8_esc *st, const char *p, size_t n);
/* One whole NUL-terminated string. */
void html_text(struct out *o, const char *s);

#endif
