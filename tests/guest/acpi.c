/* ACPI tables: RSDP, XSDT/RSDT, MADT, FADT, DSDT (with \_S5) and FACS are
 * present, checksummed and consistent; prints what it found. */
#include "rt.h"

static void print_sig(const char *what, const struct acpi_header *h)
{
	rt_printf("acpi: %s %c%c%c%c at %p rev %u len %u oem '%c%c%c%c%c%c'\n", what, h->sig[0], h->sig[1],
		  h->sig[2], h->sig[3], (void *)h, h->revision, h->length, h->oem_id[0], h->oem_id[1],
		  h->oem_id[2], h->oem_id[3], h->oem_id[4], h->oem_id[5]);
}

int guest_main(void)
{
	if (acpi_init() < 0)
		rt_fail("acpi: tables not usable");
	rt_printf("acpi: rsdp at %lx\n", rt_acpi.rsdp);
	print_sig("root", rt_acpi.root);
	for (unsigned n = 0;; n++) {
		/* every table the root lists must checksum */
		const struct acpi_header *root = rt_acpi.root;
		bool x = !memcmp(root->sig, "XSDT", 4);
		unsigned count = (root->length - sizeof(*root)) / (x ? 8 : 4);
		if (n >= count)
			break;
		const uint8_t *ents = (const uint8_t *)(root + 1);
		uint64_t a = 0;
		memcpy(&a, ents + n * (x ? 8 : 4), x ? 8 : 4);
		const struct acpi_header *h = (const void *)a;
		print_sig("table", h);
		if (acpi_checksum(h, h->length))
			rt_fail("acpi: table %u checksum bad", n);
	}
	rt_printf("madt: %u cpus, lapic %lx, ioapic %lx gsi base %u\n", rt_acpi.ncpus, rt_acpi.lapic_addr,
		  rt_acpi.ioapic_addr, rt_acpi.ioapic_gsi_base);
	for (unsigned i = 0; i < rt_acpi.ncpus; i++)
		rt_printf("madt: cpu %u apic id %u\n", i, rt_acpi.apic_ids[i]);
	for (unsigned i = 0; i < 16; i++)
		if (rt_acpi.isa_gsi[i] != i || rt_acpi.isa_flags[i])
			rt_printf("madt: irq %u -> gsi %u flags %x\n", i, rt_acpi.isa_gsi[i], rt_acpi.isa_flags[i]);
	if (!rt_acpi.ncpus || !rt_acpi.have_ioapic)
		rt_fail("madt: needs at least one enabled CPU and an IOAPIC");
	if (lapic_id() != rt_acpi.apic_ids[0])
		rt_printf("madt: note: the BSP's APIC id %u is not the first entry\n", lapic_id());

	struct acpi_pm pm;
	if (acpi_pm_init(&pm) < 0)
		rt_fail("fadt: not usable for power management");
	rt_printf("fadt: pm1a_evt %x (len %u) pm1a_cnt %x sci irq %u smi_cmd %x\n", pm.evt_blk, pm.evt_len,
		  pm.cnt_blk, pm.sci_irq, pm.smi_cmd);
	if (!pm.dsdt || memcmp(pm.dsdt->sig, "DSDT", 4))
		rt_fail("fadt: DSDT pointer does not lead to a valid DSDT");
	print_sig("dsdt", pm.dsdt);
	int s5 = acpi_s5_slp_typ(pm.dsdt);
	if (s5 < 0)
		rt_fail("dsdt: no \\_S5 package");
	rt_printf("dsdt: _S5 SLP_TYPa %d\n", s5);

	const uint8_t *f = (const uint8_t *)acpi_find("FACP", 0);
	uint64_t facs = 0;
	if (((const struct acpi_header *)f)->length >= 140)
		memcpy(&facs, f + 132, 8); /* X_FIRMWARE_CTRL */
	if (!facs)
		memcpy(&facs, f + 36, 4);
	if (facs) {
		if (memcmp((const void *)facs, "FACS", 4))
			rt_fail("fadt: FIRMWARE_CTRL %lx is not a FACS", facs);
		rt_printf("facs: at %lx\n", facs);
	}
	rt_puts("acpi: PASS\n");
	return 0;
}
