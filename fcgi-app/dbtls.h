/*
 * dbtls: what the client library must not be left to decide on a
 * connection: the thread's TLS error state before connecting, and,
 * after it, the options the program set, read back as the library
 * holds them once it has read the option file's [client] group.
 */
#ifndef DBTLS_H
#define DBTLS_H

#include <mysql.h>

#include "config.h"

/*
 * Empties this thread's OpenSSL error queue.  Connector/C looks at it
 * after a TLS handshake step, so an entry left there by a connection
 * that ended without a close_notify fails the next handshake.  Called
 * before every connect.
 */
void dbtls_clear_errors(void);

/*
 * 0 if the connected handle m still has the options cfg asks for; -1
 * after logging one line naming the first option that [client] (read by
 * the library inside mysql_real_connect, after the program's own
 * options) changed: ssl-verify-server-cert and ssl-enforce with
 * require-tls, the three timeouts, reconnect, and any init-command.
 */
int dbtls_check_options(MYSQL *m, const struct config *cfg);

#endif
