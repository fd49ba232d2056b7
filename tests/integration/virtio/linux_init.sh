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

# A file on the root disk, checked by the host from the image after power-off.
dd if=/dev/urandom of=/strata-data bs=4096 count=16 2>/dev/null
sync
say "disk-file /strata-data $(sha256sum /strata-data | cut -d' ' -f1)"

say "hwrng $(cat /sys/class/misc/hw_random/rng_current) $(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')"

if ping -c 2 -W 10 10.0.2.2 >/tmp/ping 2>&1; then
	say "ping ok $(grep -o '[0-9]* packets received' /tmp/ping)"
else
	say "ping failed: $(tail -n 2 /tmp/ping | tr '\n' ' ')"
fi

# TCP: the host reads TCP_BYTES, answers with their sha256 and closes.
dd if=/dev/urandom of=/tmp/blob bs=1024 count=256 2>/dev/null
nc 10.0.2.2 7000 </tmp/blob >/tmp/reply 2>&1
say "tcp sent $(sha256sum /tmp/blob | cut -d' ' -f1) host-got $(cat /tmp/reply)"

say "vsock $(/vsock-echo 2 5000 65536 2>&1)"

sync
mount -o remount,ro /
say "done"
poweroff -f
