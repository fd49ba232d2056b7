#include "vm/hw/fw_cfg.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "vm/boot/boot.h"
#include "vm/vm.h"

enum {
	KEY_SIGNATURE = 0x00, KEY_ID = 0x01, KEY_RAM_SIZE = 0x03, KEY_NOGRAPHIC = 0x04,
	KEY_NB_CPUS = 0x05, KEY_MAX_CPUS = 0x0f, KEY_KERNEL_SIZE = 0x08, KEY_KERNEL_CMDLINE = 0x09,
	KEY_INITRD_SIZE = 0x0b, KEY_KERNEL_DATA = 0x11, KEY_INITRD_DATA = 0x12,
	KEY_CMDLINE_SIZE = 0x14, KEY_CMDLINE_DATA = 0x15, KEY_SETUP_SIZE = 0x17,
	KEY_SETUP_DATA = 0x18, KEY_FILE_DIR = 0x19, KEY_FILE_FIRST = 0x20,
};
#define KEY_WRITE_CHANNEL 0x4000
#define ID_TRADITIONAL 0x01
#define ID_DMA         0x02
#define DMA_ERROR  0x01
#define DMA_READ   0x02
#define DMA_SKIP   0x04
#define DMA_SELECT 0x08
#define DMA_WRITE  0x10
#define ITEMS_MAX  (KEY_FILE_FIRST + FW_CFG_USER_MAX + 4)
#define BZIMAGE_SETUP_SECTS 0x1f1

struct item {
	uint16_t key;
	char name[FW_CFG_NAME_MAX]; /* files only */
	const uint8_t *data;
	uint32_t len;
	bool owned;                 /* data is ours to free */
};

struct fw_cfg {
	pthread_mutex_t lock;
	struct vm *vm;
	struct item items[ITEMS_MAX];
	unsigned nr, nr_files;
	const struct item *cur;     /* selected; NULL: a key with no item */
	uint32_t offset;
	uint8_t dma[8];             /* the DMA address register, big-endian */
	uint8_t *dir;               /* FW_CFG_FILE_DIR */
};

/* "QEMU CFG": what the DMA address register reads as (big-endian 64-bit). */
static const uint8_t dma_signature[8] = {'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G'};

int fw_cfg__parse_user(const char *spec, struct fw_cfg_user *out, struct st_err *err)
{
	*out = (struct fw_cfg_user){0};
	const char *name = NULL;
	size_t name_len = 0;
	for (const char *p = spec; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		bool bare_name = p == spec && !memchr(p, '=', len); /* QEMU: "opt/X,..." */
		if (!strncmp(p, "name=", 5) || bare_name) {
			name = !strncmp(p, "name=", 5) ? p + 5 : p;
			name_len = len - (size_t)(name - p);
		} else if (!strncmp(p, "file=", 5)) {
			out->file = p + 5;
			out->file_len = len - 5;
		} else if (!strncmp(p, "string=", 7)) {
			out->string = p + 7; /* the rest, commas included, as a string's value may have them */
			break;
		} else {
			return err__fail(err, 0, "--fw-cfg: unknown part '%.*s' (name=opt/X,file=F or string=S)",
				       (int)len, p);
		}
		if (!end)
			break;
		p = end + 1;
	}
	if (!name || !name_len)
		return err__fail(err, 0, "--fw-cfg: no name= (name=opt/X,file=F or string=S)");
	if (name_len < 5 || strncmp(name, "opt/", 4))
		return err__fail(err, 0, "--fw-cfg: '%.*s': user items must be named opt/... (QEMU's rule)",
			       (int)name_len, name);
	if (name_len >= FW_CFG_NAME_MAX)
		return err__fail(err, 0, "--fw-cfg: the name '%.*s' is longer than %d bytes", (int)name_len,
			       name, FW_CFG_NAME_MAX - 1);
	if (!out->file == !out->string)
		return err__fail(err, 0, "--fw-cfg %.*s: give exactly one of file= and string=",
			       (int)name_len, name);
	memcpy(out->name, name, name_len);
	return 0;
}

static struct item *add(struct fw_cfg *f, uint16_t key, const char *name, const void *data,
			uint32_t len, bool owned)
{
	if (f->nr == ITEMS_MAX)
		return NULL;
	struct item *it = &f->items[f->nr++];
	*it = (struct item){.key = key, .data = data, .len = len, .owned = owned};
	if (name)
		snprintf(it->name, sizeof(it->name), "%s", name);
	return it;
}

static int add_copy(struct fw_cfg *f, uint16_t key, const char *name, const void *data,
		    uint32_t len, struct st_err *err)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return err__fail(err, ENOMEM, "fw_cfg");
	memcpy(copy, data, len);
	if (!add(f, key, name, copy, len, true)) {
		free(copy);
		return err__fail(err, 0, "fw_cfg: too many items");
	}
	return 0;
}

static int add_u32(struct fw_cfg *f, uint16_t key, uint32_t v, struct st_err *err)
{
	uint32_t le = htole32(v);
	return add_copy(f, key, NULL, &le, sizeof(le), err);
}

static int add_file(struct fw_cfg *f, const char *name, const void *data, uint32_t len,
		    struct st_err *err)
{
	for (unsigned i = 0; i < f->nr; i++)
		if (f->items[i].name[0] && !strcmp(f->items[i].name, name))
			return err__fail(err, 0, "--fw-cfg: %s given twice", name);
	return add_copy(f, (uint16_t)(KEY_FILE_FIRST + f->nr_files++), name, data, len, err);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->name, ((const struct item *)b)->name);
}

/* FW_CFG_FILE_DIR: a big-endian count, then { be32 size, be16 select, be16
 * reserved, char name[56] } per file, sorted by name. */
static int build_dir(struct fw_cfg *f, struct st_err *err)
{
	struct item files[ITEMS_MAX];
	unsigned n = 0;
	for (unsigned i = 0; i < f->nr; i++)
		if (f->items[i].name[0])
			files[n++] = f->items[i];
	qsort(files, n, sizeof(files[0]), cmp_name);
	size_t len = 4 + n * 64;
	f->dir = calloc(1, len);
	if (!f->dir)
		return err__fail(err, ENOMEM, "fw_cfg");
	uint32_t count = htobe32(n);
	memcpy(f->dir, &count, 4);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = f->dir + 4 + i * 64;
		uint32_t size = htobe32(files[i].len);
		uint16_t sel = htobe16(files[i].key);
		memcpy(e, &size, 4);
		memcpy(e + 4, &sel, 2);
		memcpy(e + 8, files[i].name, FW_CFG_NAME_MAX);
	}
	return add(f, KEY_FILE_DIR, NULL, f->dir, (uint32_t)len, false) ? 0
									 : err__fail(err, 0, "fw_cfg: too many items");
}

static const struct item *find(const struct fw_cfg *f, uint16_t key)
{
	for (unsigned i = 0; i < f->nr; i++)
		if (f->items[i].key == key)
			return &f->items[i];
	return NULL;
}

static void select_key(struct fw_cfg *f, uint16_t key)
{
	f->cur = find(f, (uint16_t)(key & ~KEY_WRITE_CHANNEL));
	f->offset = 0;
}

/* Bytes of the selected item from the offset on; past its end, zeros. */
static void read_bytes(struct fw_cfg *f, uint8_t *out, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++, f->offset++)
		out[i] = f->cur && f->offset < f->cur->len ? f->cur->data[f->offset] : 0;
}

/* One FWCfgDmaAccess { be32 control, be32 length, be64 address } at gpa. */
static void dma_run(struct fw_cfg *f, uint64_t gpa)
{
	const struct guest_mem *mem = &f->vm->mem;
	uint8_t *acc = mem__ptr(mem, gpa, 16);
	if (!acc)
		return;
	uint32_t control, length;
	uint64_t address;
	memcpy(&control, acc, 4);
	memcpy(&length, acc + 4, 4);
	memcpy(&address, acc + 8, 8);
	control = be32toh(control), length = be32toh(length), address = be64toh(address);
	if (control & DMA_SELECT)
		select_key(f, (uint16_t)(control >> 16));
	uint32_t result = 0;
	if (control & DMA_WRITE) {
		result = DMA_ERROR; /* no item here is writable */
	} else if (control & DMA_READ) {
		uint8_t *dst = length ? mem__ptr(mem, address, length) : NULL;
		if (length && !dst)
			result = DMA_ERROR;
		else
			read_bytes(f, dst, length);
	} else if (control & DMA_SKIP) {
		f->offset += length;
	}
	uint32_t be = htobe32(result);
	__atomic_store_n((uint32_t *)acc, be, __ATOMIC_RELEASE); /* the guest polls it */
}

static void fw_cfg__io(void *opaque, uint16_t port, bool is_write, uint8_t *data, unsigned size)
{
	struct fw_cfg *f = opaque;
	pthread_mutex_lock(&f->lock);
	if (port == FW_CFG_PORT_SEL && is_write) {
		uint16_t key = data[0] | (size > 1 ? (uint16_t)(data[1] << 8) : 0);
		select_key(f, key);
	} else if (port == FW_CFG_PORT_DATA && !is_write) {
		read_bytes(f, data, size);
	} else if (port >= FW_CFG_PORT_DMA && port < FW_CFG_PORT_DMA + 8) {
		unsigned at = port - FW_CFG_PORT_DMA, n = ST_MIN(size, 8 - at);
		if (!is_write) {
			memcpy(data, dma_signature + at, n);
		} else {
			memcpy(f->dma + at, data, n);
			if (at + n == 8) { /* the low half: go */
				uint64_t gpa;
				memcpy(&gpa, f->dma, 8);
				dma_run(f, be64toh(gpa));
			}
		}
	} else if (!is_write) {
		memset(data, 0, size); /* the selector reads as nothing */
	}
	pthread_mutex_unlock(&f->lock);
}

/* A file's contents, mapped for the VM's life (kernel, initrd: large). */
static const uint8_t *map_file(const char *what, const char *path, uint32_t *len,
			       struct st_err *err)
{
	uint64_t size;
	cleanup_close int fd = util__open_regular(what, path, &size, err);
	if (fd < 0)
		return NULL;
	if (size > UINT32_MAX) {
		err__fail(err, 0, "%s %s is too large for fw_cfg", what, path);
		return NULL;
	}
	*len = (uint32_t)size;
	if (!size)
		return (const uint8_t *)"";
	void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		err__fail_errno(err, "%s %s", what, path);
		return NULL;
	}
	return p;
}

static int add_boot_files(struct fw_cfg *f, const struct vm_config *cfg, struct st_err *err)
{
	uint32_t len;
	const uint8_t *k = map_file("kernel", cfg->kernel, &len, err);
	if (!k)
		return -1;
	uint32_t setup = 0;
	if (linux__is_bzimage(k, len)) {
		unsigned sects = k[BZIMAGE_SETUP_SECTS] ? k[BZIMAGE_SETUP_SECTS] : 4;
		setup = ST_MIN((sects + 1) * 512u, len);
	}
	if (add_u32(f, KEY_SETUP_SIZE, setup, err) < 0 || add_u32(f, KEY_KERNEL_SIZE, len - setup, err) < 0 ||
	    !add(f, KEY_SETUP_DATA, NULL, k, setup, false) || !add(f, KEY_KERNEL_DATA, NULL, k + setup, len - setup, false))
		return err__fail(err, 0, "fw_cfg: too many items");
	if (!cfg->initrd)
		return 0;
	const uint8_t *i = map_file("initrd", cfg->initrd, &len, err);
	if (!i || add_u32(f, KEY_INITRD_SIZE, len, err) < 0)
		return -1;
	return add(f, KEY_INITRD_DATA, NULL, i, len, false) ? 0 : err__fail(err, 0, "fw_cfg: too many items");
}

static int add_user_files(struct fw_cfg *f, const struct vm_config *cfg, struct st_err *err)
{
	for (unsigned u = 0; u < cfg->nr_fw_cfg; u++) {
		const struct fw_cfg_user *user = &cfg->fw_cfg[u];
		if (user->string) {
			if (add_file(f, user->name, user->string, (uint32_t)strlen(user->string), err) < 0)
				return -1;
			continue;
		}
		uint64_t size;
		cleanup_free char *path = strndup(user->file, user->file_len);
		if (!path)
			return err__fail(err, ENOMEM, "--fw-cfg");
		cleanup_close int fd = util__open_regular("--fw-cfg file", path, &size, err);
		if (fd < 0)
			return -1;
		if (size > FW_CFG_FILE_MAX)
			return err__fail(err, 0, "--fw-cfg %s: %s is larger than %u MiB", user->name, path,
				       FW_CFG_FILE_MAX >> 20);
		cleanup_free uint8_t *buf = malloc(size ? size : 1);
		if (!buf)
			return err__fail(err, ENOMEM, "--fw-cfg");
		if (util__pread_all(fd, buf, size, 0, err) < 0 ||
		    add_file(f, user->name, buf, (uint32_t)size, err) < 0)
			return -1;
	}
	return 0;
}

int fw_cfg__init(struct vm *vm, struct st_err *err)
{
	struct fw_cfg *f = calloc(1, sizeof(*f));
	if (!f)
		return err__fail(err, ENOMEM, "fw_cfg");
	pthread_mutex_init(&f->lock, NULL);
	f->vm = vm;
	vm->fw_cfg = f;
	uint64_t ram = htole64(vm->cfg.mem_bytes);
	uint16_t cpus = htole16((uint16_t)vm->cfg.cpus);
	struct e820_entry e820[E820_MAX];
	unsigned n = e820__build(vm, e820);
	if (add_copy(f, KEY_SIGNATURE, NULL, "QEMU", 4, err) < 0 ||
	    add_u32(f, KEY_ID, ID_TRADITIONAL | ID_DMA, err) < 0 ||
	    add_copy(f, KEY_RAM_SIZE, NULL, &ram, sizeof(ram), err) < 0 ||
	    add_copy(f, KEY_NB_CPUS, NULL, &cpus, sizeof(cpus), err) < 0 ||
	    add_copy(f, KEY_MAX_CPUS, NULL, &cpus, sizeof(cpus), err) < 0 ||
	    add_u32(f, KEY_NOGRAPHIC, 1, err) < 0 ||
	    add_file(f, "etc/e820", e820, (uint32_t)(n * sizeof(e820[0])), err) < 0 ||
	    (vm->cfg.kernel && add_boot_files(f, &vm->cfg, err) < 0) ||
	    add_user_files(f, &vm->cfg, err) < 0 || build_dir(f, err) < 0)
		return -1;
	return io__register(&vm->io, FW_CFG_PORT_SEL, FW_CFG_PORT_DMA + 8 - FW_CFG_PORT_SEL, fw_cfg__io,
			    f, err);
}

int fw_cfg__set_cmdline(struct fw_cfg *f, const char *cmdline, struct st_err *err)
{
	if (!f)
		return 0;
	pthread_mutex_lock(&f->lock);
	int r = 0;
	uint32_t len = (uint32_t)strlen(cmdline) + 1;
	uint32_t le = htole32(len);
	for (unsigned i = 0; i < f->nr; i++) { /* a reboot's: in place */
		struct item *it = &f->items[i];
		if (it->key == KEY_CMDLINE_DATA || it->key == KEY_CMDLINE_SIZE) {
			if (it->owned)
				free((void *)it->data);
			*it = f->items[--f->nr];
			i--;
		}
	}
	if (add_copy(f, KEY_CMDLINE_SIZE, NULL, &le, 4, err) < 0 ||
	    add_copy(f, KEY_CMDLINE_DATA, NULL, cmdline, len, err) < 0)
		r = -1;
	f->cur = NULL;
	f->offset = 0;
	pthread_mutex_unlock(&f->lock);
	return r;
}
