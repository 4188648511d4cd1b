"""The audit log: one JSON line per S3, admin and website request, with who, from where, what, how much and how
long; never a secret or a signature; rotated by size."""
import json
import os
import subprocess
import time

import boto3
import requests
from botocore.config import Config

from conftest import STRATA_BIN

TOKEN = "audit-admin-token"
SECRET = "audit-secret-value-0123456789"


def read_lines(path, predicate, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            lines = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
            if predicate(lines):
                return lines
        time.sleep(0.1)
    raise AssertionError(f"audit lines not found in {path}")


def test_audit_lines_for_every_listener(start_server, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    subprocess.run([STRATA_BIN, "credentials", "add", "--root", str(root), "--user", "auditor", "--access-key", "AUDITKEY",
                    "--secret-key", SECRET], check=True, capture_output=True)
    log = tmp_path / "logs" / "audit.log"
    server = start_server(root=root, conf=["strata.s3.auth.mode=SIGV4", f"strata.admin.web.token={TOKEN}",
                                           "strata.proxy.audit.logging.enabled=true", f"strata.proxy.audit.log.file={log}",
                                           "strata.proxy.web.allowed.hosts=audited.example.test"])
    s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="AUDITKEY",
                      aws_secret_access_key=SECRET, config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket="audited.example.test")
    # Website visitors are anonymous: the page is public-read.
    s3.put_object(Bucket="audited.example.test", Key="dir/page.html", Body=b"x" * 1234, ACL="public-read")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "audited.example.test", "Key": "dir/page.html"})
    assert requests.get(url, timeout=30).status_code == 200
    s3.put_bucket_website(Bucket="audited.example.test", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    requests.get(server.website_endpoint + "/dir/page.html", headers={"Host": "audited.example.test"}, timeout=30)
    requests.get(f"{server.admin_endpoint}/v1/s3/strata/buckets", headers={"X-Auth-Token": TOKEN}, timeout=30)
    lines = read_lines(str(log), lambda ls: {l["listener"] for l in ls} == {"s3", "admin", "website"})
    put = next(l for l in lines if l["operation"] == "PutObject")
    assert (put["user"], put["access_key_id"], put["bucket"], put["key"], put["status"]) == ("auditor", "AUDITKEY", "audited.example.test",
                                                                                          "dir/page.html", 200)
    assert put["bytes_in"] == 1234 and put["client"] == "127.0.0.1" and put["duration_ms"] >= 0 and put["request_id"]
    gets = [l for l in lines if l["operation"] == "GetObject"]
    assert gets and gets[0]["bytes_out"] == 1234 and gets[0]["access_key_id"] == "AUDITKEY"
    website = next(l for l in lines if l["listener"] == "website")
    assert (website["bucket"], website["key"], website["status"], website["bytes_out"]) == ("audited.example.test", "/dir/page.html", 200, 1234)
    admin = next(l for l in lines if l["listener"] == "admin")
    assert admin["operation"] == "GET /v1/s3/strata/buckets" and admin["status"] == 200
    text = open(log, encoding="utf-8").read()
    assert SECRET not in text and TOKEN not in text and "Signature" not in text and "X-Amz-Signature" not in text
    assert oct(os.stat(log).st_mode & 0o777) == "0o640"


def test_audit_log_rotates_by_size(start_server, tmp_path):
    log = tmp_path / "audit.log"
    server = start_server(conf=["strata.proxy.audit.logging.enabled=true", f"strata.proxy.audit.log.file={log}",
                                "strata.proxy.audit.log.max.size=4KB", "strata.proxy.audit.log.max.files=2"])
    s3 = server.client()
    s3.create_bucket(Bucket="rotated")
    for round_ in range(6):
        for i in range(20):
            s3.head_bucket(Bucket="rotated")
        time.sleep(0.25)  # let a flush happen between rounds
    deadline = time.time() + 10
    while time.time() < deadline and not os.path.exists(f"{log}.2"):
        time.sleep(0.1)
    assert os.path.exists(f"{log}.1") and os.path.exists(f"{log}.2") and not os.path.exists(f"{log}.3")
    for path in (log, f"{log}.1"):
        for line in open(path, encoding="utf-8"):
            assert json.loads(line)["listener"] == "s3"
