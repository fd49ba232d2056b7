#include "vm/hw/acpi_pm.h"
#include "common/log.h"
#include "common/util.h"
#include "vm/vm.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#define PM1_PWRBTN   (1u << 8)
#define PM1_SCI_EN   (1u << 0)
#define PM1_SLP_EN   (1u << 13)
#define PM_TMR_HZ    3579545ull

struct acpi_pm {
	struct vm *vm;
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
	uint16_t gpe_sts, gpe_en;   /* GPE0: 16 events */
	int sci_level;
};

/* The SCI is level triggered: high while an enabled status bit is set, in
 * PM1 or in GPE0. */
static void acpi_pm__update_sci(struct acpi_pm *pm)
{
	int level = (pm->sts & pm->en) != 0 || (pm->gpe_sts & pm->gpe_en) != 0;
	if (level != pm->sci_level) {
		pm->sci_level = level;
		kvm__irq_line(&pm->vm->kvm, ACPI_SCI_IRQ, level);
	}
}

static uint8_t acpi_pm__read_byte(struct acpi_pm *pm, unsigned off)
{
	uint32_t tmr;
	switch (off) {
	case 0: case 1: return (uint8_t)(pm->sts >> (8 * (off & 1)));
	case 2: case 3: return (uint8_t)(pm->en >> (8 * (off & 1)));
	case 4: case 5: return (uint8_t)((pm->cnt | PM1_SCI_EN) >> (8 * (off & 1)));
	case 8: case 9: case 10: case 11:
		/* 24-bit counter at 3.579545 MHz, from the host's monotonic clock. */
		tmr = (uint32_t)((util__now_ns() * PM_TMR_HZ / 1000000000ull) & 0xffffff);
		return (uint8_t)(tmr >> (8 * (off - 8)));
	default: return 0;
	}
}

static void acpi_pm__write_byte(struct acpi_pm *pm, unsigned off, uint8_t val)
{
	unsigned shift = 8 * (off & 1);
	switch (off) {
	case 0: case 1: pm->sts &= (uint16_t)~(val << shift); break; /* write 1 to clear */
	case 2: case 3: pm->en = (uint16_t)((pm->en & ~(0xff << shift)) | (val << shift)); break;
	case 4: pm->cnt = (uint16_t)((pm->cnt & 0xff00) | val); break;
	case 5: {
		uint16_t cnt = (uint16_t)((pm->cnt & 0x00ff) | (val << 8));
		unsigned typ = (cnt >> 10) & 7;
		if (cnt & PM1_SLP_EN) {
			if (typ == ACPI_S5_TYP)
				vm__request_stop(pm->vm, VM_EXIT_POWEROFF, "guest powered off (ACPI S5)");
			else
				log__warn("guest asked for sleep state SLP_TYP %u, which is not supported", typ);
		}
		pm->cnt = cnt & (uint16_t)~PM1_SLP_EN;
		break;
	}
	default: break;
	}
}

static void acpi_pm__io(void *opaque, uint16_t port, bool is_write, uint8_t *data, unsigned size)
{
	struct acpi_pm *pm = opaque;
	unsigned off = port - ACPI_PM1_EVT;
	pthread_mutex_lock(&pm->lock);
	for (unsigned i = 0; i < size && off + i < ACPI_PM_LEN; i++) {
		if (is_write)
			acpi_pm__write_byte(pm, off + i, data[i]);
		else
			data[i] = acpi_pm__read_byte(pm, off + i);
	}
	acpi_pm__update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

/* GPE0: status bytes (write 1 to clear), then enable bytes, as ACPI 4.7.1. */
static void acpi_pm__gpe_io(void *opaque, uint16_t port, bool is_write, uint8_t *data,
			    unsigned size)
{
	struct acpi_pm *pm = opaque;
	unsigned off = port - ACPI_GPE0_BLK;
	pthread_mutex_lock(&pm->lock);
	for (unsigned i = 0; i < size && off + i < ACPI_GPE0_LEN; i++) {
		unsigned o = off + i, shift = 8 * (o & 1);
		uint16_t *reg = o < 2 ? &pm->gpe_sts : &pm->gpe_en;
		if (!is_write)
			data[i] = (uint8_t)(*reg >> shift);
		else if (o < 2)
			*reg &= (uint16_t)~(data[i] << shift);
		else
			*reg = (uint16_t)((*reg & ~(0xff << shift)) | (data[i] << shift));
	}
	acpi_pm__update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

void acpi_pm__raise_gpe(struct acpi_pm *pm, unsigned bit)
{
	pthread_mutex_lock(&pm->lock);
	pm->gpe_sts |= (uint16_t)(1u << bit);
	acpi_pm__update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

void acpi_pm__power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts |= PM1_PWRBTN;
	acpi_pm__update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

void acpi_pm__reset(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts = pm->en = pm->cnt = 0;
	pm->gpe_sts = pm->gpe_en = 0;
	pm->sci_level = 0;
	pthread_mutex_unlock(&pm->lock);
}

int acpi_pm__init(struct vm *vm, struct st_err *err)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	if (!pm)
		return err__fail(err, ENOMEM, "acpi pm");
	pm->vm = vm;
	pthread_mutex_init(&pm->lock, NULL);
	vm->pm = pm;
	if (io__register(&vm->io, ACPI_PM1_EVT, ACPI_PM_LEN, acpi_pm__io, pm, err) < 0)
		return -1;
	return io__register(&vm->io, ACPI_GPE0_BLK, ACPI_GPE0_LEN, acpi_pm__gpe_io, pm, err);
}
