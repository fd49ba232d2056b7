/* The internal snapshot table: reading it with bounds checked, writing a
 * new one (fresh clusters, then the header switches to it). */
#include "block/qcow2/qcow2.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define SNAPSHOT_TABLE_MAX (64u << 20)
#define SNAPSHOT_EXTRA_MAX 1024

static uint64_t g64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return be64toh(v); }
static uint32_t g32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return be32toh(v); }
static uint16_t g16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return be16toh(v); }
static void p64(uint8_t *p, uint64_t v) { v = htobe64(v); memcpy(p, &v, 8); }
static void p32(uint8_t *p, uint32_t v) { v = htobe32(v); memcpy(p, &v, 4); }
static void p16(uint8_t *p, uint16_t v) { v = htobe16(v); memcpy(p, &v, 2); }

void qcow2__snapshots_free(struct qcow2 *s)
{
	for (uint32_t i = 0; s->snaps && i < s->nb_snapshots; i++) {
		free(s->snaps[i].id);
		free(s->snaps[i].name);
		free(s->snaps[i].extra);
	}
	free(s->snaps);
	s->snaps = NULL;
}

static uint64_t entry_size(const struct qcow2_snapshot *sn)
{
	return ST_ALIGN_UP(40 + (uint64_t)sn->extra_len + strlen(sn->id) + strlen(sn->name), 8);
}

uint64_t qcow2__snapshot_table_size(const struct qcow2 *s)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < s->nb_snapshots; i++)
		n += entry_size(&s->snaps[i]);
	return n;
}

int qcow2__snapshots_read(struct blk *b, struct qcow2 *s, struct st_err *err)
{
	if (!s->nb_snapshots)
		return 0;
	s->snaps = calloc(s->nb_snapshots, sizeof(*s->snaps));
	if (!s->snaps)
		return err__fail(err, ENOMEM, "snapshot table");
	uint64_t off = s->snapshots_offset, total = 0;
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		struct qcow2_snapshot *sn = &s->snaps[i];
		uint8_t h[40];
		if (block__file_pread(b, h, sizeof(h), off, err) < 0)
			return err__prefix(err, "snapshot table");
		sn->l1_offset = g64(h);
		sn->l1_size = g32(h + 8);
		uint16_t id_len = g16(h + 12), name_len = g16(h + 14);
		sn->date_sec = g32(h + 16);
		sn->date_nsec = g32(h + 20);
		sn->vm_clock_nsec = g64(h + 24);
		sn->vm_state_size = g32(h + 32);
		sn->extra_len = g32(h + 36);
		sn->icount = UINT64_MAX;
		if (sn->extra_len > SNAPSHOT_EXTRA_MAX)
			return err__fail(err, 0, "snapshot %u has too much extra data (%u bytes)", i, sn->extra_len);
		uint64_t size = ST_ALIGN_UP(40 + (uint64_t)sn->extra_len + id_len + name_len, 8);
		total += size;
		if (total > SNAPSHOT_TABLE_MAX)
			return err__fail(err, 0, "snapshot table is larger than %u bytes", SNAPSHOT_TABLE_MAX);
		cleanup_free uint8_t *rest = calloc(1, size - 40 + 1);
		if (!rest)
			return err__fail(err, ENOMEM, "snapshot table");
		/* the padding of the last entry may lie past the end of the file (QEMU) */
		if (block__file_pread(b, rest, (uint64_t)sn->extra_len + id_len + name_len, off + 40, err) < 0)
			return err__prefix(err, "snapshot table");
		if (sn->extra_len >= 8)
			sn->vm_state_size = g64(rest);
		if (sn->extra_len >= 16)
			sn->disk_size = g64(rest + 8);
		else
			sn->disk_size = b->size;
		if (sn->extra_len >= 24)
			sn->icount = g64(rest + 16);
		sn->extra = malloc(sn->extra_len ? sn->extra_len : 1);
		sn->id = strndup((char *)rest + sn->extra_len, id_len);
		sn->name = strndup((char *)rest + sn->extra_len + id_len, name_len);
		if (!sn->extra || !sn->id || !sn->name)
			return err__fail(err, ENOMEM, "snapshot table");
		memcpy(sn->extra, rest, sn->extra_len);
		if ((uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES || qcow2__offset_in_cluster(s, sn->l1_offset))
			return err__fail(err, 0, "snapshot '%s' has an invalid L1 table", sn->name);
		off += size;
	}
	s->snapshots_old_size = total;
	return 0;
}

/* Writes the table to fresh clusters, then points the header at it (one
 * 12-byte write), then frees the old table. */
int qcow2__snapshots_write(struct blk *b, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	uint64_t size = qcow2__snapshot_table_size(s);
	int64_t off = 0;
	if (size) {
		off = qcow2__alloc_clusters(b, qcow2__size_to_clusters(s, size), err);
		if (off < 0)
			return -1;
		cleanup_free uint8_t *buf = calloc(1, size);
		if (!buf)
			return err__fail(err, ENOMEM, "snapshot table");
		uint64_t o = 0;
		for (uint32_t i = 0; i < s->nb_snapshots; i++) {
			struct qcow2_snapshot *sn = &s->snaps[i];
			uint8_t *h = buf + o;
			size_t il = strlen(sn->id), nl = strlen(sn->name);
			p64(h, sn->l1_offset);
			p32(h + 8, sn->l1_size);
			p16(h + 12, (uint16_t)il);
			p16(h + 14, (uint16_t)nl);
			p32(h + 16, sn->date_sec);
			p32(h + 20, sn->date_nsec);
			p64(h + 24, sn->vm_clock_nsec);
			p32(h + 32, (uint32_t)ST_MIN(sn->vm_state_size, UINT32_MAX));
			p32(h + 36, sn->extra_len);
			memcpy(h + 40, sn->extra, sn->extra_len);
			if (sn->extra_len >= 16) {
				p64(h + 40, sn->vm_state_size);
				p64(h + 48, sn->disk_size);
			}
			if (sn->extra_len >= 24)
				p64(h + 56, sn->icount);
			memcpy(h + 40 + sn->extra_len, sn->id, il);
			memcpy(h + 40 + sn->extra_len + il, sn->name, nl);
			o += entry_size(sn);
		}
		if (block__file_pwrite(b, buf, size, off, err) < 0)
			return -1;
	}
	if (qcow2__flush_metadata(b, err) < 0)
		return -1;
	if (fdatasync(b->fd) < 0)
		return err__fail_errno(err, "fdatasync");
	uint8_t hdr[12];
	p32(hdr, s->nb_snapshots);
	p64(hdr + 4, (uint64_t)off);
	if (block__file_pwrite(b, hdr, 12, 60, err) < 0)
		return -1;
	uint64_t old = s->snapshots_offset, old_size = s->snapshots_old_size;
	s->snapshots_offset = (uint64_t)off;
	s->snapshots_old_size = size;
	if (old && old_size)
		return qcow2__refcount_update(b, old, old_size, -1, err);
	return 0;
}
