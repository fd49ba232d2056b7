#include "common/token_file.h"

#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

int token_file__read(const char *path, size_t min_len, char **out, struct st_err *err)
{
	cleanup_free char *token = NULL;
	size_t len;
	if (util__read_file(path, TOKEN_FILE_MAX, &token, &len, err) < 0)
		return -1;
	token[strcspn(token, "\r\n")] = 0;
	if (strlen(token) < min_len)
		return err__fail(err, 0, "the token in %s is shorter than %zu characters", path, min_len);
	*out = cleanup__steal_ptr(token);
	return 0;
}
