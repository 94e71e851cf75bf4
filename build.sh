#!/bin/sh
# Set up, build and run ratelab on a Debian machine.
#
#   ./build.sh demo    install what is missing, build, run the simulator on
#                      the shipped scenarios
#   ./build.sh test    install what is missing, build with -Werror, run every
#                      test through ctest
#   ./build.sh build   install what is missing and build
#   ./build.sh test-sanitize
#                      like test, but built with AddressSanitizer and
#                      UndefinedBehaviorSanitizer in build-sanitize
#
# Missing Debian packages are installed with apt-get when run as root;
# otherwise the exact apt-get line is printed and the script stops.
# BUILD_DIR (default: build) and CMAKE_ARGS (extra cmake options) are honored.
set -eu

PACKAGES="cmake make gcc pkg-config libhiredis-dev libcurl4-openssl-dev \
libmicrohttpd-dev libjansson-dev libinih-dev libcunit1-dev redis-server \
gnuplot-nox"

mode=${1:-demo}
case "$mode" in
demo | test | build | test-sanitize) ;;
*)
    echo "build.sh: unknown mode '$mode': use demo, test, build or test-sanitize" >&2
    exit 2
    ;;
esac

cd "$(dirname "$0")"
BUILD_DIR=${BUILD_DIR:-build}
sanitize=OFF
if [ "$mode" = test-sanitize ]; then
    BUILD_DIR=${BUILD_DIR_SANITIZE:-build-sanitize}
    sanitize=ON
fi

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
    *" installed") ;;
    *) missing="$missing $p" ;;
    esac
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "build.sh: missing Debian packages; install them as root with:" >&2
        echo "  apt-get update && apt-get install -y$missing" >&2
        exit 2
    fi
    echo "build.sh: installing$missing" >&2
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
fi

werror=OFF
case "$mode" in test | test-sanitize) werror=ON ;; esac
# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" -DRATELAB_WERROR=$werror -DRATELAB_SANITIZE=$sanitize \
    ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"

case "$mode" in
demo)
    exec "./$BUILD_DIR/ratelab" sim scenarios/
    ;;
test)
    cd "$BUILD_DIR"
    exec ctest --output-on-failure -j "$(nproc)"
    ;;
test-sanitize)
    # Any sanitizer report fails the test that triggered it: UBSan aborts
    # (-fno-sanitize-recover), ASan and LeakSanitizer exit non-zero.
    # Valgrind cannot run sanitized binaries, so its label is left out.
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
    cd "$BUILD_DIR"
    exec ctest --output-on-failure -j "$(nproc)" -LE valgrind
    ;;
esac
