#include "keepalive.h"

int
keepalive_after_page(struct keepalive *k, long long now_ms, int waiting)
{
	int keep = 1;

	if (!waiting) {
		k->waiting_since = 0;
		k->closing_until = 0;
	} else if (k->closing_until != 0 && now_ms < k->closing_until) {
		keep = 0;
	} else if (k->closing_until != 0) {
		/* the spell is over: judged afresh from now */
		k->closing_until = 0;
		k->waiting_since = now_ms;
	} else if (k->waiting_since == 0) {
		k->waiting_since = now_ms;
	} else if (now_ms - k->waiting_since >= KEEPALIVE_WAIT_MS) {
		k->closing_until = now_ms + KEEPALIVE_CLOSE_MS;
		k->waiting_since = 0;
		keep = 0;
	}
	return keep;
}
