/* Runs every unit suite; Check prints its own summary. */
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static int
mem_sink(void *ctx, const char *p, size_t n)
{
	struct mem *m = ctx;

	m->calls++;
	if (m->fail_after > 0 && m->calls > m->fail_after)
		return -1;
	ck_assert_uint_lt(m->len + n, sizeof(m->data));
	memcpy(m->data + m->len, p, n);
	m->len += n;
	m->data[m->len] = '\0';
	return 0;
}

void
mem_open(struct out *o, struct mem *m)
{
	memset(m, 0, sizeof(*m));
	out_init(o, mem_sink, m);
}

const char *
mem_str(struct out *o, struct mem *m)
{
	(void)out_flush(o);
	return m->data;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite_escape());
	int failed;

	srunner_add_suite(sr, suite_http());
	srunner_add_suite(sr, suite_config());
	srunner_add_suite(sr, suite_out());
	srunner_add_suite(sr, suite_dbtext());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
