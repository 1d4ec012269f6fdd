#!/usr/bin/env bash
# Cascade benchmark: the `cascade` workload of ../shared/bench/workload.py (one base image,
# a base BuildConfig, N dependent BuildConfigs FROM base:latest, N DeploymentConfigs) synced
# into a fresh embedded cluster, then the base tag moved with `kascade tag` — which returns
# only when the cluster has settled: the base image imported, base rebuilt, N builds run, N
# rollouts recorded. Prints a Markdown table.
#
#   scripts/bench-cascade.sh
#
# Environment (all optional):
#   DEPENDENTS=200   dependent apps
#   RUNS=5           base-tag changes timed (each to a new digest; best and median reported)
#   WORKLOAD=...     path of workload.py (default ../shared/bench/workload.py)
#   PROFILE=release  cargo profile to build and run
set -euo pipefail
export LC_ALL=C

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
workload=${WORKLOAD:-$repo/../shared/bench/workload.py}
dependents=${DEPENDENTS:-200}
runs=${RUNS:-5}
profile=${PROFILE:-release}

die() { echo "bench-cascade: $*" >&2; exit 1; }
[[ -f $workload ]] || die "workload generator not found: $workload (set WORKLOAD)"
command -v python3 >/dev/null || die "python3 is required to generate the workload"
command -v git >/dev/null || die "git is required to make the source repository"

echo "building kascade ($profile)..." >&2
(cd "$repo" && cargo build --profile "$profile" --quiet)
target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
dir=$profile; [[ $profile == dev ]] && dir=debug
kascade=$target_dir/$dir/kascade

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$workload" cascade "$work/templates" --dependents "$dependents"
# The source every build fetches: base/ and app/ build contexts.
git init -q -b main "$work/src"
mkdir -p "$work/src/base" "$work/src/app"
printf 'FROM upstream:stable\nRUN make base\n' >"$work/src/base/Dockerfile"
printf 'FROM base:latest\nCOPY . /app\n' >"$work/src/app/Dockerfile"
git -C "$work/src" add -A
git -C "$work/src" -c user.name=bench -c user.email=bench@example.com commit -qm bench

cd "$work"
now() { python3 -c 'import time; print(time.perf_counter_ns())'; }
ms() { python3 -c "print(f'{($2 - $1) / 1e6:.0f}')"; }

t0=$(now)
"$kascade" sync --templates "$work/templates" --template cascade -p GIT_URL="$work/src" >"$work/sync.out"
t1=$(now)
builds=$(grep -c 'complete (' "$work/sync.out" || true)
rollouts=$(grep -c 'rolled out version 1' "$work/sync.out" || true)
[[ $rollouts -eq $dependents ]] || die "first sync rolled out $rollouts of $dependents"
first=$(ms "$t0" "$t1")

times=()
for i in $(seq 1 "$runs"); do
    digest=$(printf '%064x' "$i")
    t0=$(now)
    "$kascade" tag "registry.example.com/base@sha256:$digest" upstream:stable >"$work/tag.out"
    t1=$(now)
    n=$(grep -c "rolled out version $((i + 1))" "$work/tag.out" || true)
    b=$(grep -c 'complete (' "$work/tag.out" || true)
    [[ $n -eq $dependents ]] || die "run $i: $n of $dependents rollouts"
    [[ $b -eq $((dependents + 1)) ]] || die "run $i: $b of $((dependents + 1)) builds"
    times+=("$(ms "$t0" "$t1")")
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
best=$(echo "$sorted" | head -1)
median=$(echo "$sorted" | sed -n "$(((runs + 1) / 2))p")

echo
echo "| step ($dependents dependents, $profile) | wall clock |"
echo "|---|---|"
echo "| first sync: $((3 * dependents + 3)) objects, $builds builds, $rollouts rollouts | ${first} ms |"
echo "| base tag change → $((dependents + 1)) builds → $dependents rollouts recorded (best of $runs) | ${best} ms |"
echo "| same, median | ${median} ms |"
