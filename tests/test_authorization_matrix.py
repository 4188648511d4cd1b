"""Issue #8, SIGV4 authorization matrix: who may do what on which bucket, with AWS's answers.

A missing bucket is 404 NoSuchBucket to every signed caller; an existing bucket that is not yours is 403
AccessDenied; owners and the admin may do everything; bucket-scoped credentials get what their grant allows.
Each cell (identity, operation, bucket) is its own test, so a failure names the cell. Then nested-bucket
creation and real clients (boto3 transfers, aws-cli, pyarrow) with a non-admin credential, which HeadBucket
first and so depend on the 404-vs-403 rule.
"""
import base64
import hashlib
import os
import subprocess
import sys
import time

import boto3
import pytest
from botocore.config import Config

from conftest import StrataServer, add_credential, http_request, sign_v4_raw, xml_error_code

IDENTITIES = {
    "admin": ("MXADMIN", "mx-admin-secret-0123"),
    "alice": ("MXALICE", "mx-alice-secret"),
    "bob": ("MXBOB", "mx-bob-secret"),
    "reader": ("MXREADER", "mx-reader-secret"),
    "writer": ("MXWRITER", "mx-writer-secret"),
    "scowner": ("MXSCOWNER", "mx-scowner-secret"),
}
SCOPES = {"reader": "alices:read", "writer": "alices:write", "scowner": "alices:owner"}
MISSING = "nobucket-xyz"
OWN_BUCKET = {"admin": "alices", "alice": "alices", "bob": "bobs", "writer": "alices", "scowner": "alices"}
TAGGING = b"<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>"


def md5_header(body):
    return {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}


# operation -> (method, target template, headers, body, status when allowed, code when allowed)
# `{b}` is the bucket of the cell, `{own}` the identity's own writable bucket, `{id}` the identity.
OPS = {
    "HeadBucket": ("HEAD", "/{b}", {}, None, 200, None),
    "ListObjects": ("GET", "/{b}", {}, None, 200, None),
    "ListObjectsV2": ("GET", "/{b}?list-type=2", {}, None, 200, None),
    "ListMultipartUploads": ("GET", "/{b}?uploads", {}, None, 200, None),
    "GetObject": ("GET", "/{b}/obj", {}, None, 200, None),
    "HeadObject": ("HEAD", "/{b}/obj", {}, None, 200, None),
    "GetObjectTagging": ("GET", "/{b}/obj?tagging", {}, None, 200, None),
    "PutObject": ("PUT", "/{b}/put-by-{id}", {}, b"written", 200, None),
    "DeleteObject": ("DELETE", "/{b}/scratch-{id}", {}, None, 204, None),
    "PutObjectTagging": ("PUT", "/{b}/obj?tagging", md5_header(TAGGING), TAGGING, 200, None),
    "CreateMultipartUpload": ("POST", "/{b}/mpu-by-{id}?uploads", {}, b"", 200, None),
    "CopyObject": ("PUT", "/{b}/copy-by-{id}", {"x-amz-copy-source": "/{b}/obj"}, None, 200, None),
    "PutBucketTagging": ("PUT", "/{b}?tagging", md5_header(TAGGING), TAGGING, 204, None),
    # Not empty (it holds `obj`), so an allowed DeleteBucket is refused for that reason, after authorization.
    "DeleteBucket": ("DELETE", "/{b}", {}, None, 409, "BucketNotEmpty"),
    # The cell's bucket as the copy source, into the identity's own bucket.
    "CopyFrom": ("PUT", "/{own}/copied-by-{id}", {"x-amz-copy-source": "/{b}/obj"}, None, 200, None),
}
READS = ["HeadBucket", "ListObjects", "ListObjectsV2", "ListMultipartUploads", "GetObject", "HeadObject", "GetObjectTagging"]
WRITES = ["PutObject", "DeleteObject", "PutObjectTagging", "CreateMultipartUpload", "CopyObject"]
OWNS = ["PutBucketTagging", "DeleteBucket"]
ALL_OPS = READS + WRITES + OWNS
DENIED = (403, "AccessDenied")


def cells():
    out = []
    # Missing bucket: 404 NoSuchBucket for every signed identity, whatever its rights.
    for ident in IDENTITIES:
        for op in ["HeadBucket", "ListObjects", "ListObjectsV2", "GetObject", "HeadObject", "PutObject", "DeleteObject",
                   "DeleteBucket", "ListMultipartUploads", "CreateMultipartUpload"]:
            out.append((ident, op, MISSING, (404, "NoSuchBucket")))
        if ident in OWN_BUCKET:  # the read-scoped credential has no bucket it may copy into
            out.append((ident, "CopyFrom", MISSING, (404, "NoSuchBucket")))
    # alice's bucket.
    for op in ALL_OPS:
        for ident in ["admin", "alice", "scowner"]:
            out.append((ident, op, "alices", "allowed"))
        out.append(("bob", op, "alices", DENIED))
        out.append(("reader", op, "alices", "allowed" if op in READS else DENIED))
        out.append(("writer", op, "alices", "allowed" if op in READS + WRITES else DENIED))
    out.append(("bob", "CopyFrom", "alices", DENIED))
    out.append(("writer", "CopyFrom", "alices", "allowed"))
    # The nested bucket alices:sub (directory alices/sub).
    for op in ["HeadBucket", "ListObjectsV2", "GetObject", "PutObject"]:
        for ident in ["admin", "alice", "scowner"]:
            out.append((ident, op, "alices:sub", "allowed"))
        out.append(("bob", op, "alices:sub", DENIED))
        out.append(("reader", op, "alices:sub", "allowed" if op in READS else DENIED))
    return out


@pytest.fixture(scope="module")
def mx(tmp_path_factory):
    root = tmp_path_factory.mktemp("matrix") / "root"
    root.mkdir()
    for ident, (key, secret) in IDENTITIES.items():
        if ident == "admin":
            continue
        # Scoped credentials are keys alice hands out for her bucket: the grant narrows what her own rights allow.
        args = ["--user", "alice" if ident in SCOPES else ident, "--access-key", key, "--secret-key", secret]
        if ident in SCOPES:
            args += ["--bucket", SCOPES[ident]]
        add_credential(root, *args)
    server = StrataServer(root, ["strata.s3.auth.mode=SIGV4"], {"STRATA_ADMIN_ACCESS_KEY": IDENTITIES["admin"][0],
                                                               "STRATA_ADMIN_SECRET_KEY": IDENTITIES["admin"][1]})
    alice = client(server, "alice")
    alice.create_bucket(Bucket="alices")
    alice.put_object(Bucket="alices", Key="obj", Body=b"alice's object")
    assert signed(server, "alice", "PUT", "/alices:sub")[0] == 200
    assert signed(server, "alice", "PUT", "/alices:sub/obj", body=b"nested object")[0] == 200
    client(server, "bob").create_bucket(Bucket="bobs")
    yield server
    server.stop()


def client(server, ident, **cfg):
    key, secret = IDENTITIES[ident]
    return boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret,
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **cfg))


def signed(server, ident, method, target, headers=None, body=None):
    key, secret = IDENTITIES[ident]
    h = sign_v4_raw(method, target, server.port, headers or {}, body or b"", key, secret)
    return http_request(server.port, method, target, h, body)


@pytest.mark.parametrize("ident,op,bucket,expected", cells(),
                         ids=[f"{i}-{o}-{b}" for i, o, b, _ in cells()])
def test_authorization_cell(mx, ident, op, bucket, expected):
    """Authorization matrix: one (identity, operation, bucket) cell answers as AWS would."""
    method, target, headers, body, ok_status, ok_code = OPS[op]
    fill = {"b": bucket, "own": OWN_BUCKET.get(ident, ""), "id": ident}
    target = target.format(**fill)
    headers = {k: v.format(**fill) for k, v in headers.items()}
    status, _, resp = signed(mx, ident, method, target, headers, body)
    assert mx.proc.poll() is None
    want = (ok_status, ok_code) if expected == "allowed" else expected
    got = (status, xml_error_code(resp) if method != "HEAD" else None)
    if method == "HEAD":
        want = (want[0], None)
    assert got == want, f"{ident} {op} {bucket}: got {got}, want {want}: {resp[:300]!r}"


def test_bob_cannot_create_bucket_inside_alices(mx):
    """Nested buckets: an unscoped other user creating `alices:sub2` (a directory inside alice's bucket) → 403
    AccessDenied, and no directory appears."""
    status, _, body = signed(mx, "bob", "PUT", "/alices:sub2")
    assert (status, xml_error_code(body)) == DENIED, body[:300]
    assert not os.path.exists(os.path.join(mx.root, "alices", "sub2"))


def test_read_scoped_cannot_create_nested_bucket(mx):
    """Nested buckets: a read-scoped credential on alices creating `alices:sub3` → 403, no directory."""
    status, _, body = signed(mx, "reader", "PUT", "/alices:sub3")
    assert (status, xml_error_code(body)) == DENIED, body[:300]
    assert not os.path.exists(os.path.join(mx.root, "alices", "sub3"))


def test_owner_creates_nested_bucket(mx):
    """Nested buckets: alice creating `alices:sub2` → 200, the directory alices/sub2 exists."""
    status, _, body = signed(mx, "alice", "PUT", "/alices:sub2")
    assert status == 200, body[:300]
    assert os.path.isdir(os.path.join(mx.root, "alices", "sub2"))
    assert signed(mx, "alice", "HEAD", "/alices:sub2")[0] == 200


def test_boto3_transfers_with_owner_credential(mx, tmp_path):
    """Clients: alice's unscoped credential drives boto3 upload_file/download_file (multipart too) in her bucket."""
    from boto3.s3.transfer import TransferConfig
    s3 = client(mx, "alice")
    data = os.urandom(6 * 1024 * 1024)
    src = tmp_path / "src"
    src.write_bytes(data)
    cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_file(str(src), "alices", "transfers/big.bin", Config=cfg)
    s3.download_file("alices", "transfers/big.bin", str(tmp_path / "back"), Config=cfg)
    assert (tmp_path / "back").read_bytes() == data


def test_aws_cli_with_owner_credential(mx, tmp_path):
    """Clients: aws-cli `s3 cp` up and down and `s3 ls` with alice's unscoped credential."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": IDENTITIES["alice"][0], "AWS_SECRET_ACCESS_KEY": IDENTITIES["alice"][1],
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    run = lambda *a: subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url", mx.endpoint, *a],
                                    env=env, capture_output=True, text=True, timeout=120)
    src = tmp_path / "cli.txt"
    src.write_bytes(b"through aws-cli")
    r = run("s3", "cp", str(src), "s3://alices/cli/cli.txt")
    assert r.returncode == 0, r.stderr
    r = run("s3", "cp", "s3://alices/cli/cli.txt", str(tmp_path / "down.txt"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "down.txt").read_bytes() == b"through aws-cli"
    r = run("s3", "ls", "s3://alices/cli/")
    assert r.returncode == 0 and "cli.txt" in r.stdout, r.stderr
    r = run("s3", "ls")
    assert r.returncode == 0 and "alices" in r.stdout and "bobs" not in r.stdout, r.stdout + r.stderr


def arrow_fs(mx, ident, **kw):
    pafs = pytest.importorskip("pyarrow.fs")
    key, secret = IDENTITIES[ident]
    return pafs.S3FileSystem(access_key=key, secret_key=secret, endpoint_override=f"127.0.0.1:{mx.port}", scheme="http",
                             region="us-east-1", **kw)


def test_pyarrow_parquet_with_owner_credential(mx):
    """Clients: pyarrow's S3FileSystem (AWS C++ SDK) with alice's credential writes and reads Parquet in her bucket."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    fs = arrow_fs(mx, "alice", allow_bucket_creation=False)
    table = pa.table({"id": pa.array(range(1000), pa.int64()), "name": pa.array([f"n{i}" for i in range(1000)])})
    pq.write_table(table, "alices/lake/t.parquet", filesystem=fs)
    back = pq.read_table("alices/lake/t.parquet", filesystem=fs)
    assert back.equals(table)
    assert fs.get_file_info("alices/lake/t.parquet").size > 0


def test_pyarrow_on_missing_bucket(mx):
    """Clients: pyarrow with alice's credential on a bucket that does not exist: create_dir creates it (AWS semantics),
    after which alice owns it and can write into it; with bucket creation off, a write fails with a clean error."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pafs = pytest.importorskip("pyarrow.fs")
    table = pa.table({"x": [1, 2, 3]})
    no_create = arrow_fs(mx, "alice", allow_bucket_creation=False)
    started = time.time()
    with pytest.raises(OSError):
        pq.write_table(table, "alices-missing-one/t.parquet", filesystem=no_create)
    assert time.time() - started < 30
    fs = arrow_fs(mx, "alice", allow_bucket_creation=True)
    fs.create_dir("alices-arrow-new")
    assert fs.get_file_info("alices-arrow-new").type == pafs.FileType.Directory
    pq.write_table(table, "alices-arrow-new/t.parquet", filesystem=fs)
    assert pq.read_table("alices-arrow-new/t.parquet", filesystem=fs).equals(table)
    assert "alices-arrow-new" in [b["Name"] for b in client(mx, "alice").list_buckets()["Buckets"]]
