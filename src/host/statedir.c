#include "host/statedir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"

/* Fixes one entry's mode to at most `allowed` permission bits; refuses what
 * stratad must not trust. A missing entry is fine: stratad creates it. */
static int check_entry(int dirfd, const char *dir, const char *name, mode_t allowed, struct st_err *err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err__fail_errno(err, "cannot check %s/%s", dir, name);
	if (S_ISLNK(st.st_mode))
		return err__fail(err, 0, "%s/%s is a symbolic link: refusing to start", dir, name);
	if (st.st_uid != geteuid())
		return err__fail(err, 0, "%s/%s is owned by uid %u, not by stratad's uid %u: refusing to start", dir,
				 name, (unsigned)st.st_uid, (unsigned)geteuid());
	mode_t mode = st.st_mode & 07777;
	if (!(mode & ~allowed))
		return 0;
	/* O_PATH fds cannot fchmod: the entry is ours and no symlink, fchmodat is safe here */
	if (fchmodat(dirfd, name, mode & allowed, 0) < 0)
		return err__fail_errno(err, "cannot make %s/%s private", dir, name);
	log__warn("%s/%s was mode %04o: now %04o", dir, name, (unsigned)mode, (unsigned)(mode & allowed));
	return 0;
}

static int check_log_dir(int statefd, const char *dir, struct st_err *err)
{
	int fd = openat(statefd, "log", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : err__fail_errno(err, "cannot open %s/log", dir);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return err__fail_errno(err, "cannot read %s/log", dir);
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/log", dir);
	int rc = 0;
	for (struct dirent *e; rc == 0 && (e = readdir(d));)
		if (e->d_name[0] != '.')
			rc = check_entry(dirfd(d), path, e->d_name, 0600, err);
	closedir(d);
	return rc;
}

int statedir__check(const char *dir, struct st_err *err)
{
	static const char *const files[] = {"stratad.db", "stratad.db-wal", "stratad.db-shm", "stratad.db-journal",
					    "stratad.lock"};
	cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err__fail_errno(err, "cannot open the state directory %s", dir);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err__fail_errno(err, "cannot check %s", dir);
	if (st.st_uid != geteuid())
		return err__fail(err, 0, "the state directory %s is owned by uid %u, not by stratad's uid %u: refusing to start",
				 dir, (unsigned)st.st_uid, (unsigned)geteuid());
	if ((st.st_mode & 022) && fchmod(fd, st.st_mode & 07755) < 0)
		return err__fail_errno(err, "cannot make %s writable only by its owner", dir);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (check_entry(fd, dir, files[i], 0600, err) < 0)
			return -1;
	if (check_entry(fd, dir, "run", 0750, err) < 0 || check_entry(fd, dir, "log", 0750, err) < 0)
		return -1;
	return check_log_dir(fd, dir, err);
}
