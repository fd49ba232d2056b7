/* Keystone's Fernet key repository: a directory of files named by number.
 * 0 is the staged key (the next primary, already accepted so that every node
 * knows it before any node signs with it), the highest number is the primary
 * (signs new tokens), the others are secondaries (still accepted). Rotation
 * promotes 0 to highest + 1, stages a new 0 and drops the oldest secondaries
 * beyond max_active keys in all. */
#ifndef STRATA_CLOUD_FERNET_KEYS_H
#define STRATA_CLOUD_FERNET_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
#include "cloud/identity/fernet.h"

#define FERNET_KEYS_MAX 64
#define FERNET_KEYS_DEFAULT_ACTIVE 3

struct fernet_keys {
	size_t n;
	/* keys[0] is the primary, then descending numbers; the staged key last. */
	struct fernet_key keys[FERNET_KEYS_MAX];
	unsigned numbers[FERNET_KEYS_MAX];
	/* The directory's key files as listed when loading (ascending numbers
	 * and their inodes): a rotation renames, creates or removes files, so
	 * it always changes this list (fernet_keys__changed). */
	size_t nlisted;
	unsigned listed[FERNET_KEYS_MAX];
	ino_t listed_ino[FERNET_KEYS_MAX];
};

/* Loads the repository; fails when it has no keys. */
int fernet_keys__load(const char *dir, struct fernet_keys *out, struct st_err *err);
/* Whether dir's key files (names and inodes) differ from those keys were
 * loaded from: one directory listing, no file read. */
int fernet_keys__changed(const char *dir, const struct fernet_keys *keys, bool *changed,
			 struct st_err *err);
/* Creates the directory (0700) with a staged and a primary key unless key 0
 * is there already (keystone-manage fernet_setup). */
int fernet_keys__setup(const char *dir, struct st_err *err);
/* One rotation (keystone-manage fernet_rotate); max_active >= 2. */
int fernet_keys__rotate(const char *dir, unsigned max_active, struct st_err *err);

#endif
