#!/usr/bin/env python3
"""Listing at scale: ListObjectsV2 over flat directories of 1,000, 100,000 and 1,000,000 keys.

The keys are files made directly on the root (as a data team's existing filesystem would hold them), so that a
million keys take seconds to set up instead of an hour of PUTs. The first full listing of each bucket computes and
caches their ETags (reported as "cold"); the figures after it are what a reader sees from then on. nginx has no
listing to compare with: these scenarios have absolute targets (issue 11).

    scripts/bench-listing.py --binary .build/release/strata [--keys 1000,100000,1000000] [--out results.json]
"""
import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse

import bench_server

AUTH = {"Authorization": "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=0"}


class Lister:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def page(self, bucket, token=None, start_after=None, max_keys=1000):
        query = {"list-type": "2", "max-keys": str(max_keys)}
        if token:
            query["continuation-token"] = token
        if start_after:
            query["start-after"] = start_after
        self.conn.request("GET", f"/{bucket}?" + urllib.parse.urlencode(query), headers=AUTH)
        response = self.conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"ListObjectsV2 {bucket}: HTTP {response.status} {body[:300]!r}")
        keys = body.count(b"<Key>")
        match = re.search(rb"<NextContinuationToken>([^<]*)</NextContinuationToken>", body)
        return keys, (match.group(1).decode() if match else None)

    def full(self, bucket):
        started = time.monotonic()
        total, pages, token = 0, 0, None
        while True:
            keys, token = self.page(bucket, token=token)
            total += keys
            pages += 1
            if not token:
                return total, pages, time.monotonic() - started

    def timed_page(self, bucket, start_after, runs=7):
        times = []
        for _ in range(runs):
            started = time.monotonic()
            keys, _ = self.page(bucket, start_after=start_after)
            times.append(time.monotonic() - started)
            if keys == 0:
                raise RuntimeError(f"{bucket}: empty page after {start_after!r}")
        return statistics.median(times)


def make_keys(directory, count):
    os.makedirs(directory)
    flags = os.O_CREAT | os.O_WRONLY | os.O_EXCL
    for i in range(count):
        os.close(os.open(os.path.join(directory, "k%07d" % i), flags, 0o644))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/strata")
    parser.add_argument("--keys", default="1000,100000,1000000")
    parser.add_argument("--out")
    args = parser.parse_args()
    counts = [int(k) for k in args.keys.split(",")]
    root = tempfile.mkdtemp(prefix="strata-bench-listing-")
    server = None
    try:
        for count in counts:
            started = time.monotonic()
            make_keys(os.path.join(root, f"list{count}"), count)
            print(f"made {count} files in {time.monotonic() - started:.1f} s", file=sys.stderr)
        server, port = bench_server.start(args.binary, root)
        lister = Lister(port)
        results = {}
        for count in counts:
            bucket = f"list{count}"
            keys, pages, cold = lister.full(bucket)
            if keys != count:
                raise RuntimeError(f"{bucket}: listed {keys} keys, expected {count}")
            # Make sure the directory has been quiet long enough to be indexed (the index's racy rule).
            time.sleep(1.1)
            _, _, warm = lister.full(bucket)
            first = lister.timed_page(bucket, None)
            deep_index = max(0, count - 100 * 1000) if count >= 1_000_000 else count // 2
            deep = lister.timed_page(bucket, "k%07d" % deep_index)
            results[bucket] = {
                "keys": count, "pages": pages, "cold_full_s": round(cold, 3), "full_s": round(warm, 3),
                "keys_per_s": round(count / warm), "first_page_ms": round(first * 1000, 1),
                "deep_page_ms": round(deep * 1000, 1), "deep_page_start": deep_index,
            }
            print(f"{bucket:12s} full {warm:7.2f} s ({count / warm:9.0f} keys/s, cold {cold:7.2f} s)  "
                  f"page 1 {first * 1000:7.1f} ms  page at {deep_index:>7} {deep * 1000:7.1f} ms")
        results["peak_rss_mib"] = round(bench_server.status_kib(server.pid, "VmHWM") / 1024, 1)
        print(f"peak RSS {results['peak_rss_mib']} MiB")
        if args.out:
            with open(args.out, "w") as f:
                json.dump(results, f, indent=2)
    finally:
        bench_server.stop(server)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
