#include "host/xmldoc.h"

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool xmldoc__is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

char *xmldoc__attr(const xmlNode *n, const char *name)
{
	return (char *)xmlGetProp(n, (const xmlChar *)name);
}

char *xmldoc__text(const xmlNode *n)
{
	return (char *)xmlNodeGetContent(n);
}

bool xmldoc__in(const char *name, const char *const *list)
{
	for (size_t i = 0; list && list[i]; i++)
		if (!strcmp(name, list[i]))
			return true;
	return false;
}

bool xmldoc__attr_in(const xmlNode *n, const char *name, const char *const *values)
{
	char *v = xmldoc__attr(n, name);
	bool ok = !v || xmldoc__in(v, values);
	xmlFree(v);
	return ok;
}

int xmldoc__unsupported(const xmlNode *n, const char *where, const char *why, struct st_err *err)
{
	return err__fail(err, 0, "%s<%s> is not supported%s%s", where, n->name, why ? ": " : "", why ? why : "");
}

int xmldoc__check(const xmlNode *n, const char *where, const char *const *allowed,
		  const char *const *repeatable, struct st_err *err)
{
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		if (a->ns && a->ns->prefix) /* xmlns-qualified: another tool's, as libvirt keeps them */
			return err__fail(err, 0, "%s<%s> attribute %s:%s is not supported", where, n->name, a->ns->prefix,
					 a->name);
		if (!xmldoc__in((const char *)a->name, allowed)) {
			char *v = xmldoc__attr(n, (const char *)a->name);
			err__fail(err, 0, "%s<%s> attribute %s='%.40s' is not supported", where, n->name, a->name,
				  v ? v : "");
			xmlFree(v);
			return -1;
		}
	}
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || xmldoc__in((const char *)c->name, repeatable))
			continue;
		for (const xmlNode *d = c->next; d; d = d->next)
			if (xmldoc__is(d, (const char *)c->name))
				return err__fail(err, 0, "%s<%s><%s> is given twice", where, n->name, c->name);
	}
	return 0;
}

static void silent_errors(void *ctx, const char *msg, ...)
{
	(void)ctx, (void)msg;
}

/* libxml2 goes on after an error and reports what follows from it; the
 * first error is the cause, so that one is kept. */
static void keep_first_error(void *first, xmlErrorPtr e)
{
	xmlError *keep = first;
	if (keep->code == XML_ERR_OK && e && e->level >= XML_ERR_ERROR)
		xmlCopyError(e, keep);
}

/* A definition never needs a DTD: an entity can grow a 1 MiB body into
 * gigabytes (inside attributes too, where libxml2 expands them whatever the
 * options), and an external one names a host file or a URL. So a DOCTYPE
 * with an external identifier and any entity declaration stop the parse at
 * once, before anything is expanded; a bare <!DOCTYPE domain> is harmless. */
struct xml_guard {
	char refused[160];
};

static void refuse(xmlParserCtxtPtr c, const char *what, const xmlChar *name)
{
	struct xml_guard *g = c->_private;
	if (!g->refused[0])
		snprintf(g->refused, sizeof(g->refused), "%s%s%s are not accepted (no DTD, no entities)", what,
			 name ? " " : "", name ? (const char *)name : "");
	xmlStopParser(c);
}

static void guard_subset(void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
	if (external_id || system_id)
		refuse(ctx, "DOCTYPEs with an external DTD like", name);
	else
		xmlSAX2InternalSubset(ctx, name, external_id, system_id);
}

static void guard_entity(void *ctx, const xmlChar *name, int type, const xmlChar *public_id, const xmlChar *system_id,
			 xmlChar *content)
{
	(void)type, (void)public_id, (void)system_id, (void)content;
	refuse(ctx, "entity declarations like", name);
}

/* libxml2 calls this at the end of every DOCTYPE; only one naming a DTD is refused */
static void guard_external(void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
	if (external_id || system_id)
		refuse(ctx, "DOCTYPEs with an external DTD like", name);
}

static xmlDoc *read_guarded(const char *xml, size_t len, struct xml_guard *g)
{
	xmlParserCtxtPtr c = xmlNewParserCtxt();
	if (!c)
		return NULL;
	c->sax->internalSubset = guard_subset;
	c->sax->externalSubset = guard_external;
	c->sax->entityDecl = guard_entity;
	c->_private = g;
	/* NONET: never fetch; no NOENT, DTDLOAD, DTDATTR, XINCLUDE, HUGE: nothing
	 * is substituted, loaded or included, and libxml2's own limits stay */
	xmlDoc *doc = xmlCtxtReadMemory(c, xml, (int)len, "definition.xml", NULL,
					XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (g->refused[0] && doc) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(c);
	return doc;
}

int xmldoc__read(const char *xml, size_t len, const char *root, xmlDoc **out, struct st_err *err)
{
	if (len > INT_MAX)
		return err__fail(err, 0, "XML document too large");
	xmlSetGenericErrorFunc(NULL, silent_errors);
	xmlError first = {0};
	struct xml_guard guard = {0};
	xmlSetStructuredErrorFunc(&first, keep_first_error);
	xmlDoc *doc = read_guarded(xml, len, &guard);
	xmlSetStructuredErrorFunc(NULL, NULL);
	if (guard.refused[0]) {
		xmlResetError(&first);
		return err__fail(err, 0, "invalid XML: %s", guard.refused);
	}
	if (!doc) {
		const xmlError *e = first.code != XML_ERR_OK ? &first : xmlGetLastError();
		char msg[200] = "not well-formed";
		if (e && e->message) {
			snprintf(msg, sizeof(msg), "%s", e->message);
			msg[strcspn(msg, "\n")] = 0;
		}
		int line = e ? e->line : 0;
		xmlResetError(&first);
		return err__fail(err, 0, "invalid XML (line %d): %s", line, msg);
	}
	xmlResetError(&first);
	const xmlNode *r = xmlDocGetRootElement(doc);
	if (!r || !xmldoc__is(r, root)) {
		err__fail(err, 0, "the document's root is <%s>, not <%s>", r ? (const char *)r->name : "", root);
		xmlFreeDoc(doc);
		return -1;
	}
	*out = doc;
	return 0;
}

xmlNode *xmldoc__add(xmlNode *parent, const char *name, const char *text, ...)
{
	xmlNode *n = text ? xmlNewTextChild(parent, NULL, (const xmlChar *)name, (const xmlChar *)text)
			  : xmlNewChild(parent, NULL, (const xmlChar *)name, NULL);
	va_list ap;
	va_start(ap, text);
	for (const char *k; (k = va_arg(ap, const char *));) {
		const char *v = va_arg(ap, const char *);
		if (v)
			xmlNewProp(n, (const xmlChar *)k, (const xmlChar *)v);
	}
	va_end(ap);
	return n;
}

char *xmldoc__dump(xmlDoc *doc)
{
	xmlChar *mem = NULL;
	int size = 0;
	xmlDocDumpFormatMemoryEnc(doc, &mem, &size, "UTF-8", 1);
	xmlFreeDoc(doc);
	char *text = mem ? strndup((const char *)mem, (size_t)size) : NULL;
	xmlFree(mem);
	return text;
}
