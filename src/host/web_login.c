/* PAM for the web UI's login; see web_login.h. */
#include "host/web_login.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

#include "host/access.h"

#define WRONG "wrong user name or password"

struct creds {
	const char *user, *password;
};

/* PAM asks; the answers are the login form's fields. */
static int converse(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	const struct creds *c = data;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		const char *answer = msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ? c->password
				     : msg[i]->msg_style == PAM_PROMPT_ECHO_ON ? c->user
										: NULL;
		if (answer && !(r[i].resp = strdup(answer))) {
			for (int k = 0; k < i; k++)
				free(r[k].resp);
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* The caller waits a fixed time after a failure (routes_session.c); PAM's own
 * random delay would only add to it. */
static void no_delay(int status, unsigned usec, void *data)
{
	(void)status, (void)usec, (void)data;
}

/* PAM modules keep process-wide state (the shadow file's stream): one check at a time. */
static pthread_mutex_t pam_lock = PTHREAD_MUTEX_INITIALIZER;

static bool pam_ok(const char *user, const char *password)
{
	struct creds c = {user, password};
	struct pam_conv conv = {converse, &c};
	pam_handle_t *ph = NULL;
	pthread_mutex_lock(&pam_lock);
	int rc = pam_start(WEB_LOGIN_SERVICE, user, &conv, &ph);
	if (rc == PAM_SUCCESS)
		rc = pam_set_item(ph, PAM_FAIL_DELAY, (const void *)no_delay);
	if (rc == PAM_SUCCESS)
		rc = pam_authenticate(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (ph)
		pam_end(ph, rc);
	pthread_mutex_unlock(&pam_lock);
	return rc == PAM_SUCCESS;
}

int web_login__check(const char *user, const char *password, uid_t *uid, bool *can_write, struct st_err *err)
{
	if (!*user || !*password || strlen(user) > 32 || strlen(password) > 512)
		return err__fail_class(err, EKEYREJECTED, WRONG);
	if (!pam_ok(user, password))
		return err__fail_class(err, EKEYREJECTED, WRONG);
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) || !res)
		return err__fail_class(err, EKEYREJECTED, WRONG);
	gid_t groups[256];
	int n = (int)(sizeof(groups) / sizeof(groups[0]));
	if (getgrouplist(user, pw.pw_gid, groups, &n) < 0)
		n = 0;
	*uid = pw.pw_uid;
	*can_write = access__full(pw.pw_uid, pw.pw_gid, groups, (size_t)n);
	return 0;
}
