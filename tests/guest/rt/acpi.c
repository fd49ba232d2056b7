/* ACPI: RSDP -> XSDT/RSDT -> MADT, FADT, DSDT (\_S5), PM1 blocks. */
#include "rt.h"

struct acpi_info rt_acpi;

struct rsdp {
	char sig[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t ext_checksum, reserved[3];
} __attribute__((packed));

uint8_t acpi_checksum(const void *p, size_t len)
{
	uint8_t sum = 0;
	for (const uint8_t *b = p; len--; b++)
		sum += *b;
	return sum;
}

static uint32_t rd32(const void *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const void *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static const struct rsdp *rsdp_scan(uint64_t from, uint64_t to)
{
	for (uint64_t a = from; a + 20 <= to; a += 16) {
		const struct rsdp *r = (const void *)a;
		if (!memcmp(r->sig, "RSD PTR ", 8) && !acpi_checksum(r, 20))
			return r;
	}
	return 0;
}

static const struct rsdp *rsdp_find(void)
{
	if (rt_start_info && rt_start_info->rsdp_paddr)
		return (const void *)rt_start_info->rsdp_paddr;
	uint64_t ebda = (uint64_t)*(volatile uint16_t *)0x40e << 4;
	const struct rsdp *r = ebda ? rsdp_scan(ebda, ebda + 1024) : 0;
	return r ? r : rsdp_scan(0xe0000, 0x100000);
}

static void madt_parse(const struct acpi_header *madt)
{
	const uint8_t *p = (const uint8_t *)madt;
	rt_acpi.lapic_addr = rd32(p + 36);
	for (unsigned i = 0; i < 16; i++)
		rt_acpi.isa_gsi[i] = i, rt_acpi.isa_flags[i] = 0;
	for (uint32_t off = 44; off + 2 <= madt->length;) {
		const uint8_t *e = p + off;
		if (e[1] < 2)
			break;
		switch (e[0]) {
		case 0: /* processor local APIC */
			if ((rd32(e + 4) & 1) && rt_acpi.ncpus < ACPI_MAX_CPUS)
				rt_acpi.apic_ids[rt_acpi.ncpus++] = e[3];
			break;
		case 1: /* IOAPIC */
			if (!rt_acpi.have_ioapic) {
				rt_acpi.ioapic_addr = rd32(e + 4);
				rt_acpi.ioapic_gsi_base = rd32(e + 8);
				rt_acpi.have_ioapic = true;
			}
			break;
		case 2: /* interrupt source override */
			if (e[3] < 16) {
				rt_acpi.isa_gsi[e[3]] = rd32(e + 4);
				rt_acpi.isa_flags[e[3]] = (uint16_t)(e[8] | e[9] << 8);
			}
			break;
		case 5: /* local APIC address override */
			rt_acpi.lapic_addr = rd64(e + 4);
			break;
		case 9: /* x2APIC */
			if ((rd32(e + 8) & 1) && rt_acpi.ncpus < ACPI_MAX_CPUS)
				rt_acpi.apic_ids[rt_acpi.ncpus++] = rd32(e + 4);
			break;
		}
		off += e[1];
	}
}

int acpi_init(void)
{
	const struct rsdp *r = rsdp_find();
	if (!r) {
		rt_puts("acpi: no RSDP (start info and BIOS areas)\n");
		return -1;
	}
	if (memcmp(r->sig, "RSD PTR ", 8) || acpi_checksum(r, 20)) {
		rt_printf("acpi: RSDP at %p has a bad signature or checksum\n", (void *)r);
		return -1;
	}
	if (r->revision >= 2 && acpi_checksum(r, r->length)) {
		rt_printf("acpi: RSDP at %p has a bad extended checksum\n", (void *)r);
		return -1;
	}
	rt_acpi.rsdp = (uint64_t)r;
	uint64_t root = r->revision >= 2 && r->xsdt ? r->xsdt : r->rsdt;
	rt_acpi.root = (const void *)root;
	if (acpi_checksum(rt_acpi.root, rt_acpi.root->length)) {
		rt_printf("acpi: root table %c%c%c%c: checksum bad\n", rt_acpi.root->sig[0], rt_acpi.root->sig[1],
			  rt_acpi.root->sig[2], rt_acpi.root->sig[3]);
		return -1;
	}
	const struct acpi_header *madt = acpi_find("APIC", 0);
	if (!madt) {
		rt_puts("acpi: no MADT\n");
		return -1;
	}
	madt_parse(madt);
	return 0;
}

static const struct acpi_header *checked(const struct acpi_header *h)
{
	if (h && acpi_checksum(h, h->length)) {
		rt_printf("acpi: table %c%c%c%c at %p: checksum bad\n", h->sig[0], h->sig[1], h->sig[2],
			  h->sig[3], (void *)h);
		return 0;
	}
	return h;
}

const struct acpi_header *acpi_find(const char *sig, unsigned n)
{
	const struct acpi_header *root = rt_acpi.root;
	if (!root)
		return 0;
	bool xsdt = !memcmp(root->sig, "XSDT", 4);
	unsigned width = xsdt ? 8 : 4;
	unsigned count = (root->length - sizeof(*root)) / width;
	const uint8_t *ents = (const uint8_t *)(root + 1);
	for (unsigned i = 0; i < count; i++) {
		uint64_t a = xsdt ? rd64(ents + i * width) : rd32(ents + i * width);
		const struct acpi_header *h = (const void *)a;
		if (!memcmp(h->sig, sig, 4) && n-- == 0)
			return checked(h);
	}
	return 0;
}

#define FADT_HW_REDUCED (1u << 20)

/* an FADT generic address if it is valid and in I/O space, else the legacy field */
static uint16_t fadt_port(const uint8_t *f, uint32_t len, uint32_t x_off, uint32_t legacy_off)
{
	if (len >= x_off + 12 && f[x_off] == 1 && rd64(f + x_off + 4))
		return (uint16_t)rd64(f + x_off + 4);
	return (uint16_t)rd32(f + legacy_off);
}

int acpi_pm_init(struct acpi_pm *pm)
{
	const struct acpi_header *fadt = acpi_find("FACP", 0);
	if (!fadt) {
		rt_puts("acpi: no FADT\n");
		return -1;
	}
	const uint8_t *f = (const uint8_t *)fadt;
	uint32_t len = fadt->length;
	memset(pm, 0, sizeof(*pm));
	pm->sci_irq = (uint16_t)(f[46] | f[47] << 8);
	pm->smi_cmd = (uint16_t)rd32(f + 48);
	pm->acpi_enable = f[52];
	pm->evt_blk = fadt_port(f, len, 148, 56);
	pm->cnt_blk = fadt_port(f, len, 172, 64);
	pm->evt_len = f[88];
	pm->hw_reduced = len >= 116 && (rd32(f + 112) & FADT_HW_REDUCED);
	uint64_t dsdt = len >= 148 && rd64(f + 140) ? rd64(f + 140) : rd32(f + 40);
	pm->dsdt = checked((const void *)dsdt);
	if (pm->hw_reduced) {
		rt_puts("acpi: hardware-reduced ACPI: no PM1 blocks\n");
		return -1;
	}
	if (!pm->evt_blk || !pm->cnt_blk) {
		rt_printf("acpi: FADT has no PM1a blocks (evt %x cnt %x)\n", pm->evt_blk, pm->cnt_blk);
		return -1;
	}
	return 0;
}

/* Finds "Name(_S5_, Package(){ SLP_TYPa, ...})" in AML: NameOp 08, the name,
 * PackageOp 12, PkgLength, NumElements, then a byte constant. */
int acpi_s5_slp_typ(const struct acpi_header *dsdt)
{
	if (!dsdt)
		return -1;
	const uint8_t *p = (const uint8_t *)dsdt, *end = p + dsdt->length;
	for (const uint8_t *s = p + sizeof(*dsdt); s + 8 < end; s++) {
		if (memcmp(s, "_S5_", 4))
			continue;
		if (s[-1] != 0x08 && !(s[-1] == '\\' && s[-2] == 0x08))
			continue;
		const uint8_t *q = s + 4;
		if (*q++ != 0x12)
			continue;
		q += 1 + (*q >> 6); /* PkgLength */
		q++;                /* NumElements */
		switch (*q) {
		case 0x0a: return q[1]; /* BytePrefix */
		case 0x00: return 0;    /* ZeroOp */
		case 0x01: return 1;    /* OneOp */
		default: return *q < 8 ? *q : -1;
		}
	}
	return -1;
}

#define PM1_SCI_EN 0x0001
#define PM1_SLP_EN (1u << 13)

void acpi_enable_sci(const struct acpi_pm *pm)
{
	if ((inw(pm->cnt_blk) & PM1_SCI_EN) || !pm->smi_cmd || !pm->acpi_enable)
		return;
	outb(pm->smi_cmd, pm->acpi_enable);
	for (int i = 0; i < 1000 && !(inw(pm->cnt_blk) & PM1_SCI_EN); i++)
		rt_udelay(1000);
}

void acpi_poweroff(const struct acpi_pm *pm, int slp_typ)
{
	uint16_t v = inw(pm->cnt_blk) & ~(7u << 10);
	outw(pm->cnt_blk, v | (uint16_t)(slp_typ << 10) | PM1_SLP_EN);
}

void acpi_route_sci(const struct acpi_pm *pm, unsigned vector)
{
	/* the SCI is level-triggered, active high unless the MADT overrides it */
	if (pm->sci_irq < 16 && rt_acpi.isa_flags[pm->sci_irq])
		ioapic_route_isa_irq(pm->sci_irq, vector);
	else
		ioapic_route_gsi(pm->sci_irq < 16 ? rt_acpi.isa_gsi[pm->sci_irq] : pm->sci_irq, vector,
				 true, false);
}
