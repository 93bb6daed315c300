/* Shared by the unit tests: the suites, and an output sink in memory. */
#ifndef UNIT_H
#define UNIT_H

#include <check.h>
#include <stddef.h>
#include <sys/types.h>

#include "out.h"

Suite *suite_escape(void);
Suite *suite_http(void);
Suite *suite_config(void);
Suite *suite_out(void);
Suite *suite_dbtext(void);
Suite *suite_dbcell(void);
Suite *suite_dbpolicy(void);
Suite *suite_supervisor(void);
Suite *suite_privs(void);
Suite *suite_fcgiconn(void);
Suite *suite_buf(void);
/* build/unit-fake: over tests/fuzz/fake_db.c */
Suite *suite_app(void);
Suite *suite_worker(void);
Suite *suite_dbpool(void);

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

/* Log lines (stderr) from begin to end go to a file; end returns them. */
void log_capture_begin(void);
const char *log_capture_end(void);
/*
 * The exit status of child pid if it exits within ms; fails the test if
 * it does not (after killing it), or if a signal ended it.
 */
int child_wait(pid_t pid, int ms);
/* The text of a file, up to 8 KiB, in a static buffer. */
const char *file_text(const char *path);

/* How many times needle occurs in haystack. */
unsigned count_of(const char *haystack, const char *needle);

#endif
