/* strata-cloud: the cloud control plane. One daemon serves every service
 * (identity now; compute, images ... later) on one listener; the commands
 * beside `serve` prepare and maintain its state. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/token_file.h"
#include "common/util.h"
#include "cloud/compute/compute.h"
#include "cloud/compute/compute_policy.h"
#include "cloud/compute/hosts.h"
#include "cloud/compute/scheduler_sim.h"
#include "cloud/compute/servers_reconcile.h"
#include "cloud/db/db.h"
#include "cloud/identity/fernet_keys.h"
#include "cloud/identity/identity.h"
#include "cloud/identity/password.h"
#include "cloud/network/network.h"
#include "cloud/policy/policy.h"
#include "cloud/scheduler/scheduler.h"
#include "cloud/scheduler/sim_hosts.h"
#include "cloud/serve.h"

struct options {
	const char *state_dir, *db_url, *password_file, *public_url, *region, *listen, *tls_cert, *tls_key;
	const char *scheduler_config, *policy_file, *fetch_url;
	const char *image_dir;
	const char *host_name, *host_url, *token_file; /* host-add */
	uint64_t sim_hosts, sim_requests;                /* scheduler-sim */
	const char *sim_filters, *sim_weighers;
	unsigned max_active;
	unsigned poll_interval, service_down;
	int64_t image_quota_count, image_quota_bytes, image_size_cap;
	const char *image_import_ports;
	int64_t token_expiration; /* seconds; 0: identity's default */
	int64_t password_cache;   /* seconds; -1: password.h's default */
	bool state_optional;      /* the command runs without -d */
};

static void usage(FILE *to)
{
	fprintf(to,
		"Usage: strata-cloud COMMAND [options]\n"
		"The Strata cloud control plane (OpenStack-compatible APIs).\n"
		"\n"
		"  serve -d STATEDIR --listen HOST:PORT [--db URL] [--scheduler-config F]\n"
		"        [--policy-file P] [--tls-cert F --tls-key F] [--image-dir DIR]\n"
		"        [--image-quota-count N] [--image-quota-bytes N] [--image-size-cap N]\n"
		"        [--image-import-ports P,P...] [--host-url URL]\n"
		"        [--host-poll-interval S] [--service-down-time S]\n"
		"        [--token-expiration S] [--password-cache-time S]\n"
		"            run the daemon (identity at http://HOST:PORT/identity/v3, images\n"
		"            at /image); F: the scheduler's filters, weighers and options\n"
		"            (docs/cloud.md); P (YAML or JSON, as Keystone's) overrides default\n"
		"            policy rules; with a PEM certificate and key it serves HTTPS,\n"
		"            without them only a loopback address is allowed; image data in\n"
		"            DIR, default STATEDIR/images; image quotas per project, 0 for none;\n"
		"            the largest image (default 1 TiB); the ports web-download may\n"
		"            fetch from (default 80,443); URL: this cloud as hosts reach it\n"
		"            (their image fetches), default http(s)://HOST:PORT; compute\n"
		"            hosts are polled every S seconds (10), a host not seen up for S\n"
		"            seconds (60) is down; tokens expire S seconds after issue (3600)\n"
		"  bootstrap -d STATEDIR [--db URL] --admin-password-file F --public-url URL\n"
		"            [--region RegionOne]   the Default domain, admin user and project,\n"
		"                                   roles and catalog (idempotent)\n"
		"  fernet-rotate -d STATEDIR [--max-active 3]   rotate the token keys\n"
		"  host-add -d STATEDIR [--db URL] --name NAME --url http://HOST:PORT --token-file F\n"
		"            register a stratad (its --listen-tcp and --token-file) as a compute\n"
		"            host; it must answer (its resources are read once)\n"
		"  scheduler-sim [-d STATEDIR] [--db URL] [--hosts N] [--requests R]\n"
		"        [--scheduler-config F] [--filters LIST] [--weighers LIST]\n"
		"            the scheduler's real path (host states from the database, filters,\n"
		"            weighers, the claim) over N simulated hosts (1000) for R requests\n"
		"            (100); prints decisions per second and latency; the simulated\n"
		"            rows are removed afterwards; without -d and --db a throwaway\n"
		"            SQLite database; LIST: filter or weigher names (default: 10\n"
		"            filters and 4 weighers, docs/cloud.md's scheduler-sim)\n"
		"\n"
		"  --db URL   sqlite:PATH (default STATEDIR/cloud.db) or postgresql://...\n");
}

static int parse(int argc, char **argv, struct options *o, struct st_err *err)
{
	static const struct option longopts[] = {
		{"state-dir", required_argument, NULL, 'd'},
		{"db", required_argument, NULL, 'b'},
		{"admin-password-file", required_argument, NULL, 'p'},
		{"public-url", required_argument, NULL, 'u'},
		{"region", required_argument, NULL, 'r'},
		{"listen", required_argument, NULL, 'l'},
		{"max-active", required_argument, NULL, 'm'},
		{"tls-cert", required_argument, NULL, 'c'},
		{"tls-key", required_argument, NULL, 'k'},
		{"policy-file", required_argument, NULL, 'P'},
		{"scheduler-config", required_argument, NULL, 's'},
		{"image-dir", required_argument, NULL, 'i'},
		{"host-url", required_argument, NULL, 'H'},
		{"image-quota-count", required_argument, NULL, 'C'},
		{"image-quota-bytes", required_argument, NULL, 'B'},
		{"name", required_argument, NULL, 'N'},
		{"url", required_argument, NULL, 'U'},
		{"token-file", required_argument, NULL, 'T'},
		{"host-poll-interval", required_argument, NULL, 'I'},
		{"service-down-time", required_argument, NULL, 'D'},
		{"image-size-cap", required_argument, NULL, 'S'},
		{"image-import-ports", required_argument, NULL, 'W'},
		{"token-expiration", required_argument, NULL, 'e'},
		{"password-cache-time", required_argument, NULL, 'A'},
		{"hosts", required_argument, NULL, 'n'},
		{"requests", required_argument, NULL, 'q'},
		{"filters", required_argument, NULL, 'F'},
		{"weighers", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int opt;
	uint64_t n;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":d:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': o->state_dir = optarg; break;
		case 'b': o->db_url = optarg; break;
		case 'p': o->password_file = optarg; break;
		case 'u': o->public_url = optarg; break;
		case 'r': o->region = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'c': o->tls_cert = optarg; break;
		case 'k': o->tls_key = optarg; break;
		case 'P': o->policy_file = optarg; break;
		case 's': o->scheduler_config = optarg; break;
		case 'm':
			if (util__parse_u64(optarg, 64, &n, err) < 0 || n < 2)
				return err__fail(err, EINVAL, "--max-active must be 2 to 64");
			o->max_active = (unsigned)n;
			break;
		case 'i': o->image_dir = optarg; break;
		case 'H': o->fetch_url = optarg; break;
		case 'C':
		case 'B':
			if (util__parse_u64(optarg, INT64_MAX, &n, err) < 0)
				return err__prefix(err, "--%s", opt == 'C' ? "image-quota-count"
									   : "image-quota-bytes");
			*(opt == 'C' ? &o->image_quota_count : &o->image_quota_bytes) = (int64_t)n;
			break;
		case 'e':
			if (util__parse_u64(optarg, 366 * 86400, &n, err) < 0 || n < 1)
				return err__fail(err, EINVAL, "--token-expiration must be 1 to %d seconds",
						 366 * 86400);
			o->token_expiration = (int64_t)n;
			break;
		case 'A':
			if (util__parse_u64(optarg, 86400, &n, err) < 0)
				return err__fail(err, EINVAL, "--password-cache-time must be 0 to 86400"
							      " seconds");
			o->password_cache = (int64_t)n;
			break;
		case 'n':
		case 'q':
			if (util__parse_u64(optarg, opt == 'n' ? 1000000 : 10000000, &n, err) < 0 || n == 0)
				return err__fail(err, EINVAL, "--%s must be 1 to %s", opt == 'n' ? "hosts" : "requests",
						 opt == 'n' ? "1000000" : "10000000");
			*(opt == 'n' ? &o->sim_hosts : &o->sim_requests) = n;
			break;
		case 'F': o->sim_filters = optarg; break;
		case 'w': o->sim_weighers = optarg; break;
		case 'N': o->host_name = optarg; break;
		case 'U': o->host_url = optarg; break;
		case 'T': o->token_file = optarg; break;
		case 'I':
		case 'D':
			if (util__parse_u64(optarg, 86400, &n, err) < 0 || n == 0)
				return err__fail(err, EINVAL, "--%s must be 1 to 86400 seconds",
						 opt == 'I' ? "host-poll-interval" : "service-down-time");
			*(opt == 'I' ? &o->poll_interval : &o->service_down) = (unsigned)n;
			break;
		case 'S':
			if (util__parse_u64(optarg, INT64_MAX, &n, err) < 0)
				return err__prefix(err, "--image-size-cap");
			o->image_size_cap = (int64_t)n;
			break;
		case 'W':
			if (!*optarg || optarg[strspn(optarg, "0123456789,")])
				return err__fail(err, EINVAL, "--image-import-ports takes port numbers"
							      " separated by commas");
			o->image_import_ports = optarg;
			break;
		case 'h': usage(stdout); exit(0);
		case ':': return err__fail(err, EINVAL, "option %s needs a value", argv[optind - 1]);
		default: return err__fail(err, EINVAL, "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return err__fail(err, EINVAL, "unexpected argument '%s'", argv[optind]);
	if (!o->state_dir && o->state_optional)
		return 0;
	if (!o->state_dir)
		return err__fail(err, EINVAL, "-d STATEDIR is required");
	if (mkdir(o->state_dir, 0700) < 0 && errno != EEXIST)
		return err__fail_errno(err, "cannot create %s", o->state_dir);
	return 0;
}

/* The database (every service's tables migrated) and the identity service
 * over it. */
static int open_state(const struct options *o, struct db **db, struct identity *id,
		      struct st_err *err)
{
	cleanup_free char *url = NULL;
	if (!o->db_url && asprintf(&url, "sqlite:%s/cloud.db", o->state_dir) < 0)
		return err__fail(err, ENOMEM, "out of memory");
	if (db__open(o->db_url ? o->db_url : url, db, err) < 0)
		return -1;
	if (identity__init(id, *db, o->state_dir, err) < 0) {
		db__close(*db);
		return -1;
	}
	if (compute__migrate(*db, err) < 0 || network__migrate(*db, err) < 0) {
		identity__fini(id);
		db__close(*db);
		return -1;
	}
	return 0;
}

static int read_password(const char *path, char **out, struct st_err *err)
{
	size_t len;
	if (util__read_file(path, PASSWORD_MAX + 2, out, &len, err) < 0)
		return err__prefix(err, "--admin-password-file");
	while (len && ((*out)[len - 1] == '\n' || (*out)[len - 1] == '\r'))
		(*out)[--len] = '\0';
	if (len == 0 || strlen(*out) != len) {
		free(*out);
		*out = NULL; /* the caller's cleanup_free frees it otherwise */
		return err__fail(err, EINVAL, "--admin-password-file %s: empty or not text", path);
	}
	return 0;
}

static int cmd_bootstrap(const struct options *o, struct st_err *err)
{
	if (!o->password_file || !o->public_url)
		return err__fail(err, EINVAL, "bootstrap needs --admin-password-file and --public-url");
	if (strncmp(o->public_url, "http://", 7) && strncmp(o->public_url, "https://", 8))
		return err__fail(err, EINVAL, "--public-url must be an http:// or https:// URL");
	cleanup_free char *password = NULL;
	if (read_password(o->password_file, &password, err) < 0)
		return -1;
	struct db *db;
	struct identity id;
	if (open_state(o, &db, &id, err) < 0)
		return -1;
	struct identity_bootstrap b = {.admin_password = password, .public_url = o->public_url,
				       .region = o->region};
	int rc = identity__bootstrap(&id, &b, err);
	identity__fini(&id);
	db__close(db);
	if (rc == 0)
		printf("bootstrapped: Default domain, admin user and project, roles, catalog\n");
	return rc;
}

/* The heartbeat and the reconciliation pass, started once serve listens. */
struct background {
	struct cloud *cloud;
	const char *state_dir;
	struct hosts_poller *poller;
	struct servers_reconcile *reconcile;
};

static int start_background(void *arg, struct st_err *err)
{
	struct background *bg = arg;
	struct cloud *c = bg->cloud;
	if (hosts__poller_start(c->db, &c->hosts, &bg->poller, err) < 0)
		return -1;
	return servers_reconcile__start(&c->servers, bg->state_dir, c->hosts.poll_interval_s, &bg->reconcile,
					err);
}

static int cmd_serve(const struct options *o, struct st_err *err)
{
	if (!o->listen)
		return err__fail(err, EINVAL, "serve needs --listen HOST:PORT");
	if (!o->tls_cert != !o->tls_key)
		return err__fail(err, EINVAL, "--tls-cert and --tls-key go together");
	struct cloud cloud = {0};
	/* A bad scheduler configuration stops the daemon before it serves anything. */
	scheduler__config_default(&cloud.scheduler);
	if (o->scheduler_config && scheduler__config_load(o->scheduler_config, &cloud.scheduler, err) < 0)
		return err__prefix(err, "--scheduler-config");
	if (open_state(o, &cloud.db, &cloud.identity, err) < 0)
		return -1;
	if (o->token_expiration)
		cloud.identity.token_ttl = o->token_expiration;
	if (o->password_cache >= 0)
		password__set_cache_seconds((unsigned)o->password_cache);
	char image_dir[4096];
	snprintf(image_dir, sizeof(image_dir), "%s/images", o->state_dir);
	cloud.images.quota_count = o->image_quota_count;
	cloud.images.quota_bytes = o->image_quota_bytes;
	cloud.images.import_max_bytes = o->image_size_cap;
	cloud.images.import_ports = o->image_import_ports;
	struct serve_opts so = {.listen = o->listen, .tls_cert = o->tls_cert, .tls_key = o->tls_key};
	/* compute's defaults beside identity's; an operator's file overrides both */
	int rc = policy__add_defaults(cloud.identity.policy, compute_policy__rules,
				      compute_policy__n_rules, err);
	if (rc == 0 && o->policy_file)
		rc = policy__load_file(cloud.identity.policy, o->policy_file, err);
	if (rc == 0)
		rc = images__init(&cloud.images, cloud.db, &cloud.identity,
				  o->image_dir ? o->image_dir : image_dir, err);
	cloud.hosts = (struct hosts_config){o->poll_interval ? o->poll_interval : HOSTS_POLL_INTERVAL_DEFAULT,
					    o->service_down ? o->service_down : HOSTS_SERVICE_DOWN_DEFAULT};
	bool images = rc == 0;
	char host_url[SERVERS_URL_MAX];
	snprintf(host_url, sizeof(host_url), "%s://%s", o->tls_cert ? "https" : "http", o->listen);
	bool servers = false;
	if (rc == 0)
		rc = servers__init(&cloud.servers, cloud.db, &cloud.images, &cloud.scheduler, &cloud.hosts,
				   o->fetch_url ? o->fetch_url : host_url, err);
	servers = rc == 0;
	struct background bg = {.cloud = &cloud, .state_dir = o->state_dir};
	so.listening = start_background;
	so.listening_arg = &bg;
	if (rc == 0)
		rc = serve__run(&cloud, &so, err);
	hosts__poller_stop(bg.poller);
	servers_reconcile__stop(bg.reconcile);
	if (servers)
		servers__fini(&cloud.servers);
	if (images)
		images__fini(&cloud.images); /* web-download's fetches in flight */
	identity__fini(&cloud.identity);
	db__close(cloud.db);
	return rc;
}

static int cmd_fernet_rotate(const struct options *o, struct st_err *err)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/fernet-keys", o->state_dir);
	if (fernet_keys__setup(dir, err) < 0 ||
	    fernet_keys__rotate(dir, o->max_active ? o->max_active : FERNET_KEYS_DEFAULT_ACTIVE, err) < 0)
		return -1;
	struct fernet_keys keys;
	if (fernet_keys__load(dir, &keys, err) < 0)
		return -1;
	printf("primary key %u, %zu keys\n", keys.numbers[0], keys.n);
	return 0;
}

static int cmd_host_add(const struct options *o, struct st_err *err)
{
	if (!o->host_name || !o->host_url || !o->token_file)
		return err__fail(err, EINVAL, "host-add needs --name, --url and --token-file");
	cleanup_free char *token = NULL;
	if (token_file__read(o->token_file, 1, &token, err) < 0)
		return err__prefix(err, "--token-file");
	struct db *db;
	struct identity id;
	if (open_state(o, &db, &id, err) < 0)
		return -1;
	int rc = hosts__add(db, o->host_name, o->host_url, token, err);
	identity__fini(&id);
	db__close(db);
	if (rc == 0)
		printf("host %s added (%s)\n", o->host_name, o->host_url);
	return rc;
}

static volatile sig_atomic_t stop_requested;

static void request_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* The database the simulation runs on: --db, -d's, or a throwaway one in
 * throwaway (a directory it makes; the caller removes it). */
static int open_sim_db(const struct options *o, char throwaway[64], struct db **db, char where[128],
		       struct st_err *err)
{
	char url[4200];
	if (!o->db_url && !o->state_dir) {
		snprintf(throwaway, 64, "/tmp/strata-cloud-sim-XXXXXX");
		if (!mkdtemp(throwaway))
			return err__fail_errno(err, "cannot make a throwaway directory in /tmp");
	}
	snprintf(url, sizeof(url), "sqlite:%s/cloud.db", o->state_dir ? o->state_dir : throwaway);
	if (db__open(o->db_url ? o->db_url : url, db, err) < 0)
		return -1;
	if (*throwaway)
		snprintf(where, 128, "a throwaway sqlite database (%s)", throwaway);
	else
		snprintf(where, 128, "%s", db__kind(*db) == DB_POSTGRES ? "postgresql" : "sqlite");
	if (compute__migrate(*db, err) < 0) {
		db__close(*db);
		return -1;
	}
	return 0;
}

static void remove_throwaway(const char *dir)
{
	static const char *const files[] = {"cloud.db", "cloud.db-wal", "cloud.db-shm", "cloud.db-journal"};
	char path[128];
	for (size_t i = 0; i < ST_ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	if (rmdir(dir) < 0)
		fprintf(stderr, "strata-cloud: could not remove %s: %s\n", dir, strerror(errno));
}

static int cmd_scheduler_sim(const struct options *o, struct st_err *err)
{
	struct scheduler_config cfg;
	scheduler__config_default(&cfg);
	if (o->scheduler_config && scheduler__config_load(o->scheduler_config, &cfg, err) < 0)
		return err__prefix(err, "--scheduler-config");
	/* a list not given: the configuration file's, else the target's */
	const char *fallback[] = {o->scheduler_config ? NULL : sim_hosts__filters,
				  o->scheduler_config ? NULL : sim_hosts__weighers};
	if (sim_hosts__config(o->sim_filters ? o->sim_filters : fallback[0],
			      o->sim_weighers ? o->sim_weighers : fallback[1], &cfg, err) < 0)
		return -1;
	char throwaway[64] = "", where[128];
	struct db *db;
	struct scheduler_sim_opts so = {.hosts = o->sim_hosts ? o->sim_hosts : 1000,
					.requests = o->sim_requests ? o->sim_requests : 100,
					.where = where, .stop = &stop_requested};
	if (open_sim_db(o, throwaway, &db, where, err) < 0) {
		if (*throwaway)
			remove_throwaway(throwaway);
		return -1;
	}
	struct sigaction sa = {.sa_handler = request_stop};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int rc = scheduler_sim__run(db, &cfg, &so, stdout, err);
	db__close(db);
	if (*throwaway)
		remove_throwaway(throwaway);
	return rc;
}

int main(int argc, char **argv)
{
	err__set_progname("strata-cloud");
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	static const struct {
		const char *name;
		int (*run)(const struct options *, struct st_err *);
	} commands[] = {
		{"serve", cmd_serve},
		{"bootstrap", cmd_bootstrap},
		{"fernet-rotate", cmd_fernet_rotate},
		{"host-add", cmd_host_add},
		{"scheduler-sim", cmd_scheduler_sim},
	};
	struct st_err err = {0};
	for (size_t i = 0; i < ST_ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		struct options o = {.password_cache = -1,
				     .state_optional = commands[i].run == cmd_scheduler_sim};
		if (parse(argc - 1, argv + 1, &o, &err) < 0 || commands[i].run(&o, &err) < 0) {
			err__print(&err);
			return 1;
		}
		return 0;
	}
	fprintf(stderr, "strata-cloud: unknown command '%s' (strata-cloud --help)\n", argv[1]);
	return 2;
}
