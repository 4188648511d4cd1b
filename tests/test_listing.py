"""ListObjects v1 and v2: order, prefixes, delimiters, pagination, encoding."""
import botocore
import pytest

from conftest import error_code, raw_request, xml_error_code


def put_keys(s3, bucket, keys):
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())


def all_keys_v2(s3, bucket, **kw):
    keys, prefixes, token = [], [], None
    for _ in range(1000):
        args = dict(Bucket=bucket, **kw)
        if token:
            args["ContinuationToken"] = token
        page = s3.list_objects_v2(**args)
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        assert page["KeyCount"] == len(page.get("Contents", [])) + len(page.get("CommonPrefixes", []))
        if not page["IsTruncated"]:
            return keys, prefixes
        token = page["NextContinuationToken"]
    raise AssertionError("listing did not end")


def test_s3_byte_order_not_directory_order(s3, bucket):
    keys = ["a/b", "a-c", "a0", "ab", "b/x/y", "B", "é"]
    put_keys(s3, bucket, keys)
    listed, _ = all_keys_v2(s3, bucket)
    assert listed == sorted(keys, key=lambda k: k.encode())


def test_delimiter_and_prefix(s3, bucket):
    put_keys(s3, bucket, ["file0", "file1", "folder0/file0", "folder0/file1", "folder1/x/y", "other"])
    page = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in page["Contents"]] == ["file0", "file1", "other"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["folder0/", "folder1/"]
    page = s3.list_objects_v2(Bucket=bucket, Prefix="folder0")
    assert [o["Key"] for o in page["Contents"]] == ["folder0/file0", "folder0/file1"]
    page = s3.list_objects_v2(Bucket=bucket, Prefix="folder1/", Delimiter="/")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["folder1/x/"]
    page = s3.list_objects_v2(Bucket=bucket, Prefix="fi", Delimiter="/")
    assert [o["Key"] for o in page["Contents"]] == ["file0", "file1"]
    # A prefix naming a directory that does not exist is an empty listing, not an error.
    assert s3.list_objects_v2(Bucket=bucket, Prefix="nothing/here/")["KeyCount"] == 0
    # Non-slash delimiters group too.
    page = s3.list_objects_v2(Bucket=bucket, Delimiter="0")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["file0", "folder0"]


def test_empty_directories_are_not_common_prefixes(s3, bucket, server):
    import os
    os.makedirs(os.path.join(server.root, bucket, "empty", "deeper"))
    put_keys(s3, bucket, ["z"])
    page = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert "CommonPrefixes" not in page
    assert [o["Key"] for o in page["Contents"]] == ["z"]


def test_pagination_v2_and_start_after(s3, bucket):
    keys = [f"p/{i:03d}" for i in range(25)] + [f"q/{i}/x" for i in range(5)]
    put_keys(s3, bucket, keys)
    listed, _ = all_keys_v2(s3, bucket, MaxKeys=7)
    assert listed == sorted(keys)
    listed, prefixes = all_keys_v2(s3, bucket, MaxKeys=2, Delimiter="/", Prefix="q/")
    assert prefixes == [f"q/{i}/" for i in range(5)]
    page = s3.list_objects_v2(Bucket=bucket, StartAfter="p/020")
    assert page["Contents"][0]["Key"] == "p/021"
    paginator = s3.get_paginator("list_objects_v2")
    assert sum(p["KeyCount"] for p in paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 4})) == 30


def test_pagination_v1_with_markers(s3, bucket):
    put_keys(s3, bucket, ["a_first_file", "b_next_file", "c_first_folder/x", "d_next_folder/y", "z_last_file"])
    page = s3.list_objects(Bucket=bucket, MaxKeys=3, Delimiter="/")
    assert [o["Key"] for o in page["Contents"]] == ["a_first_file", "b_next_file"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["c_first_folder/"]
    assert page["IsTruncated"] and page["NextMarker"] == "c_first_folder/"
    page = s3.list_objects(Bucket=bucket, MaxKeys=3, Delimiter="/", Marker="c_first_folder/")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["d_next_folder/"]
    assert [o["Key"] for o in page["Contents"]] == ["z_last_file"]
    assert not page["IsTruncated"] and "NextMarker" not in page
    paginator = s3.get_paginator("list_objects")
    keys = [o["Key"] for p in paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}) for o in p.get("Contents", [])]
    assert len(keys) == 5


def test_max_keys_edges(s3, bucket):
    put_keys(s3, bucket, ["k1", "k2", "k3"])
    page = s3.list_objects_v2(Bucket=bucket, MaxKeys=3)
    assert not page["IsTruncated"] and "NextContinuationToken" not in page
    page = s3.list_objects_v2(Bucket=bucket, MaxKeys=0)
    assert page["KeyCount"] == 0 and not page["IsTruncated"]
    page = s3.list_objects_v2(Bucket=bucket, MaxKeys=5000)
    assert page["MaxKeys"] == 1000
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.list_objects_v2(Bucket=bucket, ContinuationToken="garbage")
    assert error_code(e) == "InvalidArgument"


def test_encoding_type_url(s3, bucket):
    put_keys(s3, bucket, ["with space/and+plus", "ctrl\x01char"])
    listed, _ = all_keys_v2(s3, bucket)  # boto3 asks for encoding-type=url and decodes
    assert listed == ["ctrl\x01char", "with space/and+plus"]


def test_empty_delimiter_means_none(server, s3, bucket):
    put_keys(s3, bucket, ["x/y", "z"])
    status, _, body = raw_request(server, "GET", f"/{bucket}?delimiter=&prefix=")
    assert status == 200
    assert b"<Key>x/y</Key>" in body and b"CommonPrefixes" not in body


def test_owner_and_etag_in_listing(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="o", Body=b"x")
    v1 = s3.list_objects(Bucket=bucket)["Contents"][0]
    assert v1["ETag"] == put["ETag"] and v1["Owner"]["ID"] == "alice" and v1["StorageClass"] == "STANDARD"
    v2 = s3.list_objects_v2(Bucket=bucket)["Contents"][0]
    assert "Owner" not in v2
    assert s3.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"][0]["Owner"]["ID"] == "alice"


def test_alluxio_folder_listing_mode(start_server):
    server = start_server(conf=["alluxio.proxy.s3.list.objects.return.folders=true"])
    s3 = server.client()
    s3.create_bucket(Bucket="folders")
    put_keys(s3, "folders", ["file0", "folder0/file0", "folder0/file1"])
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="folders")["Contents"]] == [
        "file0", "folder0/", "folder0/file0", "folder0/file1"]
    assert s3.head_object(Bucket="folders", Key="folder0/")["ContentLength"] == 0


def test_empty_continuation_token_starts_at_the_beginning(s3, bucket):
    for key in ("a", "b"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    page = s3.list_objects_v2(Bucket=bucket, ContinuationToken="")
    assert page["ContinuationToken"] == ""
    assert [o["Key"] for o in page["Contents"]] == ["a", "b"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.list_objects_v2(Bucket=bucket, ContinuationToken="not-a-token")
    assert error_code(e) == "InvalidArgument"


def test_unordered_listings_cannot_use_a_delimiter(server, bucket):
    status, _, body = raw_request(server, "GET", f"/{bucket}?delimiter=/&allow-unordered=true")
    assert (status, xml_error_code(body)) == (400, "InvalidArgument")
    assert raw_request(server, "GET", f"/{bucket}?allow-unordered=true")[0] == 200


def test_v1_prefix_is_returned_as_sent(s3, bucket):
    """botocore asks for encoding-type=url but decodes Prefix only in v2 answers: v1 sends it as it is."""
    s3.put_object(Bucket=bucket, Key="quux", Body=b"x")
    assert s3.list_objects(Bucket=bucket, Prefix="\n")["Prefix"] == "\n"
    assert s3.list_objects_v2(Bucket=bucket, Prefix="\n")["Prefix"] == "\n"
    assert s3.list_objects(Bucket=bucket, Prefix="a b&c")["Prefix"] == "a b&c"
