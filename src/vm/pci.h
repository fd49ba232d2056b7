/* PCI: one host bridge (bus 0), config space through ports 0xCF8/0xCFC and
 * ECAM, 32-bit memory BARs placed in the MMIO hole below 4 GiB, MSI-X, and
 * INTx (INTA# of slot s on IOAPIC GSI 16 + (s - 1) % 8, level, shared; _PRT
 * in the DSDT says so, and the interrupt line register holds it).
 * Devices fill their own config header and capabilities; the bus keeps the
 * write masks, decodes BARs and the MSI-X table, and injects MSIs. */
#ifndef STRATA_VM_PCI_H
#define STRATA_VM_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

struct vm;

#define PCI_MMIO_BASE   0xc0000000ull  /* BAR window: [base, base + size) */
#define PCI_MMIO_SIZE   0x20000000ull
#define PCI_ECAM_BASE   0xe0000000ull  /* bus 0 only: 32 devices x 8 functions x 4 KiB */
#define PCI_ECAM_SIZE   0x00100000ull
#define PCI_MAX_SLOTS   32
#define PCI_CFG_SIZE    4096
#define PCI_NR_BARS     6
#define PCI_MSIX_MAX    64
#define PCI_INTX_GSI_BASE 16
#define PCI_INTX_GSIS     8

/* Standard header offsets used here. */
enum {
	PCI_VENDOR_ID = 0x00, PCI_DEVICE_ID = 0x02, PCI_COMMAND = 0x04, PCI_STATUS = 0x06,
	PCI_REVISION = 0x08, PCI_CLASS_PROG = 0x09, PCI_HEADER_TYPE = 0x0e, PCI_BAR0 = 0x10,
	PCI_SUBSYS_VENDOR = 0x2c, PCI_SUBSYS_ID = 0x2e, PCI_CAP_PTR = 0x34, PCI_INT_LINE = 0x3c,
	PCI_INT_PIN = 0x3d,
};
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS_INTX     0x08
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAP_ID_MSIX 0x11
#define PCI_CAP_ID_VENDOR 0x09

struct pci_dev;

struct pci_dev_ops {
	/* An access inside BAR bar (offset from the BAR's start), MSI-X table excluded. */
	void (*bar_access)(struct pci_dev *d, int bar, uint64_t offset, bool is_write,
			   uint8_t *data, unsigned size);
	/* After the guest changed a BAR or the command register. */
	void (*decode_changed)(struct pci_dev *d);
	/* The guest ejected the device (pci__unplug, main thread): stop serving
	 * it and release its back end. Its memory must stay valid: a vCPU may
	 * still hold a pointer from just before the slot went empty. */
	void (*unplug)(struct pci_dev *d);
};

struct pci_msix {
	unsigned nr;            /* table entries; 0 = no MSI-X */
	int bar;
	uint32_t table_off, pba_off;
	uint8_t cap;            /* config offset of the capability */
	struct { uint32_t addr_lo, addr_hi, data, ctrl; } table[PCI_MSIX_MAX];
	uint64_t pending;
};

struct pci_dev {
	struct pci_bus *bus;
	const struct pci_dev_ops *ops;
	void *opaque;
	unsigned slot;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[256];     /* writable bits of the first 256 bytes */
	uint32_t bar_size[PCI_NR_BARS];
	uint32_t bar_initial[PCI_NR_BARS];  /* as allocated, for a reset */
	uint8_t next_cap;       /* where the next capability goes */
	struct pci_msix msix;
	bool intx;              /* the device asserts INTA# (the line may still be disabled) */
	bool present;           /* answers config and BAR accesses (atomic: vCPUs read it) */
	bool removable;         /* may be ejected (a hotplug-capable slot: docs/virtio.md) */
	pthread_mutex_t lock;   /* config space, MSI-X and INTx state */
};

struct pci_bus {
	struct vm *vm;
	/* A slot's device (atomic: vCPUs read it). A device is put in a slot,
	 * made ready, then published (present); an ejected one is hidden at once
	 * and leaves its slot when pci__unplug has shut it down. */
	struct pci_dev *devs[PCI_MAX_SLOTS];
	struct pci_dev host;
	/* BARs a slot had, reused by the next device of the same size there, so
	 * hotplug rounds do not wear the window out. */
	uint32_t slot_bar_base[PCI_MAX_SLOTS][PCI_NR_BARS];
	uint32_t slot_bar_size[PCI_MAX_SLOTS][PCI_NR_BARS];
	uint32_t cf8;
	uint64_t next_bar;      /* allocation cursor in the BAR window */
	unsigned long msis;     /* MSIs injected (for query-devices) */
	pthread_mutex_t cf8_lock;
	uint32_t intx_slots[PCI_INTX_GSIS];  /* slots driving each INTx GSI */
	pthread_mutex_t intx_lock;
};

/* Registers the host bridge, the 0xCF8/0xCFC ports, ECAM and the BAR window. */
int pci__init(struct pci_bus *bus, struct vm *vm, struct st_err *err);

/* Initializes d with IDs and puts it in the next free slot, not yet present
 * (pci__publish). Main thread. */
int pci__add_device(struct pci_bus *bus, struct pci_dev *d, uint16_t vendor, uint16_t device,
		    uint32_t class_code, const struct pci_dev_ops *ops, void *opaque,
		    struct st_err *err);

/* The first free slot, or -1. */
int pci__free_slot(const struct pci_bus *bus);

/* Makes d visible to the guest (config space, BARs). Any thread. */
void pci__publish(struct pci_dev *d);

/* Takes d out of its slot before it was published (a failed set-up). */
void pci__release_slot(struct pci_dev *d);

/* Hides the slot's device at once (the guest ejected it; vCPU thread). */
void pci__hide(struct pci_bus *bus, unsigned slot);

/* The slot's device, present or hidden, or NULL. */
struct pci_dev *pci__slot_dev(struct pci_bus *bus, unsigned slot);

/* Hides the slot's device, calls its unplug op and frees the slot (main thread). */
void pci__unplug(struct pci_bus *bus, unsigned slot);

/* Slots that may take or lose a device at run time: empty ones and those of
 * removable devices (bit s for slot s). */
uint32_t pci__hotplug_slots(const struct pci_bus *bus);

/* A 32-bit memory BAR of size bytes (a power of two >= 4 KiB), allocated now. */
int pci__add_bar(struct pci_dev *d, int bar, uint32_t size, struct st_err *err);

/* Appends a capability (id, next pointer, then body) and returns its offset. */
int pci__add_cap(struct pci_dev *d, uint8_t id, const void *body, unsigned body_len,
		 struct st_err *err);

/* An MSI-X capability with nr vectors, table and PBA inside bar at the offsets. */
int pci__add_msix(struct pci_dev *d, unsigned nr, int bar, uint32_t table_off,
		  uint32_t pba_off, struct st_err *err);

/* Power-on state of the config space: BARs where they were allocated, MSI-X
 * off with every vector masked. */
void pci__reset_dev(struct pci_dev *d);

/* Current guest address of a BAR while memory decoding is on, else 0. */
uint64_t pci__bar_addr(struct pci_dev *d, int bar);

/* Sends MSI-X vector v; returns false when MSI-X is off or v is invalid
 * (the caller then has no way to interrupt; virtio's NO_VECTOR). A masked
 * vector is left pending and sent when unmasked. Any thread. */
bool pci__msix_notify(struct pci_dev *d, unsigned v);
bool pci__msix_enabled(struct pci_dev *d);

/* The IOAPIC GSI of a slot's INTA#. */
unsigned pci__intx_gsi(unsigned slot);
/* Asserts or deasserts the device's INTA# (level-triggered, shared with the
 * other slots on its GSI); the command register's interrupt-disable bit
 * keeps it off the line. Any thread. */
void pci__intx(struct pci_dev *d, bool level);

/* Config space accessors (offset < 4096); exposed for unit tests. */
void pci__cfg_access(struct pci_dev *d, unsigned offset, bool is_write, uint8_t *data,
		     unsigned size);

#endif
