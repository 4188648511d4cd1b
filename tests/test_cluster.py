"""Several Strata nodes on one root: ASYNC_THROUGH journal entries persisted exactly once whichever node wrote them
(each claimed under a lease that ends with its node), and nodes behind a real load balancer (nginx, round-robin)
answering as one server."""
import os
import shutil
import signal
import subprocess
import threading
import time

import boto3
import botocore
import pytest
import requests
from botocore.config import Config

from conftest import free_port


def persisted_total(server):
    text = requests.get(server.admin_endpoint + "/metrics", timeout=10).text
    return sum(int(float(line.split()[-1])) for line in text.splitlines() if line.startswith("strata_persisted_total"))


def wait_for(predicate, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_journal_entries_persist_exactly_once_across_nodes(start_server, moto, tmp_path):
    root = tmp_path / "shared-root"
    root.mkdir()
    conf = moto.conf() + ["strata.proxy.s3.writetype=ASYNC_THROUGH", "strata.proxy.s3.async.through.workers=8"]
    nodes = [start_server(root=root, conf=conf) for _ in range(3)]
    clients = [node.client() for node in nodes]
    clients[0].create_bucket(Bucket="journaled")
    count = 60
    for i in range(count):
        clients[i % 3].put_object(Bucket="journaled", Key=f"k/{i:03d}", Body=f"value {i}".encode())
    journal = os.path.join(str(root), ".strata", "journal")
    assert wait_for(lambda: not [n for n in os.listdir(journal) if n.endswith(".json")])
    up = moto.client()
    keys = []
    for page in up.get_paginator("list_objects_v2").paginate(Bucket="journaled"):
        keys += [o["Key"] for o in page.get("Contents", [])]
    assert keys == [f"k/{i:03d}" for i in range(count)]
    # Every entry was uploaded by exactly one node.
    assert sum(persisted_total(node) for node in nodes) == count
    assert os.listdir(os.path.join(journal, "leases")) == []


NGINX_CONF = """
worker_processes 1;
pid {pid};
error_log {log} warn;
daemon off;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream strata {{ {servers} }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        proxy_request_buffering off;
        proxy_buffering off;
        location / {{
            proxy_pass http://strata;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
        }}
    }}
}}
"""


@pytest.fixture
def balanced(start_server, tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        pytest.skip("nginx is not installed")
    root = tmp_path / "lb-root"
    root.mkdir()
    nodes = [start_server(root=root) for _ in range(3)]
    port = free_port()
    tmp = tmp_path / "nginx"
    tmp.mkdir()
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(pid=tmp / "nginx.pid", log=tmp / "error.log", tmp=tmp, port=port,
                                      servers=" ".join(f"server 127.0.0.1:{n.port};" for n in nodes)))
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    assert wait_for(lambda: _reachable(endpoint), timeout=20)
    yield endpoint, nodes
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)


def _reachable(endpoint):
    try:
        requests.get(endpoint + "/", timeout=1)
        return True
    except requests.RequestException:
        return False


def lb_client(endpoint):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="alice", aws_secret_access_key="x",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def test_three_nodes_behind_nginx_answer_as_one(balanced):
    endpoint, nodes = balanced
    s3 = lb_client(endpoint)
    s3.create_bucket(Bucket="clustered")
    # A multipart upload whose create, parts and complete land on different nodes (round-robin).
    upload = s3.create_multipart_upload(Bucket="clustered", Key="big")["UploadId"]
    parts = [os.urandom(5 * 1024 * 1024) for _ in range(3)] + [b"tail"]
    etags = [s3.upload_part(Bucket="clustered", Key="big", UploadId=upload, PartNumber=i + 1, Body=p)["ETag"] for i, p in enumerate(parts)]
    s3.complete_multipart_upload(Bucket="clustered", Key="big", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
    for _ in range(3):  # every node serves it
        assert s3.get_object(Bucket="clustered", Key="big")["Body"].read() == b"".join(parts)
    # Listings see writes made through other nodes at once.
    for i in range(30):
        s3.put_object(Bucket="clustered", Key=f"many/{i:02d}", Body=b"x")
        assert s3.list_objects_v2(Bucket="clustered", Prefix="many/")["KeyCount"] == i + 1
    s3.copy_object(Bucket="clustered", Key="copy", CopySource={"Bucket": "clustered", "Key": "many/00"})
    s3.put_object_tagging(Bucket="clustered", Key="copy", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    for _ in range(3):
        assert s3.get_object_tagging(Bucket="clustered", Key="copy")["TagSet"] == [{"Key": "k", "Value": "v"}]
    s3.delete_object(Bucket="clustered", Key="copy")
    for _ in range(3):
        with pytest.raises(botocore.exceptions.ClientError):
            s3.head_object(Bucket="clustered", Key="copy")


def test_conditional_creates_race_across_nodes(balanced):
    endpoint, nodes = balanced
    lb_client(endpoint).create_bucket(Bucket="raced")
    clients = [n.client() for n in nodes]
    outcomes = []
    lock = threading.Lock()

    def create(i):
        try:
            clients[i % 3].put_object(Bucket="raced", Key="only-once", Body=f"writer {i}".encode(), IfNoneMatch="*")
            result = ("won", i)
        except botocore.exceptions.ClientError as e:
            result = (e.response["Error"]["Code"], i)
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for code, i in outcomes if code == "won"]
    assert len(winners) == 1 and all(code in ("won", "PreconditionFailed", "ConditionalRequestConflict") for code, _ in outcomes)
    assert lb_client(endpoint).get_object(Bucket="raced", Key="only-once")["Body"].read() == f"writer {winners[0]}".encode()


def test_work_of_a_killed_node_is_finished_by_the_others(start_server, moto, tmp_path):
    """kill -9 of a node right after it acknowledged ASYNC_THROUGH writes: the surviving nodes persist every entry;
    uploads in progress on the killed node leave no partial object, and other nodes serve everything acknowledged."""
    root = tmp_path / "crash-root"
    root.mkdir()
    conf = moto.conf() + ["strata.proxy.s3.writetype=ASYNC_THROUGH"]
    victim, survivor = start_server(root=root, conf=conf), start_server(root=root, conf=conf)
    s3 = victim.client()
    s3.create_bucket(Bucket="crashy")
    acknowledged = {}
    for i in range(25):
        body = os.urandom(1000 + i)
        s3.put_object(Bucket="crashy", Key=f"ack/{i:02d}", Body=body)
        acknowledged[f"ack/{i:02d}"] = body
    # A large upload in flight when the node dies.
    upload = threading.Thread(target=lambda: _quietly(lambda: s3.put_object(Bucket="crashy", Key="in-flight", Body=os.urandom(64 << 20))))
    upload.start()
    time.sleep(0.3)
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(timeout=20)
    upload.join(timeout=60)
    other = survivor.client()
    for key, body in acknowledged.items():
        assert other.get_object(Bucket="crashy", Key=key)["Body"].read() == body
    journal = os.path.join(str(root), ".strata", "journal")
    assert wait_for(lambda: not [n for n in os.listdir(journal) if n.endswith(".json")], timeout=90)
    up = moto.client()
    for key, body in acknowledged.items():
        assert up.get_object(Bucket="crashy", Key=key)["Body"].read() == body
    # The in-flight object is either absent or whole, never partial.
    try:
        got = other.head_object(Bucket="crashy", Key="in-flight")
        assert got["ContentLength"] == 64 << 20
    except botocore.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] in ("404", "NoSuchKey")


def _quietly(call):
    try:
        call()
    except Exception:
        pass
