"""Browser-form POST uploads: policies signed with SigV4 (boto3's generate_presigned_post) and SigV2, anonymous
forms into public-read-write buckets, every policy condition, and bodies built byte by byte."""
import base64
import datetime
import hashlib
import hmac
import json
import socket
import subprocess
import xml.etree.ElementTree as ET

import boto3
import pytest
import requests
from botocore.config import Config

from conftest import STRATA_BIN, http_request, rss_kib, xml_error_code

ALICE = ("ALICEKEY", "alice-secret")


@pytest.fixture
def signed_server(start_server, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    subprocess.run([STRATA_BIN, "credentials", "add", "--root", str(root), "--user", "alice", "--access-key", ALICE[0],
                    "--secret-key", ALICE[1]], check=True, capture_output=True)
    return start_server(root=root, conf=["strata.s3.auth.mode=SIGV4"])


def client(server, key=ALICE[0], secret=ALICE[1]):
    return boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret,
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def v2_form(conditions, secret=ALICE[1], key_id=ALICE[0], expires_in=600, **fields):
    """A policy signed the SigV2 way (base64 HMAC-SHA1 of the base64 policy), with the given form fields."""
    expiration = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=expires_in)).strftime("%Y-%m-%dT%H:%M:%SZ")
    policy = base64.b64encode(json.dumps({"expiration": expiration, "conditions": conditions}).encode())
    signature = base64.b64encode(hmac.new(secret.encode(), policy, hashlib.sha1).digest())
    return {**fields, "AWSAccessKeyId": key_id, "policy": policy.decode(), "signature": signature.decode()}


def post(server, bucket, fields, file_body=b"bar", filename=None):
    """requests builds the multipart body as a browser would; the file goes last."""
    files = list(fields.items()) + [("file", (filename, file_body) if filename else file_body)]
    return requests.post(f"{server.endpoint}/{bucket}", files=files, allow_redirects=False, timeout=60)


def test_boto3_presigned_post_round_trip(signed_server):
    s3 = client(signed_server)
    s3.create_bucket(Bucket="forms")
    presigned = s3.generate_presigned_post(
        "forms", "uploads/${filename}",
        Fields={"Content-Type": "text/plain", "x-amz-meta-origin": "browser"},
        Conditions=[{"Content-Type": "text/plain"}, {"x-amz-meta-origin": "browser"}, ["starts-with", "$key", "uploads/"],
                    ["content-length-range", 1, 1 << 20]])
    r = requests.post(presigned["url"], data=presigned["fields"], files={"file": ("notes.txt", b"hello form")}, timeout=30)
    assert r.status_code == 204, r.text
    got = s3.get_object(Bucket="forms", Key="uploads/notes.txt")
    assert got["Body"].read() == b"hello form"
    assert got["ContentType"] == "text/plain" and got["Metadata"] == {"origin": "browser"}
    assert r.headers["ETag"] == got["ETag"] == '"%s"' % hashlib.md5(b"hello form").hexdigest()
    assert r.headers["Location"].endswith("/forms/uploads/notes.txt")


def test_sigv2_policy_with_status_redirect_and_tags(signed_server):
    s3 = client(signed_server)
    s3.create_bucket(Bucket="v2forms")
    base = [{"bucket": "v2forms"}, ["starts-with", "$key", "foo"], {"acl": "private"}, ["starts-with", "$Content-Type", "text/"]]
    fields = v2_form(base + [["eq", "$success_action_status", "201"]], key="foo.txt", acl="private", **{"Content-Type": "text/plain"},
                     success_action_status="201")
    r = post(signed_server, "v2forms", fields)
    assert r.status_code == 201
    doc = ET.fromstring(r.content)
    assert doc.find("Key").text == "foo.txt" and doc.find("Bucket").text == "v2forms"
    assert doc.find("ETag").text == '"%s"' % hashlib.md5(b"bar").hexdigest()

    redirect = f"{signed_server.endpoint}/v2forms/done?x=1"
    fields = v2_form(base + [{"success_action_redirect": redirect}], key="foo/two.txt", acl="private", success_action_redirect=redirect,
                     **{"Content-Type": "text/html"})
    r = post(signed_server, "v2forms", fields)
    assert r.status_code == 303
    etag = hashlib.md5(b"bar").hexdigest()
    assert r.headers["Location"] == f"{redirect}&bucket=v2forms&key=foo%2Ftwo.txt&etag=%22{etag}%22"

    tagging = "<Tagging><TagSet><Tag><Key>team</Key><Value>web</Value></Tag></TagSet></Tagging>"
    fields = v2_form(base + [["starts-with", "$tagging", ""]], key="foo-tagged", acl="private", tagging=tagging,
                     **{"Content-Type": "text/plain"})
    assert post(signed_server, "v2forms", fields).status_code == 204
    assert s3.get_object_tagging(Bucket="v2forms", Key="foo-tagged")["TagSet"] == [{"Key": "team", "Value": "web"}]


ANY_KEY = [{"bucket": "pol"}, ["starts-with", "$key", ""]]


@pytest.mark.parametrize("conditions,fields,expires_in,status,code", [
    (ANY_KEY, {"key": "k"}, -60, 403, "AccessDenied"),  # expired
    ([{"bucket": "other"}, ["starts-with", "$key", ""]], {"key": "k"}, 600, 403, "AccessDenied"),
    ([{"bucket": "pol"}, ["starts-with", "$key", "foo"]], {"key": "bar"}, 600, 403, "AccessDenied"),
    (ANY_KEY, {"key": "k", "x-amz-meta-extra": "1"}, 600, 403, "AccessDenied"),  # a field no condition names
    (ANY_KEY + [["eq", "$x-amz-meta-foo", "x"]], {"key": "k"}, 600, 403, "AccessDenied"),  # a required field left out
    ([["starts-with", "$key", ""]], {"key": "k"}, 600, 403, "AccessDenied"),  # the bucket is a field too
    # The NFC and NFD spellings of a key are two files: a policy naming one does not admit the other.
    ([{"bucket": "pol"}, ["eq", "$key", "caf\u00e9"]], {"key": "cafe\u0301"}, 600, 403, "AccessDenied"),
    ([{"bucket": "pol"}, ["starts-with", "$key", "caf\u00e9/"]], {"key": "cafe\u0301/x"}, 600, 403, "AccessDenied"),
    ([{}], {"key": "k"}, 600, 400, "InvalidPolicyDocument"),
    ([{"bucket": "pol"}, ["content-length-range", 0]], {"key": "k"}, 600, 400, "InvalidPolicyDocument"),
    ([{"bucket": "pol"}, ["content-length-range", -1, 10]], {"key": "k"}, 600, 400, "InvalidPolicyDocument"),
    ([{"bucket": "pol"}, ["in", "$key", "k"]], {"key": "k"}, 600, 400, "InvalidPolicyDocument"),
    (ANY_KEY + [["content-length-range", 0, 2]], {"key": "k"}, 600, 400, "EntityTooLarge"),
    (ANY_KEY + [["content-length-range", 10, 20]], {"key": "k"}, 600, 400, "EntityTooSmall"),
])
def test_policy_conditions(signed_server, conditions, fields, expires_in, status, code):
    s3 = client(signed_server)
    s3.create_bucket(Bucket="pol")
    r = post(signed_server, "pol", v2_form(conditions, expires_in=expires_in, **fields))
    assert r.status_code == status, r.text
    assert xml_error_code(r.content) == code
    assert s3.list_objects_v2(Bucket="pol")["KeyCount"] == 0


def test_policy_document_errors(signed_server):
    client(signed_server).create_bucket(Bucket="docs")
    def signed(document):
        policy = base64.b64encode(json.dumps(document).encode())
        return {"key": "k", "AWSAccessKeyId": ALICE[0], "policy": policy.decode(),
                "signature": base64.b64encode(hmac.new(ALICE[1].encode(), policy, hashlib.sha1).digest()).decode()}
    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
    for document in ({"conditions": [{"bucket": "docs"}]},                                   # no expiration
                     {"EXPIRATION": later.strftime("%Y-%m-%dT%H:%M:%SZ"), "conditions": []},  # keys are case-sensitive
                     {"expiration": str(later), "conditions": [{"bucket": "docs"}]},        # not ISO 8601
                     {"expiration": later.strftime("%Y-%m-%dT%H:%M:%SZ")}):                  # no conditions
        r = post(signed_server, "docs", signed(document))
        assert r.status_code == 400 and xml_error_code(r.content) == "InvalidPolicyDocument", document


def test_signature_and_field_errors(signed_server):
    client(signed_server).create_bucket(Bucket="sig")
    conditions = [{"bucket": "sig"}, ["starts-with", "$key", ""]]
    good = v2_form(conditions, key="k")
    cases = [
        ({**good, "signature": good["signature"][::-1]}, 403, "SignatureDoesNotMatch"),
        ({**good, "AWSAccessKeyId": "NOSUCHKEY"}, 403, "InvalidAccessKeyId"),
        ({k: v for k, v in good.items() if k != "signature"}, 400, "InvalidArgument"),
        ({k: v for k, v in good.items() if k != "key"}, 400, "InvalidArgument"),
    ]
    for fields, status, code in cases:
        r = post(signed_server, "sig", fields)
        assert (r.status_code, xml_error_code(r.content)) == (status, code), fields.keys()
    # No file part at all.
    r = requests.post(f"{signed_server.endpoint}/sig", files=[(k, (None, v)) for k, v in good.items()], timeout=30)
    assert r.status_code == 400 and xml_error_code(r.content) == "IncorrectNumberOfFilesInPostRequest"
    # Not a form.
    r = requests.post(f"{signed_server.endpoint}/sig", data=b"key=k", headers={"Content-Type": "text/plain"}, timeout=30)
    assert r.status_code == 412
    assert client(signed_server).list_objects_v2(Bucket="sig")["KeyCount"] == 0


def test_anonymous_form_needs_a_public_write_bucket(signed_server):
    s3 = client(signed_server)
    s3.create_bucket(Bucket="open", ACL="public-read-write")
    s3.create_bucket(Bucket="closed")
    r = post(signed_server, "open", {"key": "anon.txt", "acl": "public-read", "Content-Type": "text/plain"})
    assert r.status_code == 204, r.text
    assert s3.get_object(Bucket="open", Key="anon.txt")["Body"].read() == b"bar"
    r = post(signed_server, "closed", {"key": "anon.txt"})
    assert r.status_code == 403
    # success_action_status other than 200 and 201 means 204, as AWS.
    r = post(signed_server, "open", {"key": "s.txt", "success_action_status": "404"})
    assert r.status_code == 204 and r.content == b""


def test_checksum_field_and_large_file(signed_server):
    s3 = client(signed_server)
    s3.create_bucket(Bucket="big")
    conditions = [{"bucket": "big"}, ["starts-with", "$key", ""], ["content-length-range", 0, 64 << 20]]
    data = bytes(range(256)) * (48 * 1024 + 3)  # 12 MiB and a little: many reads, delimiters straddling them
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    r = post(signed_server, "big", v2_form(conditions, key="blob", **{"x-amz-checksum-sha256": digest}), file_body=data)
    assert r.status_code == 204, r.text
    got = s3.get_object(Bucket="big", Key="blob", ChecksumMode="ENABLED")
    assert got["Body"].read() == data and got["ChecksumSHA256"] == digest
    r = post(signed_server, "big", v2_form(conditions, key="blob", **{"x-amz-checksum-sha256": base64.b64encode(b"x" * 32).decode()}),
             file_body=b"other")
    assert r.status_code == 400 and xml_error_code(r.content) == "BadDigest"
    assert s3.get_object(Bucket="big", Key="blob")["Body"].read() == data


def form_body(boundary, parts, epilogue=b""):
    out = b""
    for name, value, extra in parts:
        out += b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"" + name + b"\"" + extra + b"\r\n\r\n" + value + b"\r\n"
    return out + b"--" + boundary + b"--\r\n" + epilogue


def test_hand_built_form_bodies(start_server):
    server = start_server()  # SIMPLE mode: the form names its user
    s3 = server.client()
    s3.create_bucket(Bucket="raw")
    boundary = b"----WebKitFormBoundary7MA4YWxkTrZu0gW"
    # A file whose bytes contain a near-delimiter, fields with odd case, a filename with an escaped quote.
    content = b"line\r\n--" + boundary[:-1] + b"X\r\nend"
    body = form_body(boundary, [(b"KEY", b"dir/${filename}", b""), (b"AWSAccessKeyId", b"alice", b""),
                                (b"x-amz-meta-Note", "caf\u00e9".encode(), b""),
                                (b"file", content, b"; filename=\"a \\\"b\\\".bin\"\r\nContent-Type: application/octet-stream")],
                     epilogue=b"ignored trailing text")
    status, headers, _ = http_request(server.port, "POST", "/raw", {"Content-Type": "multipart/form-data; boundary=" + boundary.decode()}, body)
    assert status == 204
    got = s3.get_object(Bucket="raw", Key='dir/a "b".bin')
    # The field's UTF-8 bytes are stored and returned as they came (botocore reads header bytes as Latin-1).
    assert got["Body"].read() == content and got["Metadata"]["note"].encode("latin-1").decode() == "caf\u00e9"
    # Truncated bodies, missing boundaries and bad padding are MalformedPOSTRequest; nothing is stored.
    for broken in (body[: len(body) // 2], body.replace(b"--" + boundary + b"--", b"")):
        status, _, reply = http_request(server.port, "POST", "/raw", {"Content-Type": "multipart/form-data; boundary=" + boundary.decode()},
                                        broken)
        assert status == 400 and xml_error_code(reply) in ("MalformedPOSTRequest", "IncompleteBody"), reply
    status, _, reply = http_request(server.port, "POST", "/raw", {"Content-Type": "multipart/form-data"}, body)
    assert status == 412
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="raw").get("Contents", [])]
    assert keys == ['dir/a "b".bin']


def send_form(server, bucket, boundary, body, declared_length):
    """A form POST declaring `declared_length` bytes of body, of which only `body` is sent; then the answer, read
    until the server closes. The server must answer from what it has: having read all of it, it closes cleanly and
    the answer is not lost to a reset."""
    head = (f"POST /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Length: {declared_length}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary.decode()}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, reply = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else None, reply


def stream_form(server, bucket, boundary, parts, total):
    """Streams up to `total` bytes of a form made of `parts()` (an endless generator of bytes) until the server
    stops reading."""
    head = (f"POST /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Length: {total}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary.decode()}\r\n\r\n").encode()
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        try:
            sock.sendall(head)
            pending = b""
            for piece in parts():
                pending += piece
                if len(pending) >= 1 << 20 or sent + len(pending) >= total:
                    chunk, pending = pending[: total - sent], b""
                    sock.sendall(chunk)
                    sent += len(chunk)
                    if sent >= total:
                        break
        except (BrokenPipeError, ConnectionResetError):
            pass
    return sent


def test_form_bounds_before_authentication(signed_server):
    """Issue 28: before anything is authenticated, the form before the file is bounded with its part heads and field
    names: 1,000 empty parts or a 15,000-byte name with a 6,000-byte value are MaxPostPreDataLengthExceeded (the
    20 KB bound once counted values only); a part head over 16 KiB, or one that never ends, is MalformedPOSTRequest.
    Each is answered from the first 24 KiB of its body, and nothing is stored. Streaming 128 MB of empty parts, or
    of one field name, leaves the server's resident memory within 50 MB of where it was (512 MB of empty parts once
    took it from 47 to 570 MB)."""
    s3 = client(signed_server)
    s3.create_bucket(Bucket="forms")
    boundary = b"b0und4ry"

    def part(name, value=b""):
        return b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + name + b'"\r\n\r\n' + value + b"\r\n"

    empty_parts = b"".join(part(b"f%d" % i) for i in range(1000))
    long_name = part(b"n" * 15000, b"v" * 6000)
    endless_head = b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + b"n" * 30000
    for what, body, code in [("empty parts", empty_parts, "MaxPostPreDataLengthExceededError"),
                             ("long name", long_name, "MaxPostPreDataLengthExceededError"),
                             ("head over 16 KiB", part(b"n" * 17000), "MalformedPOSTRequest"),
                             ("endless head", endless_head, "MalformedPOSTRequest")]:
        sent = body[:24 * 1024]
        status, reply = send_form(signed_server, "forms", boundary, sent, len(body) + 1000)
        assert (status, xml_error_code(reply)) == (400, code), (what, status, reply[:300])
    assert "Contents" not in s3.list_objects_v2(Bucket="forms")

    def endless_empty_parts():
        i = 0
        while True:
            yield b"".join(part(b"f%d" % n) for n in range(i, i + 1000))
            i += 1000

    def endless_name():
        yield b"--" + boundary + b'\r\nContent-Disposition: form-data; name="'
        while True:
            yield b"n" * 65536

    baseline = rss_kib(signed_server.proc.pid)
    for parts in (endless_empty_parts, endless_name):
        stream_form(signed_server, "forms", boundary, parts, 128 << 20)
        assert signed_server.proc.poll() is None
    grown = rss_kib(signed_server.proc.pid) - baseline
    assert grown < 50 * 1024, f"RSS grew by {grown} KiB"
    assert "Contents" not in s3.list_objects_v2(Bucket="forms")
