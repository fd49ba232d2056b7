#!/usr/bin/env bash
# 100 sequential `run` of /bin/true from one busybox bundle, strata-ctr side by
# side with Debian's crun and runc in one run. Every runtime runs the same way:
# inside a private mount namespace without the cgroup2 mount (crun 1.8.1 refuses
# hybrid cgroups otherwise; see /work/shared/docs/peers-here.md).
# Prints median per-run time, the ratios to crun, and peak RSS.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
ctr=${STRATA_CTR:-$here/build/src/ctr/strata-ctr}
runs=${RUNS:-100}
work=$(mktemp -d /tmp/strata-ctr-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
[ -x "$ctr" ] || { echo "bench: build first (scripts/build.sh): $ctr missing" >&2; exit 1; }
command -v busybox >/dev/null || { echo "bench: busybox-static is not installed" >&2; exit 1; }

# The bundle: busybox-static, `crun spec` defaults (or ours), /bin/true, no terminal.
mkdir -p "$work/bundle/rootfs/bin" "$work/bundle/rootfs/proc" "$work/bundle/rootfs/sys" "$work/bundle/rootfs/dev"
cp "$(readlink -f "$(command -v busybox)")" "$work/bundle/rootfs/bin/busybox"
for a in true sh; do ln -s busybox "$work/bundle/rootfs/bin/$a"; done
if command -v crun >/dev/null; then (cd "$work/bundle" && crun spec); else (cd "$work/bundle" && "$ctr" spec); fi
python3 - "$work/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
json.dump(c, open(p, "w"), indent=1)
PY

declare -A cmd
cmd[strata-ctr]="$ctr --root $work/state-strata"
command -v crun >/dev/null && cmd[crun]="crun --root $work/state-crun"
command -v runc >/dev/null && cmd[runc]="runc --root $work/state-runc"

# One timing loop per runtime, inside the private namespace: python measures
# each `run` (spawn cost identical for every runtime); per-run times in ns.
cat > "$work/loop.py" <<'PY'
import os, shlex, subprocess, sys, time
cmd, runs, out, bundle = shlex.split(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
subprocess.run(["umount", "/sys/fs/cgroup/unified"], stderr=subprocess.DEVNULL)
os.chdir(bundle)
with open(out, "w") as f:
    for i in range(runs):
        t = time.perf_counter_ns()
        r = subprocess.run(cmd + ["run", f"bench-{i}"], stdout=subprocess.DEVNULL)
        f.write(f"{time.perf_counter_ns() - t}\n")
        if r.returncode:
            sys.exit(f"run {i} failed with {r.returncode}")
PY

declare -A median total rss
order=(strata-ctr crun runc)
for rt in "${order[@]}"; do
	[ -n "${cmd[$rt]:-}" ] || { echo "bench: $rt not installed, skipped"; continue; }
	out="$work/$rt.times"
	start=$(date +%s%N)
	unshare -m --propagation private python3 "$work/loop.py" "${cmd[$rt]}" "$runs" "$out" "$work/bundle"
	end=$(date +%s%N)
	total[$rt]=$(( (end - start) / 1000000 ))
	median[$rt]=$(sort -n "$out" | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m/1e6}')
	# Peak RSS of the runtime process itself (GNU time), one more run.
	rss[$rt]=$(unshare -m --propagation private sh -c "umount /sys/fs/cgroup/unified 2>/dev/null; cd $work/bundle; /usr/bin/time -f %M ${cmd[$rt]} run bench-rss 2>&1 >/dev/null | tail -n1")
done
printf "%-12s %12s %14s %12s %10s\n" runtime "median ms" "total ${runs} s" "peak RSS KiB" "vs crun"
for rt in "${order[@]}"; do
	[ -n "${median[$rt]:-}" ] || continue
	ratio=-
	[ -n "${median[crun]:-}" ] && ratio=$(awk -v a="${median[$rt]}" -v b="${median[crun]}" 'BEGIN{printf "%.2fx", a/b}')
	printf "%-12s %12s %14.2f %12s %10s\n" "$rt" "${median[$rt]}" "$(awk -v t="${total[$rt]}" 'BEGIN{print t/1000}')" "${rss[$rt]}" "$ratio"
done
