#!/usr/bin/env bash
# Guest assets for the Linux boot tests, made from Debian packages and cached
# outside the work tree, in $STRATA_CACHE (default /var/cache/strata, or
# ~/.cache/strata when that is not writable). What lands in $STRATA_CACHE/linux:
#   debian-cloud.bzImage   Debian's linux-image-cloud-amd64 kernel, as shipped
#   debian-cloud.vmlinux   its uncompressed payload (the LZ4 stream inside it)
#   debian-cloud.virtio-modules.cpio  its virtio driver modules (+ dependencies)
#                          and their load order, to append to an initramfs
#   initramfs.cpio.gz      busybox-static + tests/integration/vm/linux/init (cpio newc, gzip)
#   initramfs.cpio         the same, uncompressed: under emulated guest kernels
#                          (nested KVM) inflating it costs minutes
#   small.bzImage/.vmlinux the small test kernel: linux-source-6.1, tinyconfig
#                          + scripts/kernel/strata-small.config, keyed by hash
# Each name is a symlink to a versioned file, so a new Debian kernel, busybox or
# config fragment makes a new asset and never overwrites one in use.
# Usage: scripts/fetch-assets.sh [debian] [initramfs] [small]   (default: all)
# Idempotent; quick when everything is cached. STRATA_JOBS sets make -j (2).
set -euo pipefail
export LC_ALL=C
top=$(cd "$(dirname "$0")/.." && pwd)

say() { echo "fetch-assets: $*"; }
die() { echo "fetch-assets: error: $*" >&2; exit 1; }

cache_root() {
	if [ -n "${STRATA_CACHE:-}" ]; then echo "$STRATA_CACHE"
	elif mkdir -p /var/cache/strata 2>/dev/null && [ -w /var/cache/strata ]; then echo /var/cache/strata
	else echo "${XDG_CACHE_HOME:-$HOME/.cache}/strata"
	fi
}
cache=$(cache_root)/linux
mkdir -p "$cache" || die "cannot create the asset cache $cache"
# Concurrent runs (the test command, a developer) wait instead of racing.
exec 9>"$cache/.lock"
flock -n 9 || { say "another fetch-assets holds $cache/.lock; waiting"; flock 9; }

# Short hash of stdin: the cache key of an asset built from several inputs.
key() { sha256sum | cut -c1-16; }

# Points the stable name at a versioned file (relative link inside the cache).
publish() { ln -sfn "$(basename "$1")" "$cache/$2"; say "$2 -> $(basename "$1")"; }

# Version of a Debian package in the apt lists, updating them once if needed.
apt_updated=
candidate() {
	local v
	v=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
	if { [ -z "$v" ] || [ "$v" = "(none)" ]; } && [ -z "$apt_updated" ] && [ "$(id -u)" = 0 ]; then
		say "apt lists do not know $1: running apt-get update"
		apt-get update -qq >&2 || true
		apt_updated=1
		v=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
	fi
	[ "$v" = "(none)" ] && v=
	echo "$v"
}

# Downloads one .deb (not installed) and unpacks it into dir $2.
unpack_deb() {
	local pkg=$1 dir=$2 tmp
	tmp=$(mktemp -d "$cache/.deb.XXXXXX")
	say "downloading $pkg (apt-get download; not installed on the host)"
	# apt's sandbox user cannot write a root-owned mktemp dir: let it.
	chmod 755 "$tmp"
	(cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>"$tmp/apt.err") ||
		{ cat "$tmp/apt.err" >&2; rm -rf "$tmp"; die "apt-get download $pkg failed"; }
	rm -rf "$dir.part" && mkdir -p "$dir.part"
	dpkg-deb -x "$tmp"/*.deb "$dir.part"
	rm -rf "$tmp" "$dir" && mv "$dir.part" "$dir"
}

# Debian's bzImage carries its kernel as an LZ4 legacy stream (magic 02 21 4c
# 18); slow hosts boot that ELF directly instead of decompressing in the guest.
extract_vmlinux() {
	local img=$1 out=$2 off
	for off in $(grep -obUaP '\x02\x21\x4c\x18' "$img" | cut -d: -f1); do
		# lz4 complains about the bytes after the stream; the ELF check decides.
		tail -c +$((off + 1)) "$img" | lz4 -dc >"$out.part" 2>/dev/null || true
		if [ "$(head -c 4 "$out.part" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
			mv "$out.part" "$out"
			say "extracted $(basename "$out") ($(stat -c %s "$out") bytes) from offset $off of $(basename "$img")"
			return 0
		fi
	done
	rm -f "$out.part"
	die "no LZ4 payload that decompresses to an ELF in $img"
}

fetch_debian_kernel() {
	local meta=linux-image-cloud-amd64 pkg ver dir mods
	pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
	if [ -z "$pkg" ] && [ "$(id -u)" = 0 ] && [ -z "$apt_updated" ]; then
		candidate "$meta" >/dev/null
		pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
	fi
	if [ -z "$pkg" ]; then
		[ -e "$cache/debian-cloud.bzImage" ] && { say "apt does not know $meta; keeping the cached kernel"; return 0; }
		die "apt does not know $meta (run apt-get update)"
	fi
	ver=$(candidate "$pkg")
	dir=$cache/debian-$pkg-${ver//:/_}
	mods=$dir.virtio-modules-$(echo "$VIRTIO_MODULES" | key).cpio
	if [ -f "$dir.bzImage" ] && [ -f "$dir.vmlinux" ] && [ -f "$mods" ]; then
		say "Debian kernel $pkg $ver: cached"
	else
		say "Debian kernel: $meta depends on $pkg $ver"
		unpack_deb "$pkg" "$dir.deb"
		cp "$dir.deb"/boot/vmlinuz-* "$dir.bzImage.part" && mv "$dir.bzImage.part" "$dir.bzImage"
		virtio_modules_cpio "$dir.deb" "$mods"
		rm -rf "$dir.deb" # the other modules are of no use to an initramfs-only guest
		extract_vmlinux "$dir.bzImage" "$dir.vmlinux"
	fi
	publish "$dir.bzImage" debian-cloud.bzImage
	publish "$dir.vmlinux" debian-cloud.vmlinux
	publish "$mods" debian-cloud.virtio-modules.cpio
}

# Debian builds the virtio drivers as modules. This cpio (appended to the busybox
# initramfs: Linux unpacks concatenated archives in turn) carries them and their
# dependencies in /lib/modules/strata/, with load-order listing them so that
# each comes after what it needs (busybox insmod does not resolve dependencies).
VIRTIO_MODULES="virtio_pci virtio_blk virtio_net virtio_console virtio-rng virtio_balloon vmw_vsock_virtio_transport"
virtio_modules_cpio() {
	local deb=$1 out=$2 root kdir m order=() seen=" "
	kdir=$(echo "$deb"/lib/modules/*/kernel)
	root=$(mktemp -d "$cache/.modules.XXXXXX")
	mkdir -p "$root/lib/modules/strata"
	modpath() { find "$kdir" -name "$1.ko" -o -name "$(echo "$1" | tr _ -).ko" -o -name "$(echo "$1" | tr - _).ko" | head -n 1; }
	add() {
		local name=$1 f dep
		case "$seen" in *" $name "*) return 0 ;; esac
		seen="$seen$name "
		f=$(modpath "$name")
		[ -n "$f" ] || die "module $name not in $(basename "$deb")"
		dep=$(modinfo -F depends "$f") || die "modinfo $f failed (kmod missing?)"
		for dep in ${dep//,/ }; do add "$dep"; done
		cp "$f" "$root/lib/modules/strata/"
		order+=("$(basename "$f")")
	}
	for m in $VIRTIO_MODULES; do add "$m"; done
	printf '%s\n' "${order[@]}" >"$root/lib/modules/strata/load-order"
	find "$root" -exec touch -h -d @0 {} +
	(cd "$root" && find . -mindepth 1 | sort | cpio -o -H newc -R 0:0 --reproducible --quiet >"$out.part")
	mv "$out.part" "$out"
	rm -rf "$root"
	say "built $(basename "$out"): ${order[*]}"
}

build_initramfs() {
	local init=$top/tests/integration/vm/linux/init ver k out root a
	ver=$(candidate busybox-static)
	[ -n "$ver" ] || die "apt does not know busybox-static (run apt-get update)"
	k=$({ echo "$ver"; cat "$init"; } | key)
	out=$cache/initramfs-$k.cpio
	if [ -f "$out" ] && [ -f "$out.gz" ]; then
		say "initramfs (busybox-static $ver, init $k): cached"
	else
		say "initramfs: busybox-static $ver + tests/integration/vm/linux/init"
		unpack_deb busybox-static "$cache/busybox-${ver//:/_}"
		root=$(mktemp -d "$cache/.initramfs.XXXXXX")
		mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,root}
		cp "$cache/busybox-${ver//:/_}/bin/busybox" "$root/bin/busybox"
		# One symlink per applet, as `busybox --install -s` would make.
		for a in $("$root/bin/busybox" --list-full); do
			[ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
		done
		install -m 0755 "$init" "$root/init"
		# Fixed owner and times make the archive reproducible.
		find "$root" -exec touch -h -d @0 {} +
		(cd "$root" && find . -mindepth 1 | sort |
			cpio -o -H newc -R 0:0 --reproducible --quiet >"$out.part")
		gzip -9n <"$out.part" >"$out.gz.part"
		mv "$out.gz.part" "$out.gz" && mv "$out.part" "$out"
		rm -rf "$root"
		say "built $(basename "$out") ($(stat -c %s "$out") bytes) and .gz ($(stat -c %s "$out.gz") bytes)"
	fi
	publish "$out.gz" initramfs.cpio.gz
	publish "$out" initramfs.cpio
}

# make runs in the background; a line every 20 s tells how far it got.
make_with_progress() {
	local log=$1 pid n; shift
	"$@" >>"$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 20
		n=$(grep -c '^  CC ' "$log" || true)
		say "small kernel: ${SECONDS}s, $n files compiled"
	done
	wait "$pid" || { tail -n 30 "$log" >&2; die "kernel build failed (log: $log)"; }
}

build_small_kernel() {
	local frag=$top/scripts/kernel/strata-small.config tarball=/usr/src/linux-source-6.1.tar.xz
	local srcver k out src obj opt missing=0
	srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
	[ -n "$srcver" ] && [ -f "$tarball" ] || die "linux-source-6.1 is not installed (scripts/install-deps.sh installs it)"
	k=$({ echo "$srcver"; cat "$frag"; } | key)
	out=$cache/small-$k
	if [ -f "$out.bzImage" ] && [ -f "$out.vmlinux" ]; then
		say "small kernel (linux-source-6.1 $srcver, config $k): cached"
	else
		src=$cache/src-linux-${srcver//:/_}
		if [ ! -f "$src/.unpacked" ]; then
			say "unpacking $tarball into $src"
			rm -rf "$src" && mkdir -p "$src"
			tar -xJf "$tarball" -C "$src" --strip-components=1
			touch "$src/.unpacked"
		fi
		obj=$out.build
		# A failed build leaves its tree for the log; the next build clears it.
		rm -rf "$cache"/small-*.build && mkdir -p "$obj"
		SECONDS=0
		say "small kernel: tinyconfig + $(basename "$frag"), make -j${STRATA_JOBS:-2} bzImage under nice (a few minutes; log: $obj/build.log)"
		make -s -C "$src" O="$obj" tinyconfig >"$obj/build.log" 2>&1
		"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$frag" >>"$obj/build.log" 2>&1
		make -s -C "$src" O="$obj" olddefconfig >>"$obj/build.log" 2>&1
		# Options that did not take (a missing dependency) are bugs in the fragment.
		for opt in $(grep -o '^CONFIG_[A-Z0-9_]*=[^ ]*' "$frag"); do
			grep -qx "$opt" "$obj/.config" || { echo "fetch-assets: $opt did not take" >&2; missing=1; }
		done
		[ "$missing" = 0 ] || die "fix scripts/kernel/strata-small.config (see above)"
		make_with_progress "$obj/build.log" nice -n 10 make -C "$src" O="$obj" -j"${STRATA_JOBS:-2}" bzImage
		cp "$obj/.config" "$out.config"
		cp "$obj/vmlinux" "$out.vmlinux.part" && mv "$out.vmlinux.part" "$out.vmlinux"
		cp "$obj/arch/x86/boot/bzImage" "$out.bzImage.part" && mv "$out.bzImage.part" "$out.bzImage"
		rm -rf "$obj"
		say "small kernel built in ${SECONDS}s: bzImage $(stat -c %s "$out.bzImage") bytes"
	fi
	publish "$out.bzImage" small.bzImage
	publish "$out.vmlinux" small.vmlinux
	# Kernels of earlier fragments are superseded (~60 MiB each with vmlinux).
	find "$cache" -maxdepth 1 -name 'small-*' ! -name "small-$k.*" -type f -print -delete |
		sed 's|^|fetch-assets: removed superseded |'
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(debian initramfs small)
say "cache: $cache"
for w in "${want[@]}"; do
	case $w in
	debian) fetch_debian_kernel ;;
	initramfs) build_initramfs ;;
	small) build_small_kernel ;;
	*) die "unknown asset '$w' (debian, initramfs, small)" ;;
	esac
done
