#include "vm/zydis_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct zydis_lib zy;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];
static char soname[32];

#define RESOLVE(h, name)                                                                    \
	((*(void **)&zy.name = dlsym(h, "Zydis" #name)) != NULL ||                          \
	 (snprintf(load_error, sizeof(load_error), "%s lacks Zydis" #name, soname), false))

static void load(void)
{
	/* The ABI of the structures above is that of the headers we were built with. */
	snprintf(soname, sizeof(soname), "libZydis.so.%u.%u",
		 (unsigned)ZYDIS_VERSION_MAJOR(ZYDIS_VERSION),
		 (unsigned)ZYDIS_VERSION_MINOR(ZYDIS_VERSION));
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(load_error, sizeof(load_error), "%s", dlerror());
		return;
	}
	if (!(RESOLVE(h, DecoderInit) && RESOLVE(h, DecoderDecodeFull) &&
	      RESOLVE(h, FormatterInit) && RESOLVE(h, FormatterFormatInstruction) &&
	      RESOLVE(h, EncoderDecodedInstructionToEncoderRequest) &&
	      RESOLVE(h, EncoderEncodeInstruction) && RESOLVE(h, RegisterGetClass) &&
	      RESOLVE(h, RegisterGetId) && RESOLVE(h, RegisterGetWidth))) {
		memset(&zy, 0, sizeof(zy));
		dlclose(h);
	}
}

int zydis__load(struct st_err *err)
{
	pthread_once(&once, load);
	if (zy.RegisterGetWidth)
		return 0;
	return err__fail(err, 0, "cannot load the x86 decoder (%s): %s", soname, load_error);
}
