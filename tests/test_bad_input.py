"""Hostile and malformed requests: each gets a precise S3 error and leaves stored data untouched."""
import hashlib
import os
import re
import socket

import pytest

from conftest import raw_request, xml_error_code, simple_auth


@pytest.fixture
def seeded(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="keep/me.txt", Body=b"precious")
    return bucket


def snapshot(root):
    """Contents of the served root, plus the names next to it (where an escaping write would land). Strata's own
    state under `.strata/` (lock files, journal) is not object data."""
    parent = os.path.dirname(root)
    state = {"..": sorted(n for n in os.listdir(parent) if not n.endswith(".log"))}
    for dirpath, _, files in os.walk(root):
        if os.path.relpath(dirpath, root).split(os.sep)[0] == ".strata":
            continue
        for f in files:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                state[os.path.relpath(p, root)] = hashlib.md5(fh.read()).hexdigest()
    return state


@pytest.mark.parametrize("target", [
    "/{b}/../../etc/passwd",
    "/{b}/a/../../escape",
    "/{b}/%2E%2E/%2E%2E/escape",
    "/{b}/a/%2e%2e/b",
    "/{b}/./dot",
    "/{b}/a//b",
])
def test_dot_segments_stay_inside_the_bucket(server, seeded, target):
    """`.`, `..` and empty segments are ordinary S3 key bytes: stored under escaped names inside the bucket, never
    resolved as paths (the strict mode that refuses them is tested in test_keys.py)."""
    before = snapshot(server.root)
    status, _, body = raw_request(server, "PUT", target.format(b=seeded), body=b"evil")
    assert status == 200, body
    status, _, body = raw_request(server, "GET", target.format(b=seeded))
    assert (status, body) == (200, b"evil")
    after = snapshot(server.root)
    assert after[".."] == before[".."]
    added = set(after) - set(before)
    assert len(added) == 1 and all(p.startswith(seeded + os.sep) and ".strata.k." in p for p in added), added
    assert all(after[p] == before[p] for p in before)


def test_nul_bytes_in_keys_are_refused(server, seeded):
    before = snapshot(server.root)
    status, _, body = raw_request(server, "PUT", f"/{seeded}/nul%00byte", body=b"evil")
    assert status == 400 and xml_error_code(body) == "InvalidArgument"
    assert snapshot(server.root) == before


def test_traversal_in_bucket_name(server, seeded):
    for target in ["/..%2F..%2Fetc/passwd", "/%2E%2E/x", "/.strata/x"]:
        status, _, body = raw_request(server, "GET", target)
        assert status == 400 and xml_error_code(body) == "InvalidBucketName", target


def test_symlink_escape_is_not_followed(server, s3, seeded):
    outside = os.path.join(os.path.dirname(server.root), "outside-secret")
    with open(outside, "w") as f:
        f.write("secret")
    os.symlink(outside, os.path.join(server.root, seeded, "link"))
    os.symlink("/etc", os.path.join(server.root, seeded, "etc-dir"))
    status, _, body = raw_request(server, "GET", f"/{seeded}/link")
    assert status == 404 and xml_error_code(body) == "NoSuchKey"
    status, _, body = raw_request(server, "GET", f"/{seeded}/etc-dir/hostname")
    assert status == 404 and b"secret" not in body
    status, _, body = raw_request(server, "PUT", f"/{seeded}/etc-dir/owned", body=b"x")
    assert status == 403 and xml_error_code(body) == "AccessDenied"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=seeded)["Contents"]]
    assert keys == ["keep/me.txt"]


def test_key_too_long(server, seeded):
    long_key = "/".join(["d" * 200] * 6)  # 1205 bytes
    status, _, body = raw_request(server, "PUT", f"/{seeded}/{long_key}", body=b"x")
    assert status == 400 and xml_error_code(body) == "KeyTooLongError"
    status, _, body = raw_request(server, "PUT", f"/{seeded}/{'c' * 256}", body=b"x")
    assert status == 400 and xml_error_code(body) == "KeyTooLongError"


def test_reserved_names_in_keys_are_escaped(server, seeded):
    status, _, body = raw_request(server, "PUT", f"/{seeded}/a/.strata.tmp.1234", body=b"x")
    assert status == 200
    # Stored under an escaped name, so the temporary-file sweeper and the server's own files never meet it.
    assert os.path.exists(os.path.join(server.root, seeded, "a", ".strata.k.%2Estrata%2Etmp%2E1234"))
    assert raw_request(server, "GET", f"/{seeded}/a/.strata.tmp.1234")[2] == b"x"


def test_invalid_bucket_names_on_create(server):
    for name in ["Bad_Name", "ab", "a" * 64, "-lead", "192.168.0.1"]:
        status, _, body = raw_request(server, "PUT", f"/{name}")
        assert status == 400 and xml_error_code(body) == "InvalidBucketName", name


def test_malformed_xml_bodies(server, seeded):
    for doc in [b"<Delete><Object><Key>a</Key></Object>", b"not xml", b"<Delete></Delete>",
                b'<!DOCTYPE x [<!ENTITY a "aaaa">]><Delete><Object><Key>&a;</Key></Object></Delete>',
                b"<Wrong><Object><Key>a</Key></Object></Wrong>"]:
        status, _, body = raw_request(server, "POST", f"/{seeded}?delete", body=doc)
        assert status == 400 and xml_error_code(body) == "MalformedXML", doc
    status, _, body = raw_request(server, "PUT", "/new-bucket-bad-xml", body=b"<CreateBucketConfiguration>")
    assert status == 400 and xml_error_code(body) == "MalformedXML"
    assert raw_request(server, "HEAD", "/new-bucket-bad-xml")[0] == 404
    status, _, body = raw_request(server, "GET", f"/{seeded}/keep/me.txt")
    assert body == b"precious"


def test_missing_content_length_and_chunked_bodies(server, seeded):
    auth = simple_auth()["Authorization"]
    for request, expected in (
        # Chunked transfer coding declares no length; the body's end does.
        (f"PUT /{seeded}/chunked HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5\r\nhello\r\n0\r\n\r\n", b"HTTP/1.1 200"),
        # Neither a length nor chunked framing: refused as AWS does.
        (f"PUT /{seeded}/unframed HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n\r\n", b"HTTP/1.1 411"),
    ):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        try:
            sock.sendall(request.encode())
            response = sock.recv(65536)
        finally:
            sock.close()
        assert response.startswith(expected), response[:200]
    assert raw_request(server, "GET", f"/{seeded}/chunked")[2] == b"hello"
    assert raw_request(server, "HEAD", f"/{seeded}/unframed")[0] == 404


def test_invalid_content_md5(server, seeded):
    status, _, body = raw_request(server, "PUT", f"/{seeded}/keep/me.txt", body=b"new", headers={"Content-MD5": "not-base64!"})
    assert status == 400 and xml_error_code(body) == "InvalidDigest"
    assert raw_request(server, "GET", f"/{seeded}/keep/me.txt")[2] == b"precious"


def test_bad_ranges(server, seeded):
    status, headers, body = raw_request(server, "GET", f"/{seeded}/keep/me.txt", headers={"Range": "bytes=100-200"})
    assert status == 416 and xml_error_code(body) == "InvalidRange"
    assert headers["content-range"] == "bytes */8"
    for ignored in ["bytes=5-2", "items=0-1", "bytes=0-1,3-4", "bytes=abc"]:
        status, _, body = raw_request(server, "GET", f"/{seeded}/keep/me.txt", headers={"Range": ignored})
        assert (status, body) == (200, b"precious"), ignored


def test_unsupported_operations_are_501(server, seeded):
    for method, target, name in [("GET", f"/{seeded}?policy", "GetBucketPolicy"),
                                 ("PUT", f"/{seeded}?replication", "PutBucketReplication"),
                                 ("GET", f"/{seeded}/keep/me.txt?retention", "GetObjectRetention")]:
        status, _, body = raw_request(server, method, target, body=b"")
        assert status == 501 and xml_error_code(body) == "NotImplemented", target
        assert name.encode() in body


def test_error_document_shape_and_request_ids(server, seeded):
    status, headers, body = raw_request(server, "GET", f"/{seeded}/missing", headers={"X-Request-Id": "trace-123"})
    assert status == 404
    assert headers["x-amz-request-id"] == "trace-123"
    assert headers["content-type"] == "application/xml"
    assert re.search(rb"<Error><Code>NoSuchKey</Code><Message>[^<]+</Message><Key>missing</Key>"
                     rb"<Resource>/" + seeded.encode() + rb"/missing</Resource><RequestId>trace-123</RequestId>", body)
    status, headers, _ = raw_request(server, "GET", f"/{seeded}/missing")
    assert re.fullmatch(r"[0-9A-F]{16}", headers["x-amz-request-id"])


def test_authorization_header_malformed(server, seeded):
    for header in ["", "AWS4-HMAC-SHA256 Credential=nouser", "AWS :sig"]:
        status, _, body = raw_request(server, "GET", f"/{seeded}/keep/me.txt", headers={"Authorization": header})
        assert status == 400 and xml_error_code(body) == "AuthorizationHeaderMalformed", header
    status, _, body = raw_request(server, "GET", f"/{seeded}/keep/me.txt", headers={"Authorization": "AWS bob:sig"})
    assert (status, body) == (200, b"precious")


def test_anonymous_access_can_be_refused(start_server):
    server = start_server(conf=["strata.s3.auth.anonymous.enabled=false"])
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/")
    resp = conn.getresponse()
    assert resp.status == 403 and xml_error_code(resp.read()) == "AccessDenied"
