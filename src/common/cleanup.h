/* Scope-bound cleanup (GCC/Clang `cleanup` attribute) instead of goto ladders.
 * Use cleanup__steal_ptr()/cleanup__steal_fd() to hand ownership out of a scope. */
#ifndef STRATA_COMMON_CLEANUP_H
#define STRATA_COMMON_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup__freep(void *p)
{
	free(*(void **)p);
}

static inline void cleanup__closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void cleanup__fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void cleanup__closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define cleanup_free   __attribute__((cleanup(cleanup__freep)))
#define cleanup_close  __attribute__((cleanup(cleanup__closep)))
#define cleanup_fclose __attribute__((cleanup(cleanup__fclosep)))
#define cleanup_dir    __attribute__((cleanup(cleanup__closedirp)))

static inline void *cleanup__steal_ptr_(void **p)
{
	void *v = *p;
	*p = NULL;
	return v;
}
#define cleanup__steal_ptr(p) cleanup__steal_ptr_((void **)&(p))

static inline int cleanup__steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

#endif
