/*
 * The unit suites that run over tests/fuzz/fake_db.c instead of db.c:
 * app.c, worker.c and dbpool.c.  A binary of their own, since the fake and db.c
 * define the same functions.
 */
#include <stdlib.h>

#include "unit.h"

int
main(void)
{
	SRunner *sr = srunner_create(suite_app());
	int failed;

	srunner_add_suite(sr, suite_worker());
	srunner_add_suite(sr, suite_dbpool());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
