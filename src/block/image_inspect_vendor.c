/* Other vendors' formats for image_inspect: VMDK (VMware's Virtual Disk
 * Format 1.1), VHD/vpc and VHDX (Microsoft's specifications), VDI
 * (VirtualBox) and Parallels. Only sizes and the fields that could make a
 * driver open another file are read. */
#include "block/image_inspect_formats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "common/util.h"

/* --- VMDK ---------------------------------------------------------------- */

#define VMDK_GD_AT_END UINT64_MAX
#define VMDK_DESC_MAX (64u << 10) /* above any real descriptor (qemu writes 10 KiB) */
#define VMDK_PARENT_SCAN 10240    /* what qemu reads at 0x200 for parentFileNameHint */

/* The value of `key="value"` on a descriptor line, or NULL. */
static const char *desc_value(const char *line, const char *key, size_t *len)
{
	size_t k = strlen(key);
	if (strncmp(line, key, k))
		return NULL;
	const char *p = line + k;
	while (*p == ' ')
		p++;
	if (*p++ != '=')
		return NULL;
	while (*p == ' ')
		p++;
	if (*p == '"')
		p++;
	*len = strcspn(p, "\"\r\n");
	return p;
}

/* An extent line: ACCESS SECTORS TYPE "FILE" [OFFSET]. */
static bool parse_extent(const char *line, uint64_t *sectors, char *type, size_t type_cap,
			 const char **file, size_t *file_len)
{
	static const char *const access[] = {"RW ", "RDONLY ", "NOACCESS "};
	size_t i = 0;
	while (i < ST_ARRAY_SIZE(access) && strncmp(line, access[i], strlen(access[i])))
		i++;
	if (i == ST_ARRAY_SIZE(access))
		return false;
	const char *p = line + strlen(access[i]);
	char *endp;
	*sectors = strtoull(p, &endp, 10);
	p = endp + strspn(endp, " ");
	size_t t = strcspn(p, " \r\n");
	snprintf(type, type_cap, "%.*s", (int)t, p);
	p += t + strspn(p + t, " ");
	*file = p + (*p == '"');
	*file_len = strcspn(*file, "\"\r\n");
	return true;
}

/* Walks a descriptor (NUL-terminated): the size its extents sum to, and
 * whatever would make qemu open another file. `embedded`: inside a sparse
 * file, where only one SPARSE extent (the file itself) is allowed. */
static void vmdk_descriptor(char *desc, bool embedded, struct image_inspect *out)
{
	uint64_t total = 0;
	unsigned extents = 0;
	bool type_ok = false;
	for (char *line = desc, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		line += strspn(line, " \t");
		size_t len;
		const char *v;
		uint64_t sectors;
		char type[16];
		if ((v = desc_value(line, "createType", &len)))
			type_ok = (len == 16 && !strncmp(v, "monolithicSparse", len)) ||
				  (len == 15 && !strncmp(v, "streamOptimized", len));
		else if ((v = desc_value(line, "parentFileNameHint", &len)))
			image_inspect_formats__unsafe(out, "it names a parent (backing) file", v, len);
		else if (parse_extent(line, &sectors, type, sizeof(type), &v, &len)) {
			extents++;
			total = sectors > (UINT64_MAX - total) / 512 ? UINT64_MAX : total + sectors * 512;
			if (!embedded)
				image_inspect_formats__unsafe(out, "it is a descriptor whose extents are other files",
							      v, len);
			else if (strcmp(type, "SPARSE"))
				image_inspect_formats__unsafe(out, "it has an extent that is another file", v, len);
		}
	}
	if (!embedded)
		out->virtual_size = total;
	else if (extents > 1)
		image_inspect_formats__unsafe(out, "it has more than one extent", NULL, 0);
	else if (!type_ok)
		image_inspect_formats__unsafe(out, "its createType is not monolithicSparse or streamOptimized",
					      NULL, 0);
}

/* qemu's probe for a text descriptor: comment and blank lines, then version=N. */
static bool vmdk_text(const struct image_inspect_src *s)
{
	const char *p = (const char *)s->head, *end = p + s->head_len;
	while (p < end) {
		if (*p == '#' || *p == ' ' || *p == '\r' || *p == '\n') {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			if (*p != '#' && (size_t)(nl ? nl - p : end - p) != strspn(p, " \r"))
				return false;
			p = nl ? nl + 1 : end;
			continue;
		}
		return end - p >= 10 && !strncmp(p, "version=", 8) && p[8] >= '1' && p[8] <= '3' &&
		       (p[9] == '\n' || p[9] == '\r');
	}
	return false;
}

/* Reads [off, off+len) (clipped to the file) as a NUL-terminated string. */
static char *read_text(const struct image_inspect_src *s, uint64_t off, size_t len, struct st_err *err)
{
	if (off >= s->size)
		len = 0;
	else
		len = (size_t)ST_MIN((uint64_t)len, s->size - off);
	char *buf = calloc(1, len + 1);
	if (!buf) {
		err__fail(err, ENOMEM, "vmdk descriptor");
		return NULL;
	}
	if (len && image_inspect_formats__read(s, off, buf, len, "the vmdk descriptor", err) < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int vmdk_sparse(const struct image_inspect_src *s, struct image_inspect *out, struct st_err *err)
{
	uint8_t h[80];
	memcpy(h, s->head, sizeof(h));
	if (s->size < 512)
		return image_inspect_formats__bad(err, "vmdk", "truncated (%" PRIu64 " bytes)", s->size);
	if (get_le32(h + 4) < 1 || get_le32(h + 4) > 3)
		return image_inspect_formats__bad(err, "vmdk", "unsupported version %u", get_le32(h + 4));
	if (get_le64(h + 56) == VMDK_GD_AT_END) {
		/* streamOptimized: qemu takes the header from the footer, the
		 * second-to-last sector, after a footer marker */
		uint8_t tail[1024];
		if (s->size < 1536 || image_inspect_formats__read(s, s->size - 1536, tail, sizeof(tail),
								   "the vmdk footer", err) < 0)
			return image_inspect_formats__bad(err, "vmdk", "truncated: no footer");
		if (get_le32(tail + 12) != 3 || memcmp(tail + 512, "KDMV", 4))
			return image_inspect_formats__bad(err, "vmdk", "the footer is missing or damaged");
		memcpy(h, tail + 512, sizeof(h));
	}
	uint64_t capacity = get_le64(h + 12), desc_off = get_le64(h + 28), desc_len = get_le64(h + 36);
	if (capacity > UINT64_MAX / 512)
		return image_inspect_formats__bad(err, "vmdk", "capacity %" PRIu64 " sectors is inconsistent",
						  capacity);
	out->virtual_size = capacity * 512;
	if (capacity == 0 && desc_off)
		/* qemu then opens the descriptor's extents, whatever files they name */
		image_inspect_formats__unsafe(out, "its header hands over to its descriptor's extents", NULL, 0);
	if (desc_off) {
		if (desc_len == 0 || desc_len > VMDK_DESC_MAX / 512)
			return image_inspect_formats__bad(err, "vmdk", "descriptor of %" PRIu64 " sectors is inconsistent",
							  desc_len);
		if (desc_off > s->size / 512 || desc_len > s->size / 512 - desc_off)
			return image_inspect_formats__bad(err, "vmdk",
							  "truncated: the descriptor (sectors %" PRIu64 "+%" PRIu64
							  ") lies past the end of the file",
							  desc_off, desc_len);
		char *desc = read_text(s, desc_off * 512, (size_t)desc_len * 512, err);
		if (!desc)
			return -1;
		vmdk_descriptor(desc, true, out);
		free(desc);
	}
	/* qemu looks for the parent's name at 0x200 whatever the header says */
	char *scan = read_text(s, 0x200, VMDK_PARENT_SCAN, err);
	if (!scan)
		return -1;
	const char *hint = strstr(scan, "parentFileNameHint");
	if (hint)
		image_inspect_formats__unsafe(out, "it names a parent (backing) file", hint, strcspn(hint, "\r\n"));
	free(scan);
	return 1;
}

int image_inspect_formats__vmdk(const struct image_inspect_src *s, struct image_inspect *out, struct st_err *err)
{
	if (s->head_len >= 4 && !memcmp(s->head, "KDMV", 4)) {
		out->format = "vmdk";
		return vmdk_sparse(s, out, err);
	}
	if (s->head_len >= 4 && !memcmp(s->head, "COWD", 4)) {
		out->format = "vmdk";
		image_inspect_formats__unsafe(out, "VMDK3 (COWD) images are not supported", NULL, 0);
		return 1;
	}
	if (!vmdk_text(s))
		return 0;
	out->format = "vmdk";
	char *desc = read_text(s, 0, VMDK_DESC_MAX, err);
	if (!desc)
		return -1;
	vmdk_descriptor(desc, false, out);
	free(desc);
	/* a descriptor with no extent names nothing, but is no disk either */
	image_inspect_formats__unsafe(out, "it is a descriptor whose extents are other files", NULL, 0);
	return 1;
}

/* --- VHD (qemu: vpc) --------------------------------------------------------- */

#define VHD_FIXED 2
#define VHD_DYNAMIC 3
#define VHD_MAX_GEOMETRY (65535ull * 16 * 255)

int image_inspect_formats__vpc(const struct image_inspect_src *s, bool at_end, struct image_inspect *out,
			       struct st_err *err)
{
	uint8_t f[512];
	if (!at_end) {
		if (s->head_len < 8 || memcmp(s->head, "conectix", 8))
			return 0;
		memcpy(f, s->head, sizeof(f));
	} else if (s->size < 512 ||
		   image_inspect_formats__read(s, s->size - 512, f, sizeof(f), "the vhd footer", err) < 0 ||
		   memcmp(f, "conectix", 8)) {
		return 0;
	}
	out->format = "vpc";
	if (!at_end && s->size < 512)
		return image_inspect_formats__bad(err, "vpc", "truncated (%" PRIu64 " bytes)", s->size);
	uint32_t type = get_be32(f + 60);
	if (type != VHD_FIXED && type != VHD_DYNAMIC)
		/* 4 is a differencing disk: it names its parent */
		image_inspect_formats__unsafe(out, "it is not a fixed or dynamic VHD (a differencing disk?)", NULL, 0);
	if (type == VHD_DYNAMIC) {
		uint8_t dyn[8];
		if (image_inspect_formats__read(s, get_be64(f + 16), dyn, sizeof(dyn), "the vhd dynamic header",
						err) < 0)
			return -1;
		if (memcmp(dyn, "cxsparse", 8))
			return image_inspect_formats__bad(err, "vpc", "no dynamic disk header");
	}
	/* qemu's rule: Virtual PC and qemu's own images are sized by their CHS
	 * geometry, Hyper-V's, disk2vhd's, XenServer's and qemu's force_size
	 * ones by current_size, and so is any image at the maximum geometry */
	uint64_t chs = (uint64_t)get_be16(f + 56) * f[58] * f[59];
	bool by_size = !memcmp(f + 28, "win ", 4) || !memcmp(f + 28, "qem2", 4) || !memcmp(f + 28, "d2v ", 4) ||
		       !memcmp(f + 28, "CTXS", 4) || !memcmp(f + 28, "tap", 4);
	out->virtual_size = by_size || chs == VHD_MAX_GEOMETRY ? get_be64(f + 48) / 512 * 512 : chs * 512;
	return 1;
}

/* --- VHDX ---------------------------------------------------------------- */

#define VHDX_REGION_TABLE 0x30000u
#define VHDX_MAX_ENTRIES 2047u
/* GUIDs as they lie on disk (first three fields little-endian) */
static const uint8_t guid_metadata[16] = {0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b,
					  0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e};
static const uint8_t guid_disk_size[16] = {0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48,
					   0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8};
static const uint8_t guid_file_params[16] = {0x37, 0x67, 0xa1, 0xca, 0x36, 0xfa, 0x43, 0x4d,
					     0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7, 0x6b};
static const uint8_t guid_parent_locator[16] = {0x2d, 0x5f, 0xd3, 0xa8, 0x0b, 0xb3, 0x4d, 0x45,
						0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab, 0x0c};

/* The metadata region at off (len bytes): size, and a parent makes it unsafe. */
static int vhdx_metadata(const struct image_inspect_src *s, uint64_t off, uint32_t len, struct image_inspect *out,
			 struct st_err *err)
{
	cleanup_free uint8_t *table = malloc(32 + 32 * VHDX_MAX_ENTRIES);
	if (!table)
		return err__fail(err, ENOMEM, "vhdx metadata");
	if (len < 32 || image_inspect_formats__read(s, off, table, 32, "the vhdx metadata table", err) < 0)
		return len < 32 ? image_inspect_formats__bad(err, "vhdx", "metadata region too small") : -1;
	uint16_t n = get_le16(table + 10);
	if (memcmp(table, "metadata", 8) || n > VHDX_MAX_ENTRIES || 32 + 32u * n > len)
		return image_inspect_formats__bad(err, "vhdx", "metadata table is inconsistent");
	if (image_inspect_formats__read(s, off + 32, table + 32, 32u * n, "the vhdx metadata table", err) < 0)
		return -1;
	bool have_size = false;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = table + 32 + 32 * i;
		uint32_t item_off = get_le32(e + 16), item_len = get_le32(e + 20);
		if (item_off > len || item_len > len - item_off)
			return image_inspect_formats__bad(err, "vhdx", "metadata item %u lies outside its region", i);
		uint8_t v[8];
		if (!memcmp(e, guid_parent_locator, 16))
			image_inspect_formats__unsafe(out, "it is a differencing disk with a parent locator", NULL, 0);
		if (memcmp(e, guid_disk_size, 16) && memcmp(e, guid_file_params, 16))
			continue;
		if (item_len < 8 || image_inspect_formats__read(s, off + item_off, v, 8, "a vhdx metadata item", err) < 0)
			return item_len < 8 ? image_inspect_formats__bad(err, "vhdx", "metadata item too short") : -1;
		if (!memcmp(e, guid_disk_size, 16)) {
			out->virtual_size = get_le64(v);
			have_size = true;
		} else if (get_le32(v + 4) & 2) {
			image_inspect_formats__unsafe(out, "it is a differencing disk (has a parent)", NULL, 0);
		}
	}
	return have_size ? 0 : image_inspect_formats__bad(err, "vhdx", "no virtual disk size");
}

int image_inspect_formats__vhdx(const struct image_inspect_src *s, struct image_inspect *out, struct st_err *err)
{
	if (s->head_len < 8 || memcmp(s->head, "vhdxfile", 8))
		return 0;
	out->format = "vhdx";
	uint8_t hdr[16];
	if (image_inspect_formats__read(s, VHDX_REGION_TABLE, hdr, sizeof(hdr), "the vhdx region table", err) < 0)
		return -1;
	uint32_t n = get_le32(hdr + 8);
	if (memcmp(hdr, "regi", 4) || n > VHDX_MAX_ENTRIES)
		return image_inspect_formats__bad(err, "vhdx", "region table is inconsistent");
	for (uint32_t i = 0; i < n; i++) {
		uint8_t e[32];
		if (image_inspect_formats__read(s, VHDX_REGION_TABLE + 16 + 32ull * i, e, sizeof(e),
						"the vhdx region table", err) < 0)
			return -1;
		if (!memcmp(e, guid_metadata, 16))
			return vhdx_metadata(s, get_le64(e + 16), get_le32(e + 24), out, err) < 0 ? -1 : 1;
	}
	return image_inspect_formats__bad(err, "vhdx", "no metadata region");
}

/* --- VDI, Parallels ------------------------------------------------------------- */

#define VDI_SIGNATURE 0xbeda107fu
#define VDI_VERSION_1_1 0x00010001u

int image_inspect_formats__vdi(const struct image_inspect_src *s, struct image_inspect *out, struct st_err *err)
{
	if (s->head_len < 72 || get_le32(s->head + 64) != VDI_SIGNATURE)
		return 0;
	out->format = "vdi";
	if (s->size < 512)
		return image_inspect_formats__bad(err, "vdi", "truncated (%" PRIu64 " bytes, 512 needed)", s->size);
	if (get_le32(s->head + 68) != VDI_VERSION_1_1)
		return image_inspect_formats__bad(err, "vdi", "unsupported version 0x%08x", get_le32(s->head + 68));
	uint32_t type = get_le32(s->head + 76);
	if (type != 1 && type != 2)
		/* undo and differencing images name a parent */
		image_inspect_formats__unsafe(out, "it is not a dynamic or static VDI (a differencing disk?)", NULL, 0);
	out->virtual_size = get_le64(s->head + 368);
	return 1;
}

int image_inspect_formats__parallels(const struct image_inspect_src *s, struct image_inspect *out,
				     struct st_err *err)
{
	if (s->head_len < 16 || (memcmp(s->head, "WithoutFreeSpace", 16) && memcmp(s->head, "WithouFreSpacExt", 16)))
		return 0;
	out->format = "parallels";
	if (s->size < 64)
		return image_inspect_formats__bad(err, "parallels", "truncated (%" PRIu64 " bytes)", s->size);
	uint64_t sectors = get_le64(s->head + 36);
	out->virtual_size = sectors <= UINT64_MAX / 512 ? sectors * 512 : UINT64_MAX;
	return 1;
}
