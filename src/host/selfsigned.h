/* stratad's own TLS certificate (Cockpit's way): when --listen-tcp is off
 * loopback and no --tls-cert/--tls-key is given, a self-signed certificate
 * for this host is made on the first start and kept in STATE/tls/ (the key
 * readable by root only); later starts use it again. Replace both files (or
 * give --tls-cert/--tls-key) to use a certificate of your own. */
#ifndef STRATA_HOST_SELFSIGNED_H
#define STRATA_HOST_SELFSIGNED_H

#include "common/err.h"

#define SELFSIGNED_CERT "tls/stratad.crt"
#define SELFSIGNED_KEY "tls/stratad.key"

/* Makes the pair under state_dir unless both files exist; *cert and *key get
 * their malloc'd paths. */
int selfsigned__ensure(const char *state_dir, char **cert, char **key, struct st_err *err);

#endif
