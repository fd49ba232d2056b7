#include "block/aio.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct blk_aio_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct blk_aio_req *head, *tail;
	bool stop;
	unsigned n;
	pthread_t th[];
};

static int run_one(struct blk_aio_req *r, struct st_err *err)
{
	switch (r->op) {
	case BLK_AIO_READ: return block__pread(r->b, r->buf, r->len, r->off, err);
	case BLK_AIO_WRITE: return block__pwrite(r->b, r->buf, r->len, r->off, err);
	case BLK_AIO_ZEROES: return block__pwrite_zeroes(r->b, r->len, r->off, err);
	case BLK_AIO_DISCARD: return block__discard(r->b, r->len, r->off, err);
	case BLK_AIO_FLUSH: return block__flush(r->b, err);
	}
	return err__fail(err, EINVAL, "unknown request");
}

static void *pool_thread(void *arg)
{
	struct blk_aio_pool *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (!p->head && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		struct blk_aio_req *r = p->head;
		if (!r) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		p->head = r->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->mu);
		struct st_err err = {0};
		int ret = run_one(r, &err);
		r->done(r, ret < 0 ? -1 : 0, &err);
	}
}

int block__aio_pool_new(unsigned threads, struct blk_aio_pool **out, struct st_err *err)
{
	if (!threads)
		threads = 1;
	struct blk_aio_pool *p = calloc(1, sizeof(*p) + threads * sizeof(pthread_t));
	if (!p)
		return err__fail(err, ENOMEM, "I/O pool");
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (unsigned i = 0; i < threads; i++) {
		int r = pthread_create(&p->th[i], NULL, pool_thread, p);
		if (r) {
			p->n = i;
			block__aio_pool_free(p);
			return err__fail(err, r, "I/O pool thread");
		}
	}
	p->n = threads;
	*out = p;
	return 0;
}

void block__aio_submit(struct blk_aio_pool *p, struct blk_aio_req *req)
{
	req->next = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->tail)
		p->tail->next = req;
	else
		p->head = req;
	p->tail = req;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void block__aio_pool_free(struct blk_aio_pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->n; i++)
		pthread_join(p->th[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}
