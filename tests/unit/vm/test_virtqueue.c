/* The virtqueue chain walker, the virtio-blk request parser and the PCI
 * config space against good and hostile rings built in real guest memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "vm/boot/boot.h"
#include "vm/pci.h"
#include "vm/pci_acpi.h"
#include "vm/vm.h"
#include "vm/virtio/blk.h"
#include "vm/virtio/virtqueue.h"

#define QSZ 8
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define DATA 0x10000
#define MEM (1u << 20)

static struct guest_mem mem;
static struct virtqueue vq;
static struct vq_elem elem;
static uint16_t avail_next;

static struct virtq_desc *desc(unsigned i) { return (struct virtq_desc *)(mem.host + DESC) + i; }
static uint16_t *avail(void) { return (uint16_t *)(mem.host + AVAIL); }

static int setup(void **state)
{
	(void)state;
	struct st_err err = {0};
	if (mem.host == NULL && mem__init(&mem, MEM, false, &err) < 0)
		return -1;
	memset(mem.host, 0, MEM);
	vq__reset(&vq);
	vq.size = QSZ;
	vq.desc_gpa = DESC, vq.avail_gpa = AVAIL, vq.used_gpa = USED;
	avail_next = 0;
	return vq__start(&vq, &mem, false, &err);
}

static void make_avail(uint16_t head)
{
	avail()[2 + avail_next % QSZ] = head;
	avail()[1] = ++avail_next;
}

static int pop(void)
{
	struct st_err err = {0};
	return vq__pop(&vq, &mem, &elem, &err);
}

static void set(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	*desc(i) = (struct virtq_desc){addr, len, flags, next};
}

static void test_empty_ring(void **state)
{
	(void)state;
	assert_int_equal(pop(), 0);
}

static void test_direct_chain(void **state)
{
	(void)state;
	set(0, DATA, 16, VIRTQ_DESC_F_NEXT, 3);
	set(3, DATA + 100, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5);
	set(5, DATA + 1000, 1, VIRTQ_DESC_F_WRITE, 0);
	make_avail(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(elem.head, 0);
	assert_int_equal(elem.nr_out, 1);
	assert_int_equal(elem.nr_in, 2);
	assert_int_equal(elem.out_len, 16);
	assert_int_equal(elem.in_len, 513);
	assert_ptr_equal(elem.iov[1].iov_base, mem.host + DATA + 100);
	assert_int_equal(pop(), 0);
	vq__push(&vq, elem.head, 513);
	uint32_t used[2];
	memcpy(used, mem.host + USED + 4, 8);
	assert_int_equal(used[0], 0);
	assert_int_equal(used[1], 513);
	assert_int_equal(*(uint16_t *)(mem.host + USED + 2), 1);
}

static void test_indirect_chain(void **state)
{
	(void)state;
	struct virtq_desc *t = (struct virtq_desc *)(mem.host + DATA);
	t[0] = (struct virtq_desc){DATA + 0x1000, 16, VIRTQ_DESC_F_NEXT, 1};
	t[1] = (struct virtq_desc){DATA + 0x2000, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2};
	t[2] = (struct virtq_desc){DATA + 0x3000, 1, VIRTQ_DESC_F_WRITE, 0};
	set(2, DATA, 48, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(2);
	assert_int_equal(pop(), 1);
	assert_int_equal(elem.head, 2);
	assert_int_equal(elem.nr_out + elem.nr_in, 3);
	assert_int_equal(elem.in_len, 4097);
}

/* Packed rings: the descriptor ring at DESC, the driver's event area at
 * AVAIL, the device's at USED. */
static int setup_packed(void **state)
{
	if (setup(state) < 0)
		return -1;
	struct st_err err = {0};
	vq.packed = true;
	return vq__start(&vq, &mem, true, &err);
}

static struct virtq_pdesc *pdesc(unsigned i) { return (struct virtq_pdesc *)(mem.host + DESC) + i; }

/* What a driver whose wrap counter is wrap writes to make a descriptor available. */
static void pset(unsigned i, uint64_t addr, uint32_t len, uint16_t id, uint16_t flags, bool wrap)
{
	*pdesc(i) = (struct virtq_pdesc){addr, len, id,
					 (uint16_t)(flags | (wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED))};
}

static void test_packed_chains_and_wrap(void **state)
{
	(void)state;
	const uint16_t N = VIRTQ_DESC_F_NEXT, W = VIRTQ_DESC_F_WRITE;
	assert_int_equal(pop(), 0);
	pset(0, DATA, 16, 0, N, true);
	pset(1, DATA + 100, 512, 0, N | W, true);
	pset(2, DATA + 1000, 1, 5, W, true); /* the buffer id is the last descriptor's */
	assert_int_equal(pop(), 1);
	assert_int_equal(elem.head, 5);
	assert_int_equal(elem.nr_out, 1);
	assert_int_equal(elem.nr_in, 2);
	assert_int_equal(elem.in_len, 513);
	assert_int_equal(pop(), 0);
	/* five more fill the ring to its end */
	for (unsigned i = 3; i < 8; i++)
		pset(i, DATA + 0x100 * i, 64, 1, i < 7 ? N : 0, true);
	assert_int_equal(pop(), 1);
	assert_int_equal(elem.head, 1);
	assert_int_equal(elem.nr_out, 5);
	/* used: id 5 at slot 0, then id 1 at slot 3 (5 took three slots) */
	vq__push(&vq, 5, 513);
	vq__push(&vq, 1, 0);
	assert_int_equal(pdesc(0)->id, 5);
	assert_int_equal(pdesc(0)->len, 513);
	assert_int_equal(pdesc(0)->flags & (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED),
			 VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED);
	assert_int_equal(pdesc(3)->id, 1);
	assert_int_equal(vq.used_idx, 0);
	assert_false(vq.used_wrap);
	/* slot 0 now holds a used entry of the first lap: not available */
	assert_int_equal(pop(), 0);
	pset(0, DATA, 32, 2, 0, false); /* second lap: AVAIL clear, USED set */
	assert_int_equal(pop(), 1);
	assert_int_equal(elem.head, 2);
	assert_int_equal(elem.out_len, 32);
}

static void test_packed_refuses(void **state)
{
	(void)state;
	struct st_err err = {0};
	pset(0, DATA, 16, 9, 0, true); /* id beyond the queue size */
	assert_int_equal(vq__pop(&vq, &mem, &elem, &err), -1);
	assert_non_null(strstr(err.msg, "beyond the queue size"));
	setup_packed(state);
	for (unsigned i = 0; i < 8; i++) /* NEXT all round the ring */
		pset(i, DATA, 16, 0, VIRTQ_DESC_F_NEXT, true);
	assert_int_equal(vq__pop(&vq, &mem, &elem, &err), -1);
	assert_non_null(strstr(err.msg, "longer than the ring"));
	setup_packed(state);
	struct virtq_pdesc *t = (struct virtq_pdesc *)(mem.host + DATA);
	t[0] = (struct virtq_pdesc){DATA, 32, 0, VIRTQ_DESC_F_INDIRECT};
	pset(0, DATA, 16, 0, VIRTQ_DESC_F_INDIRECT, true);
	assert_int_equal(vq__pop(&vq, &mem, &elem, &err), -1);
	assert_non_null(strstr(err.msg, "nests indirect"));
}

static void test_packed_event_suppression(void **state)
{
	(void)state;
	uint16_t *drv = (uint16_t *)(mem.host + AVAIL); /* off_wrap, flags */
	pset(0, DATA, 16, 0, 0, true);
	assert_int_equal(pop(), 1);
	vq__push(&vq, 0, 0);
	drv[1] = VIRTQ_EVENT_F_DISABLE;
	assert_false(vq__should_notify(&vq));
	drv[1] = VIRTQ_EVENT_F_ENABLE;
	assert_true(vq__should_notify(&vq));
	/* DESC: notify when the used entry at slot 2 of this lap is written */
	drv[0] = 2 | 0x8000;
	drv[1] = VIRTQ_EVENT_F_DESC;
	for (unsigned i = 1; i < 3; i++)
		pset(i, DATA, 16, (uint16_t)i, 0, true);
	assert_int_equal(pop(), 1);
	vq__push(&vq, elem.head, 0);
	assert_false(vq__should_notify(&vq)); /* used position 2: slot 2 not written yet */
	assert_int_equal(pop(), 1);
	vq__push(&vq, elem.head, 0);
	assert_true(vq__should_notify(&vq));
	/* the device's own area: notifications always enabled */
	assert_int_equal(((uint16_t *)(mem.host + USED))[1], VIRTQ_EVENT_F_ENABLE);
}

/* A driver as Linux runs packed rings (free buffer ids, chains of direct
 * descriptors, used entries in any order) against the device side for many
 * laps: every buffer the device pops is one the driver made available, once,
 * and every used entry the driver reads names a buffer it has outstanding. */
static void test_packed_laps_against_a_driver(void **state)
{
	(void)state;
	struct { uint16_t num; uint32_t seq; bool out; } st[QSZ] = {0};
	uint16_t free_ids[QSZ], nfree = QSZ, next = 0, last_used = 0, held[QSZ], nheld = 0;
	uint32_t seq = 0, pops = 0, reaped = 0;
	bool avail_wrap = true, used_wrap = true;
	for (uint16_t i = 0; i < QSZ; i++)
		free_ids[i] = (uint16_t)(QSZ - 1 - i);
	uint64_t rnd = 0x9e3779b97f4a7c15ull;
	uint16_t slots_free = QSZ;
	for (int step = 0; step < 20000; step++) {
		rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
		uint16_t len = (uint16_t)(1 + rnd % 3);
		if (nfree && len <= slots_free && rnd % 5 < 3) { /* the driver adds a chain */
			uint16_t id = free_ids[--nfree], first = next, first_flags = 0;
			for (uint16_t k = 0; k < len; k++) {
				uint16_t f = (uint16_t)((k + 1 < len ? VIRTQ_DESC_F_NEXT : 0) |
							(avail_wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED));
				*pdesc(next) = (struct virtq_pdesc){DATA + 64 * (uint64_t)(seq % 64), 16, id, 0};
				if (k)
					pdesc(next)->flags = f;
				else
					first_flags = f;
				if (++next == QSZ)
					next = 0, avail_wrap = !avail_wrap;
			}
			pdesc(first)->flags = first_flags;
			st[id].num = len, st[id].seq = seq++, st[id].out = true;
			slots_free = (uint16_t)(slots_free - len);
		}
		while (pop() == 1) { /* the device takes everything available */
			assert_true(elem.head < QSZ && st[elem.head].out);
			assert_int_equal(elem.nr_out, st[elem.head].num);
			assert_ptr_equal(elem.iov[0].iov_base, mem.host + DATA + 64 * (st[elem.head].seq % 64));
			held[nheld++] = elem.head;
			pops++;
		}
		if (nheld && rnd % 7 < 4) { /* ... and returns one of them, in any order */
			unsigned k = (unsigned)(rnd >> 20) % nheld;
			vq__push(&vq, held[k], 0);
			held[k] = held[--nheld];
		}
		for (;;) { /* the driver reaps */
			uint16_t f = pdesc(last_used)->flags;
			bool a = f & VIRTQ_DESC_F_AVAIL, u = f & VIRTQ_DESC_F_USED;
			if (a != used_wrap || u != used_wrap)
				break;
			uint16_t id = pdesc(last_used)->id;
			assert_true(id < QSZ && st[id].out);
			st[id].out = false;
			free_ids[nfree++] = id;
			slots_free = (uint16_t)(slots_free + st[id].num);
			last_used = (uint16_t)(last_used + st[id].num);
			if (last_used >= QSZ)
				last_used = (uint16_t)(last_used - QSZ), used_wrap = !used_wrap;
			reaped++;
		}
	}
	assert_true(pops > 5000 && reaped + nheld == pops);
}

static void expect_refused(void)
{
	struct st_err err = {0};
	assert_int_equal(vq__pop(&vq, &mem, &elem, &err), -1);
	assert_true(err.msg[0] != 0);
}

static void test_loop(void **state)
{
	(void)state;
	set(0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	set(1, DATA, 16, VIRTQ_DESC_F_NEXT, 0);
	make_avail(0);
	expect_refused();
}

static void test_self_loop_in_indirect(void **state)
{
	(void)state;
	struct virtq_desc *t = (struct virtq_desc *)(mem.host + DATA);
	t[0] = (struct virtq_desc){DATA + 0x1000, 16, VIRTQ_DESC_F_NEXT, 0};
	set(0, DATA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_refused();
}

static void test_outside_ram(void **state)
{
	(void)state;
	set(0, MEM - 8, 16, 0, 0); /* straddles the end of RAM */
	make_avail(0);
	expect_refused();
}

static void test_huge_length(void **state)
{
	(void)state;
	set(0, DATA, 0xffffffffu, VIRTQ_DESC_F_WRITE, 0);
	make_avail(0);
	expect_refused();
}

static void test_zero_length(void **state)
{
	(void)state;
	set(0, DATA, 0, 0, 0);
	make_avail(0);
	expect_refused();
}

static void test_next_beyond_queue(void **state)
{
	(void)state;
	set(0, DATA, 16, VIRTQ_DESC_F_NEXT, QSZ);
	make_avail(0);
	expect_refused();
}

static void test_head_beyond_queue(void **state)
{
	(void)state;
	make_avail(QSZ + 1);
	expect_refused();
}

static void test_avail_index_runaway(void **state)
{
	(void)state;
	avail()[1] = QSZ + 1;
	expect_refused();
}

static void test_readable_after_writable(void **state)
{
	(void)state;
	set(0, DATA, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	set(1, DATA, 16, 0, 0);
	make_avail(0);
	expect_refused();
}

static void test_nested_indirect(void **state)
{
	(void)state;
	struct virtq_desc *t = (struct virtq_desc *)(mem.host + DATA);
	t[0] = (struct virtq_desc){DATA, 16, VIRTQ_DESC_F_INDIRECT, 0};
	set(0, DATA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_refused();
}

static void test_indirect_bad_length(void **state)
{
	(void)state;
	set(0, DATA, 24, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_refused();
}

static void test_ring_outside_ram(void **state)
{
	(void)state;
	struct st_err err = {0};
	vq.used_gpa = MEM - 4;
	assert_int_equal(vq__start(&vq, &mem, false, &err), -1);
	vq.used_gpa = USED + 2; /* misaligned */
	assert_int_equal(vq__start(&vq, &mem, false, &err), -1);
	vq.used_gpa = USED;
	vq.size = 6; /* not a power of two */
	assert_int_equal(vq__start(&vq, &mem, false, &err), -1);
}

static void test_event_idx(void **state)
{
	(void)state;
	struct st_err err = {0};
	assert_int_equal(vq__start(&vq, &mem, true, &err), 0);
	for (int i = 0; i < 3; i++) {
		set((unsigned)i, DATA, 16, VIRTQ_DESC_F_WRITE, 0);
		make_avail((uint16_t)i);
	}
	/* The driver wants an interrupt only once used idx passes 2 (used_event = 2). */
	avail()[2 + QSZ] = 2;
	assert_int_equal(pop(), 1);
	vq__push(&vq, elem.head, 1);
	assert_true(vq__should_notify(&vq)); /* the first one always signals */
	assert_int_equal(pop(), 1);
	vq__push(&vq, elem.head, 1);
	assert_false(vq__should_notify(&vq)); /* used idx 2: event not crossed yet */
	assert_int_equal(pop(), 1);
	vq__push(&vq, elem.head, 1);
	assert_true(vq__should_notify(&vq)); /* used idx 3 crosses used_event 2 */
	/* avail_event tells the driver where we are */
	assert_int_equal(*(uint16_t *)(mem.host + USED + 4 + 8 * QSZ), 3);
}

static void test_no_interrupt_flag(void **state)
{
	(void)state;
	avail()[0] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	assert_false(vq__should_notify(&vq));
	avail()[0] = 0;
	assert_true(vq__should_notify(&vq));
}

static void test_blk_parse(void **state)
{
	(void)state;
	/* header split over two buffers, data in two, status at the end of the last */
	struct { uint32_t type, reserved; uint64_t sector; } hdr = {VIRTIO_BLK_T_IN, 0, 77};
	memcpy(mem.host + DATA, &hdr, 5);
	memcpy(mem.host + DATA + 0x100, (uint8_t *)&hdr + 5, 11);
	set(0, DATA, 5, VIRTQ_DESC_F_NEXT, 1);
	set(1, DATA + 0x100, 11, VIRTQ_DESC_F_NEXT, 2);
	set(2, DATA + 0x1000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
	set(3, DATA + 0x2000, 513, VIRTQ_DESC_F_WRITE, 0);
	make_avail(0);
	assert_int_equal(pop(), 1);
	static struct vblk_req r;
	struct st_err err = {0};
	assert_int_equal(vblk__parse(&elem, &r, &err), 0);
	assert_int_equal(r.type, VIRTIO_BLK_T_IN);
	assert_int_equal(r.sector, 77);
	assert_int_equal(r.nr_data, 2);
	assert_int_equal(r.data_len, 1024);
	assert_ptr_equal(r.status, mem.host + DATA + 0x2000 + 512);
}

static void test_blk_parse_refuses(void **state)
{
	(void)state;
	static struct vblk_req r;
	struct st_err err = {0};
	/* a read whose data buffer is device-readable */
	struct { uint32_t type, reserved; uint64_t sector; } hdr = {VIRTIO_BLK_T_IN, 0, 0};
	memcpy(mem.host + DATA, &hdr, 16);
	set(0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	set(1, DATA + 0x1000, 512, VIRTQ_DESC_F_NEXT, 2);
	set(2, DATA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	make_avail(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(vblk__parse(&elem, &r, &err), -1);
	/* a header cut short, and no status byte */
	set(3, DATA, 8, VIRTQ_DESC_F_NEXT, 4);
	set(4, DATA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	make_avail(3);
	assert_int_equal(pop(), 1);
	assert_int_equal(vblk__parse(&elem, &r, &err), -1);
	set(5, DATA, 16, 0, 0);
	make_avail(5);
	assert_int_equal(pop(), 1);
	assert_int_equal(vblk__parse(&elem, &r, &err), -1);
}

static void test_pci_bar_sizing_and_caps(void **state)
{
	(void)state;
	static struct pci_bus bus = {.next_bar = PCI_MMIO_BASE};
	static struct pci_dev d;
	struct st_err err = {0};
	assert_int_equal(pci__add_device(&bus, &d, 0x1af4, 0x1042, 0x018000, NULL, NULL, &err), 0);
	assert_int_equal(d.slot, 1);
	assert_int_equal(pci__add_bar(&d, 0, 0x8000, &err), 0);
	uint8_t b[4] = {0xff, 0xff, 0xff, 0xff};
	pci__cfg_access(&d, PCI_BAR0, true, b, 4);
	pci__cfg_access(&d, PCI_BAR0, false, b, 4);
	uint32_t v;
	memcpy(&v, b, 4);
	assert_int_equal(v, 0xffff8000u); /* size 32 KiB, 32-bit memory BAR */
	uint32_t addr = 0xc1230000u;
	pci__cfg_access(&d, PCI_BAR0, true, (uint8_t *)&addr, 4);
	assert_int_equal(pci__bar_addr(&d, 0), 0xc1230000u);
	/* the vendor ID is read-only */
	uint16_t id = 0x1234;
	pci__cfg_access(&d, PCI_VENDOR_ID, true, (uint8_t *)&id, 2);
	pci__cfg_access(&d, PCI_VENDOR_ID, false, (uint8_t *)&id, 2);
	assert_int_equal(id, 0x1af4);
	/* capabilities chain from 0x34 and MSI-X enables through its control word */
	uint8_t body[4] = {1, 2, 3, 4};
	assert_int_equal(pci__add_cap(&d, PCI_CAP_ID_VENDOR, body, 4, &err), 0x40);
	assert_int_equal(pci__add_msix(&d, 3, 0, 0x4000, 0x5000, &err), 0);
	assert_int_equal(d.cfg[PCI_CAP_PTR], 0x40);
	assert_int_equal(d.cfg[0x41], d.msix.cap);
	assert_false(pci__msix_enabled(&d));
	uint16_t ctrl = 0x8000 | 0x7ff;
	pci__cfg_access(&d, d.msix.cap + 2, true, (uint8_t *)&ctrl, 2);
	assert_true(pci__msix_enabled(&d));
	pci__cfg_access(&d, d.msix.cap + 2, false, (uint8_t *)&ctrl, 2);
	assert_int_equal(ctrl, 0x8000 | 2); /* table size is read-only */
	/* out-of-range config accesses read all ones */
	uint8_t ff[4] = {0};
	pci__cfg_access(&d, 4094, false, ff, 4);
	assert_int_equal(ff[0], 0xff);
}

/* With a PCI bus the XSDT gains an MCFG for ECAM and the DSDT a PNP0A08 root
 * bridge whose _CRS holds the BAR window. */
static void test_acpi_mcfg_and_root_bridge(void **state)
{
	(void)state;
	static struct vm vm;
	static struct pci_bus bus;
	struct st_err err = {0};
	vm.mem = mem;
	vm.nr_vcpus = 1;
	vm.pci = &bus;
	uint64_t rsdp_gpa, xsdt_gpa, mcfg_gpa = 0, fadt_gpa = 0, dsdt_gpa;
	assert_int_equal(acpi__write(&vm, &rsdp_gpa, &err), 0);
	memcpy(&xsdt_gpa, mem.host + rsdp_gpa + 24, 8);
	uint32_t xlen;
	memcpy(&xlen, mem.host + xsdt_gpa + 4, 4);
	for (uint32_t off = 36; off < xlen; off += 8) {
		uint64_t t;
		memcpy(&t, mem.host + xsdt_gpa + off, 8);
		if (!memcmp(mem.host + t, "MCFG", 4)) mcfg_gpa = t;
		if (!memcmp(mem.host + t, "FACP", 4)) fadt_gpa = t;
	}
	assert_true(mcfg_gpa && fadt_gpa);
	uint8_t sum = 0;
	for (unsigned i = 0; i < 60; i++)
		sum += mem.host[mcfg_gpa + i];
	assert_int_equal(sum, 0);
	uint64_t base;
	memcpy(&base, mem.host + mcfg_gpa + 44, 8);
	assert_int_equal(base, PCI_ECAM_BASE);
	memcpy(&dsdt_gpa, mem.host + fadt_gpa + 140, 8);
	uint32_t dlen;
	memcpy(&dlen, mem.host + dsdt_gpa + 4, 4);
	const uint8_t *aml = mem.host + dsdt_gpa;
	static const uint8_t pnp0a08[4] = {0x41, 0xd0, 0x0a, 0x08};
	assert_non_null(memmem(aml, dlen, "PCI0", 4));
	assert_non_null(memmem(aml, dlen, pnp0a08, 4));
	uint32_t window[2] = {(uint32_t)PCI_MMIO_BASE, (uint32_t)(PCI_MMIO_BASE + PCI_MMIO_SIZE - 1)};
	assert_non_null(memmem(aml, dlen, window, 8)); /* DWordMemory min, max */
	/* _PRT: slot 3's INTA# (DWordConst 0x0003FFFF, pin 0, source 0) on its GSI */
	assert_non_null(memmem(aml, dlen, "_PRT", 4));
	const uint8_t slot3[] = {0x0c, 0xff, 0xff, 0x03, 0x00, 0x00, 0x00, 0x0a,
				 (uint8_t)pci__intx_gsi(3)};
	assert_non_null(memmem(aml, dlen, slot3, sizeof(slot3)));
	sum = 0;
	for (unsigned i = 0; i < dlen; i++)
		sum += aml[i];
	assert_int_equal(sum, 0);
	/* hotplug: every slot of an empty bus is a Device Sxx with _EJ0; PCNT and _E01 */
	assert_non_null(memmem(aml, dlen, "S1F_", 4));
	assert_non_null(memmem(aml, dlen, "_EJ0", 4));
	assert_non_null(memmem(aml, dlen, "PCNT", 4));
	assert_non_null(memmem(aml, dlen, "_E01", 4));
	uint8_t gpe0_len = mem.host[fadt_gpa + 92];
	uint32_t gpe0;
	memcpy(&gpe0, mem.host + fadt_gpa + 80, 4);
	assert_int_equal(gpe0, 0x620);
	assert_int_equal(gpe0_len, 4);
}

/* AML that does not fit is refused whole: 0, and nothing written past cap. */
static void test_acpi_dsdt_too_small(void **state)
{
	(void)state;
	static struct pci_bus bus;
	static uint8_t out[8192];
	memset(out, 0xa5, sizeof(out));
	assert_int_equal(pci__acpi_dsdt(&bus, out, 512), 0);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0xa5);
	size_t n = pci__acpi_dsdt(&bus, out, sizeof(out));
	assert_true(n > 2048 && n < sizeof(out));
	assert_int_equal(pci__acpi_dsdt(&bus, out, n - 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_empty_ring, setup),
		cmocka_unit_test_setup(test_direct_chain, setup),
		cmocka_unit_test_setup(test_indirect_chain, setup),
		cmocka_unit_test_setup(test_loop, setup),
		cmocka_unit_test_setup(test_self_loop_in_indirect, setup),
		cmocka_unit_test_setup(test_outside_ram, setup),
		cmocka_unit_test_setup(test_huge_length, setup),
		cmocka_unit_test_setup(test_zero_length, setup),
		cmocka_unit_test_setup(test_next_beyond_queue, setup),
		cmocka_unit_test_setup(test_head_beyond_queue, setup),
		cmocka_unit_test_setup(test_avail_index_runaway, setup),
		cmocka_unit_test_setup(test_readable_after_writable, setup),
		cmocka_unit_test_setup(test_nested_indirect, setup),
		cmocka_unit_test_setup(test_indirect_bad_length, setup),
		cmocka_unit_test_setup(test_ring_outside_ram, setup),
		cmocka_unit_test_setup(test_event_idx, setup),
		cmocka_unit_test_setup(test_no_interrupt_flag, setup),
		cmocka_unit_test_setup(test_packed_chains_and_wrap, setup_packed),
		cmocka_unit_test_setup(test_packed_refuses, setup_packed),
		cmocka_unit_test_setup(test_packed_event_suppression, setup_packed),
		cmocka_unit_test_setup(test_packed_laps_against_a_driver, setup_packed),
		cmocka_unit_test_setup(test_blk_parse, setup),
		cmocka_unit_test_setup(test_blk_parse_refuses, setup),
		cmocka_unit_test(test_pci_bar_sizing_and_caps),
		cmocka_unit_test_setup(test_acpi_mcfg_and_root_bridge, setup),
		cmocka_unit_test(test_acpi_dsdt_too_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
