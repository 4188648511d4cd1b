"""Everyday tools against the real binary: aws-cli (s3 and s3api), boto3 transfers, raw 100-continue."""
import hashlib
import json
import os
import socket
import subprocess
import sys

import pytest

from conftest import simple_auth


def aws(server, *args, check=True):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "alice", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    cmd = [sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint, *args]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} failed: {result.stdout}\n{result.stderr}")
    return result


def test_aws_cli_cp_ls_sync_rm(server, tmp_path):
    aws(server, "s3", "mb", "s3://cli-bucket")
    src = tmp_path / "src"
    (src / "nested" / "deeper").mkdir(parents=True)
    files = {"a.txt": b"alpha", "nested/b.bin": os.urandom(100_000), "nested/deeper/c.csv": b"x,y\n1,2\n"}
    for name, data in files.items():
        (src / name).write_bytes(data)
    aws(server, "s3", "cp", str(src / "a.txt"), "s3://cli-bucket/single/a.txt")
    listing = aws(server, "s3", "ls", "s3://cli-bucket/single/").stdout
    assert "a.txt" in listing
    aws(server, "s3", "sync", str(src), "s3://cli-bucket/synced")
    recursive = aws(server, "s3", "ls", "--recursive", "s3://cli-bucket/synced/").stdout
    for name in files:
        assert f"synced/{name}" in recursive
    # A second sync has nothing to do.
    again = aws(server, "s3", "sync", str(src), "s3://cli-bucket/synced").stdout
    assert "upload:" not in again
    dst = tmp_path / "dst"
    aws(server, "s3", "sync", "s3://cli-bucket/synced", str(dst))
    for name, data in files.items():
        assert (dst / name).read_bytes() == data
    aws(server, "s3", "rm", "--recursive", "s3://cli-bucket/synced")
    assert aws(server, "s3", "ls", "--recursive", "s3://cli-bucket/synced/", check=False).stdout == ""
    aws(server, "s3", "rm", "s3://cli-bucket/single/a.txt")
    aws(server, "s3", "rb", "s3://cli-bucket")
    assert not os.path.exists(os.path.join(server.root, "cli-bucket"))


def test_aws_cli_s3api_calls(server, tmp_path):
    aws(server, "s3api", "create-bucket", "--bucket", "api-bucket")
    body = tmp_path / "body"
    body.write_bytes(b"s3api body")
    put = json.loads(aws(server, "s3api", "put-object", "--bucket", "api-bucket", "--key", "k", "--body", str(body),
                         "--content-type", "text/plain", "--metadata", "team=data").stdout)
    assert put["ETag"] == '"%s"' % hashlib.md5(b"s3api body").hexdigest()
    head = json.loads(aws(server, "s3api", "head-object", "--bucket", "api-bucket", "--key", "k").stdout)
    assert head["ContentType"] == "text/plain" and head["Metadata"] == {"team": "data"}
    out = tmp_path / "out"
    aws(server, "s3api", "get-object", "--bucket", "api-bucket", "--key", "k", "--range", "bytes=0-3", str(out))
    assert out.read_bytes() == b"s3ap"
    aws(server, "s3api", "copy-object", "--bucket", "api-bucket", "--key", "k2", "--copy-source", "api-bucket/k")
    listed = json.loads(aws(server, "s3api", "list-objects-v2", "--bucket", "api-bucket").stdout)
    assert [o["Key"] for o in listed["Contents"]] == ["k", "k2"]
    listed = json.loads(aws(server, "s3api", "list-objects", "--bucket", "api-bucket").stdout)
    assert [o["Key"] for o in listed["Contents"]] == ["k", "k2"]
    deleted = json.loads(aws(server, "s3api", "delete-objects", "--bucket", "api-bucket",
                             "--delete", '{"Objects":[{"Key":"k"},{"Key":"k2"}]}').stdout)
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["k", "k2"]
    missing = aws(server, "s3api", "head-bucket", "--bucket", "no-such-api-bucket", check=False)
    assert missing.returncode != 0 and "404" in missing.stderr
    assert json.loads(aws(server, "s3api", "get-bucket-location", "--bucket", "api-bucket").stdout)["LocationConstraint"] is None


def test_boto3_upload_fileobj_and_download(s3, bucket, tmp_path):
    from boto3.s3.transfer import TransferConfig
    data = os.urandom(6 * 1024 * 1024)
    src = tmp_path / "six-mib"
    src.write_bytes(data)
    # Below the multipart threshold: one streamed PUT with Expect: 100-continue.
    s3.upload_file(str(src), bucket, "six", Config=TransferConfig(multipart_threshold=64 * 1024 * 1024))
    dst = tmp_path / "back"
    s3.download_file(bucket, "six", str(dst), Config=TransferConfig(multipart_threshold=1024 * 1024, multipart_chunksize=1024 * 1024))
    assert hashlib.md5(dst.read_bytes()).hexdigest() == hashlib.md5(data).hexdigest()


def test_expect_100_continue_is_answered(server, bucket):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        auth = simple_auth()["Authorization"]
        sock.sendall(f"PUT /{bucket}/expect HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n".encode())
        interim = sock.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100 Continue"), interim
        sock.sendall(b"hello")
        final = b""
        while b"\r\n\r\n" not in final:
            final += sock.recv(4096)
        assert final.startswith(b"HTTP/1.1 200")
