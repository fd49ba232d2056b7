/* An operator's policy file (Keystone's policy.yaml or policy.json): one
 * mapping of rule names to check strings, read with libyaml (JSON is YAML's
 * flow style, so one reader takes both, as oslo.policy's yaml.safe_load). */
#include "cloud/policy/policy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include "common/cleanup.h"

struct reader {
	yaml_parser_t parser;
	const char *path;
	struct st_err *err;
};

static int next(struct reader *r, yaml_event_t *ev)
{
	if (yaml_parser_parse(&r->parser, ev))
		return 0;
	return err__fail_class(r->err, EINVAL, "policy file %s: line %zu: %s", r->path,
			       r->parser.problem_mark.line + 1,
			       r->parser.problem ? r->parser.problem : "malformed YAML");
}

static int bad(struct reader *r, const yaml_event_t *ev, const char *what)
{
	return err__fail_class(r->err, EINVAL, "policy file %s: line %zu: %s", r->path,
			       ev->start_mark.line + 1, what);
}

/* The pairs of the top mapping, up to its end. */
static int read_pairs(struct reader *r, struct policy *p)
{
	for (;;) {
		yaml_event_t key, value;
		if (next(r, &key) < 0)
			return -1;
		if (key.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&key);
			return 0;
		}
		if (key.type != YAML_SCALAR_EVENT) {
			int rc = bad(r, &key, "a rule name must be a string");
			yaml_event_delete(&key);
			return rc;
		}
		if (next(r, &value) < 0) {
			yaml_event_delete(&key);
			return -1;
		}
		int rc = 0;
		const char *name = (const char *)key.data.scalar.value;
		if (value.type != YAML_SCALAR_EVENT)
			rc = err__fail_class(r->err, EINVAL, "policy file %s: line %zu: rule %s: the check"
					     " must be a string", r->path, value.start_mark.line + 1, name);
		else if (policy__set(p, name, (const char *)value.data.scalar.value, r->err) < 0)
			rc = err__prefix(r->err, "policy file %s: line %zu", r->path,
					 value.start_mark.line + 1);
		yaml_event_delete(&key);
		yaml_event_delete(&value);
		if (rc < 0)
			return -1;
	}
}

/* Events up to the top mapping's start; 1 when the document is empty. */
static int read_start(struct reader *r)
{
	for (;;) {
		yaml_event_t ev;
		if (next(r, &ev) < 0)
			return -1;
		yaml_event_type_t t = ev.type;
		int rc = 0;
		if (t == YAML_MAPPING_START_EVENT)
			rc = 0;
		else if (t == YAML_STREAM_END_EVENT || t == YAML_DOCUMENT_END_EVENT)
			rc = 1;
		else if (t != YAML_STREAM_START_EVENT && t != YAML_DOCUMENT_START_EVENT)
			rc = bad(r, &ev, "expected a mapping of rule names to check strings");
		yaml_event_delete(&ev);
		if (rc != 0 || t == YAML_MAPPING_START_EVENT)
			return rc;
	}
}

/* The file or text r's parser was given. */
static int load(struct reader *r, struct policy *p)
{
	int rc = read_start(r);
	if (rc == 0)
		rc = read_pairs(r, p);
	yaml_parser_delete(&r->parser);
	return rc < 0 ? -1 : 0;
}

int policy__load_file(struct policy *p, const char *path, struct st_err *err)
{
	cleanup_fclose FILE *f = fopen(path, "r");
	if (!f)
		return err__fail_errno(err, "policy file %s", path);
	struct reader r = {.path = path, .err = err};
	if (!yaml_parser_initialize(&r.parser))
		return err__fail_class(err, ENOMEM, "out of memory");
	yaml_parser_set_input_file(&r.parser, f);
	return load(&r, p);
}

int policy__load_text(struct policy *p, const char *text, size_t len, const char *name,
		      struct st_err *err)
{
	struct reader r = {.path = name, .err = err};
	if (!yaml_parser_initialize(&r.parser))
		return err__fail_class(err, ENOMEM, "out of memory");
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
	return load(&r, p);
}
