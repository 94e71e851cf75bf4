#!/bin/sh
# bench/server.sh: decisions per second of `ratelab serve` over HTTP on
# loopback, with the memory store and with the Redis store (policies
# deployed and atomic), driven by wrk with bench/server.lua (a miner POST
# per request, every request admitted).
#
#   bench/server.sh [DURATION_S [CONNECTIONS [SERVER_THREADS]]]
#
# Defaults: 10 s per run, 32 connections over 2 wrk threads, 2 server
# worker threads.  RATELAB names the ratelab binary (default:
# build/ratelab, then build-*/ratelab).  wrk is installed with apt-get
# when missing and the script runs as root.  Every server it starts listens
# on 127.0.0.1 and is stopped when the script ends, however it ends.
set -eu

DURATION=${1:-10}
CONNECTIONS=${2:-32}
SERVER_THREADS=${3:-2}

cd "$(dirname "$0")/.."
case "$DURATION$CONNECTIONS$SERVER_THREADS" in
*[!0-9]*)
    echo "server.sh: DURATION_S, CONNECTIONS and SERVER_THREADS must be whole numbers" >&2
    exit 2
    ;;
esac

if [ -z "${RATELAB:-}" ]; then
    for candidate in build/ratelab build-*/ratelab ../build-*/ratelab; do
        if [ -x "$candidate" ]; then
            RATELAB=$candidate
            break
        fi
    done
fi
if [ -z "${RATELAB:-}" ] || [ ! -x "$RATELAB" ]; then
    echo "server.sh: ratelab binary not found; build it with ./build.sh build" \
        "or set RATELAB=path/to/ratelab" >&2
    exit 2
fi
if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk
    else
        echo "server.sh: wrk not found; install it with 'apt-get install wrk'" >&2
        exit 2
    fi
fi
if ! command -v redis-server >/dev/null 2>&1; then
    echo "server.sh: redis-server not found; install it with 'apt-get install redis-server'" >&2
    exit 2
fi

# Prints a TCP port on 127.0.0.1 where nothing accepts connections (best effort).
free_port() {
    while :; do
        port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
}

PIDS=""
cleanup() {
    for pid in $PIDS; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT INT TERM

# Waits up to 5 s for a TCP port to accept connections.
wait_port() {
    i=0
    while [ $i -lt 100 ]; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        sleep 0.05
        i=$((i + 1))
    done
    echo "server.sh: nothing listens on 127.0.0.1:$1 after 5 s" >&2
    exit 1
}

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --daemonize no >/dev/null &
PIDS="$PIDS $!"
wait_port "$REDIS_PORT"

# run_one LABEL STORE POLICY: starts a server, runs wrk once, prints a row.
run_one() {
    port=$(free_port)
    DAILY_LIMIT_PER_MINER=1000000000 TOTAL_DAILY_LIMIT=1000000000000 \
        RATELAB_LOG=warn "$RATELAB" serve --listen "127.0.0.1:$port" --store "$2" \
        --policy "$3" --threads "$SERVER_THREADS" --max-connections 4096 2>/dev/null &
    server=$!
    PIDS="$PIDS $server"
    wait_port "$port"
    out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/server.lua \
        "http://127.0.0.1:$port")
    kill "$server"
    wait "$server" 2>/dev/null || true
    rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
    errors=$(echo "$out" | awk '/Socket errors/ {print $0}')
    printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$3" "$rps" "$p50" "$p99" \
        "${bad:-0}${errors:+ ($errors)}"
}

echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s; server --threads $SERVER_THREADS"
echo "| store | policy | requests/s | p50 | p99 | non-2xx |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
run_one memory memory deployed
run_one memory memory atomic
run_one redis "redis://127.0.0.1:$REDIS_PORT/0" deployed
run_one redis "redis://127.0.0.1:$REDIS_PORT/0" atomic
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
