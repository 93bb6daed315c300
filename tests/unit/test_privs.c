/*
 * privs.c: as root, no start without run-as-user; with it, the switch
 * for good.  Each case runs in a forked child, since a switch cannot be
 * undone; as another user only the first case applies.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privs.h"
#include "unit.h"

static struct config cfg;
static char err[256];

/* Runs privs_drop for user in a child; its exit status says how it went. */
static int
drop_in_child(const char *user)
{
	const struct passwd *pw;
	pid_t pid;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.run_as_user, sizeof(cfg.run_as_user), "%s", user);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (privs_drop(&cfg, err, sizeof(err)) != 0)
			exit(strstr(err, "refusing to run as root: set run-as-user")
			    != NULL ? 10 : strstr(err, " is root") != NULL ? 13 :
			    11);
		pw = getpwnam("nobody");
		if (pw == NULL || getuid() != pw->pw_uid ||
		    geteuid() != pw->pw_uid || getgid() != pw->pw_gid ||
		    setuid(0) == 0)
			exit(12);
		exit(0);
	}
	return child_wait(pid, 5000);
}

START_TEST(root_without_run_as_user_is_refused)
{
	if (getuid() != 0)
		return; /* nothing to refuse */
	ck_assert_int_eq(drop_in_child(""), 10);
}
END_TEST

START_TEST(root_switches_to_run_as_user_for_good)
{
	if (getuid() != 0)
		return;
	ck_assert_int_eq(drop_in_child("nobody"), 0);
}
END_TEST

START_TEST(an_unknown_or_root_user_is_refused)
{
	if (getuid() != 0)
		return;
	ck_assert_int_eq(drop_in_child("no-such-user-here"), 11);
	ck_assert_int_eq(drop_in_child("root"), 13);
}
END_TEST

START_TEST(others_run_as_they_are)
{
	if (getuid() == 0)
		return;
	memset(&cfg, 0, sizeof(cfg));
	ck_assert_int_eq(privs_drop(&cfg, err, sizeof(err)), 0);
}
END_TEST

Suite *
suite_privs(void)
{
	Suite *s = suite_create("privs");
	TCase *tc = tcase_create("root");

	tcase_add_test(tc, root_without_run_as_user_is_refused);
	tcase_add_test(tc, root_switches_to_run_as_user_for_good);
	tcase_add_test(tc, an_unknown_or_root_user_is_refused);
	tcase_add_test(tc, others_run_as_they_are);
	suite_add_tcase(s, tc);
	return s;
}
