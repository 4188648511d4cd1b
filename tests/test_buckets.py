"""Bucket operations, ownership in SIMPLE mode, nested `a:b` buckets."""
import os

import botocore
import pytest

from conftest import error_code, raw_request, xml_error_code


def test_create_head_list_delete(server):
    s3 = server.client("bucketeer")
    s3.create_bucket(Bucket="lifecycle-bucket")
    s3.head_bucket(Bucket="lifecycle-bucket")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "lifecycle-bucket" in names
    assert os.path.isdir(os.path.join(server.root, "lifecycle-bucket"))
    # Creating it again as its owner succeeds (us-east-1 behaviour, which clients rely on).
    s3.create_bucket(Bucket="lifecycle-bucket")
    s3.put_object(Bucket="lifecycle-bucket", Key="x/y", Body=b"1")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.delete_bucket(Bucket="lifecycle-bucket")
    assert error_code(e) == "BucketNotEmpty"
    s3.delete_object(Bucket="lifecycle-bucket", Key="x/y")
    s3.delete_bucket(Bucket="lifecycle-bucket")
    assert not os.path.exists(os.path.join(server.root, "lifecycle-bucket"))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_bucket(Bucket="lifecycle-bucket")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.delete_bucket(Bucket="lifecycle-bucket")
    assert error_code(e) == "NoSuchBucket"


def test_bucket_with_only_empty_directories_is_deletable(server):
    s3 = server.client("bucketeer")
    s3.create_bucket(Bucket="empty-dirs")
    os.makedirs(os.path.join(server.root, "empty-dirs", "a", "b", "c"))
    s3.delete_bucket(Bucket="empty-dirs")


def test_list_buckets_shows_owned_and_superuser_sees_all(server):
    server.client("owner-one").create_bucket(Bucket="owned-by-one")
    server.client("owner-two").create_bucket(Bucket="owned-by-two")
    one = [b["Name"] for b in server.client("owner-one").list_buckets()["Buckets"]]
    assert "owned-by-one" in one and "owned-by-two" not in one
    admin = [b["Name"] for b in server.client("admin").list_buckets()["Buckets"]]
    assert {"owned-by-one", "owned-by-two"} <= set(admin)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("owner-two").create_bucket(Bucket="owned-by-one")
    assert error_code(e) == "BucketAlreadyExists"
    assert sorted(admin) == admin  # sorted by name


def test_directories_made_outside_s3_are_buckets_for_everyone(server):
    os.makedirs(os.path.join(server.root, "posix-made"))
    names = [b["Name"] for b in server.client("someone").list_buckets()["Buckets"]]
    assert "posix-made" in names


def test_nested_buckets(server):
    # boto3 refuses ':' in bucket names, so nested buckets are exercised with raw requests (as Alluxio users do).
    s3 = server.client("nester")
    s3.create_bucket(Bucket="parent-bucket")
    status, _, body = raw_request(server, "PUT", "/parent-bucket:missing:leaf", user="nester")
    assert (status, xml_error_code(body)) == (400, "InvalidBucketName")
    assert raw_request(server, "PUT", "/parent-bucket:child", user="nester")[0] == 200
    assert raw_request(server, "PUT", "/parent-bucket:child/obj", body=b"nested", user="nester")[0] == 200
    assert os.path.isfile(os.path.join(server.root, "parent-bucket", "child", "obj"))
    assert s3.get_object(Bucket="parent-bucket", Key="child/obj")["Body"].read() == b"nested"
    status, _, body = raw_request(server, "GET", "/api/v1/s3/parent-bucket:child/obj", user="nester")
    assert (status, body) == (200, b"nested")
    status, _, body = raw_request(server, "GET", "/parent-bucket:child?list-type=2", user="nester")
    assert status == 200 and b"<Key>obj</Key>" in body
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "parent-bucket" in names and not any(":" in n for n in names)


def test_invalid_bucket_names(server):
    s3 = server.client("namer", parameter_validation=False)
    for bad in ["ab", "UPPERCASE", "under_score", "-dash", "a..b", "192.168.1.1", "xn--abc", "x" * 64]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.create_bucket(Bucket=bad)
        assert error_code(e) == "InvalidBucketName", bad
        assert not os.path.exists(os.path.join(server.root, bad))


def test_location_versioning_acl(server):
    s3 = server.client("loc")
    s3.create_bucket(Bucket="located")
    assert s3.get_bucket_location(Bucket="located")["LocationConstraint"] is None
    assert "Status" not in s3.get_bucket_versioning(Bucket="located")
    acl = s3.get_bucket_acl(Bucket="located")
    assert acl["Owner"]["ID"] == "loc"
    assert acl["Grants"][0]["Permission"] == "FULL_CONTROL"
    s3.create_bucket(Bucket="with-config", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
