/*
 * dbtls: the connection's options read back after connecting (dbtls.h).
 */
#include "dbtls.h"

#include "clock.h"
#include "log.h"

/* Logs that [client] changed option name, and returns -1. */
static int
dbtls_overridden(const char *name)
{
	log_rate("tls options", clock_ms(), "refusing the database "
	    "connection: [client] %s overrides what [fcgi-app] sets", name);
	return -1;
}

/*
 * Reads an unsigned int option back; -1 (logged) if the library cannot
 * say, 1 if it differs from want, else 0.
 */
static int
dbtls_uint_differs(MYSQL *m, enum mysql_option opt, unsigned want)
{
	unsigned v = 0;

	if (mysql_get_optionv(m, opt, &v) != 0) {
		log_msg("cannot read back a database connection option");
		return -1;
	}
	return v != want;
}

/* As dbtls_uint_differs, for a my_bool option. */
static int
dbtls_bool_differs(MYSQL *m, enum mysql_option opt, my_bool want)
{
	my_bool v = !want;

	if (mysql_get_optionv(m, opt, &v) != 0) {
		log_msg("cannot read back a database connection option");
		return -1;
	}
	return (v != 0) != (want != 0);
}

int
dbtls_check_options(MYSQL *m, const struct config *cfg)
{
	static const struct {
		enum mysql_option opt;
		const char *name;
		int tls_only;
	} bools[] = {
		{MYSQL_OPT_SSL_VERIFY_SERVER_CERT, "ssl-verify-server-cert", 1},
		{MYSQL_OPT_SSL_ENFORCE, "ssl-enforce", 1},
		{MYSQL_OPT_RECONNECT, "reconnect", 0},
	};
	const struct {
		enum mysql_option opt;
		const char *name;
		unsigned want;
	} uints[] = {
		{MYSQL_OPT_CONNECT_TIMEOUT, "connect-timeout", cfg->connect_timeout},
		{MYSQL_OPT_READ_TIMEOUT, "read-timeout", cfg->read_timeout},
		{MYSQL_OPT_WRITE_TIMEOUT, "write-timeout", cfg->write_timeout},
	};
	char **cmds = NULL;
	unsigned ncmds = 0;
	size_t i;
	int d;

	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		if (bools[i].tls_only && !cfg->require_tls)
			continue;
		/* TLS options must be on; reconnect must stay off */
		d = dbtls_bool_differs(m, bools[i].opt, bools[i].tls_only);
		if (d != 0)
			return d < 0 ? -1 : dbtls_overridden(bools[i].name);
	}
	for (i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
		d = dbtls_uint_differs(m, uints[i].opt, uints[i].want);
		if (d != 0)
			return d < 0 ? -1 : dbtls_overridden(uints[i].name);
	}
	/* the session is the program's: its limit, its character set */
	if (mysql_get_optionv(m, MYSQL_INIT_COMMAND, &cmds, &ncmds) != 0) {
		log_msg("cannot read back a database connection option");
		return -1;
	}
	if (ncmds != 0)
		return dbtls_overridden("init-command");
	return 0;
}
