#!/usr/bin/env bash
# End-to-end render benchmark: `kascade render` against `kubectl kustomize` on the same
# generated manifests, plus the seed template (`kascade process base-image-example`) start to
# exit. Prints a Markdown table.
#
#   scripts/bench-render.sh
#
# Environment (all optional):
#   SIZES="1000 5000"   object counts of the plain workload
#   KASCADE_RUNS=5      runs per size for kascade (best is reported)
#   KUSTOMIZE_RUNS=3    runs per size for kubectl kustomize (about 23 s each at 5,000 objects)
#   PROCESS_RUNS=20     runs of the seed template
#   WORKLOAD=...        path of workload.py (default ../shared/bench/workload.py)
#   CARGO_TARGET_DIR    respected when finding the built binary
#   NO_GNU_TIME=1       use the python3 getrusage timer even when /usr/bin/time exists
#
# Times are wall clock, best (minimum) of the runs; peak RSS is the largest maxrss seen over
# the runs (GNU time %M, or getrusage(RUSAGE_CHILDREN) when /usr/bin/time is missing; that
# fallback counts the python wrapper's RSS before exec, so small peaks read about 10 MB high).
# Timed output goes to /dev/null, except kustomize's, which goes to a file so its objects can be
# counted without a further 23 s run.
set -euo pipefail
export LC_ALL=C

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
workload=${WORKLOAD:-$repo/../shared/bench/workload.py}
sizes=${SIZES:-1000 5000}
kascade_runs=${KASCADE_RUNS:-5}
kustomize_runs=${KUSTOMIZE_RUNS:-3}
process_runs=${PROCESS_RUNS:-20}

die() { echo "bench-render: $*" >&2; exit 1; }
[[ -f $workload ]] || die "workload generator not found: $workload (set WORKLOAD)"
command -v python3 >/dev/null || die "python3 is required to generate the workload"

echo "building kascade (release)..." >&2
(cd "$repo" && cargo build --release --quiet)
target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
kascade=$target_dir/release/kascade
[[ -x $kascade ]] || die "built binary not found at $kascade"

have_kubectl=0
command -v kubectl >/dev/null && have_kubectl=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# GNU time with -f/-o? Otherwise fall back to a python3 getrusage wrapper.
gnu_time=0
if [[ -z ${NO_GNU_TIME:-} && -x /usr/bin/time ]] && /usr/bin/time -f '%M' -o "$tmp/probe" true 2>/dev/null; then
    gnu_time=1
fi

# Microseconds since the epoch, without forking when bash has EPOCHREALTIME.
now_us() {
    if [[ -n ${EPOCHREALTIME:-} ]]; then
        local t=$EPOCHREALTIME
        echo $((10#${t/./}))
    else
        echo $(($(date +%s%N) / 1000))
    fi
}

# measure OUT CMD... : runs CMD with stdout to OUT; prints "<wall µs> <peak KiB>".
measure() {
    local out=$1
    shift
    if ((gnu_time)); then
        local t0 t1
        t0=$(now_us)
        /usr/bin/time -f '%M' -o "$tmp/rss" "$@" >"$out"
        t1=$(now_us)
        echo "$((t1 - t0)) $(tail -n 1 "$tmp/rss")"
    else
        python3 - "$out" "$@" <<'EOF'
import resource, subprocess, sys, time
with open(sys.argv[1], "wb") as out:
    t = time.perf_counter()
    r = subprocess.run(sys.argv[2:], stdout=out)
    wall = time.perf_counter() - t
if r.returncode:
    sys.exit(r.returncode)
print(int(wall * 1e6), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
EOF
    fi
}

# best RUNS OUT CMD... : prints "<best wall µs> <max peak KiB>" over RUNS runs.
best() {
    local runs=$1 best_us=0 max_kb=0 us kb i res
    shift
    for ((i = 0; i < runs; i++)); do
        res=$(measure "$@")
        read -r us kb <<<"$res"
        if ((best_us == 0 || us < best_us)); then best_us=$us; fi
        if ((kb > max_kb)); then max_kb=$kb; fi
    done
    echo "$best_us $max_kb"
}

secs() { awk -v us="$1" 'BEGIN { printf "%.3f s", us / 1e6 }'; }
ms() { awk -v us="$1" 'BEGIN { printf "%.1f ms", us / 1e3 }'; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.0f", kb / 1024 }'; }

rows=()
checks=()
ratio_5000=""
for n in $sizes; do
    dir=$tmp/plain-$n
    python3 "$workload" plain "$dir" --objects "$n"
    echo "size $n: kascade x$kascade_runs..." >&2
    "$kascade" render "$dir" -o yaml >/dev/null # warm the page cache
    res=$(best "$kascade_runs" /dev/null "$kascade" render "$dir" -o yaml)
    read -r k_us k_kb <<<"$res"
    k_count=$("$kascade" render "$dir" -o name | wc -l)
    if ((have_kubectl)); then
        echo "size $n: kubectl kustomize x$kustomize_runs..." >&2
        res=$(best "$kustomize_runs" "$tmp/kustomize.yaml" kubectl kustomize "$dir")
        read -r z_us z_kb <<<"$res"
        z_count=$(grep -c '^kind:' "$tmp/kustomize.yaml" || true)
        ratio=$(awk -v a="$z_us" -v b="$k_us" 'BEGIN { printf "%.0f", a / b }')
        rows+=("| $n | $(secs "$k_us") | $(mb "$k_kb") | $(secs "$z_us") | $(mb "$z_kb") | ${ratio}x |")
        if ((k_count == z_count && k_count == n)); then
            checks+=("size $n: kascade $k_count objects, kustomize $z_count objects: same")
        else
            checks+=("size $n: kascade $k_count objects, kustomize $z_count objects (expected $n): DIFFERENT")
        fi
        if ((n == 5000)); then ratio_5000=$ratio; fi
    else
        rows+=("| $n | $(secs "$k_us") | $(mb "$k_kb") | n/a | n/a | n/a |")
        checks+=("size $n: kascade $k_count objects (kubectl not installed)")
    fi
done

echo "seed template: x$process_runs..." >&2
process=("$kascade" process base-image-example -p GIT_URL=https://example.com/x.git --seed 1)
# The template's message goes to stderr; keep it out of the report.
"${process[@]}" >/dev/null 2>"$tmp/process.err" || { cat "$tmp/process.err" >&2; exit 1; }
p_best=0
for ((i = 0; i < process_runs; i++)); do
    t0=$(now_us)
    "${process[@]}" >/dev/null 2>"$tmp/process.err"
    t1=$(now_us)
    us=$((t1 - t0))
    if ((p_best == 0 || us < p_best)); then p_best=$us; fi
done
res=$(measure /dev/null "${process[@]}" 2>"$tmp/process.err")
read -r _ p_kb <<<"$res"

echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "kascade: $kascade; kubectl: $( ((have_kubectl)) && kubectl version --client 2>/dev/null | head -n 1 || echo none)"
if ((gnu_time)); then
    echo "timer: bash clock (EPOCHREALTIME) around /usr/bin/time; peak RSS from GNU time %M"
else
    # A child's maxrss includes its RSS between fork and exec, i.e. the python interpreter's.
    res=$(measure /dev/null true)
    read -r _ floor_kb <<<"$res"
    echo "timer: python3 perf_counter + getrusage; peak RSS has a floor of $(mb "$floor_kb") MB (the wrapper's RSS before exec)"
fi
echo
echo "| objects | kascade render | kascade peak MB | kubectl kustomize | kustomize peak MB | kustomize / kascade |"
echo "|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "kascade: best of $kascade_runs; kubectl kustomize: best of $kustomize_runs."
echo
printf '%s\n' "${checks[@]}"
echo
echo "Seed template (\`kascade process base-image-example\`, start to exit): $(ms "$p_best") best of $process_runs, peak $(mb "$p_kb") MB"
echo
if [[ -n $ratio_5000 ]]; then
    verdict=$( ((ratio_5000 >= 100)) && echo met || echo "NOT met")
    echo "Target: at 5000 objects >= 100x faster than kubectl kustomize: ${ratio_5000}x, $verdict"
fi
verdict=$( ((p_best < 10000)) && echo met || echo "NOT met")
echo "Target: seed template end to end < 10 ms: $(ms "$p_best"), $verdict"
