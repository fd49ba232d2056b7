/* What image_inspect.c shares with its per-format header parsers
 * (image_inspect_qemu.c: qcow2, qcow, qed, luks; image_inspect_vendor.c:
 * vmdk, vpc, vhdx, vdi, parallels). Internal to src/block. Each parser
 * returns 1 when the data is its format (out filled), 0 when it is not, -1
 * (class EINVAL, or an I/O errno) when its header is truncated or
 * inconsistent. Only image_inspect_formats__read touches the file. */
#ifndef STRATA_BLOCK_IMAGE_INSPECT_FORMATS_H
#define STRATA_BLOCK_IMAGE_INSPECT_FORMATS_H

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "block/image_inspect.h"
#include "common/err.h"

/* The first bytes of the file, read once: every magic lies in them. */
#define IMAGE_INSPECT_HEAD 4096

struct image_inspect_src {
	int fd;
	uint64_t size;                    /* of the file */
	uint8_t head[IMAGE_INSPECT_HEAD + 1]; /* zero-filled past head_len: a string */
	size_t head_len;
};

/* len bytes at off, which must lie inside the file ("truncated" naming
 * what otherwise); len is the caller's buffer, so every read is bounded. */
int image_inspect_formats__read(const struct image_inspect_src *s, uint64_t off, void *buf, size_t len,
				const char *what, struct st_err *err);
/* A refusal of a malformed header: class EINVAL, "<format> header: ...". */
int image_inspect_formats__bad(struct st_err *err, const char *format, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Records why the image is unsafe (the first reason wins) and, when the
 * image names something, that name made printable. */
void image_inspect_formats__unsafe(struct image_inspect *out, const char *why, const char *name, size_t name_len);

int image_inspect_formats__qcow2(const struct image_inspect_src *s, struct image_inspect *out, struct st_err *err);
int image_inspect_formats__qed(const struct image_inspect_src *s, struct image_inspect *out, struct st_err *err);
int image_inspect_formats__luks(const struct image_inspect_src *s, struct image_inspect *out, struct st_err *err);
int image_inspect_formats__vmdk(const struct image_inspect_src *s, struct image_inspect *out, struct st_err *err);
/* at_end: a fixed VHD, whose only footer is the file's last sector (no
 * probe sees it: qemu and this module take such a file for raw). */
int image_inspect_formats__vpc(const struct image_inspect_src *s, bool at_end, struct image_inspect *out,
			       struct st_err *err);
int image_inspect_formats__vhdx(const struct image_inspect_src *s, struct image_inspect *out, struct st_err *err);
int image_inspect_formats__vdi(const struct image_inspect_src *s, struct image_inspect *out, struct st_err *err);
int image_inspect_formats__parallels(const struct image_inspect_src *s, struct image_inspect *out,
				     struct st_err *err);

/* get_be16() ... get_le64(): an unaligned field of the header, to host order */
#define IMAGE_INSPECT_GETTER(name, type, to_host)        \
	static inline type name(const uint8_t *p)        \
	{                                                \
		type v;                                  \
		memcpy(&v, p, sizeof(v));                \
		return to_host(v);                       \
	}
IMAGE_INSPECT_GETTER(get_be16, uint16_t, be16toh)
IMAGE_INSPECT_GETTER(get_be32, uint32_t, be32toh)
IMAGE_INSPECT_GETTER(get_be64, uint64_t, be64toh)
IMAGE_INSPECT_GETTER(get_le16, uint16_t, le16toh)
IMAGE_INSPECT_GETTER(get_le32, uint32_t, le32toh)
IMAGE_INSPECT_GETTER(get_le64, uint64_t, le64toh)

#endif
