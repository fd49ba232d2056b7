/* image_inspect: images made by the real qemu-img (the inspector must agree
 * with `qemu-img info --output=json` on format and virtual size) and
 * crafted hostile ones (backing files, data files, flat extents, wrong
 * declared formats, truncated headers, absurd sizes), each refused with
 * one EINVAL line. Tests that need qemu-img skip loudly without it. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "block/image_inspect.h"
#include "tmpdir.h"

#define QEMU_IMG "/usr/bin/qemu-img"

static bool have_qemu_img(void)
{
	if (access(QEMU_IMG, X_OK) == 0)
		return true;
	fprintf(stderr, "SKIP: %s is not installed (apt-get install qemu-utils)\n", QEMU_IMG);
	return false;
}

static char *tmp_path(const char *name)
{
	static char buf[8][256];
	static int i;
	char *p = buf[i++ % 8];
	snprintf(p, 256, "%s/%s", tmpdir, name);
	return p;
}

static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	if (rc != 0)
		fail_msg("'%s' failed (%d)", cmd, rc);
}

/* qemu-img info's format and virtual size; fmt forces the format (NULL: probe). */
static void qemu_info(const char *path, const char *fmt, char *format, size_t cap, uint64_t *vsize)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), QEMU_IMG " info --output=json %s%s %s", fmt ? "-f " : "", fmt ? fmt : "", path);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	json_error_t je;
	json_t *j = json_loadf(f, 0, &je);
	assert_int_equal(pclose(f), 0);
	if (!j)
		fail_msg("qemu-img info %s: %s", path, je.text);
	snprintf(format, cap, "%s", json_string_value(json_object_get(j, "format")));
	*vsize = (uint64_t)json_integer_value(json_object_get(j, "virtual-size"));
	json_decref(j);
}

static int open_ro(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	return fd;
}

/* image_inspect__fd on path: 0 or -1, err filled. */
static int inspect(const char *path, const char *declared, struct image_inspect *ii, struct st_err *err)
{
	int fd = open_ro(path);
	int rc = image_inspect__fd(fd, declared, ii, err);
	close(fd);
	if (rc < 0)
		printf("  %s as %s: %s\n", path, declared ? declared : "(null)", err->msg);
	return rc;
}

/* Refused with class EINVAL and a message containing `want`. */
static void expect_refused(const char *path, const char *declared, const char *want)
{
	struct image_inspect ii = {0};
	struct st_err err = {0};
	assert_int_equal(inspect(path, declared, &ii, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_null(strchr(err.msg, '\n'));
	if (!strstr(err.msg, want))
		fail_msg("%s as %s: '%s' does not say '%s'", path, declared, err.msg, want);
}

static void expect_ok(const char *path, const char *declared, const char *format, uint64_t vsize)
{
	struct image_inspect ii = {0};
	struct st_err err = {0};
	if (inspect(path, declared, &ii, &err) < 0)
		fail_msg("%s as %s refused: %s", path, declared, err.msg);
	assert_string_equal(ii.format, format);
	assert_int_equal(ii.virtual_size, vsize);
}

/* --- real images: qemu-img create, then inspector and qemu-img info agree --- */

struct made {
	const char *fmt, *opts, *size, *declared; /* declared NULL: refused whatever it is declared */
	const char *refusal;                      /* what the refusal says when declared NULL */
};

static void agree_with_qemu(const struct made *m, const char *file)
{
	char fmt[32];
	uint64_t vsize;
	/* a fixed VHD has no header: qemu (like any probe) needs -f vpc for it */
	bool fixed = m->opts && strstr(m->opts, "subformat=fixed");
	qemu_info(file, fixed ? "vpc" : NULL, fmt, sizeof(fmt), &vsize);
	struct image_inspect ii = {0};
	struct st_err err = {0};
	int fd = open_ro(file);
	if (!fixed) {
		if (image_inspect__probe(fd, &ii, &err) < 0)
			fail_msg("probe %s: %s", file, err.msg);
		assert_string_equal(ii.format, fmt);
		assert_int_equal(ii.virtual_size, vsize);
	}
	close(fd);
	if (m->declared)
		expect_ok(file, m->declared, fmt, vsize);
	else
		expect_refused(file, !strcmp(m->fmt, "qed") ? "qcow2" : "raw", m->refusal);
}

/* qemu-img times PBKDF2 on its own thread's CPU clock to pick the LUKS
 * iteration count, and gives up ("Unable to get accurate CPU usage") when
 * a round measured 0 ms, which a busy or fast machine can make happen.
 * Only that refusal is tried again; any other failure fails the test. */
static void make_luks(const char *file, const char *size)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), QEMU_IMG " create -q -f luks --object secret,id=s0,data=pw"
		 " -o key-secret=s0,iter-time=10 %s %s 2>&1", file, size);
	for (int attempt = 1;; attempt++) {
		FILE *f = popen(cmd, "r");
		assert_non_null(f);
		char out[512] = "";
		size_t n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = 0;
		int rc = pclose(f);
		if (rc == 0)
			return;
		if (!strstr(out, "Unable to get accurate CPU usage") || attempt == 20)
			fail_msg("'%s' failed (%d): %s", cmd, rc, out);
		printf("  qemu-img could not time PBKDF2 (attempt %d), again\n", attempt);
	}
}

static void test_qemu_img_made(void **state)
{
	(void)state;
	if (!have_qemu_img())
		skip();
	static const struct made made[] = {
		{"raw", NULL, "10M", "raw", NULL},
		{"raw", NULL, "10M", "aki", NULL},
		{"qcow2", NULL, "10M", "qcow2", NULL},
		{"qcow2", "compat=0.10", "1G", "qcow2", NULL},
		{"qcow2", "cluster_size=512", "123456789", "qcow2", NULL},
		{"qcow2", "cluster_size=2M,compression_type=zstd", "5T", "qcow2", NULL},
		{"vmdk", NULL, "10M", "vmdk", NULL},
		{"vmdk", "subformat=streamOptimized", "3G", "vmdk", NULL},
		{"vmdk", "subformat=monolithicFlat", "10M", NULL, "descriptor whose extents are other files"},
		{"vmdk", "subformat=twoGbMaxExtentSparse", "10M", NULL, "descriptor whose extents are other files"},
		{"vpc", NULL, "10M", "vhd", NULL},
		{"vpc", "force_size=on", "100000000", "vpc", NULL},
		{"vpc", "subformat=fixed", "10M", "vhd", NULL},
		{"vhdx", NULL, "10M", "vhdx", NULL},
		{"vhdx", NULL, "3G", "vhdx", NULL},
		{"vdi", NULL, "10M", "vdi", NULL},
		{"vdi", "static=on", "1M", "vdi", NULL},
		{"qed", NULL, "10M", NULL, "the data is a qed image, not qcow2"},
		{"qcow", NULL, "10M", NULL, "the data is a qcow image, not raw"},
		{"parallels", NULL, "10M", NULL, "the data is a parallels image, not raw"},
		{"luks", NULL, "10M", "luks", NULL},
	};
	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		const struct made *m = &made[i];
		char name[64];
		snprintf(name, sizeof(name), "made%zu.%s", i, m->fmt);
		char *file = tmp_path(name);
		printf("qemu-img create -f %s %s %s\n", m->fmt, m->opts ? m->opts : "", m->size);
		if (!strcmp(m->fmt, "luks"))
			make_luks(file, m->size);
		else
			sh(QEMU_IMG " create -q -f %s %s%s %s %s", m->fmt, m->opts ? "-o " : "", m->opts ? m->opts : "",
			   file, m->size);
		agree_with_qemu(m, file);
	}
}

static void test_qemu_img_backing_and_data_file(void **state)
{
	(void)state;
	if (!have_qemu_img())
		skip();
	char *img = tmp_path("backed.qcow2");
	sh(QEMU_IMG " create -q -f qcow2 -u -b /etc/shadow -F raw %s 1M", img);
	expect_refused(img, "qcow2", "names a backing file ('/etc/shadow')");
	expect_refused(img, "raw", "the data is a qcow2 image (it names a backing file: '/etc/shadow'), not raw");
	char *v2 = tmp_path("backed-v2.qcow2");
	sh(QEMU_IMG " create -q -f qcow2 -o compat=0.10 -u -b /etc/shadow -F raw %s 1M", v2);
	expect_refused(v2, "qcow2", "/etc/shadow");
	char *df = tmp_path("datafile.qcow2");
	sh(QEMU_IMG " create -q -f qcow2 -o data_file=%s %s 1M", tmp_path("external.data"), df);
	expect_refused(df, "qcow2", "names an external data file ('/tmp/strata-unit-");
	char *qed = tmp_path("backed.qed");
	sh(QEMU_IMG " create -q -f qed -u -b /etc/shadow -F raw %s 1M", qed);
	struct image_inspect ii = {0};
	struct st_err err = {0};
	int fd = open_ro(qed);
	assert_int_equal(image_inspect__probe(fd, &ii, &err), 0);
	close(fd);
	assert_string_equal(ii.unsafe, "it names a backing file");
	assert_string_equal(ii.detail, "/etc/shadow");
	char *vmdk = tmp_path("backed.vmdk");
	sh(QEMU_IMG " create -q -f vmdk %s 1M", tmp_path("base.vmdk"));
	sh(QEMU_IMG " create -q -f vmdk -b %s -F vmdk %s", tmp_path("base.vmdk"), vmdk);
	expect_refused(vmdk, "vmdk", "parent (backing) file");
}

/* qemu-img makes a 1 EiB qcow2 (2 MiB clusters): its size is read, and refused above the cap. */
static void test_qemu_img_huge(void **state)
{
	(void)state;
	if (!have_qemu_img())
		skip();
	char *img = tmp_path("huge.qcow2");
	sh(QEMU_IMG " create -q -f qcow2 -o cluster_size=2M %s 1E", img);
	expect_refused(img, "qcow2", "virtual size 1152921504606846976 bytes is above the maximum 70368744177664");
	struct image_inspect ii = {.max_virtual_size = 2ull << 60};
	struct st_err err = {0};
	assert_int_equal(inspect(img, "qcow2", &ii, &err), 0);
	assert_int_equal(ii.virtual_size, 1ull << 60);
	/* and a lower cap refuses a small image */
	char *small = tmp_path("small.qcow2");
	sh(QEMU_IMG " create -q -f qcow2 %s 2G", small);
	ii = (struct image_inspect){.max_virtual_size = 1ull << 30};
	assert_int_equal(inspect(small, "qcow2", &ii, &err), -1);
	assert_non_null(strstr(err.msg, "above the maximum 1073741824"));
}

/* --- crafted images -------------------------------------------------------- */

static void write_file(const char *path, const void *data, size_t len, uint64_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, len, 0), (ssize_t)len);
	assert_int_equal(ftruncate(fd, (off_t)(size > len ? size : len)), 0);
	close(fd);
}

static void patch(const char *path, uint64_t off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

/* A consistent qcow2 v3 header (64 KiB clusters, L1 at 0x30000, refcount
 * table at 0x10000) in a file of 0x40000 bytes; callers break one thing. */
static void qcow2_header(uint8_t *h, uint64_t size)
{
	memset(h, 0, 0x40000);
	put32(h, 0x514649fb);
	put32(h + 4, 3);
	put32(h + 20, 16);
	put64(h + 24, size);
	put32(h + 36, (uint32_t)((size + (1ull << 29) - 1) >> 29));
	put64(h + 40, 0x30000);
	put64(h + 48, 0x10000);
	put32(h + 56, 1);
	put32(h + 96, 4);
	put32(h + 100, 112);
}

static uint8_t img[0x40000];

static void test_crafted_qcow2(void **state)
{
	(void)state;
	char *p = tmp_path("crafted.qcow2");
	qcow2_header(img, 1 << 30);
	write_file(p, img, sizeof(img), 0);
	expect_ok(p, "qcow2", "qcow2", 1 << 30);
	expect_refused(p, "raw", "the data is a qcow2 image, not raw as declared");
	expect_refused(p, "ami", "not ami as declared");
	expect_refused(p, "vmdk", "the data is a qcow2 image, not vmdk");

	/* backing file /etc/shadow, written by hand (no qemu-img needed) */
	put64(img + 8, 0x200);
	put32(img + 16, 11);
	memcpy(img + 0x200, "/etc/shadow", 11);
	write_file(p, img, sizeof(img), 0);
	expect_refused(p, "qcow2", "qcow2 image refused: it names a backing file ('/etc/shadow')");
	/* a backing name offset outside the cluster is still a backing file */
	put64(img + 8, 1ull << 40);
	write_file(p, img, sizeof(img), 0);
	expect_refused(p, "qcow2", "names a backing file");

	/* external data file: the extension alone (the bit alone is in qcow2_fields) */
	qcow2_header(img, 1 << 30);
	put32(img + 112, 0x44415441);
	put32(img + 116, 9);
	memcpy(img + 120, "/dev/sda1", 9);
	write_file(p, img, sizeof(img), 0);
	expect_refused(p, "qcow2", "names an external data file ('/dev/sda1')");
	/* an extension running past the first cluster */
	put32(img + 116, 0x20000);
	write_file(p, img, sizeof(img), 0);
	expect_refused(p, "qcow2", "runs past the first cluster");

}

static void test_crafted_qcow2_inconsistent(void **state)
{
	(void)state;
	char *p = tmp_path("bad.qcow2");
	/* truncated: inside the fixed header, inside the v3 part, before header_length */
	qcow2_header(img, 1 << 30);
	write_file(p, img, 50, 0);
	expect_refused(p, "qcow2", "qcow2 header: truncated (50 bytes, 72 needed)");
	write_file(p, img, 90, 0);
	expect_refused(p, "qcow2", "truncated (90 bytes, 104 needed)");
	write_file(p, img, 108, 0);
	expect_refused(p, "qcow2", "truncated (108 of 112 header bytes)");
	/* tables past the end of the file */
	write_file(p, img, 0x30000, 0);
	expect_refused(p, "qcow2", "the L1 table (0x30000+16) lies past the end of the file");
	/* 1 EiB with an L1 table that cannot map it, and a consistent 1 EiB */
	qcow2_header(img, 1ull << 60);
	put32(img + 36, 16);
	write_file(p, img, sizeof(img), 0);
	expect_refused(p, "qcow2", "cannot map the virtual size 1152921504606846976");
	qcow2_header(img, 1ull << 60);
	put32(img + 20, 21); /* 2 MiB clusters: 2^21 L1 entries, 16 MiB */
	put32(img + 36, 1u << 21);
	put64(img + 40, 2ull << 20);
	put64(img + 48, 0);
	write_file(p, img, sizeof(img), 20ull << 20);
	expect_refused(p, "qcow2", "virtual size 1152921504606846976 bytes is above the maximum");
}

/* One header field of a consistent qcow2 changed, and what the refusal says. */
static void test_qcow2_fields(void **state)
{
	(void)state;
	static const struct {
		uint32_t off, width;
		uint64_t value;
		const char *declared, *want;
	} cases[] = {
		{72, 8, 1 << 2, "qcow2", "qcow2 image refused: it uses an external data file"},
		{72, 8, 1ull << 40, "qcow2", "unknown incompatible features"},
		{72, 8, 1 << 1, "qcow2", "marked corrupt"},
		{32, 4, 2, "qcow2", "encrypted"},
		{4, 4, 4, "qcow2", "unsupported version 4"},
		{4, 4, 4, "raw", "unsupported version 4"},
		{20, 4, 30, "qcow2", "cluster_bits 30 is outside 9-21"},
		{40, 8, 0x30001, "qcow2", "L1 table offset 0x30001 is not cluster-aligned"},
		{48, 8, 0x10200, "qcow2", "refcount table offset 0x10200 is not cluster-aligned"},
		{100, 4, 0x20000, "qcow2", "header length 131072 is inconsistent"},
		{96, 4, 7, "qcow2", "refcount order 7 is above 6"},
		{56, 4, 0, "qcow2", "refcount table of 0 clusters is inconsistent"},
		{60, 4, 70000, "qcow2", "70000 snapshots is too many"},
		{36, 4, 5u << 20, "qcow2", "L1 table of 5242880 entries is too large"},
	};
	char *p = tmp_path("field.qcow2");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		qcow2_header(img, 1 << 30);
		if (cases[i].width == 8)
			put64(img + cases[i].off, cases[i].value);
		else
			put32(img + cases[i].off, (uint32_t)cases[i].value);
		write_file(p, img, sizeof(img), 0);
		expect_refused(p, cases[i].declared, cases[i].want);
	}
}

static void test_declared_vs_data(void **state)
{
	(void)state;
	char *p = tmp_path("plain.raw");
	memset(img, 0x5a, sizeof(img));
	write_file(p, img, sizeof(img), 0);
	expect_ok(p, "raw", "raw", sizeof(img));
	expect_ok(p, "ari", "raw", sizeof(img));
	expect_refused(p, "qcow2", "the data is raw data, not qcow2 as declared");
	expect_refused(p, "vhdx", "the data is raw data, not vhdx as declared");
	expect_refused(p, "iso", "the data is raw data, not iso as declared");
	expect_refused(p, "qed", "disk format 'qed' is not accepted");
	expect_refused(p, NULL, "disk format '(none)' is not accepted");
	/* tiny and empty raw files are raw */
	write_file(p, img, 3, 0);
	expect_ok(p, "raw", "raw", 3);
	write_file(p, img, 0, 0);
	expect_ok(p, "raw", "raw", 0);

	/* an ISO 9660 image: accepted as iso and, as Glance does, as raw */
	char *iso = tmp_path("cd.iso");
	memset(img, 0, sizeof(img));
	memcpy(img + 0x8000, "\001CD001\001", 7);
	write_file(iso, img, sizeof(img), 0);
	expect_ok(iso, "iso", "iso", sizeof(img));
	expect_ok(iso, "raw", "iso", sizeof(img));
	expect_refused(iso, "qcow2", "the data is an ISO image, not qcow2");
	/* a qcow2 that is also an ISO is neither */
	qcow2_header(img, 1 << 30);
	memcpy(img + 0x8000, "\001CD001\001", 7);
	write_file(iso, img, sizeof(img), 0);
	expect_refused(iso, "qcow2", "also an ISO 9660/UDF image");
	expect_refused(iso, "iso", "not iso as declared");

	/* other formats qemu would probe, declared raw */
#define MAGIC(s) s, sizeof(s) - 1
	static const struct {
		const char *magic;
		size_t len;
		const char *format;
	} magics[] = {
		{MAGIC("Bochs Virtual HD Image"), "bochs"},
		{MAGIC("#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n"), "cloop"},
		{MAGIC("# Disk DescriptorFile\nversion=1\n"), "vmdk"},
		{MAGIC("QFI\xfb\0\0\0\x01"), "qcow"},
		{MAGIC("LUKS\xba\xbe\0\x02"), "luks"},
	};
	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
		memset(img, 0, 4096);
		memcpy(img, magics[i].magic, magics[i].len);
		write_file(p, img, 4096, 0);
		char want[64];
		snprintf(want, sizeof(want), "the data is a %s image", magics[i].format);
		expect_refused(p, "raw", want);
	}
	expect_refused(p, "luks", "LUKS versions other than 1");
}

static void test_crafted_vmdk(void **state)
{
	(void)state;
	char *p = tmp_path("flat.vmdk");
	/* a descriptor file with a flat extent on a host file */
	const char *desc = "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
			   "createType=\"monolithicFlat\"\nRW 2048 FLAT \"/etc/shadow\" 0\n";
	write_file(p, desc, strlen(desc), 0);
	expect_refused(p, "vmdk", "vmdk image refused: it is a descriptor whose extents are other files ('/etc/shadow')");
	expect_refused(p, "raw", "the data is a vmdk image");

	/* a sparse header with capacity 0 handing over to its embedded
	 * descriptor (qemu then opens the descriptor's extents) */
	memset(img, 0, 0x10000);
	memcpy(img, "KDMV", 4);
	img[4] = 1;
	img[28] = 1; /* descriptor at sector 1, 20 sectors */
	img[36] = 20;
	const char *emb = "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicSparse\"\n"
			  "RW 2048 FLAT \"/etc/shadow\" 0\n";
	memcpy(img + 512, emb, strlen(emb));
	write_file(p, img, 0x10000, 0);
	expect_refused(p, "vmdk", "hands over to its descriptor's extents");
	/* with a capacity: the flat extent is still refused (as Glance does) */
	img[13] = 8; /* capacity 2048 sectors */
	write_file(p, img, 0x10000, 0);
	expect_refused(p, "vmdk", "has an extent that is another file ('/etc/shadow')");
	/* a parent hint, read where qemu reads it (0x200) */
	memset(img + 512, 0, 10240);
	const char *par = "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicSparse\"\n"
			  "parentFileNameHint=\"/var/lib/secret.vmdk\"\nRW 2048 SPARSE \"x.vmdk\"\n";
	memcpy(img + 512, par, strlen(par));
	write_file(p, img, 0x10000, 0);
	expect_refused(p, "vmdk", "parent (backing) file ('/var/lib/secret.vmdk')");
	/* a clean one is accepted with its capacity */
	memset(img + 512, 0, 10240);
	const char *ok = "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicSparse\"\nRW 2048 SPARSE \"x.vmdk\"\n";
	memcpy(img + 512, ok, strlen(ok));
	write_file(p, img, 0x10000, 0);
	expect_ok(p, "vmdk", "vmdk", 2048 * 512);
	/* truncated: no room for the descriptor the header promises */
	write_file(p, img, 600, 0);
	expect_refused(p, "vmdk", "truncated: the descriptor (sectors 1+20) lies past the end");
	write_file(p, img, 100, 0);
	expect_refused(p, "vmdk", "vmdk header: truncated (100 bytes)");
}

static void test_crafted_vhd_vhdx_vdi(void **state)
{
	(void)state;
	if (!have_qemu_img())
		skip();
	/* differencing VHD: type 4 */
	char *vhd = tmp_path("diff.vpc");
	sh(QEMU_IMG " create -q -f vpc %s 10M", vhd);
	uint8_t type4[4] = {0, 0, 0, 4};
	patch(vhd, 60, type4, 4);
	expect_refused(vhd, "vhd", "not a fixed or dynamic VHD");
	/* VHDX with the has-parent flag in its file parameters */
	char *vhdx = tmp_path("diff.vhdx");
	sh(QEMU_IMG " create -q -f vhdx %s 10M", vhdx);
	expect_ok(vhdx, "vhdx", "vhdx", 10 << 20);
	/* find the file parameters item's value and set bit 1 of its flags */
	int fd = open_ro(vhdx);
	static uint8_t buf[8 << 20];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	assert_true(n > 0x40000);
	const uint8_t params[16] = {0x37, 0x67, 0xa1, 0xca, 0x36, 0xfa, 0x43, 0x4d,
				    0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7, 0x6b};
	uint64_t meta = 0;
	for (uint32_t i = 0; i < 16 && !meta; i++)
		if (!memcmp(buf + 0x30000 + 16 + 32 * i, (const uint8_t[]){0x06, 0xa2, 0x7c, 0x8b}, 4))
			memcpy(&meta, buf + 0x30000 + 16 + 32 * i + 16, 8);
	meta = le64toh(meta);
	assert_true(meta > 0 && meta + 0x10000 < (uint64_t)n);
	uint32_t item = 0;
	for (uint32_t i = 0; i < 16 && !item; i++)
		if (!memcmp(buf + meta + 32 + 32 * i, params, 16))
			memcpy(&item, buf + meta + 32 + 32 * i + 16, 4);
	assert_true(item > 0);
	uint8_t flags = buf[meta + le32toh(item) + 4] | 2;
	patch(vhdx, meta + le32toh(item) + 4, &flags, 1);
	expect_refused(vhdx, "vhdx", "differencing disk (has a parent)");
	/* truncated vhdx: the region table is gone */
	assert_int_equal(truncate(vhdx, 0x20000), 0);
	expect_refused(vhdx, "vhdx", "truncated image: the vhdx region table");
	/* VDI differencing (type 4), and truncated */
	char *vdi = tmp_path("diff.vdi");
	sh(QEMU_IMG " create -q -f vdi %s 10M", vdi);
	uint8_t le4[4] = {4, 0, 0, 0};
	patch(vdi, 76, le4, 4);
	expect_refused(vdi, "vdi", "not a dynamic or static VDI");
	assert_int_equal(truncate(vdi, 300), 0);
	expect_refused(vdi, "vdi", "vdi header: truncated (300 bytes, 512 needed)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu_img_made),
		cmocka_unit_test(test_qemu_img_backing_and_data_file),
		cmocka_unit_test(test_qemu_img_huge),
		cmocka_unit_test(test_crafted_qcow2),
		cmocka_unit_test(test_crafted_qcow2_inconsistent),
		cmocka_unit_test(test_qcow2_fields),
		cmocka_unit_test(test_declared_vs_data),
		cmocka_unit_test(test_crafted_vmdk),
		cmocka_unit_test(test_crafted_vhd_vhdx_vdi),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
