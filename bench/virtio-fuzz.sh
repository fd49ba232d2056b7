#!/usr/bin/env bash
# Longer libFuzzer runs of the virtio targets than the test command's 15 s:
#   bench/virtio-fuzz.sh [SECONDS]   (default 600 per target)
# Needs the fuzz build (scripts/build.sh --fuzz). Corpora are kept in
# build-fuzz/corpus/<target>/ so later runs start where earlier ones stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
status=0
for t in vm-virtqueue vm-blk-request; do
	bin=build-fuzz/tests/fuzz/fuzz-$t
	[ -x "$bin" ] || { echo "virtio-fuzz: $bin is not built (scripts/build.sh --fuzz)" >&2; exit 1; }
	mkdir -p "build-fuzz/corpus/$t"
	echo "== fuzz-$t for $secs s"
	"$bin" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
		"build-fuzz/corpus/$t" > "build-fuzz/fuzz-$t.log" 2>&1 || { status=1; echo "fuzz-$t FAILED"; }
	grep -E "^(stat::|#[0-9]+ +DONE)|ERROR|SUMMARY" "build-fuzz/fuzz-$t.log" || true
done
exit $status
