"""Atomic conditional writes: If-None-Match: * and If-Match, under concurrency and across processes."""
import concurrent.futures
from datetime import datetime, timezone
import os

import botocore
import pytest

from conftest import error_code, raw_request, xml_error_code


def test_if_none_match_creates_only_once(server, s3, bucket):
    assert raw_request(server, "PUT", f"/{bucket}/once", body=b"first", headers={"If-None-Match": "*"})[0] == 200
    status, _, body = raw_request(server, "PUT", f"/{bucket}/once", body=b"second", headers={"If-None-Match": "*"})
    assert (status, xml_error_code(body)) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"first"

def test_if_none_match_with_etags_refuses_only_a_matching_version(server, s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="v", Body=b"one")["ETag"]
    # Another ETag: the write goes ahead; the current one (quoted or not, or in a list): 412 and nothing changes.
    assert raw_request(server, "PUT", f"/{bucket}/v", body=b"two", headers={"If-None-Match": '"abc"'})[0] == 200
    etag = s3.head_object(Bucket=bucket, Key="v")["ETag"]
    for listed in (etag, etag.strip('"'), f'"zzz", {etag}'):
        status, _, body = raw_request(server, "PUT", f"/{bucket}/v", body=b"three", headers={"If-None-Match": listed})
        assert (status, xml_error_code(body)) == (412, "PreconditionFailed"), listed
    assert s3.get_object(Bucket=bucket, Key="v")["Body"].read() == b"two"
    # No object yet: nothing can match.
    assert raw_request(server, "PUT", f"/{bucket}/fresh", body=b"new", headers={"If-None-Match": etag})[0] == 200


def test_racing_creators_exactly_one_wins(server, s3, bucket):
    def attempt(i):
        return raw_request(server, "PUT", f"/{bucket}/race", body=f"writer {i}".encode() * 1000, headers={"If-None-Match": "*"})[0]

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(attempt, range(32)))
    assert statuses.count(200) == 1 and statuses.count(412) == 31
    winner = s3.get_object(Bucket=bucket, Key="race")["Body"].read()
    assert winner.startswith(b"writer ") and len(set(winner.split(b"writer ")[1:])) == 1
    leftovers = [n for n in os.listdir(os.path.join(server.root, bucket)) if n != "race"]
    assert leftovers == []


def test_if_match_compare_and_swap(server, s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="cas", Body=b"v1")["ETag"]
    status, headers, _ = raw_request(server, "PUT", f"/{bucket}/cas", body=b"v2", headers={"If-Match": etag})
    assert status == 200
    status, _, body = raw_request(server, "PUT", f"/{bucket}/cas", body=b"v3", headers={"If-Match": etag})
    assert (status, xml_error_code(body)) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="cas")["Body"].read() == b"v2"
    status, _, body = raw_request(server, "PUT", f"/{bucket}/missing", body=b"x", headers={"If-Match": etag})
    assert (status, xml_error_code(body)) == (404, "NoSuchKey")


def test_conditional_complete_multipart(s3, bucket):
    s3.put_object(Bucket=bucket, Key="mp-exists", Body=b"already here")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp-exists")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp-exists", UploadId=upload, PartNumber=1, Body=b"new")["ETag"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp-exists", UploadId=upload, IfNoneMatch="*",
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert error_code(e) == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="mp-exists")["Body"].read() == b"already here"
    current = s3.head_object(Bucket=bucket, Key="mp-exists")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="mp-exists", UploadId=upload, IfMatch=current,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket=bucket, Key="mp-exists")["Body"].read() == b"new"


def test_cas_across_two_server_processes(start_server, tmp_path):
    """Two strata processes on one root: concurrent If-Match increments never lose an update."""
    root = tmp_path / "shared-root"
    a = start_server(root=root)
    b = start_server(root=root)
    s3a = a.client()
    s3a.create_bucket(Bucket="counter")
    s3a.put_object(Bucket="counter", Key="n", Body=b"0")
    clients = [a, b]

    def increment(i):
        server = clients[i % 2]
        s3 = server.client()
        for _ in range(200):
            got = s3.get_object(Bucket="counter", Key="n")
            value = int(got["Body"].read())
            status = raw_request(server, "PUT", "/counter/n", body=str(value + 1).encode(), headers={"If-Match": got["ETag"]})[0]
            if status == 200:
                return True
            assert status == 412
        return False

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(increment, range(24)))
    assert all(results)
    assert int(s3a.get_object(Bucket="counter", Key="n")["Body"].read()) == 24


def test_conditional_delete_removes_only_the_version_the_client_saw(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="d", Body=b"four")["ETag"]
    head = s3.head_object(Bucket=bucket, Key="d")
    for kwargs in ({"IfMatch": '"0123"'}, {"IfMatchSize": 5}, {"IfMatchLastModifiedTime": datetime(2015, 1, 1, tzinfo=timezone.utc)}):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.delete_object(Bucket=bucket, Key="d", **kwargs)
        assert error_code(e) == "PreconditionFailed", kwargs
        assert s3.get_object(Bucket=bucket, Key="d")["Body"].read() == b"four"
    s3.delete_object(Bucket=bucket, Key="d", IfMatch=etag, IfMatchSize=4, IfMatchLastModifiedTime=head["LastModified"])
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key="d")
    # A missing object is no error, whatever the condition.
    assert s3.delete_object(Bucket=bucket, Key="d", IfMatch='"0123"')["ResponseMetadata"]["HTTPStatusCode"] == 204
    s3.put_object(Bucket=bucket, Key="d", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="d", IfMatch="*")


def test_delete_objects_checks_each_entrys_conditions(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="a", Body=b"aaa")["ETag"]
    s3.put_object(Bucket=bucket, Key="b", Body=b"bbb")
    modified = s3.head_object(Bucket=bucket, Key="b")["LastModified"]
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "a", "ETag": '"0123"'}, {"Key": "b", "Size": 4}, {"Key": "c"}]})
    assert sorted((e["Key"], e["Code"]) for e in result["Errors"]) == [("a", "PreconditionFailed"), ("b", "PreconditionFailed")]
    assert [d["Key"] for d in result["Deleted"]] == ["c"]
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "a", "ETag": etag}, {"Key": "b", "Size": 3, "LastModifiedTime": modified}]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["a", "b"] and "Errors" not in result
    # Already gone: no error.
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a", "ETag": '"0123"'}]})
    assert [d["Key"] for d in result["Deleted"]] == ["a"]
