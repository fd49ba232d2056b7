/* A page of a shared file mapping past the file's end raises SIGBUS on
 * access. convert reads its sources' mappings in zero detection, comparison,
 * compression and the target's write path, some of it under the image locks,
 * where a siglongjmp could not leave safely. So the SIGBUS handler instead
 * maps a zero page over the vanished one, notes it, and lets the access
 * complete; convert checks the note (and the file sizes) after every chunk
 * and fails before reporting success. Faults outside our mappings go to the
 * handler that was there before (the default, or the sanitizer's). */
#include "img/srcmap.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"

#define SLOTS 64 /* mapped files at once; more are read with pread */

static struct {
	_Atomic uintptr_t start, end;
	atomic_bool faulted;
} slots[SLOTS];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction previous;
static uintptr_t page_size;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	uintptr_t a = (uintptr_t)si->si_addr;
	for (int i = 0; si->si_code > 0 && i < SLOTS; i++) {
		uintptr_t s = atomic_load(&slots[i].start), e = atomic_load(&slots[i].end);
		if (!s || a < s || a >= e)
			continue;
		atomic_store(&slots[i].faulted, true);
		/* the raw system call: async-signal-safe, and no sanitizer interceptor */
		long r = syscall(SYS_mmap, a & ~(page_size - 1), page_size, PROT_READ,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (r != -1)
			return;
		break;
	}
	sigaction(sig, &previous, NULL);
	if (si->si_code <= 0) /* sent, not a fault: returning would not repeat it */
		raise(sig);
}

static void install(void)
{
	page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
	struct sigaction sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO | SA_RESTART};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &previous);
}

static int take_slot(uintptr_t start, uintptr_t end)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, install);
	pthread_mutex_lock(&slots_lock);
	int found = -1;
	for (int i = 0; i < SLOTS && found < 0; i++)
		if (!atomic_load(&slots[i].start))
			found = i;
	if (found >= 0) {
		atomic_store(&slots[found].faulted, false);
		atomic_store(&slots[found].end, end);
		atomic_store(&slots[found].start, start);
	}
	pthread_mutex_unlock(&slots_lock);
	return found;
}

void srcmap__open(struct src_map *m, struct blk *l)
{
	*m = (struct src_map){.fd = l->fd, .dfd = -1, .path = l->path, .slot = -1};
	struct stat sb;
	if (fstat(l->fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0)
		return;
	m->len = (uint64_t)sb.st_size;
	if (fcntl(l->fd, F_GETFL) & O_DIRECT)
		return;
	void *a = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, l->fd, 0);
	if (a == MAP_FAILED)
		return;
	m->slot = take_slot((uintptr_t)a, (uintptr_t)a + (uintptr_t)sb.st_size);
	if (m->slot < 0) {
		munmap(a, (size_t)sb.st_size);
		return;
	}
	m->addr = a;
	madvise(a, (size_t)sb.st_size, MADV_SEQUENTIAL);
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", l->fd);
	m->dfd = open(self, O_RDONLY | O_DIRECT | O_CLOEXEC);
	uint32_t mem, off;
	block__fd_dio_align(l->fd, &mem, &off);
	m->dio_align = ST_MAX(mem, off);
}

void srcmap__close(struct src_map *m)
{
	if (!m->addr)
		return;
	munmap((void *)m->addr, m->len);
	pthread_mutex_lock(&slots_lock);
	atomic_store(&slots[m->slot].start, 0);
	atomic_store(&slots[m->slot].end, 0);
	pthread_mutex_unlock(&slots_lock);
	if (m->dfd >= 0)
		close(m->dfd);
	m->addr = NULL;
}

int srcmap__check(const struct src_map *m, struct st_err *err)
{
	struct stat sb;
	if (!m->len || fstat(m->fd, &sb) < 0)
		return 0;
	bool faulted = m->addr && atomic_load(&slots[m->slot].faulted);
	if (!faulted && (uint64_t)sb.st_size >= m->len)
		return 0;
	return err__fail(err, 0, "source '%s' shrank while being converted (%llu bytes when opened, %llu now)",
		       m->path, (unsigned long long)m->len, (unsigned long long)sb.st_size);
}
