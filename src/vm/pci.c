#include "vm/pci.h"
#include "common/log.h"
#include "common/util.h"
#include "vm/vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#define PCI_CF8_PORT 0xcf8
#define PCI_CFC_PORT 0xcfc
#define MSIX_CTRL_ENABLE   0x8000
#define MSIX_CTRL_MASKALL  0x4000
#define MSIX_ENTRY_MASKED  1u

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void wr16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

uint64_t pci__bar_addr(struct pci_dev *d, int bar)
{
	if (!d->bar_size[bar] || !(rd16(d->cfg + PCI_COMMAND) & PCI_COMMAND_MEMORY))
		return 0;
	return rd32(d->cfg + PCI_BAR0 + 4 * bar) & ~0xfu;
}

bool pci__msix_enabled(struct pci_dev *d)
{
	if (!d->msix.nr)
		return false;
	return rd16(d->cfg + d->msix.cap + 2) & MSIX_CTRL_ENABLE;
}

/* Called with d->lock held. */
static bool pci__msix_masked(struct pci_dev *d, unsigned v)
{
	return (rd16(d->cfg + d->msix.cap + 2) & MSIX_CTRL_MASKALL) ||
	       (d->msix.table[v].ctrl & MSIX_ENTRY_MASKED);
}

static void pci__msix_send(struct pci_dev *d, unsigned v)
{
	struct kvm_msi msi = {.address_lo = d->msix.table[v].addr_lo,
			      .address_hi = d->msix.table[v].addr_hi,
			      .data = d->msix.table[v].data};
	if (ioctl(d->bus->vm->kvm.vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		log__warn("pci %02x.0: KVM_SIGNAL_MSI vector %u: %s", d->slot, v, strerror(errno));
	__atomic_add_fetch(&d->bus->msis, 1, __ATOMIC_RELAXED);
}

unsigned pci__intx_gsi(unsigned slot)
{
	return PCI_INTX_GSI_BASE + (slot + PCI_INTX_GSIS - 1) % PCI_INTX_GSIS;
}

/* Puts the device's INTx state on its GSI (d->lock held): the line is the OR
 * of every slot on it, so one device lowering it never hides another. */
static void pci__intx_update(struct pci_dev *d)
{
	bool on = d->intx && !(rd16(d->cfg + PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
	uint16_t status = rd16(d->cfg + PCI_STATUS) & (uint16_t)~PCI_STATUS_INTX;
	wr16(d->cfg + PCI_STATUS, (uint16_t)(status | (d->intx ? PCI_STATUS_INTX : 0)));
	struct pci_bus *bus = d->bus;
	if (!bus || !bus->vm)
		return;
	unsigned gsi = pci__intx_gsi(d->slot), line = gsi - PCI_INTX_GSI_BASE;
	pthread_mutex_lock(&bus->intx_lock);
	uint32_t before = bus->intx_slots[line];
	if (on)
		bus->intx_slots[line] |= 1u << d->slot;
	else
		bus->intx_slots[line] &= ~(1u << d->slot);
	if (!before != !bus->intx_slots[line])
		kvm__irq_line(&bus->vm->kvm, gsi, bus->intx_slots[line] != 0);
	pthread_mutex_unlock(&bus->intx_lock);
}

void pci__intx(struct pci_dev *d, bool level)
{
	pthread_mutex_lock(&d->lock);
	d->intx = level;
	pci__intx_update(d);
	pthread_mutex_unlock(&d->lock);
}

bool pci__msix_notify(struct pci_dev *d, unsigned v)
{
	pthread_mutex_lock(&d->lock);
	bool ok = pci__msix_enabled(d) && v < d->msix.nr;
	if (ok) {
		if (pci__msix_masked(d, v))
			d->msix.pending |= 1ull << v;
		else
			pci__msix_send(d, v);
	}
	pthread_mutex_unlock(&d->lock);
	return ok;
}

/* Called with d->lock held, after anything that may unmask a vector. */
static void pci__msix_flush_pending(struct pci_dev *d)
{
	if (!pci__msix_enabled(d))
		return;
	for (unsigned v = 0; v < d->msix.nr && d->msix.pending; v++) {
		if ((d->msix.pending & (1ull << v)) && !pci__msix_masked(d, v)) {
			d->msix.pending &= ~(1ull << v);
			pci__msix_send(d, v);
		}
	}
}

static void pci__msix_table_access(struct pci_dev *d, uint64_t off, bool is_write,
				   uint8_t *data, unsigned size)
{
	struct pci_msix *m = &d->msix;
	if (off >= m->pba_off && off - m->pba_off < 8) {
		uint64_t pba = m->pending;
		unsigned o = (unsigned)(off - m->pba_off);
		if (!is_write)
			memcpy(data, (uint8_t *)&pba + o, ST_MIN(size, 8 - o));
		return;
	}
	uint64_t end = (uint64_t)m->nr * 16;
	/* Entries are accessed with aligned dwords (or qwords), never across entries. */
	if (off < m->table_off || off - m->table_off >= end || (off & 3) || (size != 4 && size != 8)) {
		if (!is_write)
			memset(data, 0, size);
		return;
	}
	unsigned o = (unsigned)(off - m->table_off);
	uint8_t *entry = (uint8_t *)&m->table[o / 16];
	if (!is_write) {
		memcpy(data, entry + o % 16, ST_MIN(size, 16 - o % 16));
		return;
	}
	memcpy(entry + o % 16, data, ST_MIN(size, 16 - o % 16));
	pci__msix_flush_pending(d);
}

void pci__cfg_access(struct pci_dev *d, unsigned offset, bool is_write, uint8_t *data,
		     unsigned size)
{
	if (offset >= PCI_CFG_SIZE || size > PCI_CFG_SIZE - offset) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (!is_write) {
		memcpy(data, d->cfg + offset, size);
		pthread_mutex_unlock(&d->lock);
		return;
	}
	bool decode = false;
	for (unsigned i = 0; i < size && offset + i < sizeof(d->wmask); i++) {
		unsigned o = offset + i;
		d->cfg[o] = (uint8_t)((d->cfg[o] & ~d->wmask[o]) | (data[i] & d->wmask[o]));
		decode |= (o >= PCI_BAR0 && o < PCI_BAR0 + 24) || o == PCI_COMMAND;
	}
	if (d->msix.nr)
		pci__msix_flush_pending(d);
	if (offset <= PCI_COMMAND + 1 && offset + size > PCI_COMMAND + 1)
		pci__intx_update(d); /* interrupt disable may have changed */
	pthread_mutex_unlock(&d->lock);
	if (decode && d->ops && d->ops->decode_changed)
		d->ops->decode_changed(d);
}

/* The slot's device if the guest may see it. An ejected device's memory stays
 * valid (pci_dev_ops.unplug), so a pointer read just before it left is safe. */
static struct pci_dev *pci__live(struct pci_bus *bus, unsigned slot)
{
	struct pci_dev *d = __atomic_load_n(&bus->devs[slot], __ATOMIC_ACQUIRE);
	return d && __atomic_load_n(&d->present, __ATOMIC_ACQUIRE) ? d : NULL;
}

static struct pci_dev *pci__dev(struct pci_bus *bus, unsigned slot, unsigned fn)
{
	if (fn != 0 || slot >= PCI_MAX_SLOTS)
		return NULL;
	return pci__live(bus, slot);
}

static void pci__cfg_bdf(struct pci_bus *bus, unsigned busno, unsigned slot, unsigned fn,
			 unsigned reg, bool is_write, uint8_t *data, unsigned size)
{
	struct pci_dev *d = busno == 0 ? pci__dev(bus, slot, fn) : NULL;
	if (d)
		pci__cfg_access(d, reg, is_write, data, size);
	else if (!is_write)
		memset(data, 0xff, size);
}

static void pci__port_io(void *opaque, uint16_t port, bool is_write, uint8_t *data, unsigned size)
{
	struct pci_bus *bus = opaque;
	pthread_mutex_lock(&bus->cf8_lock);
	if (port == PCI_CF8_PORT && size == 4) {
		if (is_write)
			memcpy(&bus->cf8, data, 4);
		else
			memcpy(data, &bus->cf8, 4);
	} else if (port >= PCI_CFC_PORT && (bus->cf8 & 0x80000000u)) {
		uint32_t a = bus->cf8;
		unsigned reg = (a & 0xfc) | (port - PCI_CFC_PORT);
		if (reg % 4 + size > 4)
			size = 4 - reg % 4;
		pci__cfg_bdf(bus, (a >> 16) & 0xff, (a >> 11) & 31, (a >> 8) & 7, reg, is_write, data,
			     size);
	} else if (!is_write) {
		memset(data, 0xff, size);
	}
	pthread_mutex_unlock(&bus->cf8_lock);
}

static void pci__ecam_io(void *opaque, uint64_t off, bool is_write, uint8_t *data, unsigned size)
{
	if (size > 4 || (off & (size - 1))) { /* naturally aligned, at most a dword */
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	pci__cfg_bdf(opaque, (unsigned)(off >> 20), (off >> 15) & 31, (off >> 12) & 7,
		     off & 0xfff, is_write, data, size);
}

static void pci__window_io(void *opaque, uint64_t off, bool is_write, uint8_t *data,
			   unsigned size)
{
	struct pci_bus *bus = opaque;
	uint64_t addr = PCI_MMIO_BASE + off;
	for (unsigned s = 0; s < PCI_MAX_SLOTS; s++) {
		struct pci_dev *d = pci__live(bus, s);
		if (!d)
			continue;
		for (int b = 0; b < PCI_NR_BARS; b++) {
			pthread_mutex_lock(&d->lock);
			uint64_t base = pci__bar_addr(d, b);
			pthread_mutex_unlock(&d->lock);
			if (!base || addr < base || addr - base >= d->bar_size[b])
				continue;
			uint64_t o = addr - base;
			if (d->msix.nr && b == d->msix.bar &&
			    ((o >= d->msix.table_off && o < d->msix.table_off + 16ull * d->msix.nr) ||
			     (o >= d->msix.pba_off && o < d->msix.pba_off + 8))) {
				pthread_mutex_lock(&d->lock);
				pci__msix_table_access(d, o, is_write, data, size);
				pthread_mutex_unlock(&d->lock);
			} else if (d->ops && d->ops->bar_access) {
				d->ops->bar_access(d, b, o, is_write, data, size);
			} else if (!is_write) {
				memset(data, 0, size);
			}
			return;
		}
	}
	if (!is_write)
		memset(data, 0xff, size);
}

static void pci__dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code)
{
	memset(d->cfg, 0, sizeof(d->cfg));
	memset(d->wmask, 0, sizeof(d->wmask));
	wr16(d->cfg + PCI_VENDOR_ID, vendor);
	wr16(d->cfg + PCI_DEVICE_ID, device);
	/* class code: base, sub, prog-if in bytes 0x0b, 0x0a, 0x09 */
	d->cfg[PCI_CLASS_PROG] = (uint8_t)class_code;
	d->cfg[0x0a] = (uint8_t)(class_code >> 8);
	d->cfg[0x0b] = (uint8_t)(class_code >> 16);
	wr16(d->wmask + PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | 0x400);
	d->wmask[PCI_INT_LINE] = 0xff;
	d->next_cap = 0x40;
	pthread_mutex_init(&d->lock, NULL);
}

int pci__add_device(struct pci_bus *bus, struct pci_dev *d, uint16_t vendor, uint16_t device,
		    uint32_t class_code, const struct pci_dev_ops *ops, void *opaque,
		    struct st_err *err)
{
	int slot = pci__free_slot(bus);
	if (slot < 0)
		return err__fail(err, 0, "no free PCI slot (at most %d devices)", PCI_MAX_SLOTS - 1);
	pci__dev_init(d, vendor, device, class_code);
	d->bus = bus;
	d->ops = ops;
	d->opaque = opaque;
	d->slot = (unsigned)slot;
	d->present = false;
	d->cfg[PCI_INT_PIN] = 1; /* INTA# */
	d->cfg[PCI_INT_LINE] = (uint8_t)pci__intx_gsi(d->slot); /* as firmware leaves it */
	__atomic_store_n(&bus->devs[slot], d, __ATOMIC_RELEASE);
	return 0;
}

int pci__free_slot(const struct pci_bus *bus)
{
	for (unsigned slot = 1; slot < PCI_MAX_SLOTS; slot++)
		if (!__atomic_load_n(&bus->devs[slot], __ATOMIC_ACQUIRE))
			return (int)slot;
	return -1;
}

void pci__publish(struct pci_dev *d)
{
	__atomic_store_n(&d->present, true, __ATOMIC_RELEASE);
}

void pci__release_slot(struct pci_dev *d)
{
	if (d->bus && d->slot < PCI_MAX_SLOTS && d->bus->devs[d->slot] == d)
		__atomic_store_n(&d->bus->devs[d->slot], NULL, __ATOMIC_RELEASE);
}

struct pci_dev *pci__slot_dev(struct pci_bus *bus, unsigned slot)
{
	return slot < PCI_MAX_SLOTS ? __atomic_load_n(&bus->devs[slot], __ATOMIC_ACQUIRE) : NULL;
}

void pci__hide(struct pci_bus *bus, unsigned slot)
{
	struct pci_dev *d = pci__slot_dev(bus, slot);
	if (d)
		__atomic_store_n(&d->present, false, __ATOMIC_RELEASE);
}

void pci__unplug(struct pci_bus *bus, unsigned slot)
{
	struct pci_dev *d = pci__slot_dev(bus, slot);
	if (!d || slot == 0)
		return;
	__atomic_store_n(&d->present, false, __ATOMIC_RELEASE);
	if (d->ops && d->ops->unplug)
		d->ops->unplug(d);
	pci__intx(d, false); /* an INTx it left asserted goes with it */
	__atomic_store_n(&bus->devs[slot], NULL, __ATOMIC_RELEASE);
}

uint32_t pci__hotplug_slots(const struct pci_bus *bus)
{
	uint32_t mask = 0;
	for (unsigned slot = 1; slot < PCI_MAX_SLOTS; slot++) {
		const struct pci_dev *d = __atomic_load_n(&bus->devs[slot], __ATOMIC_ACQUIRE);
		if (!d || d->removable)
			mask |= 1u << slot;
	}
	return mask;
}

int pci__add_bar(struct pci_dev *d, int bar, uint32_t size, struct st_err *err)
{
	struct pci_bus *bus = d->bus;
	if (bar < 0 || bar >= PCI_NR_BARS || size < 4096 || (size & (size - 1)))
		return err__fail(err, 0, "bad BAR %d of size 0x%x", bar, size);
	uint64_t base;
	if (bus->slot_bar_size[d->slot][bar] == size) {
		base = bus->slot_bar_base[d->slot][bar]; /* the slot's last device had it */
	} else {
		base = ST_ALIGN_UP(bus->next_bar, (uint64_t)size);
		if (base + size > PCI_MMIO_BASE + PCI_MMIO_SIZE)
			return err__fail(err, 0, "the PCI MMIO window is full");
		bus->next_bar = base + size;
		bus->slot_bar_base[d->slot][bar] = (uint32_t)base;
		bus->slot_bar_size[d->slot][bar] = size;
	}
	d->bar_size[bar] = size;
	d->bar_initial[bar] = (uint32_t)base;
	wr32(d->cfg + PCI_BAR0 + 4 * bar, (uint32_t)base); /* 32-bit, non-prefetchable */
	wr32(d->wmask + PCI_BAR0 + 4 * bar, ~(size - 1));
	/* Firmware would have enabled decoding; the guest may still move the BAR. */
	wr16(d->cfg + PCI_COMMAND, rd16(d->cfg + PCI_COMMAND) | PCI_COMMAND_MEMORY);
	return 0;
}

int pci__add_cap(struct pci_dev *d, uint8_t id, const void *body, unsigned body_len,
		 struct st_err *err)
{
	unsigned off = d->next_cap, len = ST_ALIGN_UP(2 + body_len, 4u);
	if (off + len > 256)
		return err__fail(err, 0, "PCI capabilities do not fit in config space");
	d->cfg[off] = id;
	d->cfg[off + 1] = 0;
	memcpy(d->cfg + off + 2, body, body_len);
	/* link: the header's pointer or the previous capability's next */
	uint8_t *link = d->cfg + PCI_CAP_PTR;
	while (*link)
		link = d->cfg + *link + 1;
	*link = (uint8_t)off;
	wr16(d->cfg + PCI_STATUS, rd16(d->cfg + PCI_STATUS) | PCI_STATUS_CAP_LIST);
	d->next_cap = (uint8_t)(off + len);
	return (int)off;
}

int pci__add_msix(struct pci_dev *d, unsigned nr, int bar, uint32_t table_off,
		  uint32_t pba_off, struct st_err *err)
{
	if (!nr || nr > PCI_MSIX_MAX)
		return err__fail(err, 0, "MSI-X: %u vectors (1..%d)", nr, PCI_MSIX_MAX);
	uint8_t body[10];
	wr16(body, (uint16_t)(nr - 1));
	wr32(body + 2, table_off | (uint32_t)bar);
	wr32(body + 6, pba_off | (uint32_t)bar);
	int off = pci__add_cap(d, PCI_CAP_ID_MSIX, body, sizeof(body), err);
	if (off < 0)
		return -1;
	d->msix = (struct pci_msix){.nr = nr, .bar = bar, .table_off = table_off,
				    .pba_off = pba_off, .cap = (uint8_t)off};
	for (unsigned v = 0; v < nr; v++)
		d->msix.table[v].ctrl = MSIX_ENTRY_MASKED;
	wr16(d->wmask + off + 2, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	return 0;
}

void pci__reset_dev(struct pci_dev *d)
{
	pthread_mutex_lock(&d->lock);
	uint16_t cmd = 0;
	for (int b = 0; b < PCI_NR_BARS; b++) {
		if (!d->bar_size[b])
			continue;
		wr32(d->cfg + PCI_BAR0 + 4 * b, d->bar_initial[b]);
		cmd = PCI_COMMAND_MEMORY;
	}
	wr16(d->cfg + PCI_COMMAND, cmd);
	d->cfg[PCI_INT_LINE] = d->cfg[PCI_INT_PIN] ? (uint8_t)pci__intx_gsi(d->slot) : 0;
	/* the line goes with the old KVM VM: a new one starts with it low */
	d->intx = false;
	wr16(d->cfg + PCI_STATUS, rd16(d->cfg + PCI_STATUS) & (uint16_t)~PCI_STATUS_INTX);
	if (d->bus && d->cfg[PCI_INT_PIN]) {
		pthread_mutex_lock(&d->bus->intx_lock);
		d->bus->intx_slots[pci__intx_gsi(d->slot) - PCI_INTX_GSI_BASE] &= ~(1u << d->slot);
		pthread_mutex_unlock(&d->bus->intx_lock);
	}
	if (d->msix.nr) {
		wr16(d->cfg + d->msix.cap + 2, (uint16_t)(d->msix.nr - 1));
		memset(d->msix.table, 0, sizeof(d->msix.table));
		for (unsigned v = 0; v < d->msix.nr; v++)
			d->msix.table[v].ctrl = MSIX_ENTRY_MASKED;
		d->msix.pending = 0;
	}
	pthread_mutex_unlock(&d->lock);
}

int pci__init(struct pci_bus *bus, struct vm *vm, struct st_err *err)
{
	bus->vm = vm;
	bus->next_bar = PCI_MMIO_BASE;
	pthread_mutex_init(&bus->cf8_lock, NULL);
	pthread_mutex_init(&bus->intx_lock, NULL);
	if (!kvm__check_cap(&vm->kvm, KVM_CAP_SIGNAL_MSI))
		return err__fail(err, 0, "this KVM lacks KVM_CAP_SIGNAL_MSI");
	/* Host bridge at 00.0 (class 06.00.00), like Q35's. */
	pci__dev_init(&bus->host, 0x8086, 0x29c0, 0x060000);
	bus->host.bus = bus;
	bus->host.present = true;
	bus->devs[0] = &bus->host;
	if (io__register(&vm->io, PCI_CF8_PORT, 8, pci__port_io, bus, err) < 0 ||
	    mmio__register(&vm->mmio, PCI_ECAM_BASE, PCI_ECAM_SIZE, pci__ecam_io, bus, err) < 0 ||
	    mmio__register(&vm->mmio, PCI_MMIO_BASE, PCI_MMIO_SIZE, pci__window_io, bus, err) < 0)
		return -1;
	return 0;
}
