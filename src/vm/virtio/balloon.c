/* virtio-balloon (virtio 1.x, 5.5) with the statistics queue, driven from the
 * control socket: balloon-set gives the target, balloon-stats reads what the
 * driver reported and asks it for fresh figures. Inflated pages are returned
 * to the host (MADV_DONTNEED on the guest RAM mapping). */
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "vm/virtio/devices.h"
#include "vm/virtio/virtio.h"
#include "vm/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { INFLATEQ = 0, DEFLATEQ = 1, STATSQ = 2 };
#define VIRTIO_BALLOON_F_STATS_VQ 1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define BALLOON_PAGE 4096u
#define BALLOON_NR_TAGS 10

static const char *const stat_names[BALLOON_NR_TAGS] = {
	"swap_in", "swap_out", "major_faults", "minor_faults", "free_memory", "total_memory",
	"available_memory", "disk_caches", "hugetlb_allocations", "hugetlb_failures",
};

struct virtio_balloon {
	struct virtio_dev dev;
	struct { uint32_t num_pages, actual; } config;
	struct vq_elem elem;
	unsigned serving;            /* the queue being served */
	uint64_t inflated, deflated, bad_pfns;
	uint64_t stats[BALLOON_NR_TAGS];
	uint32_t stats_seen;         /* bitmap of tags reported */
	unsigned long stats_updates;
	bool stats_held;             /* the driver's stats buffer, kept until we ask again */
	uint16_t stats_head;
};

static void balloon__pages(struct virtio_balloon *b, const struct vq_elem *e, bool inflate)
{
	struct guest_mem *mem = &b->dev.vm->mem;
	for (unsigned i = 0; i < e->nr_out; i++) {
		const uint8_t *p = e->iov[i].iov_base;
		for (size_t off = 0; off + 4 <= e->iov[i].iov_len; off += 4) {
			uint32_t pfn;
			memcpy(&pfn, p + off, 4);
			void *host = mem__ptr(mem, (uint64_t)pfn * BALLOON_PAGE, BALLOON_PAGE);
			if (!host) {
				b->bad_pfns++;
				continue;
			}
			if (inflate) {
				madvise(host, BALLOON_PAGE, MADV_DONTNEED);
				b->inflated++;
			} else {
				b->deflated++;
			}
		}
	}
}

static void balloon__stats_in(struct virtio_balloon *b, const struct vq_elem *e)
{
	uint8_t entry[10];
	for (size_t off = 0; iov__to_buf(e->iov, e->nr_out, off, entry, 10) == 10; off += 10) {
		uint16_t tag;
		uint64_t val;
		memcpy(&tag, entry, 2);
		memcpy(&val, entry + 2, 8);
		if (tag < BALLOON_NR_TAGS) {
			b->stats[tag] = val;
			b->stats_seen |= 1u << tag;
		}
	}
	b->stats_updates++;
}

static int balloon__chain(struct virtio_dev *d, struct vq_elem *e, struct st_err *err)
{
	(void)err;
	struct virtio_balloon *b = d->priv;
	if (b->serving != STATSQ) {
		balloon__pages(b, e, b->serving == INFLATEQ);
		return 0;
	}
	if (b->stats_held) { /* a driver that does not wait: answer the old one */
		vq__push(&d->vqs[STATSQ], b->stats_head, 0);
		virtio__signal_queue(d, STATSQ);
	}
	balloon__stats_in(b, e);
	b->stats_held = true;
	b->stats_head = e->head;
	return VIRTIO_CHAIN_HELD;
}

static void balloon__queue_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_balloon *b = d->priv;
	b->serving = q;
	virtio__serve_queue(d, q, &b->elem, balloon__chain);
}

static void balloon__config_write(struct virtio_dev *d, unsigned off, const uint8_t *data,
				  unsigned size)
{
	struct virtio_balloon *b = d->priv;
	if (off == 4 && size == 4) /* only "actual" belongs to the driver */
		memcpy(&b->config.actual, data, 4);
}

static void balloon__reset(struct virtio_dev *d)
{
	struct virtio_balloon *b = d->priv;
	b->stats_held = false;
	b->config.actual = 0;
}

static void balloon__query(struct virtio_dev *d, json_t *o)
{
	struct virtio_balloon *b = d->priv;
	json_object_set_new(o, "type", json_string("virtio-balloon"));
	json_object_set_new(o, "target_pages", json_integer(b->config.num_pages));
	json_object_set_new(o, "actual_pages", json_integer(b->config.actual));
}

static const struct virtio_dev_ops balloon_ops = {
	.device_id = 5,
	.pci_class = 0x058000, /* memory, other */
	.queue_notify = balloon__queue_notify,
	.config_write = balloon__config_write,
	.reset = balloon__reset,
	.query = balloon__query,
};

static struct virtio_balloon *balloon__find(struct vm *vm, struct st_err *err)
{
	for (unsigned i = 0; i < vm->nr_virtio; i++)
		if (vm->virtio[i]->ops == &balloon_ops)
			return vm->virtio[i]->priv;
	err__fail(err, 0, "this VM has no balloon (start it with --balloon)");
	return NULL;
}

int virtio_balloon__set(struct vm *vm, uint64_t target_mib, struct st_err *err)
{
	struct virtio_balloon *b = balloon__find(vm, err);
	if (!b)
		return -1;
	uint64_t mem_mib = vm->mem.size >> 20;
	if (target_mib > mem_mib)
		return err__fail(err, 0, "target %llu MiB is above the guest's %llu MiB",
			       (unsigned long long)target_mib, (unsigned long long)mem_mib);
	pthread_mutex_lock(&b->dev.lock);
	b->config.num_pages = (uint32_t)((mem_mib - target_mib) << 20) / BALLOON_PAGE;
	virtio__config_changed(&b->dev);
	pthread_mutex_unlock(&b->dev.lock);
	return 0;
}

json_t *virtio_balloon__stats(struct vm *vm, struct st_err *err)
{
	struct virtio_balloon *b = balloon__find(vm, err);
	if (!b)
		return NULL;
	pthread_mutex_lock(&b->dev.lock);
	json_t *stats = json_object();
	for (int t = 0; t < BALLOON_NR_TAGS; t++)
		if (b->stats_seen & (1u << t))
			json_object_set_new(stats, stat_names[t], json_integer((json_int_t)b->stats[t]));
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I}",
		"target_pages", (json_int_t)b->config.num_pages,
		"actual_pages", (json_int_t)b->config.actual,
		"inflated_pages", (json_int_t)b->inflated, "deflated_pages", (json_int_t)b->deflated,
		"freed_bytes", (json_int_t)((b->inflated - ST_MIN(b->deflated, b->inflated)) * BALLOON_PAGE),
		"bad_pfns", (json_int_t)b->bad_pfns, "stats", stats,
		"stats_updates", (json_int_t)b->stats_updates);
	/* Hand the stats buffer back: the driver refills it with fresh figures. */
	if (b->stats_held && b->dev.vqs[STATSQ].desc && !b->dev.vqs[STATSQ].broken) {
		vq__push(&b->dev.vqs[STATSQ], b->stats_head, 0);
		b->stats_held = false;
		virtio__signal_queue(&b->dev, STATSQ);
	}
	pthread_mutex_unlock(&b->dev.lock);
	return o;
}

int virtio_balloon__create(struct vm *vm, const char *spec, struct st_err *err)
{
	(void)spec;
	cleanup_free struct virtio_balloon *b = calloc(1, sizeof(*b));
	if (!b)
		return err__fail(err, ENOMEM, "virtio-balloon");
	b->dev.priv = b;
	snprintf(b->dev.name, sizeof(b->dev.name), "virtio-balloon%u", vm->virtio_seq);
	if (virtio__register(vm, &b->dev, &balloon_ops, 3, 128,
			     (1ull << VIRTIO_BALLOON_F_STATS_VQ) | (1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM),
			     &b->config, sizeof(b->config), err) < 0)
		return -1;
	cleanup__steal_ptr(b); /* the VM owns it now */
	return 0;
}
