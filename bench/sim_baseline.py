#!/usr/bin/env python3
"""A straightforward Python simulation, the yardstick for the simulator's speed.

It models the scenario of bench/scenarios/speed-10000-miners-30-days.ini the
way a first Python version would.  Events wait in a heapq queue ordered by
(time_us, sequence number).  Counters are dict entries under the deployed
service's key names ("<client>:<day>" and "GLOBAL:<day>").  The decision
rules are the limiter core's: a global counter at the total rejects, then a
client counter at its limit rejects, and otherwise both counters are
incremented.  The cadence is the same (fixed rate from a random start,
uniform jitter on every request after the first, never before the previous
request), and requests are tallied per outcome and per hour.

Random draws come from Python's random module (Mersenne Twister), not from
ratelab's per-client xoshiro256** streams, so the counts differ slightly from
ratelab's; the work per request is the same.  It prints one line:
"requests=N seconds=S requests_per_s=R".

By default it runs one day of the 30 and the caller scales the time by 30:
every day of the scenario does the same work (288 requests per client), so
the time grows linearly with the days.  --days 30 runs the whole scenario.
Needs only the Python standard library.
"""

import argparse
import heapq
import random
import sys
import time

US_PER_SEC = 1_000_000
US_PER_HOUR = 3600 * US_PER_SEC
US_PER_DAY = 24 * US_PER_HOUR
START_US = 1735689600 * US_PER_SEC  # 2025-01-01T00:00:00Z


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=10000)
    p.add_argument("--days", type=int, default=1)
    p.add_argument("--interval-s", type=int, default=300)
    p.add_argument("--jitter-s", type=int, default=30)
    p.add_argument("--limit", type=int, default=20, help="requests per client per day")
    p.add_argument("--total", type=int, default=200000, help="requests per day in all")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    if args.clients < 1 or args.days < 1 or args.interval_s < 1 or args.jitter_s < 0:
        p.error("clients, days and interval must be positive, jitter at least 0")
    return args


def simulate(args):
    """Runs the model; returns (requests, tallies by outcome, hourly tallies)."""
    rng = random.Random(args.seed)
    interval_us = args.interval_s * US_PER_SEC
    jitter_us = args.jitter_s * US_PER_SEC
    end_us = START_US + args.days * US_PER_DAY
    ids = ["miners-%d" % i for i in range(args.clients)]
    first_us = [START_US + rng.randrange(interval_us) for _ in range(args.clients)]

    queue = []
    seq = 0
    for client, t in enumerate(first_us):
        heapq.heappush(queue, (t, seq, client, 0))
        seq += 1

    counters = {}
    outcomes = {"accepted": 0, "rejected_client": 0, "rejected_global": 0}
    hours = [[0, 0] for _ in range(args.days * 24)]  # accepted, rejected
    requests = 0

    while queue:
        t, _, client, k = heapq.heappop(queue)
        requests += 1
        day = t // US_PER_DAY
        client_key = "%s:%d" % (ids[client], day)
        global_key = "GLOBAL:%d" % day
        hour = (t - START_US) // US_PER_HOUR

        if counters.get(global_key, 0) >= args.total:
            outcomes["rejected_global"] += 1
            hours[hour][1] += 1
        elif counters.get(client_key, 0) >= args.limit:
            outcomes["rejected_client"] += 1
            hours[hour][1] += 1
        else:
            counters[client_key] = counters.get(client_key, 0) + 1
            counters[global_key] = counters.get(global_key, 0) + 1
            outcomes["accepted"] += 1
            hours[hour][0] += 1

        # Fixed rate from the first request, jitter on each later one.
        nxt = first_us[client] + (k + 1) * interval_us
        nxt += rng.randint(-jitter_us, jitter_us)
        if nxt < t:
            nxt = t
        if nxt < end_us:
            heapq.heappush(queue, (nxt, seq, client, k + 1))
            seq += 1
    return requests, outcomes, hours


def main(argv):
    args = parse_args(argv)
    began = time.perf_counter()
    requests, outcomes, _ = simulate(args)
    seconds = time.perf_counter() - began
    print("requests=%d seconds=%.3f requests_per_s=%.0f accepted=%d rejected_client=%d "
          "rejected_global=%d" % (requests, seconds, requests / seconds,
                                  outcomes["accepted"], outcomes["rejected_client"],
                                  outcomes["rejected_global"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
