/* ELF64 kernels and test guests: PT_LOAD segments at their physical addresses,
 * and the PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY) when present. */
#include "vm/boot/boot.h"
#include "vm/boot/layout.h"
#include "vm/vm.h"

#include <elf.h>
#include <string.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18

int elf__is_elf(const uint8_t *img, size_t len)
{
	return len >= 4 && !memcmp(img, ELFMAG, SELFMAG);
}

static void elf__read_notes(const uint8_t *img, size_t len, const Elf64_Phdr *ph,
			  struct elf_image *out)
{
	if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset)
		return;
	const uint8_t *p = img + ph->p_offset, *end = p + ph->p_filesz;
	while (end - p >= (ptrdiff_t)sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		memcpy(&nh, p, sizeof(nh));
		size_t name = (nh.n_namesz + 3) & ~3u, desc = (nh.n_descsz + 3) & ~3u;
		const uint8_t *d = p + sizeof(nh) + name;
		if (name > (size_t)(end - p) || desc > (size_t)(end - d))
			return;
		if (nh.n_namesz == 6 && !memcmp(p + sizeof(nh), "Linux", 6))
			out->linux_note = true;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    !memcmp(p + sizeof(nh), "Xen", 4) && nh.n_descsz >= 4) {
			uint32_t e32 = 0;
			memcpy(&e32, d, 4);
			out->pvh_entry = e32;
		}
		p = d + desc;
	}
}

/* ELF32 (multiboot kernels) and ELF64 share one walk over their program headers. */
static bool elf__phdr(const uint8_t *img, size_t len, bool is64, uint64_t phoff, unsigned i,
		      Elf64_Phdr *ph)
{
	size_t size = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	uint64_t off = phoff + (uint64_t)i * size;
	if (off > len || size > len - off)
		return false;
	if (is64) {
		memcpy(ph, img + off, sizeof(*ph));
		return true;
	}
	Elf32_Phdr p32;
	memcpy(&p32, img + off, sizeof(p32));
	*ph = (Elf64_Phdr){.p_type = p32.p_type, .p_offset = p32.p_offset, .p_paddr = p32.p_paddr,
			   .p_filesz = p32.p_filesz, .p_memsz = p32.p_memsz};
	return true;
}

struct elf_headers {
	bool is64;
	uint64_t entry, phoff;
	unsigned phnum;
};

static int elf__headers(const uint8_t *img, size_t len, struct elf_headers *h, struct st_err *err)
{
	Elf64_Ehdr eh;
	if (len < sizeof(eh))
		return err__fail(err, 0, "truncated ELF header");
	memcpy(&eh, img, sizeof(eh));
	h->is64 = eh.e_ident[EI_CLASS] == ELFCLASS64;
	unsigned phentsize;
	if (h->is64 && eh.e_machine == EM_X86_64) {
		h->entry = eh.e_entry, h->phoff = eh.e_phoff, h->phnum = eh.e_phnum;
		phentsize = eh.e_phentsize;
	} else if (eh.e_ident[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr e32;
		memcpy(&e32, img, sizeof(e32));
		if (e32.e_machine != EM_386)
			return err__fail(err, 0, "not an x86 ELF image");
		h->entry = e32.e_entry, h->phoff = e32.e_phoff, h->phnum = e32.e_phnum;
		phentsize = e32.e_phentsize;
	} else {
		return err__fail(err, 0, "not an x86-64 ELF image");
	}
	if (phentsize != (h->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) || h->phnum == 0 ||
	    h->phoff > len || (uint64_t)h->phnum * phentsize > len - h->phoff)
		return err__fail(err, 0, "malformed ELF program headers");
	return 0;
}

/* The notes alone (pvh_entry, linux_note), before anything is loaded. */
static void elf__scan_notes(const uint8_t *img, size_t len, struct elf_image *notes)
{
	struct elf_headers h;
	struct st_err err = {0};
	*notes = (struct elf_image){0};
	if (elf__headers(img, len, &h, &err) < 0)
		return;
	for (unsigned i = 0; i < h.phnum; i++) {
		Elf64_Phdr ph;
		if (elf__phdr(img, len, h.is64, h.phoff, i, &ph) && ph.p_type == PT_NOTE)
			elf__read_notes(img, len, &ph, notes);
	}
}

enum boot_mode elf__boot_mode(const uint8_t *img, size_t len)
{
	struct elf_image notes;
	elf__scan_notes(img, len, &notes);
	if (notes.pvh_entry)
		return BOOT_PVH;
	return multiboot__has_header(img, len) ? BOOT_MULTIBOOT : BOOT_LINUX64;
}

bool elf__is_linux(const uint8_t *img, size_t len)
{
	struct elf_image notes;
	elf__scan_notes(img, len, &notes);
	/* Linux's own note (build salt) or, without PVH or multiboot, the 64-bit
	 * Linux boot protocol is what strata-vm enters it with. */
	return notes.linux_note || elf__boot_mode(img, len) == BOOT_LINUX64;
}

int elf__load(struct vm *vm, const uint8_t *img, size_t len, enum boot_mode mode,
	      struct elf_image *out, struct st_err *err)
{
	struct elf_headers h;
	if (elf__headers(img, len, &h, err) < 0)
		return -1;
	bool is64 = h.is64;
	uint64_t phoff = h.phoff;
	unsigned phnum = h.phnum;
	memset(out, 0, sizeof(*out));
	out->entry = h.entry;
	unsigned loaded = 0;
	for (unsigned i = 0; i < phnum; i++) {
		Elf64_Phdr ph;
		if (!elf__phdr(img, len, is64, phoff, i, &ph))
			return err__fail(err, 0, "malformed ELF program headers");
		if (ph.p_type == PT_NOTE)
			elf__read_notes(img, len, &ph, out);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			return err__fail(err, 0, "ELF segment %u lies outside the file (truncated?)", i);
		uint8_t *dst = mem__ptr(&vm->mem, ph.p_paddr, ph.p_memsz);
		if (!dst)
			return err__fail(err, 0, "ELF segment %u (0x%llx, %llu KiB) does not fit in guest memory",
				       i, (unsigned long long)ph.p_paddr,
				       (unsigned long long)(ph.p_memsz >> 10));
		const char *taken = layout__claimed(vm, mode, ph.p_paddr, ph.p_memsz);
		if (taken)
			return err__fail(err, 0, "ELF segment %u (0x%llx-0x%llx) overlaps %s", i,
				       (unsigned long long)ph.p_paddr,
				       (unsigned long long)(ph.p_paddr + ph.p_memsz - 1), taken);
		memcpy(dst, img + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (ph.p_paddr + ph.p_memsz > out->end)
			out->end = ph.p_paddr + ph.p_memsz;
		loaded++;
	}
	if (!loaded)
		return err__fail(err, 0, "ELF image has nothing to load");
	return 0;
}
