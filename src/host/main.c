/* stratad: the host daemon. Serves the API, keeps definitions in SQLite,
 * supervises one strata-vm process per running guest. Stopping stratad
 * (SIGTERM, or kill -9) leaves every guest running; the next stratad
 * re-attaches to them. */
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/sock.h"
#include "common/token_file.h"
#include "common/util.h"
#include "host/api.h"
#include "host/domains.h"
#include "host/events.h"
#include "host/image_cache.h"
#include "host/image_cache_gc.h"
#include "host/host.h"
#include "host/networks.h"
#include "host/selfsigned.h"
#include "host/statedir.h"
#include "host/storage.h"
#include "host/storage_fetch.h"
#include "host/store.h"
#include "host/web_session.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(void)
{
	printf("Usage: stratad [options]\n"
	       "The Strata host daemon: domains, storage pools and networks over a REST/JSON API.\n"
	       "\n"
	       "  -d, --state-dir DIR        database, logs and run files (default /var/lib/strata)\n"
	       "  -s, --socket PATH          API unix socket (default DIR/stratad.sock)\n"
	       "      --listen-tcp HOST:PORT also serve the API on TCP (needs --token-file)\n"
	       "      --token-file FILE      bearer token required on TCP\n"
	       "      --tls-cert FILE        HTTPS on TCP: the certificate (chain), PEM (with --tls-key)\n"
	       "      --tls-key FILE         and its private key, PEM (plain HTTP only on loopback; off\n"
	       "                             loopback without them: a self-signed one in DIR/tls/)\n"
	       "      --vm-binary PATH       strata-vm to run (default: next to stratad)\n"
	       "      --shutdown-timeout S   seconds a shutdown waits before destroying (default 60)\n"
	       "      --start-timeout S      seconds a start waits for the VMM to come up (default 15)\n"
	       "      --lvm-config CONFIG    passed as --config to lvm2's commands (logical pools)\n"
	       "      --audit-max-rows N     the audit log keeps the last N requests (default 100000, 0: all)\n"
	       "      --audit-max-days D     and none older than D days (default 90, 0: no age limit)\n"
	       "      --web-dir DIR          the web UI's files, served at / (default: the build tree's or\n"
	       "                             " WEB_DIR_DEFAULT ")\n"
	       "      --session-idle-timeout S  web logins end after S idle seconds (default 900)\n"
	       "      --image-cache DIR      cached base images (default DIR/images)\n"
	       "      --image-cache-max-age S    an unused base goes after S seconds (default 86400, 0: never)\n"
	       "      --image-cache-max-bytes SIZE  unused bases go, least recently used first, while the\n"
	       "                             cache holds more (e.g. 20G; default 0: no limit)\n"
	       "      --image-cache-interval S   seconds between the cache's maintenance passes (default 600)\n"
	       "      --max-connections N    open API connections in all (default 256; root keeps 8)\n"
	       "      --max-connections-per-client N  per uid (unix socket) or address (TCP) (default 32)\n"
	       "      --request-timeout S    a request's headers, and each S of its body, must come within S\n"
	       "                             seconds however they trickle (default 30)\n"
	       "  -h, --help                 this help\n"
	       "  -V, --version              version\n"
	       "\n"
	       "Stopping stratad leaves guests running; a restarted stratad re-attaches to them.\n");
}

static char *default_vm_binary(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return strdup("/usr/local/bin/strata-vm");
	self[n] = 0;
	const char *dir = dirname(self);
	char *candidates[2] = {NULL, NULL};
	if (asprintf(&candidates[0], "%s/../vm/strata-vm", dir) < 0 ||
	    asprintf(&candidates[1], "%s/strata-vm", dir) < 0)
		return NULL;
	for (int i = 0; i < 2; i++)
		if (access(candidates[i], X_OK) == 0) {
			char *res = realpath(candidates[i], NULL);
			free(candidates[0]);
			free(candidates[1]);
			return res;
		}
	free(candidates[0]);
	free(candidates[1]);
	return strdup("/usr/local/bin/strata-vm");
}

/* The build tree's web UI (build/src/web beside build/src/host/stratad) when
 * stratad runs from there, else the installed one. */
static char *default_web_dir(void)
{
	char self[PATH_MAX], *dir = NULL;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		if (asprintf(&dir, "%s/../web", dirname(self)) < 0)
			dir = NULL;
	}
	char *index = NULL;
	if (dir && asprintf(&index, "%s/index.html", dir) > 0 && access(index, R_OK) == 0) {
		free(index);
		char *res = realpath(dir, NULL);
		free(dir);
		return res;
	}
	free(index);
	free(dir);
	return NULL; /* api.c's WEB_DIR_DEFAULT */
}

/* Whether --listen-tcp's address is a loopback one (plain HTTP is allowed
 * there); an address that cannot be bound is left for api__start to report. */
static bool tcp_on_loopback(const char *addr)
{
	struct st_err err = {0};
	int fd = sock__tcp_listen(addr, &err);
	if (fd < 0)
		return true;
	bool lo = sock__is_loopback(fd);
	close(fd);
	return lo;
}

static int mkdir_p(const char *path, mode_t mode, struct st_err *err)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return err__fail_errno(err, "cannot create %s", path);
	return 0;
}

/* --shutdown-timeout S, --start-timeout S, --audit-max-rows N, --audit-max-days D: numbers[] in this order */
static int parse_number_option(int opt, uint64_t numbers[4])
{
	static const char opts[] = "oSAD";
	static const char *const names[] = {"--shutdown-timeout", "--start-timeout", "--audit-max-rows",
					    "--audit-max-days"};
	static const uint64_t maxima[] = {86400, 86400, 1000000000, 36500};
	size_t i = (size_t)(strchr(opts, opt) - opts);
	struct st_err err = {0};
	const char *name = names[i];
	uint64_t *out = &numbers[i];
	int rc = util__parse_u64(optarg, maxima[i], out, &err);
	if (rc == 0 && opt == 'S' && *out == 0)
		rc = err__fail(&err, 0, "must be at least 1");
	if (rc < 0) {
		err__prefix(&err, "%s", name);
		err__print(&err);
		return -1;
	}
	return 0;
}

/* --max-connections N, --max-connections-per-client N, --request-timeout S */
static int parse_connection_option(int opt, struct api_opts *o)
{
	struct st_err err = {0};
	const char *name = opt == 'c' ? "--max-connections" : opt == 'p' ? "--max-connections-per-client"
									 : "--request-timeout";
	unsigned *out = opt == 'c' ? &o->conn_max : opt == 'p' ? &o->conn_max_peer : &o->request_timeout_s;
	uint64_t v;
	if (util__parse_u64(optarg, opt == 'r' ? 3600 : 4096, &v, &err) < 0 || v == 0) {
		fprintf(stderr, "stratad: %s: %s\n", name, err.msg[0] ? err.msg : "must be > 0");
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* --image-cache-max-age S, --image-cache-max-bytes SIZE, --image-cache-interval S */
static int parse_cache_option(int opt, struct image_cache_opts *o)
{
	struct st_err err = {0};
	const char *name = opt == 'G' ? "--image-cache-max-age" : opt == 'M' ? "--image-cache-max-bytes"
									: "--image-cache-interval";
	int rc = opt == 'M' ? util__parse_size(optarg, 1, &o->max_bytes, &err)
			    : util__parse_u64(optarg, 86400 * 3650, opt == 'G' ? &o->max_age_s : &o->interval_s, &err);
	if (rc == 0 && opt == 'N' && o->interval_s == 0)
		rc = err__fail(&err, 0, "must be at least 1");
	if (rc < 0) {
		err__prefix(&err, "%s", name);
		err__print(&err);
	}
	return rc;
}

/* With the lock held, as by every caller of domains.h: a guest that
 * rebooted while stratad was away is started again, which lets go of it
 * while the VMM comes up. */
static int load_domains(struct host *h, struct st_err *err)
{
	pthread_mutex_lock(&h->lock);
	int rc = domains__load(h, err);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

int main(int argc, char **argv)
{
	err__set_progname("stratad");
	static const struct option longopts[] = {
		{"state-dir", required_argument, NULL, 'd'}, {"socket", required_argument, NULL, 's'},
		{"listen-tcp", required_argument, NULL, 'T'}, {"token-file", required_argument, NULL, 't'},
		{"vm-binary", required_argument, NULL, 'b'}, {"shutdown-timeout", required_argument, NULL, 'o'},
		{"start-timeout", required_argument, NULL, 'S'},
		{"lvm-config", required_argument, NULL, 'L'}, {"audit-max-rows", required_argument, NULL, 'A'},
		{"audit-max-days", required_argument, NULL, 'D'}, {"web-dir", required_argument, NULL, 'W'},
		{"session-idle-timeout", required_argument, NULL, 'I'}, {"image-cache", required_argument, NULL, 'C'},
		{"image-cache-max-age", required_argument, NULL, 'G'}, {"image-cache-max-bytes", required_argument, NULL, 'M'},
		{"image-cache-interval", required_argument, NULL, 'N'}, {"tls-cert", required_argument, NULL, 'P'},
		{"tls-key", required_argument, NULL, 'K'},
		{"max-connections", required_argument, NULL, 'c'}, {"max-connections-per-client", required_argument, NULL, 'p'},
		{"request-timeout", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, {0},
	};
	const char *state_dir = "/var/lib/strata", *sock = NULL, *token_file = NULL, *lvm_config = NULL;
	struct api_opts aopts = {0};
	cleanup_free char *vm_binary = NULL;
	uint64_t numbers[4] = {60, 15, 100000, 90}; /* parse_number_option's */
	struct image_cache_opts copts = {.max_age_s = 86400, .interval_s = 600};
	struct st_err err = {0};
	int opt;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":d:s:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': state_dir = optarg; break;
		case 's': sock = optarg; break;
		case 'T': aopts.tcp_addr = optarg; break;
		case 't': token_file = optarg; break;
		case 'L': lvm_config = optarg; break;
		case 'W': aopts.web_dir = optarg; break;
		case 'P': aopts.tls_cert = optarg; break;
		case 'K': aopts.tls_key = optarg; break;
		case 'C': copts.dir = optarg; break;
		case 'G':
		case 'M':
		case 'N':
			if (parse_cache_option(opt, &copts) < 0)
				return 1;
			break;
		case 'I': {
			uint64_t idle;
			if (util__parse_u64(optarg, 86400 * 7, &idle, &err) < 0 || idle == 0) {
				fprintf(stderr, "stratad: --session-idle-timeout: %s\n", err.msg[0] ? err.msg : "must be > 0");
				return 1;
			}
			web_session__set_idle_timeout((unsigned)idle);
			break;
		}
		case 'b': vm_binary = realpath(optarg, NULL); if (!vm_binary) { err__fail_errno(&err, "--vm-binary %s", optarg); err__print(&err); return 1; } break;
		case 'c':
		case 'p':
		case 'r':
			if (parse_connection_option(opt, &aopts) < 0)
				return 1;
			break;
		case 'o':
		case 'S':
		case 'A':
		case 'D':
			if (parse_number_option(opt, numbers) < 0)
				return 1;
			break;
		case 'h': usage(); return 0;
		case 'V': printf("stratad %s\n", STRATA_VERSION); return 0;
		case ':': fprintf(stderr, "stratad: option %s needs a value\n", argv[optind - 1]); return 1;
		default: fprintf(stderr, "stratad: unknown option %s (see --help)\n", argv[optind - 1]); return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "stratad: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 1;
	}
	cleanup_free char *token = NULL;
	if (token_file) {
		if (token_file__read(token_file, 16, &token, &err) < 0) {
			err__prefix(&err, "--token-file");
			err__print(&err);
			return 1;
		}
		aopts.token = token;
	}
	if (aopts.tcp_addr && !aopts.token) {
		fprintf(stderr, "stratad: --listen-tcp needs --token-file\n");
		return 1;
	}
	if (!aopts.tls_cert != !aopts.tls_key || (aopts.tls_cert && !aopts.tcp_addr)) {
		fprintf(stderr, "stratad: --tls-cert and --tls-key go together, with --listen-tcp\n");
		return 1;
	}
	if (!vm_binary)
		vm_binary = default_vm_binary();
	cleanup_free char *web_dir = NULL;
	if (!aopts.web_dir)
		aopts.web_dir = web_dir = default_web_dir();
	static struct host h = {.lock = PTHREAD_MUTEX_INITIALIZER};
	h.vm_binary = vm_binary;
	h.lvm_config = lvm_config;
	h.shutdown_timeout_s = (unsigned)numbers[0];
	h.start_timeout_s = (unsigned)numbers[1];
	cleanup_free char *db = NULL, *default_sock = NULL, *default_cache = NULL;
	if (asprintf(&h.state_dir, "%s", state_dir) < 0 || asprintf(&h.run_dir, "%s/run", state_dir) < 0 ||
	    asprintf(&h.log_dir, "%s/log", state_dir) < 0 || asprintf(&db, "%s/stratad.db", state_dir) < 0 ||
	    asprintf(&default_sock, "%s/stratad.sock", state_dir) < 0 ||
	    asprintf(&default_cache, "%s/images", state_dir) < 0)
		return 1;
	if (!copts.dir)
		copts.dir = default_cache;
	aopts.unix_path = sock ? sock : default_sock;
	if (mkdir_p(state_dir, 0711, &err) < 0 || mkdir_p(h.run_dir, 0750, &err) < 0 ||
	    mkdir_p(h.log_dir, 0750, &err) < 0 || statedir__check(state_dir, &err) < 0) {
		err__print(&err);
		return 1;
	}
	/* one stratad per state directory: two would supervise the same guests */
	cleanup_free char *lock_path = NULL;
	if (asprintf(&lock_path, "%s/stratad.lock", state_dir) < 0)
		return 1;
	int lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
		err__fail_errno(&err, "another stratad is running on %s (%s)", state_dir, lock_path);
		err__print(&err);
		return 1;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* threads inherit the mask; main waits */
	signal(SIGPIPE, SIG_IGN);
	events__init();
	h.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (storage_fetch__init(&err) < 0 || store__open(db, &h.store, &err) < 0 ||
	    store__audit_retention(h.store, numbers[2], numbers[3] * 86400, &err) < 0 || load_domains(&h, &err) < 0 ||
	    image_cache__open(&h, &copts, &err) < 0) {
		err__print(&err);
		return 1;
	}
	cleanup_free char *own_cert = NULL, *own_key = NULL;
	if (aopts.tcp_addr && !aopts.tls_cert && !tcp_on_loopback(aopts.tcp_addr)) {
		if (selfsigned__ensure(state_dir, &own_cert, &own_key, &err) < 0) {
			err__print(&err);
			return 1;
		}
		aopts.tls_cert = own_cert;
		aopts.tls_key = own_key;
	}
	struct api *api = NULL;
	if (domains__supervise(&h, &err) < 0 || image_cache_gc__start(&h, &err) < 0 ||
	    api__start(&h, &aopts, &api, &err) < 0) {
		err__print(&err);
		return 1;
	}
	pthread_mutex_lock(&h.lock);
	storage__pools_autostart(&h);
	networks__autostart(&h);
	domains__autostart(&h);
	pthread_mutex_unlock(&h.lock);
	log__info("listening on %s", aopts.unix_path);
	int sig;
	sigwait(&set, &sig);
	log__info("signal %d: stopping (guests keep running)", sig);
	api__stop(api);
	h.quitting = 1;
	pthread_join(h.supervisor, NULL);
	image_cache_gc__stop(&h);
	pthread_mutex_lock(&h.lock);
	image_cache__close(&h);
	while (h.doms) {
		struct dom *d = h.doms;
		h.doms = d->next;
		if (d->pidfd >= 0)
			close(d->pidfd);
		json_decref(d->def);
		free(d->name);
		free(d);
	}
	store__close(h.store);
	pthread_mutex_unlock(&h.lock);
	close(h.epfd);
	unlink(aopts.unix_path);
	free(h.state_dir);
	free(h.run_dir);
	free(h.log_dir);
	close(lock_fd);
	return 0;
}
