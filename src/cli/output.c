/* The strata CLI's human output. */
#include "cli/output.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define TABLE_COLS_MAX 16

void output__table(const char *const *headers, json_t *rows)
{
	size_t ncol = 0, width[TABLE_COLS_MAX] = {0};
	while (headers[ncol] && ncol < TABLE_COLS_MAX) {
		width[ncol] = strlen(headers[ncol]);
		ncol++;
	}
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
		for (size_t k = 0; k < ncol; k++) {
			const char *v = json_string_value(json_array_get(row, k));
			if (v && strlen(v) > width[k])
				width[k] = strlen(v);
		}
	size_t total = 0;
	for (size_t k = 0; k < ncol; k++) {
		printf(" %-*s%s", (int)width[k], headers[k], k + 1 < ncol ? "  " : "");
		total += width[k] + 3;
	}
	printf("\n");
	for (size_t k = 0; k < total; k++)
		putchar('-');
	printf("\n");
	json_array_foreach(rows, i, row) {
		for (size_t k = 0; k < ncol; k++) {
			const char *v = json_string_value(json_array_get(row, k));
			printf(" %-*s", (int)width[k], v ? v : "");
			if (k + 1 < ncol)
				printf("  ");
		}
		printf("\n");
	}
}

void output__list(const char *const *headers, json_t *list, json_t *(*row)(json_t *item))
{
	json_t *rows = json_array(), *item;
	size_t i;
	json_array_foreach(list, i, item)
		json_array_append_new(rows, row(item));
	output__table(headers, rows);
	json_decref(rows);
}

const char *output__size(json_int_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	int u = 0;
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.2f %s" : "%.0f %s", v, units[u]);
	return buf;
}

const char *output__size_of(json_t *o, const char *k, char *buf, size_t len)
{
	return output__size(json_integer_value(json_object_get(o, k)), buf, len);
}

const char *output__int(json_t *o, const char *k, char *buf, size_t len)
{
	snprintf(buf, len, "%lld", (long long)json_integer_value(json_object_get(o, k)));
	return buf;
}

const char *output__str(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

const char *output__time(time_t t, char *buf, size_t len)
{
	struct tm tm;
	if (!localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

void output__fields(json_t *o, int width, const struct output_field *f)
{
	char b[32];
	for (; f->label; f++) {
		json_t *v = json_object_get(o, f->key);
		if (!v && f->optional)
			continue;
		const char *text = "";
		switch (f->kind) {
		case OUTPUT_STR: text = output__str(o, f->key); break;
		case OUTPUT_SIZE: text = output__size_of(o, f->key, b, sizeof(b)); break;
		case OUTPUT_INT: text = output__int(o, f->key, b, sizeof(b)); break;
		case OUTPUT_YESNO: text = json_is_true(v) ? "yes" : "no"; break;
		}
		printf("%-*s %s\n", width, f->label, text);
	}
}
