"""SIGV4 mode: real signatures from boto3, aws-cli and curl; every failure with its exact S3 error."""
import datetime
import hashlib
import hmac
import os
import subprocess
import sys
import time
import urllib.parse

import boto3
import botocore
import pytest
import requests
from botocore.config import Config

from conftest import STRATA_BIN, error_code, xml_error_code

ADMIN = ("ADMINKEY", "admin-secret-0123456789")


@pytest.fixture
def signed_server(start_server, tmp_path):
    root = tmp_path / "signed-root"
    root.mkdir()
    add = lambda *a: subprocess.run([STRATA_BIN, "credentials", "add", "--root", str(root), *a], check=True, capture_output=True)
    add("--user", "alice", "--access-key", "ALICEKEY", "--secret-key", "alice-secret")
    add("--user", "bob", "--access-key", "BOBKEY", "--secret-key", "bob-secret", "--bucket", "shared:read", "--bucket", "bobs")
    server = start_server(root=root, conf=["strata.s3.auth.mode=SIGV4"],
                          env={"STRATA_ADMIN_ACCESS_KEY": ADMIN[0], "STRATA_ADMIN_SECRET_KEY": ADMIN[1]})
    return server


def client(server, key, secret, s3=None, **cfg):
    return boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret,
                        config=Config(s3={"addressing_style": "path", **(s3 or {})}, retries={"max_attempts": 1}, **cfg))


def test_boto3_signed_requests_work(signed_server):
    s3 = client(signed_server, "ALICEKEY", "alice-secret")
    s3.create_bucket(Bucket="alices")
    s3.put_object(Bucket="alices", Key="a/b c+d.txt", Body=b"signed body", Metadata={"x": "y"}, Tagging="t=1")
    assert s3.get_object(Bucket="alices", Key="a/b c+d.txt")["Body"].read() == b"signed body"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="alices", Prefix="a/")["Contents"]] == ["a/b c+d.txt"]
    s3.copy_object(Bucket="alices", Key="copy", CopySource={"Bucket": "alices", "Key": "a/b c+d.txt"})
    s3.delete_objects(Bucket="alices", Delete={"Objects": [{"Key": "copy"}]})
    s3.put_object_tagging(Bucket="alices", Key="a/b c+d.txt", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["alices"]


def test_boto3_multipart_and_unsigned_payload(signed_server, tmp_path):
    s3 = client(signed_server, "ALICEKEY", "alice-secret")
    s3.create_bucket(Bucket="mpu-bucket")
    data = os.urandom(11 * 1024 * 1024)
    (tmp_path / "f").write_bytes(data)
    from boto3.s3.transfer import TransferConfig
    s3.upload_file(str(tmp_path / "f"), "mpu-bucket", "big", Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
    assert s3.get_object(Bucket="mpu-bucket", Key="big")["Body"].read() == data
    unsigned = client(signed_server, "ALICEKEY", "alice-secret", s3={"payload_signing_enabled": False})
    unsigned.put_object(Bucket="mpu-bucket", Key="u", Body=b"unsigned payload")
    assert s3.get_object(Bucket="mpu-bucket", Key="u")["Body"].read() == b"unsigned payload"


def test_aws_cli_signed(signed_server, tmp_path):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "ALICEKEY", "AWS_SECRET_ACCESS_KEY": "alice-secret", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    run = lambda *a: subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url", signed_server.endpoint, *a],
                                    env=env, capture_output=True, text=True, timeout=300)
    assert run("s3", "mb", "s3://cli-signed").returncode == 0
    src = tmp_path / "up"
    src.write_bytes(os.urandom(9 * 1024 * 1024))
    r = run("s3", "cp", str(src), "s3://cli-signed/up")
    assert r.returncode == 0, r.stderr
    r = run("s3", "cp", "s3://cli-signed/up", str(tmp_path / "down"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "down").read_bytes() == src.read_bytes()
    presigned = run("s3", "presign", "s3://cli-signed/up", "--expires-in", "300").stdout.strip()
    resp = requests.get(presigned, timeout=30)
    assert resp.status_code == 200 and resp.content == src.read_bytes()


def test_presigned_urls_with_plain_http(signed_server):
    s3 = client(signed_server, "ALICEKEY", "alice-secret", signature_version="s3v4")
    s3.create_bucket(Bucket="pre")
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "pre", "Key": "via-url"}, ExpiresIn=600)
    assert requests.put(put_url, data=b"uploaded with curl-like client", timeout=30).status_code == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": "pre", "Key": "via-url"}, ExpiresIn=600)
    out = subprocess.run(["curl", "-sf", get_url], capture_output=True, timeout=30)
    assert out.stdout == b"uploaded with curl-like client"
    head_url = s3.generate_presigned_url("head_object", Params={"Bucket": "pre", "Key": "via-url"}, ExpiresIn=600)
    assert requests.head(head_url, timeout=30).status_code == 200
    # Tampering with any signed part fails.
    assert "X-Amz-Signature=" in get_url and "X-Amz-Expires=600" in get_url
    tampered = get_url.replace("via-url", "via-urk")
    r = requests.get(tampered, timeout=30)
    assert r.status_code == 403 and xml_error_code(r.content) == "SignatureDoesNotMatch"
    r = requests.get(get_url.replace("X-Amz-Expires=600", "X-Amz-Expires=601"), timeout=30)
    assert r.status_code == 403 and xml_error_code(r.content) == "SignatureDoesNotMatch"
    # An expiry outside 1 s to a week refuses the URL (403 AccessDenied, as AWS); a non-number is malformed (400).
    for expires_in in ("700000", "0", "-7"):
        r = requests.get(get_url.replace("X-Amz-Expires=600", "X-Amz-Expires=" + expires_in), timeout=30)
        assert r.status_code == 403 and xml_error_code(r.content) == "AccessDenied", expires_in
    r = requests.get(get_url.replace("X-Amz-Expires=600", "X-Amz-Expires=ten"), timeout=30)
    assert r.status_code == 400 and xml_error_code(r.content) == "AuthorizationQueryParametersError"
    delete_url = s3.generate_presigned_url("delete_object", Params={"Bucket": "pre", "Key": "via-url"}, ExpiresIn=600)
    assert requests.delete(delete_url, timeout=30).status_code == 204


def test_expired_presigned_url(signed_server):
    s3 = client(signed_server, "ALICEKEY", "alice-secret", signature_version="s3v4")
    s3.create_bucket(Bucket="exp")
    s3.put_object(Bucket="exp", Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "exp", "Key": "k"}, ExpiresIn=1)
    time.sleep(2.2)
    r = requests.get(url, timeout=30)
    assert r.status_code == 403 and xml_error_code(r.content) == "AccessDenied" and b"expired" in r.content


def test_sigv2_presigned_and_header(signed_server):
    s3 = client(signed_server, "ALICEKEY", "alice-secret")
    s3.create_bucket(Bucket="v2-bucket")
    s3.put_object(Bucket="v2-bucket", Key="legacy file.txt", Body=b"v2 body")
    v2 = client(signed_server, "ALICEKEY", "alice-secret", signature_version="s3")
    url = v2.generate_presigned_url("get_object", Params={"Bucket": "v2-bucket", "Key": "legacy file.txt"}, ExpiresIn=300)
    assert "AWSAccessKeyId=" in url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and r.content == b"v2 body"
    assert v2.get_object(Bucket="v2-bucket", Key="legacy file.txt")["Body"].read() == b"v2 body"
    v2.put_object(Bucket="v2-bucket", Key="by-v2", Body=b"written with v2")
    assert s3.get_object(Bucket="v2-bucket", Key="by-v2")["Body"].read() == b"written with v2"
    bad = client(signed_server, "ALICEKEY", "wrong", signature_version="s3")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        bad.get_object(Bucket="v2-bucket", Key="by-v2")
    assert error_code(e) == "SignatureDoesNotMatch"
    # Bucket-level requests: botocore signs the resource `/bucket/` for a path-style `/bucket`.
    v2.create_bucket(Bucket="v2-made")
    v2.put_bucket_tagging(Bucket="v2-made", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert v2.get_bucket_tagging(Bucket="v2-made")["TagSet"] == [{"Key": "k", "Value": "v"}]
    v2.delete_bucket_tagging(Bucket="v2-made")
    v2.delete_bucket(Bucket="v2-made")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        bad.create_bucket(Bucket="v2-never")
    assert error_code(e) == "SignatureDoesNotMatch"


def test_wrong_secret_unknown_key_and_anonymous(signed_server):
    client(signed_server, "ALICEKEY", "alice-secret").create_bucket(Bucket="neg")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client(signed_server, "ALICEKEY", "not-the-secret").list_objects_v2(Bucket="neg")
    assert error_code(e) == "SignatureDoesNotMatch"
    body = e.value.response["Error"]
    assert "alice-secret" not in str(e.value.response)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client(signed_server, "NOSUCHKEY", "x").list_objects_v2(Bucket="neg")
    assert error_code(e) == "InvalidAccessKeyId"
    r = requests.get(f"{signed_server.endpoint}/neg", timeout=30)
    assert r.status_code == 403 and xml_error_code(r.content) == "AccessDenied"
    r = requests.get(f"{signed_server.endpoint}/neg", headers={"Authorization": "Bearer x"}, timeout=30)
    assert r.status_code == 400


def sign_v4(method, url, headers, body, key, secret, amz_date=None, payload_hash=None):
    """A minimal independent SigV4 signer (the test's own), used to craft requests boto3 will not send."""
    parsed = urllib.parse.urlsplit(url)
    now = amz_date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    payload_hash = payload_hash or hashlib.sha256(body).hexdigest()
    headers = {**headers, "host": parsed.netloc, "x-amz-date": now, "x-amz-content-sha256": payload_hash}
    signed = sorted(k.lower() for k in headers)
    canonical_headers = "".join(f"{k}:{headers[[h for h in headers if h.lower() == k][0]].strip()}\n" for k in signed)
    query = "&".join(sorted(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
                            for k, v in urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)))
    canonical = "\n".join([method, urllib.parse.quote(urllib.parse.unquote(parsed.path), safe="/-_.~"), query, canonical_headers,
                           ";".join(signed), payload_hash])
    scope = f"{now[:8]}/us-east-1/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", now, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in [now[:8], "us-east-1", "s3", "aws4_request"]:
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = f"AWS4-HMAC-SHA256 Credential={key}/{scope}, SignedHeaders={';'.join(signed)}, Signature={signature}"
    return headers, k, now, scope, signature


def test_altered_payload_and_skewed_clock(signed_server):
    client(signed_server, "ALICEKEY", "alice-secret").create_bucket(Bucket="alter")
    url = f"{signed_server.endpoint}/alter/obj"
    headers, *_ = sign_v4("PUT", url, {}, b"the real body", "ALICEKEY", "alice-secret")
    r = requests.put(url, data=b"the real bodY", headers=headers, timeout=30)
    assert r.status_code == 400 and xml_error_code(r.content) == "XAmzContentSHA256Mismatch"
    assert requests.head(url, headers=sign_v4("HEAD", url, {}, b"", "ALICEKEY", "alice-secret")[0], timeout=30).status_code == 404
    r = requests.put(url, data=b"the real body", headers=headers, timeout=30)
    assert r.status_code == 200
    old = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    headers, *_ = sign_v4("GET", url, {}, b"", "ALICEKEY", "alice-secret", amz_date=old)
    r = requests.get(url, headers=headers, timeout=30)
    assert r.status_code == 403 and xml_error_code(r.content) == "RequestTimeTooSkewed"


def chunked_body(chunks, key, amz_date, scope, seed, corrupt_index=None):
    previous = seed
    out = b""
    for i, data in enumerate(chunks + [b""]):
        to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, hashlib.sha256(b"").hexdigest(),
                             hashlib.sha256(data).hexdigest()])
        sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        previous = sig
        if i == corrupt_index:
            sig = "0" * 64
        out += f"{len(data):x};chunk-signature={sig}\r\n".encode() + data + b"\r\n"
    return out


def test_signed_streaming_upload_and_bad_chunk_signature(signed_server):
    client(signed_server, "ALICEKEY", "alice-secret").create_bucket(Bucket="stream")
    chunks = [os.urandom(65536), os.urandom(1000)]
    for corrupt, expected in [(None, 200), (1, 403), (2, 403)]:
        url = f"{signed_server.endpoint}/stream/chunked-{corrupt}"
        total = sum(len(c) for c in chunks)
        headers, key, amz_date, scope, seed = sign_v4(
            "PUT", url, {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(total)}, b"",
            "ALICEKEY", "alice-secret", payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        body = chunked_body(chunks, key, amz_date, scope, seed, corrupt_index=corrupt)
        r = requests.put(url, data=body, headers=headers, timeout=30)
        assert r.status_code == expected, r.content
        if expected == 403:
            assert xml_error_code(r.content) == "SignatureDoesNotMatch"
            assert not os.path.exists(os.path.join(signed_server.root, "stream", f"chunked-{corrupt}"))
        else:
            with open(os.path.join(signed_server.root, "stream", "chunked-None"), "rb") as f:
                assert f.read() == b"".join(chunks)


def test_bucket_scoped_credentials(signed_server):
    admin = client(signed_server, *ADMIN)
    bob = client(signed_server, "BOBKEY", "bob-secret")
    # Bob's owner grant lets him create `bobs`, which the permission model then makes his.
    bob.create_bucket(Bucket="bobs")
    for name in ["shared", "bobs", "private"]:
        if name != "bobs":
            admin.create_bucket(Bucket=name)
        admin.put_object(Bucket=name, Key="k", Body=name.encode())
    assert sorted(b["Name"] for b in bob.list_buckets()["Buckets"]) == ["bobs", "shared"]
    assert bob.get_object(Bucket="shared", Key="k")["Body"].read() == b"shared"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        bob.put_object(Bucket="shared", Key="w", Body=b"no")
    assert error_code(e) == "AccessDenied"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        bob.get_object(Bucket="private", Key="k")
    assert error_code(e) == "AccessDenied"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        bob.list_objects_v2(Bucket="private")
    assert error_code(e) == "AccessDenied"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        bob.copy_object(Bucket="bobs", Key="stolen", CopySource={"Bucket": "private", "Key": "k"})
    assert error_code(e) == "AccessDenied"
    bob.put_object(Bucket="bobs", Key="mine", Body=b"ok")
    bob.delete_object(Bucket="bobs", Key="mine")
    # Alice (unscoped) sees only her own buckets, the admin sees all.
    alice = client(signed_server, "ALICEKEY", "alice-secret")
    assert alice.list_buckets()["Buckets"] == []
    with pytest.raises(botocore.exceptions.ClientError) as e:
        alice.get_object(Bucket="shared", Key="k")
    assert error_code(e) == "AccessDenied"
    assert {"shared", "bobs", "private"} <= {b["Name"] for b in admin.list_buckets()["Buckets"]}


def test_credentials_change_without_restart(signed_server):
    root = signed_server.root
    late = client(signed_server, "LATEKEY", "late-secret")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        late.list_buckets()
    assert error_code(e) == "InvalidAccessKeyId"
    subprocess.run([STRATA_BIN, "credentials", "add", "--root", root, "--user", "late", "--access-key", "LATEKEY",
                    "--secret-key", "late-secret"], check=True, capture_output=True)
    listing = subprocess.run([STRATA_BIN, "credentials", "list", "--root", root], capture_output=True, text=True).stdout
    assert "LATEKEY" in listing and "late-secret" not in listing and "alice-secret" not in listing
    time.sleep(0.5)
    assert late.list_buckets()["Buckets"] == []
    subprocess.run([STRATA_BIN, "credentials", "remove", "--root", root, "--access-key", "LATEKEY"], check=True, capture_output=True)
    time.sleep(0.5)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        late.list_buckets()
    assert error_code(e) == "InvalidAccessKeyId"
    assert "admin-secret" not in signed_server.read_log()
    conf = subprocess.run([STRATA_BIN, "conf"], capture_output=True, text=True,
                          env={**os.environ, "STRATA_ADMIN_SECRET_KEY": "admin-secret-0123456789"}).stdout
    assert "strata.s3.auth.admin.secret.key=********" in conf and "admin-secret" not in conf


def test_signed_streaming_with_signed_trailer(signed_server):
    import base64
    import zlib
    client(signed_server, "ALICEKEY", "alice-secret").create_bucket(Bucket="signed-trailer")
    data = os.urandom(70000)
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    for trailer_value, tamper_signature, expected in [(crc, False, 200), (crc, True, 403)]:
        url = f"{signed_server.endpoint}/signed-trailer/obj-{expected}"
        headers, key, amz_date, scope, seed = sign_v4(
            "PUT", url, {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
                         "x-amz-trailer": "x-amz-checksum-crc32"}, b"",
            "ALICEKEY", "alice-secret", payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")
        framed = chunked_body([data], key, amz_date, scope, seed)
        # chunked_body ends with the signed final chunk; recompute the last signature to chain the trailer.
        previous = seed
        for chunk in [data, b""]:
            to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, hashlib.sha256(b"").hexdigest(),
                                 hashlib.sha256(chunk).hexdigest()])
            previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        trailer = f"x-amz-checksum-crc32:{trailer_value}\n"
        to_sign = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, previous, hashlib.sha256(trailer.encode()).hexdigest()])
        trailer_sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if tamper_signature:
            trailer_sig = "f" * 64
        framed = framed[:-2]  # drop the final CRLF of the last chunk: trailers follow it
        framed += f"x-amz-checksum-crc32:{trailer_value}\r\nx-amz-trailer-signature:{trailer_sig}\r\n\r\n".encode()
        r = requests.put(url, data=framed, headers=headers, timeout=30)
        assert r.status_code == expected, r.content
        if expected == 403:
            assert xml_error_code(r.content) == "SignatureDoesNotMatch"
    s3 = client(signed_server, "ALICEKEY", "alice-secret")
    got = s3.get_object(Bucket="signed-trailer", Key="obj-200", ChecksumMode="ENABLED")
    assert got["Body"].read() == data and got["ChecksumCRC32"] == crc


def test_region_can_be_enforced(start_server, tmp_path):
    root = tmp_path / "region-root"
    root.mkdir()
    server = start_server(root=root, conf=["strata.s3.auth.mode=SIGV4", "strata.s3.auth.region.enforced=true", "strata.s3.region=eu-west-1"],
                          env={"STRATA_ADMIN_ACCESS_KEY": ADMIN[0], "STRATA_ADMIN_SECRET_KEY": ADMIN[1]})
    wrong = client(server, *ADMIN)  # signs for us-east-1
    with pytest.raises(botocore.exceptions.ClientError) as e:
        wrong.list_buckets()
    assert error_code(e) == "AuthorizationHeaderMalformed"
    right = boto3.client("s3", endpoint_url=server.endpoint, region_name="eu-west-1", aws_access_key_id=ADMIN[0],
                         aws_secret_access_key=ADMIN[1], config=Config(s3={"addressing_style": "path"}))
    assert right.list_buckets()["Buckets"] == []


def s3cmd_runner(server, tmp_path):
    """s3cmd configured for ALICEKEY against the server (the one beside this Python when pip installed it)."""
    host = server.endpoint.replace("http://", "")
    cfg = tmp_path / "s3cfg"
    cfg.write_text(f"[default]\naccess_key = ALICEKEY\nsecret_key = alice-secret\nhost_base = {host}\nhost_bucket = {host}\n"
                   "use_https = False\nsignature_v2 = False\n")
    beside_python = os.path.join(os.path.dirname(sys.executable), "s3cmd")
    s3cmd = beside_python if os.path.exists(beside_python) else "s3cmd"
    return lambda *a: subprocess.run([s3cmd, "-c", str(cfg), *a], capture_output=True, text=True, timeout=120)


def test_s3cmd_signed_and_signurl(signed_server, tmp_path):
    run = s3cmd_runner(signed_server, tmp_path)
    assert run("mb", "s3://s3cmd-bucket").returncode == 0
    src = tmp_path / "h.txt"
    src.write_text("hello from s3cmd")
    assert run("put", str(src), "s3://s3cmd-bucket/h.txt").returncode == 0
    assert "s3://s3cmd-bucket/h.txt" in run("ls", "s3://s3cmd-bucket").stdout
    url = run("signurl", "s3://s3cmd-bucket/h.txt", "+300").stdout.strip()
    assert "AWSAccessKeyId=ALICEKEY" in url and "Signature=" in url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and r.text == "hello from s3cmd"
    r = requests.get(url.replace("h.txt", "x.txt"), timeout=30)
    assert r.status_code == 403 and xml_error_code(r.content) == "SignatureDoesNotMatch"


def test_dates_from_the_date_header(signed_server):
    """SigV4 dated by the Date header alone (botocore does this when a Date header is present) is signed with that
    instant in X-Amz-Date's form; a SigV2 date before 1970 is AccessDenied rather than a clock skew."""
    from email.utils import formatdate

    from conftest import http_request, sign_v4_raw
    client(signed_server, "ALICEKEY", "alice-secret").create_bucket(Bucket="dated")
    now = datetime.datetime.now(datetime.timezone.utc)
    headers = sign_v4_raw("PUT", "/dated/by-date", signed_server.port, {"Date": formatdate(now.timestamp(), usegmt=True)}, b"dated",
                          "ALICEKEY", "alice-secret", amz_date=now.strftime("%Y%m%dT%H%M%SZ"), omit_amz_date=True)
    assert "x-amz-date" not in {k.lower() for k in headers}
    assert http_request(signed_server.port, "PUT", "/dated/by-date", headers, b"dated")[0] == 200
    v2 = client(signed_server, "ALICEKEY", "alice-secret", signature_version="s3")
    v2.meta.events.register("before-call.s3.PutObject", lambda **kw: kw["params"]["headers"].update({"x-amz-date": "Tue, 07 Jul 1950 21:53:04 GMT"}))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        v2.put_object(Bucket="dated", Key="old", Body=b"x")
    assert error_code(e) == "AccessDenied"


def test_s3cmd_setacl_public_and_private(signed_server, tmp_path):
    """s3cmd's setacl sends a grant list (owner FULL_CONTROL, AllUsers READ): it means public-read, and anonymous
    readers get the object until --acl-private takes it back. A grant to another user is refused, not ignored."""
    run = s3cmd_runner(signed_server, tmp_path)
    s3 = client(signed_server, "ALICEKEY", "alice-secret")
    s3.create_bucket(Bucket="acl-bucket")
    s3.put_object(Bucket="acl-bucket", Key="page.txt", Body=b"public soon")
    anonymous = f"{signed_server.endpoint}/acl-bucket/page.txt"
    assert requests.get(anonymous, timeout=30).status_code == 403
    result = run("setacl", "--acl-public", "s3://acl-bucket/page.txt")
    assert result.returncode == 0, result.stderr
    got = requests.get(anonymous, timeout=30)
    assert got.content == b"public soon", (got.content, run("info", "s3://acl-bucket/page.txt").stdout)
    grants = s3.get_object_acl(Bucket="acl-bucket", Key="page.txt")["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"} in grants
    assert run("setacl", "--acl-private", "s3://acl-bucket/page.txt").returncode == 0
    assert requests.get(anonymous, timeout=30).status_code == 403
    owner = s3.get_object_acl(Bucket="acl-bucket", Key="page.txt")["Owner"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object_acl(Bucket="acl-bucket", Key="page.txt", AccessControlPolicy={"Owner": owner, "Grants": [
            {"Grantee": {"Type": "CanonicalUser", "ID": "someone-else"}, "Permission": "READ"}]})
    assert error_code(e) == "NotImplemented"
