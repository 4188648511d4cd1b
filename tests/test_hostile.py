"""Issue #8: hostile input never takes Strata down or past its checks.

Every hostile request is followed by a liveness check (the process is alive and still answers) and a check that
the data stored before it is unchanged. Most tests run in both authentication modes (SIMPLE and SIGV4, where
the test signs its own raw requests); the signature-coverage tests only make sense in SIGV4.
Classes: 1 numbers from clients, 2 signature coverage, 3 payload integrity, 4 keys are bytes, 6 resource bounds,
7 files.
"""
import base64
import functools
import hashlib
import hmac
import os
import re
import select
import socket
import subprocess
import time
import urllib.parse
import uuid
import zlib

import boto3
import botocore
import pytest
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from conftest import (STRATA_BIN, StrataServer, add_credential, http_request, presign_v4_raw, rss_kib, sign_v4_raw,
                      simple_auth, xml_error_code)

ADMIN = ("HOSTILEADMIN", "hostile-admin-secret-0123")
ALICE = ("HOSTILEALICE", "hostile-alice-secret")
BUCKET = "hostile"
KEY = "keep/precious.bin"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MODES = ["SIMPLE", "SIGV4"]


class Mode:
    """One module-wide server in one auth mode, with a seeded object every test checks after each request."""

    def __init__(self, mode, root):
        self.mode = mode
        self.root = str(root)
        self.data = os.urandom(4096)
        self.conf, self.env = [], {}
        if mode == "SIGV4":
            add_credential(self.root, "--user", "alice", "--access-key", ALICE[0], "--secret-key", ALICE[1])
            self.conf = ["strata.s3.auth.mode=SIGV4"]
            self.env = {"STRATA_ADMIN_ACCESS_KEY": ADMIN[0], "STRATA_ADMIN_SECRET_KEY": ADMIN[1]}
        self.server = StrataServer(self.root, self.conf, self.env)
        s3 = self.client()
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=self.data)
        self.upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="mpu-open")["UploadId"]

    @property
    def port(self):
        return self.server.port

    def client(self, **cfg):
        key, secret = ADMIN if self.mode == "SIGV4" else ("alice", "unused")
        return boto3.client("s3", endpoint_url=self.server.endpoint, region_name="us-east-1", aws_access_key_id=key,
                            aws_secret_access_key=secret,
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **cfg))

    def headers(self, method, target, headers=None, body=None, payload_hash=None, key=None, secret=None):
        """The headers as sent in this mode: signed (SIGV4, every given header signed) or SIMPLE's plain header."""
        headers = dict(headers or {})
        if self.mode == "SIGV4":
            return sign_v4_raw(method, target, self.port, headers, body or b"", key or ADMIN[0], secret or ADMIN[1],
                               payload_hash=payload_hash)
        return {**simple_auth(), **headers}

    def request(self, method, target, headers=None, body=None, payload_hash=None, timeout=10):
        return http_request(self.port, method, target, self.headers(method, target, headers, body, payload_hash),
                            body, timeout=timeout)

    def exists(self, key, bucket=BUCKET):
        return self.request("HEAD", f"/{bucket}/{urllib.parse.quote(key)}")[0] == 200

    def check(self, what=""):
        """(a) alive and answering, (b) the seeded object unchanged."""
        assert self.server.proc.poll() is None, f"strata died after {what!r}:\n{self.server.read_log()[-3000:]}"
        status, _, body = self.request("GET", f"/{BUCKET}/{KEY}", timeout=10)
        assert status == 200, f"strata no longer serves after {what!r}: status {status}"
        assert body == self.data, f"stored object changed after {what!r}"

    def ensure_up(self):
        """Restarts a server a previous test took down, so that one crash fails one test, not all that follow."""
        if self.server.proc.poll() is None:
            try:
                if self.request("GET", f"/{BUCKET}/{KEY}", timeout=5)[0] == 200:
                    return
            except OSError:
                pass
        self.server.stop()
        self.server = StrataServer(self.root, self.conf, self.env)


@pytest.fixture(scope="module")
def modes(tmp_path_factory):
    made = {}

    def get(mode):
        if mode not in made:
            root = tmp_path_factory.mktemp(f"hostile-{mode.lower()}") / "root"
            root.mkdir()
            made[mode] = Mode(mode, root)
        made[mode].ensure_up()
        return made[mode]

    yield get
    for m in made.values():
        m.server.stop()


@pytest.fixture(params=MODES)
def ctx(request, modes):
    return modes(request.param)


@pytest.fixture
def signed(modes):
    return modes("SIGV4")


@pytest.fixture
def simple(modes):
    return modes("SIMPLE")


def code(body):
    return xml_error_code(body or b"")


def status_line(data):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return int(m.group(1)) if m else None


def read_response_head(sock, deadline):
    """Reads until the end of a response head, the connection's end, or the deadline.
    Returns (bytes, closed, timed_out)."""
    data = b""
    while time.time() < deadline:
        ready, _, _ = select.select([sock], [], [], max(0.0, deadline - time.time()))
        if not ready:
            break
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return data, True, False
        if not chunk:
            return data, True, False
        data += chunk
        if b"\r\n\r\n" in data and not data.startswith(b"HTTP/1.1 100"):
            return data, False, False
    return data, False, time.time() >= deadline


def v2_signature(secret, string_to_sign):
    return base64.b64encode(hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


# ---------------------------------------------------------------------------------------------------------------
# Class 1: numbers from clients never crash the server

HOSTILE_DATES = [
    "Wed, 21 Oct 9999999999999 07:28:00 GMT",
    "Wed, 21 Oct -9999999999 07:28:00 GMT",
    "Wed, 21 Oct 0000 07:28:00 GMT",
    "Wed, 99 Oct 2015 07:28:00 GMT",
    "99999999T999999Z",
]


@pytest.mark.parametrize("value", HOSTILE_DATES)
@pytest.mark.parametrize("header", ["If-Modified-Since", "If-Unmodified-Since"])
def test_hostile_conditional_dates_on_get_and_head(ctx, header, value):
    """Class 1 (dates): an unparseable or out-of-range If-(Un)Modified-Since never crashes GET/HEAD; AWS ignores
    an unparseable If-Modified-Since (200). If-Unmodified-Since may only be ignored (200) or, if read as a past
    date, fail the precondition (412)."""
    for method in ["GET", "HEAD"]:
        status, _, body = ctx.request(method, f"/{BUCKET}/{KEY}", headers={header: value})
        ctx.check(f"{method} {header}: {value}")
        if header == "If-Modified-Since":
            assert status == 200, (method, status, body[:300])
        else:
            assert status in (200, 412), (method, status, body[:300])
        if method == "GET" and status == 200:
            assert body == ctx.data


@pytest.mark.parametrize("value", HOSTILE_DATES)
@pytest.mark.parametrize("header", ["x-amz-copy-source-if-modified-since", "x-amz-copy-source-if-unmodified-since"])
def test_hostile_copy_source_dates(ctx, header, value):
    """Class 1 (dates): hostile x-amz-copy-source-if-* dates on CopyObject: ignored (200, exact copy), 400 or
    412, never a crash, source unchanged."""
    dest = f"copy-{uuid.uuid4().hex[:8]}"
    status, _, body = ctx.request("PUT", f"/{BUCKET}/{dest}", headers={"x-amz-copy-source": f"/{BUCKET}/{KEY}", header: value})
    ctx.check(f"copy with {header}: {value}")
    assert status in (200, 400, 412), (status, body[:300])
    if status == 200:
        assert ctx.request("GET", f"/{BUCKET}/{dest}")[2] == ctx.data
    else:
        assert not ctx.exists(dest)


@pytest.mark.parametrize("amz_date", ["99991231T235959Z", "99999999T999999Z", "00000101T000000Z",
                                      "9999999999999T072800Z", "-9999999999T000000Z", "20151021T072800Z"])
def test_sigv4_hostile_x_amz_date(signed, amz_date):
    """Class 1 (dates, SIGV4): an x-amz-date with a huge, zero or negative year, otherwise correctly signed,
    is refused with 403 (AccessDenied or RequestTimeTooSkewed). A negative year cannot even be written as the
    credential scope's 8-digit date, so there AuthorizationHeaderMalformed (400) is AWS's answer too."""
    target = f"/{BUCKET}/{KEY}"
    headers = sign_v4_raw("GET", target, signed.port, {}, b"", *ADMIN, amz_date=amz_date)
    status, _, body = http_request(signed.port, "GET", target, headers)
    signed.check(f"x-amz-date {amz_date}")
    allowed = [(403, "AccessDenied"), (403, "RequestTimeTooSkewed")]
    if amz_date.startswith("-"):
        allowed.append((400, "AuthorizationHeaderMalformed"))
    assert (status, code(body)) in allowed and body != signed.data, (status, body[:300])


@pytest.mark.parametrize("value", HOSTILE_DATES)
def test_sigv4_hostile_date_header(signed, value):
    """Class 1 (dates, SIGV4): a SigV4 request dated only by a hostile Date header (no x-amz-date) gets 403."""
    target = f"/{BUCKET}/{KEY}"
    headers = sign_v4_raw("GET", target, signed.port, {"Date": value}, b"", *ADMIN, omit_amz_date=True)
    status, _, body = http_request(signed.port, "GET", target, headers)
    signed.check(f"Date {value}")
    assert status == 403 and body != signed.data, (status, body[:300])


@pytest.mark.parametrize("value", HOSTILE_DATES)
def test_sigv2_header_hostile_date(signed, value):
    """Class 1 (dates, SIGV4): SigV2 header auth (`AWS AK:sig`, correctly signed) with a hostile Date → 403."""
    target = f"/{BUCKET}/{KEY}"
    sig = v2_signature(ADMIN[1], f"GET\n\n\n{value}\n{target}")
    status, _, body = http_request(signed.port, "GET", target, {"Date": value, "Authorization": f"AWS {ADMIN[0]}:{sig}"})
    signed.check(f"SigV2 Date {value}")
    assert status == 403 and body != signed.data, (status, body[:300])


@pytest.mark.parametrize("expires", ["-9223372036854775808", "9223372036854775807", "99999999999999999999999"])
def test_presigned_v2_hostile_expires(signed, expires):
    """Class 1 (dates, SIGV4): presigned SigV2 with a hostile Expires (correctly signed) → 403 AccessDenied."""
    path = f"/{BUCKET}/{KEY}"
    sig = v2_signature(ADMIN[1], f"GET\n\n\n{expires}\n{path}")
    target = f"{path}?AWSAccessKeyId={ADMIN[0]}&Expires={expires}&Signature={urllib.parse.quote(sig, safe='')}"
    status, _, body = http_request(signed.port, "GET", target)
    signed.check(f"V2 Expires={expires}")
    assert status == 403 and code(body) == "AccessDenied", (status, body[:300])


@pytest.mark.parametrize("expires,amz_date", [
    ("-9223372036854775808", None), ("9223372036854775807", None), ("99999999999999999999", None), ("-1", None),
    ("300", "99991231T235959Z"), ("300", "00000101T000000Z"), ("9223372036854775807", "00000101T000000Z"),
])
def test_presigned_v4_hostile_expires_and_date(signed, expires, amz_date):
    """Class 1 (dates, SIGV4): presigned SigV4 with a hostile X-Amz-Expires or X-Amz-Date (correctly signed)
    → 4xx (AuthorizationQueryParametersError or AccessDenied), never the object."""
    target = presign_v4_raw("GET", f"/{BUCKET}/{KEY}", signed.port, *ADMIN, expires=expires, amz_date=amz_date)
    status, _, body = http_request(signed.port, "GET", target)
    signed.check(f"V4 presigned expires={expires} date={amz_date}")
    assert status is not None and 400 <= status < 500 and body != signed.data, (status, body[:300])


def test_part_number_on_empty_parts(ctx):
    """Class 1 (partNumber): GET/HEAD ?partNumber= on objects whose part is 0 bytes (a one-part upload of an
    empty part; a two-part upload whose last part is empty) answers 200/206 with Content-Length 0 or 416,
    never traps, and later requests are still served."""
    s3 = ctx.client()
    one, two = f"empty-one-{uuid.uuid4().hex[:6]}", f"empty-two-{uuid.uuid4().hex[:6]}"
    up = s3.create_multipart_upload(Bucket=BUCKET, Key=one)["UploadId"]
    etag = s3.upload_part(Bucket=BUCKET, Key=one, UploadId=up, PartNumber=1, Body=b"")["ETag"]
    s3.complete_multipart_upload(Bucket=BUCKET, Key=one, UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    first = os.urandom(5 * 1024 * 1024)
    up = s3.create_multipart_upload(Bucket=BUCKET, Key=two)["UploadId"]
    e1 = s3.upload_part(Bucket=BUCKET, Key=two, UploadId=up, PartNumber=1, Body=first)["ETag"]
    e2 = s3.upload_part(Bucket=BUCKET, Key=two, UploadId=up, PartNumber=2, Body=b"")["ETag"]
    s3.complete_multipart_upload(Bucket=BUCKET, Key=two, UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    for key, part in [(one, 1), (two, 2)]:
        for method in ["HEAD", "GET", "HEAD", "GET"]:  # twice: the original bug trapped on every later request
            status, headers, body = ctx.request(method, f"/{BUCKET}/{key}?partNumber={part}")
            ctx.check(f"{method} {key}?partNumber={part}")
            assert status in (200, 206, 416), (method, key, status, body[:300])
            if status != 416:
                assert headers.get("content-length") == "0" and body == b"", (method, key, headers)
    status, headers, body = ctx.request("GET", f"/{BUCKET}/{two}?partNumber=1")
    ctx.check("GET partNumber=1 of the two-part object")
    assert status == 206 and body == first, (status, len(body))
    assert headers.get("x-amz-mp-parts-count") == "2"
    for key, part in [(one, 2), (two, 3)]:
        status, _, body = ctx.request("GET", f"/{BUCKET}/{key}?partNumber={part}")
        ctx.check(f"GET {key}?partNumber={part}")
        assert status is not None and 400 <= status < 500, (status, body[:300])
    status, _, body = ctx.request("GET", f"/{BUCKET}/{one}")
    assert (status, body) == (200, b"")


@pytest.mark.parametrize("value", ["0", "-1", "10001", "9223372036854775808", "1e3", ""])
def test_hostile_part_numbers(ctx, value):
    """Class 1 (partNumber): 0, -1, 10001, 2^63, `1e3` and empty partNumber → 400 InvalidArgument on GET and HEAD."""
    for method in ["GET", "HEAD"]:
        status, _, body = ctx.request(method, f"/{BUCKET}/{KEY}?partNumber={value}")
        ctx.check(f"{method} partNumber={value}")
        assert status == 400, (method, status, body[:300])
        if method == "GET":
            assert code(body) == "InvalidArgument", body[:300]


@pytest.mark.parametrize("value", ["bytes=9223372036854775807-", "bytes=0-9223372036854775807",
                                   "bytes=-9223372036854775808", "bytes=-99999999999999999999",
                                   "bytes=18446744073709551615-", "bytes=0-18446744073709551616",
                                   "bytes=-0", "bytes=9223372036854775806-9223372036854775807"])
def test_hostile_ranges(ctx, value):
    """Class 1 (Range): huge or overflowing byte positions → 416, or the whole object (200, or 206 covering it
    all), never a crash."""
    for method in ["GET", "HEAD"]:
        status, headers, body = ctx.request(method, f"/{BUCKET}/{KEY}", headers={"Range": value})
        ctx.check(f"{method} Range: {value}")
        assert status in (200, 206, 416), (method, status, body[:300])
        if status in (200, 206):
            assert headers.get("content-length") == str(len(ctx.data)), headers
            if method == "GET":
                assert body == ctx.data


@pytest.mark.parametrize("value", ["99999999999999999999", "-1", "9223372036854775807", "18446744073709551616",
                                   "5497558138881"])
def test_hostile_content_length(ctx, value):
    """Class 1 (Content-Length): a PUT announcing an absurd, negative or over-5-TiB Content-Length (no body sent)
    gets a 4xx or a closed connection within a bounded time; nothing is stored."""
    key = f"cl-{uuid.uuid4().hex[:8]}"
    target = f"/{BUCKET}/{key}"
    headers = ctx.headers("PUT", target, payload_hash="UNSIGNED-PAYLOAD")
    headers.setdefault("Host", f"127.0.0.1:{ctx.port}")
    head = f"PUT {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += f"Content-Length: {value}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", ctx.port), timeout=5) as sock:
        sock.sendall(head.encode())
        data, closed, timed_out = read_response_head(sock, time.time() + 3)
    ctx.check(f"Content-Length: {value}")
    status = status_line(data)
    assert not timed_out or status is not None, f"server still waiting for a {value}-byte body after 3 s"
    assert closed or (status is not None and 400 <= status < 500), (status, data[:300])
    if status is not None:
        assert 400 <= status < 500, data[:300]
    assert not ctx.exists(key)


def chunked_put(ctx, key, framed, decoded_length, trailer=True):
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": decoded_length}
    if trailer:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    return ctx.request("PUT", f"/{BUCKET}/{key}", headers=headers, body=framed,
                       payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")


def framed_hello(size_field="5"):
    return (f"{size_field}\r\nhello\r\n0\r\nx-amz-checksum-crc32:{crc32_b64(b'hello')}\r\n\r\n").encode()


def test_aws_chunked_control(ctx):
    """Class 1 (aws-chunked): the well-formed request the hostile variants below distort is stored (200)."""
    status, _, body = chunked_put(ctx, "chunked-control", framed_hello(), "5")
    ctx.check("aws-chunked control")
    assert status == 200, body[:300]
    assert ctx.request("GET", f"/{BUCKET}/chunked-control")[2] == b"hello"


@pytest.mark.parametrize("decoded", ["99999999999999999999", "-1", "9223372036854775807", "18446744073709551616", "abc"])
def test_hostile_decoded_content_length(ctx, decoded):
    """Class 1 (aws-chunked): x-amz-decoded-content-length huge, negative or not a number → 4xx, nothing stored."""
    key = f"decoded-{uuid.uuid4().hex[:8]}"
    status, _, body = chunked_put(ctx, key, framed_hello(), decoded)
    ctx.check(f"x-amz-decoded-content-length: {decoded}")
    assert status is not None and 400 <= status < 500, (status, body[:300])
    assert not ctx.exists(key)


@pytest.mark.parametrize("size_field", ["ffffffffffffffff", "7fffffffffffffff", "-1", "10000000000000000",
                                        "8000000000000000", "5;chunk-signature=" + "0" * 100000])
def test_hostile_chunk_sizes(ctx, size_field):
    """Class 1 (aws-chunked): chunk sizes 2^64-1, 2^63-1, -1, 2^64 (and an endless chunk header) → 4xx, nothing stored."""
    key = f"chunk-{uuid.uuid4().hex[:8]}"
    status, _, body = chunked_put(ctx, key, framed_hello(size_field), "5")
    ctx.check(f"chunk size {size_field[:30]}")
    assert status is not None and 400 <= status < 500, (status, body[:300])
    assert not ctx.exists(key)


@pytest.mark.parametrize("value", ["-1", "99999999999999999999", "abc"])
@pytest.mark.parametrize("what", ["max-keys-v1", "max-keys-v2", "max-uploads", "max-parts", "part-number-marker"])
def test_hostile_page_sizes_and_markers(ctx, what, value):
    """Class 1 (listing numbers): max-keys, max-uploads, max-parts, part-number-marker of -1, 10^20 or `abc`
    → 400 InvalidArgument."""
    target = {
        "max-keys-v1": f"/{BUCKET}?max-keys={value}",
        "max-keys-v2": f"/{BUCKET}?list-type=2&max-keys={value}",
        "max-uploads": f"/{BUCKET}?uploads&max-uploads={value}",
        "max-parts": f"/{BUCKET}/mpu-open?uploadId={ctx.upload_id}&max-parts={value}",
        "part-number-marker": f"/{BUCKET}/mpu-open?uploadId={ctx.upload_id}&part-number-marker={value}",
    }[what]
    status, _, body = ctx.request("GET", target)
    ctx.check(f"{what}={value}")
    assert status == 400 and code(body) == "InvalidArgument", (status, body[:300])


@pytest.mark.parametrize("value", ["-1", "99999999999999999999", "..%2F..%2F..%2Fetc", "%00", "x" * 5000])
def test_hostile_upload_id_marker(ctx, value):
    """Class 1 (listing numbers): a hostile upload-id-marker on ListMultipartUploads is an opaque string:
    200 or 400, never a crash."""
    status, _, body = ctx.request("GET", f"/{BUCKET}?uploads&key-marker=a&upload-id-marker={value}")
    ctx.check(f"upload-id-marker={value[:20]}")
    assert status in (200, 400), (status, body[:300])


@pytest.mark.parametrize("value", ["bytes=9223372036854775807-9223372036854775807", "bytes=5-1", "bytes=-5",
                                   "bytes=0-18446744073709551616", "bytes=18446744073709551615-18446744073709551615",
                                   "bytes=abc"])
def test_hostile_copy_source_range(ctx, value):
    """Class 1 (copy ranges): UploadPartCopy with an overflowing, reversed, suffix or junk x-amz-copy-source-range
    → 400 InvalidArgument or 416 InvalidRange, no part created."""
    status, _, body = ctx.request("PUT", f"/{BUCKET}/mpu-open?partNumber=7&uploadId={ctx.upload_id}",
                                  headers={"x-amz-copy-source": f"/{BUCKET}/{KEY}", "x-amz-copy-source-range": value})
    ctx.check(f"x-amz-copy-source-range: {value}")
    assert status in (400, 416) and code(body) in ("InvalidArgument", "InvalidRange"), (status, body[:300])
    parts = ctx.client().list_parts(Bucket=BUCKET, Key="mpu-open", UploadId=ctx.upload_id).get("Parts", [])
    assert 7 not in [p["PartNumber"] for p in parts]


@pytest.mark.parametrize("name,headers", [
    ("100k-ampersands", {"x-amz-tagging": "&" * 100_000}),
    ("percent-at-end", {"x-amz-tagging": "a=b%"}),
    ("percent-zz", {"x-amz-tagging": "a=%ZZ"}),
    ("lone-percent-key", {"x-amz-tagging": "%=1"}),
    ("huge-meta", {"x-amz-meta-big": "v" * (1024 * 1024)}),
    ("many-meta", {f"x-amz-meta-m{i}": "v" for i in range(5000)}),
])
def test_hostile_tagging_and_metadata_headers(ctx, name, headers):
    """Class 1 (headers): hostile x-amz-tagging (100k '&', '%' at the end, '%ZZ') and huge x-amz-meta-* on PutObject
    → 4xx (or the connection closed for an oversized head), nothing stored."""
    key = f"hdr-{name}"
    status, _, body = ctx.request("PUT", f"/{BUCKET}/{key}", headers=headers, body=b"should not be stored", timeout=15)
    ctx.check(f"PUT with {name}")
    assert status is None or 400 <= status < 500, (status, body[:300])
    assert not ctx.exists(key)


DEEP = "<a>" * 10000 + "x" + "</a>" * 10000
LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
          + "]>")


@functools.lru_cache(maxsize=1)
def xml_documents():
    keep = f"<Object><Key>{KEY}</Key></Object>"
    big = ("<Delete>" + keep * (10 * 1024 * 1024 // len(keep)) + "</Delete>").encode()
    return {
        "delete-deep": ("POST", f"/{BUCKET}?delete", f"<Delete>{keep}<Object><Key>{DEEP}</Key></Object></Delete>".encode()),
        "delete-laughs": ("POST", f"/{BUCKET}?delete", (LAUGHS + f"<Delete>{keep}<Object><Key>&lol9;</Key></Object></Delete>").encode()),
        "delete-10mb": ("POST", f"/{BUCKET}?delete", big),
        "tagging-deep": ("PUT", f"/{BUCKET}/{KEY}?tagging", f"<Tagging><TagSet>{DEEP}</TagSet></Tagging>".encode()),
        "tagging-laughs": ("PUT", f"/{BUCKET}/{KEY}?tagging",
                           (LAUGHS + "<Tagging><TagSet><Tag><Key>k</Key><Value>&lol9;</Value></Tag></TagSet></Tagging>").encode()),
        "bucket-tagging-deep": ("PUT", f"/{BUCKET}?tagging", f"<Tagging><TagSet>{DEEP}</TagSet></Tagging>".encode()),
        "complete-deep": ("POST", f"/{BUCKET}/mpu-open?uploadId={{upload}}",
                          f"<CompleteMultipartUpload><Part>{DEEP}</Part></CompleteMultipartUpload>".encode()),
        "complete-laughs": ("POST", f"/{BUCKET}/mpu-open?uploadId={{upload}}",
                            (LAUGHS + "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&lol9;</ETag></Part>"
                             "</CompleteMultipartUpload>").encode()),
    }


@pytest.mark.parametrize("name", list(xml_documents()))
def test_hostile_xml_bodies(ctx, name):
    """Class 1 (XML): 10000-deep nesting, billion-laughs DTDs and a 10 MB DeleteObjects body → 4xx (MalformedXML
    or too large), never a crash; the listed key is not deleted, no tags appear, the upload stays open."""
    method, target, body = xml_documents()[name]
    target = target.replace("{upload}", ctx.upload_id)
    headers = {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}
    status, _, resp = ctx.request(method, target, headers=headers, body=body, timeout=20)
    ctx.check(name)
    assert status is None or 400 <= status < 500, (status, resp[:300])
    if status is not None:
        assert code(resp) in ("MalformedXML", "InvalidRequest", "InvalidArgument", "EntityTooLarge",
                              "MaxMessageLengthExceeded", "InvalidTag"), resp[:300]
    s3 = ctx.client()
    assert s3.get_object_tagging(Bucket=BUCKET, Key=KEY)["TagSet"] == []
    s3.list_parts(Bucket=BUCKET, Key="mpu-open", UploadId=ctx.upload_id)  # still open


# ---------------------------------------------------------------------------------------------------------------
# Class 2: signature coverage (SIGV4)

HEADERS_NOT_SIGNED = "There were headers present in the request which were not signed"


def test_presigned_put_with_unsigned_copy_source(signed):
    """Class 2: a boto3 presigned PUT URL used with an extra, unsigned x-amz-copy-source header is refused
    (403 AccessDenied, headers not signed); the victim's bytes never reach the target key."""
    s3 = signed.client(signature_version="s3v4")
    s3.create_bucket(Bucket="victimbucket")
    s3.put_object(Bucket="victimbucket", Key="secret", Body=b"the victim's secret bytes")
    s3.create_bucket(Bucket="dropbox")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "dropbox", "Key": "upload"}, ExpiresIn=300)
    r = requests.put(url, data=b"", headers={"x-amz-copy-source": "/victimbucket/secret"}, timeout=10)
    signed.check("presigned PUT + unsigned x-amz-copy-source")
    assert r.status_code == 403 and xml_error_code(r.content) == "AccessDenied", (r.status_code, r.content[:300])
    assert HEADERS_NOT_SIGNED in r.text
    assert not signed.exists("upload", bucket="dropbox")
    assert not os.path.exists(os.path.join(signed.root, "dropbox", "upload"))
    # The same URL without the extra header still works.
    assert requests.put(url, data=b"legit", timeout=10).status_code == 200
    assert s3.get_object(Bucket="dropbox", Key="upload")["Body"].read() == b"legit"


def test_header_auth_with_unsigned_amz_header(signed):
    """Class 2: a request signed by botocore with an x-amz-meta-foo header added after signing → 403 AccessDenied;
    nothing stored."""
    url = f"{signed.server.endpoint}/{BUCKET}/unsigned-meta"
    req = AWSRequest(method="PUT", url=url, data=b"body", headers={"x-amz-content-sha256": hashlib.sha256(b"body").hexdigest()})
    S3SigV4Auth(Credentials(*ADMIN), "s3", "us-east-1").add_auth(req)
    headers = {**dict(req.headers.items()), "x-amz-meta-foo": "smuggled"}
    r = requests.put(url, data=b"body", headers=headers, timeout=10)
    signed.check("unsigned x-amz-meta-foo")
    assert r.status_code == 403 and xml_error_code(r.content) == "AccessDenied", (r.status_code, r.content[:300])
    assert HEADERS_NOT_SIGNED in r.text
    assert not signed.exists("unsigned-meta")
    # Control: the same request as signed is accepted.
    req = AWSRequest(method="PUT", url=url, data=b"body", headers={"x-amz-content-sha256": hashlib.sha256(b"body").hexdigest()})
    S3SigV4Auth(Credentials(*ADMIN), "s3", "us-east-1").add_auth(req)
    assert requests.put(url, data=b"body", headers=dict(req.headers.items()), timeout=10).status_code == 200


@pytest.mark.parametrize("signed_headers", [[], ["content-type"]])
def test_presigned_v4_without_host(signed, signed_headers):
    """Class 2: a presigned SigV4 URL whose X-Amz-SignedHeaders lacks `host` (otherwise correctly signed) is refused
    (AuthorizationQueryParametersError or AccessDenied); the object is not served."""
    target = presign_v4_raw("GET", f"/{BUCKET}/{KEY}", signed.port, *ADMIN, signed_headers=signed_headers,
                            headers={"content-type": "text/plain"})
    status, _, body = http_request(signed.port, "GET", target, {"Content-Type": "text/plain"})
    signed.check("presigned without host")
    assert status in (400, 403) and code(body) in ("AuthorizationQueryParametersError", "AccessDenied"), (status, body[:300])
    # Control: the same crafted URL with host signed works, so the refusal above is about `host`.
    target = presign_v4_raw("GET", f"/{BUCKET}/{KEY}", signed.port, *ADMIN)
    status, _, body = http_request(signed.port, "GET", target)
    assert (status, body) == (200, signed.data), (status, body[:300])


def test_normal_presigned_get_and_put_still_work(signed):
    """Class 2 (regression): ordinary boto3 presigned GET and PUT URLs work with requests and curl."""
    s3 = signed.client(signature_version="s3v4")
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "presigned-ok"}, ExpiresIn=300)
    assert requests.put(put_url, data=b"via presigned put", timeout=10).status_code == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presigned-ok"}, ExpiresIn=300)
    assert requests.get(get_url, timeout=10).content == b"via presigned put"
    out = subprocess.run(["curl", "-sf", get_url], capture_output=True, timeout=10)
    assert out.returncode == 0 and out.stdout == b"via presigned put"
    signed.check("presigned GET/PUT")


# ---------------------------------------------------------------------------------------------------------------
# Class 3: payload integrity (SIGV4)

@pytest.mark.parametrize("sign_decoded_length", [False, True])
def test_empty_payload_signature_with_chunked_body(signed, sign_decoded_length):
    """Class 3: a PUT signed for an empty payload (x-amz-content-sha256 = e3b0…b855) that then switches to an
    aws-chunked body carrying data (Content-Encoding added after signing) is rejected (400
    XAmzContentSHA256Mismatch or 403); nothing stored."""
    key = f"smuggled-{int(sign_decoded_length)}"
    target = f"/{BUCKET}/{key}"
    framed = b"5\r\nhello\r\n0\r\n\r\n"
    extra = {"x-amz-decoded-content-length": "5"} if sign_decoded_length else {}
    headers = sign_v4_raw("PUT", target, signed.port, extra, b"", *ADMIN, payload_hash=EMPTY_SHA256)
    headers["Content-Encoding"] = "aws-chunked"
    status, _, body = http_request(signed.port, "PUT", target, headers, framed)
    signed.check("empty-digest chunked smuggle")
    allowed = [(400, "XAmzContentSHA256Mismatch"), (403, "AccessDenied"), (403, "SignatureDoesNotMatch")]
    if not sign_decoded_length:  # aws-chunked without its decoded length is refused before anything else
        allowed.append((411, "MissingContentLength"))
    assert (status, code(body)) in allowed, (status, body[:300])
    assert not signed.exists(key)
    assert not os.path.exists(os.path.join(signed.root, BUCKET, key))


def test_signed_payloads_and_botocore_xml_operations_still_work(signed):
    """Class 3 (regression): a plain body signed with its SHA-256 is stored; DeleteObjects, PutObjectTagging and
    CompleteMultipartUpload sent by botocore normally work."""
    target = f"/{BUCKET}/plain-signed"
    headers = sign_v4_raw("PUT", target, signed.port, {}, b"plain body", *ADMIN)
    assert http_request(signed.port, "PUT", target, headers, b"plain body")[0] == 200
    s3 = signed.client()
    assert s3.get_object(Bucket=BUCKET, Key="plain-signed")["Body"].read() == b"plain body"
    s3.put_object_tagging(Bucket=BUCKET, Key="plain-signed", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert s3.get_object_tagging(Bucket=BUCKET, Key="plain-signed")["TagSet"] == [{"Key": "k", "Value": "v"}]
    up = s3.create_multipart_upload(Bucket=BUCKET, Key="mpu-done")["UploadId"]
    etag = s3.upload_part(Bucket=BUCKET, Key="mpu-done", UploadId=up, PartNumber=1, Body=b"part")["ETag"]
    s3.complete_multipart_upload(Bucket=BUCKET, Key="mpu-done", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    deleted = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "plain-signed"}, {"Key": "mpu-done"}]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["mpu-done", "plain-signed"]
    signed.check("regressions")


# ---------------------------------------------------------------------------------------------------------------
# Class 4: keys are bytes

def outside_state(root, bucket):
    """Every path under the root outside `<root>/<bucket>/` and Strata's own `.strata/` (lock files), and every name
    beside the root."""
    paths = set()
    for dirpath, dirnames, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel == bucket or rel.startswith(bucket + os.sep) or rel.split(os.sep)[0] == ".strata":
            dirnames[:] = []
            continue
        for name in dirnames + files:
            paths.add(os.path.join(rel, name))
    beside = {n for n in os.listdir(os.path.dirname(root)) if not n.endswith(".log")}
    return paths, beside


@pytest.mark.parametrize("key,has_dot_segment", [
    ("../\u0301evil", True),
    ("a/../\u0301evil", True),
    ("..\u0301/x", False),
    ("../../\u0301evil", True),
    ("\u0301/../../evil", True),
])
def test_combining_marks_do_not_hide_dot_dot_segments(ctx, key, has_dot_segment):
    """Class 4: keys are bytes. A combining mark after '/' (or '..') must not hide a '..' segment: no file is ever
    created outside the bucket directory; a byte-level '..' segment is stored under its escaped name inside the
    bucket and serves its key like any other."""
    before = outside_state(ctx.root, BUCKET)
    encodings = [urllib.parse.quote(key.encode(), safe="/"),
                 urllib.parse.quote(key.encode(), safe="/").replace(".", "%2E")]
    for encoded in encodings:
        for method, body in [("PUT", b"evil bytes"), ("GET", None), ("HEAD", None), ("DELETE", None)]:
            status, _, resp = ctx.request(method, f"/{BUCKET}/{encoded}", body=body)
            ctx.check(f"{method} {encoded}")
            if has_dot_segment:
                assert status == (204 if method == "DELETE" else 200), (method, encoded, status, resp[:300])
                if method == "GET":
                    assert resp == b"evil bytes"
            after = outside_state(ctx.root, BUCKET)
            assert after == before, f"{method} {encoded} changed the tree outside the bucket: {after[0] ^ before[0]} {after[1] ^ before[1]}"
    escaped = [os.path.join(d, n) for d, ds, fs in os.walk(os.path.dirname(ctx.root)) for n in ds + fs
               if "evil" in n and not os.path.join(d, n).startswith(os.path.join(ctx.root, BUCKET) + os.sep)]
    assert escaped == []
    if not has_dot_segment:  # a legitimate (if odd) key: stored inside the bucket, under its exact bytes
        path = os.path.join(ctx.root, BUCKET, *key.split("/"))
        status = ctx.request("PUT", f"/{BUCKET}/{urllib.parse.quote(key.encode(), safe='/')}", body=b"odd")[0]
        assert status in (200, 400)
        if status == 200:
            assert open(path, "rb").read() == b"odd"


def test_nfc_and_nfd_bucket_names_are_different_buckets(ctx):
    """Class 4: bucket names are bytes: `caf\\u00e9` (NFC) and `cafe\\u0301` (NFD), made as directories on disk,
    each serve their own files; a PUT into one lands in that one only."""
    nfc, nfd = "caf\u00e9", "cafe\u0301"
    for name, content in [(nfc, b"NFC file"), (nfd, b"NFD file")]:
        os.makedirs(os.path.join(ctx.root, name), exist_ok=True)
        # Made by another program: its POSIX mode decides, and this one lets everyone write.
        os.chmod(os.path.join(ctx.root, name), 0o777)
        with open(os.path.join(ctx.root, name, "f"), "wb") as f:
            f.write(content)
    for name, content in [(nfc, b"NFC file"), (nfd, b"NFD file")]:
        status, _, body = ctx.request("GET", f"/{urllib.parse.quote(name.encode())}/f")
        ctx.check(f"GET {name!a}/f")
        assert (status, body) == (200, content), (ascii(name), status, body[:300])
    status, _, body = ctx.request("PUT", f"/{urllib.parse.quote(nfd.encode())}/g", body=b"into NFD")
    ctx.check("PUT NFD/g")
    assert status == 200, body[:300]
    assert os.path.exists(os.path.join(ctx.root, nfd, "g")) and not os.path.exists(os.path.join(ctx.root, nfc, "g"))
    status, _, body = ctx.request("GET", f"/{urllib.parse.quote(nfc.encode())}?list-type=2")
    assert status == 200 and b"<Key>f</Key>" in body and b"<Key>g</Key>" not in body, body[:500]


def test_nfc_and_nfd_keys_are_different_objects(ctx):
    """Class 4: object keys are bytes: `caf\\u00e9.txt` and `cafe\\u0301.txt` are two objects, each with its bytes."""
    nfc, nfd = "nf/caf\u00e9.txt", "nf/cafe\u0301.txt"
    for key, content in [(nfc, b"NFC key"), (nfd, b"NFD key")]:
        assert ctx.request("PUT", f"/{BUCKET}/{urllib.parse.quote(key.encode())}", body=content)[0] == 200
    for key, content in [(nfc, b"NFC key"), (nfd, b"NFD key")]:
        status, _, body = ctx.request("GET", f"/{BUCKET}/{urllib.parse.quote(key.encode())}")
        assert (status, body) == (200, content), ascii(key)
    keys = [o["Key"] for o in ctx.client().list_objects_v2(Bucket=BUCKET, Prefix="nf/")["Contents"]]
    assert sorted(k.encode() for k in keys) == sorted([nfc.encode(), nfd.encode()])
    ctx.check("NFC/NFD keys")


# ---------------------------------------------------------------------------------------------------------------
# Class 6: resource bounds

@pytest.mark.parametrize("shape", ["10000-lines", "1mb-line", "1mb-of-lines-x5"])
def test_hostile_trailers_are_bounded(simple, shape):
    """Class 6: an aws-chunked body whose trailer section holds 10,000 lines or 1 MB → 4xx, nothing stored, and
    resident memory grows by less than ~50 MB."""
    head = b"5\r\nhello\r\n0\r\n"
    if shape == "10000-lines":
        bodies = [head + b"".join(b"x-amz-meta-t%d:v\r\n" % i for i in range(10000)) + b"\r\n"]
    elif shape == "1mb-line":
        bodies = [head + b"x-amz-checksum-crc32:" + b"A" * (1024 * 1024) + b"\r\n\r\n"]
    else:  # about 1 MB of 100-byte trailer lines, five times over
        bodies = [head + b"".join(b"x-amz-meta-p%d:%s\r\n" % (i, b"C" * 100) for i in range(10000)) + b"\r\n"] * 5
    baseline = rss_kib(simple.server.proc.pid)
    for i, framed in enumerate(bodies):
        key = f"trailer-{shape}-{i}"
        status, _, body = chunked_put(simple, key, framed, "5")
        simple.check(f"trailer {shape}")
        assert status is not None and 400 <= status < 500, (status, body[:300])
        assert not simple.exists(key)
    grown = rss_kib(simple.server.proc.pid) - baseline
    assert grown < 50 * 1024, f"RSS grew by {grown} KiB"


@pytest.mark.parametrize("who", ["bad-signature", "unknown-key"])
def test_expect_continue_refused_by_auth_before_100(signed, who):
    """Class 6: a PUT with Expect: 100-continue and a 100 GB Content-Length that authentication refuses is answered
    403 at once, with no `100 Continue` first, and the connection is closed instead of waiting for the body."""
    key, secret = (ADMIN[0], "wrong-secret") if who == "bad-signature" else ("NOSUCHKEY", "whatever")
    target = f"/{BUCKET}/expect-{who}"
    headers = sign_v4_raw("PUT", target, signed.port, {"Expect": "100-continue"}, b"", key, secret,
                          payload_hash="UNSIGNED-PAYLOAD")
    head = f"PUT {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += "Content-Length: 107374182400\r\n\r\n"
    with socket.create_connection(("127.0.0.1", signed.port), timeout=5) as sock:
        sock.sendall(head.encode())
        deadline = time.time() + 5
        data = b""
        while b"\r\n" not in data and time.time() < deadline:
            ready, _, _ = select.select([sock], [], [], max(0.0, deadline - time.time()))
            if not ready:
                break
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        first = data.split(b"\r\n", 1)[0]
        assert first.startswith(b"HTTP/1.1 403"), f"first status line {first!r}, expected 403 without 100 Continue"
        closed = False
        while time.time() < deadline:
            ready, _, _ = select.select([sock], [], [], max(0.0, deadline - time.time()))
            if not ready:
                break
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            data += chunk
        assert closed, "the connection stayed open waiting for a body the server refused"
    signed.check(f"Expect 100-continue, {who}")
    assert not signed.exists(f"expect-{who}")


def test_slowloris_head_is_cut_off(start_server):
    """Class 6: a client sending its request head one byte per second is disconnected once the header deadline
    (strata.proxy.web.header.timeout=1s) passes: closed within ~5 s; others are still served."""
    server = start_server(conf=["strata.proxy.web.header.timeout=1s"])
    server.client().create_bucket(Bucket="slow")
    request = f"GET /slow HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nX-Padding: {'p' * 40}\r\n\r\n".encode()
    start = time.time()
    closed_after = None
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        for i in range(len(request)):
            try:
                sock.sendall(request[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.time() - start
                break
            ready, _, _ = select.select([sock], [], [], 1.0)
            if ready:
                try:
                    chunk = sock.recv(4096)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    closed_after = time.time() - start
                    break
            if time.time() - start > 7:
                break
    assert closed_after is not None and closed_after <= 5.5, f"slow client still connected after {time.time() - start:.1f} s"
    assert server.proc.poll() is None
    assert http_request(server.port, "GET", "/slow", simple_auth())[0] == 200


def test_connection_limit(start_server):
    """Class 6: with strata.proxy.web.max.connections=8, 50 idle connections do not get more than ~8 served at once,
    the server stays alive, and a fresh client is served once the idle ones are closed."""
    server = start_server(conf=["strata.proxy.web.max.connections=8"])
    setup_client = server.client()
    setup_client.create_bucket(Bucket="limits")
    # Its pooled connection holds one of the 8 slots; were it freed by the garbage collector mid-window, one more
    # idle socket would be served and the count would depend on when Python collects.
    setup_client.close()
    socks = []
    try:
        for _ in range(50):
            try:
                socks.append(socket.create_connection(("127.0.0.1", server.port), timeout=2))
            except OSError:
                pass  # refused: fine
        time.sleep(0.3)
        assert server.proc.poll() is None
        request = f"HEAD /limits HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()
        for s in socks:
            try:
                s.sendall(request)
            except OSError:
                pass
        served = 0
        deadline = time.time() + 2.0
        pending = {s: b"" for s in socks}
        while pending and time.time() < deadline:
            ready, _, _ = select.select(list(pending), [], [], max(0.0, deadline - time.time()))
            if not ready:
                break
            for s in ready:
                try:
                    chunk = s.recv(4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    pending.pop(s)
                    continue
                pending[s] += chunk
                if b"\r\n\r\n" in pending[s]:
                    status = status_line(pending.pop(s))
                    if status is not None and status < 500:
                        served += 1
        assert served <= 10, f"{served} of 50 connections were served at once with max.connections=8"
        assert server.proc.poll() is None
    finally:
        for s in socks:
            s.close()
    deadline = time.time() + 5
    status = None
    while time.time() < deadline:
        try:
            status = http_request(server.port, "HEAD", "/limits", simple_auth(), timeout=2)[0]
            if status == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    assert status == 200, "a fresh client was not served after the idle connections closed"


def client_connection_metrics(server):
    """strata_client_connections, strata_client_addresses and strata_client_connections_refused_total."""
    text = requests.get(server.admin_endpoint + "/metrics", timeout=10).text
    values = {}
    for name in ("strata_client_connections", "strata_client_addresses", "strata_client_connections_refused_total"):
        match = re.search(rf"^{name} (\d+)$", text, re.M)
        values[name.replace("strata_client_", "")] = int(match.group(1)) if match else None
    return values


def wait_for_metrics(server, **expected):
    deadline = time.time() + 10
    while True:
        got = client_connection_metrics(server)
        if all(got[k] == v for k, v in expected.items()) or time.time() > deadline:
            return got
        time.sleep(0.05)


def read_until_closed(sock, deadline):
    data = b""
    while time.time() < deadline:
        ready, _, _ = select.select([sock], [], [], max(0.0, deadline - time.time()))
        if not ready:
            return data, False
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def test_connection_limit_per_client_address(start_server):
    """Class 6: with strata.proxy.web.max.connections.per.client=3, three idle connections from 127.0.0.1 hold
    their slots; a fourth is answered 503 SlowDown with Connection: close and closed, its request unread, while
    another address (127.0.0.2) is still served. Once the idle ones close, the counts on /metrics return to zero and
    127.0.0.1 is served again."""
    server = start_server(conf=["strata.proxy.web.max.connections.per.client=3"])
    assert http_request(server.port, "PUT", "/perclient", simple_auth())[0] == 200
    assert wait_for_metrics(server, connections=0, addresses=0) == {"connections": 0, "addresses": 0, "connections_refused_total": 0}
    held = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(3)]
    try:
        assert wait_for_metrics(server, connections=3)["connections"] == 3
        # Refused whether it sends its request at once or nothing: the answer is read, not a reset.
        for sends in (False, True):
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as extra:
                if sends:
                    extra.sendall(f"GET /perclient HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n{auth_lines()}\r\n".encode())
                data, closed = read_until_closed(extra, time.time() + 5)
            head, _, body = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 503 "), (sends, data[:200])
            assert b"\r\nConnection: close" in head and xml_error_code(body) == "SlowDown", data
            assert closed, "the refused connection stayed open"
        assert wait_for_metrics(server, connections_refused_total=2)["connections_refused_total"] == 2
        # Another client address has its own count (all of 127.0.0.0/8 reaches the loopback listener).
        with socket.socket() as other:
            other.settimeout(5)
            other.bind(("127.0.0.2", 0))
            other.connect(("127.0.0.1", server.port))
            other.sendall(f"HEAD /perclient HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n{auth_lines()}\r\n".encode())
            assert status_line(read_response_head(other, time.time() + 5)[0]) == 200
        # The held connections still work: a request on one of them is served.
        held[0].sendall(f"HEAD /perclient HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n{auth_lines()}\r\n".encode())
        assert status_line(read_response_head(held[0], time.time() + 5)[0]) == 200
    finally:
        for s in held:
            s.close()
    assert wait_for_metrics(server, connections=0, addresses=0)["connections"] == 0
    assert client_connection_metrics(server) == {"connections": 0, "addresses": 0, "connections_refused_total": 2}
    assert http_request(server.port, "HEAD", "/perclient", simple_auth())[0] == 200
    assert server.proc.poll() is None


def auth_lines():
    return "".join(f"{k}: {v}\r\n" for k, v in simple_auth().items())


# ---------------------------------------------------------------------------------------------------------------
# Class 7: files

def test_credentials_file_is_private(signed):
    """Class 7: after `strata credentials add`, ROOT/.strata/credentials.json has mode 0600."""
    path = os.path.join(signed.root, ".strata", "credentials.json")
    add_credential(signed.root, "--user", "mode-check", "--access-key", "MODECHECK", "--secret-key", "mode-secret")
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)


def wait_until_signs(server, key, secret):
    s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=key,
                      aws_secret_access_key=secret, config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    deadline = time.time() + 5
    while True:
        try:
            return s3.list_buckets()
        except botocore.exceptions.ClientError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def test_credentials_secret_from_stdin(signed):
    """Class 7: `strata credentials add --secret-key-stdin` reads the secret from standard input (never argv) and the
    credential signs requests."""
    r = add_credential(signed.root, "--user", "stdin-user", "--access-key", "STDINKEY", "--secret-key-stdin",
                       input=b"stdin-secret-value\n", check=False)
    assert r.returncode == 0, r.stderr.decode()
    wait_until_signs(signed.server, "STDINKEY", "stdin-secret-value")


def test_credentials_secret_from_env(signed):
    """Class 7: `strata credentials add --secret-key-env VAR` takes the secret from that environment variable and the
    credential signs requests."""
    r = add_credential(signed.root, "--user", "env-user", "--access-key", "ENVKEY", "--secret-key-env", "STRATA_TEST_SECRET",
                       env={**os.environ, "STRATA_TEST_SECRET": "env-secret-value"}, check=False)
    assert r.returncode == 0, r.stderr.decode()
    wait_until_signs(signed.server, "ENVKEY", "env-secret-value")
    r = add_credential(signed.root, "--user", "env-user", "--access-key", "ENVKEY2", "--secret-key-env", "STRATA_UNSET_VAR_X",
                       env={k: v for k, v in os.environ.items() if k != "STRATA_UNSET_VAR_X"}, check=False)
    assert r.returncode != 0, "an unset --secret-key-env variable must be an error, not an empty secret"


def test_crash_reports_never_dump_registers(signed):
    """Class 7: the server runs with the Swift backtracer set to sanitize paths and print no registers (which can
    hold fragments of signing keys), unless an operator chose other settings."""
    with open(f"/proc/{signed.server.proc.pid}/environ", "rb") as f:
        environment = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
    settings = environment.get(b"SWIFT_BACKTRACE", b"").decode()
    assert "registers=none" in settings and "sanitize=yes" in settings and "interactive=no" in settings, settings
