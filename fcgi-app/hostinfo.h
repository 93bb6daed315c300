/*
 * hostinfo: which machine serves the page, found once at start.
 *
 * On EC2 the instance id and availability zone come from the instance
 * metadata service with IMDSv2 (a PUT for a session token, then GETs
 * that carry it), each step bounded by imds-timeout-ms.  Elsewhere the
 * lookup fails quietly and only the hostname is shown.
 */
#ifndef HOSTINFO_H
#define HOSTINFO_H

#include "config.h"

#define HOSTINFO_FIELD_MAX 64

struct hostinfo {
	char hostname[256];
	char instance_id[HOSTINFO_FIELD_MAX]; /* "" when not on EC2 */
	char az[HOSTINFO_FIELD_MAX];          /* "" when not on EC2 */
};

void hostinfo_load(struct hostinfo *hi, const struct config *cfg);

#endif
