/* The routes behind virsh verbs that the other route files do not serve:
 * a domain's definition replaced (edit), its memory (setmem, dommemstat)
 * and vCPUs (setvcpus, vcpuinfo), the host's nodeinfo and capabilities. */
#include "host/routes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "host/domain_tune.h"
#include "host/domains.h"
#include "host/host_resources.h"

static struct dom *dom_arg(struct http_request *r, struct st_err *err)
{
	return domains__find(routes__host(r), http_request__capture(r, "name"), err);
}

/* The body {key: N} as a number up to max. */
static int body_u64(const struct http_request *r, const char *key, uint64_t max, uint64_t *out, struct st_err *err)
{
	cleanup_json json_t *in = NULL;
	if (http_request__body_json(r, &in, err) < 0)
		return -1;
	json_t *v = json_object_get(in, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max ||
	    json_object_size(in) != 1)
		return err__fail_class(err, EINVAL, "the body is {\"%s\": N} with N up to %llu", key,
				       (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int dom_redefine(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	cleanup_json json_t *in = NULL;
	if (!d || routes__domain_body(r, &in, err) < 0 || domain_tune__redefine(routes__host(r), d, in, err) < 0)
		return -1;
	http_reply__json(rp, 200, domains__info(routes__host(r), d));
	return 0;
}

static int dom_set_memory(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	uint64_t kib;
	if (!d || body_u64(r, "kib", UINT32_MAX, &kib, err) < 0 ||
	    domain_tune__set_memory(routes__host(r), d, kib, err) < 0)
		return -1;
	http_reply__json(rp, 200, json_pack("{s:s, s:I}", "name", d->name, "kib", (json_int_t)kib));
	return 0;
}

static int dom_memstats(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	json_t *out = NULL;
	return d ? routes__json(rp, 200, domain_tune__memstats(routes__host(r), d, &out, err), &out) : -1;
}

static int dom_set_vcpus(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	uint64_t n;
	if (!d || body_u64(r, "vcpus", 1024, &n, err) < 0 || domain_tune__set_vcpus(routes__host(r), d, n, err) < 0)
		return -1;
	http_reply__json(rp, 200, domains__summary(d));
	return 0;
}

static int dom_vcpus(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct dom *d = dom_arg(r, err);
	if (!d)
		return -1;
	http_reply__json(rp, 200, domain_tune__vcpus(routes__host(r), d));
	return 0;
}

static int host_node(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	(void)r, (void)err;
	http_reply__json(rp, 200, host_resources__node());
	return 0;
}

static xmlNodePtr child(xmlNodePtr parent, const char *name, const char *text)
{
	return xmlNewTextChild(parent, NULL, BAD_CAST name, text ? BAD_CAST text : NULL);
}

static void prop_int(xmlNodePtr n, const char *name, json_t *o, const char *key)
{
	char v[24];
	snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(json_object_get(o, key)));
	xmlNewProp(n, BAD_CAST name, BAD_CAST v);
}

/* libvirt's capabilities document, for what stratad offers: the host's CPU
 * and one guest type, x86_64 hvm on KVM through strata-vm. */
static int host_capabilities(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	cleanup_json json_t *cpu = host_resources__cpu_info(), *node = host_resources__node();
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr caps = xmlNewNode(NULL, BAD_CAST "capabilities");
	xmlDocSetRootElement(doc, caps);
	xmlNodePtr host = child(caps, "host", NULL), hcpu = child(host, "cpu", NULL);
	const char *arch = json_string_value(json_object_get(cpu, "arch"));
	child(hcpu, "arch", arch);
	child(hcpu, "model", json_string_value(json_object_get(cpu, "model")));
	child(hcpu, "vendor", json_string_value(json_object_get(cpu, "vendor")));
	xmlNodePtr topo = child(hcpu, "topology", NULL);
	prop_int(topo, "sockets", node, "sockets");
	xmlNewProp(topo, BAD_CAST "dies", BAD_CAST "1");
	prop_int(topo, "cores", node, "cores_per_socket");
	prop_int(topo, "threads", node, "threads_per_core");
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(cpu, "features"), i, f)
		xmlNewProp(child(hcpu, "feature", NULL), BAD_CAST "name", BAD_CAST json_string_value(f));
	xmlNodePtr guest = child(caps, "guest", NULL);
	child(guest, "os_type", "hvm");
	xmlNodePtr garch = child(guest, "arch", NULL);
	xmlNewProp(garch, BAD_CAST "name", BAD_CAST "x86_64");
	child(garch, "wordsize", "64");
	child(garch, "emulator", routes__host(r)->vm_binary);
	xmlNewProp(child(garch, "domain", NULL), BAD_CAST "type", BAD_CAST "kvm");
	xmlChar *text = NULL;
	int len = 0;
	xmlDocDumpFormatMemoryEnc(doc, &text, &len, "UTF-8", 1);
	xmlFreeDoc(doc);
	if (!text)
		return err__fail(err, ENOMEM, "capabilities");
	/* without the XML declaration, as virsh prints it */
	const char *body = strstr((const char *)text, "<capabilities");
	char *copy = strdup(body ? body : (const char *)text);
	xmlFree(text);
	if (!copy)
		return err__fail(err, ENOMEM, "capabilities");
	http_reply__text(rp, 200, "application/xml", copy);
	return 0;
}

const struct http_route routes__table_virsh[] = {
	{"PUT", "/v1/domains/{name}", dom_redefine, NULL, NULL},
	{"PUT", "/v1/domains/{name}/memory", dom_set_memory, NULL, NULL},
	{"GET", "/v1/domains/{name}/memstats", dom_memstats, NULL, NULL},
	{"PUT", "/v1/domains/{name}/vcpus", dom_set_vcpus, NULL, NULL},
	{"GET", "/v1/domains/{name}/vcpus", dom_vcpus, NULL, NULL},
	{"GET", "/v1/host/node", host_node, NULL, NULL},
	{"GET", "/v1/host/capabilities", host_capabilities, NULL, NULL},
};
const size_t routes__nr_virsh = sizeof(routes__table_virsh) / sizeof(routes__table_virsh[0]);
