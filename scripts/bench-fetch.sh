#!/usr/bin/env bash
# Incremental fetch benchmark: a repository with 10,000 commits (made with `git fast-import`),
# already in kascade's cache and in a bare `git clone`, gets one new commit; then kascade's
# fetch and `git fetch` bring it in, in the same run, from the same file:// URL. Prints a
# Markdown table.
#
#   scripts/bench-fetch.sh
#
# kascade is timed as `kascade diff --repo URL --path app --app a -n a` (fetch, export the
# snapshot of a one-file directory, render it, diff it against an empty embedded cluster),
# so it pays for a process start and more than the fetch; the same command when nothing is new
# (list the remote, reuse the snapshot) is printed beside it so the fetch's own share can be
# read off. git is timed as `git fetch origin +refs/heads/main:refs/heads/main` in the bare
# clone. Every run starts from a fresh copy of the state (copied outside the timed region).
#
# Environment (all optional):
#   COMMITS=10000   commits in the repository
#   FILES=100       files the commits cycle through (the tree's size)
#   RUNS=5          runs of each command (best is reported)
#   KASCADE=path    a built kascade binary (default: cargo build --release)
#   CARGO_TARGET_DIR respected when finding the built binary
set -euo pipefail
export LC_ALL=C

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
commits=${COMMITS:-10000}
files=${FILES:-100}
runs=${RUNS:-5}

die() { echo "bench-fetch: $*" >&2; exit 1; }
command -v git >/dev/null || die "git is required"
command -v python3 >/dev/null || die "python3 is required to generate the fast-import stream"

if [[ -n ${KASCADE:-} ]]; then
    kascade=$KASCADE
else
    echo "building kascade (release)..." >&2
    (cd "$repo" && cargo build --release --quiet)
    target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    kascade=$target_dir/release/kascade
fi
[[ -x $kascade ]] || die "built binary not found at $kascade"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
remote=$tmp/remote.git
url=file://$remote

now_us() {
    if [[ -n ${EPOCHREALTIME:-} ]]; then
        local t=$EPOCHREALTIME
        echo $((10#${t/./}))
    else
        echo $(($(date +%s%N) / 1000))
    fi
}
ms() { awk -v us="$1" 'BEGIN { printf "%.1f ms", us / 1e3 }'; }

echo "generating $commits commits..." >&2
git init -q --bare -b main "$remote"
t0=$(now_us)
python3 - "$commits" "$files" <<'EOF' | git --git-dir="$remote" fast-import --quiet
import sys
commits, files = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
def data(b):
    out.write(b"data %d\n" % len(b) + b + b"\n")
for i in range(1, commits + 1):
    out.write(b"commit refs/heads/main\nmark :%d\n" % i)
    out.write(b"committer Bench <bench@example.com> %d +0000\n" % (1700000000 + i))
    data(b"commit %d" % i)
    if i > 1:
        out.write(b"from :%d\n" % (i - 1))
    else:
        out.write(b"M 100644 inline app/cm.yaml\n")
        data(b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bench\ndata:\n  a: b\n")
    out.write(b"M 100644 inline data/file-%d.txt\n" % (i % files))
    data(b"content of commit %d\n" % i)
EOF
t1=$(now_us)
gen_us=$((t1 - t0))
count=$(git --git-dir="$remote" rev-list --count main)
((count == commits)) || die "expected $commits commits, found $count"

kdiff() { # kdiff STATE [ENV=VALUE...]: output in $tmp/out; exit 0 or 1 (differences) is success
    local rc=0 state=$1
    shift
    env "$@" "$kascade" diff --repo "$url" --path app --app a -n a --state "$state" >"$tmp/out" 2>"$tmp/err" || rc=$?
    ((rc <= 1)) || { cat "$tmp/err" >&2; die "kascade diff failed ($rc)"; }
}

echo "first fetch into kascade's cache and git clone --bare..." >&2
t0=$(now_us)
kdiff "$tmp/state0"
t1=$(now_us)
k_clone_us=$((t1 - t0))
t0=$(now_us)
git clone -q --bare "$url" "$tmp/clone0"
t1=$(now_us)
g_clone_us=$((t1 - t0))

# One new commit.
git --git-dir="$remote" fast-import --quiet <<EOF
commit refs/heads/main
committer Bench <bench@example.com> 1800000000 +0000
data 10
one more!
from refs/heads/main^0
M 100644 inline data/new.txt
data 4
new

EOF
new=$(git --git-dir="$remote" rev-parse main)

# The same runs without OpenSSL's CA bundle: libgit2 initialises OpenSSL and parses the
# system CA bundle when the process first uses git, https or not. A long-running process pays
# that once; a one-shot command pays it every time. SSL_CERT_FILE=/dev/null removes it (only
# for these measurements; it would break https).
nocerts=(SSL_CERT_FILE=/dev/null SSL_CERT_DIR=/nonexistent)

k_best=0 g_best=0 k_noop_best=0 g_noop_best=0 kn_best=0 kn_noop_best=0
for ((i = 0; i < runs; i++)); do
    rm -rf "$tmp/state" "$tmp/clone" "$tmp/state-nc"
    cp -a "$tmp/state0" "$tmp/state"
    cp -a "$tmp/state0" "$tmp/state-nc"
    cp -a "$tmp/clone0" "$tmp/clone"
    sync
    # git first, kascade second: the first command after the copies pays for any writeback.
    t0=$(now_us)
    git --git-dir="$tmp/clone" fetch -q origin +refs/heads/main:refs/heads/main
    t1=$(now_us)
    us=$((t1 - t0))
    [[ $(git --git-dir="$tmp/clone" rev-parse main) == "$new" ]] || die "git fetch did not bring $new"
    if ((g_best == 0 || us < g_best)); then g_best=$us; fi
    t0=$(now_us)
    kdiff "$tmp/state"
    t1=$(now_us)
    us=$((t1 - t0))
    grep -q "revision $new" "$tmp/out" || die "kascade did not fetch $new: $(cat "$tmp/out")"
    if ((k_best == 0 || us < k_best)); then k_best=$us; fi

    t0=$(now_us)
    kdiff "$tmp/state-nc" "${nocerts[@]}"
    t1=$(now_us)
    us=$((t1 - t0))
    grep -q "revision $new" "$tmp/out" || die "kascade did not fetch $new: $(cat "$tmp/out")"
    if ((kn_best == 0 || us < kn_best)); then kn_best=$us; fi
    t0=$(now_us)
    kdiff "$tmp/state-nc" "${nocerts[@]}"
    t1=$(now_us)
    us=$((t1 - t0))
    if ((kn_noop_best == 0 || us < kn_noop_best)); then kn_noop_best=$us; fi


    # Nothing new: the same commands again.
    t0=$(now_us)
    kdiff "$tmp/state"
    t1=$(now_us)
    us=$((t1 - t0))
    if ((k_noop_best == 0 || us < k_noop_best)); then k_noop_best=$us; fi
    t0=$(now_us)
    git --git-dir="$tmp/clone" fetch -q origin +refs/heads/main:refs/heads/main
    t1=$(now_us)
    us=$((t1 - t0))
    if ((g_noop_best == 0 || us < g_noop_best)); then g_noop_best=$us; fi
done

echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(git --version)"
echo "Repository: $commits commits over $files files, made by git fast-import in $(ms "$gen_us"); URL $url"
echo
echo "| step | kascade | git |"
echo "|---|---:|---:|"
echo "| first fetch (kascade: full fetch + snapshot + diff; git: clone --bare) | $(ms "$k_clone_us") | $(ms "$g_clone_us") |"
echo "| one new commit (best of $runs) | $(ms "$k_best") | $(ms "$g_best") |"
echo "| nothing new (best of $runs) | $(ms "$k_noop_best") | $(ms "$g_noop_best") |"
echo "| one new commit, without the CA bundle load | $(ms "$kn_best") | $(ms "$g_best") |"
echo "| nothing new, without the CA bundle load | $(ms "$kn_noop_best") | $(ms "$g_noop_best") |"
echo
echo "kascade: \`kascade diff --repo $url --path app --app a -n a --state DIR\`"
echo "git:     \`git --git-dir CLONE fetch -q origin +refs/heads/main:refs/heads/main\`"
verdict=$( ((k_best <= g_best)) && echo met || echo "NOT met")
echo
echo "Target: incremental fetch of one new commit no slower than git fetch: $(ms "$k_best") vs $(ms "$g_best"), $verdict"
verdict=$( ((kn_best <= g_best)) && echo met || echo "NOT met")
echo "Without the one-time CA bundle load (a long-running process): $(ms "$kn_best") vs $(ms "$g_best"), $verdict"
