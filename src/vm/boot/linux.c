/* The Linux x86 boot protocol (Documentation/arch/x86/boot.rst): bzImage
 * loading and the zero page (boot_params) for the 64-bit entry. */
#include "vm/boot/boot.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "vm/boot/layout.h"
#include "vm/vm.h"

#include <string.h>

/* Offsets inside boot_params / the setup header. */
#define BP_ACPI_RSDP      0x070
#define BP_EXT_RAMDISK    0x0c0
#define BP_EXT_RAMDISK_SZ 0x0c4
#define BP_E820_ENTRIES   0x1e8
#define HDR_START         0x1f1
#define HDR_SETUP_SECTS   0x1f1
#define HDR_SYSSIZE       0x1f4
#define HDR_BOOT_FLAG     0x1fe
#define HDR_JUMP          0x200
#define HDR_MAGIC         0x202
#define HDR_VERSION       0x206
#define HDR_LOADER        0x210
#define HDR_LOADFLAGS     0x211
#define HDR_RAMDISK       0x218
#define HDR_RAMDISK_SZ    0x21c
#define HDR_HEAP_END      0x224
#define HDR_CMDLINE       0x228
#define HDR_INITRD_MAX    0x22c
#define HDR_ALIGN         0x230
#define HDR_XLOADFLAGS    0x236
#define HDR_CMDLINE_SIZE  0x238
#define HDR_PAYLOAD_OFF   0x248
#define HDR_PAYLOAD_LEN   0x24c
#define HDR_PREF_ADDR     0x258
#define HDR_INIT_SIZE     0x260
#define BP_E820_TABLE     0x2d0
#define BP_SIZE           0x1000

#define LOADFLAG_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x1

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

int linux__is_bzimage(const uint8_t *img, size_t len)
{
	return len > 0x300 && !memcmp(img + HDR_MAGIC, "HdrS", 4) && rd16(img + HDR_BOOT_FLAG) == 0xaa55;
}

int linux__write_boot_params(struct vm *vm, const uint8_t *hdr, size_t hdr_len,
			     uint64_t initrd_addr, uint64_t initrd_size, struct st_err *err)
{
	uint8_t *bp = mem__ptr(&vm->mem, LAYOUT_BOOT_PARAMS, BP_SIZE);
	if (!bp)
		return err__fail(err, 0, "no room for boot_params");
	memset(bp, 0, BP_SIZE);
	if (hdr) {
		memcpy(bp + HDR_START, hdr + HDR_START, hdr_len - HDR_START);
	} else {
		/* A bare vmlinux has no setup header: write the fields the kernel reads. */
		bp[HDR_BOOT_FLAG] = 0x55;
		bp[HDR_BOOT_FLAG + 1] = 0xaa;
		memcpy(bp + HDR_MAGIC, "HdrS", 4);
		bp[HDR_VERSION] = 0x0f;
		bp[HDR_VERSION + 1] = 0x02;
		wr32(bp + HDR_ALIGN, 0x1000000);
		wr32(bp + HDR_CMDLINE_SIZE, LAYOUT_CMDLINE_MAX - 1);
	}
	size_t cmdlen = strlen(vm->cmdline);
	if (cmdlen >= rd32(bp + HDR_CMDLINE_SIZE))
		return err__fail(err, 0, "command line too long for this kernel (%zu bytes, limit %u)",
			       cmdlen, rd32(bp + HDR_CMDLINE_SIZE) - 1);
	bp[HDR_LOADER] = 0xff; /* an undefined boot loader */
	bp[HDR_LOADFLAGS] |= LOADFLAG_CAN_USE_HEAP;
	bp[HDR_HEAP_END] = 0x00;
	bp[HDR_HEAP_END + 1] = 0xfe;
	wr32(bp + HDR_CMDLINE, (uint32_t)LAYOUT_CMDLINE);
	wr32(bp + HDR_RAMDISK, (uint32_t)initrd_addr);
	wr32(bp + HDR_RAMDISK_SZ, (uint32_t)initrd_size);
	wr32(bp + BP_EXT_RAMDISK, (uint32_t)(initrd_addr >> 32));
	wr32(bp + BP_EXT_RAMDISK_SZ, (uint32_t)(initrd_size >> 32));
	wr64(bp + BP_ACPI_RSDP, LAYOUT_ACPI);
	struct e820_entry map[E820_MAX];
	unsigned n = e820__build(vm, map);
	bp[BP_E820_ENTRIES] = (uint8_t)n;
	memcpy(bp + BP_E820_TABLE, map, n * sizeof(map[0]));
	vm->boot.mode = BOOT_LINUX64;
	vm->boot.params = LAYOUT_BOOT_PARAMS;
	return 0;
}

/* Checks the header and returns what loading needs; shared by the direct and the
 * host-unpacked paths. */
static int linux__parse_header(const uint8_t *img, size_t len, size_t *setup_size,
			       size_t *hdr_len, struct st_err *err)
{
	uint16_t version = rd16(img + HDR_VERSION);
	if (version < 0x20c)
		return err__fail(err, 0, "boot protocol %u.%02u is too old (2.12 or newer needed)",
			       version >> 8, version & 0xff);
	if (!(rd16(img + HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return err__fail(err, 0, "this bzImage has no 64-bit entry point");
	unsigned sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	*setup_size = (size_t)(sects + 1) * 512;
	*hdr_len = (size_t)HDR_JUMP + 2 + img[HDR_JUMP + 1];
	if (*hdr_len > 0x300 || *setup_size >= len)
		return err__fail(err, 0, "malformed setup header");
	/* syssize counts the protected-mode part in 16-byte units: the whole image. */
	uint64_t want = *setup_size + (uint64_t)rd32(img + HDR_SYSSIZE) * 16;
	uint64_t payload_end = (uint64_t)rd32(img + HDR_PAYLOAD_OFF) + rd32(img + HDR_PAYLOAD_LEN);
	if (*setup_size + payload_end > want)
		want = *setup_size + payload_end;
	if (want > len)
		return err__fail(err, 0, "bzImage is truncated (%zu bytes, its header says %llu)", len,
			       (unsigned long long)want);
	return 0;
}

/* On hosts where guest code is slow, the in-guest decompressor costs minutes:
 * decompress the payload here and enter the kernel proper instead. */
static int linux__load_unpacked(struct vm *vm, const uint8_t *img, size_t setup_size,
				size_t hdr_len, struct st_err *err)
{
	const uint8_t *payload = img + setup_size + rd32(img + HDR_PAYLOAD_OFF);
	cleanup_free uint8_t *elf = NULL;
	size_t elf_len;
	if (unpack__payload(payload, rd32(img + HDR_PAYLOAD_LEN), &elf, &elf_len, err) < 0)
		return err__prefix(err, "unpacking the kernel payload");
	struct elf_image ei;
	if (elf__load(vm, elf, elf_len, BOOT_LINUX64, &ei, err) < 0)
		return err__prefix(err, "unpacked kernel");
	vm->boot.entry = ei.entry;
	vm->boot.kernel_end = ei.end;
	/* The in-guest decompressor would have received this same header. */
	uint64_t initrd = 0, initrd_size = 0;
	if (initrd__load(vm, (uint64_t)rd32(img + HDR_INITRD_MAX) + 1, &initrd, &initrd_size, err) < 0)
		return -1;
	log__info("kernel payload unpacked on the host: %zu bytes, entry 0x%llx", elf_len,
		(unsigned long long)ei.entry);
	return linux__write_boot_params(vm, img, hdr_len, initrd, initrd_size, err);
}

int linux__load_bzimage(struct vm *vm, const uint8_t *img, size_t len, struct st_err *err)
{
	size_t setup_size = 0, hdr_len = 0;
	if (linux__parse_header(img, len, &setup_size, &hdr_len, err) < 0)
		return -1;
	if (vm->cfg.unpack_kernel == 1 || (vm->cfg.unpack_kernel < 0 && vm->nested))
		return linux__load_unpacked(vm, img, setup_size, hdr_len, err);

	uint64_t load = LAYOUT_KERNEL;
	uint64_t pref = rd64(img + HDR_PREF_ADDR), init_size = rd32(img + HDR_INIT_SIZE);
	uint64_t kernel_len = len - setup_size;
	if (pref >= LAYOUT_HIGH_RAM && pref + init_size <= vm->mem.low_size)
		load = pref; /* no relocation copy in the guest */
	uint64_t need = init_size > kernel_len ? init_size : kernel_len;
	if (load + need > vm->mem.low_size)
		return err__fail(err, 0, "kernel needs %llu MiB, more than the guest memory",
			       (unsigned long long)((load + need + (1 << 20) - 1) >> 20));
	if (mem__write(&vm->mem, load, img + setup_size, kernel_len, err) < 0)
		return -1;
	vm->boot.entry = load + 0x200; /* startup_64 */
	vm->boot.kernel_end = load + need;
	uint64_t initrd = 0, initrd_size = 0;
	if (initrd__load(vm, (uint64_t)rd32(img + HDR_INITRD_MAX) + 1, &initrd, &initrd_size, err) < 0)
		return -1;
	return linux__write_boot_params(vm, img, hdr_len, initrd, initrd_size, err);
}
