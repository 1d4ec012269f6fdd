# Shared by the benchmark scripts: finds or builds the release binary, and times commands.
# Source it after setting nothing; it defines:
#   repo workload kascade tmp have_kubectl gnu_time
#   die MSG | now_us | measure OUT CMD... | best RUNS OUT CMD... | secs US | ms US | mb KIB
#   machine_lines (the "Machine:" and "timer:" lines of a report)
# shellcheck shell=bash

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
workload=${WORKLOAD:-$repo/../shared/bench/workload.py}

die() { echo "$(basename "$0" .sh): $*" >&2; exit 1; }
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


machine_lines() {
    echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "kascade: $kascade; kubectl: $( ((have_kubectl)) && kubectl version --client 2>/dev/null | head -n 1 || echo none)"
    if ((gnu_time)); then
        echo "timer: bash clock (EPOCHREALTIME) around /usr/bin/time; peak RSS from GNU time %M"
    else
        # A child's maxrss includes its RSS between fork and exec, i.e. the python interpreter's.
        local floor_kb
        read -r _ floor_kb <<<"$(measure /dev/null true)"
        echo "timer: python3 perf_counter + getrusage; peak RSS has a floor of $(mb "$floor_kb") MB (the wrapper's RSS before exec)"
    fi
}
