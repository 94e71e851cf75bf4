#!/bin/sh
# Build the libFuzzer harnesses with clang and run them.
#
#   tests/fuzz/run.sh TARGET|all SECONDS
#
# TARGET is a harness name without the fuzz_ prefix (duration, time,
# window, dotenv, taskdef, scenario, server_body, trace), or "all" to run
# each in turn for SECONDS seconds.  The build goes to build-fuzz/, or to
# FUZZ_BUILD_DIR when set.  The seed corpus in tests/fuzz/corpus/TARGET is
# copied to build-fuzz/corpus/TARGET, where new inputs accumulate, so the
# shipped seeds stay as they are.  Crashes land in
# build-fuzz/artifacts/TARGET/.
# Exit status: 0 when no harness crashed, 1 when one did, 2 on bad usage.
set -eu

usage() {
    echo "usage: tests/fuzz/run.sh TARGET|all SECONDS" >&2
    exit 2
}
[ $# -eq 2 ] || usage
target=$1
seconds=$2
case "$seconds" in
'' | *[!0-9]*) usage ;;
esac
[ "$seconds" -gt 0 ] || usage

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}

# clang 14 with its runtime libraries (libFuzzer, ASan, UBSan).
if ! command -v clang >/dev/null 2>&1 ||
    ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q " installed"; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "run.sh: clang is missing; as root run:" >&2
        echo "  apt-get update && apt-get install -y clang libclang-rt-14-dev" >&2
        exit 2
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang libclang-rt-14-dev
fi

CC=clang cmake -S "$root" -B "$build" -DRATELAB_FUZZ=ON -DRATELAB_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null

if [ "$target" = all ]; then
    targets=$(cd "$build/tests/fuzz" && ls fuzz_* | sed 's/^fuzz_//')
else
    targets=$target
    [ -x "$build/tests/fuzz/fuzz_$target" ] || {
        echo "run.sh: no harness fuzz_$target in $build/tests/fuzz" >&2
        exit 2
    }
fi

# The scenario harness reads env files relative to its working directory.
scratch="$build/scratch"
mkdir -p "$scratch"
cp -r "$root/scenarios/deploy" "$scratch/"

failed=0
for t in $targets; do
    corpus="$build/corpus/$t"
    artifacts="$build/artifacts/$t/"
    mkdir -p "$corpus" "$artifacts"
    if [ -d "$here/corpus/$t" ]; then
        cp "$here/corpus/$t"/* "$corpus/" 2>/dev/null || true
    fi
    dict=""
    [ -f "$here/$t.dict" ] && dict="-dict=$here/$t.dict"
    log="$build/fuzz_$t.log"
    echo "run.sh: fuzz_$t for ${seconds}s (log: $log)"
    # shellcheck disable=SC2086
    if (cd "$scratch" && "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts" $dict "$corpus" </dev/null >"$log" 2>&1); then
        status=ok
    else
        status=FAILED
        failed=1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)
    files=$(ls "$corpus" | wc -l)
    echo "run.sh: fuzz_$t $status: ${runs:-?} runs, ${cov:-no coverage line}, corpus $files files"
    [ "$status" = ok ] || ls "$artifacts" | sed 's/^/run.sh:   artifact: /'
done
exit $failed
