/* QEMU's fw_cfg device (docs/specs/fw_cfg.rst in QEMU's tree) at ports
 * 0x510/0x511 and its DMA interface at 0x514: the "QEMU" signature, the ID
 * with the DMA bit, the DMA register's "QEMU CFG", the file directory
 * (big-endian), the CPU count (against the MADT), the RAM size, etc/e820, and
 * one opt/ file read both through the data port and by DMA. Command line:
 * file=opt/NAME expect=CONTENTS ram_mib=N. */
#include "rt.h"

#define SEL 0x510
#define DATA 0x511
#define DMA_HI 0x514
#define DMA_LO 0x518
#define KEY_SIGNATURE 0x00
#define KEY_ID 0x01
#define KEY_RAM_SIZE 0x03
#define KEY_NB_CPUS 0x05
#define KEY_FILE_DIR 0x19
#define DMA_ERROR 0x01
#define DMA_READ 0x02
#define DMA_SKIP 0x04
#define DMA_SELECT 0x08

static uint32_t be32(uint32_t v) { return __builtin_bswap32(v); }
static uint16_t be16(uint16_t v) { return __builtin_bswap16(v); }

static void port_read(uint16_t key, void *buf, uint32_t len)
{
	outw(SEL, key);
	for (uint32_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = inb(DATA);
}

struct dma_access { uint32_t control, length; uint64_t address; } __attribute__((packed, aligned(16)));
static volatile struct dma_access dma;

static bool dma_op(uint32_t control, void *buf, uint32_t len)
{
	dma.control = be32(control);
	dma.length = be32(len);
	dma.address = __builtin_bswap64((uint64_t)buf);
	__asm__ volatile("" ::: "memory");
	uint64_t a = (uint64_t)&dma;
	outl(DMA_HI, be32((uint32_t)(a >> 32)));
	outl(DMA_LO, be32((uint32_t)a));
	for (unsigned long i = 0; be32(dma.control) & ~(uint32_t)DMA_ERROR; i++)
		if (i > 100000000ul)
			rt_fail("fw-cfg: DMA never completed (control %x)", be32(dma.control));
	return !(be32(dma.control) & DMA_ERROR);
}

struct dir_entry { uint32_t size; uint16_t select, reserved; char name[56]; };
static struct dir_entry files[64];
static uint8_t buf[4096], buf2[4096];

int guest_main(void)
{
	char sig[5] = {0};
	port_read(KEY_SIGNATURE, sig, 4);
	rt_printf("fw-cfg: signature '%s'\n", sig);
	if (memcmp(sig, "QEMU", 4))
		rt_fail("fw-cfg: no QEMU signature at selector 0 (read '%s')", sig);
	uint32_t id;
	port_read(KEY_ID, &id, 4);
	rt_printf("fw-cfg: id %x\n", id);
	if (!(id & 2))
		rt_fail("fw-cfg: the ID has no DMA bit");
	char dsig[9] = {0};
	uint32_t hi = inl(DMA_HI), lo = inl(DMA_LO);
	memcpy(dsig, &hi, 4), memcpy(dsig + 4, &lo, 4);
	if (memcmp(dsig, "QEMU CFG", 8))
		rt_fail("fw-cfg: the DMA register reads '%s', not 'QEMU CFG'", dsig);

	if (acpi_init() < 0)
		rt_fail("fw-cfg: no ACPI tables");
	uint16_t cpus;
	port_read(KEY_NB_CPUS, &cpus, 2);
	rt_printf("fw-cfg: %u cpus (MADT %u)\n", cpus, rt_acpi.ncpus);
	if (cpus != rt_acpi.ncpus)
		rt_fail("fw-cfg: FW_CFG_NB_CPUS %u, the MADT lists %u", cpus, rt_acpi.ncpus);
	uint64_t ram;
	port_read(KEY_RAM_SIZE, &ram, 8);
	uint64_t want_mib = rt_cmdline_u64("ram_mib", 0);
	rt_printf("fw-cfg: ram %lu MiB\n", ram >> 20);
	if (want_mib && ram != want_mib << 20)
		rt_fail("fw-cfg: FW_CFG_RAM_SIZE %lx, expected %lu MiB", ram, want_mib);

	uint32_t count;
	port_read(KEY_FILE_DIR, &count, 4);
	count = be32(count);
	if (count > 64)
		rt_fail("fw-cfg: %u files in the directory", count);
	for (uint32_t i = 0; i < count * sizeof(files[0]); i++)
		((uint8_t *)files)[i] = inb(DATA);
	char want[56] = "", expect[256] = "";
	rt_cmdline_get("file", want, sizeof(want));
	rt_cmdline_get("expect", expect, sizeof(expect));
	const struct dir_entry *mine = NULL, *e820 = NULL;
	for (uint32_t i = 0; i < count; i++) {
		rt_printf("fw-cfg: file %s select %x size %u\n", files[i].name, be16(files[i].select),
			  be32(files[i].size));
		if (rt_streq(files[i].name, want))
			mine = &files[i];
		if (rt_streq(files[i].name, "etc/e820"))
			e820 = &files[i];
	}
	if (!e820 || be32(e820->size) == 0 || be32(e820->size) % 20)
		rt_fail("fw-cfg: no etc/e820 file of 20-byte entries");
	uint64_t e820_ram = 0;
	port_read(be16(e820->select), buf, be32(e820->size));
	for (uint32_t off = 0; off < be32(e820->size); off += 20) {
		uint64_t addr, len;
		uint32_t type;
		memcpy(&addr, buf + off, 8), memcpy(&len, buf + off + 8, 8), memcpy(&type, buf + off + 16, 4);
		if (type == 1)
			e820_ram += len;
	}
	rt_printf("fw-cfg: etc/e820 has %lu KiB of RAM\n", e820_ram >> 10);
	if (!e820_ram || e820_ram > ram)
		rt_fail("fw-cfg: etc/e820 RAM %lu KiB against RAM size %lu KiB", e820_ram >> 10, ram >> 10);

	if (!want[0])
		rt_fail("fw-cfg: no file= on the command line");
	if (!mine)
		rt_fail("fw-cfg: %s is not in the directory", want);
	uint32_t size = be32(mine->size);
	if (size != strlen(expect) || size > sizeof(buf))
		rt_fail("fw-cfg: %s is %u bytes, expected %u", want, size, (unsigned)strlen(expect));
	memset(buf, 0, sizeof(buf));
	port_read(be16(mine->select), buf, size);
	if (memcmp(buf, expect, size))
		rt_fail("fw-cfg: %s through the port reads '%s'", want, (char *)buf);
	rt_printf("fw-cfg: %s through the port: '%s'\n", want, (char *)buf);
	/* DMA: select and read 2 bytes, skip 1, read the rest (and 4 beyond: zeros) */
	memset(buf2, 0xaa, sizeof(buf2));
	uint32_t first = size < 2 ? size : 2;
	if (!dma_op(((uint32_t)be16(mine->select) << 16) | DMA_SELECT | DMA_READ, buf2, first))
		rt_fail("fw-cfg: DMA read reported an error");
	if (size > 3 && !dma_op(DMA_SKIP, NULL, 1))
		rt_fail("fw-cfg: DMA skip reported an error");
	uint32_t rest = size > 3 ? size - 3 : 0;
	if (!dma_op(DMA_READ, buf2 + 3, rest + 4))
		rt_fail("fw-cfg: DMA read reported an error");
	if (memcmp(buf2, expect, first) || (size > 3 && memcmp(buf2 + 3, expect + 3, rest)) ||
	    memcmp(buf2 + 3 + rest, "\0\0\0\0", 4))
		rt_fail("fw-cfg: DMA reads differ from the file ('%.*s')", (int)size, (char *)buf2);
	rt_printf("fw-cfg: %s by DMA: %u bytes match\n", want, size);
	rt_puts("fw-cfg: PASS\n");
	return 0;
}
