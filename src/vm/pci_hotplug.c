#include "vm/pci_hotplug.h"
#include "common/log.h"
#include "vm/hw/acpi_pm.h"
#include "vm/loop.h"
#include "vm/pci.h"
#include "vm/vm.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum { REG_PCIU = 0, REG_PCID = 4, REG_B0EJ = 8, REG_RMV = 12 };

struct pci_hotplug {
	struct vm *vm;
	pthread_mutex_t lock;
	uint32_t up;            /* PCIU */
	uint32_t down;          /* PCID: removals asked, not yet ejected */
	uint32_t ejecting;      /* ejected by the guest, not yet shut down */
	bool warned;            /* the one warning about an eject nobody asked for */
	struct loop_watch w;    /* eventfd: ejects to run on the main loop */
};

static void pci_hotplug__gpe(struct pci_hotplug *hp)
{
	if (hp->vm->pm)
		acpi_pm__raise_gpe(hp->vm->pm, PCI_HOTPLUG_GPE);
}

/* A guest write to B0EJ (vCPU thread). */
static void pci_hotplug__eject(struct pci_hotplug *hp, uint32_t slots)
{
	pthread_mutex_lock(&hp->lock);
	uint32_t asked = slots & hp->down, unasked = slots & ~hp->down & ~hp->ejecting;
	hp->down &= ~asked;
	hp->ejecting |= asked;
	/* Gone for the guest now; under the lock, so that pci_hotplug__run_ejects
	 * (which frees the slot) only sees the bit once the device is hidden. */
	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++)
		if (asked & (1u << s))
			pci__hide(hp->vm->pci, s);
	bool warn = unasked && !hp->warned;
	if (warn)
		hp->warned = true;
	pthread_mutex_unlock(&hp->lock);
	if (asked) {
		uint64_t one = 1;
		if (write(hp->w.fd, &one, sizeof(one)) < 0)
			log__warn("pci hotplug: eventfd: %s", strerror(errno));
	}
	if (warn)
		log__warn("pci hotplug: the guest ejected slot(s) 0x%x, whose removal was not asked "
			"for; ignored (warned once)", unasked);
}

static void pci_hotplug__io(void *opaque, uint16_t port, bool is_write, uint8_t *data,
			    unsigned size)
{
	struct pci_hotplug *hp = opaque;
	unsigned off = port - PCI_HOTPLUG_PORT, reg = off & ~3u, shift = 8 * (off & 3);
	if (size > 4 - (off & 3))
		size = 4 - (off & 3); /* within one register */
	uint32_t bytes = size == 4 ? ~0u : ((1u << (8 * size)) - 1) << shift;
	if (is_write) {
		uint32_t v = 0;
		memcpy(&v, data, size);
		if (reg == REG_B0EJ)
			pci_hotplug__eject(hp, (v << shift) & bytes);
		return; /* the others are read-only */
	}
	uint32_t v = 0;
	pthread_mutex_lock(&hp->lock);
	switch (reg) {
	case REG_PCIU:
		v = hp->up;
		hp->up &= ~bytes; /* the guest has seen them */
		break;
	case REG_PCID: v = hp->down; break;
	case REG_RMV: v = pci__hotplug_slots(hp->vm->pci); break;
	default: break;
	}
	pthread_mutex_unlock(&hp->lock);
	v >>= shift;
	memcpy(data, &v, size);
}

void pci_hotplug__plugged(struct pci_hotplug *hp, unsigned slot)
{
	pthread_mutex_lock(&hp->lock);
	hp->up |= 1u << slot;
	pthread_mutex_unlock(&hp->lock);
	pci_hotplug__gpe(hp);
}

int pci_hotplug__request_unplug(struct pci_hotplug *hp, unsigned slot, struct st_err *err)
{
	if (slot == 0 || slot >= PCI_MAX_SLOTS || !(pci__hotplug_slots(hp->vm->pci) & (1u << slot)))
		return err__fail(err, 0, "PCI slot %u is not hotplug-capable", slot);
	pthread_mutex_lock(&hp->lock);
	bool pending = (hp->down | hp->ejecting) & (1u << slot);
	if (!pending)
		hp->down |= 1u << slot;
	pthread_mutex_unlock(&hp->lock);
	if (pending)
		return err__fail(err, 0, "the device in PCI slot %u is already being detached "
			       "(waiting for the guest's eject)", slot);
	pci_hotplug__gpe(hp);
	return 0;
}

bool pci_hotplug__unplug_pending(struct pci_hotplug *hp, unsigned slot)
{
	pthread_mutex_lock(&hp->lock);
	bool pending = (hp->down | hp->ejecting) & (1u << slot);
	pthread_mutex_unlock(&hp->lock);
	return pending;
}

void pci_hotplug__run_ejects(struct pci_hotplug *hp)
{
	pthread_mutex_lock(&hp->lock);
	uint32_t slots = hp->ejecting;
	pthread_mutex_unlock(&hp->lock);
	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++) {
		if (!(slots & (1u << s)))
			continue;
		pci__unplug(hp->vm->pci, s);
		log__info("pci hotplug: slot %u ejected by the guest", s);
	}
	/* Only now is the slot free for the next device (and no longer pending). */
	pthread_mutex_lock(&hp->lock);
	hp->ejecting &= ~slots;
	pthread_mutex_unlock(&hp->lock);
}

static void pci_hotplug__event(struct loop_watch *w, uint32_t events)
{
	(void)events;
	struct pci_hotplug *hp = (struct pci_hotplug *)((char *)w - offsetof(struct pci_hotplug, w));
	uint64_t n;
	if (read(w->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log__warn("pci hotplug: eventfd: %s", strerror(errno));
	pci_hotplug__run_ejects(hp);
}

void pci_hotplug__reset(struct pci_hotplug *hp)
{
	pci_hotplug__run_ejects(hp);
	pthread_mutex_lock(&hp->lock);
	hp->up = hp->down = 0;
	pthread_mutex_unlock(&hp->lock);
}

int pci_hotplug__watch(struct pci_hotplug *hp, struct st_err *err)
{
	return loop__add(&hp->w, EPOLLIN, err);
}

int pci_hotplug__init(struct vm *vm, struct st_err *err)
{
	struct pci_hotplug *hp = calloc(1, sizeof(*hp));
	if (!hp)
		return err__fail(err, ENOMEM, "pci hotplug");
	hp->vm = vm;
	pthread_mutex_init(&hp->lock, NULL);
	hp->w = (struct loop_watch){.fn = pci_hotplug__event};
	hp->w.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (hp->w.fd < 0) {
		free(hp);
		return err__fail_errno(err, "eventfd");
	}
	vm->hotplug = hp;
	return io__register(&vm->io, PCI_HOTPLUG_PORT, PCI_HOTPLUG_LEN, pci_hotplug__io, hp, err);
}
