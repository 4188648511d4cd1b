"""Small GETs and HEADs answered on the event loop (strata.fs.inline.read.max.size): the same answers as the pooled
path, responses in request order when pipelined requests mix both paths, and connections that only see inline
requests are still live connections (idle timeout, graceful shutdown)."""
import os
import re
import socket
import time

import pytest
import requests

from conftest import simple_auth, wait_for

SKIPPED_HEADERS = {"x-amz-request-id", "x-amz-id-2", "x-request-id", "date"}


def inline_count(server, metric="strata_inline_reads_total"):
    text = requests.get(server.admin_endpoint + "/metrics", timeout=10).text
    m = re.search(rf"^{metric} (\d+)", text, re.M)
    return int(m.group(1)) if m else 0


def sendfile_count(server):
    return inline_count(server, "strata_sendfile_responses_total")


def populate(s3, root):
    s3.create_bucket(Bucket="inl")
    s3.put_object(Bucket="inl", Key="small", Body=b"0123456789" * 400, ContentType="text/plain",
                  Metadata={"colour": "blue"}, ContentEncoding="x-custom", CacheControl="max-age=9",
                  ChecksumAlgorithm="CRC32C")
    s3.put_object(Bucket="inl", Key="dir/nested/leaf", Body=b"leaf")
    s3.put_object(Bucket="inl", Key="empty", Body=b"")
    s3.put_object(Bucket="inl", Key="large", Body=bytes(range(256)) * 800)
    s3.put_object(Bucket="inl", Key="tagged", Body=b"t", Tagging="a=1&b=2")
    s3.put_object(Bucket="inl", Key="dir/", Body=b"")
    upload = s3.create_multipart_upload(Bucket="inl", Key="multi")["UploadId"]
    parts = []
    for number in (1, 2):
        body = bytes([number]) * (5 << 20 if number == 1 else 1000)
        etag = s3.upload_part(Bucket="inl", Key="multi", UploadId=upload, PartNumber=number, Body=body)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(Bucket="inl", Key="multi", UploadId=upload, MultipartUpload={"Parts": parts})
    s3.put_object(Bucket="inl", Key="private", Body=b"secret")
    # Mode 0600 for the owner alice: bob may not read it (the permission model is on by default).
    s3.put_object_acl(Bucket="inl", Key="private", ACL="private")


def requests_to_compare():
    etag_small = None
    yield "GET", "/inl/small", {}
    yield "HEAD", "/inl/small", {}
    yield "GET", "/inl/small", {"Range": "bytes=10-19"}
    yield "GET", "/inl/small", {"Range": "bytes=-5"}
    yield "GET", "/inl/small", {"Range": "bytes=5000-6000"}
    yield "GET", "/inl/small?response-content-type=x/y&response-cache-control=no-store", {}
    yield "GET", "/inl/small", {"x-amz-checksum-mode": "ENABLED"}
    yield "GET", "/inl/small", {"If-None-Match": "*"}
    yield "GET", "/inl/small", {"If-Match": '"nope"'}
    yield "GET", "/inl/small", {"If-Modified-Since": "Tue, 01 Jan 2099 00:00:00 GMT"}
    yield "GET", "/inl/small?partNumber=1", {}
    yield "GET", "/inl/small?partNumber=2", {}
    yield "GET", "/inl/multi?partNumber=2", {}
    yield "HEAD", "/inl/multi?partNumber=1", {}
    yield "GET", "/inl/dir/nested/leaf", {}
    yield "GET", "/inl/dir/", {}
    yield "GET", "/inl/empty", {}
    yield "GET", "/inl/large", {}
    yield "GET", "/inl/large", {"Range": "bytes=1000-1999"}
    yield "GET", "/inl/large", {"Range": "bytes=100-"}
    yield "GET", "/inl/multi", {}
    yield "GET", "/inl/multi", {"Range": "bytes=5242000-5242999"}
    yield "GET", "/inl/multi?partNumber=1", {}
    yield "GET", "/inl/multi", {"If-Match": '"nope"'}
    yield "GET", "/inl/tagged", {}
    yield "GET", "/inl/missing", {}
    yield "HEAD", "/inl/missing", {}
    yield "GET", "/nobucket/k", {}
    yield "HEAD", "/nobucket/k", {}
    yield "GET", "/inl/dir", {}
    yield "GET", "/inl/a/../small", {}
    yield "GET", "/inl/private", {"user": "bob"}
    yield "HEAD", "/inl/private", {"user": "bob"}
    yield "GET", "/inl/private", {}
    yield "GET", "/inl/small", {"anonymous": True}
    yield "GET", "/inl/small?versionId=null", {}
    yield "GET", "/inl/small", {"X-Request-Id": "client-chosen-id"}


def answer(server, method, target, headers):
    headers = dict(headers)
    user = headers.pop("user", "alice")
    anonymous = headers.pop("anonymous", False)
    if not anonymous:
        headers.update(simple_auth(user))
    response = requests.request(method, server.endpoint + target, headers=headers, timeout=30)
    kept = {k.lower(): v for k, v in response.headers.items() if k.lower() not in SKIPPED_HEADERS}
    # The error document names the request id; everything else must match byte for byte.
    body = re.sub(rb"<(RequestId|HostId)>[^<]*</", rb"<\1>-</", response.content)
    return response.status_code, kept, body


def test_inline_answers_equal_the_pooled_path(start_server, tmp_path):
    inline = start_server()
    pooled = start_server(conf=["strata.fs.inline.read.max.size=0"])
    for server in (inline, pooled):
        populate(server.client(), server.root)
    # The two roots hold the same objects; their modification times may differ by a second.
    for server in (inline, pooled):
        for name in ("small", "dir/nested/leaf", "empty", "large", "tagged", "multi", "private", "dir"):
            path = os.path.join(server.root, "inl", name)
            os.utime(path, (1_700_000_000, 1_700_000_000))
    before = inline_count(inline)
    compared = 0
    for method, target, headers in requests_to_compare():
        got = answer(inline, method, target, headers)
        expected = answer(pooled, method, target, headers)
        assert got == expected, (method, target, headers)
        compared += 1
    # Most of them went inline (anonymous refusals and the like took the pool), the large bodies with sendfile; none
    # on the pooled server.
    assert inline_count(inline) - before >= compared - 8
    assert sendfile_count(inline) >= 3
    assert inline_count(pooled) == 0 and sendfile_count(pooled) == 0
    # The client's request id is honoured inline too.
    r = requests.get(inline.endpoint + "/inl/small", headers={**simple_auth(), "X-Request-Id": "abc-123"}, timeout=10)
    assert r.headers["x-amz-request-id"] == "abc-123" and r.headers["date"].endswith("GMT")


def read_head_only(sock_file):
    """The status and headers of one HTTP/1.1 response from a socket file (a HEAD's whole answer)."""
    status_line = sock_file.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    headers = {}
    while True:
        line = sock_file.readline()
        if line in (b"\r\n", b""):
            break
        name, value = line.decode().split(":", 1)
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, b""


def read_response(sock_file):
    """One HTTP/1.1 response from a socket file: (status, headers, body)."""
    status, headers, _ = read_head_only(sock_file)
    length = int(headers.get("content-length", "0"))
    return status, headers, sock_file.read(length) if length else b""


def test_pipelined_requests_mixing_both_paths_are_answered_in_order(start_server):
    server = start_server()
    s3 = server.client()
    s3.create_bucket(Bucket="pipe")
    s3.put_object(Bucket="pipe", Key="a", Body=b"A" * 100)
    s3.put_object(Bucket="pipe", Key="big", Body=b"B" * 300_000)
    auth = "".join(f"{k}: {v}\r\n" for k, v in simple_auth().items())
    plan = [
        ("GET", "/pipe/a", b""),
        ("PUT", "/pipe/b", b"bee" * 1000),  # pooled
        ("GET", "/pipe/b", b""),  # must see the PUT before it
        ("HEAD", "/pipe/a", b""),
        ("GET", "/pipe/big", b""),  # larger than the inline limit: sendfile
        ("GET", "/pipe/a", b""),
        ("GET", "/pipe?list-type=2", b""),  # pooled
        ("DELETE", "/pipe/b", b""),
        ("GET", "/pipe/b", b""),  # 404 after the delete
        ("GET", "/pipe/a", b""),
    ]
    wire = b""
    for index, (method, target, body) in enumerate(plan):
        wire += (f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}X-Request-Id: req-{index}\r\n"
                 f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(wire)
        sock_file = sock.makefile("rb")
        answers = []
        for index, (method, _, _) in enumerate(plan):
            status, headers, body = read_response(sock_file) if method != "HEAD" else read_head_only(sock_file)
            answers.append((headers["x-request-id"], status, body))
    assert [a[0] for a in answers] == [f"req-{i}" for i in range(len(plan))]
    assert [a[1] for a in answers] == [200, 200, 200, 200, 200, 200, 200, 204, 404, 200]
    assert answers[2][2] == b"bee" * 1000 and answers[4][2] == b"B" * 300_000 and answers[9][2] == b"A" * 100


def test_a_body_on_a_get_or_an_uncached_file_takes_the_pooled_path(start_server):
    server = start_server()
    s3 = server.client()
    s3.create_bucket(Bucket="slow")
    s3.put_object(Bucket="slow", Key="k", Body=b"x" * 8192)
    before = inline_count(server)
    # A GET with a body is not a plain read.
    r = requests.get(server.endpoint + "/slow/k", data=b"ignored", headers=simple_auth(), timeout=10)
    assert r.status_code == 200 and r.content == b"x" * 8192
    # Evict the file's pages: the inline read would wait for the disk, so the pool reads it.
    path = os.path.join(server.root, "slow", "k")
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    r = requests.get(server.endpoint + "/slow/k", headers=simple_auth(), timeout=10)
    assert r.status_code == 200 and r.content == b"x" * 8192
    # Neither was answered inline (the eviction can fail on filesystems that ignore it: then the second one may be).
    assert inline_count(server) - before <= 1
    # The read brought the pages back: now it is answered inline.
    r = requests.get(server.endpoint + "/slow/k", headers=simple_auth(), timeout=10)
    assert r.status_code == 200 and r.content == b"x" * 8192
    assert wait_for(lambda: inline_count(server) - before >= 1, 5)


def test_a_connection_of_inline_reads_is_not_idle(start_server):
    server = start_server(conf=["strata.proxy.web.idle.timeout=1sec"])
    s3 = server.client()
    s3.create_bucket(Bucket="idle")
    s3.put_object(Bucket="idle", Key="k", Body=b"still here")
    request = (f"GET /idle/k HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               + "".join(f"{k}: {v}\r\n" for k, v in simple_auth().items()) + "\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock_file = sock.makefile("rb")
        deadline = time.time() + 2.5
        count = 0
        while time.time() < deadline:
            sock.sendall(request)
            status, _, body = read_response(sock_file)
            assert status == 200 and body == b"still here"
            count += 1
            time.sleep(0.2)
        assert count >= 8
        # Quiet for longer than the idle timeout: now the server closes it.
        time.sleep(1.6)
        assert wait_for(lambda: sock.recv(1) == b"", 5)


@pytest.mark.parametrize("mode", ["SIMPLE", "SIGV4"])
def test_presigned_and_signed_reads_inline(start_server, mode):
    import boto3
    from botocore.config import Config
    conf = [] if mode == "SIMPLE" else ["strata.s3.auth.mode=SIGV4",
                                        "strata.s3.auth.admin.access.key=ADMINKEY", "strata.s3.auth.admin.secret.key=adminsecret"]
    server = start_server(conf=conf)
    s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="ADMINKEY",
                      aws_secret_access_key="adminsecret", config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    s3.create_bucket(Bucket="signed")
    s3.put_object(Bucket="signed", Key="k", Body=b"signed body")
    before = inline_count(server)
    assert s3.get_object(Bucket="signed", Key="k")["Body"].read() == b"signed body"
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "signed", "Key": "k"}, ExpiresIn=60)
    assert requests.get(url, timeout=10).content == b"signed body"
    assert inline_count(server) - before == 2
    if mode == "SIGV4":
        # A tampered signature is refused inline exactly as on the pooled path.
        assert "X-Amz-Signature=" in url
        signature = url.split("X-Amz-Signature=")[1][:64]
        tampered = ("1" if signature[0] == "0" else "0") + signature[1:]
        r = requests.get(url.replace(signature, tampered), timeout=10)
        assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content


def server_cpu_seconds(server):
    fields = open(f"/proc/{server.proc.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_descriptors(server):
    return len(os.listdir(f"/proc/{server.proc.pid}/fd"))


def test_large_bodies_are_sent_from_the_file(start_server):
    server = start_server()
    plain = start_server(conf=["strata.fs.sendfile.enabled=false"])
    body = os.urandom(8 << 20)
    for s in (server, plain):
        s.client().create_bucket(Bucket="sendfile")
        s.client().put_object(Bucket="sendfile", Key="big", Body=body)
    for s, sent in ((server, 2), (plain, 0)):  # the last range is small enough to be read
        before = sendfile_count(s)
        r = requests.get(s.endpoint + "/sendfile/big", headers=simple_auth(), timeout=30)
        assert r.status_code == 200 and r.content == body and r.headers["content-length"] == str(len(body))
        r = requests.get(s.endpoint + "/sendfile/big", headers={**simple_auth(), "Range": "bytes=1000000-5000000"}, timeout=30)
        assert r.status_code == 206 and r.content == body[1000000:5000001]
        assert r.headers["content-range"] == f"bytes 1000000-5000000/{len(body)}"
        r = requests.get(s.endpoint + "/sendfile/big", headers={**simple_auth(), "Range": "bytes=-10"}, timeout=30)
        assert r.status_code == 206 and r.content == body[-10:]
        assert sendfile_count(s) - before == sent


def test_abandoned_and_truncated_file_bodies_release_the_connection(start_server, tmp_path):
    server = start_server()
    s3 = server.client()
    s3.create_bucket(Bucket="cut")
    s3.put_object(Bucket="cut", Key="big", Body=os.urandom(64 << 20))
    requests.get(server.endpoint + "/cut/big", headers=simple_auth(), timeout=60)  # pages cached: sendfile from now on
    request = (f"GET /cut/big HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               + "".join(f"{k}: {v}\r\n" for k, v in simple_auth().items()) + "\r\n").encode()
    baseline = open_descriptors(server)
    # Clients that read a little and hang up: every file descriptor is given back.
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(request)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    assert wait_for(lambda: open_descriptors(server) <= baseline, 10), (open_descriptors(server), baseline)
    # Another program truncates the file in place while it is being sent: the connection is closed with a short
    # body instead of the event loop retrying the missing bytes forever.
    sendfiles = sendfile_count(server)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", server.port))
    try:
        sock.sendall(request)
        received = len(sock.recv(65536))
        assert sendfile_count(server) == sendfiles + 1
        os.truncate(os.path.join(server.root, "cut", "big"), 1 << 20)
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            received += len(chunk)
        assert received < 64 << 20
    finally:
        sock.close()
    cpu = server_cpu_seconds(server)
    time.sleep(1)
    assert server_cpu_seconds(server) - cpu < 0.5
    r = requests.get(server.endpoint + "/cut/big", headers=simple_auth(), timeout=10)
    assert r.status_code == 200 and len(r.content) == 1 << 20


def test_a_slow_file_download_outlives_the_idle_and_header_timeouts(start_server):
    # The response ends when the file is sent, not when it is queued: a download that takes longer than both
    # timeouts completes, and the connection then serves the next request.
    server = start_server(conf=["strata.proxy.web.idle.timeout=1sec", "strata.proxy.web.header.timeout=1sec"])
    s3 = server.client()
    s3.create_bucket(Bucket="slowdl")
    body = os.urandom(24 << 20)
    s3.put_object(Bucket="slowdl", Key="big", Body=body)
    s3.put_object(Bucket="slowdl", Key="small", Body=b"after")
    requests.get(server.endpoint + "/slowdl/big", headers=simple_auth(), timeout=60)  # cached: sendfile
    sendfiles = sendfile_count(server)
    auth = "".join(f"{k}: {v}\r\n" for k, v in simple_auth().items())
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", server.port))
    with sock:
        sock.sendall(f"GET /slowdl/big HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n".encode())
        sock_file = sock.makefile("rb", buffering=0)
        start = time.time()
        status, headers, _ = read_head_only(sock_file)
        assert status == 200 and int(headers["content-length"]) == len(body)
        # Slowly for longer than both timeouts (a 64 KiB window at a time), then the rest at once: the response ends
        # while the last bytes are in flight, and the next request follows straight after.
        received = bytearray()
        while len(received) < len(body):
            chunk = sock_file.read(min(1 << 20, len(body) - len(received)))
            assert chunk, f"connection closed after {len(received)} bytes"
            received += chunk
            if time.time() - start < 2.5:
                time.sleep(0.1)
        assert len(received) == len(body) and bytes(received) == body
        sock.sendall(f"GET /slowdl/small HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n".encode())
        status, _, small = read_response(sock_file)
        assert status == 200 and small == b"after"
    assert sendfile_count(server) == sendfiles + 1
