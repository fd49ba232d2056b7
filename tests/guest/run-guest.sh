#!/bin/sh
# run-guest.sh STRATA_VM GUEST.elf [strata-vm args...]: boots a test guest
# whose verdict is strata-vm's exit status; 77 (SKIP) without usable /dev/kvm.
vm=$1 guest=$2
shift 2
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is missing or not accessible" >&2
	exit 77
fi
exec "$vm" --kernel "$guest" --memory 64 "$@" </dev/null
