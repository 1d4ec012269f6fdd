#!/usr/bin/env bash
# Sync benchmark on the embedded cluster, with `kubectl kustomize` as the peer for the render
# step, all on the same generated workload in the same run. Prints a Markdown report.
#
#   scripts/bench-sync.sh
#
# What it measures, on the plain workload of ../shared/bench/workload.py (5,000 objects):
#   first sync     `kascade sync -f DIR` into a fresh state directory (best of RUNS, each fresh)
#   no-op re-sync  the same again with nothing changed (best of RUNS)
#   diff, 50 changed  `kascade diff -f DIR2` where 50 objects differ from what was synced
#   peak memory    the largest peak RSS of any of the kascade runs above
#   peer           `kubectl kustomize DIR` (render only; kascade's render step is timed too)
#
# Environment (all optional):
#   OBJECTS=5000        objects in the workload
#   RUNS=5              runs per kascade measurement (best time is reported)
#   KUSTOMIZE_RUNS=1    runs of kubectl kustomize (about 25-40 s each at 5,000 objects)
#   WORKLOAD, CARGO_TARGET_DIR, NO_GNU_TIME as in scripts/bench-render.sh
set -euo pipefail
export LC_ALL=C

objects=${OBJECTS:-5000}
runs=${RUNS:-5}
kustomize_runs=${KUSTOMIZE_RUNS:-1}

# shellcheck source=lib/bench.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/bench.sh"

dir=$tmp/plain
python3 "$workload" plain "$dir" --objects "$objects"
state=$tmp/state
sync=("$kascade" sync -f "$dir/manifests" --app bench -n bench --state "$state")

# `kascade diff` exits 1 when something differs: that is its success here.
diff_ok() { "$@"; local rc=$?; ((rc <= 1)); }
export -f diff_ok

echo "first sync x$runs (fresh state each time)..." >&2
first_us=0 peak_kb=0
for ((i = 0; i < runs; i++)); do
    rm -rf "$state"
    read -r us kb <<<"$(measure /dev/null "${sync[@]}")"
    if ((first_us == 0 || us < first_us)); then first_us=$us; fi
    if ((kb > peak_kb)); then peak_kb=$kb; fi
done
count=$("$kascade" render "$dir/manifests" -o name | wc -l)

echo "no-op re-sync x$runs..." >&2
read -r noop_us kb <<<"$(best "$runs" "$tmp/noop.out" "${sync[@]}")"
if ((kb > peak_kb)); then peak_kb=$kb; fi
noop_line=$(tail -n 1 "$tmp/noop.out")

echo "diff with 50 changed objects x$runs..." >&2
changed=$tmp/changed
cp -r "$dir" "$changed"
# Add one data key to the first 50 ConfigMaps (the workload writes JSON documents).
python3 - "$changed/manifests" <<'PY'
import pathlib, sys
done = 0
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.yaml")):
    docs = path.read_text().split("\n---\n")
    for i, doc in enumerate(docs):
        if done < 50 and '"kind": "ConfigMap"' in doc and '"data": {' in doc:
            docs[i] = doc.replace('"data": {', '"data": {"bench-changed": "yes",', 1)
            done += 1
    path.write_text("\n---\n".join(docs))
if done != 50:
    sys.exit(f"only {done} ConfigMaps found to change")
PY
diff_cmd=("$kascade" diff -f "$changed/manifests" --app bench -n bench --state "$state")
read -r diff_us kb <<<"$(best "$runs" "$tmp/diff.out" bash -c 'diff_ok "$@"' _ "${diff_cmd[@]}")"
if ((kb > peak_kb)); then peak_kb=$kb; fi
diff_line=$(tail -n 1 "$tmp/diff.out")

echo "render step: kascade x$runs, kubectl kustomize x$kustomize_runs..." >&2
read -r render_us render_kb <<<"$(best "$runs" /dev/null "$kascade" render "$dir" -o yaml)"
peer="| kubectl kustomize (render only) | n/a | n/a |"
if ((have_kubectl)); then
    read -r z_us z_kb <<<"$(best "$kustomize_runs" "$tmp/kustomize.yaml" kubectl kustomize "$dir")"
    z_count=$(grep -c '^kind:' "$tmp/kustomize.yaml" || true)
    peer="| kubectl kustomize (render only, $z_count objects) | $(secs "$z_us") | $(mb "$z_kb") |"
fi

echo
machine_lines
echo
echo "Workload: plain, $count objects ($objects asked)."
echo
echo "| step | time | peak MB |"
echo "|---|---:|---:|"
echo "| kascade sync, first (fresh embedded cluster) | $(secs "$first_us") | $(mb "$peak_kb") (max of all runs) |"
echo "| kascade sync, no-op re-sync | $(secs "$noop_us") | |"
echo "| kascade diff, 50 changed objects | $(secs "$diff_us") | |"
echo "| kascade render (the render step alone) | $(secs "$render_us") | $(mb "$render_kb") |"
echo "$peer"
echo
echo "kascade: best of $runs runs each; kubectl kustomize: best of $kustomize_runs."
echo "no-op re-sync said: $noop_line"
echo "diff said: $diff_line"
echo
verdict() { (($1 < $2)) && echo met || echo "NOT met"; }
echo "Target: first sync < 2 s: $(secs "$first_us"), $(verdict "$first_us" 2000000)"
echo "Target: no-op re-sync < 0.3 s: $(secs "$noop_us"), $(verdict "$noop_us" 300000)"
echo "Target: diff with 50 changes < 0.5 s: $(secs "$diff_us"), $(verdict "$diff_us" 500000)"
echo "Target: peak memory < 150 MB: $(mb "$peak_kb") MB, $(verdict "$peak_kb" 153600)"
