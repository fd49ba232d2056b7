/* QEMU's own formats for image_inspect: qcow2 (and its predecessor qcow),
 * qed, luks. Field offsets from QEMU's docs/interop/qcow2.txt, the QED
 * specification and the LUKS1 on-disk format; the checks mirror what qemu
 * itself refuses at open, so that nothing qemu would open is read
 * differently here. */
#include "block/image_inspect_formats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "common/util.h"

#define QCOW_MAGIC 0x514649fbu              /* "QFI\xfb" */
#define QCOW2_EXT_DATA_FILE 0x44415441u
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_KNOWN 0x1full        /* dirty, corrupt, data file, compression, extended L2 */
#define QCOW2_MAX_L1_BYTES (32u << 20)      /* qemu's QCOW_MAX_L1_SIZE */
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20) /* qemu's QCOW_MAX_REFTABLE_SIZE */
#define QCOW2_MAX_SNAPSHOTS 65536u
#define BACKING_NAME_MAX 1023u              /* qemu refuses longer names */

/* The backing file name at off/len, for the refusal (the image is refused
 * whether or not it can be read). */
static void note_backing(const struct image_inspect_src *s, uint64_t off, uint32_t len, const char *why,
			 struct image_inspect *out)
{
	char name[BACKING_NAME_MAX];
	uint32_t n = len < sizeof(name) ? len : (uint32_t)sizeof(name);
	if (image_inspect_formats__read(s, off, name, n, "the backing file name", NULL) < 0)
		n = 0;
	image_inspect_formats__unsafe(out, why, name, n);
}

static int qcow1(const struct image_inspect_src *s, struct image_inspect *out, struct st_err *err)
{
	out->format = "qcow";
	if (s->size < 48)
		return image_inspect_formats__bad(err, "qcow", "truncated (%" PRIu64 " bytes)", s->size);
	out->virtual_size = get_be64(s->head + 24);
	if (get_be64(s->head + 8))
		note_backing(s, get_be64(s->head + 8), get_be32(s->head + 16), "it names a backing file", out);
	return 1;
}

/* The header extensions in the first cluster: a data-file name makes the
 * image unsafe; one running past the cluster makes it inconsistent. */
static int qcow2_extensions(const struct image_inspect_src *s, uint64_t start, uint64_t cluster,
			    struct image_inspect *out, struct st_err *err)
{
	size_t end = (size_t)ST_MIN(cluster, s->size);
	cleanup_free uint8_t *c = malloc(end);
	if (!c)
		return err__fail(err, ENOMEM, "qcow2 header extensions");
	if (image_inspect_formats__read(s, 0, c, end, "the qcow2 header cluster", err) < 0)
		return -1;
	for (uint64_t o = start; o + 8 <= end;) {
		uint32_t type = get_be32(c + o), len = get_be32(c + o + 4);
		o += 8;
		if (type == 0)
			return 0;
		if (len > end - o)
			return image_inspect_formats__bad(err, "qcow2", "extension 0x%x runs past the first cluster",
							  type);
		if (type == QCOW2_EXT_DATA_FILE)
			image_inspect_formats__unsafe(out, "it names an external data file", (const char *)c + o, len);
		o += ST_ALIGN_UP((uint64_t)len, 8);
	}
	return 0;
}

/* A table of `bytes` at `off` must be cluster-aligned and inside the file. */
static int qcow2_table(const struct image_inspect_src *s, const char *what, uint64_t off, uint64_t bytes,
		       uint64_t cluster, struct st_err *err)
{
	if (off % cluster)
		return image_inspect_formats__bad(err, "qcow2", "%s offset 0x%" PRIx64 " is not cluster-aligned",
						  what, off);
	if (bytes && (off > s->size || bytes > s->size - off))
		return image_inspect_formats__bad(err, "qcow2",
						  "truncated: the %s (0x%" PRIx64 "+%" PRIu64
						  ") lies past the end of the file (%" PRIu64 " bytes)",
						  what, off, bytes, s->size);
	return 0;
}

static int qcow2_safety(const struct image_inspect_src *s, const uint8_t *h, uint32_t version,
			uint32_t header_len, uint64_t cluster, struct image_inspect *out, struct st_err *err)
{
	uint64_t bf_off = get_be64(h + 8);
	uint32_t bf_len = get_be32(h + 16);
	uint64_t incompat = version >= 3 ? get_be64(h + 72) : 0;
	if (bf_off) {
		if (bf_len > BACKING_NAME_MAX || bf_off > cluster || bf_len > cluster - bf_off)
			bf_len = 0;
		note_backing(s, bf_off, bf_len, "it names a backing file", out);
	}
	/* the extension names the data file: let it speak first */
	if (qcow2_extensions(s, header_len, cluster, out, err) < 0)
		return -1;
	if (incompat & QCOW2_INCOMPAT_DATA_FILE)
		image_inspect_formats__unsafe(out, "it uses an external data file", NULL, 0);
	if (get_be32(h + 32))
		image_inspect_formats__unsafe(out, "it is encrypted", NULL, 0);
	if (incompat & QCOW2_INCOMPAT_CORRUPT)
		image_inspect_formats__unsafe(out, "it is marked corrupt", NULL, 0);
	if (incompat & ~QCOW2_INCOMPAT_KNOWN)
		image_inspect_formats__unsafe(out, "it has unknown incompatible features", NULL, 0);
	return 0;
}

int image_inspect_formats__qcow2(const struct image_inspect_src *s, struct image_inspect *out, struct st_err *err)
{
	const uint8_t *h = s->head;
	if (s->head_len < 4 || get_be32(h) != QCOW_MAGIC)
		return 0;
	uint32_t version = s->head_len >= 8 ? get_be32(h + 4) : 0;
	if (version == 1)
		return qcow1(s, out, err);
	out->format = "qcow2";
	if (s->size < 72)
		return image_inspect_formats__bad(err, "qcow2", "truncated (%" PRIu64 " bytes, 72 needed)", s->size);
	if (version != 2 && version != 3)
		return image_inspect_formats__bad(err, "qcow2", "unsupported version %u", version);
	uint32_t cluster_bits = get_be32(h + 20);
	if (cluster_bits < 9 || cluster_bits > 21)
		return image_inspect_formats__bad(err, "qcow2", "cluster_bits %u is outside 9-21", cluster_bits);
	uint64_t cluster = 1ull << cluster_bits;
	out->virtual_size = get_be64(h + 24);
	uint32_t header_len = 72, refcount_order = 4;
	if (version == 3) {
		if (s->size < 104)
			return image_inspect_formats__bad(err, "qcow2", "truncated (%" PRIu64 " bytes, 104 needed)",
							  s->size);
		header_len = get_be32(h + 100);
		refcount_order = get_be32(h + 96);
		if (header_len < 104 || header_len > cluster || header_len % 8)
			return image_inspect_formats__bad(err, "qcow2", "header length %u is inconsistent", header_len);
		if (header_len > s->size)
			return image_inspect_formats__bad(err, "qcow2", "truncated (%" PRIu64 " of %u header bytes)",
							  s->size, header_len);
	}
	if (refcount_order > 6)
		return image_inspect_formats__bad(err, "qcow2", "refcount order %u is above 6", refcount_order);
	uint32_t l1_size = get_be32(h + 36), rt_clusters = get_be32(h + 56), nb_snap = get_be32(h + 60);
	uint64_t per_l1 = cluster * (cluster / 8); /* guest bytes one L1 entry maps */
	uint64_t l1_needed = out->virtual_size / per_l1 + !!(out->virtual_size % per_l1);
	if (l1_size > QCOW2_MAX_L1_BYTES / 8)
		return image_inspect_formats__bad(err, "qcow2", "L1 table of %u entries is too large", l1_size);
	if (l1_needed > l1_size)
		return image_inspect_formats__bad(err, "qcow2",
						  "L1 table of %u entries cannot map the virtual size %" PRIu64,
						  l1_size, out->virtual_size);
	if (rt_clusters == 0 || rt_clusters > QCOW2_MAX_REFTABLE_BYTES / cluster)
		return image_inspect_formats__bad(err, "qcow2", "refcount table of %u clusters is inconsistent",
						  rt_clusters);
	if (nb_snap > QCOW2_MAX_SNAPSHOTS)
		return image_inspect_formats__bad(err, "qcow2", "%u snapshots is too many", nb_snap);
	if (qcow2_table(s, "L1 table", get_be64(h + 40), (uint64_t)l1_size * 8, cluster, err) < 0 ||
	    qcow2_table(s, "refcount table", get_be64(h + 48), (uint64_t)rt_clusters << cluster_bits, cluster,
			err) < 0 ||
	    (nb_snap && qcow2_table(s, "snapshot table", get_be64(h + 64), 0, cluster, err) < 0))
		return -1;
	return qcow2_safety(s, h, version, header_len, cluster, out, err) < 0 ? -1 : 1;
}

#define QED_MAGIC 0x00444551u /* "QED\0" little-endian */
#define QED_F_BACKING_FILE 1ull
#define QED_F_KNOWN 7ull      /* backing file, need check, backing format no-probe */

int image_inspect_formats__qed(const struct image_inspect_src *s, struct image_inspect *out, struct st_err *err)
{
	const uint8_t *h = s->head;
	if (s->head_len < 4 || get_le32(h) != QED_MAGIC)
		return 0;
	out->format = "qed";
	if (s->size < 64)
		return image_inspect_formats__bad(err, "qed", "truncated (%" PRIu64 " bytes, 64 needed)", s->size);
	uint32_t cluster = get_le32(h + 4), table = get_le32(h + 8);
	if (cluster < 4096 || cluster > (64u << 20) || (cluster & (cluster - 1)))
		return image_inspect_formats__bad(err, "qed", "cluster size %u is inconsistent", cluster);
	if (table < 1 || table > 16 || (table & (table - 1)))
		return image_inspect_formats__bad(err, "qed", "table size %u is inconsistent", table);
	out->virtual_size = get_le64(h + 48);
	uint64_t features = get_le64(h + 16);
	if (features & QED_F_BACKING_FILE)
		note_backing(s, get_le32(h + 56), get_le32(h + 60), "it names a backing file", out);
	if (features & ~QED_F_KNOWN)
		image_inspect_formats__unsafe(out, "it has unknown features", NULL, 0);
	return 1;
}

#define LUKS_PAYLOAD_OFFSET 104 /* u32 BE, in 512-byte sectors */

int image_inspect_formats__luks(const struct image_inspect_src *s, struct image_inspect *out, struct st_err *err)
{
	const uint8_t *h = s->head;
	if (s->head_len < 8 || memcmp(h, "LUKS\xba\xbe", 6))
		return 0;
	out->format = "luks";
	uint16_t version = get_be16(h + 6);
	if (version != 1) {
		/* qemu's LUKS driver reads version 1 only */
		image_inspect_formats__unsafe(out, "LUKS versions other than 1 are not supported", NULL, 0);
		return 1;
	}
	if (s->size < 592)
		return image_inspect_formats__bad(err, "luks", "truncated (%" PRIu64 " bytes, 592 needed)", s->size);
	uint64_t payload = (uint64_t)get_be32(h + LUKS_PAYLOAD_OFFSET) * 512;
	if (payload < 592 || payload > s->size)
		return image_inspect_formats__bad(err, "luks",
						  "payload offset %" PRIu64 " is outside the file (%" PRIu64 " bytes)",
						  payload, s->size);
	out->virtual_size = s->size - payload;
	return 1;
}
