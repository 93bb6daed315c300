#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "log.h"

enum config_kind {
	CONFIG_UINT,
	CONFIG_IDENT,
	CONFIG_BOOL,
	CONFIG_IPV4,
	CONFIG_USER,
	CONFIG_MOUNT,
};

struct setting {
	const char *name; /* as written, with '-'; '_' is accepted too */
	enum config_kind kind;
	size_t off;
	unsigned min, max; /* CONFIG_UINT */
};

#define OFF(f) offsetof(struct config, f)

static const struct setting settings[] = {
	{"table", CONFIG_IDENT, OFF(table), 0, 0},
	{"key", CONFIG_IDENT, OFF(key), 0, 0},
	{"mount", CONFIG_MOUNT, OFF(mount), 0, 0},
	{"default-limit", CONFIG_UINT, OFF(default_limit), 1, 100000},
	{"max-limit", CONFIG_UINT, OFF(max_limit), 1, 100000},
	{"connect-timeout", CONFIG_UINT, OFF(connect_timeout), 1, 3600},
	{"read-timeout", CONFIG_UINT, OFF(read_timeout), 1, 3600},
	{"write-timeout", CONFIG_UINT, OFF(write_timeout), 1, 3600},
	{"reconnect-delay-ms", CONFIG_UINT, OFF(reconnect_delay_ms), 0, 60000},
	{"retry-after", CONFIG_UINT, OFF(retry_after), 1, 3600},
	{"request-read-timeout", CONFIG_UINT, OFF(request_read_timeout), 1, 3600},
	{"response-write-timeout", CONFIG_UINT, OFF(response_write_timeout), 1,
	    3600},
	{"run-as-user", CONFIG_USER, OFF(run_as_user), 0, 0},
	{"workers", CONFIG_UINT, OFF(workers), 0, 256},
	{"connections", CONFIG_UINT, OFF(connections), 1, 65536},
	{"db-connections", CONFIG_UINT, OFF(db_connections), 1, 4096},
	{"db-wait-ms", CONFIG_UINT, OFF(db_wait_ms), 1, 60000},
	{"drain-seconds", CONFIG_UINT, OFF(drain_seconds), 0, 600},
	{"require-tls", CONFIG_BOOL, OFF(require_tls), 0, 0},
	{"imds", CONFIG_BOOL, OFF(imds), 0, 0},
	{"imds-host", CONFIG_IPV4, OFF(imds_host), 0, 0},
	{"imds-port", CONFIG_UINT, OFF(imds_port), 1, 65535},
	{"imds-timeout-ms", CONFIG_UINT, OFF(imds_timeout_ms), 1, 10000},
};

static void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->key, "id");
	strcpy(cfg->mount, "/");
	cfg->default_limit = 100;
	cfg->max_limit = 1000;
	cfg->connect_timeout = 2;
	cfg->read_timeout = 5;
	cfg->write_timeout = 5;
	cfg->reconnect_delay_ms = 500;
	cfg->retry_after = 1;
	cfg->request_read_timeout = 10;
	cfg->response_write_timeout = 10;
	cfg->workers = 0;
	cfg->connections = 4096;
	cfg->db_connections = 16;
	cfg->db_wait_ms = 500;
	cfg->imds = 1;
	strcpy(cfg->imds_host, "169.254.169.254");
	cfg->imds_port = 80;
	cfg->imds_timeout_ms = 200;
}

/* A system user name: a letter or _, then letters, digits, _ and -. */
static int
is_user_name(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= CONFIG_USER_MAX || !isascii(c) || !(islower(c) ||
		    c == '_' || (i > 0 && (isdigit(c) || c == '-'))))
			return 0;
	}
	return i > 0;
}

int
config_is_ident(const char *s)
{
	size_t i;
	int digits_only = 1;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= CONFIG_IDENT_MAX)
			return 0;
		if (!(isascii(c) && (isalnum(c) || c == '_' || c == '$')))
			return 0;
		if (!isdigit(c))
			digits_only = 0;
	}
	return i > 0 && !digits_only;
}

int
config_is_mount(const char *s)
{
	size_t i, seg = 0, dots = 0;

	if (s[0] != '/' || strlen(s) > CONFIG_MOUNT_MAX)
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '/') {
			/* no empty, "." or ".." segment */
			if (seg == 0 || dots == seg)
				return 0;
			seg = dots = 0;
			continue;
		}
		if (!(isascii(c) && (isalnum(c) || c == '.' || c == '_' ||
		    c == '~' || c == '-')))
			return 0;
		seg++;
		if (c == '.' && dots + 1 == seg && seg <= 2)
			dots++;
	}
	return seg == 0; /* ends with '/' */
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Option names compare with '-' and '_' alike, as in MySQL. */
static int
name_eq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		char x = *a == '_' ? '-' : *a, y = *b == '_' ? '-' : *b;

		if (x != y)
			return 0;
	}
	return *a == *b;
}

/*
 * The value of a setting: a quoted string without its quotes, or the
 * text before a # comment.  NULL for an unterminated quote, or for text
 * other than a comment after the closing quote.
 */
static char *
parse_value(char *v)
{
	char *close, *hash;

	if (*v == '"' || *v == '\'') {
		close = strchr(v + 1, *v);
		if (close == NULL)
			return NULL;
		*close = '\0';
		hash = trim(close + 1);
		return *hash == '\0' || *hash == '#' ? v + 1 : NULL;
	}
	hash = strchr(v, '#');
	if (hash != NULL)
		*hash = '\0';
	return trim(v);
}

static int
parse_uint(const char *v, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long x;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || x < min || x > max)
		return -1;
	*out = (unsigned)x;
	return 0;
}

static int
parse_bool(const char *v, int *out)
{
	static const char *const yes[] = {"1", "on", "yes", "true"};
	static const char *const no[] = {"0", "off", "no", "false"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static void
fmt_err(char *err, size_t errlen, const char *path, unsigned line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
fmt_err(char *err, size_t errlen, const char *path, unsigned line,
    const char *fmt, ...)
{
	va_list ap;
	int n;

	n = line > 0 ? snprintf(err, errlen, "%s:%u: ", path, line)
		     : snprintf(err, errlen, "%s: ", path);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Applies one [fcgi-app] setting; returns 0 or -1 with a message in why. */
static int
apply(struct config *cfg, const char *name, char *value, char *why,
    size_t whylen)
{
	const struct setting *s = NULL;
	struct in_addr a;
	size_t i;
	char *field;

	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (name_eq(name, settings[i].name))
			s = &settings[i];
	if (s == NULL) {
		snprintf(why, whylen, "unknown setting '%s' in [fcgi-app]", name);
		return -1;
	}
	field = (char *)cfg + s->off;
	value = parse_value(value);
	if (value == NULL) {
		snprintf(why, whylen, "%s: unterminated quote, or text after "
		    "the closing quote", s->name);
		return -1;
	}
	switch (s->kind) {
	case CONFIG_UINT:
		if (parse_uint(value, s->min, s->max, (unsigned *)field) == 0)
			return 0;
		snprintf(why, whylen, "%s must be a whole number from %u to %u",
		    s->name, s->min, s->max);
		return -1;
	case CONFIG_BOOL:
		if (parse_bool(value, (int *)field) == 0)
			return 0;
		snprintf(why, whylen, "%s must be on or off", s->name);
		return -1;
	case CONFIG_IDENT:
		if (config_is_ident(value)) {
			strcpy(field, value); /* fits: length checked */
			return 0;
		}
		snprintf(why, whylen, "%s must be a plain identifier "
		    "(letters, digits, _ and $, at most %d)", s->name,
		    CONFIG_IDENT_MAX);
		return -1;
	case CONFIG_USER:
		if (is_user_name(value)) {
			strcpy(field, value); /* fits: length checked */
			return 0;
		}
		snprintf(why, whylen, "%s must be a system user name (a-z, "
		    "digits, _ and -, at most %d)", s->name, CONFIG_USER_MAX);
		return -1;
	case CONFIG_MOUNT:
		if (config_is_mount(value)) {
			strcpy(field, value); /* fits: length checked */
			return 0;
		}
		snprintf(why, whylen, "%s must be / or a path such as /table/ "
		    "(segments of A-Z a-z 0-9 . _ ~ -, starting and ending "
		    "with /, at most %d bytes)", s->name, CONFIG_MOUNT_MAX);
		return -1;
	case CONFIG_IPV4:
		if (strlen(value) < sizeof(cfg->imds_host) &&
		    inet_pton(AF_INET, value, &a) == 1) {
			strcpy(field, value);
			return 0;
		}
		snprintf(why, whylen, "%s must be an IPv4 address", s->name);
		return -1;
	}
	return -1;
}

/* Checks one line; applies it if it belongs to [fcgi-app]. */
static int
parse_line(struct config *cfg, char *line, int *group, char *why,
    size_t whylen)
{
	char *s = trim(line), *eq, *name, *value = NULL;
	size_t i;

	if (*s == '\0' || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		char *close = strchr(s, ']'), *rest;

		rest = close != NULL ? trim(close + 1) : NULL;
		if (rest == NULL || (*rest != '\0' && *rest != '#' &&
		    *rest != ';')) {
			snprintf(why, whylen, "a group header must look like "
			    "[name]");
			return -1;
		}
		*close = '\0';
		name = trim(s + 1);
		*group = strcmp(name, "fcgi-app") == 0 ? 2 : 1;
		return 0;
	}
	if (*s == '!') {
		/* included files would hide settings from this reader */
		snprintf(why, whylen, "!include and other directives are not "
		    "supported: keep every setting in this one file");
		return -1;
	}
	if (*group == 0) {
		snprintf(why, whylen, "setting before any [group]");
		return -1;
	}
	eq = strchr(s, '=');
	if (eq != NULL) {
		*eq = '\0';
		value = trim(eq + 1);
	}
	name = trim(s);
	for (i = 0; name[i] != '\0'; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!(isascii(c) && (isalnum(c) || c == '-' || c == '_'))) {
			snprintf(why, whylen, "malformed option name");
			return -1;
		}
	}
	if (i == 0) {
		snprintf(why, whylen, "missing option name before '='");
		return -1;
	}
	if (*group != 2)
		return 0; /* [client] and others belong to the client library */
	if (value == NULL) {
		snprintf(why, whylen, "'%s' needs a value (name = value)", name);
		return -1;
	}
	return apply(cfg, name, value, why, whylen);
}

/*
 * fgets, and how much it read: the buffer is filled with bytes other
 * than NUL first, so the last NUL in it is the one fgets wrote, whatever
 * NUL bytes the line holds.  Returns 0 at the end of the file.
 */
static int
read_line(FILE *f, char *line, size_t cap, size_t *len)
{
	memset(line, 'x', cap);
	if (fgets(line, (int)cap, f) == NULL)
		return 0;
	for (*len = cap - 1; line[*len] != '\0'; (*len)--)
		;
	return 1;
}

/* The processors this process may run on, at least 1. */
static unsigned
config_nproc(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1u : n > 256 ? 256u : (unsigned)n;
}

void
config_size(struct config *cfg, unsigned nproc)
{
	if (cfg->workers == 0)
		cfg->workers = nproc < cfg->db_connections ? nproc :
		    cfg->db_connections;
}

unsigned
config_db_per_worker(const struct config *cfg)
{
	return cfg->db_connections / cfg->workers;
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	char line[CONFIG_LINE_MAX + 2], why[256];
	FILE *f = NULL;
	struct stat st;
	unsigned lineno = 0;
	int group = 0, seen_ours = 0, rc = -1;
	size_t len;

	config_defaults(cfg);
	if (strlen(path) >= sizeof(cfg->path)) {
		fmt_err(err, errlen, path, 0, "path too long");
		goto out;
	}
	strcpy(cfg->path, path);
	f = fopen(path, "r");
	if (f == NULL) {
		fmt_err(err, errlen, path, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fmt_err(err, errlen, path, 0, "not a regular file");
		goto out;
	}
	if (st.st_mode & 077)
		log_msg("warning: %s is readable by others; it may hold the "
		    "database password (chmod 600)", path);
	while (read_line(f, line, sizeof(line), &len)) {
		lineno++;
		if (strlen(line) != len) {
			/* the rest of the line would be lost without a word */
			fmt_err(err, errlen, path, lineno, "NUL byte in the "
			    "line: not a text file");
			goto out;
		}
		if (line[len - 1] != '\n' && !feof(f)) {
			fmt_err(err, errlen, path, lineno, "line longer than %d "
			    "bytes", CONFIG_LINE_MAX);
			goto out;
		}
		if (parse_line(cfg, line, &group, why, sizeof(why)) != 0) {
			fmt_err(err, errlen, path, lineno, "%s", why);
			goto out;
		}
		if (group == 2)
			seen_ours = 1;
	}
	if (ferror(f)) {
		fmt_err(err, errlen, path, lineno, "read error: %s",
		    strerror(errno));
		goto out;
	}
	if (!seen_ours || cfg->table[0] == '\0') {
		fmt_err(err, errlen, path, 0, "no table set: add 'table = NAME' "
		    "under [fcgi-app]");
		goto out;
	}
	if (cfg->default_limit > cfg->max_limit) {
		fmt_err(err, errlen, path, 0, "default-limit (%u) is above "
		    "max-limit (%u)", cfg->default_limit, cfg->max_limit);
		goto out;
	}
	if (cfg->workers > cfg->db_connections) {
		fmt_err(err, errlen, path, 0, "workers (%u) is above "
		    "db-connections (%u): each worker needs a database "
		    "connection of its own", cfg->workers, cfg->db_connections);
		goto out;
	}
	config_size(cfg, config_nproc());
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	return rc;
}
