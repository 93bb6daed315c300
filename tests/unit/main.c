/* Runs every unit suite; Check prints its own summary. */
#include <stdlib.h>

#include "unit.h"

int
main(void)
{
	SRunner *sr = srunner_create(suite_escape());
	int failed;

	srunner_add_suite(sr, suite_http());
	srunner_add_suite(sr, suite_config());
	srunner_add_suite(sr, suite_out());
	srunner_add_suite(sr, suite_dbtext());
	srunner_add_suite(sr, suite_dbcell());
	srunner_add_suite(sr, suite_dbpolicy());
	srunner_add_suite(sr, suite_supervisor());
	srunner_add_suite(sr, suite_privs());
	srunner_add_suite(sr, suite_fcgiconn());
	srunner_add_suite(sr, suite_buf());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
