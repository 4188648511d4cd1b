"""A crash-consistency campaign: one node of two sharing a root is killed with SIGKILL at a random point of a mixed
workload (puts, overwrites, deletes, multipart uploads and their Completes, ASYNC_THROUGH journal uploads), many times
in a row. After every kill the surviving node must show every acknowledged write, no partial object, and be able to
finish the dead node's work: a Complete left in doubt is retried through it and succeeds, and the journal drains to the
upstream with the final content of every key. On a local directory and, when one is mounted, a network filesystem."""
import os
import random
import signal
import threading
import time

import botocore

from conftest import wait_for
import pytest

ROUNDS = 12
PART = 5 * 1024 * 1024



class Ledger:
    """What the client was told (acknowledged) and what it merely attempted, per key."""

    def __init__(self):
        self.acked = {}  # key -> body, or None when the last acknowledged operation deleted it
        self.in_doubt = {}  # key -> bodies (None for a delete) sent without an answer
        self.attempted = {}  # key -> every body ever sent
        self.open_uploads = []  # (key, upload id) created and not completed
        self.doubtful_completes = []  # (key, upload id, parts, expected body)


def workload(s3, bucket, round_number, ledger, rng, complete_sent):
    i = 0
    while True:
        i += 1
        op = rng.random()
        known = [k for k, v in ledger.acked.items() if v is not None]
        try:
            if op < 0.65 or not known:
                # A new key, or an overwrite of a known one.
                new = op < 0.45 or not known
                key = f"r{round_number:02d}/k{i:03d}" if new else rng.choice(known)
                body = os.urandom(rng.randint(1, 200_000))
                ledger.attempted.setdefault(key, []).append(body)
                ledger.in_doubt.setdefault(key, []).append(body)
                s3.put_object(Bucket=bucket, Key=key, Body=body)
                ledger.in_doubt.pop(key)
                ledger.acked[key] = body
            elif op < 0.75:
                key = rng.choice(known)
                ledger.in_doubt.setdefault(key, []).append(None)
                s3.delete_object(Bucket=bucket, Key=key)
                ledger.in_doubt.pop(key)
                ledger.acked[key] = None
            else:
                key = f"r{round_number:02d}/mp{i:03d}"
                upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
                ledger.open_uploads.append((key, upload))
                bodies = [os.urandom(PART) for _ in range(rng.randint(1, 3))] + [os.urandom(rng.randint(1, 50_000))]
                parts = []
                for n, body in enumerate(bodies, start=1):
                    parts.append({"PartNumber": n, "ETag": s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=n, Body=body)["ETag"]})
                expected = b"".join(bodies)
                ledger.attempted.setdefault(key, []).append(expected)
                ledger.open_uploads.remove((key, upload))
                ledger.doubtful_completes.append((key, upload, parts, expected))
                complete_sent.set()
                s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts})
                ledger.doubtful_completes.pop()
                ledger.acked[key] = expected
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
            return  # the node died under this request: the ledger says what is in doubt


def read(s3, bucket, key):
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except botocore.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "NoSuchKey"
        return None


def journal_drained(journal):
    return not [n for n in os.listdir(journal) if n.endswith(".json")]


def check_invariants(s3, bucket, ledger, journal):
    # Every acknowledged write is there, unless a later request without an answer may have replaced or deleted it.
    for key, body in ledger.acked.items():
        got = read(s3, bucket, key)
        assert got == body or got in ledger.in_doubt.get(key, []), f"{key}: acknowledged content lost"
    # Nothing partial: every listed object is exactly one of the bodies written to its key.
    listed = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        listed += [o["Key"] for o in page.get("Contents", [])]
    for key in listed:
        got = read(s3, bucket, key)
        assert got is None or got in ledger.attempted.get(key, []), f"{key}: content that no client wrote"
    # The dead node's Complete is finished by the survivor: the upload is whole on disk whatever the kill interrupted.
    for key, upload, parts, expected in ledger.doubtful_completes:
        try:
            s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts})
        except botocore.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] == "NoSuchUpload"  # the dead node had finished it
        assert read(s3, bucket, key) == expected
        ledger.acked[key] = expected
    ledger.doubtful_completes.clear()
    # Uploads the dead node created are still open on the shared root and can be aborted through the survivor.
    open_ids = {u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])}
    for key, upload in ledger.open_uploads:
        assert upload in open_ids
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
    ledger.open_uploads.clear()
    # Settle what was in doubt to what the survivor serves. A delete cut off between its upstream and local halves is
    # finished by the survivor's persister once its 30 s hold ends, so until the journal drains the key may still be
    # served (a write in doubt is either published locally or not, and stays as it is).
    if any(None in bodies for bodies in ledger.in_doubt.values()):
        assert wait_for(lambda: journal_drained(journal), timeout=120)
    for key in list(ledger.in_doubt):
        ledger.acked[key] = read(s3, bucket, key)
    ledger.in_doubt.clear()


def test_repeated_kills_lose_no_acknowledged_write(shared_root, start_server, moto):
    root = shared_root(0)
    conf = moto.conf() + ["strata.proxy.s3.writetype=ASYNC_THROUGH", "strata.proxy.s3.async.through.workers=4",
                          "strata.cluster.enabled=true"]
    survivor = start_server(root=shared_root(0), conf=conf)
    s3 = survivor.client()
    s3.create_bucket(Bucket="campaign")
    ledger = Ledger()
    journal = os.path.join(str(root), ".strata", "journal")
    rng = random.Random(int(os.environ.get("STRATA_CAMPAIGN_SEED", "20261201")))
    for round_number in range(ROUNDS):
        victim = start_server(root=shared_root(round_number + 1), conf=conf)
        complete_sent = threading.Event()
        worker = threading.Thread(target=workload, args=(victim.client(), "campaign", round_number, ledger,
                                                         random.Random(rng.random()), complete_sent))
        worker.start()
        if round_number % 3 == 2:
            # Aim at a Complete: kill just after one is sent.
            complete_sent.wait(timeout=20)
            time.sleep(rng.uniform(0, 0.01))
        else:
            time.sleep(rng.uniform(0.05, 0.8))  # the kill lands at a random point of the workload
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(timeout=20)
        worker.join(timeout=60)
        assert not worker.is_alive()
        check_invariants(s3, "campaign", ledger, journal)
    # The journal drains through the survivor: the upstream and the survivor agree on every key, and hold what the
    # client was last told.
    assert wait_for(lambda: journal_drained(journal), timeout=120)
    up = moto.client()
    for key, body in ledger.acked.items():
        assert read(s3, "campaign", key) == body, key
        assert read(up, "campaign", key) == body, key
    assert wait_for(lambda: os.listdir(os.path.join(journal, "leases")) == [], timeout=30)


def test_a_delete_cut_off_between_upstream_and_local_is_finished(start_server, moto, tmp_path):
    """A node that dies after deleting upstream but before deleting its local copy leaves a delete intent in the
    journal; the next node to run finishes both halves, so the two sides never disagree for good."""
    import hashlib
    import json
    root = tmp_path / "delete-root"
    root.mkdir()
    conf = moto.conf() + ["strata.proxy.s3.writetype=CACHE_THROUGH"]
    node = start_server(root=root, conf=conf)
    s3 = node.client()
    s3.create_bucket(Bucket="halves")
    s3.put_object(Bucket="halves", Key="doomed", Body=b"old bytes")
    node.stop()
    # The state the crash leaves: the intent recorded, the upstream copy gone, the local copy still there.
    moto.client().delete_object(Bucket="halves", Key="doomed")
    journal = os.path.join(str(root), ".strata", "journal")
    name = hashlib.sha256(b"halves\x00doomed").hexdigest() + ".json"
    with open(os.path.join(journal, name), "w") as f:
        json.dump({"bucket": "halves", "key": "doomed", "upstreamBucket": "halves", "upstreamKey": "doomed",
                   "enqueued": time.time_ns(), "attempts": 0, "notBefore": 0, "deletion": True}, f)
    assert os.path.exists(os.path.join(str(root), "halves", "doomed"))
    restarted = start_server(root=root, conf=conf)
    assert wait_for(lambda: not os.path.exists(os.path.join(journal, name)), timeout=30)
    assert not os.path.exists(os.path.join(str(root), "halves", "doomed"))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        restarted.client().head_object(Bucket="halves", Key="doomed")
    assert e.value.response["Error"]["Code"] in ("404", "NoSuchKey")
