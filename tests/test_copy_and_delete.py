"""CopyObject and DeleteObjects."""
import hashlib
from datetime import datetime, timedelta, timezone

import botocore
import pytest

from conftest import error_code


def test_copy_within_and_across_buckets(s3, bucket):
    other = bucket + "-dst"
    s3.create_bucket(Bucket=other)
    body = b"copy me" * 100
    s3.put_object(Bucket=bucket, Key="src/a.txt", Body=body, ContentType="text/plain", Metadata={"k": "v"})
    r = s3.copy_object(Bucket=bucket, Key="deep/new/dir/copy.txt", CopySource={"Bucket": bucket, "Key": "src/a.txt"})
    assert r["CopyObjectResult"]["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    got = s3.get_object(Bucket=bucket, Key="deep/new/dir/copy.txt")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"k": "v"}
    s3.copy_object(Bucket=other, Key="x", CopySource=f"{bucket}/src/a.txt")
    assert s3.get_object(Bucket=other, Key="x")["Body"].read() == body


def test_copy_replace_metadata_and_copy_onto_itself(s3, bucket):
    s3.put_object(Bucket=bucket, Key="m", Body=b"data", ContentType="text/plain", Metadata={"old": "1"})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="m", CopySource={"Bucket": bucket, "Key": "m"})
    assert error_code(e) == "InvalidRequest"
    s3.copy_object(Bucket=bucket, Key="m", CopySource={"Bucket": bucket, "Key": "m"}, MetadataDirective="REPLACE",
                   ContentType="application/json", Metadata={"new": "2"})
    got = s3.get_object(Bucket=bucket, Key="m")
    assert got["Body"].read() == b"data"
    assert got["ContentType"] == "application/json"
    assert got["Metadata"] == {"new": "2"}


def test_copy_source_with_special_characters(s3, bucket):
    key = "spaces and+plus/ünïcødé?.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"special")
    s3.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": key})
    assert s3.get_object(Bucket=bucket, Key="copied")["Body"].read() == b"special"


def test_copy_conditions_and_errors(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="s", Body=b"x")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="d", CopySource={"Bucket": bucket, "Key": "s"}, CopySourceIfMatch='"nope"')
    assert error_code(e) == "PreconditionFailed"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="d", CopySource={"Bucket": bucket, "Key": "s"}, CopySourceIfNoneMatch=put["ETag"])
    assert error_code(e) == "PreconditionFailed"
    future = datetime.now(timezone.utc) + timedelta(days=1)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="d", CopySource={"Bucket": bucket, "Key": "s"}, CopySourceIfModifiedSince=future)
    assert error_code(e) == "PreconditionFailed"
    s3.copy_object(Bucket=bucket, Key="d", CopySource={"Bucket": bucket, "Key": "s"}, CopySourceIfMatch=put["ETag"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_object(Bucket=bucket, Key="never")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="d2", CopySource={"Bucket": bucket, "Key": "missing"})
    assert error_code(e) == "NoSuchKey"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket="no-such-dest-bucket", Key="d2", CopySource={"Bucket": bucket, "Key": "s"})
    assert error_code(e) == "NoSuchBucket"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="d", CopySource={"Bucket": bucket, "Key": "s"}, MetadataDirective="MOVE")
    assert error_code(e) == "InvalidArgument"


def test_delete_objects_reports_each_key(s3, bucket):
    for k in ["a", "b/c", "d/"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"")
    s3.put_object(Bucket=bucket, Key="../escape", Body=b"")  # an ordinary key (test_keys.py), inside the bucket
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b/c"}, {"Key": "d/"}, {"Key": "missing"},
                                                             {"Key": "../escape"}, {"Key": "nul\u0000byte"}]})
    deleted = sorted(d["Key"] for d in r.get("Deleted", []))
    assert deleted == ["../escape", "a", "b/c", "d/", "missing"]
    errors = r.get("Errors", [])
    # XML 1.0 cannot carry the NUL: the error names the key without it.
    assert [(e["Key"], e["Code"]) for e in errors] == [("nulbyte", "InvalidArgument")]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_delete_objects_quiet(s3, bucket):
    s3.put_object(Bucket=bucket, Key="q", Body=b"")
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "q"}], "Quiet": True})
    assert "Deleted" not in r
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_delete_objects_limit(s3, bucket):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"k{i}"} for i in range(1001)]})
    assert error_code(e) == "MalformedXML"
