"""CORS: rules stored with the bucket, preflight answered from them without credentials, headers on responses."""
import http.client

import botocore
import pytest

from conftest import error_code, raw_request, xml_error_code


def plain_request(server, method, target, headers=None):
    """A request with no credentials at all, as a browser's preflight is."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, target, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


RULES = {"CORSRules": [
    {"AllowedMethods": ["GET"], "AllowedOrigins": ["*suffix"]},
    {"AllowedMethods": ["GET"], "AllowedOrigins": ["start*end"]},
    {"AllowedMethods": ["PUT", "POST"], "AllowedOrigins": ["https://app.example"], "AllowedHeaders": ["x-amz-*", "content-type"],
     "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600},
    {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]},
]}


def test_put_get_delete_bucket_cors(s3, bucket):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_bucket_cors(Bucket=bucket)
    assert error_code(e) == "NoSuchCORSConfiguration"
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    got = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert [r["AllowedOrigins"] for r in got] == [r["AllowedOrigins"] for r in RULES["CORSRules"]]
    assert got[2]["AllowedHeaders"] == ["x-amz-*", "content-type"] and got[2]["MaxAgeSeconds"] == 600
    s3.delete_bucket_cors(Bucket=bucket)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_bucket_cors(Bucket=bucket)
    assert error_code(e) == "NoSuchCORSConfiguration"


def test_invalid_cors_configurations_are_refused(s3, bucket):
    for rules, code in (
        ({"CORSRules": [{"AllowedMethods": ["PATCH"], "AllowedOrigins": ["*"]}]}, "InvalidRequest"),
        ({"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*a*"]}]}, "InvalidRequest"),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=rules)
        assert error_code(e) == code
    with pytest.raises(botocore.exceptions.ClientError):
        s3.get_bucket_cors(Bucket=bucket)


def test_preflight_and_response_headers(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="page.html", Body=b"<p>hi</p>")
    target = f"/{bucket}/page.html"
    # No rules yet: a well-formed preflight is refused, an incomplete one is a bad request.
    assert plain_request(server, "OPTIONS", target, {"Origin": "a.suffix", "Access-Control-Request-Method": "GET"})[0] == 403
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    assert plain_request(server, "OPTIONS", target)[0] == 400
    assert plain_request(server, "OPTIONS", target, {"Origin": "a.suffix"})[0] == 400
    status, headers, _ = plain_request(server, "OPTIONS", target, {"Origin": "a.suffix", "Access-Control-Request-Method": "GET"})
    assert status == 200
    assert headers["access-control-allow-origin"] == "a.suffix"
    assert headers["access-control-allow-methods"] == "GET"
    status, headers, _ = plain_request(server, "OPTIONS", target, {"Origin": "startXend", "Access-Control-Request-Method": "GET"})
    assert (status, headers["access-control-allow-origin"]) == (200, "startXend")
    # The open rule answers any other origin with '*'.
    status, headers, _ = plain_request(server, "OPTIONS", target, {"Origin": "elsewhere", "Access-Control-Request-Method": "GET"})
    assert (status, headers["access-control-allow-origin"]) == (200, "*")
    assert plain_request(server, "OPTIONS", target, {"Origin": "elsewhere", "Access-Control-Request-Method": "DELETE"})[0] == 403
    # Headers must all be allowed (wildcards, case-insensitive).
    status, headers, _ = plain_request(server, "OPTIONS", target, {
        "Origin": "https://app.example", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "X-Amz-Meta-Colour, content-type"})
    assert status == 200
    assert headers["access-control-allow-methods"] == "PUT, POST"
    assert headers["access-control-allow-headers"] == "X-Amz-Meta-Colour, content-type"
    assert headers["access-control-max-age"] == "600"
    assert headers["access-control-expose-headers"] == "ETag"
    status, headers, _ = plain_request(server, "OPTIONS", target, {
        "Origin": "https://app.example", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "authorization"})
    assert status == 403 and "access-control-allow-origin" not in headers
    # Refused for its header even though the open rule allows the origin and the method: no CORS headers at all.
    status, headers, _ = plain_request(server, "OPTIONS", target, {
        "Origin": "elsewhere", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-amz-meta-other"})
    assert status == 403 and "access-control-allow-origin" not in headers
    # Actual requests: headers when a rule allows origin and method, errors included, none otherwise.
    status, headers, _ = raw_request(server, "GET", target, headers={"Origin": "b.suffix"})
    assert (status, headers.get("access-control-allow-origin")) == (200, "b.suffix")
    status, headers, _ = raw_request(server, "GET", f"/{bucket}/missing", headers={"Origin": "b.suffix"})
    assert (status, headers.get("access-control-allow-origin")) == (404, "b.suffix")
    status, headers, _ = raw_request(server, "PUT", f"/{bucket}/up", body=b"x", headers={"Origin": "b.suffix"})
    assert status == 200 and "access-control-allow-origin" not in headers
    status, headers, _ = raw_request(server, "GET", target)
    assert "access-control-allow-origin" not in headers
    # A preflight of a missing bucket is refused like one no rule allows.
    status, _, body = plain_request(server, "OPTIONS", "/no-such-bucket/k", {"Origin": "a.suffix", "Access-Control-Request-Method": "GET"})
    assert status == 403


def test_only_the_owner_manages_cors(server, s3, bucket):
    other = server.client("mallory")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        other.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    assert error_code(e) == "AccessDenied"
