#ifndef STRATA_COMMON_LOG_H
#define STRATA_COMMON_LOG_H

enum st_log_level { ST_LOG_ERROR, ST_LOG_WARN, ST_LOG_INFO, ST_LOG_DEBUG };

/* Messages at or below this level are printed (default: WARN;
 * STRATA_LOG=debug|info|warn|error in the environment overrides). */
void log__set_level(enum st_log_level lvl);
void log__write(enum st_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log__error(...) log__write(ST_LOG_ERROR, __VA_ARGS__)
#define log__warn(...)  log__write(ST_LOG_WARN, __VA_ARGS__)
#define log__info(...)  log__write(ST_LOG_INFO, __VA_ARGS__)
#define log__debug(...) log__write(ST_LOG_DEBUG, __VA_ARGS__)

#endif
