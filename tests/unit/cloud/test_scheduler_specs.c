/* The filters that read extra specs and image properties:
 * ComputeCapabilitiesFilter (with the seeds' AVX example),
 * AggregateInstanceExtraSpecsFilter and ImagePropertiesFilter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cloud/scheduler/filters.h"
#include "cloud/scheduler/scheduler.h"
#include "sched_fixture.h"

static json_t *caps[4];

static int make_caps(void **state)
{
	(void)state;
	/* a: AVX as an object; b: AVX2 only; c: cpu_info as Nova's JSON text; d: nothing */
	caps[0] = json_loads("{\"cpu_info\": {\"arch\": \"x86_64\", \"model\": \"Haswell\", \"vendor\": \"Intel\","
			     " \"topology\": {\"cores\": 8, \"threads\": 2}, \"features\": [\"avx\", \"sse4.2\"]},"
			     " \"stats\": {\"gpu\": \"true\"}, \"numa\": null}", 0, NULL);
	caps[1] = json_loads("{\"cpu_info\": {\"arch\": \"x86_64\", \"model\": \"Nehalem\","
			     " \"topology\": {\"cores\": 2}, \"features\": [\"avx2\", \"sse4.2\"]}}", 0, NULL);
	caps[2] = json_loads("{\"cpu_info\": \"{\\\"arch\\\": \\\"aarch64\\\", \\\"features\\\": [\\\"aes\\\"]}\"}", 0,
			     NULL);
	caps[3] = NULL;
	return caps[0] && caps[1] && caps[2] ? 0 : -1;
}

static int free_caps(void **state)
{
	(void)state;
	for (int i = 0; i < 4; i++)
		json_decref(caps[i]);
	return 0;
}

static void hosts_with_caps(struct scheduler_host h[4])
{
	static const char *names[] = {"a", "b", "c", "d"};
	for (int i = 0; i < 4; i++) {
		h[i] = fixture_host(names[i]);
		h[i].capabilities = caps[i];
		h[i].hypervisor_type = "QEMU";
	}
}

struct caps_case {
	const char *key, *value;
	unsigned want; /* mask over hosts a b c d */
};

static const struct caps_case caps_cases[] = {
	/* the seeds' example, and Nova's substring edge: avx2 has avx in it */
	{"capabilities:cpu_info:features", "<in> avx", 0x3},
	{"capabilities:cpu_info:features", "<in> 'avx'", 0x1},
	{"capabilities:cpu_info:features", "<all-in> avx sse4.2", 0x3},
	{"capabilities:cpu_info:features", "<in> aes", 0x4}, /* c's cpu_info is JSON text */
	{"capabilities:cpu_info:arch", "x86_64", 0x3},
	{"capabilities:cpu_info:arch", "<or> aarch64 <or> ppc64le", 0x4},
	{"capabilities:cpu_info:model", "s== Haswell", 0x1},
	{"capabilities:cpu_info:topology:cores", ">= 4", 0x1},
	{"capabilities:cpu_info:topology:cores", "= 2", 0x3},
	{"capabilities:cpu_info:topology:threads", "2", 0x1}, /* absent from b: b fails */
	{"capabilities:cpu_info:nope", "<in> x", 0x0},
	{"capabilities:numa", "None", 0x0}, /* null is absent */
	{"capabilities:gpu", "true", 0x1},  /* from the stats, as Nova looks there */
	{"capabilities:vcpus_total", ">= 16", 0xf},
	{"capabilities:hypervisor_type", "s== QEMU", 0xf},
	{"capabilities:free_ram_mb", ">= 32768", 0xf},
	{"capabilities:cpu_info", "<in> 'Haswell'", 0x1}, /* str() of a dict */
	{"capabilities:a:b:c:d:e:f:g:h:i", "1", 0x0}, /* deeper than any host */
	{"hypervisor_type", "s== kvm", 0x0}, /* unscoped, a host attribute: checked */
	{"cpu_info", "<in> avx", 0xb}, /* unscoped: checked where the host has it (not d) */
	{"ssd", "true", 0xf},               /* unscoped, unknown to every host: not for this filter */
	{"hw:cpu_policy", "dedicated", 0xf},  /* another scope: ignored */
	{"aggregate_instance_extra_specs:ssd", "true", 0xf},
};

/* Each case alone as the request's only extra spec (or image property):
 * the hosts that pass must be the case's mask. */
static void run_cases(enum scheduler_filter f, const struct scheduler_host *h, size_t n,
		      const struct caps_case *cases, size_t n_cases, bool image)
{
	struct scheduler_config cfg = fixture_only_filter(f);
	for (size_t i = 0; i < n_cases; i++) {
		struct scheduler_kv kv = {cases[i].key, cases[i].value};
		struct scheduler_request req = fixture_request();
		if (image) {
			req.image_properties = &kv;
			req.n_image_properties = 1;
		} else {
			req.extra_specs = &kv;
			req.n_extra_specs = 1;
		}
		unsigned got = passing(&cfg, &req, h, n);
		if (got != cases[i].want)
			fail_msg("%s = \"%s\": hosts 0x%x, want 0x%x", cases[i].key, cases[i].value, got,
				 cases[i].want);
	}
}

static void test_capabilities_filter(void **state)
{
	(void)state;
	struct scheduler_host h[4];
	hosts_with_caps(h);
	run_cases(SCHEDULER_FILTER_COMPUTE_CAPABILITIES, h, 4, caps_cases, sizeof(caps_cases) / sizeof(caps_cases[0]),
		  false);
	struct scheduler_config cfg = fixture_only_filter(SCHEDULER_FILTER_COMPUTE_CAPABILITIES);
	/* All specs must hold. */
	struct scheduler_kv specs[] = {{"capabilities:cpu_info:features", "<in> avx"},
				       {"capabilities:cpu_info:model", "s!= Haswell"}};
	struct scheduler_request req = fixture_request();
	req.extra_specs = specs;
	req.n_extra_specs = 2;
	assert_int_equal(passing(&cfg, &req, h, 4), 0x2);
}

/* The seeds' example: a flavor asking for AVX lands only on hosts whose CPU has it. */
static void test_avx_lands_on_avx_hosts(void **state)
{
	(void)state;
	json_t *avx = json_loads("{\"cpu_info\": {\"features\": [\"sse4.2\", \"avx\", \"aes\"]}}", 0, NULL);
	json_t *no_avx = json_loads("{\"cpu_info\": {\"features\": [\"sse4.2\", \"aes\"]}}", 0, NULL);
	struct scheduler_host h[6];
	static const char *names[] = {"h0", "h1", "h2", "h3", "h4", "h5"};
	for (int i = 0; i < 6; i++) {
		h[i] = fixture_host(names[i]);
		h[i].capabilities = i == 2 || i == 5 ? avx : no_avx;
		h[i].ram_total_mb = 4096 * (6 - i); /* the RAM weigher prefers the non-AVX h0 */
	}
	struct scheduler_config cfg;
	scheduler__config_default(&cfg);
	struct scheduler_kv spec = {"capabilities:cpu_info:features", "<in> avx"};
	struct scheduler_request req = fixture_request();
	req.ram_mb = 1024;
	req.extra_specs = &spec;
	req.n_extra_specs = 1;
	req.num_instances = 8;
	struct scheduler_selection sel[8];
	struct st_err err;
	assert_int_equal(scheduler__select(&cfg, &req, h, 6, sel, &err), 0);
	for (int i = 0; i < 8; i++) {
		assert_true(sel[i].hosts[0] == 2 || sel[i].hosts[0] == 5);
		for (size_t k = 1; k < sel[i].n_hosts; k++)
			assert_true(sel[i].hosts[k] == 2 || sel[i].hosts[k] == 5);
	}
	/* Without the spec the same request goes to h0 first. */
	req.n_extra_specs = 0;
	req.num_instances = 1;
	assert_int_equal(pick(&cfg, &req, h, 6), 0);
	json_decref(avx);
	json_decref(no_avx);
}

static void test_python_str(void **state)
{
	(void)state;
	static const struct {
		const char *json, *want;
	} cases[] = {
		{"\"plain\"", "plain"},
		{"4", "4"},
		{"2.0", "2.0"},
		{"0.1", "0.1"},
		{"1e16", "1e+16"},
		{"1.5e-05", "1.5e-05"},
		{"123.25", "123.25"},
		{"-0.001", "-0.001"},
		{"true", "True"},
		{"[\"avx\", \"sse4.2\"]", "['avx', 'sse4.2']"},
		{"[1, [true, null], \"it's\"]", "[1, [True, None], \"it's\"]"},
		{"{\"a\": \"b\\n\", \"c\": []}", "{'a': 'b\\n', 'c': []}"},
		{"[]", "[]"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		char *s = filters__python_str(v);
		assert_non_null(s);
		if (strcmp(s, cases[i].want))
			fail_msg("str(%s) = %s, want %s", cases[i].json, s, cases[i].want);
		free(s);
		json_decref(v);
	}
	assert_null(filters__python_str(json_null()));
}

static void test_aggregate_extra_specs_filter(void **state)
{
	(void)state;
	struct scheduler_kv fast[] = {{"ssd", "true"}, {"tier", "gold, silver"}};
	struct scheduler_kv slow[] = {{"ssd", "false"}, {"cores", "8"}};
	struct scheduler_aggregate aggs[] = {{"fast", fast, 2}, {"slow", slow, 2}};
	struct scheduler_host h[4] = {fixture_host("a"), fixture_host("b"), fixture_host("c"), fixture_host("d")};
	h[0].aggregates = &aggs[0];
	h[0].n_aggregates = 1;
	h[1].aggregates = &aggs[1];
	h[1].n_aggregates = 1;
	h[2].aggregates = aggs; /* in both: either value will do */
	h[2].n_aggregates = 2;
	static const struct caps_case cases[] = {
		{"aggregate_instance_extra_specs:ssd", "true", 0x5},
		{"aggregate_instance_extra_specs:ssd", "false", 0x6},
		{"aggregate_instance_extra_specs:tier", "silver", 0x5}, /* comma-separated values */
		{"aggregate_instance_extra_specs:tier", "<in> gol", 0x5},
		{"aggregate_instance_extra_specs:cores", ">= 4", 0x6},
		{"aggregate_instance_extra_specs:gpu", "true", 0x0}, /* no aggregate has it: no host */
		{"ssd", "true", 0x5},                              /* unscoped keys count too, as in Nova */
		{"capabilities:cpu_info:features", "<in> avx", 0xf}, /* another scope */
		{"hw:cpu_policy", "dedicated", 0xf},
	};
	struct scheduler_config cfg = fixture_only_filter(SCHEDULER_FILTER_AGGREGATE_EXTRA_SPECS);
	struct scheduler_request req = fixture_request();
	assert_int_equal(passing(&cfg, &req, h, 4), 0xf); /* no extra specs */
	run_cases(SCHEDULER_FILTER_AGGREGATE_EXTRA_SPECS, h, 4, cases, sizeof(cases) / sizeof(cases[0]), false);
}

static void test_image_properties_filter(void **state)
{
	(void)state;
	struct scheduler_instance_kind x86[] = {{"x86_64", "kvm", "hvm"}, {"i686", "kvm", "hvm"}};
	struct scheduler_instance_kind arm[] = {{"aarch64", "qemu", "hvm"}};
	struct scheduler_host h[3] = {fixture_host("a"), fixture_host("b"), fixture_host("c")};
	h[0].supported_instances = x86;
	h[0].n_supported_instances = 2;
	h[0].hypervisor_version = 6002000; /* 6.2.0 */
	h[1].supported_instances = arm;
	h[1].n_supported_instances = 1;
	h[1].hypervisor_version = 7001000;
	/* c advertises nothing */
	static const struct caps_case cases[] = {
		{"hw_architecture", "x86_64", 0x1},
		{"hw_architecture", "AMD64", 0x1}, /* canonical: x86_64 */
		{"hw_architecture", "i386", 0x1},  /* canonical: i686 */
		{"hw_architecture", "aarch64", 0x2},
		{"img_hv_type", "QEMU", 0x2},
		{"hw_vm_mode", "hv", 0x3}, /* canonical: hvm */
		{"hw_vm_mode", "exe", 0x0},
		{"img_hv_requested_version", ">=7.0", 0x7}, /* alone it asks nothing, as in Nova */
		{"os_distro", "debian", 0x7},
	};
	struct scheduler_config cfg = fixture_only_filter(SCHEDULER_FILTER_IMAGE_PROPERTIES);
	struct scheduler_request req = fixture_request();
	assert_int_equal(passing(&cfg, &req, h, 3), 0x7);
	run_cases(SCHEDULER_FILTER_IMAGE_PROPERTIES, h, 3, cases, sizeof(cases) / sizeof(cases[0]), true);
	struct scheduler_kv props[] = {{"hw_vm_mode", "hvm"}, {"img_hv_requested_version", ">= 6.0, < 7"}};
	req.image_properties = props;
	req.n_image_properties = 2;
	assert_int_equal(passing(&cfg, &req, h, 3), 0x1);
	props[1].value = ">=7.1";
	assert_int_equal(passing(&cfg, &req, h, 3), 0x2);
	props[1].value = "==6.2";
	assert_int_equal(passing(&cfg, &req, h, 3), 0x1);
	props[1].value = "about six"; /* not a predicate: the request is bad */
	assert_int_equal(pick(&cfg, &req, h, 3), -1);
	assert_int_equal(last_err.errnum, EINVAL);
	/* The configured default architecture applies when the image names none. */
	req.n_image_properties = 0;
	snprintf(cfg.default_architecture, sizeof(cfg.default_architecture), "aarch64");
	assert_int_equal(passing(&cfg, &req, h, 3), 0x2);
}

static void test_version_predicates(void **state)
{
	(void)state;
	assert_int_equal(filters__version_satisfies(">=6.0", "6.2.0"), 1);
	assert_int_equal(filters__version_satisfies(">=6.0,<6.2", "6.2.0"), 0);
	assert_int_equal(filters__version_satisfies("!=6.2", "6.2.0"), 0);
	assert_int_equal(filters__version_satisfies("> 6.1.9", "6.2"), 1);
	assert_int_equal(filters__version_satisfies("<= 6", "6.0.0"), 1);
	assert_int_equal(filters__version_satisfies("6.0", "6.0"), -1);
	assert_int_equal(filters__version_satisfies(">=", "6.0"), -1);
	assert_int_equal(filters__version_satisfies(">=6.0;", "6.0"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capabilities_filter, make_caps, free_caps),
		cmocka_unit_test(test_avx_lands_on_avx_hosts),
		cmocka_unit_test(test_python_str),
		cmocka_unit_test(test_aggregate_extra_specs_filter),
		cmocka_unit_test(test_image_properties_filter),
		cmocka_unit_test(test_version_predicates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
