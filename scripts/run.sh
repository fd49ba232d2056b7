#!/usr/bin/env bash
# The main job: installs what is needed, builds, and boots Debian's own cloud
# kernel (linux-image-cloud-amd64, as shipped) with a busybox initramfs in
# strata-vm, 2 vCPUs and 256 MiB, console on this terminal.
#
# On a host with software-assisted nested KVM (kvm_pvm, as on the Strata CI
# machines) the guest kernel is emulated, ~1000x slower than native: expect
# Debian's kernel to need about 15 minutes to reach /init (docs/nested-kvm.md,
# docs/boot-logs/). On real KVM hardware the boot takes about a second. Either
# way /init prints the CPU count and powers the guest off, and strata-vm exits 0.
# Ctrl-A x quits at any time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/fetch-assets.sh debian initramfs
scripts/build.sh
cache=${STRATA_CACHE:-/var/cache/strata}/linux
[ -e "$cache/debian-cloud.bzImage" ] || cache=${XDG_CACHE_HOME:-$HOME/.cache}/strata/linux
if [ -e /sys/module/kvm_pvm ]; then
	echo "run: this host's KVM is software-assisted nesting (kvm_pvm): guest kernel code is" \
	     "emulated, so the boot takes about 15 minutes (more on a busy machine). See docs/nested-kvm.md."
fi
exec build/src/vm/strata-vm --kernel "$cache/debian-cloud.bzImage" \
	--initrd "$cache/initramfs.cpio" --cpus 2 --memory 256 \
	--cmdline "console=ttyS0 panic=-1 ${STRATA_CMDLINE:-}" "$@"
