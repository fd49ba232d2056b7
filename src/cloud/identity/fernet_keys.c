#include "cloud/identity/fernet_keys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

/* The numbers of the key files in dir, ascending, and their inodes (inos
 * may be NULL). */
static int list_keys(const char *dir, unsigned *numbers, ino_t *inos, size_t *n,
		     struct st_err *err)
{
	cleanup_dir DIR *d = opendir(dir);
	if (!d)
		return err__fail_errno(err, "Fernet key repository %s", dir);
	*n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		uint64_t num;
		if (e->d_name[0] == '.' || util__parse_u64(e->d_name, 1u << 30, &num, NULL) < 0)
			continue; /* "0.tmp" and other files are not keys */
		if (*n == FERNET_KEYS_MAX)
			return err__fail(err, E2BIG, "Fernet key repository %s: more than %d keys", dir,
				       FERNET_KEYS_MAX);
		size_t i = (*n)++;
		while (i && numbers[i - 1] > num) {
			numbers[i] = numbers[i - 1];
			if (inos)
				inos[i] = inos[i - 1];
			i--;
		}
		numbers[i] = (unsigned)num;
		if (inos)
			inos[i] = e->d_ino;
	}
	return 0;
}

static int key_path(char *buf, size_t size, const char *dir, const char *name)
{
	return snprintf(buf, size, "%s/%s", dir, name) >= (int)size ? -1 : 0;
}

int fernet_keys__load(const char *dir, struct fernet_keys *out, struct st_err *err)
{
	unsigned *numbers = out->listed;
	size_t n = 0;
	if (list_keys(dir, numbers, out->listed_ino, &n, err) < 0)
		return -1;
	out->nlisted = n;
	out->n = 0;
	for (size_t i = n; i-- > 0;) { /* descending: primary first, staged (0) last */
		char path[4096], name[16];
		snprintf(name, sizeof(name), "%u", numbers[i]);
		if (key_path(path, sizeof(path), dir, name) < 0)
			return err__fail(err, ENAMETOOLONG, "Fernet key repository %s: path too long", dir);
		cleanup_free char *text = NULL;
		size_t len;
		struct st_err rerr = {0};
		if (util__read_file(path, 4096, &text, &len, &rerr) < 0) {
			if (rerr.errnum == ENOENT)
				continue; /* a rotation elsewhere promoted or dropped it since the listing */
			if (err)
				*err = rerr;
			return -1;
		}
		if (len == 0)
			continue; /* Keystone ignores empty key files too */
		if (fernet__key_parse(text, len, &out->keys[out->n], err) < 0)
			return err__prefix(err, "%s", path);
		out->numbers[out->n++] = numbers[i];
	}
	if (out->n == 0)
		return err__fail(err, ENOENT, "Fernet key repository %s has no keys", dir);
	return 0;
}

int fernet_keys__changed(const char *dir, const struct fernet_keys *keys, bool *changed,
			 struct st_err *err)
{
	unsigned numbers[FERNET_KEYS_MAX];
	ino_t inos[FERNET_KEYS_MAX];
	size_t n = 0;
	if (list_keys(dir, numbers, inos, &n, err) < 0)
		return -1;
	*changed = n != keys->nlisted || memcmp(numbers, keys->listed, n * sizeof(*numbers)) ||
		   memcmp(inos, keys->listed_ino, n * sizeof(*inos));
	return 0;
}

/* Writes a new key as dir/0.tmp (0600, synced), then renames it to dir/0. */
static int stage_new_key(const char *dir, struct st_err *err)
{
	char tmp[4096], staged[4096];
	if (key_path(tmp, sizeof(tmp), dir, "0.tmp") < 0 || key_path(staged, sizeof(staged), dir, "0") < 0)
		return err__fail(err, ENAMETOOLONG, "Fernet key repository %s: path too long", dir);
	cleanup_free char *text = NULL;
	if (fernet__key_generate(&text, err) < 0)
		return -1;
	cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err__fail_errno(err, "create %s", tmp);
	if (util__write_all(fd, text, strlen(text), err) < 0 || fsync(fd) < 0)
		return err__fail_errno(err, "write %s", tmp);
	if (rename(tmp, staged) < 0)
		return err__fail_errno(err, "rename %s", tmp);
	return 0;
}

int fernet_keys__rotate(const char *dir, unsigned max_active, struct st_err *err)
{
	if (max_active < 2)
		return err__fail(err, EINVAL, "Fernet keys: at least 2 active keys are needed");
	unsigned numbers[FERNET_KEYS_MAX];
	size_t n = 0;
	if (list_keys(dir, numbers, NULL, &n, err) < 0)
		return -1;
	if (n == 0 || numbers[0] != 0)
		return err__fail(err, ENOENT, "Fernet key repository %s has no staged key 0", dir);
	char from[4096], to[4096], name[16];
	unsigned primary = numbers[n - 1] + 1;
	snprintf(name, sizeof(name), "%u", primary);
	if (key_path(from, sizeof(from), dir, "0") < 0 || key_path(to, sizeof(to), dir, name) < 0)
		return err__fail(err, ENAMETOOLONG, "Fernet key repository %s: path too long", dir);
	if (rename(from, to) < 0)
		return err__fail_errno(err, "promote %s", from);
	if (stage_new_key(dir, err) < 0)
		return -1;
	/* Besides the new primary and the new staged key, keep the newest
	 * max_active - 2 secondaries; numbers[1..n-1] are the old non-staged keys. */
	size_t old = n - 1, keep = max_active - 2;
	for (size_t i = 1; old > keep && i < n; i++, old--) {
		snprintf(name, sizeof(name), "%u", numbers[i]);
		if (key_path(to, sizeof(to), dir, name) < 0 || unlink(to) < 0)
			return err__fail_errno(err, "remove the excess key %s/%s", dir, name);
	}
	return 0;
}

int fernet_keys__setup(const char *dir, struct st_err *err)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err__fail_errno(err, "create %s", dir);
	char staged[4096];
	if (key_path(staged, sizeof(staged), dir, "0") < 0)
		return err__fail(err, ENAMETOOLONG, "Fernet key repository %s: path too long", dir);
	if (access(staged, F_OK) == 0)
		return 0;
	if (stage_new_key(dir, err) < 0)
		return -1;
	return fernet_keys__rotate(dir, FERNET_KEYS_DEFAULT_ACTIVE, err);
}
