/* A scratch directory for one cmocka test program: its group setup makes
 * it, its teardown removes it with all inside. */
#ifndef STRATA_TESTS_UNIT_TMPDIR_H
#define STRATA_TESTS_UNIT_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

static char tmpdir[] = "/tmp/strata-unit-XXXXXX";

static int tmpdir_setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int tmpdir_teardown(void **state)
{
	(void)state;
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd);
}

#endif
