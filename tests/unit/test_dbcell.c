/*
 * dbcell's choice of each column's JSON type, from the column's type
 * alone, as MariaDB describes the demo table's and other columns.
 */
#include <string.h>

#include "dbint.h"
#include "unit.h"

static MYSQL_FIELD
field(enum enum_field_types type, unsigned long length, unsigned decimals,
    unsigned flags)
{
	MYSQL_FIELD f;

	memset(&f, 0, sizeof(f));
	f.type = type;
	f.length = length;
	f.decimals = decimals;
	f.flags = flags;
	return f;
}

START_TEST(json_numbers_by_column_type)
{
	static const struct {
		enum enum_field_types type;
		unsigned long length;
		unsigned decimals, flags;
		int number;
	} cols[] = {
		{MYSQL_TYPE_LONG, 10, 0, UNSIGNED_FLAG | PRI_KEY_FLAG, 1},
		{MYSQL_TYPE_TINY, 4, 0, 0, 1},
		{MYSQL_TYPE_SHORT, 6, 0, 0, 1},
		{MYSQL_TYPE_INT24, 9, 0, 0, 1},
		{MYSQL_TYPE_LONG, 11, 0, 0, 1},
		/* beyond 2^53 a double loses digits */
		{MYSQL_TYPE_LONGLONG, 20, 0, 0, 0},
		{MYSQL_TYPE_LONGLONG, 20, 0, UNSIGNED_FLAG, 0},
		/* ZEROFILL keeps its zeros only as a string */
		{MYSQL_TYPE_LONG, 8, 0, UNSIGNED_FLAG | ZEROFILL_FLAG, 0},
		/* YEAR is ZEROFILL to MariaDB, and a number all the same */
		{MYSQL_TYPE_YEAR, 4, 0, UNSIGNED_FLAG | ZEROFILL_FLAG, 1},
		/* DECIMAL(10,2), the demo's price; (15,0); (16,0); (20,4) */
		{MYSQL_TYPE_NEWDECIMAL, 12, 2, 0, 1},
		{MYSQL_TYPE_NEWDECIMAL, 16, 0, 0, 1},
		{MYSQL_TYPE_NEWDECIMAL, 17, 0, 0, 0},
		{MYSQL_TYPE_NEWDECIMAL, 22, 4, 0, 0},
		/* DECIMAL(15,2) UNSIGNED: no sign in the length */
		{MYSQL_TYPE_NEWDECIMAL, 16, 2, UNSIGNED_FLAG, 1},
		{MYSQL_TYPE_NEWDECIMAL, 17, 2, UNSIGNED_FLAG, 0},
		{MYSQL_TYPE_FLOAT, 12, 31, 0, 1},
		{MYSQL_TYPE_DOUBLE, 22, 31, 0, 1},
		{MYSQL_TYPE_VAR_STRING, 400, 0, 0, 0},
		{MYSQL_TYPE_DATETIME, 19, 0, 0, 0},
		{MYSQL_TYPE_BIT, 8, 0, UNSIGNED_FLAG, 0},
		{MYSQL_TYPE_BLOB, 65535, 0, BINARY_FLAG, 0},
	};
	MYSQL_FIELD f;
	size_t i;

	for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		f = field(cols[i].type, cols[i].length, cols[i].decimals,
		    cols[i].flags);
		ck_assert_msg(dbcell_json_number(&f) == cols[i].number,
		    "column %zu: want %s", i, cols[i].number ? "a number" :
		    "a string");
	}
}
END_TEST

Suite *
suite_dbcell(void)
{
	Suite *s = suite_create("dbcell");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, json_numbers_by_column_type);
	suite_add_tcase(s, tc);
	return s;
}
