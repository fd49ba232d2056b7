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

static void elf__find_pvh(const uint8_t *img, size_t len, const Elf64_Phdr *ph,
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

int elf__load(struct vm *vm, const uint8_t *img, size_t len, struct elf_image *out,
	      struct st_err *err)
{
	Elf64_Ehdr eh;
	if (len < sizeof(eh))
		return st_fail(err, 0, "truncated ELF header");
	memcpy(&eh, img, sizeof(eh));
	bool is64 = eh.e_ident[EI_CLASS] == ELFCLASS64;
	uint64_t entry, phoff;
	unsigned phnum, phentsize;
	if (is64 && eh.e_machine == EM_X86_64) {
		entry = eh.e_entry, phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize;
	} else if (eh.e_ident[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr e32;
		memcpy(&e32, img, sizeof(e32));
		if (e32.e_machine != EM_386)
			return st_fail(err, 0, "not an x86 ELF image");
		entry = e32.e_entry, phoff = e32.e_phoff, phnum = e32.e_phnum, phentsize = e32.e_phentsize;
	} else {
		return st_fail(err, 0, "not an x86-64 ELF image");
	}
	if (phentsize != (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) || phnum == 0 ||
	    phoff > len || (uint64_t)phnum * phentsize > len - phoff)
		return st_fail(err, 0, "malformed ELF program headers");
	memset(out, 0, sizeof(*out));
	out->entry = entry;
	unsigned loaded = 0;
	for (unsigned i = 0; i < phnum; i++) {
		Elf64_Phdr ph;
		if (!elf__phdr(img, len, is64, phoff, i, &ph))
			return st_fail(err, 0, "malformed ELF program headers");
		if (ph.p_type == PT_NOTE)
			elf__find_pvh(img, len, &ph, out);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			return st_fail(err, 0, "ELF segment %u lies outside the file (truncated?)", i);
		if (ph.p_paddr < LAYOUT_HIGH_RAM)
			return st_fail(err, 0, "ELF segment %u at 0x%llx is below 1 MiB", i,
				       (unsigned long long)ph.p_paddr);
		uint8_t *dst = mem__ptr(&vm->mem, ph.p_paddr, ph.p_memsz);
		if (!dst)
			return st_fail(err, 0, "ELF segment %u (0x%llx, %llu KiB) does not fit in guest memory",
				       i, (unsigned long long)ph.p_paddr,
				       (unsigned long long)(ph.p_memsz >> 10));
		memcpy(dst, img + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (ph.p_paddr + ph.p_memsz > out->end)
			out->end = ph.p_paddr + ph.p_memsz;
		loaded++;
	}
	if (!loaded)
		return st_fail(err, 0, "ELF image has nothing to load");
	return 0;
}
