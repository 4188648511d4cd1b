#!/usr/bin/env python3
"""ListObjectVersions: the server CPU one page costs over a prefix holding many versions (issue 28).

Fills a versioned bucket through the S3 API (--keys keys under `p/`, --versions versions each, the last version of
every tenth key deleted so it holds only stored versions and a delete marker), then, for each --binary in turn on
the same root, measures the server's CPU time (user + system, from /proc/PID/stat) and the wall time of one-entry
pages: the first page of the prefix, and a page resuming at a key marker in the middle of it.

    scripts/bench-versions.py --binary old/strata --binary .build/release/strata [--keys 1000 --versions 40]
        [--root DIR] [--pages 20] [--out results.json]

--root keeps the filled bucket for later runs (it is filled only when empty).
"""
import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse

import bench_server

AUTH = {"Authorization": "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=0"}
BUCKET = "versions"


def request(conn, method, target, body=None):
    conn.request(method, target, body=body, headers=AUTH)
    response = conn.getresponse()
    data = response.read()
    if response.status >= 300:
        raise RuntimeError(f"{method} {target}: HTTP {response.status} {data[:300]!r}")
    return data


def fill(port, keys, versions):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    request(conn, "PUT", f"/{BUCKET}")
    request(conn, "PUT", f"/{BUCKET}?versioning",
            b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>")
    started = time.monotonic()
    for k in range(keys):
        key = f"p/k{k:06d}"
        for v in range(versions):
            request(conn, "PUT", f"/{BUCKET}/{key}", f"{key} {v}".encode())
        if k % 10 == 0:
            request(conn, "DELETE", f"/{BUCKET}/{key}")
    print(f"filled {keys} keys x {versions} versions in {time.monotonic() - started:.0f} s", file=sys.stderr)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(server, port, query, pages):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    target = f"/{BUCKET}?versions&" + urllib.parse.urlencode(query)
    body = request(conn, "GET", target)  # warm: directory caches, the listing index
    if body.count(b"<Version>") + body.count(b"<DeleteMarker>") != 1:
        raise RuntimeError(f"expected one entry: {body[:500]!r}")
    walls = []
    before = cpu_seconds(server.pid)
    for _ in range(pages):
        started = time.monotonic()
        request(conn, "GET", target)
        walls.append(time.monotonic() - started)
    return {"cpu_seconds_per_page": (cpu_seconds(server.pid) - before) / pages, "wall_seconds_median": statistics.median(walls)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", action="append", required=True)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=40)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--root")
    parser.add_argument("--out")
    args = parser.parse_args()
    root = args.root or tempfile.mkdtemp(prefix="strata-bench-versions-")
    os.makedirs(root, exist_ok=True)
    middle = f"p/k{args.keys // 2:06d}"
    scenarios = {"first page": {"prefix": "p/", "max-keys": "1"}}
    if args.keys > 1:
        scenarios["resume at a key marker"] = {"prefix": "p/", "key-marker": middle, "max-keys": "1"}
    results = {"keys": args.keys, "versions_per_key": args.versions, "runs": []}
    for index, binary in enumerate(args.binary):
        server, port = bench_server.start(binary, root)
        try:
            if index == 0 and not os.path.isdir(os.path.join(root, BUCKET)):
                fill(port, args.keys, args.versions)
            run = {"binary": binary, "scenarios": {}}
            for name, query in scenarios.items():
                run["scenarios"][name] = measure(server, port, query, args.pages)
                print(f"{binary}: {name}: {run['scenarios'][name]}", file=sys.stderr)
            results["runs"].append(run)
        finally:
            bench_server.stop(server)
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
