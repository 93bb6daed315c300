/*
 * log: one line per problem on stderr, which systemd sends to the
 * journal and the local scripts to a file.  Never pass a secret here.
 */
#ifndef LOG_H
#define LOG_H

void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* How long a cause given to log_rate stays quiet after its line. */
#define LOG_RATE_INTERVAL_MS 10000

/*
 * log_msg for a failure that may repeat on every request without being
 * an outage: at most one line per cause per LOG_RATE_INTERVAL_MS, and
 * the next line after a quiet spell says how many were left out.  cause
 * names the failure (the first 63 bytes count); now_ms is clock_ms().
 * The process remembers LOG_RATE_CAUSES causes, forgetting the one
 * logged longest ago.
 */
#define LOG_RATE_CAUSES 16
void log_rate(const char *cause, long long now_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
