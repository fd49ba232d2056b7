/* oslo.policy's check language: a tokenizer and a recursive-descent parser
 * into a small tree per rule (precedence: not, and, or, as oslo's
 * shift-reduce parser gives), and its evaluation against credentials and a
 * target (oslo_policy/_checks.py's semantics, GenericCheck included). */
#include "cloud/policy/policy.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"

/* rule:a -> rule:b -> ... deeper than this is a loop: denied. */
#define POLICY_DEPTH_MAX 32
/* What a hostile (or mistaken) policy file cannot pass. A check string has
 * at most this many tokens and this deep a nesting of parentheses and
 * "not" (each is a frame of the parser's recursion); one policy__check
 * evaluates at most STEPS_MAX nodes ("rule:b or rule:b" chained through 30
 * rules would be 2^30) and NEST_MAX nested ones, and denies past either. */
#define POLICY_TOKENS_MAX 1024
#define POLICY_PARSE_NEST_MAX 100
#define POLICY_STEPS_MAX 100000
#define POLICY_NEST_MAX 1000

enum node_kind { N_TRUE, N_FALSE, N_AND, N_OR, N_NOT, N_RULE, N_ROLE, N_GENERIC };

struct node {
	enum node_kind kind;
	struct node *l, *r;
	char *kind_text; /* GENERIC: the left side */
	char *match;     /* RULE, ROLE, GENERIC: the right side */
};

struct rule {
	char *name;
	struct node *root;
};

struct policy {
	struct rule *rules; /* sorted by name */
	size_t n, cap;
};

static void node_free(struct node *n)
{
	if (!n)
		return;
	node_free(n->l);
	node_free(n->r);
	free(n->kind_text);
	free(n->match);
	free(n);
}

/* --- parsing --- */

enum tok_kind { T_END, T_LPAREN, T_RPAREN, T_AND, T_OR, T_NOT, T_CHECK };

struct tok {
	enum tok_kind kind;
	char *text; /* T_CHECK */
};

struct parser {
	struct tok *toks;
	size_t n, pos;
	const char *check;
	struct st_err *err;
	unsigned nest; /* parse_unary's recursion */
};

static int push(struct parser *ps, enum tok_kind kind, const char *text, size_t len)
{
	if (ps->n == POLICY_TOKENS_MAX)
		return err__fail_class(ps->err, EINVAL, "policy: more than %d tokens in check string"
						       " '%.200s'", POLICY_TOKENS_MAX, ps->check);
	struct tok *t = realloc(ps->toks, (ps->n + 1) * sizeof(*t));
	if (!t)
		return err__fail_class(ps->err, ENOMEM, "out of memory");
	ps->toks = t;
	t[ps->n].kind = kind;
	t[ps->n].text = text ? strndup(text, len) : NULL;
	if (text && !t[ps->n].text)
		return err__fail_class(ps->err, ENOMEM, "out of memory");
	ps->n++;
	return 0;
}

/* oslo's _parse_tokenize: words split on white space, leading and trailing
 * parentheses of a word are tokens of their own. */
static int tokenize(struct parser *ps, const char *s)
{
	while (*s) {
		while (isspace((unsigned char)*s))
			s++;
		size_t len = 0;
		while (s[len] && !isspace((unsigned char)s[len]))
			len++;
		if (!len)
			break;
		const char *w = s;
		s += len;
		for (; len && *w == '('; w++, len--)
			if (push(ps, T_LPAREN, NULL, 0) < 0)
				return -1;
		size_t trail = 0;
		while (trail < len && w[len - 1 - trail] == ')')
			trail++;
		len -= trail;
		if (len) {
			enum tok_kind k = T_CHECK;
			if (len == 3 && !strncasecmp(w, "and", 3))
				k = T_AND;
			else if (len == 2 && !strncasecmp(w, "or", 2))
				k = T_OR;
			else if (len == 3 && !strncasecmp(w, "not", 3))
				k = T_NOT;
			if (push(ps, k, k == T_CHECK ? w : NULL, len) < 0)
				return -1;
		}
		for (; trail; trail--)
			if (push(ps, T_RPAREN, NULL, 0) < 0)
				return -1;
	}
	return push(ps, T_END, NULL, 0);
}

static int syntax(struct parser *ps, const char *what)
{
	return err__fail_class(ps->err, EINVAL, "policy: %s in check string '%.200s'", what, ps->check);
}

static struct node *new_node(struct parser *ps, enum node_kind kind, struct node *l, struct node *r)
{
	struct node *n = calloc(1, sizeof(*n));
	if (!n) {
		node_free(l);
		node_free(r);
		err__fail_class(ps->err, ENOMEM, "out of memory");
		return NULL;
	}
	n->kind = kind;
	n->l = l;
	n->r = r;
	return n;
}

/* One "kind:match" word (oslo's _parse_check). */
static struct node *check_node(struct parser *ps, const char *w)
{
	if (!strcmp(w, "@"))
		return new_node(ps, N_TRUE, NULL, NULL);
	if (!strcmp(w, "!"))
		return new_node(ps, N_FALSE, NULL, NULL);
	const char *colon = strchr(w, ':');
	if (!colon || colon == w) {
		syntax(ps, "a check is not KIND:MATCH");
		return NULL;
	}
	size_t klen = (size_t)(colon - w);
	enum node_kind kind = klen == 4 && !strncmp(w, "rule", 4)   ? N_RULE
			      : klen == 4 && !strncmp(w, "role", 4) ? N_ROLE
								    : N_GENERIC;
	if (klen == 4 && !strncmp(w, "http", 4)) {
		syntax(ps, "http checks are not supported");
		return NULL;
	}
	struct node *n = new_node(ps, kind, NULL, NULL);
	if (!n)
		return NULL;
	n->match = strdup(colon + 1);
	n->kind_text = kind == N_GENERIC ? strndup(w, klen) : NULL;
	if (!n->match || (kind == N_GENERIC && !n->kind_text)) {
		node_free(n);
		err__fail_class(ps->err, ENOMEM, "out of memory");
		return NULL;
	}
	return n;
}

static struct node *parse_or(struct parser *ps);

static struct node *parse_unary(struct parser *ps)
{
	struct tok *t = &ps->toks[ps->pos];
	if ((t->kind == T_NOT || t->kind == T_LPAREN) && ps->nest >= POLICY_PARSE_NEST_MAX) {
		syntax(ps, "parentheses and 'not' nested too deep");
		return NULL;
	}
	if (t->kind == T_NOT) {
		ps->pos++;
		ps->nest++;
		struct node *operand = parse_unary(ps);
		ps->nest--;
		return operand ? new_node(ps, N_NOT, operand, NULL) : NULL;
	}
	if (t->kind == T_LPAREN) {
		ps->pos++;
		ps->nest++;
		struct node *inner = parse_or(ps);
		ps->nest--;
		if (inner && ps->toks[ps->pos].kind != T_RPAREN) {
			node_free(inner);
			syntax(ps, "a '(' without its ')'");
			return NULL;
		}
		ps->pos++;
		return inner;
	}
	if (t->kind == T_CHECK) {
		ps->pos++;
		return check_node(ps, t->text);
	}
	syntax(ps, t->kind == T_END ? "an unexpected end" : "a misplaced operator or ')'");
	return NULL;
}

static struct node *parse_binary(struct parser *ps, enum tok_kind op)
{
	struct node *l = op == T_OR ? parse_binary(ps, T_AND) : parse_unary(ps);
	while (l && ps->toks[ps->pos].kind == op) {
		ps->pos++;
		struct node *r = op == T_OR ? parse_binary(ps, T_AND) : parse_unary(ps);
		if (!r) {
			node_free(l);
			return NULL;
		}
		l = new_node(ps, op == T_OR ? N_OR : N_AND, l, r);
	}
	return l;
}

static struct node *parse_or(struct parser *ps)
{
	return parse_binary(ps, T_OR);
}

static int parse(const char *check, struct node **out, struct st_err *err)
{
	struct parser ps = {.check = check, .err = err};
	int rc = tokenize(&ps, check);
	*out = NULL;
	if (rc == 0 && ps.n == 1) /* "" is always allowed (oslo's TrueCheck) */
		*out = new_node(&ps, N_TRUE, NULL, NULL);
	else if (rc == 0) {
		*out = parse_or(&ps);
		if (*out && ps.toks[ps.pos].kind != T_END) {
			node_free(*out);
			*out = NULL;
			syntax(&ps, "text after the end");
		}
	}
	for (size_t i = 0; i < ps.n; i++)
		free(ps.toks[i].text);
	free(ps.toks);
	return *out ? 0 : -1;
}

int policy__validate(const char *check, struct st_err *err)
{
	struct node *n;
	if (parse(check, &n, err) < 0)
		return -1;
	node_free(n);
	return 0;
}

/* --- the rule table --- */

int policy__new(struct policy **out, struct st_err *err)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : err__fail_class(err, ENOMEM, "out of memory");
}

void policy__free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->rules[i].name);
		node_free(p->rules[i].root);
	}
	free(p->rules);
	free(p);
}

/* The rule's index, or where it would go (*found says which). */
static size_t find(const struct policy *p, const char *name, bool *found)
{
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(p->rules[mid].name, name);
		if (c == 0)
			return *found = true, mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static int put(struct policy *p, const char *name, const char *check, bool replace,
	       struct st_err *err)
{
	bool found;
	size_t i = find(p, name, &found);
	if (found && !replace)
		return 0;
	struct node *root;
	if (parse(check, &root, err) < 0)
		return err__prefix(err, "rule %s", name);
	if (found) {
		node_free(p->rules[i].root);
		p->rules[i].root = root;
		return 0;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		struct rule *r = realloc(p->rules, cap * sizeof(*r));
		if (!r) {
			node_free(root);
			return err__fail_class(err, ENOMEM, "out of memory");
		}
		p->rules = r;
		p->cap = cap;
	}
	char *copy = strdup(name);
	if (!copy) {
		node_free(root);
		return err__fail_class(err, ENOMEM, "out of memory");
	}
	memmove(&p->rules[i + 1], &p->rules[i], (p->n - i) * sizeof(*p->rules));
	p->rules[i] = (struct rule){copy, root};
	p->n++;
	return 0;
}

int policy__add_defaults(struct policy *p, const struct policy_rule *rules, size_t n,
			 struct st_err *err)
{
	for (size_t i = 0; i < n; i++)
		if (put(p, rules[i].name, rules[i].check, false, err) < 0)
			return -1;
	return 0;
}

int policy__set(struct policy *p, const char *name, const char *check, struct st_err *err)
{
	return put(p, name, check, true, err);
}

/* --- evaluation --- */

/* Python's str() of a JSON value into buf; false for what has none here. */
static bool py_str(json_t *v, char *buf, size_t size)
{
	if (json_is_string(v))
		return (size_t)snprintf(buf, size, "%s", json_string_value(v)) < size;
	if (json_is_true(v) || json_is_false(v))
		return snprintf(buf, size, "%s", json_is_true(v) ? "True" : "False"), true;
	if (json_is_null(v))
		return snprintf(buf, size, "None"), true;
	if (json_is_integer(v))
		return snprintf(buf, size, "%lld", (long long)json_integer_value(v)), true;
	return false;
}

/* A top-level key "a.b" (oslo's flattened targets), else the path a -> b. */
static json_t *lookup(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);
	if (v || !strchr(name, '.'))
		return v;
	char path[256];
	if (snprintf(path, sizeof(path), "%s", name) >= (int)sizeof(path))
		return NULL;
	char *save = NULL;
	for (char *seg = strtok_r(path, ".", &save); seg && obj; seg = strtok_r(NULL, ".", &save))
		obj = json_object_get(obj, seg);
	return obj;
}

/* match % target: each %(name)s replaced; false when the target lacks one. */
static bool substitute(const char *match, json_t *target, char *out, size_t size)
{
	size_t o = 0;
	for (const char *s = match; *s;) {
		char piece[512];
		size_t plen;
		const char *end;
		if (s[0] == '%' && s[1] == '%') {
			piece[0] = '%', piece[1] = '\0', plen = 1, s += 2;
		} else if (s[0] == '%' && s[1] == '(' && (end = strstr(s, ")s"))) {
			char name[256];
			size_t nlen = (size_t)(end - s - 2);
			if (nlen >= sizeof(name))
				return false;
			memcpy(name, s + 2, nlen);
			name[nlen] = '\0';
			json_t *v = lookup(target, name);
			if (!v || !py_str(v, piece, sizeof(piece)))
				return false;
			plen = strlen(piece);
			s = end + 2;
		} else {
			piece[0] = *s++, piece[1] = '\0', plen = 1;
		}
		if (o + plen >= size)
			return false;
		memcpy(out + o, piece, plen + 1);
		o += plen;
	}
	out[o] = '\0';
	return true;
}

/* ast.literal_eval's cases that policies use: 'x', "x", True, False, None
 * and integers. */
static bool literal(const char *kind, char *out, size_t size)
{
	size_t len = strlen(kind);
	if (len >= 2 && (kind[0] == '\'' || kind[0] == '"') && kind[len - 1] == kind[0])
		return snprintf(out, size, "%.*s", (int)(len - 2), kind + 1), true;
	if (!strcmp(kind, "True") || !strcmp(kind, "False") || !strcmp(kind, "None"))
		return snprintf(out, size, "%s", kind), true;
	char *end;
	errno = 0;
	long long v = strtoll(kind, &end, 10);
	if (len && !*end && !errno && isdigit((unsigned char)kind[len - 1]))
		return snprintf(out, size, "%lld", v), true;
	return false;
}

/* oslo's _find_in_dict: the path through creds, lists fanning out. */
static bool find_in(json_t *v, char *path, const char *match)
{
	if (!path) {
		char buf[512];
		return py_str(v, buf, sizeof(buf)) && !strcmp(buf, match);
	}
	char *dot = strchr(path, '.');
	if (dot)
		*dot = '\0';
	json_t *next = json_object_get(v, path);
	bool ok = false;
	if (json_is_array(next)) {
		size_t i;
		json_t *e;
		json_array_foreach(next, i, e) {
			char rest[256];
			snprintf(rest, sizeof(rest), "%s", dot ? dot + 1 : "");
			if ((ok = find_in(e, dot ? rest : NULL, match)))
				break;
		}
	} else if (next) {
		ok = find_in(next, dot ? dot + 1 : NULL, match);
	}
	if (dot)
		*dot = '.';
	return ok;
}

/* One policy__check's evaluation: its budget, and whether it ran out (then
 * the answer is a denial, whatever a "not" above made of it). */
struct eval {
	const struct policy *p;
	json_t *creds, *target;
	size_t steps;
	unsigned nest;
	bool exhausted;
};

static bool eval(struct eval *ev, const struct node *n, int depth);

static bool eval_rule(struct eval *ev, const char *name, int depth)
{
	bool found;
	size_t i = find(ev->p, name, &found);
	return found && depth < POLICY_DEPTH_MAX && eval(ev, ev->p->rules[i].root, depth + 1);
}

/* A check of creds or target (a leaf): apart, so that its buffers are not
 * in every frame of eval's recursion. */
static __attribute__((noinline)) bool eval_leaf(const struct node *n, json_t *creds, json_t *target)
{
	char match[512], lit[512], path[256];
	if (!substitute(n->match, target, match, sizeof(match)))
		return false;
	if (n->kind == N_ROLE) {
		size_t i;
		json_t *r;
		json_array_foreach(json_object_get(creds, "roles"), i, r)
			if (json_is_string(r) && !strcasecmp(json_string_value(r), match))
				return true;
		return false;
	}
	if (literal(n->kind_text, lit, sizeof(lit)))
		return !strcmp(lit, match);
	if (snprintf(path, sizeof(path), "%s", n->kind_text) >= (int)sizeof(path))
		return false;
	return find_in(creds, path, match);
}

static bool eval(struct eval *ev, const struct node *n, int depth)
{
	if (ev->exhausted || ++ev->steps > POLICY_STEPS_MAX || ev->nest >= POLICY_NEST_MAX) {
		ev->exhausted = true;
		return false;
	}
	bool ok;
	ev->nest++;
	switch (n->kind) {
	case N_TRUE: ok = true; break;
	case N_FALSE: ok = false; break;
	case N_AND: ok = eval(ev, n->l, depth) && eval(ev, n->r, depth); break;
	case N_OR: ok = eval(ev, n->l, depth) || eval(ev, n->r, depth); break;
	case N_NOT: ok = !eval(ev, n->l, depth); break;
	case N_RULE: ok = eval_rule(ev, n->match, depth); break;
	default: ok = eval_leaf(n, ev->creds, ev->target); break;
	}
	ev->nest--;
	return ok;
}

bool policy__check(const struct policy *p, const char *rule, json_t *creds, json_t *target)
{
	bool found;
	json_t *empty = target ? NULL : json_object();
	find(p, rule, &found);
	struct eval ev = {.p = p, .creds = creds, .target = target ? target : empty};
	bool ok = eval_rule(&ev, found ? rule : "default", 0);
	json_decref(empty);
	return ok && !ev.exhausted;
}

int policy__enforce(const struct policy *p, const char *rule, json_t *creds, json_t *target,
		    struct st_err *err)
{
	if (policy__check(p, rule, creds, target))
		return 0;
	return err__fail_class(err, EPERM, "You are not authorized to perform the requested action: %s.",
			       rule);
}
