/* Asynchronous block I/O: a small pool of threads runs blk_* requests and
 * calls the completion callback from the pool thread. This is how the VMM's
 * virtio-blk keeps several requests in flight on one image. */
#ifndef STRATA_BLOCK_AIO_H
#define STRATA_BLOCK_AIO_H

#include <stdint.h>

#include "block/block.h"

enum blk_aio_op { BLK_AIO_READ, BLK_AIO_WRITE, BLK_AIO_ZEROES, BLK_AIO_DISCARD, BLK_AIO_FLUSH };

struct blk_aio_req {
	enum blk_aio_op op;
	struct blk *b;
	void *buf;
	uint64_t len, off;
	/* called once, from a pool thread, with 0 or -1 and the error */
	void (*done)(struct blk_aio_req *req, int ret, const struct st_err *err);
	void *opaque;
	struct blk_aio_req *next;   /* queue link, owned by the pool */
};

struct blk_aio_pool;

int block__aio_pool_new(unsigned threads, struct blk_aio_pool **out, struct st_err *err);
/* Queues the request; it must stay valid until done() is called. */
void block__aio_submit(struct blk_aio_pool *p, struct blk_aio_req *req);
/* Runs what is queued, then stops the threads and frees the pool. */
void block__aio_pool_free(struct blk_aio_pool *p);

#endif
