#!/usr/bin/env bash
# Guest assets (Debian kernel, busybox initramfs, small test kernel) are
# prepared here, cached outside the work tree. Filled in by the strata-vm work.
exit 0
