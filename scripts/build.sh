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
if [ "${1:-}" = --asan ]; then
	setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
fi
