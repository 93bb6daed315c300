#include "privs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
privs_drop(const struct config *cfg, char *err, size_t errlen)
{
	const struct passwd *pw;

	if (getuid() != 0 && geteuid() != 0)
		return 0;
	if (cfg->run_as_user[0] == '\0') {
		snprintf(err, errlen, "refusing to run as root: set run-as-user "
		    "in [fcgi-app], or start it as its own user (systemd "
		    "User=, spawn-fcgi -u)");
		return -1;
	}
	errno = 0;
	pw = getpwnam(cfg->run_as_user);
	if (pw == NULL) {
		snprintf(err, errlen, "run-as-user %s: %s", cfg->run_as_user,
		    errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "run-as-user %s is root", cfg->run_as_user);
		return -1;
	}
	/* groups first: once the uid is gone, they cannot be changed */
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		snprintf(err, errlen, "cannot switch to %s: %s",
		    cfg->run_as_user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || geteuid() == 0 || getegid() == 0) {
		snprintf(err, errlen, "switched to %s, but root came back",
		    cfg->run_as_user);
		return -1;
	}
	return 0;
}
