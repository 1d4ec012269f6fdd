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

sizes=${SIZES:-1000 5000}
kascade_runs=${KASCADE_RUNS:-5}
kustomize_runs=${KUSTOMIZE_RUNS:-3}
process_runs=${PROCESS_RUNS:-20}

# shellcheck source=lib/bench.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/bench.sh"

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
machine_lines
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
