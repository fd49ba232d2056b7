/* Host-side decompression of a bzImage payload, in the formats Linux builds:
 * gzip (zlib), xz (liblzma), lz4 legacy frames (liblz4) and zstd (libzstd). */
#include "vm/boot/boot.h"
#include "common/cleanup.h"

#include <errno.h>
#include <lz4.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define UNPACK_MAX (1ull << 30) /* no kernel is this large; stops decompression bombs */

struct outbuf {
	uint8_t *p;
	size_t len, cap;
};

static int outbuf_reserve(struct outbuf *o, size_t extra, struct st_err *err)
{
	if (o->len + extra <= o->cap)
		return 0;
	size_t cap = o->cap ? o->cap : (64u << 20);
	while (cap < o->len + extra)
		cap *= 2;
	if (cap > UNPACK_MAX)
		return err__fail(err, 0, "decompressed kernel exceeds %llu MiB", UNPACK_MAX >> 20);
	uint8_t *p = realloc(o->p, cap);
	if (!p)
		return err__fail(err, ENOMEM, "decompressing");
	o->p = p;
	o->cap = cap;
	return 0;
}

static int unpack_gzip(const uint8_t *in, size_t len, struct outbuf *o, struct st_err *err)
{
	z_stream z = {.next_in = (Bytef *)in, .avail_in = (uInt)len};
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return err__fail(err, 0, "zlib init failed");
	int r;
	do {
		if (outbuf_reserve(o, 16u << 20, err) < 0)
			break;
		z.next_out = o->p + o->len;
		z.avail_out = (uInt)(o->cap - o->len);
		r = inflate(&z, Z_NO_FLUSH);
		o->len = o->cap - z.avail_out;
	} while (r == Z_OK);
	inflateEnd(&z);
	if (r != Z_STREAM_END)
		return err->msg[0] ? -1 : err__fail(err, 0, "gzip data is corrupt (zlib %d)", r);
	return 0;
}

static int unpack_xz(const uint8_t *in, size_t len, struct outbuf *o, struct st_err *err)
{
	lzma_stream s = LZMA_STREAM_INIT;
	if (lzma_stream_decoder(&s, UINT64_MAX, 0) != LZMA_OK)
		return err__fail(err, 0, "liblzma init failed");
	s.next_in = in;
	s.avail_in = len;
	lzma_ret r;
	do {
		if (outbuf_reserve(o, 16u << 20, err) < 0)
			break;
		s.next_out = o->p + o->len;
		s.avail_out = o->cap - o->len;
		r = lzma_code(&s, LZMA_FINISH);
		o->len = o->cap - s.avail_out;
	} while (r == LZMA_OK);
	lzma_end(&s);
	if (r != LZMA_STREAM_END)
		return err->msg[0] ? -1 : err__fail(err, 0, "xz data is corrupt (liblzma %d)", r);
	return 0;
}

/* The legacy LZ4 format: magic, then blocks of <le32 size><data>, each block up to
 * 8 MiB decompressed; the kernel build appends the total size, which ends the walk. */
static int unpack_lz4(const uint8_t *in, size_t len, struct outbuf *o, struct st_err *err)
{
	const uint32_t magic = 0x184c2102, block_max = 8u << 20;
	size_t pos = 4;
	while (len - pos >= 4) {
		uint32_t n;
		memcpy(&n, in + pos, 4);
		if (n == magic) {
			pos += 4;
			continue;
		}
		if (n > len - pos - 4)
			break;
		if (outbuf_reserve(o, block_max, err) < 0)
			return -1;
		int d = LZ4_decompress_safe((const char *)in + pos + 4, (char *)o->p + o->len,
					    (int)n, (int)block_max);
		if (d < 0)
			return err__fail(err, 0, "lz4 data is corrupt at offset %zu", pos);
		o->len += (size_t)d;
		pos += 4 + n;
	}
	/* What is left must be nothing, or the appended size matching what we got. */
	uint32_t tail = 0;
	if (len - pos == 4)
		memcpy(&tail, in + pos, 4);
	if (!o->len || (len != pos && (len - pos != 4 || tail != o->len)))
		return err__fail(err, 0, "lz4 payload is truncated or corrupt at offset %zu", pos);
	return 0;
}

static int unpack_zstd(const uint8_t *in, size_t len, struct outbuf *o, struct st_err *err)
{
	ZSTD_DStream *z = ZSTD_createDStream();
	if (!z)
		return err__fail(err, ENOMEM, "zstd");
	ZSTD_inBuffer ib = {in, len, 0};
	size_t r;
	do {
		if (outbuf_reserve(o, 16u << 20, err) < 0) {
			ZSTD_freeDStream(z);
			return -1;
		}
		ZSTD_outBuffer ob = {o->p, o->cap, o->len};
		r = ZSTD_decompressStream(z, &ob, &ib);
		o->len = ob.pos;
	} while (r != 0 && !ZSTD_isError(r) && (ib.pos < ib.size || o->len == o->cap));
	ZSTD_freeDStream(z);
	if (ZSTD_isError(r) || r != 0)
		return err__fail(err, 0, "zstd data is corrupt%s%s", ZSTD_isError(r) ? ": " : "",
			       ZSTD_isError(r) ? ZSTD_getErrorName(r) : " (truncated)");
	return 0;
}

int unpack__payload(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len,
		    struct st_err *err)
{
	static const struct {
		const char *magic;
		size_t n;
		int (*fn)(const uint8_t *, size_t, struct outbuf *, struct st_err *);
	} formats[] = {
		{"\x1f\x8b", 2, unpack_gzip},
		{"\xfd" "7zXZ\x00", 6, unpack_xz},
		{"\x02\x21\x4c\x18", 4, unpack_lz4},
		{"\x28\xb5\x2f\xfd", 4, unpack_zstd},
	};
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (len < formats[i].n || memcmp(in, formats[i].magic, formats[i].n))
			continue;
		struct outbuf o = {0};
		if (formats[i].fn(in, len, &o, err) < 0) {
			free(o.p);
			return -1;
		}
		*out = o.p;
		*out_len = o.len;
		return 0;
	}
	return err__fail(err, 0, "unsupported payload compression (magic %02x %02x)", len ? in[0] : 0,
		       len > 1 ? in[1] : 0);
}
