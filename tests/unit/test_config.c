/* The option-file reader: defaults, values, and errors with lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

/* What workers = 0 comes to here: one per processor, at most 16. */
static unsigned
auto_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	ck_assert_int_ge(n, 1);
	return n < 16 ? (unsigned)n : 16u;
}

static struct config cfg;
static char err[512], path[64];

/* Writes n bytes of text to a new temporary file and loads it. */
static int
load_n(const char *text, size_t n)
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/fcgi-app-unit-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
	err[0] = '\0';
	fd = config_load(&cfg, path, err, sizeof(err));
	unlink(path);
	return fd;
}

static int
load(const char *text)
{
	return load_n(text, strlen(text));
}

/* The error names the file and line, and says what is wrong. */
static void
fails_at(const char *text, unsigned line, const char *says)
{
	char where[96];

	ck_assert_msg(load(text) == -1, "accepted: %s", text);
	if (line > 0)
		snprintf(where, sizeof(where), "%s:%u: ", path, line);
	else
		snprintf(where, sizeof(where), "%s: ", path);
	ck_assert_msg(strncmp(err, where, strlen(where)) == 0,
	    "'%s' does not start with '%s'", err, where);
	ck_assert_msg(strstr(err, says) != NULL, "'%s' lacks '%s'", err, says);
}

START_TEST(minimal_gets_defaults)
{
	ck_assert_int_eq(load("[fcgi-app]\ntable = demo\n"), 0);
	ck_assert_str_eq(cfg.table, "demo");
	ck_assert_str_eq(cfg.key, "id");
	ck_assert_uint_eq(cfg.default_limit, 100);
	ck_assert_uint_eq(cfg.max_limit, 1000);
	/* workers = 0, the default: one per processor, within db-connections */
	ck_assert_uint_eq(cfg.workers, auto_workers());
	ck_assert_uint_eq(cfg.connections, 4096);
	ck_assert_uint_eq(cfg.db_connections, 16);
	ck_assert_uint_eq(cfg.db_wait_ms, 500);
	ck_assert_uint_eq(cfg.drain_seconds, 0);
	ck_assert_int_eq(cfg.imds, 1);
	ck_assert_str_eq(cfg.imds_host, "169.254.169.254");
	ck_assert_int_eq(cfg.require_tls, 0);
	ck_assert_uint_eq(cfg.request_read_timeout, 10);
	ck_assert_uint_eq(cfg.response_write_timeout, 10);
	ck_assert_str_eq(cfg.run_as_user, "");
}
END_TEST

START_TEST(full_file)
{
	ck_assert_int_eq(load(
	    "# an RDS-style option file\n"
	    "[client]\n"
	    "host = db.example.internal\n"
	    "port = 3306\n"
	    "user = fcgi_app\n"
	    "password = \"p#ss w=rd\"\n"
	    "ssl-ca = /etc/fcgi-app/rds-ca.pem\n"
	    "ssl-verify-server-cert\n"
	    "\n"
	    "; settings of the program\n"
	    "[fcgi-app]\n"
	    "  table = orders   # trailing comment\n"
	    "key = order_id\n"
	    "default_limit = 25\n"
	    "max-limit = '500'\n"
	    "connect-timeout = 3\n"
	    "read-timeout = 4\n"
	    "write-timeout = 6\n"
	    "reconnect-delay-ms = 250\n"
	    "retry-after = 2\n"
	    "workers = 8\n"
	    "drain-seconds = 15\n"
	    "require-tls = on\n"
	    "imds = off\n"
	    "imds-host = 127.0.0.1\n"
	    "imds-port = 8111\n"
	    "imds-timeout-ms = 50\n"
	    "request-read-timeout = 7\n"
	    "response_write_timeout = 9\n"
	    "run-as-user = fcgi-app\n"
	    "mount = /table/\n"), 0);
	ck_assert_str_eq(cfg.table, "orders");
	ck_assert_str_eq(cfg.key, "order_id");
	ck_assert_uint_eq(cfg.default_limit, 25);
	ck_assert_uint_eq(cfg.max_limit, 500);
	ck_assert_uint_eq(cfg.connect_timeout, 3);
	ck_assert_uint_eq(cfg.read_timeout, 4);
	ck_assert_uint_eq(cfg.write_timeout, 6);
	ck_assert_uint_eq(cfg.reconnect_delay_ms, 250);
	ck_assert_uint_eq(cfg.retry_after, 2);
	ck_assert_uint_eq(cfg.workers, 8);
	ck_assert_uint_eq(cfg.drain_seconds, 15);
	ck_assert_int_eq(cfg.require_tls, 1);
	ck_assert_int_eq(cfg.imds, 0);
	ck_assert_str_eq(cfg.imds_host, "127.0.0.1");
	ck_assert_uint_eq(cfg.imds_port, 8111);
	ck_assert_uint_eq(cfg.imds_timeout_ms, 50);
	ck_assert_uint_eq(cfg.request_read_timeout, 7);
	ck_assert_uint_eq(cfg.response_write_timeout, 9);
	ck_assert_str_eq(cfg.run_as_user, "fcgi-app");
	ck_assert_str_eq(cfg.mount, "/table/");
	ck_assert_str_eq(cfg.path, path);
}
END_TEST

START_TEST(errors_name_file_and_line)
{
	fails_at("[fcgi-app]\ntable = demo\ntabel = x\n", 3,
	    "unknown setting 'tabel' in [fcgi-app]");
	fails_at("[fcgi-app]\ntable = demo; DROP TABLE x\n", 2,
	    "table must be a plain identifier");
	fails_at("[fcgi-app]\ntable = `demo`\n", 2, "plain identifier");
	fails_at("[fcgi-app]\ntable = 123\n", 2, "plain identifier");
	fails_at("[fcgi-app]\ntable = demo\nworkers = 257\n", 3,
	    "workers must be a whole number from 0 to 256");
	fails_at("[fcgi-app]\ntable = demo\nconnections = 0\n", 3,
	    "connections must be a whole number from 1 to 65536");
	fails_at("[fcgi-app]\ntable = demo\ndb-connections = 0\n", 3,
	    "db-connections must be a whole number from 1 to 4096");
	fails_at("[fcgi-app]\ntable = demo\ndb-wait-ms = 60001\n", 3,
	    "db-wait-ms must be a whole number from 1 to 60000");
	fails_at("[fcgi-app]\ntable = demo\nrequest-read-timeout = 0\n", 3,
	    "request-read-timeout must be a whole number from 1 to 3600");
	fails_at("[fcgi-app]\ntable = demo\nresponse-write-timeout = 3601\n",
	    3, "response-write-timeout must be a whole number from 1 to 3600");
	fails_at("[fcgi-app]\ntable = demo\nrun-as-user = Root\n", 3,
	    "run-as-user must be a system user name");
	fails_at("[fcgi-app]\ntable = demo\nrun-as-user = -x\n", 3,
	    "run-as-user must be a system user name");
	fails_at("[fcgi-app]\ntable = demo\nrun-as-user = "
	    "a23456789012345678901234567890123\n", 3,
	    "run-as-user must be a system user name");
	fails_at("[fcgi-app]\ntable = demo\nworkers = 4x\n", 3, "workers");
	fails_at("[fcgi-app]\ntable = demo\nworkers = -1\n", 3, "workers");
	fails_at("[fcgi-app]\ntable = demo\ndrain-seconds = 601\n", 3,
	    "drain-seconds must be a whole number from 0 to 600");
	fails_at("[fcgi-app]\ntable = demo\nrequire-tls = maybe\n", 3,
	    "require-tls must be on or off");
	fails_at("[fcgi-app]\ntable = demo\nimds-host = metadata\n", 3,
	    "IPv4");
	fails_at("[fcgi-app]\ntable = demo\nworkers\n", 3, "needs a value");
	fails_at("table = demo\n", 1, "setting before any [group]");
	fails_at("[fcgi-app\n", 1, "group header");
	fails_at("[client]\nho st = x\n", 2, "malformed option name");
	fails_at("[client]\n= x\n", 2, "missing option name");
	fails_at("[client]\n!exec rm\n", 2, "not supported");
	fails_at("[client]\n!include /etc/x.cnf\n", 2, "!include and other "
	    "directives are not supported");
	fails_at("[client]\n!includedir /etc/x.d\n", 2, "not supported");
	fails_at("[fcgi-app]\ntable = \"demo\n", 2, "table: unterminated "
	    "quote, or text after the closing quote");
	fails_at("[fcgi-app]\ntable = \"demo\" x\n", 2, "unterminated quote");
	fails_at("[fcgi-app] x\ntable = demo\n", 1, "group header");
}
END_TEST

START_TEST(quotes_and_comments)
{
	ck_assert_int_eq(load("[fcgi-app] # the program's own settings\n"
	    "table = \"demo\" # a note\n"
	    "key = 'k1'\n"
	    "workers = 3 # three\n"
	    "[client] ; the library's\n"), 0);
	ck_assert_str_eq(cfg.table, "demo");
	ck_assert_str_eq(cfg.key, "k1");
	ck_assert_uint_eq(cfg.workers, 3);
}
END_TEST

START_TEST(errors_without_line)
{
	fails_at("[client]\nuser = x\n", 0, "no table set");
	fails_at("[fcgi-app]\ntable = demo\ndefault-limit = 50\nmax-limit "
	    "= 10\n", 0, "default-limit (50) is above max-limit (10)");
	/* each worker needs a database connection of its own */
	fails_at("[fcgi-app]\ntable = demo\nworkers = 17\n", 0,
	    "workers (17) is above db-connections (16)");
	fails_at("[fcgi-app]\ntable = demo\nworkers = 5\ndb-connections = 4\n",
	    0, "workers (5) is above db-connections (4)");
}
END_TEST

/* workers = 0 is valid, and is sized to the machine when loaded. */
START_TEST(workers_zero_is_one_per_processor)
{
	ck_assert_int_eq(load("[fcgi-app]\ntable = demo\nworkers = 0\n"), 0);
	ck_assert_uint_eq(cfg.workers, auto_workers());
	/* capped by db-connections */
	ck_assert_int_eq(load("[fcgi-app]\ntable = demo\nworkers = 0\n"
	    "db-connections = 1\n"), 0);
	ck_assert_uint_eq(cfg.workers, 1);
	/* explicit, up to db-connections, as written */
	ck_assert_int_eq(load("[fcgi-app]\ntable = demo\nworkers = 16\n"), 0);
	ck_assert_uint_eq(cfg.workers, 16);
	ck_assert_int_eq(load("[fcgi-app]\ntable = demo\nconnections = 10\n"
	    "db-connections = 40\ndb-wait-ms = 20\n"), 0);
	ck_assert_uint_eq(cfg.connections, 10);
	ck_assert_uint_eq(cfg.db_connections, 40);
	ck_assert_uint_eq(cfg.db_wait_ms, 20);
}
END_TEST

/* config_size for any machine: workers = min(nproc, db-connections). */
START_TEST(sizing_for_any_processor_count)
{
	static const unsigned nproc[] = {1, 2, 15, 16, 17, 256};
	struct config c;
	size_t i;

	memset(&c, 0, sizeof(c));
	for (i = 0; i < sizeof(nproc) / sizeof(nproc[0]); i++) {
		c.workers = 0;
		c.db_connections = 16;
		config_size(&c, nproc[i]);
		ck_assert_uint_eq(c.workers, nproc[i] < 16 ? nproc[i] : 16);
	}
	/* a number set in the file is kept, whatever the machine */
	c.workers = 3;
	config_size(&c, 64);
	ck_assert_uint_eq(c.workers, 3);
	c.workers = 0;
	c.db_connections = 1;
	config_size(&c, 8);
	ck_assert_uint_eq(c.workers, 1);
}
END_TEST

/* Each worker's share of db-connections: rounded down, never 0. */
START_TEST(database_connections_per_worker)
{
	struct config c;

	memset(&c, 0, sizeof(c));
	c.db_connections = 16;
	c.workers = 2;
	ck_assert_uint_eq(config_db_per_worker(&c), 8);
	c.workers = 3;
	ck_assert_uint_eq(config_db_per_worker(&c), 5);
	c.workers = 16;
	ck_assert_uint_eq(config_db_per_worker(&c), 1);
	c.db_connections = 17;
	ck_assert_uint_eq(config_db_per_worker(&c), 1);
	/* as loaded: the default 16 over the machine's workers */
	ck_assert_int_eq(load("[fcgi-app]\ntable = demo\n"), 0);
	ck_assert_uint_eq(config_db_per_worker(&cfg), 16 / auto_workers());
	ck_assert_uint_ge(config_db_per_worker(&cfg) * cfg.workers, 1);
}
END_TEST

START_TEST(long_line)
{
	static char text[CONFIG_LINE_MAX + 64];

	strcpy(text, "[client]\nuser = ");
	memset(text + strlen(text), 'x', CONFIG_LINE_MAX);
	strcat(text, "\n");
	fails_at(text, 2, "longer than");
}
END_TEST

START_TEST(nul_byte)
{
	/* not taken for a long line, nor cut short at the end of the file */
	static const char inside[] = "[fcgi-app]\ntable = de\0mo\n";
	static const char at_end[] = "[fcgi-app]\ntable = demo\0 x";

	ck_assert_int_eq(load_n(inside, sizeof(inside) - 1), -1);
	ck_assert_msg(strstr(err, ":2: NUL byte") != NULL, "%s", err);
	ck_assert_int_eq(load_n(at_end, sizeof(at_end) - 1), -1);
	ck_assert_msg(strstr(err, ":2: NUL byte") != NULL, "%s", err);
}
END_TEST

START_TEST(missing_file)
{
	ck_assert_int_eq(config_load(&cfg, "/nonexistent/fcgi-app.cnf", err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "/nonexistent/fcgi-app.cnf: cannot open: "
	    "No such file or directory");
	ck_assert_int_eq(config_load(&cfg, "/tmp", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/tmp: "));
}
END_TEST

START_TEST(identifiers)
{
	static char longest[CONFIG_IDENT_MAX + 2];

	ck_assert(config_is_ident("demo"));
	ck_assert(config_is_ident("t_1$"));
	ck_assert(config_is_ident("1a"));
	ck_assert(!config_is_ident("12"));
	ck_assert(!config_is_ident(""));
	ck_assert(!config_is_ident("a-b"));
	ck_assert(!config_is_ident("a`b"));
	ck_assert(!config_is_ident("sch.tbl"));
	ck_assert(!config_is_ident("d\xC3\xA9mo"));
	memset(longest, 'a', CONFIG_IDENT_MAX);
	ck_assert(config_is_ident(longest));
	longest[CONFIG_IDENT_MAX] = 'a';
	ck_assert(!config_is_ident(longest));
}
END_TEST

/* Mount paths: "/" or "/a/b/", plain segments, nothing to escape. */
START_TEST(mounts)
{
	static char longest[CONFIG_MOUNT_MAX + 2];

	ck_assert(config_is_mount("/"));
	ck_assert(config_is_mount("/table/"));
	ck_assert(config_is_mount("/a/b.c/~d_e-f/"));
	ck_assert(config_is_mount("/.well/"));
	ck_assert(config_is_mount("/.../"));
	ck_assert(!config_is_mount(""));
	ck_assert(!config_is_mount("table/"));
	ck_assert(!config_is_mount("/table"));
	ck_assert(!config_is_mount("//"));
	ck_assert(!config_is_mount("/a//b/"));
	ck_assert(!config_is_mount("/./"));
	ck_assert(!config_is_mount("/a/../"));
	ck_assert(!config_is_mount("/a b/"));
	ck_assert(!config_is_mount("/a\"b/"));
	ck_assert(!config_is_mount("/a?b/"));
	ck_assert(!config_is_mount("/a%2F/"));
	ck_assert(!config_is_mount("/&amp;/"));
	ck_assert(!config_is_mount("/d\xC3\xA9/"));
	memset(longest, 'a', CONFIG_MOUNT_MAX);
	longest[0] = '/';
	longest[CONFIG_MOUNT_MAX - 1] = '/';
	ck_assert(config_is_mount(longest));
	longest[CONFIG_MOUNT_MAX - 1] = 'a';
	longest[CONFIG_MOUNT_MAX] = '/';
	ck_assert(!config_is_mount(longest));
	fails_at("[fcgi-app]\ntable = demo\nmount = /table\n", 3,
	    "mount must be / or a path");
	ck_assert_int_eq(load("[fcgi-app]\ntable = demo\n"), 0);
	ck_assert_str_eq(cfg.mount, "/");
}
END_TEST

Suite *
suite_config(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, minimal_gets_defaults);
	tcase_add_test(tc, full_file);
	tcase_add_test(tc, errors_name_file_and_line);
	tcase_add_test(tc, quotes_and_comments);
	tcase_add_test(tc, errors_without_line);
	tcase_add_test(tc, workers_zero_is_one_per_processor);
	tcase_add_test(tc, sizing_for_any_processor_count);
	tcase_add_test(tc, database_connections_per_worker);
	tcase_add_test(tc, long_line);
	tcase_add_test(tc, nul_byte);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, identifiers);
	tcase_add_test(tc, mounts);
	suite_add_tcase(s, tc);
	return s;
}
