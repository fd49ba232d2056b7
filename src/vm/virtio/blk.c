#include "vm/virtio/blk.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "vm/virtio/virtio.h"
#include "vm/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_MQ           12
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VBLK_QUEUE_SIZE 256
#define VBLK_MAX_DISCARD_SECTORS (1u << 22)   /* 2 GiB per segment */
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
	char id[VBLK_ID_MAX + 1]; /* the host's name for it (stratad's target), apart from the guest-visible serial */
	char path[256];
	struct vblk_engine engine;
	struct io_watch disk_done;   /* the disk's event_fd */
};

int vblk__parse(const struct vq_elem *e, struct vblk_req *r, struct st_err *err)
{
	struct { uint32_t type, reserved; uint64_t sector; } hdr;
	if (!e->nr_in)
		return err__fail(err, 0, "request %u has no writable status byte", e->head);
	if (iov__to_buf(e->iov, e->nr_out, 0, &hdr, sizeof(hdr)) != sizeof(hdr))
		return err__fail(err, 0, "request %u: header shorter than 16 bytes", e->head);
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
		return err__fail(err, 0, "request %u (type %u) puts its data in read-only buffers",
			       e->head, r->type);
	if (out && e->in_len != 1)
		return err__fail(err, 0, "request %u (type %u) has %llu writable bytes, expected 1",
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

static bool vblk__in_range(const struct disk *dk, uint64_t sector, uint64_t bytes)
{
	uint64_t sectors = dk->size / 512;
	return sector <= sectors && bytes / 512 <= sectors - sector && !(bytes % 512);
}

static uint8_t vblk__ranges(struct disk *dk, struct vblk_req *r, struct disk_io *io)
{
	struct { uint64_t sector; uint32_t num_sectors, flags; } seg;
	/* One segment per request (max_*_seg = 1). */
	if (r->data_len != sizeof(seg))
		return VIRTIO_BLK_S_UNSUPP;
	iov__to_buf(r->data, r->nr_data, 0, &seg, sizeof(seg));
	bool zeroes = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
	if (seg.num_sectors > VBLK_MAX_DISCARD_SECTORS || (seg.flags & ~(zeroes ? WZ_UNMAP : 0)))
		return VIRTIO_BLK_S_UNSUPP;
	if (!vblk__in_range(dk, seg.sector, (uint64_t)seg.num_sectors * 512))
		return VIRTIO_BLK_S_IOERR;
	*io = (struct disk_io){.op = zeroes ? DISK_WRITE_ZEROES : DISK_DISCARD,
			       .off = seg.sector * 512, .len = (uint64_t)seg.num_sectors * 512,
			       .may_unmap = seg.flags & WZ_UNMAP};
	return VBLK_STATUS_PENDING;
}

uint8_t vblk__prepare(struct disk *dk, const char *serial, struct vblk_req *r, struct disk_io *io)
{
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (!vblk__in_range(dk, r->sector, r->data_len))
			return VIRTIO_BLK_S_IOERR;
		if (r->type == VIRTIO_BLK_T_OUT && dk->read_only)
			return VIRTIO_BLK_S_IOERR;
		if (!r->data_len)
			return VIRTIO_BLK_S_OK;
		*io = (struct disk_io){.op = r->type == VIRTIO_BLK_T_IN ? DISK_READ : DISK_WRITE,
				       .iov = r->data, .niov = (int)r->nr_data, .off = r->sector * 512};
		return VBLK_STATUS_PENDING;
	case VIRTIO_BLK_T_FLUSH:
		*io = (struct disk_io){.op = DISK_FLUSH};
		return VBLK_STATUS_PENDING;
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
		return vblk__ranges(dk, r, io);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

uint8_t vblk__execute(struct disk *dk, const char *serial, struct vblk_req *r)
{
	struct disk_io io;
	uint8_t status = vblk__prepare(dk, serial, r, &io);
	if (status != VBLK_STATUS_PENDING)
		return status;
	return disk__run_sync(dk, &io) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

static void vblk__count(unsigned long counts[VBLK_NR_COUNTS], uint32_t type, uint8_t status)
{
	switch (type) {
	case VIRTIO_BLK_T_IN: counts[VBLK_READS]++; break;
	case VIRTIO_BLK_T_OUT: counts[VBLK_WRITES]++; break;
	case VIRTIO_BLK_T_FLUSH: counts[VBLK_FLUSHES]++; break;
	case VIRTIO_BLK_T_DISCARD: counts[VBLK_DISCARDS]++; break;
	case VIRTIO_BLK_T_WRITE_ZEROES: counts[VBLK_WRITE_ZEROES]++; break;
	default: break;
	}
	if (status == VIRTIO_BLK_S_UNSUPP)
		counts[VBLK_UNSUPPORTED]++;
	else if (status == VIRTIO_BLK_S_IOERR)
		counts[VBLK_IOERRORS]++;
}

/* Requests one queue may have at the disk: each holds ~33 KiB of chain state. */
#define VBLK_MAX_IN_FLIGHT 128

static void vblk__finish(struct vblk_engine *be, struct vblk_slot *s, uint8_t status)
{
	*s->req.status = status;
	vblk__count(be->counts, s->req.type, status);
	uint32_t written = 1;
	if (status == VIRTIO_BLK_S_OK &&
	    (s->req.type == VIRTIO_BLK_T_IN || s->req.type == VIRTIO_BLK_T_GET_ID))
		written += (uint32_t)s->req.data_len;
	vq__push(&be->vqs[s->q], s->elem.head, written);
}

static void vblk__put_slot(struct vblk_engine *be, struct vblk_slot *s)
{
	s->next_free = be->free;
	be->free = s;
}

int vblk__serve(struct vblk_engine *be, unsigned q, unsigned *pushed, struct st_err *err)
{
	struct virtqueue *vq = &be->vqs[q];
	unsigned limit = ST_MIN(vq->size, VBLK_MAX_IN_FLIGHT);
	*pushed = 0;
	be->throttled[q] = false;
	for (;;) {
		if (be->in_flight[q] >= limit) {
			be->throttled[q] = true; /* the next completion serves the rest */
			return 0;
		}
		struct vblk_slot *s = be->free;
		if (s)
			be->free = s->next_free;
		else if (!(s = malloc(sizeof(*s))))
			return err__fail(err, ENOMEM, "queue %u: no memory for a request", q);
		int r = vq__pop(vq, be->mem, &s->elem, err);
		if (r <= 0 || vblk__parse(&s->elem, &s->req, err) < 0) {
			vblk__put_slot(be, s);
			return r == 0 ? 0 : -1;
		}
		s->q = q;
		uint8_t status = vblk__prepare(be->dk, be->serial, &s->req, &s->io);
		if (status == VBLK_STATUS_PENDING) {
			s->io.opaque = s;
			be->in_flight[q]++;
			disk__submit(be->dk, &s->io);
			continue;
		}
		vblk__finish(be, s, status);
		vblk__put_slot(be, s);
		(*pushed)++;
	}
}

unsigned vblk__complete(struct vblk_engine *be, uint32_t *queues)
{
	struct disk_io *done[64];
	unsigned n, total = 0;
	*queues = 0;
	do { /* a short batch means nothing more is waiting */
		n = disk__reap(be->dk, done, ST_ARRAY_SIZE(done));
		for (unsigned i = 0; i < n; i++) {
			struct vblk_slot *s = done[i]->opaque;
			be->in_flight[s->q]--;
			vblk__finish(be, s, done[i]->result < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
			*queues |= 1u << s->q;
			vblk__put_slot(be, s);
		}
		total += n;
	} while (n == ST_ARRAY_SIZE(done));
	return total;
}

void vblk__drain(struct vblk_engine *be)
{
	struct disk_io *done[64];
	while (be->dk && be->dk->in_flight) {
		unsigned n = disk__reap(be->dk, done, ST_ARRAY_SIZE(done));
		if (!n)
			disk__wait(be->dk);
		for (unsigned i = 0; i < n; i++) {
			struct vblk_slot *s = done[i]->opaque;
			be->in_flight[s->q]--;
			vblk__put_slot(be, s);
		}
	}
	memset(be->throttled, 0, sizeof(be->throttled));
}

void vblk__engine_free(struct vblk_engine *be)
{
	vblk__drain(be);
	while (be->free) {
		struct vblk_slot *s = be->free;
		be->free = s->next_free;
		free(s);
	}
}

/* Answers what the disk finished: interrupts, and the requests a queue at its
 * in-flight limit left waiting. */
static void vblk__answer(struct virtio_dev *d)
{
	struct virtio_blk *b = d->priv;
	uint32_t queues;
	d->requests += vblk__complete(&b->engine, &queues);
	for (unsigned q = 0; q < d->nr_queues; q++)
		if (queues & (1u << q))
			virtio__signal_queue(d, q);
}

static void vblk__start(struct virtio_dev *d, unsigned q)
{
	struct virtio_blk *b = d->priv;
	struct st_err err = {0};
	unsigned pushed;
	if (vblk__serve(&b->engine, q, &pushed, &err) < 0)
		virtio__queue_error(d, q, &err);
	d->requests += pushed;
	if (pushed) /* requests answered before a bad one still get their interrupt */
		virtio__signal_queue(d, q);
}

static void vblk__queue_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_blk *b = d->priv;
	vblk__start(d, q);
	disk__commit(b->disk);
	vblk__answer(d); /* page-cache hits are done already */
}

/* The disk finished requests (I/O thread). */
static void vblk__disk_event(struct io_watch *w, uint32_t events)
{
	(void)events;
	struct virtio_blk *b = w->opaque;
	struct virtio_dev *d = &b->dev;
	pthread_mutex_lock(&d->lock);
	if (b->disk) {
		disk__ack(b->disk);
		vblk__answer(d);
		bool started = false;
		for (unsigned q = 0; q < d->nr_queues; q++)
			if (b->engine.throttled[q] && !d->vqs[q].broken && d->vqs[q].desc &&
			    (d->status & VIRTIO_STATUS_DRIVER_OK)) {
				vblk__start(d, q);
				started = true;
			}
		if (started) {
			disk__commit(b->disk);
			vblk__answer(d);
		}
	}
	pthread_mutex_unlock(&d->lock);
}

static void vblk__query(struct virtio_dev *d, json_t *o)
{
	struct virtio_blk *b = d->priv;
	json_object_set_new(o, "type", json_string("virtio-blk"));
	json_object_set_new(o, "path", json_string(b->path));
	json_object_set_new(o, "read_only", json_boolean(b->disk->read_only));
	json_object_set_new(o, "serial", json_string(b->serial));
	if (b->id[0])
		json_object_set_new(o, "id", json_string(b->id));
	json_object_set_new(o, "queues", json_integer(b->config.num_queues));
	static const char *const names[VBLK_NR_COUNTS] = {"reads", "writes", "flushes", "discards",
							  "write_zeroes", "unsupported", "io_errors"};
	json_t *stats = json_object();
	for (int i = 0; i < VBLK_NR_COUNTS; i++)
		json_object_set_new(stats, names[i], json_integer((json_int_t)b->engine.counts[i]));
	json_object_set_new(o, "stats", stats);
}

/* A reset waits for the requests in flight: none may write into the guest
 * or its rings afterwards. */
static void vblk__reset(struct virtio_dev *d)
{
	struct virtio_blk *b = d->priv;
	vblk__drain(&b->engine);
}

static void vblk__shutdown(struct virtio_dev *d)
{
	struct virtio_blk *b = d->priv;
	iothread__del(&b->disk_done);
	vblk__engine_free(&b->engine);
	disk__close(b->disk);
	b->disk = b->engine.dk = NULL;
}

static const struct virtio_dev_ops vblk_ops = {
	.device_id = 2,
	.pci_class = 0x018000, /* mass storage, other */
	.hotplug = true,
	.queue_notify = vblk__queue_notify,
	.reset = vblk__reset,
	.shutdown = vblk__shutdown,
	.query = vblk__query,
};

/* PATH[,ro][,serial=S][,id=ID][,queues=N][,format=F] */
static int vblk__parse_spec(const char *spec, struct virtio_blk *b, bool *ro, unsigned *queues, char *format,
			    struct st_err *err)
{
	char buf[512];
	if (strlen(spec) >= sizeof(buf))
		return err__fail(err, 0, "disk spec too long");
	strcpy(buf, spec);
	char *save = NULL, *tok = strtok_r(buf, ",", &save);
	if (!tok || strlen(tok) >= sizeof(b->path))
		return err__fail(err, 0, "'%s': no usable path (PATH[,ro][,serial=S][,id=ID][,queues=N])", spec);
	strcpy(b->path, tok);
	while ((tok = strtok_r(NULL, ",", &save))) {
		uint64_t v;
		if (!strcmp(tok, "ro")) {
			*ro = true;
		} else if (!strncmp(tok, "serial=", 7)) {
			if (strlen(tok + 7) > VIRTIO_BLK_ID_BYTES)
				return err__fail(err, 0, "serial '%s' is longer than %d bytes", tok + 7,
					       VIRTIO_BLK_ID_BYTES);
			strcpy(b->serial, tok + 7);
		} else if (!strncmp(tok, "id=", 3)) {
			if (!tok[3] || strlen(tok + 3) > VBLK_ID_MAX)
				return err__fail(err, 0, "id '%s' is not 1..%d bytes", tok + 3, VBLK_ID_MAX);
			strcpy(b->id, tok + 3);
		} else if (!strncmp(tok, "format=", 7)) {
			if (strcmp(tok + 7, "raw") && strcmp(tok + 7, "qcow2"))
				return err__fail(err, 0, "format=%s: raw or qcow2", tok + 7);
			strcpy(format, tok + 7);
		} else if (!strncmp(tok, "queues=", 7)) {
			if (util__parse_u64(tok + 7, VIRTIO_BLK_MAX_QUEUES, &v, err) < 0 || v == 0)
				return err__fail(err, 0, "queues=%s: 1..%d", tok + 7, VIRTIO_BLK_MAX_QUEUES);
			*queues = (unsigned)v;
		} else {
			return err__fail(err, 0, "unknown disk option '%s' (ro, serial=S, id=ID, queues=N, format=F)",
				       tok);
		}
	}
	return 0;
}

static int virtio_blk__add(struct vm *vm, const char *spec, struct virtio_dev **out,
			   struct st_err *err)
{
	cleanup_free struct virtio_blk *b = calloc(1, sizeof(*b));
	if (!b)
		return err__fail(err, ENOMEM, "virtio-blk");
	bool ro = false;
	unsigned queues = 1;
	snprintf(b->serial, sizeof(b->serial), "strata%u", vm->virtio_seq);
	char format[8] = "";
	if (vblk__parse_spec(spec, b, &ro, &queues, format, err) < 0 ||
	    disk__open(b->path, format[0] ? format : NULL, ro, &b->disk, err) < 0)
		return -1;
	struct virtio_blk_config *c = &b->config;
	c->capacity = b->disk->size / 512;
	c->seg_max = VQ_MAX_SEGS - 2;
	c->blk_size = 512;
	c->num_queues = (uint16_t)queues;
	c->max_discard_sectors = c->max_write_zeroes_sectors = VBLK_MAX_DISCARD_SECTORS;
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
	b->engine = (struct vblk_engine){.dk = b->disk, .serial = b->serial, .mem = &vm->mem,
					.vqs = b->dev.vqs};
	b->disk_done = (struct io_watch){.fd = b->disk->event_fd, .fn = vblk__disk_event, .opaque = b};
	if (iothread__add(&b->disk_done, EPOLLIN, err) < 0) {
		disk__close(b->disk);
		return -1;
	}
	snprintf(b->dev.name, sizeof(b->dev.name), "virtio-blk%u", vm->virtio_seq);
	if (virtio__register(vm, &b->dev, &vblk_ops, queues, VBLK_QUEUE_SIZE, features, c,
			     sizeof(*c), err) < 0) {
		iothread__del(&b->disk_done);
		disk__close(b->disk);
		return err__prefix(err, "%s", b->path);
	}
	log__info("%s: %s, %llu MiB%s, %u queue(s)", b->dev.name, b->path,
		(unsigned long long)(b->disk->size >> 20), ro ? ", read-only" : "", queues);
	*out = &b->dev;
	cleanup__steal_ptr(b); /* the VM owns it now */
	return 0;
}

int virtio_blk__create(struct vm *vm, const char *spec, struct st_err *err)
{
	struct virtio_dev *d;
	return virtio_blk__add(vm, spec, &d, err);
}

int virtio_blk__hotplug(struct vm *vm, const char *spec, struct virtio_dev **out,
			struct st_err *err)
{
	/* Refused before the image is opened: nothing to undo. */
	if (pci__free_slot(vm->pci) < 0)
		return err__fail(err, 0, "no free PCI slot (all %d are in use)", PCI_MAX_SLOTS - 1);
	if (vm->nr_virtio == ST_ARRAY_SIZE(vm->virtio))
		return err__fail(err, 0, "too many virtio devices");
	if (virtio_blk__add(vm, spec, out, err) < 0)
		return -1;
	virtio__plug(*out);
	return 0;
}
