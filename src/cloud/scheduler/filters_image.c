/* ImagePropertiesFilter (Nova's image_props_filter.py): the image's
 * hw_architecture, img_hv_type and hw_vm_mode must be one of the kinds of
 * instance the host supports, and img_hv_requested_version (">=6.0",
 * ">=6.0,<7") must hold for the host's hypervisor version. */
#include "cloud/scheduler/filters.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static const char *image_property(const struct scheduler_request *req, const char *key)
{
	for (size_t i = 0; i < req->n_image_properties; i++) {
		const struct scheduler_kv *kv = &req->image_properties[i];
		if (kv->key && kv->value && !strcmp(kv->key, key))
			return kv->value;
	}
	return NULL;
}

static void lower_copy(char *dst, size_t size, const char *src)
{
	size_t i = 0;
	for (; src[i] && i + 1 < size; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

/* Nova's fields.Architecture / HVType / VMMode canonicalize(). */
static void canonical_arch(char *dst, size_t size, const char *name)
{
	lower_copy(dst, size, name);
	static const char *const i686[] = {"i386", "i486", "i586", "x86_32", "x86_32p"};
	for (size_t i = 0; i < ST_ARRAY_SIZE(i686); i++)
		if (!strcmp(dst, i686[i]))
			snprintf(dst, size, "i686");
	if (!strcmp(dst, "amd64"))
		snprintf(dst, size, "x86_64");
}

static void canonical_hv_type(char *dst, size_t size, const char *name)
{
	lower_copy(dst, size, name);
	if (!strcmp(dst, "xapi"))
		snprintf(dst, size, "xen");
}

static void canonical_vm_mode(char *dst, size_t size, const char *name)
{
	lower_copy(dst, size, name);
	if (!strcmp(dst, "pv"))
		snprintf(dst, size, "xen");
	else if (!strcmp(dst, "hv") || !strcmp(dst, "baremetal"))
		snprintf(dst, size, "hvm");
}

int filters__prepare_image(struct filter_request *fr, struct st_err *err)
{
	const struct scheduler_request *req = fr->req;
	const char *arch = image_property(req, "hw_architecture");
	if (!arch && fr->cfg->default_architecture[0])
		arch = fr->cfg->default_architecture;
	const char *hv = image_property(req, "img_hv_type");
	const char *mode = image_property(req, "hw_vm_mode");
	if (arch)
		canonical_arch(fr->image_arch, sizeof(fr->image_arch), arch);
	if (hv)
		canonical_hv_type(fr->image_hv_type, sizeof(fr->image_hv_type), hv);
	if (mode)
		canonical_vm_mode(fr->image_vm_mode, sizeof(fr->image_vm_mode), mode);
	fr->image_hv_version = image_property(req, "img_hv_requested_version");
	if (fr->image_hv_version && filters__version_satisfies(fr->image_hv_version, "0") < 0)
		return err__fail_class(err, EINVAL, "image property img_hv_requested_version \"%.64s\" is not "
				       "a version predicate like \">=6.0\"", fr->image_hv_version);
	return 0;
}

/* A dotted version, up to 8 parts; the rest of the string after it in *end. */
static int parse_version(const char *s, uint64_t parts[8], const char **end)
{
	int n = 0;
	while (isspace((unsigned char)*s))
		s++;
	for (;;) {
		if (!isdigit((unsigned char)*s) || n == 8)
			return -1;
		uint64_t v = 0;
		while (isdigit((unsigned char)*s)) {
			if (v > UINT64_MAX / 10 - 10)
				return -1;
			v = v * 10 + (uint64_t)(*s++ - '0');
		}
		parts[n++] = v;
		if (*s != '.')
			break;
		s++;
	}
	for (int i = n; i < 8; i++)
		parts[i] = 0;
	*end = s;
	return n;
}

static int compare_versions(const uint64_t a[8], const uint64_t b[8])
{
	for (int i = 0; i < 8; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

static int check_clause(const char **pp, const uint64_t have[8])
{
	const char *p = *pp;
	while (isspace((unsigned char)*p))
		p++;
	static const char *const ops[] = {"<=", ">=", "==", "!=", "<", ">"};
	size_t op = ST_ARRAY_SIZE(ops);
	for (size_t i = 0; i < ST_ARRAY_SIZE(ops); i++)
		if (!strncmp(p, ops[i], strlen(ops[i]))) {
			op = i;
			p += strlen(ops[i]);
			break;
		}
	uint64_t want[8];
	if (op == ST_ARRAY_SIZE(ops) || parse_version(p, want, &p) < 0)
		return -1;
	while (isspace((unsigned char)*p))
		p++;
	*pp = p;
	int c = compare_versions(have, want);
	switch (op) {
	case 0: return c <= 0;
	case 1: return c >= 0;
	case 2: return c == 0;
	case 3: return c != 0;
	case 4: return c < 0;
	default: return c > 0;
	}
}

int filters__version_satisfies(const char *predicate, const char *version)
{
	uint64_t have[8];
	const char *end;
	if (parse_version(version, have, &end) < 0 || *end)
		return -1;
	int all = 1;
	for (const char *p = predicate;;) {
		int ok = check_clause(&p, have);
		if (ok < 0)
			return -1;
		all = all && ok;
		if (!*p)
			return all;
		if (*p != ',')
			return -1;
		p++;
	}
}

/* Nova's convert_version_to_str: 6002000 is "6.2.0". */
static void version_text(uint64_t v, char *buf, size_t size)
{
	uint64_t parts[8];
	int n = 0;
	while (v && n < 8) {
		parts[n++] = v % 1000;
		v /= 1000;
	}
	size_t used = 0;
	buf[0] = '\0';
	for (int i = n - 1; i >= 0 && used < size; i--)
		used += (size_t)snprintf(buf + used, size - used, "%s%" PRIu64, i == n - 1 ? "" : ".", parts[i]);
	if (!n)
		snprintf(buf, size, "0");
}

static bool kind_matches(const struct filter_request *fr, const struct scheduler_instance_kind *k)
{
	char have[SCHEDULER_NAME_MAX];
	if (fr->image_arch[0]) {
		canonical_arch(have, sizeof(have), k->arch ? k->arch : "");
		if (strcmp(have, fr->image_arch))
			return false;
	}
	if (fr->image_hv_type[0]) {
		canonical_hv_type(have, sizeof(have), k->hv_type ? k->hv_type : "");
		if (strcmp(have, fr->image_hv_type))
			return false;
	}
	if (fr->image_vm_mode[0]) {
		canonical_vm_mode(have, sizeof(have), k->vm_mode ? k->vm_mode : "");
		if (strcmp(have, fr->image_vm_mode))
			return false;
	}
	return true;
}

bool filters__image_pass(const struct filter_request *fr, const struct host_state *hs)
{
	const struct scheduler_host *h = hs->h;
	/* Nothing asked for (a version alone does not count, as in Nova). */
	if (!fr->image_arch[0] && !fr->image_hv_type[0] && !fr->image_vm_mode[0])
		return true;
	for (size_t i = 0; i < h->n_supported_instances; i++) {
		if (!kind_matches(fr, &h->supported_instances[i]))
			continue;
		if (!fr->image_hv_version || !h->hypervisor_version)
			return true;
		char have[64];
		version_text(h->hypervisor_version, have, sizeof(have));
		if (filters__version_satisfies(fr->image_hv_version, have) == 1)
			return true;
	}
	return false;
}
