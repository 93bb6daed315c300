/*
 * dbtext: integers, dates and times as text, byte for byte as MariaDB
 * prints them, so that db can fetch such columns in their binary form
 * and skip the client library's printf-based formatting.
 *
 * The rules follow what MariaDB Connector/C writes into a string result
 * bind (and the server's own text for the same values): decimal
 * integers, left-padded with zeros to the display width of a ZEROFILL
 * column (YEAR is one, of width 4); YYYY-MM-DD; YYYY-MM-DD hh:mm:ss;
 * [-]hh:mm:ss with the total hours of a TIME, at least two digits; and
 * for a column declared with 1 to 6 fractional digits, a point and
 * exactly that many digits of the microseconds.
 */
#ifndef DBTEXT_H
#define DBTEXT_H

#include <stddef.h>

/* Room for any value below: a buffer this size never comes up short. */
#define DBTEXT_MAX 80
/* The widest ZEROFILL display width that fits in DBTEXT_MAX. */
#define DBTEXT_WIDTH_MAX 64

enum dbtext_kind {
	DBTEXT_DATE,
	DBTEXT_DATETIME, /* DATETIME and TIMESTAMP */
	DBTEXT_TIME,
};

struct dbtext_time {
	unsigned year, month, day;
	unsigned hour, minute, second; /* hour: total hours for a TIME */
	unsigned long usec;
	int neg; /* a negative TIME */
};

/*
 * Writes v (taken as unsigned if is_unsigned, else as signed) to buf,
 * its digits zero-padded to width (0: no padding; ZEROFILL columns are
 * unsigned).  Returns the length, or 0 if it does not fit in size.  No
 * NUL is written.
 */
size_t dbtext_int(char *buf, size_t size, unsigned long long v,
    int is_unsigned, unsigned width);

/*
 * Writes t as a value of kind with decimals (0 to 6) fractional digits;
 * a DATE has none.  Returns the length, or 0 if it does not fit in size
 * or decimals is above 6.  No NUL is written.
 */
size_t dbtext_time(char *buf, size_t size, enum dbtext_kind kind,
    const struct dbtext_time *t, unsigned decimals);

#endif
