/* update [-r FILE|-] [--memory N] ... ID: live limits of a running container. */
#include "ctr/ctr_cmd.h"

#include <stdint.h>
#include <string.h>

#include "common/util.h"
#include "ctr/config.h"
#include "ctr/container.h"

static const struct option opts[] = {
	{"resources", required_argument, NULL, 'r'}, {"memory", required_argument, NULL, 'm'},
	{"memory-swap", required_argument, NULL, 's'}, {"pids-limit", required_argument, NULL, 'p'},
	{"cpu-quota", required_argument, NULL, 'q'}, {"cpu-period", required_argument, NULL, 'P'},
	{"cpu-share", required_argument, NULL, 'S'}, {"cpuset-cpus", required_argument, NULL, 'c'},
	{"cpuset-mems", required_argument, NULL, 'M'}, {"blkio-weight", required_argument, NULL, 'b'},
	{"memory-reservation", required_argument, NULL, 'R'}, {NULL, 0, NULL, 0}};

static const char *option_name(int c)
{
	for (size_t i = 0; opts[i].name; i++)
		if (opts[i].val == c)
			return opts[i].name;
	return "?";
}

/* One numeric option into res; -1 means unlimited where the knob is signed. */
static int set_number(struct ctr_resources *res, int c, const char *arg, struct st_err *err)
{
	uint64_t v = 0;
	bool neg = !strcmp(arg, "-1");
	if (!neg && util__parse_size(arg, 1, &v, err) < 0)
		return err__prefix(err, "update --%s", option_name(c));
	int64_t sv = neg ? -1 : (int64_t)v;
	switch (c) {
	case 'm': res->mem_limit = sv; res->set |= RES_MEM_LIMIT; break;
	case 's': res->mem_swap = sv; res->set |= RES_MEM_SWAP; break;
	case 'R': res->mem_reservation = sv; res->set |= RES_MEM_RESERVATION; break;
	case 'p': res->pids_limit = sv; res->set |= RES_PIDS; break;
	case 'q': res->cpu_quota = sv; res->set |= RES_CPU_QUOTA; break;
	case 'P': res->cpu_period = v; res->set |= RES_CPU_PERIOD; break;
	case 'S': res->cpu_shares = v; res->set |= RES_CPU_SHARES; break;
	case 'b': res->blkio_weight = v; res->set |= RES_BLKIO_WEIGHT; break;
	}
	return 0;
}

/* linux.resources from FILE or stdin (-), as runc's --resources. */
static int load_resources(struct ctr_config *cfg, const char *file, struct st_err *err)
{
	json_error_t jerr;
	cfg->json = !strcmp(file, "-") ? json_loadf(stdin, 0, &jerr) : json_load_file(file, 0, &jerr);
	if (!json_is_object(cfg->json))
		return err__fail(err, 0, "%s: not a JSON object: %s", file, jerr.text);
	return config__parse_resources(cfg, cfg->json, err);
}

static int parse_and_update(const struct ctr_cmd_global *g, int argc, char **argv, struct ctr_config *cfg,
			    struct st_err *err)
{
	struct ctr_resources *res = &cfg->res;
	const char *file = NULL;
	int c;
	while ((c = ctr_cmd__getopt(argc, argv, "r:", opts)) != -1) {
		if (c == '?' || c == ':')
			return ctr_cmd__bad_option(argv, c, err);
		if (c == 'r') {
			file = optarg;
		} else if (c == 'c' || c == 'M') {
			*(c == 'c' ? &res->cpus : &res->mems) = optarg;
			res->set |= c == 'c' ? RES_CPUS : RES_MEMS;
		} else if (set_number(res, c, optarg, err) < 0) {
			return -1;
		}
	}
	if (ctr_cmd__need_id(argc, argv, err) < 0)
		return -1;
	if (file && load_resources(cfg, file, err) < 0)
		return -1;
	return container__update(g->root, argv[optind], res, err);
}

static int cmd_update(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	struct ctr_config *cfg = config__new_empty();
	int r = parse_and_update(g, argc, argv, cfg, err);
	config__free(cfg);
	return r;
}

const struct ctr_cmd ctr_cmd__update = {"update", cmd_update};
