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
	# Quiet when all is well; the failing commands when not.
	local log
	log=$(mktemp)
	if ! ninja -C "$dir" >"$log" 2>&1; then
		grep -E "error|FAILED|warning" -A5 "$log" | head -n 60
		rm -f "$log"
		echo "build.sh: the build in $dir failed" >&2
		return 1
	fi
	rm -f "$log"
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
