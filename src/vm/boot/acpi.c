/* ACPI tables (ACPI 6.x): RSDP, XSDT, FADT, FACS, DSDT and MADT, enough for a
 * kernel to find the CPUs and interrupt wiring, the PM timer, the power button,
 * reset through the i8042 and S5 power-off. */
#include "vm/boot/boot.h"
#include "common/util.h"
#include "vm/boot/layout.h"
#include "vm/hw/acpi_pm.h"
#include "vm/pci_acpi.h"
#include "vm/vm.h"

#include <string.h>

struct acpi_header {
	char sig[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem_id[6], oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_gas {
	uint8_t space, bit_width, bit_offset, access_size;
	uint64_t address;
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_header h;
	uint32_t facs, dsdt;
	uint8_t reserved0, pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt, pm1b_evt, pm1a_cnt, pm1b_cnt, pm2_cnt, pm_tmr, gpe0, gpe1;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_len, gpe1_len,
		gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alarm, mon_alarm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_facs, x_dsdt;
	struct acpi_gas x_pm1a_evt, x_pm1b_evt, x_pm1a_cnt, x_pm1b_cnt, x_pm2_cnt, x_pm_tmr,
		x_gpe0, x_gpe1, sleep_control, sleep_status;
	uint64_t hypervisor_id;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT layout");

struct acpi_facs {
	char sig[4];
	uint32_t length, hw_signature, waking_vector, global_lock, flags;
	uint64_t x_waking_vector;
	uint8_t version, reserved[3];
	uint32_t ospm_flags;
	uint8_t reserved2[24];
} __attribute__((packed));

/* DSDT body: Name (_S5, Package () { 5, 5, 0, 0 }) — the sleep type for soft off. */
static const uint8_t dsdt_aml[] = {
	0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, ACPI_S5_TYP, 0x0a, ACPI_S5_TYP,
	0x00, 0x00,
};

static uint8_t acpi_checksum(const void *p, size_t n)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += ((const uint8_t *)p)[i];
	return (uint8_t)-sum;
}

static void acpi_header(void *table, const char *sig, uint32_t len, uint8_t rev)
{
	struct acpi_header *h = table;
	memcpy(h->sig, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, "STRATA", 6);
	memcpy(h->oem_table_id, "STRATAVM", 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, "STRA", 4);
	h->creator_revision = 1;
	h->checksum = 0;
	h->checksum = acpi_checksum(table, len);
}

static struct acpi_gas io_gas(uint16_t port, uint8_t bytes)
{
	return (struct acpi_gas){.space = 1, .bit_width = (uint8_t)(bytes * 8),
				 .access_size = bytes > 2 ? 3 : bytes, .address = port};
}

static void acpi__fill_fadt(struct acpi_fadt *f, uint64_t facs, uint64_t dsdt)
{
	memset(f, 0, sizeof(*f));
	f->facs = (uint32_t)facs;
	f->dsdt = (uint32_t)dsdt;
	f->x_facs = 0; /* FACS given once, through the 32-bit field */
	f->x_dsdt = dsdt;
	f->sci_int = ACPI_SCI_IRQ;
	f->pm1a_evt = ACPI_PM1_EVT;
	f->pm1a_cnt = ACPI_PM1_CNT;
	f->pm_tmr = ACPI_PM_TMR;
	f->gpe0 = ACPI_GPE0_BLK;
	f->gpe0_len = ACPI_GPE0_LEN;
	f->pm1_evt_len = 4;
	f->pm1_cnt_len = 2;
	f->pm_tmr_len = 4;
	f->p_lvl2_lat = 101;  /* > 100: no C2 */
	f->p_lvl3_lat = 1001; /* > 1000: no C3 */
	f->century = 0x32;
	f->iapc_boot_arch = 0x3; /* legacy devices, an 8042 */
	/* WBINVD, C1 on all CPUs, no sleep button, reset register supported. */
	f->flags = (1u << 0) | (1u << 2) | (1u << 5) | (1u << 10);
	f->reset_reg = io_gas(0x64, 1);
	f->reset_value = 0xfe;
	f->x_pm1a_evt = io_gas(ACPI_PM1_EVT, 4);
	f->x_pm1a_cnt = io_gas(ACPI_PM1_CNT, 2);
	f->x_pm_tmr = io_gas(ACPI_PM_TMR, 4);
	/* GPE registers are byte-wide (ACPI 4.8.4.1): byte access over the block. */
	f->x_gpe0 = (struct acpi_gas){.space = 1, .bit_width = ACPI_GPE0_LEN * 8, .access_size = 1,
				      .address = ACPI_GPE0_BLK};
	memcpy(&f->hypervisor_id, "STRATAVM", 8);
	acpi_header(f, "FACP", sizeof(*f), 6);
}

static size_t acpi__fill_madt(uint8_t *t, unsigned ncpu)
{
	size_t off = sizeof(struct acpi_header);
	uint32_t lapic = LAPIC_ADDR, flags = 1; /* PCAT_COMPAT: there are 8259s too */
	memcpy(t + off, &lapic, 4);
	memcpy(t + off + 4, &flags, 4);
	off += 8;
	for (unsigned i = 0; i < ncpu; i++) {
		uint8_t e[8] = {0, 8, (uint8_t)i, (uint8_t)i, 1, 0, 0, 0}; /* enabled */
		memcpy(t + off, e, 8);
		off += 8;
	}
	uint32_t ioapic = IOAPIC_ADDR;
	uint8_t io[12] = {1, 12, 0, 0};
	memcpy(io + 4, &ioapic, 4);
	memcpy(t + off, io, 12);
	off += 12;
	/* ISA IRQs map 1:1 to GSIs; only the SCI differs from ISA's edge/high default:
	 * level triggered, active high. */
	uint8_t ovr9[10] = {2, 10, 0, ACPI_SCI_IRQ, ACPI_SCI_IRQ, 0, 0, 0, 0x0d, 0};
	memcpy(t + off, ovr9, 10), off += 10;
	uint8_t nmi[6] = {4, 6, 0xff, 0, 0, 1}; /* LINT1 of every CPU is NMI */
	memcpy(t + off, nmi, 6), off += 6;
	acpi_header(t, "APIC", (uint32_t)off, 5);
	return off;
}

int acpi__write(struct vm *vm, uint64_t *rsdp_out, struct st_err *err)
{
	const uint64_t rsdp = LAYOUT_ACPI, xsdt = rsdp + 0x40, fadt = xsdt + 0x40;
	const uint64_t facs = ST_ALIGN_UP(fadt + sizeof(struct acpi_fadt), 64ull);
	const uint64_t madt = ST_ALIGN_UP(facs + sizeof(struct acpi_facs), 64ull);
	size_t madt_max = sizeof(struct acpi_header) + 8 + 8 * VM_MAX_CPUS + 12 + 10 + 6;
	/* The DSDT grows with the PCI host bridge's AML (hotplug slots included:
	 * about 4 KiB with all 31 slots); MCFG describes its ECAM. */
	const size_t dsdt_max = 8192, mcfg_len = sizeof(struct acpi_header) + 24;
	const uint64_t dsdt = ST_ALIGN_UP(madt + madt_max, 64ull);
	const uint64_t mcfg = ST_ALIGN_UP(dsdt + dsdt_max, 64ull);
	uint8_t *area = mem__ptr(&vm->mem, LAYOUT_ACPI, mcfg - LAYOUT_ACPI + mcfg_len);
	if (!area || mcfg + mcfg_len > LAYOUT_ACPI_END)
		return err__fail(err, 0, "no room for ACPI tables");
#define AT(gpa) (area + ((gpa) - LAYOUT_ACPI))
	memset(area, 0, mcfg - LAYOUT_ACPI + mcfg_len);

	acpi__fill_madt(AT(madt), vm->nr_vcpus);
	acpi__fill_fadt((struct acpi_fadt *)AT(fadt), facs, dsdt);

	struct acpi_facs *fs = (struct acpi_facs *)AT(facs);
	memcpy(fs->sig, "FACS", 4);
	fs->length = sizeof(*fs);
	fs->version = 2;

	uint8_t *aml = AT(dsdt) + sizeof(struct acpi_header);
	memcpy(aml, dsdt_aml, sizeof(dsdt_aml));
	size_t aml_len = sizeof(dsdt_aml);
	if (vm->pci) {
		size_t n = pci__acpi_dsdt(vm->pci, aml + aml_len,
					  dsdt_max - sizeof(struct acpi_header) - aml_len);
		if (!n)
			return err__fail(err, 0, "the PCI part of the DSDT does not fit in %zu bytes",
				       dsdt_max);
		aml_len += n;
	}
	acpi_header(AT(dsdt), "DSDT", (uint32_t)(sizeof(struct acpi_header) + aml_len), 2);
	uint64_t entries[3] = {fadt, madt, mcfg};
	size_t nr_entries = 2;
	if (vm->pci) {
		pci__acpi_mcfg_body(AT(mcfg) + sizeof(struct acpi_header));
		acpi_header(AT(mcfg), "MCFG", (uint32_t)mcfg_len, 1);
		nr_entries = 3;
	}
	memcpy(AT(xsdt) + sizeof(struct acpi_header), entries, 8 * nr_entries);
	acpi_header(AT(xsdt), "XSDT", (uint32_t)(sizeof(struct acpi_header) + 8 * nr_entries), 1);

	uint8_t *r = AT(rsdp);
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "STRATA", 6);
	r[15] = 2;                       /* revision: ACPI 2.0+, XSDT present */
	uint32_t len = 36;
	memcpy(r + 20, &len, 4);
	memcpy(r + 24, &xsdt, 8);
	r[8] = acpi_checksum(r, 20);
	r[32] = acpi_checksum(r, 36);
#undef AT
	*rsdp_out = rsdp;
	return 0;
}
