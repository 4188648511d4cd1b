"""Every key a client can send: `.` and `..` segments, empty segments, `dir/` with a body, and both `a` and `a/b`.
Each is stored inside its bucket, listed in S3 order and read back; ordinary keys stay ordinary files; the strict
mode (strata.s3.keys.strict) refuses them as Alluxio does."""
import os

import botocore
import pytest

from conftest import error_code, http_request, simple_auth

ODD_KEYS = {
    "sp/dots/../not-parent": b"dotdot",
    "sp/./here": b"dot",
    "a//b": b"empty segment",
    "/leading": b"leading slash",
    "dir/": b"directory with a body",
    "dir/inside": b"below it",
    "a": b"the object a",
    "a/b": b"below a",
    "a/b/c": b"below a/b",
    "a!": b"sorts between a and a/",
    ".strata.uploads": b"a reserved name",
    "x/.strata.tmp.y": b"another",
    "%2E%2E/pct": b"percent signs",
}


def all_keys(s3, bucket, **kwargs):
    keys, token = [], None
    while True:
        page = s3.list_objects_v2(Bucket=bucket, **kwargs, **({"ContinuationToken": token} if token else {}))
        keys += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            return keys
        token = page["NextContinuationToken"]


def test_every_key_round_trips_in_s3_order(server, s3, bucket):
    for key, body in ODD_KEYS.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    for key, body in ODD_KEYS.items():
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == body, key
        assert got["ContentLength"] == len(body)
    expected = sorted(ODD_KEYS, key=lambda k: k.encode())
    assert all_keys(s3, bucket) == expected
    assert all_keys(s3, bucket, MaxKeys=2) == expected  # page boundaries fall between odd keys too
    assert all_keys(s3, bucket, Prefix="a/") == ["a//b", "a/b", "a/b/c"]
    assert all_keys(s3, bucket, Prefix="sp/dots/../") == ["sp/dots/../not-parent"]
    page = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["%2E%2E/", "/", "a/", "dir/", "sp/", "x/"]
    assert [o["Key"] for o in page["Contents"]] == [".strata.uploads", "a", "a!"]
    # Nothing outside the bucket; ordinary keys are plain files at their paths.
    root = os.path.join(server.root, bucket)
    assert open(os.path.join(root, "a", "b", "c"), "rb").read() == b"below a/b"
    assert open(os.path.join(root, "dir", "inside"), "rb").read() == b"below it"
    assert open(os.path.join(root, "a!"), "rb").read() == b"sorts between a and a/"
    assert open(os.path.join(root, "sp", "dots", ".strata.k.%2E%2E", "not-parent"), "rb").read() == b"dotdot"
    assert open(os.path.join(root, "dir", ".strata.k."), "rb").read() == b"directory with a body"
    assert open(os.path.join(root, ".strata.f.a"), "rb").read() == b"the object a"
    assert not os.path.exists(os.path.join(server.root, "not-parent"))
    # Deleting each key leaves the others; the bucket ends empty and can go.
    for key in expected:
        s3.delete_object(Bucket=bucket, Key=key)
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.head_object(Bucket=bucket, Key=key)
        assert e.value.response["Error"]["Code"] == "404", key
        remaining = [k for k in expected if k.encode() > key.encode()]
        assert all_keys(s3, bucket) == remaining
    s3.delete_bucket(Bucket=bucket)


def test_object_and_directory_of_one_name_in_either_order(s3, bucket):
    s3.put_object(Bucket=bucket, Key="x/y", Body=b"child first")
    s3.put_object(Bucket=bucket, Key="x", Body=b"then the object")
    s3.put_object(Bucket=bucket, Key="x", Body=b"replaced")  # a second write finds the displaced copy
    s3.put_object(Bucket=bucket, Key="z", Body=b"object first")
    s3.put_object(Bucket=bucket, Key="z/w", Body=b"then a child")
    assert all_keys(s3, bucket) == ["x", "x/y", "z", "z/w"]
    assert s3.get_object(Bucket=bucket, Key="x")["Body"].read() == b"replaced"
    assert s3.get_object(Bucket=bucket, Key="z")["Body"].read() == b"object first"
    assert s3.head_object(Bucket=bucket, Key="z")["ContentLength"] == len(b"object first")
    # Copy, tags, conditional writes and multipart all reach the displaced file.
    s3.copy_object(Bucket=bucket, Key="x/copy", CopySource={"Bucket": bucket, "Key": "z"})
    s3.put_object_tagging(Bucket=bucket, Key="z", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="z")["TagSet"] == [{"Key": "k", "Value": "v"}]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key="z", Body=b"no", IfNoneMatch="*")
    assert error_code(e) == "PreconditionFailed"
    upload = s3.create_multipart_upload(Bucket=bucket, Key="x/")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="x/", UploadId=upload, PartNumber=1, Body=b"multipart dir key")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="x/", UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket=bucket, Key="x/")["Body"].read() == b"multipart dir key"
    assert all_keys(s3, bucket) == ["x", "x/", "x/copy", "x/y", "z", "z/w"]
    # When the directory empties, the object returns to its own name.
    s3.delete_object(Bucket=bucket, Key="z/w")
    assert s3.get_object(Bucket=bucket, Key="z")["Body"].read() == b"object first"
    assert all_keys(s3, bucket, Prefix="z") == ["z"]


def test_empty_directory_object_and_directory_with_a_body(s3, bucket):
    s3.put_object(Bucket=bucket, Key="d/", Body=b"")
    s3.put_object(Bucket=bucket, Key="d/", Body=b"now with bytes")
    assert all_keys(s3, bucket) == ["d/"]
    assert s3.get_object(Bucket=bucket, Key="d/")["Body"].read() == b"now with bytes"
    s3.put_object(Bucket=bucket, Key="d/", Body=b"")
    assert s3.get_object(Bucket=bucket, Key="d/")["Body"].read() == b""
    assert all_keys(s3, bucket) == ["d/"]


def test_raw_dot_segments_never_leave_the_bucket(server, s3, bucket):
    for target in (f"/{bucket}/a/../../escape", f"/{bucket}/%2E%2E/%2E%2E/escape2"):
        status, _, body = http_request(server.port, "PUT", target, {**simple_auth(), "Content-Length": "3"}, b"esc")
        assert status == 200, body
    assert not os.path.exists(os.path.join(server.root, "escape")) and not os.path.exists(os.path.join(os.path.dirname(server.root), "escape2"))
    assert set(all_keys(s3, bucket)) == {"a/../../escape", "../../escape2"}


def test_strict_mode_refuses_what_a_filesystem_cannot_name(start_server):
    s3 = start_server(conf=["strata.s3.keys.strict=true"]).client()
    s3.create_bucket(Bucket="strict")
    for key, code in (("a/../b", "InvalidArgument"), ("a//b", "InvalidArgument"), (".strata.x", "InvalidArgument")):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.put_object(Bucket="strict", Key=key, Body=b"x")
        assert error_code(e) == code, key
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket="strict", Key="dir/", Body=b"data")
    assert error_code(e) == "DirectoryObjectContainsData"
    s3.put_object(Bucket="strict", Key="file", Body=b"x")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket="strict", Key="file/child", Body=b"y")
    assert error_code(e) == "ObjectParentIsFile"
    s3.put_object(Bucket="strict", Key="dir/child", Body=b"y")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket="strict", Key="dir", Body=b"z")
    assert error_code(e) == "ExistingObjectIsDirectory"
