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


def test_list_buckets_pages_with_max_buckets_prefix_and_token(start_server, tmp_path):
    server = start_server()
    s3 = server.client("pager")
    names = ["pg-c", "pg-a", "pg-b", "other-1"]
    for name in names:
        s3.create_bucket(Bucket=name)
    # One page per bucket, in name order, the token only while more remain.
    seen, token = [], None
    for _ in range(10):
        kwargs = {"MaxBuckets": 1, "Prefix": "pg-"}
        if token:
            kwargs["ContinuationToken"] = token
        page = s3.list_buckets(**kwargs)
        seen += [b["Name"] for b in page["Buckets"]]
        assert page.get("Prefix") == "pg-"
        token = page.get("ContinuationToken")
        if not token:
            break
    assert seen == ["pg-a", "pg-b", "pg-c"]
    page = s3.list_buckets(MaxBuckets=10)
    assert [b["Name"] for b in page["Buckets"]] == sorted(names)
    assert "ContinuationToken" not in page
    assert all(b["BucketRegion"] == "us-east-1" for b in page["Buckets"])
    assert s3.list_buckets(BucketRegion="eu-west-1")["Buckets"] == []
    # Without max-buckets every bucket comes in one answer, as clients that do not paginate expect.
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == sorted(names)
    for query in ("max-buckets=0", "max-buckets=10001", "max-buckets=x", "continuation-token=garbage"):
        status, _, body = raw_request(server, "GET", "/?" + query, user="pager")
        assert status == 400, query
        assert xml_error_code(body) == "InvalidArgument", query


def test_delete_bucket_aborts_its_uploads_and_frees_their_parts(start_server):
    server = start_server()
    s3 = server.client("uploader")
    s3.create_bucket(Bucket="up-top")
    uploads = os.path.join(server.root, "up-top", ".strata.uploads")
    # A nested bucket's uploads live in its top bucket's uploads directory (boto3 refuses ':', so raw requests).
    assert raw_request(server, "PUT", "/up-top:inner", user="uploader")[0] == 200
    status, _, body = raw_request(server, "POST", "/up-top:inner/big?uploads", user="uploader")
    assert status == 200
    inner = body.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode()
    assert raw_request(server, "PUT", f"/up-top:inner/big?partNumber=1&uploadId={inner}", body=b"p" * 1024, user="uploader")[0] == 200
    kept = s3.create_multipart_upload(Bucket="up-top", Key="kept")["UploadId"]
    assert any(inner in name for name in os.listdir(uploads))
    assert raw_request(server, "DELETE", "/up-top:inner", user="uploader")[0] == 204
    assert not any(inner in name for name in os.listdir(uploads))
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="up-top")["Uploads"]] == [kept]
    # The top bucket goes too, with its own upload and its parts.
    s3.upload_part(Bucket="up-top", Key="kept", UploadId=kept, PartNumber=1, Body=b"q" * 1024)
    s3.delete_bucket(Bucket="up-top")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_bucket(Bucket="up-top")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert not os.path.exists(os.path.join(server.root, "up-top"))


def test_alluxio_refusal_of_deleting_a_bucket_with_uploads_is_a_property(start_server):
    server = start_server(conf=["strata.s3.bucket.delete.aborts.uploads=false"])
    s3 = server.client("uploader")
    s3.create_bucket(Bucket="busy")
    upload = s3.create_multipart_upload(Bucket="busy", Key="big")["UploadId"]
    s3.upload_part(Bucket="busy", Key="big", UploadId=upload, PartNumber=1, Body=b"p")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.delete_bucket(Bucket="busy")
    assert error_code(e) == "BucketNotEmpty"
    assert s3.list_multipart_uploads(Bucket="busy")["Uploads"][0]["UploadId"] == upload


def test_head_bucket_read_stats(s3, bucket):
    """Ceph RGW's `read-stats=true` HeadBucket extension: object count and bytes of the whole bucket."""
    def stats():
        def add(request, **kwargs):
            request.params["read-stats"] = "true"
        client = s3
        client.meta.events.register("request-created.s3.HeadBucket", add, unique_id="read-stats")
        try:
            headers = client.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPHeaders"]
        finally:
            client.meta.events.unregister("request-created.s3.HeadBucket", unique_id="read-stats")
        return int(headers["x-rgw-object-count"]), int(headers["x-rgw-bytes-used"])
    assert stats() == (0, 0)
    for key, body in [("a", b"123"), ("d/b", b"4567"), ("d/e/c", b"")]:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    assert stats() == (3, 7)
    assert "x-rgw-object-count" not in s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPHeaders"]
