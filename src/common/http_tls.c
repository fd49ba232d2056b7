/* The HTTP server core's certificate and key: read from their PEM files and
 * checked with GnuTLS (the library libmicrohttpd serves HTTPS with) when the
 * server is made, so that a bad file is one precise error at start-up rather
 * than a listener that fails to start for a reason MHD does not say. */
#include "common/http_server_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "common/util.h"

#define PEM_MAX (1u << 20)

static int read_pem(const char *what, const char *path, char **out, struct st_err *err)
{
	size_t len;
	if (util__read_file(path, PEM_MAX, out, &len, err) < 0)
		return err__prefix(err, "TLS %s", what);
	if (strlen(*out) != len || !strstr(*out, "-----BEGIN ")) {
		free(*out);
		*out = NULL;
		return err__fail_class(err, EINVAL, "TLS %s %s: not a PEM file", what, path);
	}
	return 0;
}

/* GnuTLS parses both and checks that the key is the certificate's. */
static int check_pair(const struct http_server_opts *o, char *cert, char *key, struct st_err *err)
{
	gnutls_certificate_credentials_t cred;
	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return err__fail(err, ENOMEM, "TLS credentials");
	gnutls_datum_t c = {(unsigned char *)cert, (unsigned)strlen(cert)};
	gnutls_datum_t k = {(unsigned char *)key, (unsigned)strlen(key)};
	int rc = gnutls_certificate_set_x509_key_mem(cred, &c, &k, GNUTLS_X509_FMT_PEM);
	gnutls_certificate_free_credentials(cred);
	if (rc < 0)
		return err__fail_class(err, EINVAL, "TLS certificate %s with key %s: %s", o->tls_cert_file,
				       o->tls_key_file, gnutls_strerror(rc));
	return 0;
}

int http_server_int__tls_load(struct http_server *s, struct st_err *err)
{
	const struct http_server_opts *o = &s->opts;
	if (!o->tls_cert_file && !o->tls_key_file)
		return 0;
	if (!o->tls_cert_file || !o->tls_key_file)
		return err__fail_class(err, EINVAL, "a TLS certificate needs its key and a key its certificate");
	if (read_pem("certificate", o->tls_cert_file, &s->tls_cert, err) < 0 ||
	    read_pem("key", o->tls_key_file, &s->tls_key, err) < 0)
		return -1;
	return check_pair(o, s->tls_cert, s->tls_key, err);
}
