"""Multipart uploads through boto3, aws-cli and raw requests, with the cleaner and restarts."""
import hashlib
import os
import subprocess
import sys
import time

import botocore
import pytest
from boto3.s3.transfer import TransferConfig

from conftest import error_code, raw_request, xml_error_code

MiB = 1024 * 1024


def multipart_etag(parts):
    return '"%s-%d"' % (hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest(), len(parts))


def uploads_dir(server, bucket):
    return os.path.join(server.root, bucket, ".strata.uploads")


def test_boto3_concurrent_multipart_transfer(s3, bucket, tmp_path):
    data = os.urandom(21 * MiB + 123)
    src = tmp_path / "src"
    src.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4)
    s3.upload_file(str(src), bucket, "analytics/part-0000.parquet", Config=config,
                   ExtraArgs={"ContentType": "application/vnd.apache.parquet", "Metadata": {"job": "nightly"}})
    chunks = [data[i:i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
    head = s3.head_object(Bucket=bucket, Key="analytics/part-0000.parquet")
    assert head["ETag"] == multipart_etag(chunks)
    assert head["ContentLength"] == len(data)
    assert head["ContentType"] == "application/vnd.apache.parquet"
    assert head["Metadata"] == {"job": "nightly"}
    dst = tmp_path / "dst"
    s3.download_file(bucket, "analytics/part-0000.parquet", str(dst), Config=config)
    assert dst.read_bytes() == data
    # Reading one part back by number.
    part2 = s3.get_object(Bucket=bucket, Key="analytics/part-0000.parquet", PartNumber=2)
    assert part2["Body"].read() == chunks[1]
    assert part2["PartsCount"] == len(chunks)
    assert part2["ContentRange"] == f"bytes {5 * MiB}-{10 * MiB - 1}/{len(data)}"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="analytics/part-0000.parquet", PartNumber=len(chunks) + 1)
    assert error_code(e) == "InvalidPart"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_aws_cli_cp_of_20_mib(server, bucket, tmp_path):
    data = os.urandom(20 * MiB)
    src = tmp_path / "twenty"
    src.write_bytes(data)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "alice", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint, "s3", "cp", str(src), f"s3://{bucket}/twenty"],
                   check=True, env=env, capture_output=True, timeout=300)
    dst = tmp_path / "back"
    subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint, "s3", "cp", f"s3://{bucket}/twenty", str(dst)],
                   check=True, env=env, capture_output=True, timeout=300)
    assert dst.read_bytes() == data
    head = server.client().head_object(Bucket=bucket, Key="twenty")
    assert head["ETag"].endswith('-3"')  # 8 MiB chunks
    assert os.listdir(uploads_dir(server, bucket)) == []


def upload_parts(s3, bucket, key, parts, **create):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    etags = [s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=i + 1, Body=p)["ETag"] for i, p in enumerate(parts)]
    return upload_id, etags


def complete(s3, bucket, key, upload_id, numbered):
    return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in numbered]})


def test_only_listed_parts_and_idempotent_complete(server, s3, bucket):
    parts = [b"a" * (5 * MiB), b"b" * (5 * MiB), b"c" * 100]
    upload_id, etags = upload_parts(s3, bucket, "subset", parts, Tagging="stage=raw")
    # Complete with parts 1 and 3 only.
    first = complete(s3, bucket, "subset", upload_id, [(1, etags[0]), (3, etags[2])])
    assert first["ETag"] == multipart_etag([parts[0], parts[2]])
    assert first["Bucket"] == bucket and first["Key"] == "subset"
    assert s3.get_object(Bucket=bucket, Key="subset")["Body"].read() == parts[0] + parts[2]
    assert s3.head_object(Bucket=bucket, Key="subset")["ETag"] == first["ETag"]
    assert s3.get_object_tagging(Bucket=bucket, Key="subset")["TagSet"] == [{"Key": "stage", "Value": "raw"}]
    again = complete(s3, bucket, "subset", upload_id, [(1, etags[0]), (3, etags[2])])
    assert again["ETag"] == first["ETag"]
    assert os.listdir(uploads_dir(server, bucket)) == []
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="subset", UploadId=upload_id, PartNumber=1, Body=b"late")
    assert error_code(e) == "NoSuchUpload"


def test_complete_validation_errors_leave_no_object(server, s3, bucket):
    parts = [b"x" * (5 * MiB), b"y" * 1024, b"z" * 10]
    upload_id, etags = upload_parts(s3, bucket, "invalid", parts)
    cases = [
        ([(2, etags[1]), (1, etags[0])], "InvalidPartOrder"),
        ([(1, etags[0]), (1, '"00000000000000000000000000000000"')], "InvalidPart"),  # the last entry of a number counts
        ([(1, '"00000000000000000000000000000000"')], "InvalidPart"),
        ([(1, etags[0]), (4, etags[2])], "InvalidPart"),
        ([(2, etags[1]), (3, etags[2])], "EntityTooSmall"),
    ]
    for numbered, code in cases:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            complete(s3, bucket, "invalid", upload_id, numbered)
        assert error_code(e) == code, numbered
        with pytest.raises(botocore.exceptions.ClientError):
            s3.head_object(Bucket=bucket, Key="invalid")
    status, _, body = raw_request(server, "POST", f"/{bucket}/invalid?uploadId={upload_id}", body=b"<CompleteMultipartUpload>")
    assert (status, xml_error_code(body)) == (400, "MalformedXML")
    status, _, body = raw_request(server, "POST", f"/{bucket}/invalid?uploadId={upload_id}", body=b"")
    assert (status, xml_error_code(body)) == (400, "MalformedXML")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        complete(s3, bucket, "invalid", "f" * 32, [(1, etags[0])])
    assert error_code(e) == "NoSuchUpload"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        complete(s3, bucket, "other-key", upload_id, [(1, etags[0])])
    assert error_code(e) == "NoSuchUpload"
    status, _, body = raw_request(server, "PUT", f"/{bucket}/invalid?partNumber=10001&uploadId={upload_id}", body=b"x")
    assert (status, xml_error_code(body)) == (400, "InvalidArgument")
    status, _, body = raw_request(server, "PUT", f"/{bucket}/invalid?partNumber=1&uploadId=../../etc", body=b"x")
    assert (status, xml_error_code(body)) == (404, "NoSuchUpload")
    # The upload is still usable after every refusal.
    complete(s3, bucket, "invalid", upload_id, [(1, etags[0]), (3, etags[2])])
    assert s3.get_object(Bucket=bucket, Key="invalid")["Body"].read() == parts[0] + parts[2]


def test_abort_leaves_no_trace(server, s3, bucket):
    upload_id, _ = upload_parts(s3, bucket, "deep/dir/aborted", [b"1" * 1000, b"2" * 1000])
    assert len(os.listdir(uploads_dir(server, bucket))) == 1
    assert s3.abort_multipart_upload(Bucket=bucket, Key="deep/dir/aborted", UploadId=upload_id)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert os.listdir(uploads_dir(server, bucket)) == []
    assert not os.path.exists(os.path.join(server.root, bucket, "deep"))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.abort_multipart_upload(Bucket=bucket, Key="deep/dir/aborted", UploadId=upload_id)
    assert error_code(e) == "NoSuchUpload"
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_upload_part_copy(s3, bucket):
    source = os.urandom(6 * MiB)
    s3.put_object(Bucket=bucket, Key="source", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    p1 = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=upload_id, PartNumber=1,
                             CopySource={"Bucket": bucket, "Key": "source"}, CopySourceRange=f"bytes=0-{5 * MiB - 1}")
    p2 = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=upload_id, PartNumber=2,
                             CopySource={"Bucket": bucket, "Key": "source"})
    assert p1["CopyPartResult"]["ETag"] == '"%s"' % hashlib.md5(source[:5 * MiB]).hexdigest()
    complete(s3, bucket, "assembled", upload_id, [(1, p1["CopyPartResult"]["ETag"]), (2, p2["CopyPartResult"]["ETag"])])
    assert s3.get_object(Bucket=bucket, Key="assembled")["Body"].read() == source[:5 * MiB] + source
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="bad-range")["UploadId"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.upload_part_copy(Bucket=bucket, Key="bad-range", UploadId=upload_id, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "source"}, CopySourceRange=f"bytes=0-{7 * MiB}")
    assert error_code(e) == "InvalidRange"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.upload_part_copy(Bucket=bucket, Key="bad-range", UploadId=upload_id, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "missing"})
    assert error_code(e) == "NoSuchKey"


def test_list_parts_pagination(s3, bucket):
    upload_id, etags = upload_parts(s3, bucket, "many", [bytes([i]) * (i + 1) for i in range(7)])
    page = s3.list_parts(Bucket=bucket, Key="many", UploadId=upload_id, MaxParts=3)
    assert [p["PartNumber"] for p in page["Parts"]] == [1, 2, 3]
    assert page["IsTruncated"] and page["NextPartNumberMarker"] == 3
    assert page["Initiator"]["ID"] == "alice"
    page = s3.list_parts(Bucket=bucket, Key="many", UploadId=upload_id, MaxParts=3, PartNumberMarker=3)
    assert [p["PartNumber"] for p in page["Parts"]] == [4, 5, 6]
    page = s3.list_parts(Bucket=bucket, Key="many", UploadId=upload_id, PartNumberMarker=6)
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in page["Parts"]] == [(7, 7, etags[6])]
    assert not page["IsTruncated"]
    paginator = s3.get_paginator("list_parts")
    assert sum(len(p["Parts"]) for p in paginator.paginate(Bucket=bucket, Key="many", UploadId=upload_id,
                                                             PaginationConfig={"PageSize": 2})) == 7


def test_list_multipart_uploads_pagination(s3, bucket):
    ids = {}
    for key in ["a/1", "a/2", "b", "c/x/y", "c/z"]:
        ids[key] = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    second = s3.create_multipart_upload(Bucket=bucket, Key="b")["UploadId"]
    listed = s3.list_multipart_uploads(Bucket=bucket)
    assert [u["Key"] for u in listed["Uploads"]] == ["a/1", "a/2", "b", "b", "c/x/y", "c/z"]
    assert [u["UploadId"] for u in listed["Uploads"] if u["Key"] == "b"] == [ids["b"], second]
    page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=3)
    assert page["IsTruncated"] and page["NextKeyMarker"] == "b" and page["NextUploadIdMarker"] == ids["b"]
    page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=3, KeyMarker="b", UploadIdMarker=ids["b"])
    assert [u["Key"] for u in page["Uploads"]] == ["b", "c/x/y", "c/z"]
    page = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [u["Key"] for u in page["Uploads"]] == ["b", "b"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["a/", "c/"]
    page = s3.list_multipart_uploads(Bucket=bucket, Prefix="c/")
    assert [u["Key"] for u in page["Uploads"]] == ["c/x/y", "c/z"]
    page = s3.list_multipart_uploads(Bucket=bucket, KeyMarker="b")
    assert [u["Key"] for u in page["Uploads"]] == ["c/x/y", "c/z"]
    # Uploads are never objects.
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_restart_mid_upload_then_complete(start_server):
    server = start_server()
    s3 = server.client()
    s3.create_bucket(Bucket="restart")
    parts = [b"r" * (5 * MiB), b"s" * 10]
    upload_id = s3.create_multipart_upload(Bucket="restart", Key="k")["UploadId"]
    e1 = s3.upload_part(Bucket="restart", Key="k", UploadId=upload_id, PartNumber=1, Body=parts[0])["ETag"]
    server.stop()
    again = start_server(root=server.root)
    s3 = again.client()
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="restart")["Uploads"]] == [upload_id]
    e2 = s3.upload_part(Bucket="restart", Key="k", UploadId=upload_id, PartNumber=2, Body=parts[1])["ETag"]
    result = complete(s3, "restart", "k", upload_id, [(1, e1), (2, e2)])
    assert result["ETag"] == multipart_etag(parts)
    assert s3.get_object(Bucket="restart", Key="k")["Body"].read() == b"".join(parts)


def test_cleaner_aborts_stale_uploads(start_server, tmp_path):
    root = tmp_path / "cleaner-root"
    first = start_server(root=root, conf=["strata.proxy.s3.multipart.upload.cleaner.enabled=false"])
    s3 = first.client()
    s3.create_bucket(Bucket="stale")
    left_behind, _ = upload_parts(s3, "stale", "from/before/restart", [b"p" * 4096])
    first.stop()
    server = start_server(root=root, conf=["alluxio.proxy.s3.multipart.upload.cleaner.timeout=2sec"])
    s3 = server.client()
    fresh, _ = upload_parts(s3, "stale", "fresh", [b"q" * 4096])
    deadline = time.time() + 30
    while time.time() < deadline and len(os.listdir(uploads_dir(server, "stale"))) > 0:
        time.sleep(0.2)
    # Both the upload left from before the restart and the one that went idle are gone, with their space.
    assert os.listdir(uploads_dir(server, "stale")) == []
    assert fresh
    assert not os.path.exists(os.path.join(server.root, "stale", "from"))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.list_parts(Bucket="stale", Key="from/before/restart", UploadId=left_behind)
    assert error_code(e) == "NoSuchUpload"
    assert "aborted idle upload" in server.read_log()


def test_complete_keepalive_mode(start_server):
    server = start_server(conf=["strata.proxy.s3.complete.multipart.upload.keepalive.enabled=true"])
    s3 = server.client()
    s3.create_bucket(Bucket="keepalive")
    parts = [b"k" * (5 * MiB), b"l" * 5]
    upload_id, etags = upload_parts(s3, "keepalive", "obj", parts)
    result = complete(s3, "keepalive", "obj", upload_id, list(enumerate(etags, start=1)))
    assert result["ETag"] == multipart_etag(parts)
    # Errors found after the response started still arrive as an S3 error document.
    upload_id, etags = upload_parts(s3, "keepalive", "obj2", parts)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        complete(s3, "keepalive", "obj2", upload_id, [(2, etags[1]), (1, etags[0])])
    assert error_code(e) == "InvalidPartOrder"


def test_reserved_names_never_reach_upload_state(server, s3, bucket):
    """`.strata.uploads` in a key is an ordinary (escaped) key: it never reads or writes the uploads' own directory."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key="pending")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="pending", UploadId=upload, PartNumber=1, Body=b"part bytes")
    entries = os.listdir(os.path.join(server.root, bucket, ".strata.uploads"))
    assert entries
    for name in entries:
        status, _, body = raw_request(server, "GET", f"/{bucket}/.strata.uploads/{name}")
        assert (status, xml_error_code(body)) == (404, "NoSuchKey")
    s3.put_object(Bucket=bucket, Key=".strata.uploads", Body=b"just a key")
    assert s3.get_object(Bucket=bucket, Key=".strata.uploads")["Body"].read() == b"just a key"
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [upload]


def test_a_part_number_listed_twice_counts_once(s3, bucket):
    """A part re-sent while its first upload was still running: the Complete list names it twice, and the last
    entry (the part as stored last) is the one joined."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key="resent")["UploadId"]
    first = s3.upload_part(Bucket=bucket, Key="resent", UploadId=upload, PartNumber=1, Body=b"B" * 8)["ETag"]
    last = s3.upload_part(Bucket=bucket, Key="resent", UploadId=upload, PartNumber=1, Body=b"A" * 8)["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="resent", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": first}, {"PartNumber": 1, "ETag": last}]})
    assert s3.get_object(Bucket=bucket, Key="resent")["Body"].read() == b"A" * 8
    upload = s3.create_multipart_upload(Bucket=bucket, Key="unordered")["UploadId"]
    etags = [s3.upload_part(Bucket=bucket, Key="unordered", UploadId=upload, PartNumber=n, Body=b"x")["ETag"] for n in (1, 2)]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="unordered", UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": etags[1]}, {"PartNumber": 1, "ETag": etags[0]}]})
    assert error_code(e) == "InvalidPartOrder"
