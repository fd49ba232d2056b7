/* The control socket: JSON lines, QMP-like. A request is
 *   {"execute": "status", "arguments": {...}, "id": any}
 * and the reply {"return": {...}, "id": ...} or
 *   {"error": {"class": "...", "desc": "..."}, "id": ...}.
 * Commands live in one table (control.c); later work adds rows to it. */
#ifndef STRATA_VM_CONTROL_H
#define STRATA_VM_CONTROL_H

#include "common/err.h"

struct vm;

int control__open(struct vm *vm, const char *path, struct st_err *err);
void control__close(void);

#endif
