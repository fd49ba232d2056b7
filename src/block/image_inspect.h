/* Safe format inspection of an image that a user or a guest supplied, before
 * anything opens it as an image (the idea of Glance's format_inspector, after
 * OSSA-2023-002 / CVE-2022-47951): only headers are read, with bounded reads
 * and every offset range-checked, never through a driver that would follow a
 * backing file, a data file or an extent. The data's real format must be the
 * one the uploader declared, and nothing in it may name another file.
 * docs/block.md ("Format inspection") lists what is refused and why. */
#ifndef STRATA_BLOCK_IMAGE_INSPECT_H
#define STRATA_BLOCK_IMAGE_INSPECT_H

#include <stdint.h>

#include "common/err.h"

/* The default cap on a header's virtual size: 64 TiB, the largest disk any
 * Strata component or VHDX makes; a 1 EiB qcow2 is a trap for whatever
 * allocates per-cluster tables, not a disk. */
#define IMAGE_INSPECT_DEFAULT_MAX_SIZE (64ull << 40)

struct image_inspect {
	/* in: refuse a virtual size above this; 0 means IMAGE_INSPECT_DEFAULT_MAX_SIZE */
	uint64_t max_virtual_size;
	/* out: what the data is, qemu-img's names ("raw", "qcow2", "vmdk", "vpc",
	 * "vhdx", "vdi", "iso", "luks", "qed", and the refused "qcow", "bochs",
	 * "cloop", "parallels"); static strings */
	const char *format;
	uint64_t virtual_size; /* bytes the guest sees (raw, iso: the file's size) */
	uint64_t file_size;
	/* out of image_inspect__probe: why the data must not be opened as an
	 * image (a backing file, a data file, an extent...), or NULL */
	const char *unsafe;
	char detail[200];      /* the name the image points at, when it names one */
};

/* Reads fd's headers (from offset 0, with pread: the file offset is left
 * alone) and accepts the data only when it is safe to hand to an image
 * driver as declared_format. Declared formats are Glance's disk formats
 * ("raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso", "ami", "ari",
 * "aki") plus "vpc" (qemu's name for vhd) and "luks"; "ami"/"ari"/"aki" are
 * raw content. Fills out (format and virtual_size also on most refusals).
 * A refusal is one line, class EINVAL; an I/O error keeps its errno. */
int image_inspect__fd(int fd, const char *declared_format, struct image_inspect *out, struct st_err *err);

/* Detection only: format, virtual size and out->unsafe, no policy (used by
 * image_inspect__fd and the tests that compare with qemu-img info). Fails
 * (class EINVAL) only on a header that is truncated or inconsistent. */
int image_inspect__probe(int fd, struct image_inspect *out, struct st_err *err);

#endif
