#!/usr/bin/env bash
# The main job: installs what is needed, builds, and boots Debian's own cloud
# kernel (linux-image-cloud-amd64, as shipped) with a busybox initramfs in
# strata-vm, 2 vCPUs and 256 MiB, console on this terminal.
#
# On a host with software-assisted nested KVM (kvm_pvm, as on the Strata CI
# machines) the guest kernel runs ~1000x slower than native: expect the boot to
# take several minutes, and it ends when the kernel starts /init, whose first
# system call faults there (guest user space cannot run on such hosts; see
# docs/nested-kvm.md). On real KVM hardware the boot takes about a second,
# /init prints the CPU count and powers the guest off, and strata-vm exits 0.
# Ctrl-A x quits at any time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/fetch-assets.sh debian initramfs
scripts/build.sh
cache=${STRATA_CACHE:-/var/cache/strata}/linux
[ -e "$cache/debian-cloud.bzImage" ] || cache=${XDG_CACHE_HOME:-$HOME/.cache}/strata/linux
if [ -e /sys/module/kvm_pvm ]; then
	echo "run: this host's KVM is software-assisted nesting (kvm_pvm): the boot takes minutes" \
	     "and stops at /init (no guest user space here). See docs/nested-kvm.md."
fi
exec build/src/vm/strata-vm --kernel "$cache/debian-cloud.bzImage" \
	--initrd "$cache/initramfs.cpio.gz" --cpus 2 --memory 256 \
	--cmdline "console=ttyS0 panic=-1 ${STRATA_CMDLINE:-}" "$@"
