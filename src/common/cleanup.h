/* Scope-bound cleanup (GCC/Clang `cleanup` attribute) instead of goto ladders.
 * Use st_steal_ptr()/st_steal_fd() to hand ownership out of a scope. */
#ifndef STRATA_COMMON_CLEANUP_H
#define STRATA_COMMON_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void st_freep(void *p)
{
	free(*(void **)p);
}

static inline void st_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void st_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void st_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define cleanup_free   __attribute__((cleanup(st_freep)))
#define cleanup_close  __attribute__((cleanup(st_closep)))
#define cleanup_fclose __attribute__((cleanup(st_fclosep)))
#define cleanup_dir    __attribute__((cleanup(st_closedirp)))

static inline void *st_steal_ptr_(void **p)
{
	void *v = *p;
	*p = NULL;
	return v;
}
#define st_steal_ptr(p) st_steal_ptr_((void **)&(p))

static inline int st_steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

#endif
