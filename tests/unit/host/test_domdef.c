#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/domdef.h"
#include "host/domxml.h"

static const char kernel[] = "/proc/self/exe"; /* any existing regular file */

static json_t *check_ok(const char *text)
{
	json_error_t jerr;
	json_t *in = json_loads(text, 0, &jerr);
	assert_non_null(in);
	json_t *out = NULL;
	struct st_err err = {0};
	int rc = domdef__check(in, NULL, NULL, &out, &err);
	if (rc < 0)
		fail_msg("refused: %s", err.msg);
	json_decref(in);
	return out;
}

static void check_fails(const char *text, const char *needle)
{
	json_t *in = json_loads(text, 0, NULL);
	assert_non_null(in);
	json_t *out = NULL;
	struct st_err err = {0};
	assert_int_equal(domdef__check(in, NULL, NULL, &out, &err), -1);
	assert_null(out);
	if (!strstr(err.msg, needle))
		fail_msg("'%s' does not mention '%s'", err.msg, needle);
	json_decref(in);
}

static void names(void **state)
{
	(void)state;
	assert_true(domdef__name_ok("web-01"));
	assert_true(domdef__name_ok("a.b_c+d"));
	assert_false(domdef__name_ok(""));
	assert_false(domdef__name_ok(".."));
	assert_false(domdef__name_ok("../etc"));
	assert_false(domdef__name_ok("a/b"));
	assert_false(domdef__name_ok("-rf"));
	assert_false(domdef__name_ok(".hidden"));
	assert_false(domdef__name_ok("sp ace"));
	char longname[80];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[79] = 0;
	assert_false(domdef__name_ok(longname));
	longname[DOMDEF_NAME_MAX] = 0;
	assert_true(domdef__name_ok(longname));
}

static void uuids(void **state)
{
	(void)state;
	char u[37];
	struct st_err err = {0};
	assert_int_equal(domdef__uuid_generate(u, &err), 0);
	assert_true(domdef__uuid_ok(u));
	assert_int_equal(u[14], '4');
	assert_false(domdef__uuid_ok("1234"));
	assert_false(domdef__uuid_ok("zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"));
}

static void defaults_filled(void **state)
{
	(void)state;
	char text[256];
	snprintf(text, sizeof(text), "{\"name\": \"d\", \"os\": {\"kernel\": \"%s\"}, \"interfaces\": "
		 "[{\"type\": \"bridge\", \"source\": \"br0\"}]}", kernel);
	json_t *d = check_ok(text);
	assert_int_equal(json_integer_value(json_object_get(d, "memory_mib")), 64);
	assert_int_equal(json_integer_value(json_object_get(d, "vcpus")), 1);
	assert_string_equal(json_string_value(json_object_get(d, "on_reboot")), "restart");
	assert_true(domdef__uuid_ok(json_string_value(json_object_get(d, "uuid"))));
	const char *mac = json_string_value(json_object_get(json_array_get(json_object_get(d, "interfaces"), 0), "mac"));
	assert_non_null(mac);
	assert_memory_equal(mac, "52:54:00:", 9);
	json_decref(d);
}

static void refusals(void **state)
{
	(void)state;
	char text[2048];
	check_fails("{\"name\": \"x\"}", "\"os\"");
	check_fails("[]", "JSON object");
	snprintf(text, sizeof(text), "{\"name\": \"x\", \"os\": {\"kernel\": \"%s\"}, \"extra\": 1}", kernel);
	check_fails(text, "unknown field \"extra\"");
	snprintf(text, sizeof(text), "{\"name\": \"x\", \"memory_mib\": 4, \"os\": {\"kernel\": \"%s\"}}", kernel);
	check_fails(text, "memory_mib");
	check_fails("{\"name\": \"x\", \"os\": {\"kernel\": \"/nonexistent\"}}", "No such file");
	snprintf(text, sizeof(text), "{\"name\": \"x\", \"os\": {\"kernel\": \"%s\"}, \"disks\": [{\"path\": \"%s\"},"
		 " {\"path\": \"%s\", \"target\": \"vda\"}]}", kernel, kernel, kernel);
	check_fails(text, "used twice");
	snprintf(text, sizeof(text), "{\"name\": \"x\", \"os\": {\"kernel\": \"%s\"}, \"disks\": [{\"pool\": \"p\"}]}",
		 kernel);
	check_fails(text, "\"pool\" and \"volume\"");
	/* strata-vm's --disk is PATH,OPTIONS: a comma in the path is refused */
	char comma[] = "/tmp/strata-domdef,XXXXXX";
	int fd = mkstemp(comma);
	assert_true(fd >= 0);
	close(fd);
	snprintf(text, sizeof(text), "{\"name\": \"x\", \"os\": {\"kernel\": \"%s\"}, \"disks\": [{\"path\": \"%s\"}]}",
		 kernel, comma);
	check_fails(text, "cannot contain ','");
	unlink(comma);
	/* no more disks than strata-vm takes */
	int n = snprintf(text, sizeof(text), "{\"name\": \"x\", \"os\": {\"kernel\": \"%s\"}, \"disks\": [", kernel);
	for (int i = 0; i < 9; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "%s{\"path\": \"%s\"}", i ? ", " : "", kernel);
	snprintf(text + n, sizeof(text) - (size_t)n, "]}");
	check_fails(text, "\"disks\": at most 8 entries");
}

static void xml_roundtrip(void **state)
{
	(void)state;
	char xml[1024];
	snprintf(xml, sizeof(xml),
		 "<domain type='kvm'><name>vm1</name><uuid>11111111-2222-4333-8444-555555555555</uuid>"
		 "<memory unit='GiB'>1</memory><currentMemory>1048576</currentMemory><vcpu placement='static'>2</vcpu>"
		 "<os><type arch='x86_64'>hvm</type><kernel>%s</kernel><cmdline>console=ttyS0</cmdline></os>"
		 "<features><acpi/></features><devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>"
		 "<source file='%s'/><target dev='vdb' bus='virtio'/><readonly/></disk>"
		 "<interface type='network'><mac address='52:54:00:aa:bb:cc'/><source network='default'/>"
		 "<model type='virtio'/></interface><serial type='pty'/><console type='pty'/></devices></domain>",
		 kernel, kernel);
	json_t *in, *def, *def2;
	struct st_err err = {0};
	assert_int_equal(domxml__import(xml, strlen(xml), &in, &err), 0);
	assert_int_equal(domdef__check(in, NULL, NULL, &def, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(def, "memory_mib")), 1024);
	assert_int_equal(json_integer_value(json_object_get(def, "vcpus")), 2);
	json_t *disk = json_array_get(json_object_get(def, "disks"), 0);
	assert_string_equal(json_string_value(json_object_get(disk, "target")), "vdb");
	assert_true(json_is_true(json_object_get(disk, "readonly")));
	char *out = domxml__export(def);
	assert_non_null(out);
	json_t *in2;
	assert_int_equal(domxml__import(out, strlen(out), &in2, &err), 0);
	assert_int_equal(domdef__check(in2, NULL, NULL, &def2, &err), 0);
	assert_true(json_equal(def, def2));
	free(out);
	json_decref(in);
	json_decref(in2);
	json_decref(def);
	json_decref(def2);
}

static void xml_refusals(void **state)
{
	(void)state;
	json_t *out = NULL;
	struct st_err err = {0};
	const char *bad[] = {"<domain><name>x</name>", "<pool/>", "<domain><hugepages/></domain>",
			     "<domain><devices><hostdev/></devices></domain>", "<domain><memory unit='parsec'>1</memory></domain>",
			     "<domain><vcpu>many</vcpu></domain>",
			     /* a balloon at 1 KiB of a 1 GiB guest: was dropped, the guest started with 1 GiB */
			     "<domain><memory unit='GiB'>1</memory><currentMemory>1</currentMemory></domain>"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(domxml__import(bad[i], strlen(bad[i]), &out, &err), -1);
		assert_null(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),         cmocka_unit_test(uuids),        cmocka_unit_test(defaults_filled),
		cmocka_unit_test(refusals),      cmocka_unit_test(xml_roundtrip), cmocka_unit_test(xml_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
