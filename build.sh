#!/bin/sh
# Set up, build and run ratelab on a Debian machine.
#
#   ./build.sh demo    install what is missing, build, run the simulator on
#                      the shipped scenarios
#   ./build.sh test    install what is missing, build with -Werror, run every
#                      test through ctest
#   ./build.sh build   install what is missing and build
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
demo | test | build) ;;
*)
    echo "build.sh: unknown mode '$mode': use demo, test or build" >&2
    exit 2
    ;;
esac

cd "$(dirname "$0")"
BUILD_DIR=${BUILD_DIR:-build}

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
[ "$mode" = test ] && werror=ON
# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" -DRATELAB_WERROR=$werror ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"

case "$mode" in
demo)
    exec "./$BUILD_DIR/ratelab" sim scenarios/
    ;;
test)
    cd "$BUILD_DIR"
    exec ctest --output-on-failure -j "$(nproc)"
    ;;
esac
