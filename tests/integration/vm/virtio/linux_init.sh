#!/bin/sh
# PID 1 on the root disk (/dev/vda) of the virtio Linux test: the user-space
# suite, in the same boot as the kernel-only checks. Every result is one
# "STRATA-US: <check> ..." line on the serial port; the host checks the other
# side (the file on the image, the TCP bytes, the vsock echo) after power-off.
# Kernel ip=dhcp has configured eth0 (10.0.2.15); the host peer is 10.0.2.2.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
say() { echo "STRATA-US: $*" >/dev/ttyS0; }
say "user space is up"

# try CHECK PATTERN CMD...: says "CHECK <output>" once CMD's output matches PATTERN
# (grep -E), running it at most 3 times. On kvm_pvm a fresh process now and then
# reads zeros where it has just written its TLS and dies at address 0
# (docs/virtio.md): each retry is reported, and a check that never got a good
# answer says "CHECK gave-up". Only for checks that can run twice.
try() {
	check=$1 pattern=$2
	shift 2
	for n in 1 2 3; do
		out=$("$@" 2>&1)
		if echo "$out" | grep -Eq "$pattern"; then
			say "$check $out"
			return
		fi
		say "retry $check $n: $(echo "$out" | tail -n 1)"
	done
	say "$check gave-up"
}

# A file on the root disk, checked by the host from the image after power-off.
dd if=/dev/urandom of=/strata-data bs=4096 count=16 2>/dev/null
sync
file_sum() { echo "/strata-data $(sha256sum /strata-data | cut -d' ' -f1)"; }
try disk-file '^/strata-data [0-9a-f]{64}$' file_sum

hwrng() {
	echo "$(cat /sys/class/misc/hw_random/rng_current) $(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')"
}
try hwrng '^[a-z_.0-9]+ [0-9a-f]{64}$' hwrng

ping_host() {
	if ping -c 2 -W 10 10.0.2.2 >/tmp/ping 2>&1; then
		echo "ok $(grep -o '[0-9]* packets received' /tmp/ping)"
	else
		echo "failed: $(tail -n 2 /tmp/ping | tr '\n' ' ')"
	fi
}
try ping '^ok [12] packets received$' ping_host

# TCP: the host reads TCP_BYTES, answers with their sha256 and closes.
dd if=/dev/urandom of=/tmp/blob bs=1024 count=256 2>/dev/null
nc 10.0.2.2 7000 </tmp/blob >/tmp/reply 2>&1
say "tcp sent $(sha256sum /tmp/blob | cut -d' ' -f1) host-got $(cat /tmp/reply)"

say "vsock $(/vsock-echo 2 5000 65536 2>&1)"

# A disk the host attaches while the kernel boots (PCI hotplug, acpiphp): its
# serial and first bytes, then it waits for the host's detach to take it away.
wait_for() { # CONDITION-COMMAND...: up to 300 s
	n=0
	while ! "$@" && [ $n -lt 300 ]; do sleep 1; n=$((n + 1)); done
	"$@"
}
if wait_for test -e /sys/block/vdc; then
	hot() { echo "$(cat /sys/block/vdc/serial) $(dd if=/dev/vdc bs=16 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')"; }
	try hotdisk '^hot [0-9a-f]{32}$' hot
	gone() { ! test -e /sys/block/vdc; }
	if wait_for gone; then say "hotdisk-gone"; else say "hotdisk-gone never"; fi
else
	say "hotdisk never appeared"
fi

sync
mount -o remount,ro /
say "done"
poweroff -f
