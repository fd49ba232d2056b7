#include "vm/memory.h"
#include "common/log.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

/* Backs every page (writing makes them the process's own, not the shared zero
 * page); the kernel fails it with ENOMEM when the host has not that much. */
static int mem__populate(struct guest_mem *m)
{
	return madvise(m->host, m->size, MADV_POPULATE_WRITE);
}

int mem__init(struct guest_mem *m, uint64_t size, bool prealloc, struct st_err *err)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return err__fail_errno(err, "cannot map %llu MiB of guest memory",
				     (unsigned long long)(size >> 20));
	/* THP cuts EPT/shadow-paging work for large guests; harmless if refused. Not
	 * for the first 2 MiB, where the boot structures sit: a tiny guest would pay
	 * for zeroing a whole huge page to use a few 4 KiB ones. */
	if (size > (4ull << 20))
		madvise((uint8_t *)p + (2ull << 20), size - (2ull << 20), MADV_HUGEPAGE);
	m->host = p;
	m->size = size;
	m->low_size = size < MEM_MMIO_HOLE_START ? size : MEM_MMIO_HOLE_START;
	m->prealloc = prealloc;
	if (prealloc && mem__populate(m) < 0) {
		int e = errno;
		mem__exit(m);
		errno = e;
		return err__fail_errno(err, "cannot preallocate %llu MiB of guest memory",
				     (unsigned long long)(size >> 20));
	}
	return 0;
}

void mem__clear(struct guest_mem *m)
{
	madvise(m->host, m->size, MADV_DONTNEED); /* private anonymous: reads back zeros */
	if (m->prealloc && mem__populate(m) < 0)
		log__warn("guest memory no longer fully preallocated after the reboot: %s", strerror(errno));
}

void mem__exit(struct guest_mem *m)
{
	if (m->host)
		munmap(m->host, m->size);
	m->host = NULL;
}

void *mem__ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	if (gpa < m->low_size) {
		if (len > m->low_size - gpa)
			return NULL;
		return m->host + gpa;
	}
	uint64_t high = m->size - m->low_size;
	if (gpa < MEM_4G || gpa - MEM_4G > high || len > high - (gpa - MEM_4G))
		return NULL;
	return m->host + m->low_size + (gpa - MEM_4G);
}

int mem__write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len,
	       struct st_err *err)
{
	void *dst = mem__ptr(m, gpa, len);
	if (!dst)
		return err__fail(err, 0, "guest range 0x%llx+0x%llx is outside RAM",
			       (unsigned long long)gpa, (unsigned long long)len);
	memcpy(dst, src, len);
	return 0;
}
