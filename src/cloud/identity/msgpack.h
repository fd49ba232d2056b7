/* The part of MessagePack that Keystone's token payloads use: arrays, nil,
 * booleans, unsigned integers, doubles, str and bin. The reader is written
 * for hostile input (a token body is attacker-controlled until its HMAC is
 * checked, and it is fuzzed): every length is checked against what is left. */
#ifndef STRATA_CLOUD_MSGPACK_H
#define STRATA_CLOUD_MSGPACK_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct msgpack_buf {
	uint8_t *data;
	size_t len, cap;
	int failed; /* out of memory at some point: the buffer is incomplete */
};

void msgpack__put_array(struct msgpack_buf *b, uint32_t count);
void msgpack__put_nil(struct msgpack_buf *b);
void msgpack__put_bool(struct msgpack_buf *b, int v);
void msgpack__put_uint(struct msgpack_buf *b, uint64_t v);
void msgpack__put_double(struct msgpack_buf *b, double v);
void msgpack__put_str(struct msgpack_buf *b, const char *s, size_t len);
void msgpack__put_bin(struct msgpack_buf *b, const uint8_t *p, size_t len);
void msgpack__buf_free(struct msgpack_buf *b);

enum msgpack_type {
	MSGPACK_NIL,
	MSGPACK_BOOL,
	MSGPACK_UINT,
	MSGPACK_INT,    /* negative */
	MSGPACK_DOUBLE, /* float 32 or 64 */
	MSGPACK_STR,
	MSGPACK_BIN,
	MSGPACK_ARRAY, /* count elements follow */
};

struct msgpack_item {
	enum msgpack_type type;
	uint64_t u;   /* UINT, BOOL; ARRAY: element count; STR/BIN: length */
	int64_t i;    /* INT */
	double d;     /* DOUBLE */
	const uint8_t *data; /* STR, BIN (not NUL-terminated) */
};

struct msgpack_reader {
	const uint8_t *p;
	size_t len, off;
};

/* Reads the next item; fails on truncation and on types outside the subset
 * (maps, ext). */
int msgpack__get(struct msgpack_reader *r, struct msgpack_item *item, struct st_err *err);

#endif
