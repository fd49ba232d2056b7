#!/usr/bin/env bash
# The one test command: installs what is needed, builds the release, ASan/UBSan
# and libFuzzer trees, runs the unit and guest tests in both, the fuzzers, then
# every integration test (pytest) against the sanitizer build, and ends with
# "N passed, N failed, N skipped".
#
#   scripts/test.sh                 what CI runs (.ci/run)
#   scripts/test.sh --repeat N      the test stages N times in a row (built once);
#                                   each run's line, then the sum over all runs
#   scripts/test.sh --load          the same while stress-ng keeps every core busy:
#                                   a test that needs a quiet machine fails here
# PYTEST_ARGS narrows the pytest stage (default: tests).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
repeat=1 load=
while (($#)); do
	case $1 in
	--repeat) repeat=${2:-}; shift ;;
	--repeat=*) repeat=${1#*=} ;;
	--load) load=1 ;;
	*) echo "test.sh: unknown option $1 (see the comment at the top of scripts/test.sh)" >&2; exit 2 ;;
	esac
	shift
done
[[ $repeat =~ ^[1-9][0-9]*$ ]] || { echo "test.sh: --repeat needs a count >= 1, not '$repeat'" >&2; exit 2; }

scripts/install-deps.sh || exit 1
scripts/fetch-assets.sh || echo "test: some guest assets are missing; the tests that need them will SKIP"
scripts/build.sh --asan --fuzz || { echo "0 passed, 1 failed"; exit 1; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:disable_coredump=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

load_pid=
stop_load() { [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null; wait "$load_pid" 2>/dev/null; load_pid=; }
trap stop_load EXIT
if [ -n "$load" ]; then
	command -v stress-ng >/dev/null || { echo "test.sh: --load needs stress-ng (scripts/deps/common.txt)" >&2; exit 1; }
	stress-ng --cpu "$(nproc)" --timeout 0 --quiet &
	load_pid=$!
	echo "test: stress-ng --cpu $(nproc) keeps every core busy during the tests (pid $load_pid)"
fi

# One pass of every test stage; results under $1 (a fresh directory).
run_tests() {
	local out=$1
	mkdir -p "$out"
	for b in build build-asan; do
		meson test -C "$b" --no-rebuild --print-errorlogs --suite unit --suite guest \
			--logbase "testlog-$b" 2>&1 | tail -n 25
		cp "$b/meson-logs/testlog-$b.json" "$out/" 2>/dev/null
	done
	meson test -C build-fuzz --no-rebuild --print-errorlogs --suite fuzz --logbase testlog-fuzz 2>&1 | tail -n 15
	cp build-fuzz/meson-logs/testlog-fuzz.json "$out/" 2>/dev/null
	# Integration tests run against the sanitizer build: the real scenarios then
	# double as memory-error checks. STRATA_BUILD switches it.
	STRATA_BUILD=${STRATA_BUILD:-$top/build-asan} /usr/bin/python3 -m pytest -ra -p no:cacheprovider \
		--junitxml="$out/pytest.xml" ${PYTEST_ARGS:-tests} 2>&1 | tail -n 60
}

results=build/test-results
rm -rf "$results/run-"*
for ((i = 1; i <= repeat; i++)); do
	((repeat > 1)) && echo "test: run $i of $repeat ($(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg))"
	run_tests "$results/run-$i"
	((repeat > 1)) && { printf 'test: run %d of %d: ' "$i" "$repeat"; /usr/bin/python3 scripts/summarize.py "$results/run-$i"/*; }
done
stop_load
cp "$results/run-$repeat/pytest.xml" "$results/pytest.xml" 2>/dev/null
((repeat > 1)) && echo "test: the sum over $repeat runs:"
/usr/bin/python3 scripts/summarize.py "$results"/run-*/*
