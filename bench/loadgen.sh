#!/bin/bash
# bench/loadgen.sh: the load generator's throughput and pacing against a
# loopback nginx that responds to every request with a fixed 11-byte body.
#
#   bench/loadgen.sh [DURATION_S [CONNECTIONS [THREADS [RATE]]]]
#
# In one run, against one nginx (one worker process, its own config on a
# free port, not a daemon, in a temporary directory):
#   1. wrk -t THREADS -c CONNECTIONS for DURATION_S seconds (GET /);
#   2. ratelab load --rate max with the same connections, threads, duration
#      and request (GET /, from a template);
#   3. ratelab load --rate RATE/s (default 20000) for DURATION_S seconds:
#      achieved vs target rate, late sends, latency.
# Defaults: 10 s, 50 connections, 2 threads.  RATELAB names the binary
# (default: build/ratelab, then build-*/ratelab).  nginx-light and wrk are
# installed with apt-get when missing and the script runs as root.  nginx
# is stopped when the script ends, however it ends.
set -eu

DURATION=${1:-10}
CONNECTIONS=${2:-50}
THREADS=${3:-2}
RATE=${4:-20000}

cd "$(dirname "$0")/.."
case "$DURATION$CONNECTIONS$THREADS$RATE" in
*[!0-9]*)
    echo "loadgen.sh: DURATION_S, CONNECTIONS, THREADS and RATE must be whole numbers" >&2
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
    echo "loadgen.sh: ratelab binary not found; build it with ./build.sh build" \
        "or set RATELAB=path/to/ratelab" >&2
    exit 2
fi

# Installs the missing Debian packages, or prints the apt-get line.
need=""
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need="$need nginx-light"
command -v wrk >/dev/null 2>&1 || need="$need wrk"
if [ -n "$need" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "loadgen.sh: missing$need; install with: apt-get install -y$need" >&2
        exit 2
    fi
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# A free port: the first one where a connection attempt fails.
port=""
for candidate in $(seq 18700 18799); do
    if ! (exec 3<>/dev/tcp/127.0.0.1/$candidate) 2>/dev/null; then
        port=$candidate
        break
    fi
done 2>/dev/null || true
if [ -z "$port" ]; then
    port=18700
fi

dir=$(mktemp -d)
nginx_pid=""
cleanup() {
    if [ -n "$nginx_pid" ]; then
        kill "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user nobody nogroup;"
cat >"$dir/nginx.conf" <<CONF
$user_line
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    server {
        listen 127.0.0.1:$port;
        location / { return 200 '{"ok":true}'; }
    }
}
CONF
"$NGINX" -c "$dir/nginx.conf" -p "$dir" >"$dir/nginx.out" 2>&1 &
nginx_pid=$!
for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break
    sleep 0.1
done

url="http://127.0.0.1:$port"
printf '{"method": "GET", "path": "/"}\n' >"$dir/get.json"
echo "nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///') on $url; $(nproc) CPUs;" \
    "$DURATION s per run, $CONNECTIONS connections, $THREADS threads"

# 1. wrk, closed loop.
wrk_rps=$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" "$url/" |
    awk '/^Requests\/sec:/ { print $2 }')
echo "wrk                      $wrk_rps requests/s"

# 2. ratelab, closed loop, same request.
"$RATELAB" load --target "$url" --rate max --connections "$CONNECTIONS" \
    --threads "$THREADS" --duration "${DURATION}s" --template "$dir/get.json" \
    --json --out "$dir/max.json" >/dev/null
# Reads a top-level number from a result file (one key per line).
field() { sed -n "s/^ \"$1\": \([0-9.eE+-]*\),*$/\1/p" "$2" | head -1; }
rl_rps=$(field requests_per_second "$dir/max.json")
awk -v r="$rl_rps" 'BEGIN { printf "ratelab load --rate max  %.2f requests/s\n", r }'
awk -v a="$rl_rps" -v b="$wrk_rps" 'BEGIN { printf "ratio                    %.1f %% of wrk (goal: at least 80 %%)\n", 100 * a / b }'

# 3. ratelab, constant rate.
"$RATELAB" load --target "$url" --rate "$RATE/s" --connections "$CONNECTIONS" \
    --threads "$THREADS" --duration "${DURATION}s" --template "$dir/get.json" \
    --json --out "$dir/rate.json" >/dev/null
achieved=$(field achieved_rate "$dir/rate.json")
late=$(field late_sends "$dir/rate.json")
sent=$(field requests "$dir/rate.json")
not_sent=$(field not_sent "$dir/rate.json")
p99=$(sed -n '/"latency_us"/,/}/s/^  "p99": \([0-9]*\),*$/\1/p' "$dir/rate.json")
awk -v a="$achieved" -v t="$RATE" -v late="$late" -v sent="$sent" -v ns="$not_sent" \
    -v p99="$p99" 'BEGIN {
    printf "ratelab load --rate %d/s achieved %.1f/s = %.2f %% of target (goal: within 1 %%)\n", t, a, 100 * a / t
    printf "                         %d sent, %d late (> 1 ms), %d not sent, latency p99 %.3f ms\n", sent, late, ns, p99 / 1000
}'
