/* The libvirt XML documents stratad reads (domains, networks, pools):
 * parsed with no DTD, no entities and no network, and the helpers their
 * importers share to keep exactly what they understand: every attribute
 * and child element is either known to the importer or refused with one
 * line naming it, and an element given twice where libvirt allows one is
 * refused (libvirt's own parser would take one of them silently). */
#ifndef STRATA_HOST_XMLDOC_H
#define STRATA_HOST_XMLDOC_H

#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* Parses xml; its root must be <root>. Free *out with xmlFreeDoc. */
int xmldoc__read(const char *xml, size_t len, const char *root, xmlDoc **out, struct st_err *err);

bool xmldoc__is(const xmlNode *n, const char *name);
/* A malloc'd attribute value or text content (NULL when absent): xmlFree it. */
char *xmldoc__attr(const xmlNode *n, const char *name);
char *xmldoc__text(const xmlNode *n);
/* Whether n's attribute name is absent or one of values (NULL-terminated). */
bool xmldoc__attr_in(const xmlNode *n, const char *name, const char *const *values);

/* Refuses an attribute of n not in allowed (NULL-terminated) and a child
 * element that appears twice unless it is in repeatable (NULL-terminated,
 * may be NULL). where is the path to n's parent in messages, as "<domain><devices>". */
int xmldoc__check(const xmlNode *n, const char *where, const char *const *allowed,
		  const char *const *repeatable, struct st_err *err);
/* One line for an element that stratad does not support: "<where><name ...> ...". */
int xmldoc__unsupported(const xmlNode *n, const char *where, const char *why, struct st_err *err);
/* Whether name is in list (NULL-terminated). */
bool xmldoc__in(const char *name, const char *const *list);

/* Building exports: a child element with text (or none when text is NULL)
 * and attributes as name/value pairs ending with NULL; a NULL value skips
 * its attribute. */
xmlNode *xmldoc__add(xmlNode *parent, const char *name, const char *text, ...) __attribute__((sentinel));
/* The document as malloc'd UTF-8 text; frees doc. */
char *xmldoc__dump(xmlDoc *doc);

#endif
