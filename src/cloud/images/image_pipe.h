/* An image's bytes cut into blocks of 1 MiB and handed, in order, to
 * consumer threads: each of the two hashes (md5, sha512) and the writer of
 * the file run on their own thread, so an upload costs the slowest of them
 * rather than their sum, and the connection's thread only copies into a
 * block and goes back to the socket. A few blocks are in flight at once: a
 * producer finding none free waits (the client then waits on TCP).
 *
 *   image_pipe__new(consumers, n, &p, err);
 *   while (...) image_pipe__feed(p, data, len, err);   // or __space/__commit
 *   image_pipe__drain(p, err);                         // every byte consumed
 *   image_pipe__free(p);
 *
 * A consumer's failure (a full disk) stops the others' work and is what the
 * next feed or the drain returns. */
#ifndef STRATA_CLOUD_IMAGE_PIPE_H
#define STRATA_CLOUD_IMAGE_PIPE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define IMAGE_PIPE_MAX_CONSUMERS 4

struct image_pipe;

struct image_pipe_consumer {
	/* Called with each block in order, on the consumer's own thread. */
	int (*fn)(void *ctx, const uint8_t *data, size_t len, struct st_err *err);
	void *ctx;
};

int image_pipe__new(const struct image_pipe_consumer *consumers, size_t n, struct image_pipe **out,
		    struct st_err *err);
/* Copies len bytes in (waiting for a free block when all are in flight). */
int image_pipe__feed(struct image_pipe *p, const void *data, size_t len, struct st_err *err);
/* The free room of the block being filled (> 0), to read into directly;
 * image_pipe__commit then says how many bytes were put there. */
int image_pipe__space(struct image_pipe *p, uint8_t **room, size_t *len, struct st_err *err);
void image_pipe__commit(struct image_pipe *p, size_t n);
/* Hands over the partial block and waits until every consumer has had
 * every block; the first consumer error, if any. */
int image_pipe__drain(struct image_pipe *p, struct st_err *err);
/* Stops and joins the consumers (what they have not had yet is dropped). */
void image_pipe__free(struct image_pipe *p);

#endif
