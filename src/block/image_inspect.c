/* Safe format inspection: which format the data really is, from magics at
 * fixed offsets (as qemu's probes look), then that format's header parsed
 * with bounds checked, then the policy: the declared format must be the
 * data's, nothing may name another file, the size must be sane. */
#include "block/image_inspect.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "block/image_inspect_formats.h"
#include "common/util.h"

int image_inspect_formats__read(const struct image_inspect_src *s, uint64_t off, void *buf, size_t len,
				const char *what, struct st_err *err)
{
	if (off > s->size || len > s->size - off)
		return err__fail_class(err, EINVAL,
				       "truncated image: %s needs bytes %" PRIu64 "-%" PRIu64
				       " but the file has %" PRIu64,
				       what, off, off + len, s->size);
	if (off > (uint64_t)INT64_MAX)
		return err__fail_class(err, EINVAL, "%s lies past any file", what);
	return util__pread_all(s->fd, buf, len, (off_t)off, err);
}

int image_inspect_formats__bad(struct st_err *err, const char *format, const char *fmt, ...)
{
	char msg[ST_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err__fail_class(err, EINVAL, "%s header: %s", format, msg);
}

void image_inspect_formats__unsafe(struct image_inspect *out, const char *why, const char *name, size_t name_len)
{
	if (out->unsafe)
		return;
	out->unsafe = why;
	size_t n = 0;
	for (size_t i = 0; name && i < name_len && name[i] && n + 1 < sizeof(out->detail); i++) {
		unsigned char c = (unsigned char)name[i];
		out->detail[n++] = c >= 0x20 && c < 0x7f && c != '\'' ? (char)c : '?';
	}
	out->detail[n] = 0;
}

/* ISO 9660 or UDF: a volume descriptor at sector 16 (of 2048 bytes). qemu
 * has no ISO driver: it opens such a file as raw. */
static bool is_iso(const struct image_inspect_src *s, struct st_err *err, int *rc)
{
	uint8_t vd[8];
	*rc = 0;
	if (s->size < 0x8000 + 2048)
		return false;
	if (image_inspect_formats__read(s, 0x8000, vd, sizeof(vd), "the ISO volume descriptor", err) < 0) {
		*rc = -1;
		return false;
	}
	return !memcmp(vd + 1, "CD001", 5) || !memcmp(vd + 1, "BEA01", 5);
}

/* Formats qemu probes that nothing in Strata accepts: recognised only so
 * that such data declared raw is refused (qemu would open it as what it is). */
static int other_formats(const struct image_inspect_src *s, struct image_inspect *out, struct st_err *err)
{
	static const char cloop[] = "#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 "
				    "/dev/cloop $1\n";
	if (!memcmp(s->head, "Bochs Virtual HD Image", 22)) {
		out->format = "bochs";
		return 1;
	}
	if (!memcmp(s->head, cloop, sizeof(cloop) - 1)) {
		out->format = "cloop";
		return 1;
	}
	return image_inspect_formats__parallels(s, out, err);
}

typedef int (*parse_fn)(const struct image_inspect_src *s, struct image_inspect *out, struct st_err *err);

int image_inspect__probe(int fd, struct image_inspect *out, struct st_err *err)
{
	static const parse_fn parsers[] = {
		image_inspect_formats__qcow2, image_inspect_formats__qed,  image_inspect_formats__luks,
		image_inspect_formats__vmdk,  image_inspect_formats__vhdx, image_inspect_formats__vdi,
		other_formats,
	};
	static struct image_inspect_src zero_src;
	struct image_inspect_src s = zero_src;
	uint64_t max = out->max_virtual_size;
	*out = (struct image_inspect){.max_virtual_size = max, .format = "raw"};
	off_t end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		return err__fail_errno(err, "cannot find the image's size");
	s.fd = fd;
	s.size = (uint64_t)end;
	s.head_len = (size_t)ST_MIN(s.size, (uint64_t)IMAGE_INSPECT_HEAD);
	if (util__pread_all(fd, s.head, s.head_len, 0, err) < 0)
		return err__prefix(err, "reading the image header");
	out->file_size = out->virtual_size = s.size;
	int rc = 0;
	for (size_t i = 0; i < ST_ARRAY_SIZE(parsers) && rc == 0; i++)
		rc = parsers[i](&s, out, err);
	if (rc == 0)
		rc = image_inspect_formats__vpc(&s, false, out, err);
	if (rc < 0)
		return -1;
	int iso_rc;
	if (is_iso(&s, err, &iso_rc)) {
		if (rc == 1)
			/* Glance's rule: data that is two formats is neither */
			image_inspect_formats__unsafe(out, "it is also an ISO 9660/UDF image", NULL, 0);
		else
			out->format = "iso";
	}
	return iso_rc;
}

/* Glance's disk formats (and qemu's name for vhd) with the format their
 * data must be. */
static const struct {
	const char *declared, *format;
} accepted[] = {
	{"raw", "raw"},   {"ami", "raw"},   {"ari", "raw"},   {"aki", "raw"},  {"qcow2", "qcow2"},
	{"vmdk", "vmdk"}, {"vhd", "vpc"},   {"vpc", "vpc"},   {"vhdx", "vhdx"}, {"vdi", "vdi"},
	{"iso", "iso"},   {"luks", "luks"},
};

static const char *format_for(const char *declared)
{
	for (size_t i = 0; declared && i < ST_ARRAY_SIZE(accepted); i++)
		if (!strcmp(accepted[i].declared, declared))
			return accepted[i].format;
	return NULL;
}

static int refuse(struct image_inspect *out, const char *declared, struct st_err *err)
{
	return err__fail_class(err, EINVAL, "%s image refused: %s%s%s%s", declared, out->unsafe,
			       out->detail[0] ? " ('" : "", out->detail, out->detail[0] ? "')" : "");
}

int image_inspect__fd(int fd, const char *declared_format, struct image_inspect *out, struct st_err *err)
{
	const char *want = format_for(declared_format);
	if (!want)
		return err__fail_class(err, EINVAL,
				       "disk format '%s' is not accepted (raw, qcow2, vmdk, vhd, vhdx, vdi, iso, "
				       "luks, ami, ari, aki)",
				       declared_format ? declared_format : "(none)");
	if (image_inspect__probe(fd, out, err) < 0)
		return -1;
	const char *is = out->format;
	if (!strcmp(want, "vpc") && !strcmp(is, "raw")) {
		/* a fixed VHD is raw data with a footer: parse it as declared */
		struct image_inspect_src s = {.fd = fd, .size = out->file_size};
		if (image_inspect_formats__vpc(&s, true, out, err) < 0)
			return -1;
	}
	/* An ISO is raw data to every driver (qemu has no ISO format), as Glance
	 * accepts it declared raw; the reverse is refused: an ISO must be one. */
	bool iso_as_raw = !strcmp(want, "raw") && !strcmp(out->format, "iso");
	if (strcmp(want, out->format) && !iso_as_raw) {
		const char *what = !strcmp(out->format, "raw") ? "raw data"
				   : !strcmp(out->format, "iso") ? "an ISO image"
								 : NULL;
		if (what)
			return err__fail_class(err, EINVAL, "the data is %s, not %s as declared", what,
					       declared_format);
		return err__fail_class(err, EINVAL, "the data is a %s image%s%s%s%s%s%s, not %s as declared",
				       out->format, out->unsafe ? " (" : "", out->unsafe ? out->unsafe : "",
				       out->detail[0] ? ": '" : "", out->detail, out->detail[0] ? "'" : "",
				       out->unsafe ? ")" : "", declared_format);
	}
	if (out->unsafe)
		return refuse(out, declared_format, err);
	uint64_t max = out->max_virtual_size ? out->max_virtual_size : IMAGE_INSPECT_DEFAULT_MAX_SIZE;
	if (out->virtual_size > max)
		return err__fail_class(err, EINVAL,
				       "%s image refused: virtual size %" PRIu64 " bytes is above the maximum %" PRIu64,
				       declared_format, out->virtual_size, max);
	return 0;
}
