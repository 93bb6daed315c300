/* Shared by the unit tests: the suites, and an output sink in memory. */
#ifndef UNIT_H
#define UNIT_H

#include <check.h>
#include <stddef.h>

#include "out.h"

Suite *suite_escape(void);
Suite *suite_http(void);
Suite *suite_config(void);
Suite *suite_out(void);
Suite *suite_dbtext(void);

struct mem {
	char data[1 << 17];
	size_t len;
	int fail_after; /* sink fails once this many calls were made; 0: never */
	int calls;
};

/* An out whose sink appends to m; m->data stays NUL-terminated. */
void mem_open(struct out *o, struct mem *m);
/* Flushes o and returns m->data. */
const char *mem_str(struct out *o, struct mem *m);

#endif
