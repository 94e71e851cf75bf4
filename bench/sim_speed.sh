#!/bin/sh
# Measures the simulator's speed and prints the figures kept in
# bench/README.md ("Simulator speed").
#
#   bench/sim_speed.sh [BUILD_DIR]      (default: build)
#
# 1. The fast engine on bench/scenarios/speed-10000-miners-30-days.ini
#    (86.4 million requests), one thread, three runs: wall time of the
#    whole `ratelab sim` process, requests per second, peak RSS.
# 2. The Python yardstick (bench/sim_baseline.py) on one day of the same
#    scenario, scaled to 30 days, and the speed-up of the fast engine.
# 3. Thread scaling: eight copies of the scenario with seeds 1 to 8
#    (691 million requests in all) run with --threads 1, 2 and 4; the JSON
#    outputs must be identical.
# 4. With GENERAL=1, the general event loop on the same scenario, once.
#
# Needs /usr/bin/time (Debian package "time") and python3.  Runs nothing
# on the network.  Exit status: 0, or 1 when the outputs of different
# thread counts or engines differ.
set -eu

BUILD_DIR=${1:-build}
RATELAB="$BUILD_DIR/ratelab"
HERE=$(cd "$(dirname "$0")" && pwd)
SCENARIO="$HERE/scenarios/speed-10000-miners-30-days.ini"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if [ ! -x "$RATELAB" ]; then
    echo "sim_speed.sh: $RATELAB not found; build first or pass the build directory" >&2
    exit 2
fi
if [ ! -x /usr/bin/time ]; then
    echo "sim_speed.sh: /usr/bin/time not found; install the Debian package 'time'" >&2
    exit 2
fi

# Runs ratelab under /usr/bin/time; prints "WALL_S RSS_KB CPU_S" (CPU:
# user plus system, over all threads) and leaves the JSON in $TMP/out.json.
timed_run() {
    /usr/bin/time -f "%e %M %U %S" -o "$TMP/time" "$RATELAB" sim --json "$@" \
        >"$TMP/out.json" 2>"$TMP/err" || [ $? -eq 1 ]
    awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }' "$TMP/time"
}

requests_of() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(s["totals"]["requests"] for s in d["scenarios"]))' "$1"
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
    "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

echo "== fast engine, 1 thread, $(basename "$SCENARIO")"
best=""
for run in 1 2 3; do
    set -- $(timed_run --engine fast --threads 1 "$SCENARIO")
    requests=$(requests_of "$TMP/out.json")
    echo "run $run: ${1} s wall, ${3} s CPU, $requests requests, peak RSS ${2} kB," \
        "$(python3 -c "print(round($requests / $1 / 1e6, 1))") M requests/s"
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $1 < $best else 1)"; then
        best=$1
    fi
done
cp "$TMP/out.json" "$TMP/fast.json"
echo "best: $best s = $(python3 -c "print(round($requests / $best / 1e6, 1))") M requests/s"
echo

echo "== Python yardstick (bench/sim_baseline.py), 1 day of 30, scaled x30"
line=$(python3 "$HERE/sim_baseline.py" --days 1)
echo "$line"
py_seconds=$(echo "$line" | sed 's/.*seconds=\([0-9.]*\).*/\1/')
echo "30 days estimated: $(python3 -c "print(round($py_seconds * 30, 1))") s;" \
    "fast engine speed-up: $(python3 -c "print(round($py_seconds * 30 / $best))")x"
echo

echo "== thread scaling: 8 scenarios of 30 days (seeds 1..8)"
mkdir "$TMP/many"
for seed in 1 2 3 4 5 6 7 8; do
    sed -e "s/^seed = 7/seed = $seed/" "$SCENARIO" \
        >"$TMP/many/speed-seed-$seed.ini"
done
status=0
for threads in 1 2 4; do
    set -- $(timed_run --threads "$threads" "$TMP/many")
    cp "$TMP/out.json" "$TMP/many-$threads.json"
    echo "--threads $threads: ${1} s wall, ${3} s CPU, peak RSS ${2} kB," \
        "$(python3 -c "print(round($(requests_of "$TMP/out.json") / $1 / 1e6, 1))") M requests/s"
    if ! cmp -s "$TMP/many-1.json" "$TMP/many-$threads.json"; then
        echo "DIFFERENT output with --threads $threads"
        status=1
    fi
done

if [ "${GENERAL:-0}" = 1 ]; then
    echo
    echo "== general engine, 1 thread (reference)"
    set -- $(timed_run --engine general --threads 1 "$SCENARIO")
    echo "${1} s, peak RSS ${2} kB," \
        "$(python3 -c "print(round($requests / $1 / 1e6, 2))") M requests/s"
    if ! cmp -s "$TMP/fast.json" "$TMP/out.json"; then
        echo "DIFFERENT output from the general engine"
        status=1
    fi
fi
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
