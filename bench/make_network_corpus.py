#!/usr/bin/env python3
"""Builds VPC flow log (default v2 format) and Route 53 Resolver query log files
for benchmarks: routine traffic of a few hundred instances over --days days.

    python3 bench/make_network_corpus.py --out DIR --events 100000 --seed 1

Half the events are flow records (instances to a pool of public services on
443/80, replies, internal database traffic), half DNS queries (a pool of common
names, AWS endpoints, a few NXDOMAINs). The output depends only on the arguments.
Standard library only.
"""

import argparse
import datetime
import json
import os
import random
import zlib


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--events", type=int, default=100000)
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    instances = [f"10.0.{i // 200}.{10 + i % 200}" for i in range(300)]
    services = [f"52.{rng.randrange(0, 255)}.{rng.randrange(0, 255)}.{rng.randrange(1, 254)}" for _ in range(80)]
    names = ["www.example.com.", "api.github.com.", "registry.npmjs.org.", "pypi.org.",
             "sts.us-east-1.amazonaws.com.", "s3.eu-west-1.amazonaws.com.", "ssm.eu-west-1.amazonaws.com.",
             "db.internal.corp.", "cache.internal.corp.", "time.aws.com.", "updates.ubuntu.com.",
             "login.microsoftonline.com.", "slack.com.", "sentry.io.", "datadoghq.com."]
    start = 1793577600  # 2026-11-02T00:00:00Z
    span = a.days * 86400
    os.makedirs(os.path.join(a.out, "vpcflow"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "dns"), exist_ok=True)
    half = a.events // 2
    per_file = 5000
    times = sorted(start + rng.randrange(span) for _ in range(half))
    for f in range(0, half, per_file):
        with open(os.path.join(a.out, "vpcflow", f"flows-{f // per_file:05d}.log"), "w") as out:
            for t in times[f:f + per_file]:
                src = rng.choice(instances)
                r = rng.random()
                if r < 0.7:
                    dst, sport, dport = rng.choice(services), rng.randrange(32768, 61000), rng.choice([443, 443, 443, 80])
                elif r < 0.9:
                    dst, sport, dport = src, 443, rng.randrange(32768, 61000)
                    src = rng.choice(services)
                else:
                    dst, sport, dport = rng.choice(instances), rng.randrange(32768, 61000), rng.choice([5432, 6379])
                pk = rng.randrange(1, 40)
                out.write(f"2 123456789012 eni-{zlib.crc32(src.encode()) % 10**8:08d} {src} {dst} {sport} {dport} 6 {pk} "
                          f"{pk * rng.randrange(60, 1500)} {t} {t + 60} ACCEPT OK\n")
    times = sorted(start + rng.randrange(span) for _ in range(half))
    for f in range(0, half, per_file):
        with open(os.path.join(a.out, "dns", f"queries-{f // per_file:05d}.log"), "w") as out:
            for t in times[f:f + per_file]:
                name = rng.choice(names)
                rcode = "NXDOMAIN" if rng.random() < 0.01 else "NOERROR"
                if rcode == "NXDOMAIN":
                    name = "wpad.internal.corp."
                q = {"version": "1.100000", "account_id": "123456789012", "region": "eu-west-1",
                     "vpc_id": "vpc-0a1b2c3d", "query_timestamp": f"{t}", "query_name": name,
                     "query_type": "A", "query_class": "IN", "rcode": rcode, "answers": [],
                     "srcaddr": rng.choice(instances), "srcport": str(rng.randrange(32768, 61000)),
                     "transport": "UDP", "srcids": {"instance": "i-0123456789abcdef0"}}
                q["query_timestamp"] = datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%SZ")
                out.write(json.dumps(q) + "\n")


if __name__ == "__main__":
    main()
