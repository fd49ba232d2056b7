/* libvirt domain XML for the common subset (name, uuid, memory, vcpu, os
 * kernel/initrd/cmdline, file and volume disks raw/qcow2 on virtio,
 * network/bridge/direct interfaces, serial/console). Import produces the
 * JSON a client could have sent (domdef__check validates it); elements
 * outside the subset are refused unless they are known to be harmless to
 * drop (features, clock, graphics...). */
#ifndef STRATA_HOST_DOMXML_H
#define STRATA_HOST_DOMXML_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"

int domxml__import(const char *xml, size_t len, json_t **out, struct st_err *err);
/* def is a normalized definition; returns a malloc'd NUL-terminated document. */
char *domxml__export(const json_t *def);

#endif
