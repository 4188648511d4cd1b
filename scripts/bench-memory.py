#!/usr/bin/env python3
"""Peak memory under large transfers: N concurrent uploads of SIZE each, then N concurrent downloads of them.

Memory must stay flat with object size (issue 11: peak RSS under 200 MB with 8 concurrent 1 GiB uploads and
downloads). Clients are curl processes streaming from one file on disk and to /dev/null.

    scripts/bench-memory.py --binary .build/release/strata [--streams 8] [--size-mib 1024] [--out results.json]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import bench_server

AUTH = "Authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"


def curl(*args):
    return subprocess.Popen(["curl", "-sS", "-f", "-o", "/dev/null", "-w", "%{http_code}", "-H", AUTH, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run_all(processes, what):
    started = time.monotonic()
    for p in processes:
        out, err = p.communicate()
        if p.returncode != 0 or out.decode() != "200":
            raise RuntimeError(f"{what}: curl exit {p.returncode}, HTTP {out.decode()!r}: {err.decode()[:200]}")
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/strata")
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--out")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="strata-bench-memory-")
    source = root + ".body"
    server = None
    try:
        with open(source, "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(args.size_mib):
                f.write(block)
        server, port = bench_server.start(args.binary, root)
        base = f"http://127.0.0.1:{port}"
        run_all([curl("-X", "PUT", f"{base}/memory")], "CreateBucket")
        idle = bench_server.status_kib(server.pid, "VmRSS")
        total = args.streams * args.size_mib
        put_s = run_all([curl("-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "--upload-file", source, f"{base}/memory/o{i}")
                         for i in range(args.streams)], "PUT")
        after_put = bench_server.status_kib(server.pid, "VmHWM")
        get_s = run_all([curl(f"{base}/memory/o{i}") for i in range(args.streams)], "GET")
        peak = bench_server.status_kib(server.pid, "VmHWM")
        results = {
            "streams": args.streams, "size_mib": args.size_mib, "idle_rss_mib": round(idle / 1024, 1),
            "peak_rss_after_puts_mib": round(after_put / 1024, 1), "peak_rss_mib": round(peak / 1024, 1),
            "put_mib_s": round(total / put_s), "get_mib_s": round(total / get_s),
        }
        print(f"{args.streams} x {args.size_mib} MiB: PUT {total / put_s:.0f} MiB/s, GET {total / get_s:.0f} MiB/s; "
              f"RSS idle {idle / 1024:.0f} MiB, peak after uploads {after_put / 1024:.0f} MiB, peak {peak / 1024:.0f} MiB")
        if args.out:
            with open(args.out, "w") as f:
                json.dump(results, f, indent=2)
    finally:
        bench_server.stop(server)
        shutil.rmtree(root, ignore_errors=True)
        if os.path.exists(source):
            os.remove(source)


if __name__ == "__main__":
    sys.exit(main())
