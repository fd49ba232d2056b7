/* SSH keys as Nova handles them: a new RSA pair (the private key in PEM,
 * returned once), a public key's check, and its fingerprint (MD5 of the
 * key blob, colon-separated hex, as Nova computes it). */
#ifndef STRATA_CLOUD_SSHKEY_H
#define STRATA_CLOUD_SSHKEY_H

#include "common/err.h"

#define SSHKEY_FINGERPRINT_LEN 47 /* 16 bytes as "aa:bb:..." */

/* An RSA 2048 pair: *private_pem "-----BEGIN RSA PRIVATE KEY-----...",
 * *public_line "ssh-rsa AAAA... Generated-by-Nova" (both malloc'd). */
int sshkey__generate(char **private_pem, char **public_line, struct st_err *err);
/* A public key line "TYPE BASE64 [comment]" of ssh-rsa, ssh-dss,
 * ssh-ed25519 or ecdsa-sha2-nistp256/384/521 whose blob parses; its
 * fingerprint. EINVAL "Keypair data is invalid: ..." otherwise. */
int sshkey__fingerprint(const char *public_line, char out[SSHKEY_FINGERPRINT_LEN + 1],
			struct st_err *err);

#endif
