/* The PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY, type 18), for .S files:
 * loaders find the 32-bit entry point here. */
#ifndef STRATA_GUEST_PVH_NOTE_H
#define STRATA_GUEST_PVH_NOTE_H
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PVH_NOTE(entry)                                                          \
	.pushsection .note.Xen, "a", @note;                                      \
	.p2align 2;                                                              \
	.long 4, 8, XEN_ELFNOTE_PHYS32_ENTRY; /* namesz "Xen\0", descsz */       \
	.asciz "Xen";                                                            \
	.p2align 2;                                                              \
	.quad entry;                                                             \
	.popsection
#endif
