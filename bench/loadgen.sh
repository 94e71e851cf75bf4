#!/bin/bash
# bench/loadgen.sh: the load generator's throughput and pacing against a
# loopback nginx that responds to every request with a fixed 11-byte body.
#
#   bench/loadgen.sh [DURATION_S [CONNECTIONS [THREADS [RATE [REPEATS]]]]]
#
# In one run, against one nginx (one worker process, its own config on a
# free port, not a daemon, in a temporary directory), REPEATS times
# (default 3), alternating so that background load falls on both alike:
#   1. wrk -t THREADS -c CONNECTIONS for DURATION_S seconds (GET /);
#   2. ratelab load --rate max with the same connections, threads, duration
#      and request (GET /, from a template);
# then REPEATS runs of
#   3. ratelab load --rate RATE/s (default 20000) for DURATION_S seconds:
#      achieved vs target rate, late sends, latency.
# Each line shows how long nginx's worker waited for a CPU while it was
# runnable (its run queue wait from /proc/PID/schedstat), and ratelab's
# cpu_wait_seconds, as shares of the run.  A high share means the machine
# was oversubscribed during that run.  The summary compares the medians.
# Defaults: 10 s, 50 connections, 2 threads.  RATELAB names the binary
# (default: build/ratelab, then build-*/ratelab).  nginx-light and wrk are
# installed with apt-get when missing and the script runs as root.  nginx
# is stopped when the script ends, however it ends.
set -eu

DURATION=${1:-10}
CONNECTIONS=${2:-50}
THREADS=${3:-2}
RATE=${4:-20000}
REPEATS=${5:-3}

cd "$(dirname "$0")/.."
case "$DURATION$CONNECTIONS$THREADS$RATE$REPEATS" in
*[!0-9]*)
    echo "loadgen.sh: DURATION_S, CONNECTIONS, THREADS, RATE and REPEATS must be" \
        "whole numbers" >&2
    exit 2
    ;;
esac
if [ "$REPEATS" -lt 1 ] || [ "$REPEATS" -gt 9 ]; then
    echo "loadgen.sh: REPEATS must be from 1 to 9 (got $REPEATS)" >&2
    exit 2
fi

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
    "$DURATION s per run, $CONNECTIONS connections, $THREADS threads, $REPEATS repeats"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# nginx's worker process, for its run queue wait.
worker_pid=$(pgrep -P "$nginx_pid" 2>/dev/null | head -1 || true)
# Prints nginx's cumulative run queue wait in nanoseconds (0 if unknown).
nginx_wait_ns() {
    if [ -n "$worker_pid" ] && [ -r "/proc/$worker_pid/schedstat" ]; then
        cut -d' ' -f2 "/proc/$worker_pid/schedstat"
    else
        echo 0
    fi
}
# Runs "$@" and prints nginx's run queue wait during it as a share of
# DURATION_S, e.g. "31 %".
nginx_wait_share() {
    local before after
    before=$(nginx_wait_ns)
    "$@"
    after=$(nginx_wait_ns)
    awk -v a="$before" -v b="$after" -v d="$DURATION" \
        'BEGIN { printf "%.0f %%", 100 * (b - a) / 1e9 / d }'
}
# Reads a top-level number from a result file (one key per line).
field() { sed -n "s/^ \"$1\": \([0-9.eE+-]*\),*$/\1/p" "$2" | head -1; }
# Prints ratelab's worker CPU wait from a result file as a share of
# THREADS x DURATION_S, e.g. "12 %" ("n/a" from builds that lack it).
ratelab_wait_share() {
    awk -v w="$(field cpu_wait_seconds "$1")" -v t="$THREADS" -v d="$DURATION" \
        'BEGIN { if (w == "") print "n/a"; else printf "%.0f %%", 100 * w / t / d }'
}
# Prints the median of the numbers given as arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

run_wrk() {
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" "$url/" >"$dir/wrk.txt"
}
run_ratelab() { # RATE_ARG OUT_FILE
    "$RATELAB" load --target "$url" --rate "$1" --connections "$CONNECTIONS" \
        --threads "$THREADS" --duration "${DURATION}s" --template "$dir/get.json" \
        --json --out "$2" >/dev/null
}

# 1 and 2, alternating: wrk and ratelab --rate max, closed loop.
wrk_all=""
rl_all=""
for i in $(seq 1 "$REPEATS"); do
    wait_share=$(nginx_wait_share run_wrk)
    wrk_rps=$(awk '/^Requests\/sec:/ { print $2 }' "$dir/wrk.txt")
    printf 'run %d  wrk                      %10.2f requests/s  (nginx waited for a CPU %s)\n' \
        "$i" "$wrk_rps" "$wait_share"
    wait_share=$(nginx_wait_share run_ratelab max "$dir/max.json")
    rl_rps=$(field requests_per_second "$dir/max.json")
    printf 'run %d  ratelab load --rate max  %10.2f requests/s  (nginx waited for a CPU %s, ratelab %s)\n' \
        "$i" "$rl_rps" "$wait_share" "$(ratelab_wait_share "$dir/max.json")"
    wrk_all="$wrk_all $wrk_rps"
    rl_all="$rl_all $rl_rps"
done
# shellcheck disable=SC2086 # the lists are numbers separated by spaces
wrk_median=$(median $wrk_all)
# shellcheck disable=SC2086
rl_median=$(median $rl_all)
awk -v a="$rl_median" -v b="$wrk_median" 'BEGIN {
    printf "median wrk %.2f/s, ratelab %.2f/s: ratio %.1f %% (goal: at least 80 %%)\n",
        b, a, 100 * a / b }'

# 3. ratelab, constant rate.
late_all=""
p99_all=""
achieved_all=""
for i in $(seq 1 "$REPEATS"); do
    wait_share=$(nginx_wait_share run_ratelab "$RATE/s" "$dir/rate.json")
    achieved=$(field achieved_rate "$dir/rate.json")
    late=$(field late_sends "$dir/rate.json")
    sent=$(field requests "$dir/rate.json")
    not_sent=$(field not_sent "$dir/rate.json")
    p99=$(sed -n '/"latency_us"/,/}/s/^  "p99": \([0-9]*\),*$/\1/p' "$dir/rate.json")
    awk -v i="$i" -v a="$achieved" -v t="$RATE" -v late="$late" -v sent="$sent" \
        -v ns="$not_sent" -v p99="$p99" -v w="$wait_share" \
        -v rw="$(ratelab_wait_share "$dir/rate.json")" 'BEGIN {
        printf "run %d  --rate %d/s achieved %.1f/s = %.2f %%; %d sent, %d late (%.1f %%), %d not sent, latency p99 %.3f ms (nginx waited for a CPU %s, ratelab %s)\n",
            i, t, a, 100 * a / t, sent, late, (sent > 0 ? 100 * late / sent : 0), ns, p99 / 1000, w, rw
    }'
    achieved_all="$achieved_all $achieved"
    late_all="$late_all $(awk -v l="$late" -v s="$sent" 'BEGIN { print (s > 0 ? 100 * l / s : 0) }')"
    p99_all="$p99_all $p99"
done
# shellcheck disable=SC2086
awk -v a="$(median $achieved_all)" -v t="$RATE" -v late="$(median $late_all)" \
    -v p99="$(median $p99_all)" 'BEGIN {
    printf "median --rate %d/s: achieved %.2f %% of target (goal: within 1 %%), late sends %.1f %%, latency p99 %.3f ms\n",
        t, 100 * a / t, late, p99 / 1000 }'
