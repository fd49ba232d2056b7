#include "vm/loop.h"

#include <errno.h>
#include <stddef.h>
#include <sys/epoll.h>

static int epfd = -1;

int loop__init(struct st_err *err)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	return epfd < 0 ? err__fail_errno(err, "epoll_create1") : 0;
}

int loop__add(struct loop_watch *w, uint32_t events, struct st_err *err)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
		return err__fail_errno(err, "epoll_ctl");
	return 0;
}

void loop__del(struct loop_watch *w)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

void loop__run_once(int timeout_ms)
{
	struct epoll_event evs[16];
	int n = epoll_wait(epfd, evs, 16, timeout_ms);
	for (int i = 0; i < n; i++) {
		struct loop_watch *w = evs[i].data.ptr;
		w->fn(w, evs[i].events);
	}
}
