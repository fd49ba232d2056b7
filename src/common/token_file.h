/* Bearer tokens kept in files (stratad's --token-file, the CLI's, later the
 * cloud's): the first line of a small file, without its line end. */
#ifndef STRATA_COMMON_TOKEN_FILE_H
#define STRATA_COMMON_TOKEN_FILE_H

#include <stddef.h>

#include "common/err.h"

#define TOKEN_FILE_MAX 4096

/* Reads the token in path into a malloc'd string; refuses files above
 * TOKEN_FILE_MAX bytes and tokens shorter than min_len characters. */
int token_file__read(const char *path, size_t min_len, char **out, struct st_err *err);

#endif
