"""Static websites: PutBucketWebsite and the admin API configure them, the website listener serves them by Host
header to anonymous readers (index and error documents, directory redirects, ranges, read-only), and a cache
invalidation makes the next read of a tiered website fetch from the upstream."""
import boto3
import botocore
import pytest
from botocore.config import Config
import requests

from conftest import StrataServer, error_code, http_request, raw_request

TOKEN = "website-admin-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The website listener is bound to loopback, where it serves only loopback names and the allowed hosts (against
    DNS rebinding): these tests name their sites in the Host header, as a local TLS proxy in front of it would."""
    root = tmp_path_factory.mktemp("websites") / "root"
    root.mkdir()
    s = StrataServer(root, conf=["strata.proxy.web.allowed.hosts=www.example.test,unknown.example.test,old.example.test,redirect.example.test"])
    yield s
    s.stop()


def visit(server, host, path="/", method="GET", **kwargs):
    headers = {"Host": host, **kwargs.pop("headers", {})}
    return requests.request(method, server.website_endpoint + path, headers=headers, allow_redirects=False, timeout=30, **kwargs)


def test_s3_website_configuration_and_serving(server, s3):
    s3.create_bucket(Bucket="www.example.test")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_bucket_website(Bucket="www.example.test")
    assert error_code(e) == "NoSuchWebsiteConfiguration"
    assert visit(server, "www.example.test").status_code == 404  # not a website yet
    s3.put_bucket_website(Bucket="www.example.test", WebsiteConfiguration={
        "IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "errors/404.html"}})
    got = s3.get_bucket_website(Bucket="www.example.test")
    assert got["IndexDocument"] == {"Suffix": "index.html"} and got["ErrorDocument"] == {"Key": "errors/404.html"}
    for key, body in [("index.html", b"<h1>home</h1>"), ("docs/index.html", b"<h1>docs</h1>"), ("errors/404.html", b"<h1>lost</h1>"),
                      ("app.js", b"console.log(1)")]:
        s3.put_object(Bucket="www.example.test", Key=key, Body=body, ContentType="text/html" if key.endswith("html") else "text/javascript")
    r = visit(server, "www.example.test:8080")
    assert (r.status_code, r.content, r.headers["Content-Type"]) == (200, b"<h1>home</h1>", "text/html")
    assert visit(server, "WWW.Example.Test", "/docs/").content == b"<h1>docs</h1>"
    r = visit(server, "www.example.test", "/docs")
    assert (r.status_code, r.headers["Location"]) == (302, "/docs/")
    r = visit(server, "www.example.test", "/missing.html")
    assert (r.status_code, r.content) == (404, b"<h1>lost</h1>")
    r = visit(server, "www.example.test", "/app.js", headers={"Range": "bytes=0-6"})
    assert (r.status_code, r.content) == (206, b"console")
    etag = visit(server, "www.example.test", "/app.js").headers["ETag"]
    assert visit(server, "www.example.test", "/app.js", headers={"If-None-Match": etag}).status_code == 304
    head = visit(server, "www.example.test", "/app.js", method="HEAD")
    assert head.status_code == 200 and head.headers["Content-Length"] == "14" and head.content == b""
    for method in ("PUT", "DELETE", "POST"):
        r = visit(server, "www.example.test", "/index.html", method=method, data=b"defaced")
        assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD"
    assert s3.get_object(Bucket="www.example.test", Key="index.html")["Body"].read() == b"<h1>home</h1>"
    assert visit(server, "unknown.example.test").status_code == 404
    # Without an error document, a miss is a plain 404 page; without a configuration, nothing is served.
    s3.put_bucket_website(Bucket="www.example.test", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    r = visit(server, "www.example.test", "/missing.html")
    assert r.status_code == 404 and b"missing.html" in r.content
    s3.delete_bucket_website(Bucket="www.example.test")
    assert visit(server, "www.example.test").status_code == 404
    for bad in ({"IndexDocument": {"Suffix": "a/b"}}, {"ErrorDocument": {"Key": "e.html"}}):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.put_bucket_website(Bucket="www.example.test", WebsiteConfiguration=bad)
        assert error_code(e) == "InvalidArgument"


def test_redirect_all_requests(server, s3):
    s3.create_bucket(Bucket="old.example.test")
    s3.put_bucket_website(Bucket="old.example.test", WebsiteConfiguration={"RedirectAllRequestsTo": {"HostName": "new.example.test",
                                                                                                       "Protocol": "https"}})
    r = visit(server, "old.example.test", "/a/b?c=d")
    assert (r.status_code, r.headers["Location"]) == (301, "https://new.example.test/a/b?c=d")


def test_directory_redirect_stays_on_this_host(server, s3):
    """`//evil.example` names the key `/evil.example`: its directory redirect must not be the protocol-relative
    `//evil.example/` (another host), nor `/\\evil.example/`, which browsers read the same way."""
    s3.create_bucket(Bucket="redirect.example.test")
    s3.put_bucket_website(Bucket="redirect.example.test", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    for key, body in (("/evil.example/index.html", b"slash"), ("%5Cevil.example/index.html", b"backslash"),
                      ("docs/index.html", b"docs")):
        assert raw_request(server, "PUT", f"/redirect.example.test/{key}", body=body)[0] == 200
    host = {"Host": "redirect.example.test"}
    for path, location, body in (("//evil.example", "/%2Fevil.example/", b"slash"), ("/%2Fevil.example", "/%2Fevil.example/", b"slash"),
                                 ("/\\evil.example", "/%5Cevil.example/", b"backslash"),
                                 ("/%5Cevil.example?x=1", "/%5Cevil.example/", b"backslash"), ("/docs", "/docs/", b"docs")):
        status, headers, _ = http_request(server.website_port, "GET", path, host)
        assert (status, headers["location"]) == (302, location), path
        # The location is a path on this host that leads to the index document the redirect promised.
        assert http_request(server.website_port, "GET", location, host)[::2] == (200, body), path


@pytest.fixture
def admin(start_server, moto, tmp_path):
    server = start_server(conf=moto.conf() + [f"strata.admin.web.token={TOKEN}", "strata.proxy.s3.writetype=CACHE_THROUGH",
                                              "strata.s3.auth.mode=SIGV4", "strata.proxy.web.allowed.hosts=site.example.test"])
    server.api = f"{server.admin_endpoint}/v1/s3/strata"
    server.upstream = moto.client()
    return server


def call(server, method, path, **kwargs):
    return requests.request(method, server.api + path, headers={"X-Auth-Token": TOKEN}, timeout=30, **kwargs)


def test_admin_websites_and_invalidation(admin):
    body = {"BucketInput": {"Bucket": "site.example.test"}, "Tags": [{"Key": "Owner", "Value": "web"}],
            "WebsiteConfiguration": {"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "404.html"}}}
    r = call(admin, "POST", "/websites", json=body)
    assert r.status_code == 202, r.text
    assert r.json()["Website"]["Endpoint"] == f"http://site.example.test:{admin.website_port}/"
    assert call(admin, "POST", "/websites", json=body).status_code == 409
    assert call(admin, "POST", "/websites", json={**body, "WebsiteConfiguration": {"IndexDocument": {"Suffix": ""}}}).status_code == 400
    assert call(admin, "HEAD", "/websites/site.example.test").status_code == 200
    assert call(admin, "HEAD", "/websites/nosuch.example.test").status_code == 404
    call(admin, "POST", "/buckets", json={"BucketInput": {"Bucket": "plain-bucket"}})
    assert call(admin, "GET", "/websites/plain-bucket").status_code == 404  # a bucket, not a website
    described = call(admin, "GET", "/websites/site.example.test").json()
    assert described["Empty"] is True and described["Website"]["ErrorDocument"] == {"Key": "404.html"}
    assert call(admin, "PUT", "/websites/site.example.test", json={"Tags": []}).json()["Tags"] == []
    assert call(admin, "GET", "/websites/site.example.test/duck").status_code == 200
    # A website user publishes pages with boto3, signing with the key the API made.
    key = call(admin, "POST", "/websites/site.example.test/users", json={"User": {"UserName": "publisher"}}).json()["AccessKey"]
    s3 = boto3.client("s3", endpoint_url=admin.endpoint, region_name="us-east-1", aws_access_key_id=key["AccessKeyId"],
                      aws_secret_access_key=key["SecretAccessKey"], config=Config(s3={"addressing_style": "path"}))
    # Website visitors are anonymous: a page is served once it is public-read, as on AWS.
    s3.put_object(Bucket="site.example.test", Key="index.html", Body=b"version 1", ContentType="text/html")
    assert visit(admin, "site.example.test").status_code == 403
    s3.put_object(Bucket="site.example.test", Key="index.html", Body=b"version 1", ContentType="text/html", ACL="public-read")
    assert visit(admin, "site.example.test").content == b"version 1"
    # The page changes upstream behind the cache: served from the cache until invalidated.
    admin.upstream.put_object(Bucket="site.example.test", Key="index.html", Body=b"version 2", ContentType="text/html")
    assert visit(admin, "site.example.test").content == b"version 1"
    r = call(admin, "PATCH", "/websites/site.example.test", json={"CacheInvalidation": ["/*"]})
    assert r.status_code == 200, r.text
    invalidation = r.json()["Invalidation"]
    assert invalidation["Status"] == "Completed" and invalidation["InvalidationBatch"]["Paths"] == {"Items": ["/*"], "Quantity": 1}
    assert invalidation["DroppedCopies"] == 1
    assert visit(admin, "site.example.test").content == b"version 2"
    assert call(admin, "PATCH", "/websites/site.example.test", json={"CacheInvalidation": "/*"}).status_code == 400
    assert call(admin, "DELETE", "/websites/site.example.test").status_code == 409
    s3.delete_object(Bucket="site.example.test", Key="index.html")
    deleted = call(admin, "DELETE", "/websites/site.example.test")
    assert deleted.status_code == 200 and deleted.json()["Website"] == "site.example.test" and deleted.json()["Users"] == ["publisher"]
    assert visit(admin, "site.example.test").status_code == 404


def test_admin_cli_websites(admin):
    import json
    import os
    import subprocess

    from conftest import STRATA_BIN
    env = {**os.environ, "STRATA_ADMIN_ENDPOINT": admin.admin_endpoint, "STRATA_ADMIN_TOKEN": TOKEN}

    def cli(*args):
        return subprocess.run([STRATA_BIN, "admin", "websites", *args], capture_output=True, text=True, env=env, check=True).stdout

    created = cli("create", "docs.example.test", "--error", "404.html").splitlines()
    assert created[0].split() == ["WEBSITE", "ENDPOINT"] and created[1].split() == ["docs.example.test", f"http://docs.example.test:{admin.website_port}/"]
    shown = json.loads(cli("show", "docs.example.test", "--json"))
    assert shown["Website"]["IndexDocument"] == {"Suffix": "index.html"} and shown["Website"]["ErrorDocument"] == {"Key": "404.html"}
    assert cli("invalidate", "docs.example.test", "/*", "/index.html").splitlines()[1].split()[1:] == ["Completed", "0"]
