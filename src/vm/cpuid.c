#include "vm/cpuid.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "vm/vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

enum reg { EAX, EBX, ECX, EDX };

struct feature {
	const char *name;
	uint32_t leaf, subleaf;
	enum reg reg;
	uint8_t bit;
};

static const struct feature features[] = {
	{"sse3", 1, 0, ECX, 0},        {"pclmulqdq", 1, 0, ECX, 1},  {"monitor", 1, 0, ECX, 3},
	{"vmx", 1, 0, ECX, 5},         {"ssse3", 1, 0, ECX, 9},      {"fma", 1, 0, ECX, 12},
	{"cx16", 1, 0, ECX, 13},       {"pcid", 1, 0, ECX, 17},      {"sse4_1", 1, 0, ECX, 19},
	{"sse4_2", 1, 0, ECX, 20},     {"x2apic", 1, 0, ECX, 21},    {"movbe", 1, 0, ECX, 22},
	{"popcnt", 1, 0, ECX, 23},     {"tsc_deadline", 1, 0, ECX, 24}, {"aes", 1, 0, ECX, 25},
	{"xsave", 1, 0, ECX, 26},      {"avx", 1, 0, ECX, 28},       {"f16c", 1, 0, ECX, 29},
	{"rdrand", 1, 0, ECX, 30},     {"hypervisor", 1, 0, ECX, 31},
	{"mce", 1, 0, EDX, 7},         {"mtrr", 1, 0, EDX, 12},      {"pge", 1, 0, EDX, 13},
	{"mca", 1, 0, EDX, 14},        {"pat", 1, 0, EDX, 16},       {"clflush", 1, 0, EDX, 19},
	{"mmx", 1, 0, EDX, 23},        {"sse", 1, 0, EDX, 25},       {"sse2", 1, 0, EDX, 26},
	{"fsgsbase", 7, 0, EBX, 0},    {"bmi1", 7, 0, EBX, 3},       {"hle", 7, 0, EBX, 4},
	{"avx2", 7, 0, EBX, 5},        {"smep", 7, 0, EBX, 7},       {"bmi2", 7, 0, EBX, 8},
	{"erms", 7, 0, EBX, 9},        {"invpcid", 7, 0, EBX, 10},   {"rtm", 7, 0, EBX, 11},
	{"avx512f", 7, 0, EBX, 16},    {"avx512dq", 7, 0, EBX, 17},  {"rdseed", 7, 0, EBX, 18},
	{"adx", 7, 0, EBX, 19},        {"smap", 7, 0, EBX, 20},      {"avx512ifma", 7, 0, EBX, 21},
	{"clflushopt", 7, 0, EBX, 23}, {"clwb", 7, 0, EBX, 24},      {"avx512cd", 7, 0, EBX, 28},
	{"sha_ni", 7, 0, EBX, 29},     {"avx512bw", 7, 0, EBX, 30},  {"avx512vl", 7, 0, EBX, 31},
	{"avx512vbmi", 7, 0, ECX, 1},  {"umip", 7, 0, ECX, 2},       {"pku", 7, 0, ECX, 3},
	{"avx512vbmi2", 7, 0, ECX, 6}, {"gfni", 7, 0, ECX, 8},       {"vaes", 7, 0, ECX, 9},
	{"vpclmulqdq", 7, 0, ECX, 10}, {"avx512vnni", 7, 0, ECX, 11}, {"avx512bitalg", 7, 0, ECX, 12},
	{"avx512vpopcntdq", 7, 0, ECX, 14}, {"la57", 7, 0, ECX, 16}, {"rdpid", 7, 0, ECX, 22},
	{"fsrm", 7, 0, EDX, 4},
	{"xsaveopt", 0xd, 1, EAX, 0},  {"xsavec", 0xd, 1, EAX, 1},   {"xsaves", 0xd, 1, EAX, 3},
	{"lahf_lm", 0x80000001, 0, ECX, 0}, {"abm", 0x80000001, 0, ECX, 5},
	{"sse4a", 0x80000001, 0, ECX, 6}, {"topoext", 0x80000001, 0, ECX, 22},
	{"nx", 0x80000001, 0, EDX, 20}, {"pdpe1gb", 0x80000001, 0, EDX, 26},
	{"rdtscp", 0x80000001, 0, EDX, 27},
	/* KVM paravirtual features (leaf 0x40000001). */
	{"kvm_clock", 0x40000001, 0, EAX, 3},     {"kvm_async_pf", 0x40000001, 0, EAX, 4},
	{"kvm_steal_time", 0x40000001, 0, EAX, 5}, {"kvm_pv_eoi", 0x40000001, 0, EAX, 6},
	{"kvm_pv_unhalt", 0x40000001, 0, EAX, 7}, {"kvm_pv_tlb_flush", 0x40000001, 0, EAX, 9},
	{"kvm_pv_send_ipi", 0x40000001, 0, EAX, 11}, {"kvm_poll_control", 0x40000001, 0, EAX, 12},
	{"kvm_pv_sched_yield", 0x40000001, 0, EAX, 13}, {"kvm_async_pf_int", 0x40000001, 0, EAX, 14},
	{"kvm_map_gpa_range", 0x40000001, 0, EAX, 16},
};

/* On a software-assisted nested KVM (kvm_pvm) the guest's CPUID instruction shows
 * the host's hardware feature bits whatever the table says (and KVM's emulator
 * checks its own capabilities, not the table: movbe is #UD there either way). So
 * the nested template removes only what the table does control there: cx16 (lock
 * cmpxchg16b is refused) and the KVM PV features built on hypercalls, which never
 * complete there (a vCPU spins on the VMCALL/VMMCALL for ever: seen with PV
 * spinlock kicks and PV IPIs during SMP bring-up). Async page faults go too: with
 * them a guest process read zeros where it had just written after the balloon
 * returned pages (5 of 8 Linux boots; never with no-kvmapf). docs/nested-kvm.md. */
static const char nested_template[] =
	"-cx16,-kvm_pv_unhalt,-kvm_pv_send_ipi,-kvm_pv_sched_yield,-kvm_map_gpa_range,"
	"-kvm_async_pf,-kvm_async_pf_int";

static struct kvm_cpuid_entry2 *cpuid__find(struct kvm_cpuid2 *c, uint32_t leaf, uint32_t sub)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == leaf &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == sub))
			return e;
	}
	return NULL;
}

struct cpuid_table {
	unsigned nr_vcpus;
	struct kvm_cpuid2 *c;
};


static uint32_t *cpuid__reg(struct kvm_cpuid_entry2 *e, enum reg r)
{
	switch (r) {
	case EAX: return &e->eax;
	case EBX: return &e->ebx;
	case ECX: return &e->ecx;
	default:  return &e->edx;
	}
}

static int cpuid__apply(struct kvm_cpuid2 *c, const char *list, struct st_err *err)
{
	cleanup_free char *copy = strdup(list);
	if (!copy)
		return err__fail(err, ENOMEM, "cpu features");
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool add = *tok == '+';
		if (*tok == '+' || *tok == '-')
			tok++;
		else
			return err__fail(err, 0, "cpu feature '%s' needs a + or - prefix", tok);
		const struct feature *f = NULL;
		for (size_t i = 0; i < ST_ARRAY_SIZE(features); i++)
			if (!strcmp(features[i].name, tok))
				f = &features[i];
		if (!f)
			return err__fail(err, 0, "unknown cpu feature '%s' (--cpu-features help lists them)",
				       tok);
		struct kvm_cpuid_entry2 *e = cpuid__find(c, f->leaf, f->subleaf);
		if (!e) {
			if (add)
				return err__fail(err, 0, "cpu feature '%s' is not supported by this KVM", tok);
			continue;
		}
		uint32_t *reg = cpuid__reg(e, f->reg);
		if (add && !(*reg & (1u << f->bit)) && strcmp(tok, "hypervisor"))
			return err__fail(err, 0, "cpu feature '%s' is not supported by this KVM", tok);
		if (add)
			*reg |= 1u << f->bit;
		else
			*reg &= ~(1u << f->bit);
	}
	return 0;
}

int cpuid__init(int kvm_sys_fd, const char *template_name, const char *feature_list,
		unsigned nr_vcpus, struct cpuid_table **out, struct st_err *err)
{
	cleanup_free struct kvm_cpuid2 *c = NULL;
	for (uint32_t n = 128;; n *= 2) { /* one call: each CPUID traps when nested */
		free(c);
		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return err__fail(err, ENOMEM, "cpuid");
		c->nent = n;
		if (ioctl(kvm_sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			break;
		if (errno != E2BIG || n >= 4096)
			return err__fail_errno(err, "KVM_GET_SUPPORTED_CPUID");
	}
	struct kvm_cpuid_entry2 *l1 = cpuid__find(c, 1, 0);
	if (l1)
		l1->ecx |= 1u << 31; /* hypervisor present */
	if (template_name && strcmp(template_name, "host")) {
		if (strcmp(template_name, "nested"))
			return err__fail(err, 0, "unknown cpu template '%s' (host, nested)", template_name);
		if (cpuid__apply(c, nested_template, err) < 0)
			return -1;
	}
	if (feature_list && cpuid__apply(c, feature_list, err) < 0)
		return err__prefix(err, "--cpu-features");
	struct cpuid_table *t = calloc(1, sizeof(*t));
	if (!t)
		return err__fail(err, ENOMEM, "cpuid");
	t->nr_vcpus = nr_vcpus;
	t->c = cleanup__steal_ptr(c);
	*out = t;
	return 0;
}

/* Topology: one package, one core per vCPU, APIC ID = vCPU index. */
unsigned cpuid__va_bits(const struct cpuid_table *t)
{
	for (uint32_t i = 0; t && t->c && i < t->c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &t->c->entries[i];
		if (e->function == 7 && e->index == 0)
			return e->ecx & (1u << 16) ? 57 : 48; /* LA57 */
	}
	return 48;
}

int cpuid__set_vcpu(const struct cpuid_table *t, struct vcpu *v, struct st_err *err)
{
	size_t size = sizeof(*t->c) + t->c->nent * sizeof(t->c->entries[0]);
	cleanup_free struct kvm_cpuid2 *c = malloc(size);
	if (!c)
		return err__fail(err, ENOMEM, "cpuid");
	memcpy(c, t->c, size);
	unsigned shift = 0;
	while ((1u << shift) < t->nr_vcpus)
		shift++;
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0xffff) | (v->id << 24) | ((t->nr_vcpus & 0xff) << 16);
			if (t->nr_vcpus > 1)
				e->edx |= 1u << 28; /* HTT: the logical count field is valid */
			break;
		case 4:
			e->eax = (e->eax & 0x3ffffff) | (((1u << shift) - 1) << 26);
			break;
		case 0x80000008:
			/* AMD: cores per package and the APIC ID bits that number them. */
			e->ecx = (e->ecx & ~0xf0ffu) | (shift << 12) | ((t->nr_vcpus - 1) & 0xff);
			break;
		case 0x8000001e:
			e->eax = v->id;            /* extended APIC ID */
			e->ebx = v->id & 0xff;     /* core ID, one thread per core */
			e->ecx = 0;                /* node 0, one node per package */
			break;
		case 0xb:
		case 0x1f:
			e->edx = v->id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1u << 8) | 0;
			} else if (e->index == 1) {
				e->eax = shift;
				e->ebx = t->nr_vcpus;
				e->ecx = (2u << 8) | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		}
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		return err__fail_errno(err, "KVM_SET_CPUID2 (vcpu%u)", v->id);
	return 0;
}

void cpuid__free(struct cpuid_table *t)
{
	if (t)
		free(t->c);
	free(t);
}

void cpuid__print_features(void)
{
	printf("templates: host, nested\nfeatures (use +name or -name, comma separated):\n");
	for (size_t i = 0; i < ST_ARRAY_SIZE(features); i++)
		printf("  %s\n", features[i].name);
}
