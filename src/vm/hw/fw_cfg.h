/* QEMU's firmware configuration device (fw_cfg), x86 I/O-port flavour, as
 * QEMU's docs/specs/fw_cfg.rst describes it: selector 0x510 (16-bit), data
 * 0x511, DMA address 0x514 (big-endian 64-bit, the write of its low half at
 * 0x518 starts the transfer). How SeaBIOS, OVMF and many test kernels learn
 * the machine: CPU count, RAM size, etc/e820, the kernel, initrd and command
 * line, and the user's opt/ files (--fw-cfg). */
#ifndef STRATA_VM_HW_FW_CFG_H
#define STRATA_VM_HW_FW_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define FW_CFG_PORT_SEL   0x510
#define FW_CFG_PORT_DATA  0x511
#define FW_CFG_PORT_DMA   0x514
#define FW_CFG_NAME_MAX   56  /* a file name with its NUL (FW_CFG_MAX_FILE_PATH) */
#define FW_CFG_USER_MAX   16  /* --fw-cfg items */
#define FW_CFG_FILE_MAX   (16u << 20)

struct vm;
struct fw_cfg;

/* One --fw-cfg: [name=]opt/X,file=F or [name=]opt/X,string=S (QEMU's -fw_cfg). */
struct fw_cfg_user {
	char name[FW_CFG_NAME_MAX];
	const char *file;   /* or NULL: the spec's, file_len bytes (up to a comma) */
	size_t file_len;
	const char *string; /* or NULL */
};

/* Parses one --fw-cfg spec into out (the spec's strings must outlive it);
 * refuses a name not under opt/, too long, or without exactly one of file=
 * and string=. */
int fw_cfg__parse_user(const char *spec, struct fw_cfg_user *out, struct st_err *err);

/* The device on vm's I/O bus with the machine's items, the kernel and initrd
 * (a bzImage split into setup and kernel as QEMU does) and the user's files,
 * all read now, before the sandbox. */
int fw_cfg__init(struct vm *vm, struct st_err *err);

/* The command line of this boot (built by the loader, per boot). */
int fw_cfg__set_cmdline(struct fw_cfg *f, const char *cmdline, struct st_err *err);

#endif
