/*
 * log: one line per problem on stderr, which systemd sends to the
 * journal and the local scripts to a file.  Never pass a secret here.
 */
#ifndef LOG_H
#define LOG_H

void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
