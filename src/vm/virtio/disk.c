/* What every disk backend shares: finished requests go on a locked list and
 * wake the owner through an eventfd; backends without asynchronous I/O run
 * each request inline with their synchronous operations. */
#include "vm/virtio/disk.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int disk__init_async(struct disk *dk, struct st_err *err)
{
	dk->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dk->event_fd < 0)
		return err__fail_errno(err, "eventfd");
	pthread_mutex_init(&dk->done_lock, NULL);
	return 0;
}

static void disk__wake(struct disk *dk)
{
	uint64_t one = 1;
	/* Only fails when the counter is saturated: it is readable then anyway. */
	if (write(dk->event_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
}

void disk__complete(struct disk *dk, struct disk_io *io, int result, bool wake)
{
	io->result = result;
	io->next = NULL;
	if (!wake) { /* the owner's thread, which reaps: no lock */
		if (dk->inline_tail)
			dk->inline_tail->next = io;
		else
			dk->inline_head = io;
		dk->inline_tail = io;
		return;
	}
	pthread_mutex_lock(&dk->done_lock);
	if (dk->done_tail)
		dk->done_tail->next = io;
	else
		__atomic_store_n(&dk->done_head, io, __ATOMIC_RELEASE);
	dk->done_tail = io;
	pthread_mutex_unlock(&dk->done_lock);
	if (wake)
		disk__wake(dk);
}

int disk__run_sync(struct disk *dk, struct disk_io *io)
{
	int r;
	switch (io->op) {
	case DISK_READ: r = dk->ops->readv(dk, io->iov, io->niov, io->off); break;
	case DISK_WRITE: r = dk->ops->writev(dk, io->iov, io->niov, io->off); break;
	case DISK_FLUSH: r = dk->ops->flush(dk); break;
	case DISK_DISCARD: r = dk->ops->discard(dk, io->off, io->len); break;
	case DISK_WRITE_ZEROES: r = dk->ops->write_zeroes(dk, io->off, io->len, io->may_unmap); break;
	default: errno = EINVAL, r = -1; break;
	}
	return r < 0 ? -(errno ? errno : EIO) : 0;
}

void disk__submit(struct disk *dk, struct disk_io *io)
{
	dk->in_flight++;
	if (dk->ops->submit)
		dk->ops->submit(dk, io);
	else
		disk__complete(dk, io, disk__run_sync(dk, io), false);
}

void disk__commit(struct disk *dk)
{
	if (dk->ops->commit)
		dk->ops->commit(dk);
}

void disk__ack(struct disk *dk)
{
	uint64_t n;
	if (read(dk->event_fd, &n, sizeof(n)) < 0)
		return; /* EAGAIN: nothing to clear */
}

unsigned disk__reap(struct disk *dk, struct disk_io **out, unsigned max)
{
	unsigned got = 0;
	for (; got < max && dk->inline_head; got++) {
		out[got] = dk->inline_head;
		if (!(dk->inline_head = dk->inline_head->next))
			dk->inline_tail = NULL;
	}
	if (dk->ops->reap && got < max)
		got += dk->ops->reap(dk, out + got, max - got);
	/* Racy peek: a request another thread finishes after it wakes event_fd. */
	if (!__atomic_load_n(&dk->done_head, __ATOMIC_ACQUIRE)) {
		dk->in_flight -= got;
		if (got == max)
			disk__wake(dk);
		return got;
	}
	pthread_mutex_lock(&dk->done_lock);
	while (got < max && dk->done_head) {
		out[got++] = dk->done_head;
		__atomic_store_n(&dk->done_head, dk->done_head->next, __ATOMIC_RELAXED);
	}
	if (!dk->done_head)
		dk->done_tail = NULL;
	bool more = dk->done_head != NULL;
	pthread_mutex_unlock(&dk->done_lock);
	if (more || got == max) /* what did not fit: readable again */
		disk__wake(dk);
	dk->in_flight -= got;
	return got;
}

void disk__wait(struct disk *dk)
{
	struct pollfd p = {.fd = dk->event_fd, .events = POLLIN};
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	disk__ack(dk);
}

void disk__close(struct disk *dk)
{
	struct disk_io *done[64];
	while (dk->in_flight)
		if (!disk__reap(dk, done, 64))
			disk__wait(dk);
	int efd = dk->event_fd;
	pthread_mutex_destroy(&dk->done_lock);
	dk->ops->close(dk);
	close(efd);
}
