/* The qcow2 header: parsing with every bound checked before use (hostile
 * images), writing it back with its extensions, and the dirty/corrupt bits. */
#include "block/qcow2/qcow2.h"

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return be64toh(v);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

uint64_t qcow2__header_l1_size_for(uint64_t size, uint32_t cluster_bits)
{
	uint64_t per_l2 = 1ull << (cluster_bits - 3 + cluster_bits);
	return (size + per_l2 - 1) / per_l2;
}

static const struct {
	uint8_t type, bit;
	const char *name;
} feature_names[] = {
	{0, 0, "dirty bit"},         {0, 1, "corrupt bit"},  {0, 2, "external data file"},
	{0, 3, "compression type"},  {0, 4, "extended L2 entries"},
	{1, 0, "lazy refcounts"},    {2, 0, "bitmaps"},      {2, 1, "raw external data"},
};

/* Names the unknown incompatible features from the image's own table when it has one. */
static void describe_features(const uint8_t *table, uint32_t len, uint64_t bits, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = 0;
	for (int bit = 0; bit < 64; bit++) {
		if (!(bits & (1ull << bit)))
			continue;
		const char *name = NULL;
		char buf[47];
		for (uint32_t o = 0; table && o + 48 <= len; o += 48)
			if (table[o] == 0 && table[o + 1] == bit) {
				memcpy(buf, table + o + 2, 46);
				buf[46] = 0;
				name = buf;
			}
		for (size_t i = 0; !name && i < ST_ARRAY_SIZE(feature_names); i++)
			if (feature_names[i].type == 0 && feature_names[i].bit == bit)
				name = feature_names[i].name;
		n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? ", " : "",
				      name ? name : "unknown");
		if (!name || n >= cap)
			snprintf(out + ST_MIN(n, cap - 1), n < cap ? cap - n : 1, " (bit %d)", bit);
		n = strlen(out);
	}
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

bool qcow2__overlaps_metadata(struct qcow2 *s, uint64_t off, uint64_t len)
{
	return ranges_overlap(off, len, 0, s->cluster_size) ||
	       ranges_overlap(off, len, s->l1_offset, (uint64_t)s->l1_size * 8) ||
	       ranges_overlap(off, len, s->reftable_offset, (uint64_t)s->reftable_clusters << s->cluster_bits);
}

static int parse_extensions(struct qcow2 *s, const uint8_t *h, uint64_t avail, uint64_t start,
			    const uint8_t **feat, uint32_t *feat_len, struct st_err *err)
{
	uint64_t o = start;
	while (o + 8 <= avail) {
		uint32_t type = get32(h + o), len = get32(h + o + 4);
		o += 8;
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > avail - o)
			return err__fail(err, 0, "header extension 0x%x does not fit in the first cluster", type);
		if (type == QCOW2_EXT_BACKING_FMT) {
			if (len > 63)
				return err__fail(err, 0, "backing format name is too long (%u bytes)", len);
			free(s->backing_fmt);
			s->backing_fmt = strndup((const char *)h + o, len);
		} else if (type == QCOW2_EXT_FEATURES) {
			*feat = h + o;
			*feat_len = len;
		} else {
			if (s->n_exts >= 64)
				return err__fail(err, 0, "too many header extensions");
			struct qcow2_ext *n = realloc(s->exts, (s->n_exts + 1) * sizeof(*n));
			if (!n)
				return err__fail(err, ENOMEM, "header extensions");
			s->exts = n;
			n[s->n_exts].type = type;
			n[s->n_exts].len = len;
			n[s->n_exts].data = malloc(len ? len : 1);
			if (!n[s->n_exts].data)
				return err__fail(err, ENOMEM, "header extensions");
			memcpy(n[s->n_exts++].data, h + o, len);
		}
		o += ST_ALIGN_UP((uint64_t)len, 8);
	}
	return 0;
}

int qcow2__header_read(struct blk *b, struct qcow2 *s, struct st_err *err)
{
	struct stat st;
	if (fstat(b->fd, &st) < 0)
		return err__fail_errno(err, "stat");
	uint64_t file_size = (uint64_t)st.st_size;
	uint8_t fixed[QCOW2_V3_HEADER_LEN] = {0};
	if (file_size < QCOW2_V2_HEADER_LEN)
		return err__fail(err, 0, "file too short for a qcow2 header (%llu bytes)",
			       (unsigned long long)file_size);
	if (block__file_pread(b, fixed, ST_MIN(file_size, sizeof(fixed)), 0, err) < 0)
		return -1;
	if (get32(fixed) != QCOW2_MAGIC)
		return err__fail(err, 0, "not a qcow2 image (bad magic)");
	s->version = get32(fixed + 4);
	if (s->version != 2 && s->version != 3)
		return err__fail(err, 0, "unsupported qcow2 version %u", s->version);
	s->cluster_bits = get32(fixed + 20);
	if (s->cluster_bits < QCOW2_MIN_CLUSTER_BITS || s->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return err__fail(err, 0, "unsupported cluster size: 2^%u bytes (must be 512 B to 2 MiB)",
			       s->cluster_bits);
	s->cluster_size = 1ull << s->cluster_bits;
	s->l2_entries = (uint32_t)(s->cluster_size / 8);
	if (get32(fixed + 32))
		return err__fail(err, ENOTSUP, "encrypted qcow2 images are not supported");
	uint64_t backing_off = get64(fixed + 8);
	uint32_t backing_len = get32(fixed + 16);
	b->size = get64(fixed + 24);
	s->l1_size = get32(fixed + 36);
	s->l1_offset = get64(fixed + 40);
	s->reftable_offset = get64(fixed + 48);
	s->reftable_clusters = get32(fixed + 56);
	s->nb_snapshots = get32(fixed + 60);
	s->snapshots_offset = get64(fixed + 64);
	if (s->version == 2) {
		s->refcount_order = 4;
		s->header_len = QCOW2_V2_HEADER_LEN;
	} else {
		if (file_size < QCOW2_V3_HEADER_LEN)
			return err__fail(err, 0, "file too short for a version 3 header");
		s->incompat = get64(fixed + 72);
		s->compat = get64(fixed + 80);
		s->autoclear = get64(fixed + 88);
		s->refcount_order = get32(fixed + 96);
		s->header_len = get32(fixed + 100);
		if (s->header_len < QCOW2_V3_HEADER_LEN || s->header_len > s->cluster_size)
			return err__fail(err, 0, "invalid header length %u", s->header_len);
	}
	if (s->refcount_order > 6)
		return err__fail(err, 0, "invalid refcount order %u (at most 6)", s->refcount_order);

	uint64_t hlen = ST_MIN(s->cluster_size, file_size);
	cleanup_free uint8_t *h = calloc(1, s->cluster_size);
	if (!h)
		return err__fail(err, ENOMEM, "header");
	if (block__file_pread(b, h, hlen, 0, err) < 0)
		return -1;
	if (s->version == 3 && s->header_len > QCOW2_V3_HEADER_LEN)
		s->comp = h[104];
	const uint8_t *feat = NULL;
	uint32_t feat_len = 0;
	if (parse_extensions(s, h, ST_MIN(hlen, backing_off ? backing_off : hlen), s->header_len, &feat,
			     &feat_len, err) < 0)
		return -1;

	uint64_t unknown = s->incompat & ~(QCOW2_INCOMPAT_KNOWN);
	if (unknown) {
		char names[256];
		describe_features(feat, feat_len, unknown, names, sizeof(names));
		return err__fail(err, ENOTSUP, "unsupported incompatible qcow2 feature(s): %s", names);
	}
	if (s->incompat & QCOW2_INCOMPAT_COMPRESSION) {
		if (s->comp != QCOW2_COMP_ZSTD)
			return err__fail(err, 0, "unknown compression type %u", s->comp);
	} else if (s->comp != QCOW2_COMP_ZLIB) {
		return err__fail(err, 0, "compression type %u without its incompatible feature bit", s->comp);
	}
	s->corrupt = s->incompat & QCOW2_INCOMPAT_CORRUPT;
	s->lazy = s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS;

	if (backing_off) {
		if (backing_len > QCOW2_MAX_BACKING_NAME || backing_off > s->cluster_size ||
		    backing_len > s->cluster_size - backing_off || backing_off + backing_len > hlen)
			return err__fail(err, 0, "backing file name lies outside the first cluster");
		s->backing_name = strndup((const char *)h + backing_off, backing_len);
		if (!s->backing_name)
			return err__fail(err, ENOMEM, "header");
	}
	if (b->size > (1ull << 62))
		return err__fail(err, 0, "virtual size %llu is too large", (unsigned long long)b->size);
	if ((uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return err__fail(err, 0, "L1 table is too large (%u entries)", s->l1_size);
	if (s->l1_size < qcow2__header_l1_size_for(b->size, s->cluster_bits))
		return err__fail(err, 0, "L1 table (%u entries) is too small for the virtual size", s->l1_size);
	if (s->l1_size && (qcow2__offset_in_cluster(s, s->l1_offset) || !s->l1_offset))
		return err__fail(err, 0, "L1 table offset 0x%llx is invalid", (unsigned long long)s->l1_offset);
	if (s->l1_size && s->l1_offset + (uint64_t)s->l1_size * 8 > file_size)
		return err__fail(err, 0, "L1 table extends beyond the end of the file");
	if ((uint64_t)s->reftable_clusters << s->cluster_bits > QCOW2_MAX_REFTABLE_BYTES ||
	    !s->reftable_clusters)
		return err__fail(err, 0, "refcount table size (%u clusters) is invalid", s->reftable_clusters);
	if (qcow2__offset_in_cluster(s, s->reftable_offset) || !s->reftable_offset)
		return err__fail(err, 0, "refcount table offset 0x%llx is invalid",
			       (unsigned long long)s->reftable_offset);
	if (s->reftable_offset + ((uint64_t)s->reftable_clusters << s->cluster_bits) > file_size)
		return err__fail(err, 0, "refcount table extends beyond the end of the file");
	if (ranges_overlap(s->reftable_offset, (uint64_t)s->reftable_clusters << s->cluster_bits, 0,
			   s->cluster_size) ||
	    ranges_overlap(s->l1_offset, (uint64_t)s->l1_size * 8, 0, s->cluster_size))
		return err__fail(err, 0, "metadata table overlaps the header");
	if (ranges_overlap(s->reftable_offset, (uint64_t)s->reftable_clusters << s->cluster_bits,
			   s->l1_offset, (uint64_t)s->l1_size * 8))
		return err__fail(err, 0, "L1 table overlaps the refcount table");
	if (s->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
		return err__fail(err, 0, "too many snapshots (%u)", s->nb_snapshots);
	if (s->nb_snapshots && (qcow2__offset_in_cluster(s, s->snapshots_offset) || !s->snapshots_offset ||
				s->snapshots_offset >= file_size))
		return err__fail(err, 0, "snapshot table offset 0x%llx is invalid",
			       (unsigned long long)s->snapshots_offset);
	return 0;
}

static size_t put_ext(uint8_t *p, uint32_t type, const void *data, uint32_t len)
{
	put32(p, type);
	put32(p + 4, len);
	memcpy(p + 8, data, len);
	size_t total = 8 + ST_ALIGN_UP((size_t)len, 8);
	memset(p + 8 + len, 0, total - 8 - len);
	return total;
}

int qcow2__header_write(struct blk *b, struct qcow2 *s, struct st_err *err)
{
	cleanup_free uint8_t *h = calloc(1, s->cluster_size);
	if (!h)
		return err__fail(err, ENOMEM, "header");
	uint32_t hl = s->version == 2 ? QCOW2_V2_HEADER_LEN : 112;
	if (s->version == 3)
		s->header_len = hl;
	put32(h, QCOW2_MAGIC);
	put32(h + 4, s->version);
	put32(h + 20, s->cluster_bits);
	put64(h + 24, b->size);
	put32(h + 36, s->l1_size);
	put64(h + 40, s->l1_offset);
	put64(h + 48, s->reftable_offset);
	put32(h + 56, s->reftable_clusters);
	put32(h + 60, s->nb_snapshots);
	put64(h + 64, s->snapshots_offset);
	if (s->version == 3) {
		put64(h + 72, s->incompat);
		put64(h + 80, s->compat);
		put64(h + 88, s->autoclear);
		put32(h + 96, s->refcount_order);
		put32(h + 100, hl);
		h[104] = (uint8_t)s->comp;
	}
	/* extensions, then the backing name, all within the first cluster; the
	 * feature name table is optional and left out when it does not fit (as QEMU
	 * does with 512-byte clusters) */
	uint64_t table_len = 8 + 48 * ST_ARRAY_SIZE(feature_names);
	uint64_t need = hl + 8 + (s->backing_fmt ? 8 + ST_ALIGN_UP(strlen(s->backing_fmt), 8) : 0) +
			(s->backing_name ? strlen(s->backing_name) : 0);
	for (unsigned i = 0; i < s->n_exts; i++)
		need += 8 + ST_ALIGN_UP((uint64_t)s->exts[i].len, 8);
	if (need > s->cluster_size)
		return err__fail(err, ENOSPC, "header, extensions and backing name do not fit in one cluster");
	bool with_table = s->version == 3 && need + table_len <= s->cluster_size;
	size_t o = hl;
	if (s->backing_fmt)
		o += put_ext(h + o, QCOW2_EXT_BACKING_FMT, s->backing_fmt, (uint32_t)strlen(s->backing_fmt));
	if (with_table) {
		uint8_t table[48 * ST_ARRAY_SIZE(feature_names)];
		memset(table, 0, sizeof(table));
		for (size_t i = 0; i < ST_ARRAY_SIZE(feature_names); i++) {
			table[i * 48] = feature_names[i].type;
			table[i * 48 + 1] = feature_names[i].bit;
			memcpy(table + i * 48 + 2, feature_names[i].name, strlen(feature_names[i].name));
		}
		o += put_ext(h + o, QCOW2_EXT_FEATURES, table, sizeof(table));
	}
	for (unsigned i = 0; i < s->n_exts; i++)
		o += put_ext(h + o, s->exts[i].type, s->exts[i].data, s->exts[i].len);
	o += 8; /* end marker: zeros */
	if (s->backing_name) {
		size_t len = strlen(s->backing_name);
		put64(h + 8, o);
		put32(h + 16, (uint32_t)len);
		memcpy(h + o, s->backing_name, len);
		o += len;
	}
	return block__file_pwrite(b, h, o, 0, err);
}

int qcow2__header_set_incompat(struct blk *b, struct qcow2 *s, uint64_t bits, bool on, struct st_err *err)
{
	if (s->version < 3)
		return 0;
	uint64_t v = on ? (s->incompat | bits) : (s->incompat & ~bits);
	if (v == s->incompat)
		return 0;
	uint8_t buf[8];
	put64(buf, v);
	if (block__file_pwrite(b, buf, 8, 72, err) < 0)
		return -1;
	if (fdatasync(b->fd) < 0)
		return err__fail_errno(err, "fdatasync");
	s->incompat = v;
	return 0;
}

int qcow2__corrupt_err(struct blk *b, struct st_err *err, const char *fmt, ...)
{
	struct qcow2 *s = qcow2__of(b);
	char msg[ST_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (b->writable && !s->corrupt) {
		log__warn("%s: marking the image corrupt: %s", b->path, msg);
		s->corrupt = true;
		qcow2__header_set_incompat(b, s, QCOW2_INCOMPAT_CORRUPT, true, NULL);
	}
	s->corrupt = s->corrupt || b->writable;
	return err__fail(err, EIO, "image is corrupt: %s", msg);
}
