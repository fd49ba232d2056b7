#include "vm/virtio/blk.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "vm/virtio/virtio.h"
#include "vm/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_MQ           12
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define BLK_QUEUE_SIZE 256
#define BLK_MAX_DISCARD_SECTORS (1u << 22)   /* 2 GiB per segment */
#define WZ_UNMAP 1u

struct virtio_blk_config {
	uint64_t capacity;
	uint32_t size_max, seg_max;
	uint16_t cylinders;
	uint8_t heads, sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp, alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback, unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors, max_discard_seg, discard_sector_alignment;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap, unused1[3];
} __attribute__((packed));

struct virtio_blk {
	struct virtio_dev dev;
	struct virtio_blk_config config;
	struct disk *disk;
	char serial[VIRTIO_BLK_ID_BYTES + 1];
	char path[256];
	unsigned long counts[BLK_NR_COUNTS];
	struct blk_scratch scratch;  /* one chain at a time per device (lock held) */
};

int blk__parse(const struct vq_elem *e, struct blk_req *r, struct st_err *err)
{
	struct { uint32_t type, reserved; uint64_t sector; } hdr;
	if (!e->nr_in)
		return st_fail(err, 0, "request %u has no writable status byte", e->head);
	if (iov__to_buf(e->iov, e->nr_out, 0, &hdr, sizeof(hdr)) != sizeof(hdr))
		return st_fail(err, 0, "request %u: header shorter than 16 bytes", e->head);
	r->type = hdr.type;
	r->sector = hdr.sector;
	const struct iovec *last = &e->iov[e->nr_out + e->nr_in - 1];
	r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	r->nr_data = 0;
	r->data_len = 0;
	/* Readable data after the header for writes, discards...; writable data
	 * before the status byte for reads and get-id. */
	bool out = r->type != VIRTIO_BLK_T_IN && r->type != VIRTIO_BLK_T_GET_ID;
	/* Data the device would write must sit in writable buffers and data it
	 * reads in readable ones: anything else asks it to write read-only memory. */
	if (!out && e->out_len != sizeof(hdr))
		return st_fail(err, 0, "request %u (type %u) puts its data in read-only buffers",
			       e->head, r->type);
	if (out && e->in_len != 1)
		return st_fail(err, 0, "request %u (type %u) has %llu writable bytes, expected 1",
			       e->head, r->type, (unsigned long long)e->in_len);
	unsigned first = out ? 0 : e->nr_out, end = out ? e->nr_out : e->nr_out + e->nr_in;
	size_t skip = out ? sizeof(hdr) : 0;
	for (unsigned i = first; i < end; i++) {
		struct iovec v = e->iov[i];
		if (!out && i == end - 1)
			v.iov_len--; /* the status byte */
		if (skip >= v.iov_len) {
			skip -= v.iov_len;
			continue;
		}
		v.iov_base = (uint8_t *)v.iov_base + skip;
		v.iov_len -= skip;
		skip = 0;
		r->data[r->nr_data++] = v;
		r->data_len += v.iov_len;
	}
	return 0;
}

static bool blk__in_range(const struct disk *dk, uint64_t sector, uint64_t bytes)
{
	uint64_t sectors = dk->size / 512;
	return sector <= sectors && bytes / 512 <= sectors - sector && !(bytes % 512);
}

static uint8_t blk__ranges(struct disk *dk, struct blk_req *r)
{
	struct { uint64_t sector; uint32_t num_sectors, flags; } seg;
	/* One segment per request (max_*_seg = 1). */
	if (r->data_len != sizeof(seg))
		return VIRTIO_BLK_S_UNSUPP;
	iov__to_buf(r->data, r->nr_data, 0, &seg, sizeof(seg));
	bool zeroes = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
	if (seg.num_sectors > BLK_MAX_DISCARD_SECTORS || (seg.flags & ~(zeroes ? WZ_UNMAP : 0)))
		return VIRTIO_BLK_S_UNSUPP;
	if (!blk__in_range(dk, seg.sector, (uint64_t)seg.num_sectors * 512))
		return VIRTIO_BLK_S_IOERR;
	int ret = zeroes ? dk->ops->write_zeroes(dk, seg.sector * 512, (uint64_t)seg.num_sectors * 512,
						 seg.flags & WZ_UNMAP)
			 : dk->ops->discard(dk, seg.sector * 512, (uint64_t)seg.num_sectors * 512);
	return ret < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

uint8_t blk__execute(struct disk *dk, const char *serial, struct blk_req *r)
{
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		if (!blk__in_range(dk, r->sector, r->data_len))
			return VIRTIO_BLK_S_IOERR;
		if (r->type == VIRTIO_BLK_T_OUT && dk->read_only)
			return VIRTIO_BLK_S_IOERR;
		if (!r->data_len)
			return VIRTIO_BLK_S_OK;
		int ret = r->type == VIRTIO_BLK_T_IN
				  ? dk->ops->readv(dk, r->data, (int)r->nr_data, r->sector * 512)
				  : dk->ops->writev(dk, r->data, (int)r->nr_data, r->sector * 512);
		return ret < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_FLUSH:
		return dk->ops->flush(dk) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID: {
		char id[VIRTIO_BLK_ID_BYTES] = {0};
		memcpy(id, serial, ST_MIN(strlen(serial), sizeof(id)));
		iov__from_buf(r->data, r->nr_data, 0, id, ST_MIN(sizeof(id), r->data_len));
		return VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (dk->read_only)
			return VIRTIO_BLK_S_IOERR;
		return blk__ranges(dk, r);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

static void blk__count(unsigned long counts[BLK_NR_COUNTS], uint32_t type, uint8_t status)
{
	switch (type) {
	case VIRTIO_BLK_T_IN: counts[BLK_READS]++; break;
	case VIRTIO_BLK_T_OUT: counts[BLK_WRITES]++; break;
	case VIRTIO_BLK_T_FLUSH: counts[BLK_FLUSHES]++; break;
	case VIRTIO_BLK_T_DISCARD: counts[BLK_DISCARDS]++; break;
	case VIRTIO_BLK_T_WRITE_ZEROES: counts[BLK_WRITE_ZEROES]++; break;
	default: break;
	}
	if (status == VIRTIO_BLK_S_UNSUPP)
		counts[BLK_UNSUPPORTED]++;
	else if (status == VIRTIO_BLK_S_IOERR)
		counts[BLK_IOERRORS]++;
}

int blk__serve(struct virtqueue *vq, const struct guest_mem *mem, struct disk *dk,
	       const char *serial, struct blk_scratch *s, unsigned long counts[BLK_NR_COUNTS],
	       unsigned *served, struct st_err *err)
{
	*served = 0;
	for (;;) {
		int r = vq__pop(vq, mem, &s->elem, err);
		if (r == 0)
			return 0;
		if (r < 0 || blk__parse(&s->elem, &s->req, err) < 0)
			return -1;
		uint8_t status = blk__execute(dk, serial, &s->req);
		*s->req.status = status;
		blk__count(counts, s->req.type, status);
		uint32_t written = 1;
		if (status == VIRTIO_BLK_S_OK &&
		    (s->req.type == VIRTIO_BLK_T_IN || s->req.type == VIRTIO_BLK_T_GET_ID))
			written += (uint32_t)s->req.data_len;
		vq__push(vq, s->elem.head, written);
		(*served)++;
	}
}

static void blk__queue_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_blk *b = d->priv;
	struct st_err err = {0};
	unsigned served;
	if (blk__serve(&d->vqs[q], &d->vm->mem, b->disk, b->serial, &b->scratch, b->counts, &served,
		       &err) < 0)
		virtio__queue_error(d, q, &err);
	d->requests += served;
	if (served) /* requests served before a bad one still get their interrupt */
		virtio__signal_queue(d, q);
}

static void blk__query(struct virtio_dev *d, json_t *o)
{
	struct virtio_blk *b = d->priv;
	json_object_set_new(o, "type", json_string("virtio-blk"));
	json_object_set_new(o, "path", json_string(b->path));
	json_object_set_new(o, "read_only", json_boolean(b->disk->read_only));
	json_object_set_new(o, "serial", json_string(b->serial));
	json_object_set_new(o, "queues", json_integer(b->config.num_queues));
	static const char *const names[BLK_NR_COUNTS] = {"reads", "writes", "flushes", "discards",
							  "write_zeroes", "unsupported", "io_errors"};
	json_t *stats = json_object();
	for (int i = 0; i < BLK_NR_COUNTS; i++)
		json_object_set_new(stats, names[i], json_integer((json_int_t)b->counts[i]));
	json_object_set_new(o, "stats", stats);
}

static void blk__shutdown(struct virtio_dev *d)
{
	struct virtio_blk *b = d->priv;
	b->disk->ops->close(b->disk);
	b->disk = NULL;
}

static const struct virtio_dev_ops blk_ops = {
	.device_id = 2,
	.pci_class = 0x018000, /* mass storage, other */
	.queue_notify = blk__queue_notify,
	.shutdown = blk__shutdown,
	.query = blk__query,
};

static int blk__parse_spec(const char *spec, char *path, size_t path_len, bool *ro,
			   char *serial, unsigned *queues, char *format, struct st_err *err)
{
	char buf[512];
	if (strlen(spec) >= sizeof(buf))
		return st_fail(err, 0, "disk spec too long");
	strcpy(buf, spec);
	char *save = NULL, *tok = strtok_r(buf, ",", &save);
	if (!tok || strlen(tok) >= path_len)
		return st_fail(err, 0, "'%s': no usable path (PATH[,ro][,serial=S][,queues=N])", spec);
	strcpy(path, tok);
	while ((tok = strtok_r(NULL, ",", &save))) {
		uint64_t v;
		if (!strcmp(tok, "ro")) {
			*ro = true;
		} else if (!strncmp(tok, "serial=", 7)) {
			if (strlen(tok + 7) > VIRTIO_BLK_ID_BYTES)
				return st_fail(err, 0, "serial '%s' is longer than %d bytes", tok + 7,
					       VIRTIO_BLK_ID_BYTES);
			strcpy(serial, tok + 7);
		} else if (!strncmp(tok, "format=", 7)) {
			if (strcmp(tok + 7, "raw") && strcmp(tok + 7, "qcow2"))
				return st_fail(err, 0, "format=%s: raw or qcow2", tok + 7);
			strcpy(format, tok + 7);
		} else if (!strncmp(tok, "queues=", 7)) {
			if (st_parse_u64(tok + 7, VIRTIO_BLK_MAX_QUEUES, &v, err) < 0 || v == 0)
				return st_fail(err, 0, "queues=%s: 1..%d", tok + 7, VIRTIO_BLK_MAX_QUEUES);
			*queues = (unsigned)v;
		} else {
			return st_fail(err, 0, "unknown disk option '%s' (ro, serial=S, queues=N, format=F)",
				       tok);
		}
	}
	return 0;
}

int virtio_blk__create(struct vm *vm, const char *spec, struct st_err *err)
{
	cleanup_free struct virtio_blk *b = calloc(1, sizeof(*b));
	if (!b)
		return st_fail(err, ENOMEM, "virtio-blk");
	bool ro = false;
	unsigned queues = 1;
	snprintf(b->serial, sizeof(b->serial), "strata%u", vm->nr_virtio);
	char format[8] = "";
	if (blk__parse_spec(spec, b->path, sizeof(b->path), &ro, b->serial, &queues, format, err) < 0 ||
	    disk__open(b->path, format[0] ? format : NULL, ro, &b->disk, err) < 0)
		return -1;
	struct virtio_blk_config *c = &b->config;
	c->capacity = b->disk->size / 512;
	c->seg_max = VQ_MAX_SEGS - 2;
	c->blk_size = 512;
	c->num_queues = (uint16_t)queues;
	c->max_discard_sectors = c->max_write_zeroes_sectors = BLK_MAX_DISCARD_SECTORS;
	c->max_discard_seg = c->max_write_zeroes_seg = 1;
	c->discard_sector_alignment = 8;
	c->write_zeroes_may_unmap = 1;
	uint64_t features = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
			    (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_MQ);
	if (ro)
		features |= 1ull << VIRTIO_BLK_F_RO;
	else
		features |= (1ull << VIRTIO_BLK_F_DISCARD) | (1ull << VIRTIO_BLK_F_WRITE_ZEROES);
	b->dev.priv = b;
	snprintf(b->dev.name, sizeof(b->dev.name), "virtio-blk%u", vm->nr_virtio);
	if (virtio__register(vm, &b->dev, &blk_ops, queues, BLK_QUEUE_SIZE, features, c,
			     sizeof(*c), err) < 0)
		return st_err_prefix(err, "%s", b->path);
	st_info("%s: %s, %llu MiB%s, %u queue(s)", b->dev.name, b->path,
		(unsigned long long)(b->disk->size >> 20), ro ? ", read-only" : "", queues);
	st_steal_ptr(b); /* the VM owns it now */
	return 0;
}
