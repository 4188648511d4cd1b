"""Object operations through boto3 against the real binary."""
import base64
import hashlib
import os
import time
from datetime import datetime, timedelta, timezone

import botocore
import pytest

from conftest import error_code


def test_put_get_head_roundtrip_with_metadata(s3, bucket, server):
    body = b"hello strata" * 1000
    put = s3.put_object(Bucket=bucket, Key="dir/sub/hello.txt", Body=body, ContentType="text/plain",
                        Metadata={"owner": "data-team", "Run": "42"}, CacheControl="max-age=60",
                        ContentDisposition="attachment", ContentLanguage="en")
    md5 = hashlib.md5(body).hexdigest()
    assert put["ETag"] == f'"{md5}"'
    got = s3.get_object(Bucket=bucket, Key="dir/sub/hello.txt")
    assert got["Body"].read() == body
    assert got["ETag"] == f'"{md5}"'
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"owner": "data-team", "run": "42"}
    assert got["CacheControl"] == "max-age=60"
    assert got["ContentDisposition"] == "attachment"
    assert got["ContentLanguage"] == "en"
    head = s3.head_object(Bucket=bucket, Key="dir/sub/hello.txt")
    assert head["ContentLength"] == len(body)
    assert head["ETag"] == f'"{md5}"'
    # The object is a plain file on disk.
    with open(os.path.join(server.root, bucket, "dir/sub/hello.txt"), "rb") as f:
        assert f.read() == body


def test_default_content_type_and_overwrite(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"one")
    s3.put_object(Bucket=bucket, Key="k", Body=b"second version")
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"second version"
    assert got["ContentType"] == "binary/octet-stream"


def test_empty_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert got["Body"].read() == b""
    assert got["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'


def test_missing_key_and_bucket(s3, bucket):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="nope")
    assert error_code(e) == "NoSuchKey"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket="no-such-bucket-xyz", Key="nope")
    assert error_code(e) == "NoSuchBucket"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket="no-such-bucket-xyz", Key="k", Body=b"x")
    assert error_code(e) == "NoSuchBucket"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_object(Bucket=bucket, Key="nope")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_head_error_describes_the_get_error_without_its_body(bucket, server):
    """A HEAD answer is the GET answer without the body: the error's Content-Type and the length of the error
    document a GET receives, and not one byte of it on the wire (the next request on the connection still parses)."""
    import http.client
    from conftest import simple_auth
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        for target in [f"/{bucket}/nope", "/no-such-bucket-xyz/nope"]:
            conn.request("GET", target, headers=simple_auth("alice"))
            got = conn.getresponse()
            document = got.read()
            conn.request("HEAD", target, headers=simple_auth("alice"))
            head = conn.getresponse()
            assert head.read() == b""
            assert head.status == got.status == 404
            assert head.getheader("content-type") == got.getheader("content-type") == "application/xml"
            assert int(head.getheader("content-length")) == len(document) > 0
        conn.request("GET", f"/{bucket}/nope", headers=simple_auth("alice"))
        assert conn.getresponse().status == 404
    finally:
        conn.close()


def test_delete_is_idempotent_and_prunes_empty_parents(s3, bucket, server):
    s3.put_object(Bucket=bucket, Key="a/b/c/file", Body=b"x")
    assert s3.delete_object(Bucket=bucket, Key="a/b/c/file")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_object(Bucket=bucket, Key="a/b/c/file")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert not os.path.exists(os.path.join(server.root, bucket, "a"))
    # With the prefix gone, `a` can now be an object.
    s3.put_object(Bucket=bucket, Key="a", Body=b"now a file")
    assert s3.get_object(Bucket=bucket, Key="a")["Body"].read() == b"now a file"


def test_ranges(s3, bucket):
    body = bytes(range(256)) * 4
    s3.put_object(Bucket=bucket, Key="r", Body=body)
    r = s3.get_object(Bucket=bucket, Key="r", Range="bytes=10-19")
    assert r["Body"].read() == body[10:20]
    assert r["ContentRange"] == f"bytes 10-19/{len(body)}"
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-8")["Body"].read() == body[-8:]
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=1000-")["Body"].read() == body[1000:]
    # End past the size is clamped.
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=1020-5000")["Body"].read() == body[1020:]
    # A suffix longer than the object is the whole object.
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-5000")["Body"].read() == body
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="r", Range=f"bytes={len(body)}-")
    assert error_code(e) == "InvalidRange"
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["content-range"] == f"bytes */{len(body)}"
    # Syntax S3 ignores gives the whole object.
    whole = s3.get_object(Bucket=bucket, Key="r", Range="bytes=20-10")
    assert whole["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert whole["Body"].read() == body


def test_conditional_get(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="c", Body=b"conditional")
    etag = put["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"conditional"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert error_code(e) == "PreconditionFailed"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    future = datetime.now(timezone.utc) + timedelta(days=1)
    past = datetime.now(timezone.utc) - timedelta(days=1)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=future)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    assert s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=past)["Body"].read() == b"conditional"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=past)
    assert error_code(e) == "PreconditionFailed"
    # A true If-Match wins over a false If-Unmodified-Since, as in AWS.
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag, IfUnmodifiedSince=past)["Body"].read() == b"conditional"


def test_response_overrides(s3, bucket):
    s3.put_object(Bucket=bucket, Key="o", Body=b"x", ContentType="text/plain")
    got = s3.get_object(Bucket=bucket, Key="o", ResponseContentType="application/json",
                        ResponseContentDisposition="inline", ResponseCacheControl="no-cache")
    assert got["ContentType"] == "application/json"
    assert got["ContentDisposition"] == "inline"
    assert got["CacheControl"] == "no-cache"


def test_bad_content_md5_keeps_old_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="m", Body=b"original")
    wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key="m", Body=b"replacement", ContentMD5=wrong)
    assert error_code(e) == "BadDigest"
    assert s3.get_object(Bucket=bucket, Key="m")["Body"].read() == b"original"
    right = base64.b64encode(hashlib.md5(b"replacement").digest()).decode()
    s3.put_object(Bucket=bucket, Key="m", Body=b"replacement", ContentMD5=right)
    assert s3.get_object(Bucket=bucket, Key="m")["Body"].read() == b"replacement"


def test_metadata_too_large(s3, bucket):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key="big-meta", Body=b"x", Metadata={"a": "v" * 2100})
    assert error_code(e) == "MetadataTooLarge"
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key="big-meta")


def test_directory_objects(s3, bucket, server):
    s3.put_object(Bucket=bucket, Key="folder/", Body=b"")
    head = s3.head_object(Bucket=bucket, Key="folder/")
    assert head["ContentLength"] == 0
    assert os.path.isdir(os.path.join(server.root, bucket, "folder"))
    s3.put_object(Bucket=bucket, Key="folder/child", Body=b"c")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["folder/", "folder/child"]
    # Deleting the marker of a non-empty directory leaves the child.
    s3.delete_object(Bucket=bucket, Key="folder/")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["folder/child"]
    # With a body, `data/` is a file inside the directory (test_keys.py has the whole mapping).
    s3.put_object(Bucket=bucket, Key="data/", Body=b"not empty")
    assert s3.get_object(Bucket=bucket, Key="data/")["Body"].read() == b"not empty"
    assert os.path.isfile(os.path.join(server.root, bucket, "data", ".strata.k."))


def test_implicit_directory_is_not_an_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="p/q", Body=b"x")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_object(Bucket=bucket, Key="p/")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="p")
    assert error_code(e) == "NoSuchKey"


def test_key_and_prefix_collisions(s3, bucket, server):
    """`file` and `file/child`, `dir/child` and `dir`: both of each pair are objects; the directory keeps the name and
    the object beside it takes its displaced name."""
    s3.put_object(Bucket=bucket, Key="file", Body=b"x")
    s3.put_object(Bucket=bucket, Key="file/child", Body=b"y")
    s3.put_object(Bucket=bucket, Key="dir/child", Body=b"y")
    s3.put_object(Bucket=bucket, Key="dir", Body=b"z")
    assert s3.get_object(Bucket=bucket, Key="file")["Body"].read() == b"x"
    assert s3.get_object(Bucket=bucket, Key="dir")["Body"].read() == b"z"
    assert s3.get_object(Bucket=bucket, Key="dir/child")["Body"].read() == b"y"
    assert sorted(os.listdir(os.path.join(server.root, bucket))) == [".strata.f.dir", ".strata.f.file", "dir", "file"]


def test_an_empty_plain_directory_gives_way_to_an_object(s3, bucket, server):
    # Left behind by another program (or a deleted key's parent): not an object, so a PUT of that key replaces it,
    # unconditionally and with If-None-Match alike. A directory object (`k/`) stays, the object goes beside it.
    for key, extra in (("left-empty", {}), ("left-empty-cond", {"IfNoneMatch": "*"})):
        os.makedirs(os.path.join(server.root, bucket, key))
        s3.put_object(Bucket=bucket, Key=key, Body=b"now a file", **extra)
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"now a file"
    s3.put_object(Bucket=bucket, Key="marker/", Body=b"")
    s3.put_object(Bucket=bucket, Key="marker", Body=b"z")  # beside the directory object, under its displaced name
    assert s3.head_object(Bucket=bucket, Key="marker/")["ContentLength"] == 0
    assert s3.get_object(Bucket=bucket, Key="marker")["Body"].read() == b"z"


def test_files_created_outside_s3_are_objects(s3, bucket, server):
    path = os.path.join(server.root, bucket, "posix", "made-by-cp.csv")
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as f:
        f.write(b"a,b\n1,2\n")
    head = s3.head_object(Bucket=bucket, Key="posix/made-by-cp.csv")
    assert head["ETag"] == '"%s"' % hashlib.md5(b"a,b\n1,2\n").hexdigest()
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="posix/")["Contents"][0]
    assert listed["ETag"] == head["ETag"]
    # An edit outside S3 is noticed: the ETag follows the content.
    time.sleep(0.01)
    with open(path, "ab") as f:
        f.write(b"3,4\n")
    got = s3.get_object(Bucket=bucket, Key="posix/made-by-cp.csv")
    assert got["Body"].read() == b"a,b\n1,2\n3,4\n"
    assert got["ETag"] == '"%s"' % hashlib.md5(b"a,b\n1,2\n3,4\n").hexdigest()


def test_unsupported_version_id(s3, bucket):
    s3.put_object(Bucket=bucket, Key="v", Body=b"x")
    assert s3.get_object(Bucket=bucket, Key="v", VersionId="null")["Body"].read() == b"x"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="v", VersionId="abc")
    assert error_code(e) == "InvalidArgument"


def test_large_object_multi_chunk_roundtrip(s3, bucket):
    body = os.urandom(3 * 1024 * 1024 + 12345)
    s3.put_object(Bucket=bucket, Key="big.bin", Body=body)
    got = s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read()
    assert hashlib.md5(got).hexdigest() == hashlib.md5(body).hexdigest()
    part = s3.get_object(Bucket=bucket, Key="big.bin", Range="bytes=1048570-2097160")["Body"].read()
    assert part == body[1048570:2097161]


def test_aws_chunked_framing_is_removed(server, s3, bucket):
    from conftest import raw_request
    sig = "a" * 64
    framed = (f"5;chunk-signature={sig}\r\nhello\r\n6;chunk-signature={sig}\r\n world\r\n"
              f"0;chunk-signature={sig}\r\n\r\n").encode()
    status, headers, _ = raw_request(server, "PUT", f"/{bucket}/chunked", body=framed, headers={
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": "11", "Content-Type": "text/plain"})
    assert status == 200
    assert headers["etag"] == '"%s"' % hashlib.md5(b"hello world").hexdigest()
    got = s3.get_object(Bucket=bucket, Key="chunked")
    assert got["Body"].read() == b"hello world"
    assert "ContentEncoding" not in got
    trailer = b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n"
    status, _, _ = raw_request(server, "PUT", f"/{bucket}/trailer", body=trailer, headers={
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "Content-Encoding": "aws-chunked,gzip",
        "x-amz-decoded-content-length": "3", "x-amz-trailer": "x-amz-checksum-crc32"})
    assert status == 200
    got = s3.get_object(Bucket=bucket, Key="trailer")
    assert got["Body"].read() == b"abc" and got["ContentEncoding"] == "gzip"
    status, _, body = raw_request(server, "PUT", f"/{bucket}/trailer", body=b"zz\r\nabc\r\n0\r\n\r\n", headers={
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-decoded-content-length": "3"})
    assert status == 400
    assert s3.get_object(Bucket=bucket, Key="trailer")["Body"].read() == b"abc"


def test_expires_header_round_trips(s3, bucket):
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    s3.put_object(Bucket=bucket, Key="exp", Body=b"x", Expires=when, ContentEncoding="identity")
    got = s3.head_object(Bucket=bucket, Key="exp")
    assert got["Expires"] == when
    assert got["ContentEncoding"] == "identity"


def test_content_encoding_is_kept_as_sent_without_aws_chunked(s3, bucket):
    for sent, stored in (("gzip", "gzip"), ("deflate, gzip", "deflate, gzip"), ("gzip, aws-chunked", "gzip"),
                         ("aws-chunked, gzip", "gzip"), ("aws-chunked", None), ("aws-chunked, aws-chunked", None)):
        s3.put_object(Bucket=bucket, Key="enc", Body=b"x", ContentEncoding=sent)
        assert s3.head_object(Bucket=bucket, Key="enc").get("ContentEncoding") == stored, sent
