#include "vm/control.h"
#include "common/log.h"
#include "common/sock.h"
#include "common/util.h"
#include "vm/hw/acpi_pm.h"
#include "vm/loop.h"
#include "vm/pci_hotplug.h"
#include "vm/vcpu.h"
#include "vm/virtio/devices.h"
#include "vm/virtio/virtio.h"
#include "vm/vm.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONTROL_LINE_MAX 65536
#define CONTROL_CLIENTS_MAX 16

struct client {
	struct loop_watch w;
	char buf[CONTROL_LINE_MAX];
	size_t len;
};

static struct {
	struct vm *vm;
	struct loop_watch listen;
	char *path;
	unsigned nr_clients;
} ctl;

/* A command returns 0 and may set *ret, or < 0 with err (class GenericError). */
typedef int (*command_fn)(struct vm *vm, json_t *args, json_t **ret, struct st_err *err);

static int cmd_status(struct vm *vm, json_t *args, json_t **ret, struct st_err *err)
{
	(void)args, (void)err;
	unsigned long assists = 0;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		assists += __atomic_load_n(&vm->vcpus[i].assists, __ATOMIC_RELAXED);
	*ret = json_pack("{s:s, s:i, s:I, s:I, s:b, s:I}", "status", vm__state_name(vm),
			 "vcpus", (int)vm->nr_vcpus, "memory_mib", (json_int_t)(vm->mem.size >> 20),
			 "uptime_ms", (json_int_t)((util__now_ns() - vm->start_ns) / 1000000),
			 "nested_profile", vm->nested, "emulation_assists", (json_int_t)assists);
	return 0;
}

static int cmd_pause(struct vm *vm, json_t *args, json_t **ret, struct st_err *err)
{
	(void)args, (void)ret;
	return vm__pause(vm, err);
}

static int cmd_resume(struct vm *vm, json_t *args, json_t **ret, struct st_err *err)
{
	(void)args, (void)ret;
	return vm__resume(vm, err);
}

static int cmd_powerdown(struct vm *vm, json_t *args, json_t **ret, struct st_err *err)
{
	(void)args, (void)ret, (void)err;
	acpi_pm__power_button(vm->pm);
	return 0;
}

static int cmd_quit(struct vm *vm, json_t *args, json_t **ret, struct st_err *err)
{
	(void)args, (void)ret, (void)err;
	vm__request_stop(vm, VM_EXIT_POWEROFF, "quit requested on the control socket");
	return 0;
}

static int cmd_query_cpus(struct vm *vm, json_t *args, json_t **ret, struct st_err *err)
{
	(void)args;
	static const char *const mp_names[] = {"runnable", "uninitialized", "init-received",
					       "halted", "sipi-received", "stopped"};
	if (vcpu__snapshot_all(vm, 1000) == 0)
		return err__fail(err, 0, "no vCPU answered");
	json_t *list = json_array();
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->snap_valid) {
			json_array_append_new(list, json_pack("{s:i, s:b}", "cpu", (int)i, "answered", 0));
			continue;
		}
		unsigned mp = v->snap_mp.mp_state;
		char rip[20], rsp[20], cr3[20];
		snprintf(rip, sizeof(rip), "0x%llx", (unsigned long long)v->snap_regs.rip);
		snprintf(rsp, sizeof(rsp), "0x%llx", (unsigned long long)v->snap_regs.rsp);
		snprintf(cr3, sizeof(cr3), "0x%llx", (unsigned long long)v->snap_sregs.cr3);
		json_array_append_new(list, json_pack(
			"{s:i, s:b, s:s, s:s, s:s, s:I, s:s, s:b}", "cpu", (int)i, "answered", 1,
			"mp_state", mp < ST_ARRAY_SIZE(mp_names) ? mp_names[mp] : "unknown",
			"rip", rip, "rsp", rsp, "rflags", (json_int_t)v->snap_regs.rflags, "cr3", cr3,
			"long_mode", (v->snap_sregs.efer & (1 << 10)) != 0));
	}
	*ret = json_pack("{s:o}", "cpus", list);
	return 0;
}

static int cmd_query_devices(struct vm *vm, json_t *args, json_t **ret, struct st_err *err)
{
	(void)args, (void)err;
	*ret = json_pack("{s:o}", "devices", virtio__query_all(vm));
	return 0;
}

static int cmd_balloon_set(struct vm *vm, json_t *args, json_t **ret, struct st_err *err)
{
	(void)ret;
	json_t *t = json_object_get(args, "target_mib");
	if (!json_is_integer(t) || json_integer_value(t) < 0)
		return err__fail(err, 0, "balloon-set needs \"target_mib\": the guest's memory target in MiB");
	return virtio_balloon__set(vm, (uint64_t)json_integer_value(t), err);
}

static int cmd_balloon_stats(struct vm *vm, json_t *args, json_t **ret, struct st_err *err)
{
	(void)args;
	*ret = virtio_balloon__stats(vm, err);
	return *ret ? 0 : -1;
}

/* {"disk": SPEC} -> {"device": NAME, "slot": N}: a virtio-blk disk put in a
 * free PCI slot; the guest learns of it through ACPI hotplug (PCIU, GPE 1). */
static int cmd_disk_attach(struct vm *vm, json_t *args, json_t **ret, struct st_err *err)
{
	const char *spec = json_string_value(json_object_get(args, "disk"));
	if (!spec || !*spec)
		return err__fail(err, 0, "disk-attach needs \"disk\": "
			       "\"PATH[,ro][,serial=S][,id=ID][,queues=N][,format=raw|qcow2]\"");
	struct virtio_dev *d;
	if (virtio_blk__hotplug(vm, spec, &d, err) < 0)
		return -1;
	*ret = json_pack("{s:s, s:i}", "device", d->name, "slot", (int)d->pci.slot);
	return 0;
}

/* {"device": NAME}: asks the guest to eject a disk (PCID, GPE 1); it goes when
 * the guest writes B0EJ, and query-devices says "unplug_pending" until then. */
static int cmd_disk_detach(struct vm *vm, json_t *args, json_t **ret, struct st_err *err)
{
	const char *name = json_string_value(json_object_get(args, "device"));
	if (!name)
		return err__fail(err, 0, "disk-detach needs \"device\": a name from query-devices");
	struct virtio_dev *d = virtio__find(vm, name);
	if (!d)
		return err__fail(err, 0, "no device '%.64s'", name);
	if (d->ops->device_id != 2)
		return err__fail(err, 0, "device '%s' is not a disk (virtio-blk)", d->name);
	if (!vm->hotplug || pci_hotplug__request_unplug(vm->hotplug, d->pci.slot, err) < 0)
		return vm->hotplug ? -1 : err__fail(err, 0, "this machine has no PCI hotplug");
	*ret = json_pack("{s:s, s:i}", "device", d->name, "slot", (int)d->pci.slot);
	return 0;
}

static const struct {
	const char *name;
	command_fn fn;
	const char *help;
} commands[] = {
	{"status", cmd_status, "run state, vCPUs, memory, uptime"},
	{"pause", cmd_pause, "stop running the vCPUs"},
	{"resume", cmd_resume, "run the vCPUs again"},
	{"powerdown", cmd_powerdown, "press the ACPI power button"},
	{"quit", cmd_quit, "stop the VM now (exit status 0)"},
	{"query-cpus", cmd_query_cpus, "each vCPU's RIP, RSP, flags, CR3 and MP state"},
	{"query-devices", cmd_query_devices, "virtio devices: PCI slot, BAR, status, counters"},
	{"balloon-set", cmd_balloon_set, "balloon target: {\"target_mib\": N} of guest memory"},
	{"balloon-stats", cmd_balloon_stats, "balloon pages and the driver's statistics (then refreshes them)"},
	{"disk-attach", cmd_disk_attach, "hot-add a virtio-blk disk: {\"disk\": \"PATH[,ro][,serial=S][,id=ID][,queues=N][,format=F]\"}"},
	{"disk-detach", cmd_disk_detach, "ask the guest to eject a disk: {\"device\": NAME}"},
};

static json_t *error_reply(const char *cls, const char *desc)
{
	return json_pack("{s:{s:s, s:s}}", "error", "class", cls, "desc", desc);
}

static json_t *control__dispatch(const char *line)
{
	json_error_t jerr;
	json_t *req = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
	if (!req) {
		char desc[256];
		snprintf(desc, sizeof(desc), "invalid JSON: %s", jerr.text);
		return error_reply("GenericError", desc);
	}
	json_t *reply;
	const char *name = json_string_value(json_object_get(req, "execute"));
	json_t *args = json_object_get(req, "arguments");
	if (!json_is_object(req) || !name) {
		reply = error_reply("GenericError", "a request is an object with \"execute\": NAME");
	} else if (args && !json_is_object(args)) {
		reply = error_reply("GenericError", "\"arguments\" must be an object");
	} else {
		reply = NULL;
		for (size_t i = 0; i < ST_ARRAY_SIZE(commands) && !reply; i++) {
			if (strcmp(commands[i].name, name))
				continue;
			struct st_err err = {0};
			json_t *ret = NULL;
			if (commands[i].fn(ctl.vm, args, &ret, &err) < 0)
				reply = error_reply("GenericError", err.msg);
			else
				reply = json_pack("{s:o}", "return", ret ? ret : json_object());
		}
		if (!reply) {
			char desc[160];
			snprintf(desc, sizeof(desc), "unknown command '%.100s'", name);
			reply = error_reply("CommandNotFound", desc);
		}
	}
	json_t *id = json_is_object(req) ? json_object_get(req, "id") : NULL;
	if (id)
		json_object_set(reply, "id", id);
	json_decref(req);
	return reply;
}

static void client__send(struct client *c, json_t *reply)
{
	char *text = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (!text)
		return;
	size_t n = strlen(text);
	text[n] = '\n'; /* json_dumps' NUL becomes the line end */
	send(c->w.fd, text, n + 1, MSG_NOSIGNAL);
	free(text);
}

static void client__close(struct client *c)
{
	loop__del(&c->w);
	close(c->w.fd);
	free(c);
	ctl.nr_clients--;
}

static void client__event(struct loop_watch *w, uint32_t events)
{
	struct client *c = (struct client *)w;
	(void)events;
	ssize_t n = recv(w->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		client__close(c);
		return;
	}
	c->len += (size_t)n;
	char *start = c->buf, *nl;
	while ((nl = memchr(start, '\n', c->len - (size_t)(start - c->buf)))) {
		*nl = 0;
		if (nl > start && nl[-1] == '\r')
			nl[-1] = 0;
		if (*start)
			client__send(c, control__dispatch(start));
		start = nl + 1;
	}
	c->len -= (size_t)(start - c->buf);
	memmove(c->buf, start, c->len);
	if (c->len == sizeof(c->buf)) {
		client__send(c, error_reply("GenericError", "request line longer than 64 KiB"));
		client__close(c);
	}
}

static void control__accept(struct loop_watch *w, uint32_t events)
{
	(void)events;
	int fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	struct client *c = ctl.nr_clients < CONTROL_CLIENTS_MAX ? malloc(sizeof(*c)) : NULL;
	struct st_err err = {0};
	if (!c) {
		log__warn("control: refusing a client (limit %d)", CONTROL_CLIENTS_MAX);
		close(fd);
		return;
	}
	c->w = (struct loop_watch){.fd = fd, .fn = client__event};
	c->len = 0;
	if (loop__add(&c->w, EPOLLIN, &err) < 0) {
		close(fd);
		free(c);
		return;
	}
	ctl.nr_clients++;
}

int control__open(struct vm *vm, const char *path, struct st_err *err)
{
	ctl.vm = vm;
	ctl.listen.fd = sock__unix_listen(path, err);
	if (ctl.listen.fd < 0)
		return err__prefix(err, "control socket");
	ctl.listen.fn = control__accept;
	ctl.path = strdup(path);
	return loop__add(&ctl.listen, EPOLLIN, err);
}

void control__close(void)
{
	if (ctl.path) {
		unlink(ctl.path);
		free(ctl.path);
		ctl.path = NULL;
	}
}
