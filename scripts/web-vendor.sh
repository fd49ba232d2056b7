#!/usr/bin/env bash
# The web UI's third-party files (src/web/vendor.lock): npm packages at pinned
# versions, checked against the lock's sha512 before use; nothing is fetched
# at run time and no CDN is used.
#   scripts/web-vendor.sh fetch          npm pack what is missing into the cache, check it
#   scripts/web-vendor.sh copy DIR       unpack the listed files into DIR/NAME/ (the build
#                                        runs this); without the cache: a warning, DIR/MISSING
#   scripts/web-vendor.sh install DIR    (meson's install script) DIR -> the installed web dir
# The cache is $STRATA_CACHE/web-vendor (as scripts/fetch-assets.sh: /var/cache/strata
# or ~/.cache/strata).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
lock=$top/src/web/vendor.lock
say() { echo "web-vendor: $*" >&2; }
die() { say "error: $*"; exit 1; }

cache() {
	if [ -n "${STRATA_CACHE:-}" ]; then echo "$STRATA_CACHE/web-vendor"
	elif mkdir -p /var/cache/strata/web-vendor 2>/dev/null && [ -w /var/cache/strata/web-vendor ]; then
		echo /var/cache/strata/web-vendor
	else echo "${XDG_CACHE_HOME:-$HOME/.cache}/strata/web-vendor"
	fi
}

# name -> npm's tarball name (@scope/pkg -> scope-pkg) and the vendor directory (pkg)
tarball() { local n=${1#@}; echo "${n//\//-}-$2.tgz"; }
dirname_of() { echo "${1##*/}"; }

integrity_ok() { # file integrity
	[ "sha512-$(openssl dgst -sha512 -binary "$1" | base64 -w0)" = "$2" ]
}

entries() { sed 's/#.*//' "$lock" | awk 'NF >= 4'; }

fetch() {
	local dir; dir=$(cache); mkdir -p "$dir"
	command -v npm >/dev/null || die "npm is needed to fetch the web UI's vendored files"
	while read -r name version integrity files; do
		local t; t=$dir/$(tarball "$name" "$version")
		if [ ! -f "$t" ] || ! integrity_ok "$t" "$integrity"; then
			rm -f "$t"
			(cd "$dir" && npm pack --silent "$name@$version" >/dev/null) || die "npm pack $name@$version failed"
		fi
		integrity_ok "$t" "$integrity" || { rm -f "$t"; die "$name@$version does not match vendor.lock's sha512"; }
	done < <(entries)
	say "$(entries | wc -l) packages cached and checked in $dir"
}

copy() {
	local out=$1 dir; dir=$(cache)
	rm -rf "$out"; mkdir -p "$out"
	while read -r name version integrity files; do
		local t; t=$dir/$(tarball "$name" "$version")
		if [ ! -f "$t" ]; then
			say "warning: $name@$version is not cached (run scripts/install-web.sh); the page works without it for now"
			echo "$name@$version" >> "$out/MISSING"
			continue
		fi
		integrity_ok "$t" "$integrity" || die "$t does not match vendor.lock's sha512"
		local d; d=$out/$(dirname_of "$name"); mkdir -p "$d"
		for f in $files; do
			tar -xzf "$t" -O "package/$f" > "$d/$(basename "$f")" || die "$name@$version has no $f"
		done
	done < <(entries)
	touch "$out/.stamp"
}

case ${1:-} in
fetch) fetch ;;
copy) copy "${2:?copy needs a directory}" ;;
install)
	src=${2:?install needs the built vendor directory}
	dest=${DESTDIR:-}${MESON_INSTALL_PREFIX:-/usr/local}/${3:-share/strata/web}/vendor
	rm -rf "$dest"; mkdir -p "$dest"; cp -r "$src"/. "$dest"/ ;;
*) die "usage: web-vendor.sh fetch | copy DIR | install DIR [DATADIR-relative web dir]" ;;
esac
