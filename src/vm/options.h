#ifndef STRATA_VM_OPTIONS_H
#define STRATA_VM_OPTIONS_H

#include "common/err.h"
#include "vm/vm.h"

/* Parses the command line into cfg. Returns 1 when the program should exit 0
 * at once (--help, --version), 0 to run, < 0 on bad usage. */
int options__parse(int argc, char **argv, struct vm_config *cfg, struct st_err *err);

#endif
