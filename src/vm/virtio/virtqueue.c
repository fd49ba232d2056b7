#include "vm/virtio/virtqueue.h"
#include "common/util.h"

#include <string.h>

/* Ring fields are shared with the guest: read each once, with barriers. */
static uint16_t ld16(const uint16_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void st16(uint16_t *p, uint16_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

static uint16_t *vq__used_idx(struct virtqueue *vq) { return (uint16_t *)(vq->used + 2); }
static uint16_t *vq__avail_event(struct virtqueue *vq)
{
	return (uint16_t *)(vq->used + 4 + 8 * (size_t)vq->size);
}

int vq__start(struct virtqueue *vq, const struct guest_mem *mem, bool event_idx,
	      struct st_err *err)
{
	uint16_t n = vq->size;
	if (!n || n > VQ_MAX_SIZE || (n & (n - 1)))
		return err__fail(err, 0, "queue size %u is not a power of two up to %d", n, VQ_MAX_SIZE);
	uint64_t avail_align = vq->packed ? 3 : 1;
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & avail_align) || (vq->used_gpa & 3))
		return err__fail(err, 0, "misaligned ring (desc 0x%llx, avail 0x%llx, used 0x%llx)",
			       (unsigned long long)vq->desc_gpa, (unsigned long long)vq->avail_gpa,
			       (unsigned long long)vq->used_gpa);
	vq->desc = mem__ptr(mem, vq->desc_gpa, 16ull * n);
	/* packed: 4-byte event suppression areas (off_wrap, flags) */
	vq->avail = mem__ptr(mem, vq->avail_gpa, vq->packed ? 4 : 6 + 2ull * n);
	vq->used = mem__ptr(mem, vq->used_gpa, vq->packed ? 4 : 6 + 8ull * n);
	if (!vq->desc || !vq->avail || !vq->used)
		return err__fail(err, 0, "ring outside guest RAM (desc 0x%llx, avail 0x%llx, used 0x%llx)",
			       (unsigned long long)vq->desc_gpa, (unsigned long long)vq->avail_gpa,
			       (unsigned long long)vq->used_gpa);
	vq->event_idx = event_idx;
	vq->broken = false;
	vq->last_avail = vq->used_idx = 0;
	vq->avail_wrap = vq->used_wrap = true;
	vq->signalled_valid = false;
	vq->published = 0;
	if (vq->packed) /* the driver's notifications: always wanted */
		st16((uint16_t *)vq->used + 1, VIRTQ_EVENT_F_ENABLE);
	return 0;
}

void vq__reset(struct virtqueue *vq)
{
	*vq = (struct virtqueue){.msix_vector = 0xffff};
}

static int vq__add_buf(struct vq_elem *e, const struct virtq_desc *d, const struct guest_mem *mem,
		       struct st_err *err)
{
	if (!d->len)
		return err__fail(err, 0, "zero-length buffer in chain %u", e->head);
	void *p = mem__ptr(mem, d->addr, d->len);
	if (!p)
		return err__fail(err, 0, "buffer 0x%llx+0x%x of chain %u is outside guest RAM",
			       (unsigned long long)d->addr, d->len, e->head);
	bool writable = d->flags & VIRTQ_DESC_F_WRITE;
	if (!writable && e->nr_in)
		return err__fail(err, 0, "chain %u has a readable buffer after a writable one", e->head);
	unsigned i = e->nr_out + e->nr_in;
	if (i == VQ_MAX_SEGS)
		return err__fail(err, 0, "chain %u has more than %d buffers", e->head, VQ_MAX_SEGS);
	e->iov[i] = (struct iovec){p, d->len};
	if (writable)
		e->nr_in++, e->in_len += d->len;
	else
		e->nr_out++, e->out_len += d->len;
	return 0;
}

static int vq__walk(struct virtqueue *vq, const struct guest_mem *mem, struct vq_elem *e,
		    struct st_err *err)
{
	const uint8_t *table = (const uint8_t *)vq->desc;
	unsigned table_size = vq->size, idx = e->head, seen = 0;
	bool indirect = false;
	for (;;) {
		if (++seen > table_size)
			return err__fail(err, 0, "chain %u loops or is longer than its table (%u)",
				       e->head, table_size);
		struct virtq_desc d;
		memcpy(&d, table + 16 * (size_t)idx, sizeof(d)); /* read once: the guest may change it */
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (indirect)
				return err__fail(err, 0, "chain %u nests indirect tables", e->head);
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return err__fail(err, 0, "chain %u: indirect descriptor with NEXT", e->head);
			if (!d.len || d.len % 16 || d.len / 16 > VQ_MAX_SEGS)
				return err__fail(err, 0, "chain %u: bad indirect table length %u", e->head, d.len);
			table = mem__ptr(mem, d.addr, d.len);
			if (!table)
				return err__fail(err, 0, "chain %u: indirect table 0x%llx+0x%x outside guest RAM",
					       e->head, (unsigned long long)d.addr, d.len);
			table_size = d.len / 16;
			idx = 0;
			seen = 0;
			indirect = true;
			continue;
		}
		if (vq__add_buf(e, &d, mem, err) < 0)
			return -1;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
		if (idx >= table_size)
			return err__fail(err, 0, "chain %u: next index %u beyond the table (%u)", e->head, idx,
				       table_size);
	}
}

/* A packed indirect table: its entries in order, none of them indirect. */
static int vq__walk_indirect_packed(struct vq_elem *e, const struct virtq_pdesc *d,
				    const struct guest_mem *mem, struct st_err *err)
{
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return err__fail(err, 0, "chain %u: indirect descriptor with NEXT", e->head);
	if (!d->len || d->len % 16 || d->len / 16 > VQ_MAX_SEGS)
		return err__fail(err, 0, "chain %u: bad indirect table length %u", e->head, d->len);
	const uint8_t *table = mem__ptr(mem, d->addr, d->len);
	if (!table)
		return err__fail(err, 0, "chain %u: indirect table 0x%llx+0x%x outside guest RAM", e->head,
			       (unsigned long long)d->addr, d->len);
	for (unsigned k = 0; k < d->len / 16; k++) {
		struct virtq_pdesc t;
		memcpy(&t, table + 16 * (size_t)k, sizeof(t)); /* read once */
		if (t.flags & VIRTQ_DESC_F_INDIRECT)
			return err__fail(err, 0, "chain %u nests indirect tables", e->head);
		struct virtq_desc b = {t.addr, t.len, t.flags, 0};
		if (vq__add_buf(e, &b, mem, err) < 0)
			return -1;
	}
	return 0;
}

/* Packed ring: the buffer at last_avail if the driver made it available
 * (AVAIL == our wrap counter, USED != it); its descriptors are consecutive
 * ring entries, the buffer id in the last one. */
static int vq__pop_packed(struct virtqueue *vq, const struct guest_mem *mem, struct vq_elem *e,
			  struct st_err *err)
{
	const struct virtq_pdesc *ring = (const struct virtq_pdesc *)vq->desc;
	uint16_t i = vq->last_avail, flags = ld16(&ring[i].flags);
	bool wrap = vq->avail_wrap;
	if (!(flags & VIRTQ_DESC_F_AVAIL) != !wrap || !(flags & VIRTQ_DESC_F_USED) == !wrap)
		return 0;
	e->head = i; /* for messages until the id is known */
	e->nr_out = e->nr_in = 0;
	e->out_len = e->in_len = 0;
	unsigned count = 0;
	struct virtq_pdesc d;
	do {
		if (++count > vq->size)
			return err__fail(err, 0, "chain at %u is longer than the ring (%u)", e->head, vq->size);
		memcpy(&d, &ring[i], sizeof(d)); /* read once: the guest may change it */
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (vq__walk_indirect_packed(e, &d, mem, err) < 0)
				return -1;
		} else {
			struct virtq_desc b = {d.addr, d.len, d.flags, 0};
			if (vq__add_buf(e, &b, mem, err) < 0)
				return -1;
		}
		if (++i == vq->size)
			i = 0, wrap = !wrap;
	} while (d.flags & VIRTQ_DESC_F_NEXT);
	if (d.id >= vq->size)
		return err__fail(err, 0, "buffer id %u beyond the queue size %u", d.id, vq->size);
	e->head = d.id;
	vq->chain_len[d.id] = (uint16_t)count;
	vq->last_avail = i;
	vq->avail_wrap = wrap;
	return 1;
}

int vq__pop(struct virtqueue *vq, const struct guest_mem *mem, struct vq_elem *e,
	    struct st_err *err)
{
	if (vq->broken || !vq->desc)
		return 0;
	if (vq->packed)
		return vq__pop_packed(vq, mem, e, err);
	uint16_t avail_idx = ld16(&vq->avail[1]);
	if (avail_idx == vq->last_avail) {
		if (!vq->event_idx)
			return 0;
		/* Ask for a notification at the next buffer, then look again: the
		 * driver may have added one before it saw the new avail_event. */
		st16(vq__avail_event(vq), vq->last_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = ld16(&vq->avail[1]);
		if (avail_idx == vq->last_avail)
			return 0;
	}
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size)
		return err__fail(err, 0, "available index moved by %u on a queue of %u",
			       (uint16_t)(avail_idx - vq->last_avail), vq->size);
	uint16_t head = ld16(&vq->avail[2 + vq->last_avail % vq->size]);
	if (head >= vq->size)
		return err__fail(err, 0, "head %u beyond the queue size %u", head, vq->size);
	e->head = head;
	e->nr_out = e->nr_in = 0;
	e->out_len = e->in_len = 0;
	if (vq__walk(vq, mem, e, err) < 0)
		return -1;
	vq->last_avail++;
	if (vq->event_idx)
		st16(vq__avail_event(vq), vq->last_avail);
	return 1;
}

struct vq_mark vq__mark(const struct virtqueue *vq)
{
	return (struct vq_mark){vq->last_avail, vq->avail_wrap};
}

void vq__rewind(struct virtqueue *vq, const struct vq_mark *m)
{
	vq->last_avail = m->last_avail;
	vq->avail_wrap = m->avail_wrap;
	if (vq->event_idx && !vq->packed)
		st16(vq__avail_event(vq), m->last_avail);
}

/* Packed: each used entry goes where the ring stands, which then moves on by
 * the slots the buffer took; the first entry's flags are written last, so the
 * driver sees the whole batch at once. */
static void vq__push_packed(struct virtqueue *vq, const struct vq_used *u, unsigned n)
{
	struct virtq_pdesc *ring = (struct virtq_pdesc *)vq->desc;
	uint16_t first = vq->used_idx, first_flags = 0;
	for (unsigned k = 0; k < n; k++) {
		uint16_t flags = vq->used_wrap ? VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED : 0;
		if (u[k].len)
			flags |= VIRTQ_DESC_F_WRITE;
		struct virtq_pdesc *slot = &ring[vq->used_idx];
		slot->id = u[k].id;
		slot->len = u[k].len;
		if (k == 0)
			first_flags = flags;
		else
			st16(&slot->flags, flags);
		unsigned step = vq->chain_len[u[k].id % vq->size];
		vq->used_idx = (uint16_t)(vq->used_idx + (step ? step : 1));
		if (vq->used_idx >= vq->size)
			vq->used_idx = (uint16_t)(vq->used_idx - vq->size), vq->used_wrap = !vq->used_wrap;
	}
	if (n)
		st16(&ring[first].flags, first_flags);
}

void vq__push_n(struct virtqueue *vq, const struct vq_used *u, unsigned n)
{
	vq->published += n;
	if (vq->packed) {
		vq__push_packed(vq, u, n);
		return;
	}
	for (unsigned k = 0; k < n; k++) {
		uint8_t *slot = vq->used + 4 + 8 * (size_t)((uint16_t)(vq->used_idx + k) % vq->size);
		uint32_t id = u[k].id;
		memcpy(slot, &id, 4);
		memcpy(slot + 4, &u[k].len, 4);
	}
	vq->used_idx = (uint16_t)(vq->used_idx + n);
	st16(vq__used_idx(vq), vq->used_idx);
}

void vq__push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	struct vq_used u = {head, len};
	vq__push_n(vq, &u, 1);
}

/* Packed: the driver's event suppression area says whether it wants this. */
static bool vq__should_notify_packed(struct virtqueue *vq)
{
	uint16_t off_wrap = ld16(vq->avail), flags = ld16(vq->avail + 1);
	uint16_t new_idx = vq->used_idx, old = vq->signalled_used;
	bool valid = vq->signalled_valid;
	vq->signalled_used = new_idx;
	vq->signalled_valid = true;
	if (flags == VIRTQ_EVENT_F_DISABLE)
		return false;
	if (flags != VIRTQ_EVENT_F_DESC || !vq->event_idx || !valid)
		return true;
	/* the event names a ring position and wrap counter: one from the
	 * previous lap counts as that far behind */
	uint16_t event = off_wrap & 0x7fff;
	if (!(off_wrap >> 15) != !vq->used_wrap)
		event = (uint16_t)(event - vq->size);
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool vq__should_notify(struct virtqueue *vq)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* used idx visible before we read the flags */
	if (vq->packed)
		return vq__should_notify_packed(vq);
	if (!vq->event_idx)
		return !(ld16(&vq->avail[0]) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	uint16_t used_event = ld16(&vq->avail[2 + vq->size]);
	uint16_t new_idx = vq->used_idx, old = vq->signalled_used;
	bool valid = vq->signalled_valid;
	vq->signalled_used = new_idx;
	vq->signalled_valid = true;
	if (!valid)
		return true;
	return (uint16_t)(new_idx - used_event - 1) < (uint16_t)(new_idx - old);
}

static size_t iov__copy(const struct iovec *iov, unsigned n, size_t skip, uint8_t *buf,
			size_t len, bool to_iov)
{
	size_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t c = ST_MIN(iov[i].iov_len - skip, len - done);
		uint8_t *p = (uint8_t *)iov[i].iov_base + skip;
		if (to_iov)
			memcpy(p, buf + done, c);
		else
			memcpy(buf + done, p, c);
		done += c;
		skip = 0;
	}
	return done;
}

size_t iov__to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len)
{
	return iov__copy(iov, n, skip, buf, len, false);
}

size_t iov__from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf,
		     size_t len)
{
	return iov__copy(iov, n, skip, (uint8_t *)buf, len, true);
}
