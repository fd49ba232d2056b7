#include "common/log.h"
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int level = -1;

void log__set_level(enum st_log_level lvl)
{
	level = (int)lvl;
}

static int current_level(void)
{
	if (level >= 0)
		return level;
	const char *env = getenv("STRATA_LOG");
	level = ST_LOG_WARN;
	if (env) {
		static const char *const names[] = {"error", "warn", "info", "debug"};
		for (int i = 0; i < 4; i++)
			if (!strcmp(env, names[i]))
				level = i;
	}
	return level;
}

void log__write(enum st_log_level lvl, const char *fmt, ...)
{
	static const char *const tags[] = {"error", "warning", "info", "debug"};
	if ((int)lvl > current_level())
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line so concurrent threads do not interleave. */
	fprintf(stderr, "%s: %s: %s\n", err__progname(), tags[lvl], line);
}
