#include "cloud/identity/msgpack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void put(struct msgpack_buf *b, const void *p, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 128;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *grown = realloc(b->data, cap);
		if (!grown) {
			b->failed = 1;
			return;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void put_be(struct msgpack_buf *b, uint8_t tag, uint64_t v, int bytes)
{
	uint8_t out[9] = {tag};
	for (int i = 0; i < bytes; i++)
		out[1 + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	put(b, out, 1 + (size_t)bytes);
}

void msgpack__put_array(struct msgpack_buf *b, uint32_t count)
{
	if (count < 16)
		put_be(b, (uint8_t)(0x90 | count), 0, 0);
	else if (count <= 0xffff)
		put_be(b, 0xdc, count, 2);
	else
		put_be(b, 0xdd, count, 4);
}

void msgpack__put_nil(struct msgpack_buf *b)
{
	put_be(b, 0xc0, 0, 0);
}

void msgpack__put_bool(struct msgpack_buf *b, int v)
{
	put_be(b, v ? 0xc3 : 0xc2, 0, 0);
}

/* The shortest form, as Python's msgpack writes it. */
void msgpack__put_uint(struct msgpack_buf *b, uint64_t v)
{
	if (v < 0x80)
		put_be(b, (uint8_t)v, 0, 0);
	else if (v <= 0xff)
		put_be(b, 0xcc, v, 1);
	else if (v <= 0xffff)
		put_be(b, 0xcd, v, 2);
	else if (v <= 0xffffffffu)
		put_be(b, 0xce, v, 4);
	else
		put_be(b, 0xcf, v, 8);
}

void msgpack__put_double(struct msgpack_buf *b, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	put_be(b, 0xcb, bits, 8);
}

static void put_len(struct msgpack_buf *b, const uint8_t tags[3], size_t len)
{
	if (len <= 0xff)
		put_be(b, tags[0], len, 1);
	else if (len <= 0xffff)
		put_be(b, tags[1], len, 2);
	else
		put_be(b, tags[2], len, 4);
}

void msgpack__put_str(struct msgpack_buf *b, const char *s, size_t len)
{
	if (len < 32)
		put_be(b, (uint8_t)(0xa0 | len), 0, 0);
	else
		put_len(b, (const uint8_t[]){0xd9, 0xda, 0xdb}, len);
	put(b, s, len);
}

void msgpack__put_bin(struct msgpack_buf *b, const uint8_t *p, size_t len)
{
	put_len(b, (const uint8_t[]){0xc4, 0xc5, 0xc6}, len);
	put(b, p, len);
}

void msgpack__buf_free(struct msgpack_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static int take_be(struct msgpack_reader *r, int bytes, uint64_t *v, struct st_err *err)
{
	if (r->len - r->off < (size_t)bytes)
		return err__fail(err, EINVAL, "msgpack: truncated");
	*v = 0;
	for (int i = 0; i < bytes; i++)
		*v = *v << 8 | r->p[r->off++];
	return 0;
}

static int take_bytes(struct msgpack_reader *r, struct msgpack_item *item, enum msgpack_type t,
		      uint64_t len, struct st_err *err)
{
	if (r->len - r->off < len)
		return err__fail(err, EINVAL, "msgpack: truncated");
	item->type = t;
	item->u = len;
	item->data = r->p + r->off;
	r->off += len;
	return 0;
}

static int sized(struct msgpack_reader *r, struct msgpack_item *item, enum msgpack_type t,
		 int len_bytes, struct st_err *err)
{
	uint64_t len = 0;
	if (take_be(r, len_bytes, &len, err) < 0)
		return -1;
	if (t == MSGPACK_ARRAY) {
		/* Each element is at least one byte: a larger count is a lie. */
		if (len > r->len - r->off)
			return err__fail(err, EINVAL, "msgpack: array longer than its data");
		item->type = t;
		item->u = len;
		return 0;
	}
	return take_bytes(r, item, t, len, err);
}

static int number(struct msgpack_reader *r, struct msgpack_item *item, uint8_t tag,
		  struct st_err *err)
{
	static const int widths[] = {[0xca - 0xca] = 4, [0xcb - 0xca] = 8, [0xcc - 0xca] = 1,
				     [0xcd - 0xca] = 2, [0xce - 0xca] = 4, [0xcf - 0xca] = 8,
				     [0xd0 - 0xca] = 1, [0xd1 - 0xca] = 2, [0xd2 - 0xca] = 4,
				     [0xd3 - 0xca] = 8};
	int w = widths[tag - 0xca];
	uint64_t v = 0;
	if (take_be(r, w, &v, err) < 0)
		return -1;
	if (tag == 0xca) {
		uint32_t bits = (uint32_t)v;
		float f;
		memcpy(&f, &bits, sizeof(f));
		item->type = MSGPACK_DOUBLE;
		item->d = f;
	} else if (tag == 0xcb) {
		item->type = MSGPACK_DOUBLE;
		memcpy(&item->d, &v, sizeof(item->d));
	} else if (tag <= 0xcf) {
		item->type = MSGPACK_UINT;
		item->u = v;
	} else {
		int shift = 64 - 8 * w; /* sign-extend */
		int64_t s = (int64_t)(v << shift) >> shift;
		item->type = s < 0 ? MSGPACK_INT : MSGPACK_UINT;
		item->i = s;
		item->u = (uint64_t)s;
	}
	return 0;
}

int msgpack__get(struct msgpack_reader *r, struct msgpack_item *item, struct st_err *err)
{
	memset(item, 0, sizeof(*item));
	if (r->off >= r->len)
		return err__fail(err, EINVAL, "msgpack: truncated");
	uint8_t tag = r->p[r->off++];
	if (tag < 0x80 || tag >= 0xe0) {
		item->type = tag < 0x80 ? MSGPACK_UINT : MSGPACK_INT;
		item->i = (int8_t)tag;
		item->u = tag;
		return 0;
	}
	if ((tag & 0xf0) == 0x90) {
		item->type = MSGPACK_ARRAY;
		item->u = tag & 0x0f;
		return item->u > r->len - r->off ? err__fail(err, EINVAL, "msgpack: array longer than its data") : 0;
	}
	if ((tag & 0xe0) == 0xa0)
		return take_bytes(r, item, MSGPACK_STR, tag & 0x1f, err);
	switch (tag) {
	case 0xc0:
		item->type = MSGPACK_NIL;
		return 0;
	case 0xc2:
	case 0xc3:
		item->type = MSGPACK_BOOL;
		item->u = tag == 0xc3;
		return 0;
	case 0xc4: return sized(r, item, MSGPACK_BIN, 1, err);
	case 0xc5: return sized(r, item, MSGPACK_BIN, 2, err);
	case 0xc6: return sized(r, item, MSGPACK_BIN, 4, err);
	case 0xd9: return sized(r, item, MSGPACK_STR, 1, err);
	case 0xda: return sized(r, item, MSGPACK_STR, 2, err);
	case 0xdb: return sized(r, item, MSGPACK_STR, 4, err);
	case 0xdc: return sized(r, item, MSGPACK_ARRAY, 2, err);
	case 0xdd: return sized(r, item, MSGPACK_ARRAY, 4, err);
	default:
		if (tag >= 0xca && tag <= 0xd3)
			return number(r, item, tag, err);
		return err__fail(err, EINVAL, "msgpack: unsupported type 0x%02x", tag);
	}
}
