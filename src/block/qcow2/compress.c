/* Compressed clusters: raw deflate (window 2^12, as QEMU writes them) and zstd. */
#include "block/qcow2/qcow2.h"

#include <string.h>
#include <zlib.h>
#include <zstd.h>

/* Returns 0 and the compressed length, or -1 when the data does not shrink. */
int qcow2__compress(enum qcow2_compression t, const void *in, size_t in_len, void *out, size_t out_cap,
		   size_t *out_len)
{
	if (t == QCOW2_COMP_ZSTD) {
		size_t n = ZSTD_compress(out, out_cap, in, in_len, 1);
		if (ZSTD_isError(n) || n >= in_len)
			return -1;
		*out_len = n;
		return 0;
	}
	/* A fast trial on the start skips the full effort on data that will not
	 * shrink (the cluster is then stored plain, as it would be anyway). */
	if (in_len > 16384) {
		uint8_t probe[8192 + 512];
		size_t plen;
		if (qcow2__compress(t, in, 8192, probe, sizeof(probe), &plen) < 0 || plen > 8192 * 97 / 100)
			return -1;
	}
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, in_len > 16384 ? Z_DEFAULT_COMPRESSION : 1, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)in_len;
	z.next_out = out;
	z.avail_out = (uInt)out_cap;
	int r = deflate(&z, Z_FINISH);
	size_t n = out_cap - z.avail_out;
	deflateEnd(&z);
	if (r != Z_STREAM_END || n >= in_len)
		return -1;
	*out_len = n;
	return 0;
}

/* Fills exactly out_len bytes; the input may carry padding after the stream. */
int qcow2__decompress(enum qcow2_compression t, const void *in, size_t in_len, void *out, size_t out_len)
{
	if (t == QCOW2_COMP_ZSTD) {
		ZSTD_DCtx *d = ZSTD_createDCtx();
		if (!d)
			return -1;
		ZSTD_inBuffer ib = {in, in_len, 0};
		ZSTD_outBuffer ob = {out, out_len, 0};
		int ret = -1;
		while (ob.pos < ob.size) {
			size_t r = ZSTD_decompressStream(d, &ob, &ib);
			if (ZSTD_isError(r))
				break;
			if (ob.pos == ob.size) {
				ret = 0;
				break;
			}
			if (ib.pos == ib.size || r == 0)
				break;
		}
		ZSTD_freeDCtx(d);
		return ret;
	}
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -12) != Z_OK)
		return -1;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)in_len;
	z.next_out = out;
	z.avail_out = (uInt)out_len;
	int r = inflate(&z, Z_FINISH);
	size_t got = out_len - z.avail_out;
	inflateEnd(&z);
	/* QEMU accepts a stream that fills the cluster even without its end marker */
	if ((r != Z_STREAM_END && r != Z_BUF_ERROR && r != Z_OK) || got != out_len)
		return -1;
	return 0;
}
