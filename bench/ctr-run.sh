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

# The runtimes take turns run by run, in a shuffled order each round (a load
# change on this shared machine then hits all of them alike), inside one private namespace; python measures each
# `run` (its spawn cost is the same for every runtime).
cat > "$work/loop.py" <<'PY'
import json, os, random, shlex, statistics, subprocess, sys, time
runs, bundle, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rts = json.loads(sys.argv[4])
subprocess.run(["umount", "/sys/fs/cgroup/unified"], stderr=subprocess.DEVNULL)
os.chdir(bundle)
times = {name: [] for name in rts}
order = list(rts)
rng = random.Random(1)
for i in range(runs):
    # a fresh order each round: no runtime always follows the same one (the
    # kernel tears namespaces down asynchronously, the next run pays for it)
    rng.shuffle(order)
    for name in order:
        cmd = rts[name]
        t = time.perf_counter_ns()
        r = subprocess.run(shlex.split(cmd) + ["run", f"bench-{i}"], stdout=subprocess.DEVNULL)
        times[name].append(time.perf_counter_ns() - t)
        if r.returncode:
            sys.exit(f"{name}: run {i} failed with {r.returncode}")
res = {}
for name, cmd in rts.items():
    # peak RSS of the runtime process alone: one more run under GNU time
    t = subprocess.run(["/usr/bin/time", "-f", "%M"] + shlex.split(cmd) + ["run", "bench-rss"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    res[name] = {"median_ms": statistics.median(times[name]) / 1e6, "total_s": sum(times[name]) / 1e9,
                 "rss_kib": t.stderr.strip().splitlines()[-1]}
json.dump(res, open(out, "w"))
PY

rts=$(python3 -c 'import json,sys; print(json.dumps(dict(a.split("=",1) for a in sys.argv[1:])))' \
	"strata-ctr=${cmd[strata-ctr]}" ${cmd[crun]:+"crun=${cmd[crun]}"} ${cmd[runc]:+"runc=${cmd[runc]}"})
unshare -m --propagation private python3 "$work/loop.py" "$runs" "$work/bundle" "$work/result.json" "$rts"
declare -A median total rss
order=(strata-ctr crun runc)
for rt in "${order[@]}"; do
	[ -n "${cmd[$rt]:-}" ] || { echo "bench: $rt not installed, skipped"; continue; }
	read -r median[$rt] total[$rt] rss[$rt] < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[sys.argv[2]]; print("%.2f" % r["median_ms"], "%.2f" % r["total_s"], r["rss_kib"])' "$work/result.json" "$rt")
done
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: read the ratios)"
printf "%-12s %12s %14s %12s %10s\n" runtime "median ms" "total ${runs} s" "peak RSS KiB" "vs crun"
for rt in "${order[@]}"; do
	[ -n "${median[$rt]:-}" ] || continue
	ratio=-
	[ -n "${median[crun]:-}" ] && ratio=$(awk -v a="${median[$rt]}" -v b="${median[crun]}" 'BEGIN{printf "%.2fx", a/b}')
	printf "%-12s %12s %14s %12s %10s\n" "$rt" "${median[$rt]}" "${total[$rt]}" "${rss[$rt]}" "$ratio"
done
