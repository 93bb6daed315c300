/*
 * dbtls: the options the program sets on a connection, read back after
 * connecting, as the library holds them once it has read the option
 * file's [client] group.
 */
#ifndef DBTLS_H
#define DBTLS_H

#include <mysql.h>

#include "config.h"

/*
 * 0 if the connected handle m still has the options cfg asks for; -1
 * after logging one line naming the first option that [client] (read by
 * the library inside mysql_real_connect, after the program's own
 * options) changed: ssl-verify-server-cert and ssl-enforce with
 * require-tls, the three timeouts, reconnect, and any init-command.
 */
int dbtls_check_options(MYSQL *m, const struct config *cfg);

#endif
