#include "virtio.h"
int guest_main(void) { return 0; }
