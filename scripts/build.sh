#!/usr/bin/env bash
# Configures and builds the release build (build/) and, with --asan, the
# ASan/UBSan build (build-asan/). Re-running only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
setup() { # dir, extra meson args...
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir" >/dev/null
}
setup build --buildtype=release -Db_ndebug=false
for arg in "$@"; do
	case $arg in
	--asan) setup build-asan -Db_sanitize=address,undefined -Db_lundef=false ;;
	# libFuzzer needs clang; the whole tree is instrumented, fuzz targets link -fsanitize=fuzzer.
	--fuzz) CC=clang setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fsanitize=fuzzer-no-link ;;
	*) echo "build.sh: unknown option $arg" >&2; exit 1 ;;
	esac
done
