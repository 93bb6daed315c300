/*
 * hostinfo: which machine serves the page, found once at start.
 *
 * On EC2 the instance id and availability zone come from the instance
 * metadata service with IMDSv2 (a PUT for a session token, then GETs
 * that carry it), each call bounded by imds-timeout-ms.  A slow or failing
 * service gets up to three tries, 100 ms and then 200 ms apart, all within
 * three imds-timeout-ms plus those 300 ms (0.9 s by default).  If none
 * answers, one line is logged and only the hostname is shown.
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
