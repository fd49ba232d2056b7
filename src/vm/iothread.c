#include "vm/iothread.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static struct {
	int epfd;
	pthread_t thread;
	int started;
} iot = {.epfd = -1};

static int iothread__init(struct st_err *err)
{
	if (iot.epfd >= 0)
		return 0;
	iot.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (iot.epfd < 0)
		return err__fail_errno(err, "epoll_create1");
	return 0;
}

int iothread__add(struct io_watch *w, uint32_t events, struct st_err *err)
{
	if (iothread__init(err) < 0)
		return -1;
	struct epoll_event ev = {.events = events, .data.ptr = w};
	if (epoll_ctl(iot.epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
		return err__fail_errno(err, "epoll_ctl (I/O thread)");
	return 0;
}

int iothread__mod(struct io_watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};
	return epoll_ctl(iot.epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

void iothread__del(struct io_watch *w)
{
	if (iot.epfd >= 0)
		epoll_ctl(iot.epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

static void *iothread__run(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "iothread");
	struct epoll_event evs[32];
	for (;;) {
		int n = epoll_wait(iot.epfd, evs, 32, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log__error("I/O thread: epoll_wait: %s", strerror(errno));
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			struct io_watch *w = evs[i].data.ptr;
			w->fn(w, evs[i].events);
		}
	}
}

int iothread__start(struct st_err *err)
{
	if (iot.started)
		return 0;
	if (iothread__init(err) < 0)
		return -1;
	/* Signals are the main loop's (signalfd) and the vCPUs' (kicks), never
	 * this thread's: it starts with all of them blocked. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = pthread_create(&iot.thread, NULL, iothread__run, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return err__fail(err, r, "cannot start the I/O thread");
	iot.started = 1;
	return 0;
}
