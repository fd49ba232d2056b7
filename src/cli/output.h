/* The strata CLI's human output: tables and sizes as virsh prints them. */
#ifndef STRATA_CLI_OUTPUT_H
#define STRATA_CLI_OUTPUT_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

/* A table: headers (NULL-terminated), a dashed rule, then rows, each an
 * array of strings; columns as wide as their widest cell. */
void output__table(const char *const *headers, json_t *rows);
/* output__table of one row(item) per item of the array list */
void output__list(const char *const *headers, json_t *list, json_t *(*row)(json_t *item));
/* 1536 -> "1.50 KiB" */
const char *output__size(json_int_t bytes, char *buf, size_t len);
/* o's integer member k as a size, and as a decimal number */
const char *output__size_of(json_t *o, const char *k, char *buf, size_t len);
const char *output__int(json_t *o, const char *k, char *buf, size_t len);
/* o's string member k, "" when absent */
const char *output__str(json_t *o, const char *k);
/* How output__fields shows one member of an object. */
enum output_kind { OUTPUT_STR, OUTPUT_SIZE, OUTPUT_INT, OUTPUT_YESNO };
struct output_field {
	const char *label; /* "Name:"; NULL ends the list */
	const char *key;
	enum output_kind kind;
	int optional; /* skip the line when the member is absent */
};
/* One "Label:  value" line per field, labels padded to width (virsh's
 * pool-info/vol-info/net-info layout). */
void output__fields(json_t *o, int width, const struct output_field *fields);
/* a seconds-since-epoch time as local "YYYY-MM-DD HH:MM:SS" */
const char *output__time(time_t t, char *buf, size_t len);

#endif
