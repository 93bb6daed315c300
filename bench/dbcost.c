/*
 * dbcost: MariaDB's own CPU time per execution of the page's prepared
 * query, in several shapes and settings, one client executing in turn,
 * read from the server's /proc/PID/stat.  bench/dbcost.py builds and
 * runs it against a private database.
 *
 *   dbcost SOCKET USER DATABASE SERVER_PID EXECUTIONS ROUNDS
 *
 * The password comes in the environment (DBCOST_PASSWORD), not argv.
 */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct variant {
	const char *name;
	const char *query;
	int limit_only;      /* binds the limit alone */
	int time_limit;      /* SET SESSION max_statement_time first */
	int cursor;          /* a read-only cursor, prefetching the rows */
};

static const struct variant variants[] = {
	{"WHERE id >= ? ORDER BY id LIMIT ?",
	    "SELECT * FROM demo WHERE id >= ? ORDER BY id LIMIT ?", 0, 0, 0},
	{"  the same, session max_statement_time",
	    "SELECT * FROM demo WHERE id >= ? ORDER BY id LIMIT ?", 0, 1, 0},
	{"  the same, read-only cursor",
	    "SELECT * FROM demo WHERE id >= ? ORDER BY id LIMIT ?", 0, 0, 1},
	{"ORDER BY id LIMIT ?",
	    "SELECT * FROM demo ORDER BY id LIMIT ?", 1, 0, 0},
	{"  the same, session max_statement_time",
	    "SELECT * FROM demo ORDER BY id LIMIT ?", 1, 1, 0},
};
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))
#define MAX_ROUNDS 16

static long long
cpu_ticks(int pid)
{
	char path[64], buf[2048], *p;
	long long u = -1, s = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(buf, sizeof(buf), f) != NULL ? strrchr(buf, ')') : NULL;
	fclose(f);
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
	    "%*u %*u %lld %lld", &u, &s) != 2)
		return -1;
	return u + s;
}

/* Executes v n times on a new connection; us of server CPU per run. */
static double
measure(const struct variant *v, char **argv, int pid, int n)
{
	MYSQL *m = mysql_init(NULL);
	MYSQL_STMT *st = NULL;
	MYSQL_BIND b[2];
	unsigned long cursor = CURSOR_TYPE_READ_ONLY, prefetch = 101;
	long long from = -9223372036854775807LL - 1, t0, t1;
	unsigned limit = 100;
	double us = -1;
	int i;

	memset(b, 0, sizeof(b));
	b[0].buffer_type = MYSQL_TYPE_LONGLONG;
	b[0].buffer = &from;
	b[1].buffer_type = MYSQL_TYPE_LONG;
	b[1].buffer = &limit;
	b[1].is_unsigned = 1;
	if (m == NULL || mysql_real_connect(m, NULL, argv[2],
	    getenv("DBCOST_PASSWORD"), argv[3], 0, argv[1], 0) == NULL ||
	    (v->time_limit &&
	    mysql_query(m, "SET SESSION max_statement_time = 4.5") != 0) ||
	    (st = mysql_stmt_init(m)) == NULL ||
	    mysql_stmt_prepare(st, v->query, strlen(v->query)) != 0 ||
	    (v->cursor &&
	    (mysql_stmt_attr_set(st, STMT_ATTR_CURSOR_TYPE, &cursor) != 0 ||
	    mysql_stmt_attr_set(st, STMT_ATTR_PREFETCH_ROWS, &prefetch) != 0)) ||
	    mysql_stmt_bind_param(st, v->limit_only ? b + 1 : b) != 0) {
		fprintf(stderr, "dbcost: %s\n", m ? mysql_error(m) : "no memory");
		goto out;
	}
	t0 = -1;
	for (i = -200; i < n; i++) { /* 200 to warm up */
		if (i == 0)
			t0 = cpu_ticks(pid);
		if (mysql_stmt_execute(st) != 0) {
			fprintf(stderr, "dbcost: %s\n", mysql_stmt_error(st));
			goto out;
		}
		while (mysql_stmt_fetch(st) == 0)
			;
		mysql_stmt_free_result(st);
	}
	t1 = cpu_ticks(pid);
	if (t0 >= 0 && t1 >= 0)
		us = (double)(t1 - t0) * 1e6 / (double)sysconf(_SC_CLK_TCK) / n;
out:
	if (st != NULL)
		mysql_stmt_close(st);
	mysql_close(m);
	return us;
}

int
main(int argc, char **argv)
{
	double us[NVARIANTS][MAX_ROUNDS];
	int pid, n, rounds, r, k;
	size_t v;

	if (argc != 7 || (pid = atoi(argv[4])) <= 0 || (n = atoi(argv[5])) <= 0 ||
	    (rounds = atoi(argv[6])) <= 0 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: dbcost SOCKET USER DATABASE SERVER_PID "
		    "EXECUTIONS ROUNDS\n");
		return 2;
	}
	/* rounds, the order rotating, so drift spreads over all variants */
	for (r = 0; r < rounds; r++)
		for (k = 0; k < (int)NVARIANTS; k++) {
			v = (size_t)(k + r) % NVARIANTS;
			if ((us[v][r] = measure(&variants[v], argv, pid, n)) < 0)
				return 1;
		}
	for (v = 0; v < NVARIANTS; v++) {
		printf("%-42s", variants[v].name);
		for (r = 0; r < rounds; r++)
			printf(" %6.1f", us[v][r]);
		printf("  us of server CPU per execution\n");
	}
	return 0;
}
