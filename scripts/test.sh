#!/usr/bin/env bash
# The one test command: installs what is needed, builds the release and the
# ASan/UBSan builds, runs the unit tests in both, then every integration test
# (pytest) against the sanitizer build, and ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
scripts/install-deps.sh || exit 1
scripts/fetch-assets.sh || echo "test: some guest assets are missing; the tests that need them will SKIP"
scripts/build.sh --asan --fuzz || { echo "0 passed, 1 failed"; exit 1; }
mkdir -p build/test-results
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:disable_coredump=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for b in build build-asan; do
	meson test -C "$b" --no-rebuild --print-errorlogs --suite unit --suite guest 2>&1 | tail -n 25
done
meson test -C build-fuzz --no-rebuild --print-errorlogs --suite fuzz 2>&1 | tail -n 15
# Integration tests run against the sanitizer build: the real scenarios then
# double as memory-error checks. STRATA_BUILD switches it.
STRATA_BUILD=${STRATA_BUILD:-$top/build-asan} /usr/bin/python3 -m pytest -ra -p no:cacheprovider \
	--junitxml=build/test-results/pytest.xml ${PYTEST_ARGS:-tests} 2>&1 | tail -n 60
/usr/bin/python3 scripts/summarize.py build/meson-logs/testlog.json build-asan/meson-logs/testlog.json \
	build-fuzz/meson-logs/testlog.json \
	build/test-results/pytest.xml
