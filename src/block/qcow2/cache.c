#include "block/qcow2/cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

int qcow2__cache_init(struct qcow2_cache *c, unsigned n, size_t table_size, struct blk *b, struct st_err *err)
{
	memset(c, 0, sizeof(*c));
	if (n < 2)
		n = 2;
	c->e = calloc(n, sizeof(*c->e));
	if (!c->e)
		return err__fail(err, ENOMEM, "metadata cache");
	c->n = n;
	c->table_size = table_size;
	c->b = b;
	return 0;
}

void qcow2__cache_destroy(struct qcow2_cache *c)
{
	if (!c->e)
		return;
	for (unsigned i = 0; i < c->n; i++)
		free(c->e[i].data);
	free(c->e);
	c->e = NULL;
}

static int cache_write_entry(struct qcow2_cache *c, struct qcow2_cache_entry *e, struct st_err *err)
{
	if (!e->dirty)
		return 0;
	if (c->depends_on && qcow2__cache_flush(c->depends_on, err) < 0)
		return -1;
	if (block__file_pwrite(c->b, e->data, c->table_size, e->offset, err) < 0)
		return err__prefix(err, "writing metadata table");
	e->dirty = false;
	return 0;
}

static int cache_slot(struct qcow2_cache *c, uint64_t offset, bool *hit, struct st_err *err)
{
	if (c->e[c->last].offset == offset) {
		*hit = true;
		return (int)c->last;
	}
	unsigned victim = 0;
	for (unsigned i = 0; i < c->n; i++) {
		if (c->e[i].offset == offset) {
			*hit = true;
			c->last = i;
			return (int)i;
		}
		if (c->e[i].lru < c->e[victim].lru)
			victim = i;
	}
	*hit = false;
	struct qcow2_cache_entry *e = &c->e[victim];
	if (e->offset && cache_write_entry(c, e, err) < 0)
		return -1;
	if (!e->data) {
		e->data = block__alloc_io(c->table_size);
		if (!e->data)
			return err__fail(err, ENOMEM, "metadata cache");
	}
	e->offset = 0;
	c->last = victim;
	return (int)victim;
}

static int cache_get(struct qcow2_cache *c, uint64_t offset, void **data, bool read, struct st_err *err)
{
	bool hit;
	int i = cache_slot(c, offset, &hit, err);
	if (i < 0)
		return -1;
	struct qcow2_cache_entry *e = &c->e[i];
	if (!hit) {
		c->misses++;
		if (read) {
			if (block__file_pread(c->b, e->data, c->table_size, offset, err) < 0)
				return err__prefix(err, "reading metadata table");
		} else {
			memset(e->data, 0, c->table_size);
		}
		e->offset = offset;
		e->dirty = false;
	} else {
		c->hits++;
		if (!read)
			memset(e->data, 0, c->table_size);
	}
	e->lru = ++c->tick;
	*data = e->data;
	return 0;
}

int qcow2__cache_get(struct qcow2_cache *c, uint64_t offset, void **data, struct st_err *err)
{
	return cache_get(c, offset, data, true, err);
}

int qcow2__cache_get_empty(struct qcow2_cache *c, uint64_t offset, void **data, struct st_err *err)
{
	return cache_get(c, offset, data, false, err);
}

void qcow2__cache_mark_dirty(struct qcow2_cache *c, const void *data)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->e[i].data == data && c->e[i].offset) {
			c->e[i].dirty = true;
			return;
		}
}

int qcow2__cache_flush(struct qcow2_cache *c, struct st_err *err)
{
	if (c->depends_on && qcow2__cache_flush(c->depends_on, err) < 0)
		return -1;
	for (unsigned i = 0; i < c->n; i++)
		if (c->e[i].offset && cache_write_entry(c, &c->e[i], err) < 0)
			return -1;
	return 0;
}

void qcow2__cache_forget(struct qcow2_cache *c, uint64_t offset)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->e[i].offset == offset) {
			c->e[i].offset = 0;
			c->e[i].dirty = false;
			c->e[i].lru = 0;
		}
}

bool qcow2__cache_is_dirty(const struct qcow2_cache *c)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->e[i].offset && c->e[i].dirty)
			return true;
	return false;
}
