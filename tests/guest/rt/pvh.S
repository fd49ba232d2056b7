/* The PVH entry note for every guest but the multiboot one. */
#include "pvh-note.h"

	PVH_NOTE(pvh_start)
