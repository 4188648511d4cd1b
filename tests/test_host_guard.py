"""DNS rebinding: a page on evil.example whose name rebinds to 127.0.0.1 reaches a loopback listener with its own name in
Host. Listeners bound to loopback answer only loopback Host names and those in strata.proxy.web.allowed.hosts; any
other Host gets 403 and nothing else runs: on the S3 listener's pooled and inline paths, the admin listener and the
website listener, in both auth modes."""
import re
import socket

import requests

from conftest import add_credential, http_request, sign_v4_raw, simple_auth, xml_error_code

FOREIGN = ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example", "localhost.evil.example", "0.0.0.0:{port}"]
LOOPBACK = ["localhost:{port}", "127.0.0.1:{port}", "127.0.0.2", "[::1]:{port}", "app.localhost:{port}", "LOCALHOST"]


def counter(server, name):
    text = requests.get(server.admin_endpoint + "/metrics", timeout=10).text
    found = re.search(rf"^{name} (\d+)", text, re.M)
    return int(found.group(1)) if found else 0


def wire(port, request):
    """Sends raw bytes and reads until the server closes (the requests carry Connection: close or are HTTP/1.0)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


def assert_refused(status, body):
    assert status == 403, body
    assert xml_error_code(body) == "AccessDenied" and b"strata.proxy.web.allowed.hosts" in body


def test_s3_listener_answers_only_loopback_hosts(start_server):
    server = start_server()
    s3 = server.client()
    s3.create_bucket(Bucket="rebind")
    s3.put_object(Bucket="rebind", Key="k", Body=b"secret")
    port = server.port
    inline_before = counter(server, "strata_inline_reads_total")
    for host in FOREIGN:
        headers = {**simple_auth(), "Host": host.format(port=port)}
        status, _, body = http_request(port, "GET", "/rebind/k", headers)  # a small GET: the inline path's
        assert_refused(status, body)
        assert b"secret" not in body
        status, _, body = http_request(port, "GET", "/rebind?list-type=2", headers)
        assert_refused(status, body)
        status, _, body = http_request(port, "HEAD", "/rebind/k", headers)
        assert status == 403 and body == b""
        status, answer, body = http_request(port, "PUT", "/rebind/k", headers, body=b"defaced")
        assert_refused(status, body)
        assert answer.get("connection") == "close"  # the body was never read
        status, _, body = http_request(port, "DELETE", "/rebind/k", headers)
        assert_refused(status, body)
    # The inline path refused by handing the requests to the pooled path, which answered them.
    assert counter(server, "strata_inline_reads_total") == inline_before
    assert s3.get_object(Bucket="rebind", Key="k")["Body"].read() == b"secret"
    for host in LOOPBACK:
        status, _, body = http_request(port, "GET", "/rebind/k", {**simple_auth(), "Host": host.format(port=port)})
        assert (status, body) == (200, b"secret"), host
    assert counter(server, "strata_inline_reads_total") >= inline_before + len(LOOPBACK)
    # A second Host header cannot sneak a foreign name past a loopback first one.
    auth = simple_auth()["Authorization"]
    two = wire(port, f"GET /rebind/k HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\nAuthorization: {auth}\r\n"
                     "Connection: close\r\n\r\n".encode())
    assert two.startswith(b"HTTP/1.1 403") and b"secret" not in two
    # HTTP/1.0 without Host comes from a local tool, never from a browser: answered.
    plain = wire(port, f"GET /rebind/k HTTP/1.0\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n".encode())
    assert plain.split(b"\r\n")[0].endswith(b"200 OK") and plain.endswith(b"secret")


def test_signed_requests_with_a_foreign_host_are_refused_too(start_server, tmp_path):
    root = tmp_path / "sigv4-root"
    root.mkdir()
    add_credential(root, "--user", "alice", "--access-key", "AKREBIND", "--secret-key", "SECRETREBIND")
    server = start_server(root=root, conf=["strata.s3.auth.mode=SIGV4"])
    headers = sign_v4_raw("PUT", "/signed", server.port, {}, b"", "AKREBIND", "SECRETREBIND")
    assert http_request(server.port, "PUT", "/signed", headers)[0] == 200
    # A valid signature over the foreign Host does not help: the Host is refused before anything is verified.
    headers = sign_v4_raw("GET", "/signed", server.port, {"Host": "evil.example"}, b"", "AKREBIND", "SECRETREBIND")
    status, _, body = http_request(server.port, "GET", "/signed", headers)
    assert_refused(status, body)


def test_allowed_hosts_extend_the_loopback_names(start_server):
    server = start_server(conf=["strata.proxy.web.allowed.hosts=files.example.test, [fd00::7]"])
    server.client().create_bucket(Bucket="named")
    for host in ("files.example.test", f"FILES.example.test:{server.port}", "[fd00::7]:1", "localhost"):
        assert http_request(server.port, "HEAD", "/named", {**simple_auth(), "Host": host})[0] == 200, host
    status, _, body = http_request(server.port, "GET", "/named", {**simple_auth(), "Host": "evil.example"})
    assert_refused(status, body)
    anyone = start_server(conf=["strata.proxy.web.allowed.hosts=*"])
    anyone.client().create_bucket(Bucket="named")
    assert http_request(anyone.port, "HEAD", "/named", {**simple_auth(), "Host": "evil.example"})[0] == 200


def test_admin_listener_answers_only_loopback_hosts(start_server):
    server = start_server(conf=["strata.admin.web.token=admin-token-rebind"])
    token = {"X-Auth-Token": "admin-token-rebind"}
    for path, headers in (("/v1/s3/ping", {}), ("/metrics", {}), ("/v1/s3/strata/buckets", token)):
        r = requests.get(server.admin_endpoint + path, headers={**headers, "Host": "evil.example"}, timeout=10)
        assert r.status_code == 403 and "strata.proxy.web.allowed.hosts" in r.json()["Error"], path
        assert requests.get(server.admin_endpoint + path, headers=headers, timeout=10).status_code == 200, path
    r = requests.post(server.admin_endpoint + "/v1/s3/strata/buckets", json={"BucketInput": {"Bucket": "by-evil"}},
                      headers={**token, "Host": "evil.example"}, timeout=10)
    assert r.status_code == 403
    assert requests.head(server.admin_endpoint + "/v1/s3/strata/buckets/by-evil", headers=token, timeout=10).status_code == 404


def test_website_listener_serves_only_loopback_and_allowed_hosts(start_server):
    server = start_server(conf=["strata.proxy.web.allowed.hosts=site.example.test"])
    s3 = server.client()
    for bucket in ("site.example.test", "hidden.example.test", "localhost"):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
        s3.put_object(Bucket=bucket, Key="index.html", Body=f"<h1>{bucket}</h1>".encode(), ContentType="text/html")

    def visit(host):
        return requests.get(server.website_endpoint + "/", headers={"Host": host}, timeout=10, allow_redirects=False)

    assert visit("site.example.test").text == "<h1>site.example.test</h1>"
    assert visit(f"localhost:{server.website_port}").text == "<h1>localhost</h1>"
    # A website that exists but is not listed is not served through a rebound name.
    r = visit("hidden.example.test")
    assert r.status_code == 403 and r.headers["Content-Type"].startswith("text/html")
    assert "strata.proxy.web.allowed.hosts" in r.text and "hidden.example.test</h1>" not in r.text
