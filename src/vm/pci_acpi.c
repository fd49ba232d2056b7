/* ACPI description of the PCI host bridge: the MCFG body (ECAM) and DSDT AML
 * for \_SB.PCI0 (PNP0A08, with the bus, I/O and memory windows in _CRS) plus a
 * motherboard-resources device reserving ECAM, as Linux wants before it
 * trusts MCFG, and _PRT routing each slot's INTA# to its GSI; and the ACPI PCI
 * hotplug of pci_hotplug.h: a Device Sxx per hotplug-capable slot (_ADR, _SUN,
 * _EJ0 writing B0EJ), the registers as fields of an I/O OperationRegion, the
 * method PCNT that notifies the slots PCIU and PCID name, and \_GPE._E01
 * calling it. The AML is assembled by hand. */
#include "vm/pci_acpi.h"
#include "vm/pci.h"
#include "vm/pci_hotplug.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define AML_MAX 8192

struct aml {
	uint8_t b[AML_MAX];
	size_t n;
	bool overflow;          /* something did not fit: the whole is refused */
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > sizeof(a->b) - a->n) {
		a->overflow = true;
		return;
	}
	memcpy(a->b + a->n, p, n);
	a->n += n;
}

/* Appends a finished piece (and its overflow). */
static void aml_append(struct aml *a, const struct aml *piece)
{
	if (piece->overflow)
		a->overflow = true;
	else
		aml_bytes(a, piece->b, piece->n);
}

static void aml_byte(struct aml *a, uint8_t v) { aml_bytes(a, &v, 1); }

static void aml_pkglen(struct aml *a, size_t body)
{
	if (body + 1 < 64) {
		aml_byte(a, (uint8_t)(body + 1));
	} else if (body + 2 < 4096) {
		size_t l = body + 2;
		aml_byte(a, (uint8_t)(0x40 | (l & 0xf)));
		aml_byte(a, (uint8_t)(l >> 4));
	} else {
		size_t l = body + 3;
		aml_byte(a, (uint8_t)(0x80 | (l & 0xf)));
		aml_byte(a, (uint8_t)(l >> 4));
		aml_byte(a, (uint8_t)(l >> 12));
	}
}

static void aml_int(struct aml *a, uint32_t v)
{
	if (v <= 1) {
		aml_byte(a, (uint8_t)v);           /* ZeroOp / OneOp */
	} else if (v <= 0xff) {
		aml_byte(a, 0x0a), aml_byte(a, (uint8_t)v);
	} else if (v <= 0xffff) {
		aml_byte(a, 0x0b), aml_bytes(a, &v, 2);
	} else {
		aml_byte(a, 0x0c), aml_bytes(a, &v, 4);
	}
}

static void aml_name_int(struct aml *a, const char *seg, uint32_t v)
{
	aml_byte(a, 0x08);
	aml_bytes(a, seg, 4);
	aml_int(a, v);
}

/* EISA IDs ("PNP0A08") compress to a DWordConst. */
static void aml_name_eisa(struct aml *a, const char *seg, const char *id)
{
	uint8_t c[4] = {
		(uint8_t)(((id[0] - 0x40) << 2) | ((id[1] - 0x40) >> 3)),
		(uint8_t)((((id[1] - 0x40) & 7) << 5) | (id[2] - 0x40)),
	};
	for (int i = 0; i < 4; i++) {
		char h = id[3 + i];
		uint8_t nib = (uint8_t)(h <= '9' ? h - '0' : h - 'A' + 10);
		c[2 + i / 2] |= (uint8_t)(i % 2 ? nib : nib << 4);
	}
	aml_byte(a, 0x08);
	aml_bytes(a, seg, 4);
	aml_byte(a, 0x0c);
	aml_bytes(a, c, 4);
}

/* Name (_CRS, ResourceTemplate () { descriptors, EndTag }) */
static void aml_name_crs(struct aml *a, const uint8_t *desc, size_t len)
{
	uint8_t end[2] = {0x79, 0x00};
	struct aml buf = {.n = 0};
	aml_int(&buf, (uint32_t)(len + 2));
	aml_bytes(&buf, desc, len);
	aml_bytes(&buf, end, 2);
	aml_byte(a, 0x08);
	aml_bytes(a, "_CRS", 4);
	aml_byte(a, 0x11);
	aml_pkglen(a, buf.n);
	aml_append(a, &buf);
}

static void aml_device(struct aml *a, const char *seg, const struct aml *body)
{
	aml_byte(a, 0x5b);
	aml_byte(a, 0x82);
	aml_pkglen(a, 4 + body->n);
	aml_bytes(a, seg, 4);
	aml_append(a, body);
}

/* Method (seg, nargs, flags) { body }: flags 8 = Serialized. */
static void aml_method(struct aml *a, const char *seg, uint8_t flags, const struct aml *body)
{
	aml_byte(a, 0x14);
	aml_pkglen(a, 5 + body->n);
	aml_bytes(a, seg, 4);
	aml_byte(a, flags);
	aml_append(a, body);
}

/* If (And (local, mask)) { Notify (seg, value) } */
static void aml_if_bit_notify(struct aml *a, uint8_t local, uint32_t mask, const char *seg,
			      uint8_t value)
{
	struct aml body = {.n = 0};
	aml_byte(&body, 0x7b);                       /* AndOp */
	aml_byte(&body, local);
	aml_int(&body, mask);
	aml_byte(&body, 0x00);                       /* target: none */
	aml_byte(&body, 0x86);                       /* NotifyOp */
	aml_bytes(&body, seg, 4);
	aml_int(&body, value);
	aml_byte(a, 0xa0);                           /* IfOp */
	aml_pkglen(a, body.n);
	aml_append(a, &body);
}

static void slot_seg(char seg[5], unsigned slot)
{
	snprintf(seg, 5, "S%02X_", slot & 0xff);
}

/* The hotplug part of \_SB.PCI0: registers, the slots and PCNT. */
static void aml_hotplug(struct aml *pci0, uint32_t slots)
{
	/* OperationRegion (PCST, SystemIO, 0xAE00, 0x10) */
	aml_bytes(pci0, (const uint8_t[]){0x5b, 0x80}, 2);
	aml_bytes(pci0, "PCST", 4);
	aml_byte(pci0, 0x01);
	aml_int(pci0, PCI_HOTPLUG_PORT);
	aml_int(pci0, PCI_HOTPLUG_LEN);
	/* Field (PCST, DWordAcc, NoLock, WriteAsZeros) { PCIU, 32, PCID, 32, B0EJ, 32, RMVS, 32 } */
	static const char *const fields[] = {"PCIU", "PCID", "B0EJ", "RMVS"};
	struct aml f = {.n = 0};
	aml_bytes(&f, "PCST", 4);
	aml_byte(&f, 0x03 | 0x40);  /* DWordAcc, NoLock, WriteAsZeros */
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		aml_bytes(&f, fields[i], 4);
		aml_byte(&f, 32);   /* bits (a one-byte PkgLength) */
	}
	aml_bytes(pci0, (const uint8_t[]){0x5b, 0x81}, 2);
	aml_pkglen(pci0, f.n);
	aml_append(pci0, &f);

	struct aml pcnt = {.n = 0};
	aml_bytes(&pcnt, (const uint8_t[]){0x70}, 1), aml_bytes(&pcnt, "PCIU", 4);
	aml_byte(&pcnt, 0x60);                       /* Store (PCIU, Local0): reading clears it */
	aml_bytes(&pcnt, (const uint8_t[]){0x70}, 1), aml_bytes(&pcnt, "PCID", 4);
	aml_byte(&pcnt, 0x61);                       /* Store (PCID, Local1) */
	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++) {
		if (!(slots & (1u << s)))
			continue;
		char seg[5];
		slot_seg(seg, s);
		struct aml dev = {.n = 0}, ej0 = {.n = 0};
		aml_name_int(&dev, "_ADR", s << 16);
		aml_name_int(&dev, "_SUN", s);
		aml_byte(&ej0, 0x70);                 /* Store (1 << s, B0EJ) */
		aml_int(&ej0, 1u << s);
		aml_bytes(&ej0, "B0EJ", 4);
		aml_method(&dev, "_EJ0", 1, &ej0);
		aml_device(pci0, seg, &dev);
		aml_if_bit_notify(&pcnt, 0x60, 1u << s, seg, 1); /* device check */
		aml_if_bit_notify(&pcnt, 0x61, 1u << s, seg, 3); /* eject request */
	}
	aml_method(pci0, "PCNT", 0x08, &pcnt);
}

/* Name (_PRT, Package () { Package () { 0xSSSSFFFF, 0, 0, GSI }, ... }):
 * INTA# of every slot 1..31, straight to an IOAPIC GSI (no link devices). */
static void aml_name_prt(struct aml *a)
{
	struct aml list = {.n = 0};
	aml_byte(&list, PCI_MAX_SLOTS - 1);                  /* NumElements */
	for (unsigned slot = 1; slot < PCI_MAX_SLOTS; slot++) {
		struct aml e = {.n = 0};
		aml_byte(&e, 4);
		uint32_t addr = slot << 16 | 0xffff;
		aml_byte(&e, 0x0c), aml_bytes(&e, &addr, 4);  /* DWordConst: any function */
		aml_int(&e, 0);                              /* pin INTA# */
		aml_int(&e, 0);                              /* source: none, a GSI */
		aml_int(&e, pci__intx_gsi(slot));
		aml_byte(&list, 0x12);                       /* PackageOp */
		aml_pkglen(&list, e.n);
		aml_append(&list, &e);
	}
	aml_byte(a, 0x08);
	aml_bytes(a, "_PRT", 4);
	aml_byte(a, 0x12);
	aml_pkglen(a, list.n);
	aml_append(a, &list);
}

static size_t word_space(uint8_t *d, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
	uint16_t f[5] = {0, min, max, 0, (uint16_t)(max - min + 1)};
	d[0] = 0x88, d[1] = 13, d[2] = 0, d[3] = type, d[4] = 0x0c /* min/max fixed */, d[5] = tflags;
	memcpy(d + 6, f, 10);
	return 16;
}

size_t pci__acpi_dsdt(const struct pci_bus *bus, uint8_t *out, size_t cap)
{
	uint8_t crs[128];
	size_t n = 0;
	n += word_space(crs + n, 2, 0, 0, 0);                 /* bus 0 */
	static const uint8_t cf8[8] = {0x47, 1, 0xf8, 0x0c, 0xf8, 0x0c, 1, 8};
	memcpy(crs + n, cf8, 8), n += 8;
	n += word_space(crs + n, 1, 3, 0x0000, 0x0cf7);       /* I/O below and above 0xcf8 */
	n += word_space(crs + n, 1, 3, 0x0d00, 0xffff);
	uint32_t mem[5] = {0, (uint32_t)PCI_MMIO_BASE, (uint32_t)(PCI_MMIO_BASE + PCI_MMIO_SIZE - 1),
			   0, (uint32_t)PCI_MMIO_SIZE};
	uint8_t *d = crs + n;
	d[0] = 0x87, d[1] = 23, d[2] = 0, d[3] = 0, d[4] = 0x0c, d[5] = 0x01; /* RW, non-cacheable */
	memcpy(d + 6, mem, 20);
	n += 26;

	struct aml pci0 = {.n = 0}, mres = {.n = 0}, scope = {.n = 0}, all = {.n = 0};
	aml_name_eisa(&pci0, "_HID", "PNP0A08");
	aml_name_eisa(&pci0, "_CID", "PNP0A03");
	aml_name_int(&pci0, "_SEG", 0);
	aml_name_int(&pci0, "_BBN", 0);
	aml_name_int(&pci0, "_UID", 0);
	aml_name_crs(&pci0, crs, n);
	aml_name_prt(&pci0);
	aml_hotplug(&pci0, pci__hotplug_slots(bus));

	uint8_t ecam[12] = {0x86, 9, 0, 1};
	uint32_t ecam_base = (uint32_t)PCI_ECAM_BASE, ecam_len = (uint32_t)PCI_ECAM_SIZE;
	memcpy(ecam + 4, &ecam_base, 4);
	memcpy(ecam + 8, &ecam_len, 4);
	aml_name_eisa(&mres, "_HID", "PNP0C02");
	aml_name_int(&mres, "_UID", 1);
	aml_name_crs(&mres, ecam, sizeof(ecam));

	aml_device(&scope, "PCI0", &pci0);
	aml_device(&scope, "MRES", &mres);
	aml_byte(&all, 0x10);                                /* Scope (\_SB) */
	aml_pkglen(&all, 5 + scope.n);
	aml_bytes(&all, "\\_SB_", 5);
	aml_append(&all, &scope);
	/* Scope (\_GPE) { Method (_E01) { \_SB.PCI0.PCNT () } } */
	struct aml e01 = {.n = 0}, gpe = {.n = 0};
	aml_bytes(&e01, (const uint8_t[]){0x5c, 0x2f, 0x03}, 3); /* \ MultiNamePrefix 3 */
	aml_bytes(&e01, "_SB_PCI0PCNT", 12);
	char e0x[5];
	snprintf(e0x, sizeof(e0x), "_E%02X", PCI_HOTPLUG_GPE);
	aml_method(&gpe, e0x, 0, &e01);
	aml_byte(&all, 0x10);
	aml_pkglen(&all, 5 + gpe.n);
	aml_bytes(&all, "\\_GPE", 5);
	aml_append(&all, &gpe);
	if (all.overflow || all.n > cap)
		return 0;
	memcpy(out, all.b, all.n);
	return all.n;
}

size_t pci__acpi_mcfg_body(uint8_t *out)
{
	/* 8 reserved bytes, then one allocation: base, segment, bus 0..0 */
	memset(out, 0, 24);
	uint64_t base = PCI_ECAM_BASE;
	memcpy(out + 8, &base, 8);
	out[18] = 0; /* start bus */
	out[19] = 0; /* end bus */
	return 24;
}
