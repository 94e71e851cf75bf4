#!/bin/sh
# bench/redis_store.sh: decisions per second of the Redis store's two
# policies at 1, 8 and 32 connections, next to redis-benchmark's INCR at
# the same concurrency, all in one run against one private redis-server on
# a free loopback port.
#
#   bench/redis_store.sh [REQUESTS [REPEATS]]
#
# REQUESTS (default 100000) is the request count of every single run;
# each figure is the median of REPEATS runs (default 3), taken in turn with
# the other two measurements.  RATELAB names the
# ratelab binary (default: build/ratelab, then build-*/ratelab).  The
# redis-server is stopped when the script ends, however it ends.
set -eu

REQUESTS=${1:-100000}
REPEATS=${2:-3}
CONNECTIONS="1 8 32"

cd "$(dirname "$0")/.."
case "$REQUESTS$REPEATS" in
*[!0-9]*)
    echo "redis_store.sh: REQUESTS and REPEATS must be whole numbers" >&2
    exit 2
    ;;
esac

# Finds the ratelab binary.
if [ -z "${RATELAB:-}" ]; then
    for candidate in build/ratelab build-*/ratelab ../build-*/ratelab; do
        if [ -x "$candidate" ]; then
            RATELAB=$candidate
            break
        fi
    done
fi
if [ -z "${RATELAB:-}" ] || [ ! -x "$RATELAB" ]; then
    echo "redis_store.sh: ratelab binary not found; build it with ./build.sh build" \
        "or set RATELAB=path/to/ratelab" >&2
    exit 2
fi
for tool in redis-server redis-benchmark redis-cli; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "redis_store.sh: $tool not found; install it with" \
            "'apt-get install redis-server redis-tools'" >&2
        exit 2
    fi
done

# Starts redis-server on a random loopback port where no server replies.
REDIS_PID=""
stop_redis() {
    if [ -n "$REDIS_PID" ]; then
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
    fi
}
trap stop_redis EXIT INT TERM

start_redis() {
    attempt=0
    while [ $attempt -lt 10 ]; do
        attempt=$((attempt + 1))
        PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000))
        if redis-cli -h 127.0.0.1 -p "$PORT" ping >/dev/null 2>&1; then
            continue
        fi
        redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no \
            --daemonize no >/dev/null 2>&1 &
        REDIS_PID=$!
        tries=0
        while [ $tries -lt 100 ]; do
            if ! kill -0 "$REDIS_PID" 2>/dev/null; then
                break
            fi
            if [ "$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" = PONG ]; then
                return 0
            fi
            sleep 0.05
            tries=$((tries + 1))
        done
        stop_redis
        REDIS_PID=""
    done
    echo "redis_store.sh: could not start redis-server on a loopback port" >&2
    exit 1
}

# Prints the median of the numbers on stdin (one a line).
median() {
    sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# Prints decisions/s of one store-bench run.
bench_policy() {
    "$RATELAB" store-bench --store "redis://127.0.0.1:$PORT/0" --policy "$1" \
        --threads "$2" --requests "$REQUESTS" --json |
        sed -n 's/.*"decisions_per_second": *\([0-9.]*\).*/\1/p'
}

# Prints requests/s of one redis-benchmark INCR run.
bench_incr() {
    redis-benchmark -h 127.0.0.1 -p "$PORT" -c "$1" -n "$REQUESTS" -P 1 -t incr -q |
        tr '\r' '\n' | sed -n 's/^INCR: *\([0-9.]*\) requests per second.*/\1/p' | tail -n 1
}

start_redis
echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on" \
    "127.0.0.1:$PORT; $REQUESTS requests per run, median of $REPEATS;" \
    "$(nproc) cores"
printf '%-11s %12s %12s %12s %16s %12s\n' connections atomic/s deployed/s \
    "incr/s" atomic/deployed atomic/incr
# The three measurements alternate within each repeat, so that load from
# other processes on the machine falls on all three alike.
for c in $CONNECTIONS; do
    atomic="" deployed="" incr=""
    r=0
    while [ $r -lt "$REPEATS" ]; do
        atomic="$atomic $(bench_policy atomic "$c")"
        deployed="$deployed $(bench_policy deployed "$c")"
        incr="$incr $(bench_incr "$c")"
        r=$((r + 1))
    done
    atomic=$(echo $atomic | tr ' ' '\n' | median)
    deployed=$(echo $deployed | tr ' ' '\n' | median)
    incr=$(echo $incr | tr ' ' '\n' | median)
    awk -v c="$c" -v a="$atomic" -v d="$deployed" -v i="$incr" 'BEGIN {
        printf "%-11s %12.0f %12.0f %12.0f %15.1fx %11.0f%%\n", c, a, d, i,
            (d > 0 ? a / d : 0), (i > 0 ? 100 * a / i : 0)
    }'
done
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
