/* A server's config drive (servers_configdrive.c): an ISO 9660 image
 * labelled config-2 in the OpenStack layout, made here and uploaded into
 * the host's instance pool as a raw volume, attached read-only. */
#ifndef STRATA_CLOUD_SERVERS_CONFIGDRIVE_H
#define STRATA_CLOUD_SERVERS_CONFIGDRIVE_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"
#include "cloud/compute/servers.h"
#include "cloud/compute/servers_hosts.h"

/* The server (its row) asked for one (config_drive), or its image says
 * img_config_drive=mandatory. */
bool servers_configdrive__wanted(const json_t *row);
/* Makes the server's config drive and uploads it to host h as volume vol
 * of its pool. */
int servers_configdrive__put(struct servers *s, const struct servers_host *h, const json_t *row, const char *vol,
			     struct st_err *err);

#endif
