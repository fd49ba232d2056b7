/* Blocks handed to consumer threads (see image_pipe.h). The producer fills
 * block (published % NBLOCKS); publishing it sets how many consumers still
 * owe it; consumer k takes blocks in order, counting those it has had. */
#include "cloud/images/image_pipe.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NBLOCKS 4
#define BLOCK_SIZE ((size_t)1 << 20)

struct block {
	uint8_t *data;
	size_t len;
	size_t owed; /* consumers that have not had it yet */
};

struct pipe_worker {
	struct image_pipe *p;
	struct image_pipe_consumer c;
	uint64_t had; /* blocks consumed */
	pthread_t thread;
	bool started;
};

struct image_pipe {
	pthread_mutex_t lock;
	pthread_cond_t work; /* a block was published, or stop */
	pthread_cond_t done; /* a block is owed by no one now */
	struct block blocks[NBLOCKS];
	uint64_t published;
	size_t fill; /* bytes in the block being filled */
	bool stop, failed;
	struct st_err err; /* the first consumer's failure */
	size_t n;
	struct pipe_worker workers[IMAGE_PIPE_MAX_CONSUMERS];
};

static void *consume(void *arg)
{
	struct pipe_worker *w = arg;
	struct image_pipe *p = w->p;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (w->had == p->published && !p->stop)
			pthread_cond_wait(&p->work, &p->lock);
		if (w->had == p->published)
			break; /* stopped, and nothing more is owed */
		struct block *b = &p->blocks[w->had % NBLOCKS];
		const uint8_t *data = b->data;
		size_t len = b->len;
		bool skip = p->failed || p->stop;
		pthread_mutex_unlock(&p->lock);
		struct st_err err = {0};
		int rc = skip ? 0 : w->c.fn(w->c.ctx, data, len, &err);
		pthread_mutex_lock(&p->lock);
		if (rc < 0 && !p->failed) {
			p->failed = true;
			p->err = err;
		}
		w->had++;
		if (--b->owed == 0)
			pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int image_pipe__new(const struct image_pipe_consumer *consumers, size_t n, struct image_pipe **out,
		    struct st_err *err)
{
	if (n == 0 || n > IMAGE_PIPE_MAX_CONSUMERS)
		return err__fail(err, EINVAL, "image pipe: 1 to %d consumers", IMAGE_PIPE_MAX_CONSUMERS);
	struct image_pipe *p = calloc(1, sizeof(*p));
	if (!p)
		return err__fail(err, ENOMEM, "out of memory");
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	for (size_t i = 0; i < NBLOCKS; i++) {
		if (!(p->blocks[i].data = malloc(BLOCK_SIZE))) {
			image_pipe__free(p);
			return err__fail(err, ENOMEM, "out of memory");
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct pipe_worker *w = &p->workers[i];
		*w = (struct pipe_worker){.p = p, .c = consumers[i]};
		int rc = pthread_create(&w->thread, NULL, consume, w);
		if (rc) {
			image_pipe__free(p);
			return err__fail(err, rc, "cannot start a thread for the image's data");
		}
		w->started = true;
		p->n = i + 1;
	}
	*out = p;
	return 0;
}

/* The filling block once nobody owes it (its last round is done). */
static struct block *filling(struct image_pipe *p)
{
	struct block *b = &p->blocks[p->published % NBLOCKS];
	while (b->owed)
		pthread_cond_wait(&p->done, &p->lock);
	return b;
}

static void publish(struct image_pipe *p, struct block *b)
{
	b->len = p->fill;
	b->owed = p->n;
	p->fill = 0;
	p->published++;
	pthread_cond_broadcast(&p->work);
}

static int failure(struct image_pipe *p, struct st_err *err)
{
	if (err)
		*err = p->err;
	return -1;
}

int image_pipe__space(struct image_pipe *p, uint8_t **room, size_t *len, struct st_err *err)
{
	pthread_mutex_lock(&p->lock);
	struct block *b = filling(p);
	bool failed = p->failed;
	pthread_mutex_unlock(&p->lock);
	if (failed)
		return failure(p, err);
	*room = b->data + p->fill;
	*len = BLOCK_SIZE - p->fill;
	return 0;
}

void image_pipe__commit(struct image_pipe *p, size_t n)
{
	pthread_mutex_lock(&p->lock);
	p->fill += n;
	if (p->fill == BLOCK_SIZE)
		publish(p, &p->blocks[p->published % NBLOCKS]);
	pthread_mutex_unlock(&p->lock);
}

int image_pipe__feed(struct image_pipe *p, const void *data, size_t len, struct st_err *err)
{
	const uint8_t *from = data;
	while (len) {
		uint8_t *room;
		size_t n;
		if (image_pipe__space(p, &room, &n, err) < 0)
			return -1;
		if (n > len)
			n = len;
		memcpy(room, from, n);
		image_pipe__commit(p, n);
		from += n;
		len -= n;
	}
	return 0;
}

int image_pipe__drain(struct image_pipe *p, struct st_err *err)
{
	pthread_mutex_lock(&p->lock);
	struct block *b = filling(p);
	if (p->fill)
		publish(p, b);
	for (size_t i = 0; i < NBLOCKS; i++)
		while (p->blocks[i].owed)
			pthread_cond_wait(&p->done, &p->lock);
	bool failed = p->failed;
	pthread_mutex_unlock(&p->lock);
	return failed ? failure(p, err) : 0;
}

void image_pipe__free(struct image_pipe *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < p->n; i++)
		if (p->workers[i].started)
			pthread_join(p->workers[i].thread, NULL);
	for (size_t i = 0; i < NBLOCKS; i++)
		free(p->blocks[i].data);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
