"""x-amz-checksum-* on PutObject, UploadPart and Complete: verified, stored, returned with checksum mode."""
import base64
import hashlib
import os
import zlib

import botocore
import pytest
from boto3.s3.transfer import TransferConfig

from conftest import error_code, raw_request, xml_error_code


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_sdk_checksums_round_trip(s3, bucket, algorithm):
    body = os.urandom(300_000)
    put = s3.put_object(Bucket=bucket, Key=f"ck-{algorithm}", Body=body, ChecksumAlgorithm=algorithm)
    assert f"Checksum{algorithm}" in put
    got = s3.get_object(Bucket=bucket, Key=f"ck-{algorithm}", ChecksumMode="ENABLED")
    assert got["Body"].read() == body  # boto3 validates the returned checksum while reading
    assert got[f"Checksum{algorithm}"] == put[f"Checksum{algorithm}"]
    head = s3.head_object(Bucket=bucket, Key=f"ck-{algorithm}", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == put[f"Checksum{algorithm}"]
    if algorithm == "SHA256":
        assert put["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()


def test_default_sdk_behaviour_is_accepted(s3, bucket):
    # Whatever the installed botocore sends by default (CRC32 headers or trailers) must just work.
    s3.put_object(Bucket=bucket, Key="default", Body=b"default checksum behaviour")
    assert s3.get_object(Bucket=bucket, Key="default", ChecksumMode="ENABLED")["Body"].read() == b"default checksum behaviour"


def test_wrong_checksum_header_stores_nothing(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="keep", Body=b"old")
    status, _, body = raw_request(server, "PUT", f"/{bucket}/keep", body=b"new data",
                                  headers={"x-amz-checksum-crc32": crc32_b64(b"other data")})
    assert (status, xml_error_code(body)) == (400, "BadDigest")
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"old"
    status, _, body = raw_request(server, "PUT", f"/{bucket}/keep", body=b"new data",
                                  headers={"x-amz-checksum-crc32": "not base64!"})
    assert (status, xml_error_code(body)) == (400, "BadDigest")
    status, _, body = raw_request(server, "PUT", f"/{bucket}/keep", body=b"new data",
                                  headers={"x-amz-checksum-crc32": crc32_b64(b"new data"),
                                           "x-amz-checksum-sha1": base64.b64encode(hashlib.sha1(b"new data").digest()).decode()})
    assert (status, xml_error_code(body)) == (400, "InvalidRequest")
    status, headers, _ = raw_request(server, "PUT", f"/{bucket}/keep", body=b"new data",
                                     headers={"x-amz-checksum-crc32": crc32_b64(b"new data")})
    assert status == 200 and headers["x-amz-checksum-crc32"] == crc32_b64(b"new data")


@pytest.mark.parametrize("size", [4096, 65536, 65537, 300_000])
def test_bodies_gathered_in_memory_or_streamed_are_checked_alike(server, s3, bucket, size):
    """Declared bodies up to 64 KiB are gathered and written in one step, larger ones streamed: a wrong checksum or
    Content-MD5 stores nothing either way, and a right one stores the bytes."""
    data = os.urandom(size)
    key = f"sized-{size}"
    s3.put_object(Bucket=bucket, Key=key, Body=b"old")
    for headers in [{"x-amz-checksum-crc32": crc32_b64(data[1:])},
                    {"Content-MD5": base64.b64encode(hashlib.md5(data[1:]).digest()).decode()}]:
        status, _, body = raw_request(server, "PUT", f"/{bucket}/{key}", body=data, headers=headers)
        assert (status, xml_error_code(body)) == (400, "BadDigest")
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"old"
    status, headers, _ = raw_request(server, "PUT", f"/{bucket}/{key}", body=data, headers={
        "x-amz-checksum-crc32": crc32_b64(data), "Content-MD5": base64.b64encode(hashlib.md5(data).digest()).decode()})
    assert status == 200 and headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data
    # No temporary file of a refused body is left behind.
    assert [name for name in os.listdir(os.path.join(server.root, bucket)) if name.startswith(".strata.tmp.")] == []


def test_trailing_checksums(server, s3, bucket):
    data = b"trailing checksum payload"
    for value, expected in [(crc32_b64(data), 200), (crc32_b64(b"x"), 400)]:
        framed = f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n" + f"x-amz-checksum-crc32:{value}\r\n\r\n".encode()
        status, _, body = raw_request(server, "PUT", f"/{bucket}/trailer-{expected}", body=framed, headers={
            "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "Content-Encoding": "aws-chunked",
            "x-amz-decoded-content-length": str(len(data)), "x-amz-trailer": "x-amz-checksum-crc32"})
        assert status == expected, body
        if expected == 400:
            assert xml_error_code(body) == "BadDigest"
            assert raw_request(server, "HEAD", f"/{bucket}/trailer-400")[0] == 404
    got = s3.get_object(Bucket=bucket, Key="trailer-200", ChecksumMode="ENABLED")
    assert got["Body"].read() == data and got["ChecksumCRC32"] == crc32_b64(data)


def test_multipart_composite_checksum(s3, bucket, tmp_path):
    data = os.urandom(12 * 1024 * 1024)
    (tmp_path / "f").write_bytes(data)
    s3.upload_file(str(tmp_path / "f"), bucket, "mpu-ck", ExtraArgs={"ChecksumAlgorithm": "CRC32"},
                   Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
    chunks = [data[i:i + 5 * 1024 * 1024] for i in range(0, len(data), 5 * 1024 * 1024)]
    composite = base64.b64encode(zlib.crc32(b"".join(zlib.crc32(c).to_bytes(4, "big") for c in chunks)).to_bytes(4, "big")).decode()
    head = s3.head_object(Bucket=bucket, Key="mpu-ck", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == f"{composite}-{len(chunks)}"
    assert s3.get_object(Bucket=bucket, Key="mpu-ck")["Body"].read() == data
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mpu-list", ChecksumAlgorithm="SHA256")
    s3.upload_part(Bucket=bucket, Key="mpu-list", UploadId=upload["UploadId"], PartNumber=1, Body=b"abc", ChecksumAlgorithm="SHA256")
    parts = s3.list_parts(Bucket=bucket, Key="mpu-list", UploadId=upload["UploadId"])["Parts"]
    assert parts[0]["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(b"abc").digest()).decode()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="mpu-list", UploadId=upload["UploadId"], MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": parts[0]["ETag"], "ChecksumSHA256": base64.b64encode(hashlib.sha256(b"abd").digest()).decode()}]})
    assert error_code(e) == "InvalidPart"
    # A whole-object checksum stated on Complete must match the composite: BadDigest, and nothing is published.
    for stated in ("bad", base64.b64encode(hashlib.sha256(b"other").digest()).decode() + "-1"):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.complete_multipart_upload(Bucket=bucket, Key="mpu-list", UploadId=upload["UploadId"], ChecksumSHA256=stated,
                                         MultipartUpload={"Parts": [
                                             {"PartNumber": 1, "ETag": parts[0]["ETag"], "ChecksumSHA256": parts[0]["ChecksumSHA256"]}]})
        assert error_code(e) == "BadDigest", stated
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key="mpu-list")
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mpu-list", UploadId=upload["UploadId"], MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": parts[0]["ETag"], "ChecksumSHA256": parts[0]["ChecksumSHA256"]}]})
    assert done["ChecksumSHA256"].endswith("-1")


@pytest.mark.parametrize("checksum_type", ["COMPOSITE", "FULL_OBJECT"])
def test_multipart_checksum_views(s3, bucket, checksum_type):
    """Complete states the whole object's checksum (composite with its -N, or full-object); HEAD, GetObjectAttributes
    and GET of each part report the object's and the parts' checksums with the type."""
    parts = [bytes([65 + i]) * (5 * 1024 * 1024) for i in range(3)]
    part_sums = [base64.b64encode(zlib.crc32(p).to_bytes(4, "big")).decode() for p in parts]
    if checksum_type == "COMPOSITE":
        whole = base64.b64encode(zlib.crc32(b"".join(zlib.crc32(p).to_bytes(4, "big") for p in parts)).to_bytes(4, "big")).decode() + "-3"
    else:
        whole = base64.b64encode(zlib.crc32(b"".join(parts)).to_bytes(4, "big")).decode()
    upload = s3.create_multipart_upload(Bucket=bucket, Key="views", ChecksumAlgorithm="CRC32", ChecksumType=checksum_type)["UploadId"]
    listed = []
    for number, (data, checksum) in enumerate(zip(parts, part_sums), start=1):
        r = s3.upload_part(Bucket=bucket, Key="views", UploadId=upload, PartNumber=number, Body=data,
                           ChecksumAlgorithm="CRC32", ChecksumCRC32=checksum)
        listed.append({"PartNumber": number, "ETag": r["ETag"], "ChecksumCRC32": checksum})
    done = s3.complete_multipart_upload(Bucket=bucket, Key="views", UploadId=upload, ChecksumCRC32=whole,
                                        MultipartUpload={"Parts": listed})
    assert (done["ChecksumType"], done["ChecksumCRC32"]) == (checksum_type, whole)
    head = s3.head_object(Bucket=bucket, Key="views", ChecksumMode="ENABLED")
    assert (head["ChecksumType"], head["ChecksumCRC32"]) == (checksum_type, whole)
    attributes = s3.get_object_attributes(Bucket=bucket, Key="views", ObjectAttributes=["Checksum"])
    assert attributes["Checksum"] == {"ChecksumCRC32": whole, "ChecksumType": checksum_type}
    for number, checksum in enumerate(part_sums, start=1):
        got = s3.get_object(Bucket=bucket, Key="views", PartNumber=number, ChecksumMode="ENABLED")
        assert (got["ChecksumType"], got["ChecksumCRC32"]) == (checksum_type, checksum)
