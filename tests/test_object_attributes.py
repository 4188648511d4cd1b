"""GetObjectAttributes: ETag, checksum, size, storage class and the parts of multipart objects, paged."""
import base64
import hashlib

import botocore
import pytest

from conftest import error_code, raw_request, xml_error_code

ALL = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]


def test_single_object_attributes(s3, bucket):
    body = b"A" * 1024
    sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
    put = s3.put_object(Bucket=bucket, Key="plain", Body=body, ChecksumAlgorithm="SHA256", ChecksumSHA256=sha)
    got = s3.get_object_attributes(Bucket=bucket, Key="plain", ObjectAttributes=ALL)
    assert got["ETag"] == put["ETag"].strip('"')
    assert got["ObjectSize"] == 1024
    assert got["StorageClass"] == "STANDARD"
    assert got["Checksum"]["ChecksumSHA256"] == sha
    assert got["Checksum"]["ChecksumType"] == "FULL_OBJECT"
    assert "ObjectParts" not in got
    assert "LastModified" in got
    # Only what was asked for.
    only = s3.get_object_attributes(Bucket=bucket, Key="plain", ObjectAttributes=["ObjectSize"])
    assert only["ObjectSize"] == 1024 and "ETag" not in only and "Checksum" not in only


def test_multipart_parts_are_paged_with_their_checksums(s3, bucket):
    part = 5 * 1024 * 1024
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="SHA256")["UploadId"]
    parts, checksums = [], []
    for number in range(1, 7):
        data = bytes([number]) * (part if number < 6 else 1000)
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        r = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=number, Body=data,
                           ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum)
        parts.append({"PartNumber": number, "ETag": r["ETag"], "ChecksumSHA256": checksum})
        checksums.append(checksum)
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": parts})
    got = s3.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=ALL)
    assert got["ETag"] == done["ETag"].strip('"')
    assert got["ObjectSize"] == 5 * part + 1000
    assert got["Checksum"]["ChecksumSHA256"] == done["ChecksumSHA256"]
    object_parts = got["ObjectParts"]
    assert object_parts["TotalPartsCount"] == 6
    assert object_parts["IsTruncated"] is False
    assert [p["PartNumber"] for p in object_parts["Parts"]] == [1, 2, 3, 4, 5, 6]
    assert [p["Size"] for p in object_parts["Parts"]] == [part] * 5 + [1000]
    assert [p["ChecksumSHA256"] for p in object_parts["Parts"]] == checksums
    page = s3.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=ALL, MaxParts=2, PartNumberMarker=3)
    assert [p["PartNumber"] for p in page["ObjectParts"]["Parts"]] == [4, 5]
    assert page["ObjectParts"]["IsTruncated"] is True
    assert page["ObjectParts"]["NextPartNumberMarker"] == 5
    assert page["ObjectParts"]["PartNumberMarker"] == 3
    assert page["ObjectParts"]["MaxParts"] == 2


def test_object_attributes_errors(s3, bucket, server):
    s3.put_object(Bucket=bucket, Key="here", Body=b"x")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object_attributes(Bucket=bucket, Key="missing", ObjectAttributes=ALL)
    assert error_code(e) == "NoSuchKey"
    for headers in ({}, {"x-amz-object-attributes": "ETag,Colour"}, {"x-amz-object-attributes": "ETag", "x-amz-max-parts": "-1"}):
        status, _, body = raw_request(server, "GET", f"/{bucket}/here?attributes", headers=headers)
        assert (status, xml_error_code(body)) == (400, "InvalidArgument"), headers
