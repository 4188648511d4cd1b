"""Tiering to an upstream S3 (moto's server): write types, read-through, revalidation, delete types, faults."""
import os
import signal
import subprocess
import time

import botocore
import pytest

from conftest import error_code, raw_request, rss_kib, wait_for


def exists_upstream(up, bucket, key):
    try:
        up.head_object(Bucket=bucket, Key=key)
        return True
    except botocore.exceptions.ClientError:
        return False


def local_path(server, bucket, key):
    return os.path.join(server.root, bucket, key)



@pytest.mark.parametrize("write_type", ["MUST_CACHE", "CACHE_THROUGH", "THROUGH", "ASYNC_THROUGH"])
def test_write_types_put_copy_delete(start_server, moto, write_type):
    server = start_server(conf=moto.conf() + [f"alluxio.proxy.s3.writetype={write_type}"])
    s3, up = server.client(), moto.client()
    s3.create_bucket(Bucket="tiered")
    up.head_bucket(Bucket="tiered")  # CreateBucket made the upstream bucket too
    put = s3.put_object(Bucket="tiered", Key="dir/obj", Body=b"payload " * 100, ContentType="text/plain")
    state = put["ResponseMetadata"]["HTTPHeaders"].get("x-strata-persistence")
    local = os.path.exists(local_path(server, "tiered", "dir/obj"))
    if write_type == "MUST_CACHE":
        assert local and not exists_upstream(up, "tiered", "dir/obj") and state == "local"
    elif write_type == "CACHE_THROUGH":
        assert local and exists_upstream(up, "tiered", "dir/obj") and state == "persisted"
    elif write_type == "THROUGH":
        assert not local and exists_upstream(up, "tiered", "dir/obj") and state == "upstream"
    else:
        assert local and state == "pending"
        assert wait_for(lambda: exists_upstream(up, "tiered", "dir/obj"))
        assert wait_for(lambda: s3.head_object(Bucket="tiered", Key="dir/obj")["ResponseMetadata"]["HTTPHeaders"]["x-strata-persistence"] == "persisted")
    # Reads work whichever tier holds the bytes.
    got = s3.get_object(Bucket="tiered", Key="dir/obj")
    assert got["Body"].read() == b"payload " * 100
    if write_type != "MUST_CACHE":
        assert up.get_object(Bucket="tiered", Key="dir/obj")["Body"].read() == b"payload " * 100
    s3.delete_object(Bucket="tiered", Key="dir/obj")
    assert not os.path.exists(local_path(server, "tiered", "dir/obj"))
    assert not exists_upstream(up, "tiered", "dir/obj")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket="tiered", Key="dir/obj")
    assert error_code(e) == "NoSuchKey"


@pytest.mark.parametrize("write_type", ["CACHE_THROUGH", "ASYNC_THROUGH"])
def test_upstream_copy_keeps_every_header_and_tag(start_server, moto, write_type):
    """What reaches the upstream is what a read-through after eviction returns: the synchronous write and the
    asynchronous persister send the same content headers, user metadata and tags."""
    server = start_server(conf=moto.conf() + [f"strata.proxy.s3.writetype={write_type}"])
    s3, up = server.client(), moto.client()
    s3.create_bucket(Bucket="headers")
    s3.put_object(Bucket="headers", Key="data.csv.gz", Body=b"\x1f\x8b compressed", ContentType="text/csv",
                  ContentEncoding="gzip", ContentDisposition='attachment; filename="data.csv.gz"',
                  ContentLanguage="en", CacheControl="max-age=60", Expires="Wed, 21 Oct 2026 07:28:00 GMT",
                  Metadata={"origin": "job-7"}, Tagging="team=data&tier=gold")
    assert wait_for(lambda: exists_upstream(up, "headers", "data.csv.gz"))
    head = up.head_object(Bucket="headers", Key="data.csv.gz")
    assert head["ContentType"] == "text/csv" and head["ContentEncoding"] == "gzip"
    assert head["ContentDisposition"] == 'attachment; filename="data.csv.gz"' and head["ContentLanguage"] == "en"
    # Beside the user's metadata, the object's permission (owner, group, mode), so a read-through after eviction is
    # checked as a local read.
    metadata = dict(head["Metadata"])
    permission = metadata.pop("strata-permission").split(";")
    assert head["CacheControl"] == "max-age=60" and metadata == {"origin": "job-7"}
    assert permission[0] == "1" and permission[3] == "644" and len(permission) == 4
    assert head["ResponseMetadata"]["HTTPHeaders"]["expires"] == "Wed, 21 Oct 2026 07:28:00 GMT"
    tags = up.get_object_tagging(Bucket="headers", Key="data.csv.gz")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("team", "data"), ("tier", "gold")]


def test_delete_objects_keeps_the_intent_of_a_key_whose_local_delete_failed(start_server, moto):
    """DeleteObjects removes each key upstream first; a key whose local copy then cannot be removed is reported as
    failed and its delete intent stays journaled (the persister finishes it), as for a single delete."""
    import requests
    server = start_server(conf=moto.conf() + ["strata.proxy.s3.writetype=CACHE_THROUGH"])
    s3, up = server.client(), moto.client()
    s3.create_bucket(Bucket="stuck")
    for key in ["free", "pinned"]:
        s3.put_object(Bucket="stuck", Key=key, Body=b"x")
    pinned = local_path(server, "stuck", "pinned")
    if subprocess.run(["chattr", "+i", pinned], capture_output=True).returncode != 0:
        pytest.skip("this filesystem has no immutable flag")
    try:
        result = s3.delete_objects(Bucket="stuck", Delete={"Objects": [{"Key": "free"}, {"Key": "pinned"}]})
        assert [d["Key"] for d in result.get("Deleted", [])] == ["free"]
        assert [e["Key"] for e in result.get("Errors", [])] == ["pinned"]
        assert not exists_upstream(up, "stuck", "free") and not exists_upstream(up, "stuck", "pinned")
        assert os.path.exists(pinned)
        metrics = requests.get(server.admin_endpoint + "/metrics", timeout=10).text
        assert "strata_journal_pending_entries 1" in metrics
    finally:
        subprocess.run(["chattr", "-i", pinned], capture_output=True)


def test_read_through_fills_cache_and_revalidates(start_server, moto):
    server = start_server(conf=moto.conf() + ["strata.proxy.s3.writetype=CACHE_THROUGH", "alluxio.user.file.metadata.sync.interval=1sec"])
    s3, up = server.client(), moto.client()
    s3.create_bucket(Bucket="read-through")
    up.put_object(Bucket="read-through", Key="only-upstream.csv", Body=b"a,b\n1,2\n", ContentType="text/csv")
    assert not os.path.exists(local_path(server, "read-through", "only-upstream.csv"))
    got = s3.get_object(Bucket="read-through", Key="only-upstream.csv")
    assert got["Body"].read() == b"a,b\n1,2\n" and got["ContentType"] == "text/csv"
    assert wait_for(lambda: os.path.exists(local_path(server, "read-through", "only-upstream.csv")), 5)
    ranged = s3.get_object(Bucket="read-through", Key="only-upstream.csv", Range="bytes=2-3")
    assert ranged["Body"].read() == b"b\n"
    # Changed upstream: served fresh after the staleness bound.
    up.put_object(Bucket="read-through", Key="only-upstream.csv", Body=b"a,b\n3,4\n")
    time.sleep(1.2)
    assert s3.get_object(Bucket="read-through", Key="only-upstream.csv")["Body"].read() == b"a,b\n3,4\n"
    # Deleted upstream: disappears.
    up.delete_object(Bucket="read-through", Key="only-upstream.csv")
    time.sleep(1.2)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket="read-through", Key="only-upstream.csv")
    assert error_code(e) == "NoSuchKey"
    assert not os.path.exists(local_path(server, "read-through", "only-upstream.csv"))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_object(Bucket="read-through", Key="missing-everywhere")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_no_cache_read_type_and_local_only_delete(start_server, moto):
    server = start_server(conf=moto.conf() + ["strata.user.file.readtype.default=NO_CACHE", "strata.proxy.s3.deletetype=ALLUXIO_ONLY",
                                              "strata.proxy.s3.writetype=CACHE_THROUGH"])
    s3, up = server.client(), moto.client()
    s3.create_bucket(Bucket="no-cache")
    up.put_object(Bucket="no-cache", Key="k", Body=b"upstream bytes")
    assert s3.get_object(Bucket="no-cache", Key="k")["Body"].read() == b"upstream bytes"
    time.sleep(0.3)
    assert not os.path.exists(local_path(server, "no-cache", "k"))
    s3.put_object(Bucket="no-cache", Key="both", Body=b"x")
    s3.delete_object(Bucket="no-cache", Key="both")
    assert not os.path.exists(local_path(server, "no-cache", "both"))
    assert exists_upstream(up, "no-cache", "both")


def test_per_bucket_overrides_and_prefix(start_server, moto):
    moto.client().create_bucket(Bucket="remote-name")
    server = start_server(conf=moto.conf() + ["strata.bucket.mapped.writetype=THROUGH", "strata.bucket.mapped.upstream.bucket=remote-name",
                                              "strata.bucket.mapped.upstream.prefix=tenant-a/"])
    s3, up = server.client(), moto.client()
    s3.create_bucket(Bucket="mapped")
    s3.create_bucket(Bucket="plain")
    s3.put_object(Bucket="mapped", Key="f", Body=b"through")
    s3.put_object(Bucket="plain", Key="f", Body=b"cached")
    assert up.get_object(Bucket="remote-name", Key="tenant-a/f")["Body"].read() == b"through"
    assert not exists_upstream(up, "plain", "f")
    assert s3.get_object(Bucket="mapped", Key="f")["Body"].read() == b"through"


def test_cache_through_with_upstream_down_stores_nothing(start_server, moto):
    server = start_server(conf=moto.conf() + ["strata.proxy.s3.writetype=CACHE_THROUGH", "strata.underfs.s3.connect.timeout=2sec"])
    s3 = server.client()
    s3.create_bucket(Bucket="down")
    s3.put_object(Bucket="down", Key="k", Body=b"old")
    moto.stop()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket="down", Key="k", Body=b"new")
    assert error_code(e) == "ServiceUnavailable"
    with pytest.raises(botocore.exceptions.ClientError):
        s3.put_object(Bucket="down", Key="fresh", Body=b"never")
    assert open(local_path(server, "down", "k"), "rb").read() == b"old"
    assert not os.path.exists(local_path(server, "down", "fresh"))
    # The cached copy stays readable while the upstream is away.
    assert s3.get_object(Bucket="down", Key="k")["Body"].read() == b"old"


def test_async_through_survives_outage_and_restart(start_server, moto, tmp_path):
    root = tmp_path / "async-root"
    conf = moto.conf() + ["strata.proxy.s3.writetype=ASYNC_THROUGH", "strata.proxy.s3.async.through.retry.max.delay=1sec",
                          "strata.underfs.s3.connect.timeout=1sec"]
    server = start_server(root=root, conf=conf)
    s3 = server.client()
    s3.create_bucket(Bucket="journal")
    moto.stop()
    for i in range(5):
        s3.put_object(Bucket="journal", Key=f"k{i}", Body=f"v{i}".encode())
    s3.put_object(Bucket="journal", Key="k0", Body=b"v0-newer")  # supersedes the pending k0
    journal = os.path.join(str(root), ".strata", "journal")
    assert len([n for n in os.listdir(journal) if n.endswith(".json")]) == 5
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(timeout=10)
    moto.start()  # an empty upstream again: the bucket must be there for persists to succeed
    up = moto.client()
    up.create_bucket(Bucket="journal")
    again = start_server(root=root, conf=conf)
    assert wait_for(lambda: len([n for n in os.listdir(journal) if n.endswith(".json")]) == 0, 60)
    for i in range(1, 5):
        assert up.get_object(Bucket="journal", Key=f"k{i}")["Body"].read() == f"v{i}".encode()
    assert up.get_object(Bucket="journal", Key="k0")["Body"].read() == b"v0-newer"
    keys = [o["Key"] for o in up.list_objects_v2(Bucket="journal")["Contents"]]
    assert keys == ["k0", "k1", "k2", "k3", "k4"]
    assert again.client().head_object(Bucket="journal", Key="k3")["ResponseMetadata"]["HTTPHeaders"]["x-strata-persistence"] == "persisted"


def test_listing_merges_upstream_and_pending_local(start_server, moto):
    server = start_server(conf=moto.conf() + ["strata.proxy.s3.writetype=ASYNC_THROUGH", "strata.bucket.merge.writetype=MUST_CACHE"])
    s3, up = server.client(), moto.client()
    s3.create_bucket(Bucket="merge")
    for key in ["a/1", "c", "e/x/y"]:
        up.put_object(Bucket="merge", Key=key, Body=b"up")
    for key in ["b", "d/2", "c"]:
        s3.put_object(Bucket="merge", Key=key, Body=b"local")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="merge")["Contents"]]
    assert keys == ["a/1", "b", "c", "d/2", "e/x/y"]
    page = s3.list_objects_v2(Bucket="merge", Delimiter="/")
    assert [o["Key"] for o in page["Contents"]] == ["b", "c"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["a/", "d/", "e/"]
    paginator = s3.get_paginator("list_objects_v2")
    paged = [o["Key"] for p in paginator.paginate(Bucket="merge", PaginationConfig={"PageSize": 2}) for o in p.get("Contents", [])]
    assert paged == keys


def test_copy_and_multipart_persist_by_write_type(start_server, moto):
    server = start_server(conf=moto.conf() + ["strata.proxy.s3.writetype=CACHE_THROUGH",
                                              "strata.proxy.s3.complete.multipart.upload.min.part.size=0"])
    s3, up = server.client(), moto.client()
    s3.create_bucket(Bucket="persist")
    s3.put_object(Bucket="persist", Key="src", Body=b"source")
    s3.copy_object(Bucket="persist", Key="copied", CopySource={"Bucket": "persist", "Key": "src"})
    assert up.get_object(Bucket="persist", Key="copied")["Body"].read() == b"source"
    upload = s3.create_multipart_upload(Bucket="persist", Key="joined")["UploadId"]
    e1 = s3.upload_part(Bucket="persist", Key="joined", UploadId=upload, PartNumber=1, Body=b"part-one,")["ETag"]
    e2 = s3.upload_part(Bucket="persist", Key="joined", UploadId=upload, PartNumber=2, Body=b"part-two")["ETag"]
    s3.complete_multipart_upload(Bucket="persist", Key="joined", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert up.get_object(Bucket="persist", Key="joined")["Body"].read() == b"part-one,part-two"
    assert os.path.exists(local_path(server, "persist", "joined"))



def test_through_one_gib_with_flat_memory(start_server, moto):
    import http.client
    from conftest import simple_auth
    server = start_server(conf=moto.conf() + ["strata.proxy.s3.writetype=THROUGH"])
    s3, up = server.client(), moto.client()
    s3.create_bucket(Bucket="huge")
    size = 1024 * 1024 * 1024
    chunk = os.urandom(1024 * 1024)

    class Source:
        left = size

        def read(self, n=-1):
            if self.left <= 0:
                return b""
            n = min(self.left, len(chunk))
            self.left -= n
            return chunk[:n]

    baseline = rss_kib(server.proc.pid)
    peak = baseline
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    conn.putrequest("PUT", "/huge/one-gib")
    for k, v in {**simple_auth(), "Content-Length": str(size)}.items():
        conn.putheader(k, v)
    conn.endheaders()
    source = Source()
    while True:
        data = source.read()
        if not data:
            break
        conn.send(data)
        if source.left % (64 * 1024 * 1024) == 0:
            peak = max(peak, rss_kib(server.proc.pid))
    response = conn.getresponse()
    assert response.status == 200, response.read()
    conn.close()
    peak = max(peak, rss_kib(server.proc.pid))
    print(f"THROUGH 1 GiB: rss baseline={baseline} KiB peak={peak} KiB")
    assert up.head_object(Bucket="huge", Key="one-gib")["ContentLength"] == size
    assert not os.path.exists(local_path(server, "huge", "one-gib"))
    assert peak - baseline < 128 * 1024, (baseline, peak)


def test_ranged_miss_fills_cache_and_metrics(start_server, moto):
    import requests
    server = start_server(conf=moto.conf() + ["strata.proxy.s3.writetype=ASYNC_THROUGH"])
    s3, up = server.client(), moto.client()
    s3.create_bucket(Bucket="footer")
    body = os.urandom(3 * 1024 * 1024)
    up.put_object(Bucket="footer", Key="table.parquet", Body=body)
    tail = s3.get_object(Bucket="footer", Key="table.parquet", Range="bytes=-8")
    assert tail["Body"].read() == body[-8:] and tail["ResponseMetadata"]["HTTPHeaders"]["x-strata-persistence"] == "upstream"
    assert wait_for(lambda: os.path.exists(local_path(server, "footer", "table.parquet")), 10)
    hit = s3.get_object(Bucket="footer", Key="table.parquet", Range="bytes=100-199")
    assert hit["Body"].read() == body[100:200] and hit["ResponseMetadata"]["HTTPHeaders"]["x-strata-persistence"] == "persisted"
    moto.stop()
    s3.put_object(Bucket="footer", Key="pending", Body=b"12345")
    metrics = requests.get(server.admin_endpoint + "/metrics", timeout=10).text
    assert "strata_cache_misses_total 1" in metrics and "strata_cache_hits_total 1" in metrics
    assert "strata_journal_pending_entries 1" in metrics and "strata_journal_pending_bytes 5" in metrics


@pytest.mark.parametrize("write_type", ["MUST_CACHE", "CACHE_THROUGH", "THROUGH", "ASYNC_THROUGH"])
def test_write_types_multipart_and_copy(start_server, moto, write_type):
    server = start_server(conf=moto.conf() + [f"strata.proxy.s3.writetype={write_type}"])
    s3, up = server.client(), moto.client()
    s3.create_bucket(Bucket="mpu")
    parts = [os.urandom(5 * 1024 * 1024), b"tail"]
    upload = s3.create_multipart_upload(Bucket="mpu", Key="big", ContentType="application/octet-stream")["UploadId"]
    etags = [s3.upload_part(Bucket="mpu", Key="big", UploadId=upload, PartNumber=i + 1, Body=p)["ETag"] for i, p in enumerate(parts)]
    listed = s3.list_parts(Bucket="mpu", Key="big", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in listed] == [(1, len(parts[0])), (2, 4)]
    done = s3.complete_multipart_upload(Bucket="mpu", Key="big", UploadId=upload,
                                        MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
    assert done["ETag"].endswith('-2"')
    s3.copy_object(Bucket="mpu", Key="copy", CopySource={"Bucket": "mpu", "Key": "big"})
    for key in ["big", "copy"]:
        local = os.path.exists(local_path(server, "mpu", key))
        if write_type == "MUST_CACHE":
            assert local and not exists_upstream(up, "mpu", key)
        elif write_type == "CACHE_THROUGH":
            assert local and exists_upstream(up, "mpu", key)
        elif write_type == "THROUGH":
            assert not local and exists_upstream(up, "mpu", key)
        else:
            assert local and wait_for(lambda: exists_upstream(up, "mpu", key))
        assert s3.get_object(Bucket="mpu", Key=key)["Body"].read() == b"".join(parts)
    assert os.listdir(os.path.join(server.root, "mpu", ".strata.uploads")) == []
    if write_type == "THROUGH":
        aborted = s3.create_multipart_upload(Bucket="mpu", Key="aborted")["UploadId"]
        s3.upload_part(Bucket="mpu", Key="aborted", UploadId=aborted, PartNumber=1, Body=b"x")
        s3.abort_multipart_upload(Bucket="mpu", Key="aborted", UploadId=aborted)
        assert up.list_multipart_uploads(Bucket="mpu").get("Uploads", []) == []


def test_cache_quota_evicts_least_recently_read_persisted_copies(start_server, moto):
    server = start_server(conf=moto.conf() + ["strata.cache.quota=1MB", "strata.cache.eviction.interval=200ms",
                                              "strata.user.file.metadata.sync.interval=-1"])
    s3, up = server.client(), moto.client()
    s3.create_bucket(Bucket="quota")
    blob = os.urandom(400 * 1024)
    for name in ["old", "mid", "new"]:
        up.put_object(Bucket="quota", Key=name, Body=blob)
    for name in ["old", "mid", "new"]:
        assert s3.get_object(Bucket="quota", Key=name)["Body"].read() == blob
        assert wait_for(lambda: os.path.exists(local_path(server, "quota", name)), 5)
        time.sleep(0.05)
    # A local-only object (MUST_CACHE default) counts toward the quota but is never evicted.
    s3.put_object(Bucket="quota", Key="local-only", Body=blob)
    def total():
        return sum(os.path.getsize(local_path(server, "quota", n)) for n in ["old", "mid", "new", "local-only"]
                   if os.path.exists(local_path(server, "quota", n)))

    assert wait_for(lambda: total() <= 1024 * 1024, 10)
    assert not os.path.exists(local_path(server, "quota", "old"))
    assert os.path.exists(local_path(server, "quota", "local-only"))
    assert os.path.exists(local_path(server, "quota", "new"))
    # An evicted object is read through again.
    assert s3.get_object(Bucket="quota", Key="old")["Body"].read() == blob


def test_delete_objects_removes_upstream_copies(start_server, moto):
    server = start_server(conf=moto.conf() + ["strata.proxy.s3.writetype=CACHE_THROUGH"])
    s3, up = server.client(), moto.client()
    s3.create_bucket(Bucket="bulk")
    keys = [f"k{i:03d}" for i in range(60)]
    for key in keys:
        s3.put_object(Bucket="bulk", Key=key, Body=b"x")
    result = s3.delete_objects(Bucket="bulk", Delete={"Objects": [{"Key": k} for k in keys]})
    assert len(result["Deleted"]) == 60 and "Errors" not in result
    assert up.list_objects_v2(Bucket="bulk").get("KeyCount", 0) == 0
    assert s3.list_objects_v2(Bucket="bulk")["KeyCount"] == 0


def test_cleaner_aborts_the_upstream_half_of_through_uploads(start_server, moto):
    server = start_server(conf=moto.conf() + ["strata.proxy.s3.writetype=THROUGH", "strata.proxy.s3.multipart.upload.cleaner.timeout=2sec"])
    s3, up = server.client(), moto.client()
    s3.create_bucket(Bucket="stale-through")
    upload = s3.create_multipart_upload(Bucket="stale-through", Key="k")["UploadId"]
    s3.upload_part(Bucket="stale-through", Key="k", UploadId=upload, PartNumber=1, Body=b"x" * 1000)
    assert len(up.list_multipart_uploads(Bucket="stale-through").get("Uploads", [])) == 1
    assert wait_for(lambda: up.list_multipart_uploads(Bucket="stale-through").get("Uploads", []) == [], 30)
    # The local half goes after the upstream one: wait for it rather than racing the cleaner.
    assert wait_for(lambda: os.listdir(os.path.join(server.root, "stale-through", ".strata.uploads")) == [], 10)


@pytest.mark.parametrize("write_type", ["MUST_CACHE", "CACHE_THROUGH", "THROUGH"])
def test_bodies_of_unknown_length_reach_every_tier(start_server, moto, write_type):
    """A chunked PUT and a browser-form POST declare no object length; an upstream PUT needs one, so the body is
    spooled to a temporary file first and nothing of it is left behind."""
    import http.client

    import requests
    server = start_server(conf=moto.conf() + [f"strata.proxy.s3.writetype={write_type}"])
    s3, up = server.client(), moto.client()
    s3.create_bucket(Bucket="unknown")
    data = os.urandom(3 * 1024 * 1024 + 5)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.putrequest("PUT", "/unknown/chunked")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.putheader("Authorization", "AWS4-HMAC-SHA256 Credential=alice/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0")
    conn.endheaders()
    for i in range(0, len(data), 100_000):
        piece = data[i:i + 100_000]
        conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
    conn.send(b"0\r\n\r\n")
    assert conn.getresponse().status == 200
    conn.close()
    r = requests.post(f"{server.endpoint}/unknown", files=[("key", (None, "form")), ("AWSAccessKeyId", (None, "alice")), ("file", data)],
                      timeout=60)
    assert r.status_code == 204, r.text
    # No spool file is left, and THROUGH keeps nothing locally (until a read fills the cache).
    assert sorted(os.listdir(os.path.join(server.root, "unknown"))) == (["chunked", "form"] if write_type != "THROUGH" else [])
    for key in ["chunked", "form"]:
        if write_type != "MUST_CACHE":
            assert up.get_object(Bucket="unknown", Key=key)["Body"].read() == data
        assert s3.get_object(Bucket="unknown", Key=key)["Body"].read() == data


def test_tags_acls_and_part_copies_outlive_the_local_copy(start_server, moto):
    """What a key carries besides its bytes (tags, permission) is the upstream's too: read and changed after the
    local copy went, and brought back with a refilled copy; a part copy from an evicted source reads it through."""
    server = start_server(conf=moto.conf() + ["strata.proxy.s3.writetype=CACHE_THROUGH"])
    s3, up = server.client(), moto.client()
    s3.create_bucket(Bucket="carry")
    s3.put_object(Bucket="carry", Key="k", Body=b"x" * 6_000_000, Tagging="team=data")
    os.remove(local_path(server, "carry", "k"))
    assert s3.get_object_tagging(Bucket="carry", Key="k")["TagSet"] == [{"Key": "team", "Value": "data"}]
    s3.put_object_tagging(Bucket="carry", Key="k", Tagging={"TagSet": [{"Key": "tier", "Value": "gold"}]})
    assert up.get_object_tagging(Bucket="carry", Key="k")["TagSet"] == [{"Key": "tier", "Value": "gold"}]
    # A read-through fills the cache with the tags; a change to the local copy reaches the upstream.
    got = s3.get_object(Bucket="carry", Key="k")
    assert got["TagCount"] == 1 and len(got["Body"].read()) == 6_000_000
    assert wait_for(lambda: os.path.exists(local_path(server, "carry", "k")))
    assert s3.get_object_tagging(Bucket="carry", Key="k")["TagSet"] == [{"Key": "tier", "Value": "gold"}]
    s3.put_object_tagging(Bucket="carry", Key="k", Tagging={"TagSet": []})
    assert up.get_object_tagging(Bucket="carry", Key="k")["TagSet"] == []
    # The ACL of an evicted object is read and changed through the upstream.
    os.remove(local_path(server, "carry", "k"))
    s3.put_object_acl(Bucket="carry", Key="k", ACL="public-read")
    assert up.head_object(Bucket="carry", Key="k")["Metadata"]["strata-permission"].endswith(";public")
    os.remove(local_path(server, "carry", "k"))
    grants = s3.get_object_acl(Bucket="carry", Key="k")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in grants)
    # UploadPartCopy from a source that lives only upstream.
    os.remove(local_path(server, "carry", "k")) if os.path.exists(local_path(server, "carry", "k")) else None
    upload = s3.create_multipart_upload(Bucket="carry", Key="joined")["UploadId"]
    part = s3.upload_part_copy(Bucket="carry", Key="joined", UploadId=upload, PartNumber=1, CopySource={"Bucket": "carry", "Key": "k"})
    s3.complete_multipart_upload(Bucket="carry", Key="joined", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket="carry", Key="joined")["Body"].read() == b"x" * 6_000_000
