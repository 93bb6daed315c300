/*
 * privs: the program never serves as root.  Started as root, it
 * switches to run-as-user first, or refuses to start.
 */
#ifndef PRIVS_H
#define PRIVS_H

#include <stddef.h>

#include "config.h"

/*
 * Nothing to do unless running as root; as root, switches for good to
 * cfg->run_as_user (its groups, its gid, its uid).  Returns 0, or -1
 * with the reason in err.
 */
int privs_drop(const struct config *cfg, char *err, size_t errlen);

#endif
