"""Several Strata nodes on one root: ASYNC_THROUGH journal entries persisted exactly once whichever node wrote them
(each claimed under a lease that ends with its node), and nodes behind a real load balancer (nginx, round-robin)
answering as one server. Each test runs on a local directory and, when one is mounted (scripts/netfs-setup), on a
network filesystem that every node reaches through its own client mount."""
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

import boto3
import botocore
import pytest
import requests
from botocore.config import Config

from conftest import STRATA_BIN, free_port, wait_for


def persisted_total(server):
    text = requests.get(server.admin_endpoint + "/metrics", timeout=10).text
    return sum(int(float(line.split()[-1])) for line in text.splitlines() if line.startswith("strata_persisted_total"))



def test_journal_entries_persist_exactly_once_across_nodes(shared_root, start_server, moto):
    conf = moto.conf() + ["strata.proxy.s3.writetype=ASYNC_THROUGH", "strata.proxy.s3.async.through.workers=8"]
    nodes = [start_server(root=shared_root(i), conf=conf) for i in range(3)]
    root = shared_root(0)
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
def balanced(shared_root, start_server, tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        pytest.skip("nginx is not installed")
    nodes = [start_server(root=shared_root(i)) for i in range(3)]
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


def test_work_of_a_killed_node_is_finished_by_the_others(shared_root, start_server, moto):
    """kill -9 of a node right after it acknowledged ASYNC_THROUGH writes: the surviving nodes persist every entry;
    uploads in progress on the killed node leave no partial object, and other nodes serve everything acknowledged."""
    conf = moto.conf() + ["strata.proxy.s3.writetype=ASYNC_THROUGH"]
    victim, survivor = start_server(root=shared_root(0), conf=conf), start_server(root=shared_root(1), conf=conf)
    root = shared_root(0)
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
    """The call's result, or None when it raised."""
    try:
        return call()
    except Exception:
        return None


def ready(server):
    try:
        r = requests.get(server.admin_endpoint + "/v1/s3/health/ready", timeout=2)
        return r.status_code, r.json().get("Status")
    except requests.RequestException:
        return None, None


def health_command(node):
    """`strata admin health`, as a container HEALTHCHECK runs it."""
    return subprocess.run([STRATA_BIN, "admin", "health", "--endpoint", node.admin_endpoint], capture_output=True, text=True, timeout=30)


def test_readiness_fails_while_draining_and_in_flight_requests_finish(start_server, tmp_path):
    """SIGTERM: readiness answers 503 at once while the S3 listener still serves for the drain delay, an upload in
    flight finishes, then the node exits cleanly. Readiness also fails while the root is unreachable."""
    root = tmp_path / "drain-root"
    root.mkdir()
    node = start_server(root=root, conf=["strata.proxy.shutdown.drain.delay=2sec", "strata.proxy.shutdown.grace.period=30sec"])
    assert wait_for(lambda: ready(node) == (200, "ready"), timeout=20)
    s3 = node.client()
    s3.create_bucket(Bucket="draining")
    s3.put_object(Bucket="draining", Key="before", Body=b"still served")
    # The root moved away (an unmounted share): not ready; back in place: ready again.
    moved = str(root) + "-away"
    os.rename(root, moved)
    try:
        status, state = ready(node)
        assert status == 503 and state == "unavailable"
    finally:
        os.rename(moved, root)
    assert ready(node) == (200, "ready")
    assert health_command(node).returncode == 0
    # A slow upload, in flight when the signal arrives.
    import http.client
    from conftest import simple_auth
    chunk, chunks = b"z" * 65536, 40
    outcome = {}

    def slow_upload():
        conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
        conn.putrequest("PUT", "/draining/slow")
        for k, v in {**simple_auth(), "Content-Length": str(len(chunk) * chunks)}.items():
            conn.putheader(k, v)
        conn.endheaders()
        for i in range(chunks):
            conn.send(chunk)
            if i == 0:
                outcome["started"] = True
            time.sleep(0.08)  # the client paces its own sending; nothing waits on the server here
        outcome["status"] = conn.getresponse().status

    uploader = threading.Thread(target=slow_upload)
    uploader.start()
    assert wait_for(lambda: outcome.get("started"), timeout=10)
    node.proc.send_signal(signal.SIGTERM)
    assert wait_for(lambda: ready(node) == (503, "draining"), timeout=10)
    draining = health_command(node)
    assert draining.returncode == 1 and "draining" in draining.stdout
    # Still serving during the drain delay: the load balancer moves away before connections are refused.
    assert s3.get_object(Bucket="draining", Key="before")["Body"].read() == b"still served"
    uploader.join(timeout=60)
    assert outcome.get("status") == 200
    assert node.proc.wait(timeout=30) == 0
    assert open(os.path.join(str(root), "draining", "slow"), "rb").read() == chunk * chunks


def test_credentials_made_through_one_node_sign_on_every_node(shared_root, start_server):
    """Keys created, rotated and removed through one node's admin API are seen by the others within the credential
    store's re-check interval (200 ms)."""
    token = "cluster-token-0123456789"
    conf = ["strata.s3.auth.mode=SIGV4", f"strata.admin.web.token={token}", "strata.cluster.enabled=true"]
    first, second = start_server(root=shared_root(0), conf=conf), start_server(root=shared_root(1), conf=conf)
    assert wait_for(lambda: ready(first)[0] == 200 and ready(second)[0] == 200, timeout=20)
    api = f"{first.admin_endpoint}/v1/s3/strata"
    headers = {"X-Auth-Token": token}
    assert requests.post(api + "/buckets", json={"BucketInput": {"Bucket": "shared"}}, headers=headers, timeout=10).status_code == 202
    key = requests.post(api + "/buckets/shared/users", json={"User": {"UserName": "loader"}}, headers=headers, timeout=10).json()["AccessKey"]

    def client(node, access, secret):
        return boto3.client("s3", endpoint_url=node.endpoint, region_name="us-east-1", aws_access_key_id=access,
                            aws_secret_access_key=secret, config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))

    other = client(second, key["AccessKeyId"], key["SecretAccessKey"])
    assert wait_for(lambda: _quietly(lambda: other.put_object(Bucket="shared", Key="k", Body=b"v")) is not None, timeout=5)
    assert client(first, key["AccessKeyId"], key["SecretAccessKey"]).get_object(Bucket="shared", Key="k")["Body"].read() == b"v"
    rotated = requests.put(api + "/buckets/shared/users/loader", headers=headers, timeout=10).json()["AccessKey"]

    def old_key_refused():
        try:
            other.head_object(Bucket="shared", Key="k")
            return False
        except botocore.exceptions.ClientError as e:
            return e.response["Error"]["Code"] in ("403", "InvalidAccessKeyId")

    assert wait_for(old_key_refused, timeout=5)
    fresh = client(second, rotated["AccessKeyId"], rotated["SecretAccessKey"])
    assert wait_for(lambda: _quietly(lambda: fresh.head_object(Bucket="shared", Key="k")) is not None, timeout=5)


def test_concurrent_if_match_updates_across_nodes_lose_nothing(balanced):
    """Read-modify-write counters through different nodes, each write conditional on the ETag it read: every
    increment lands exactly once."""
    endpoint, nodes = balanced
    lb_client(endpoint).create_bucket(Bucket="counters")
    lb_client(endpoint).put_object(Bucket="counters", Key="n", Body=b"0")
    per_worker, workers = 10, 6
    errors = []

    def increment(i):
        s3 = nodes[i % 3].client()
        done = 0
        while done < per_worker:
            got = s3.get_object(Bucket="counters", Key="n")
            value = int(got["Body"].read())
            try:
                s3.put_object(Bucket="counters", Key="n", Body=str(value + 1).encode(), IfMatch=got["ETag"])
                done += 1
            except botocore.exceptions.ClientError as e:
                if e.response["Error"]["Code"] not in ("PreconditionFailed", "ConditionalRequestConflict"):
                    errors.append(e.response["Error"]["Code"])
                    return

    threads = [threading.Thread(target=increment, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert int(lb_client(endpoint).get_object(Bucket="counters", Key="n")["Body"].read()) == per_worker * workers


HAPROXY_CONF = """
global
    maxconn 256
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch
frontend s3
    bind 127.0.0.1:{port}
    default_backend strata
backend strata
    balance roundrobin
    option httpchk GET /v1/s3/health/ready
    http-check expect status 200
    default-server inter 100ms fall 1 rise 2
{servers}
"""


def test_a_node_leaves_haproxy_without_failing_a_request(shared_root, start_server, tmp_path):
    """HAProxy checks each node's readiness on its admin listener. SIGTERM to one node while clients keep working
    through the balancer: the node answers 503 on readiness during its drain delay, HAProxy takes it out, in-flight
    requests finish, and no client request fails."""
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not os.path.exists(haproxy):
        pytest.skip("haproxy is not installed")
    conf = ["strata.proxy.shutdown.drain.delay=1500ms", "strata.proxy.shutdown.grace.period=20sec"]
    nodes = [start_server(root=shared_root(i), conf=conf) for i in range(3)]
    port = free_port()
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(HAPROXY_CONF.format(port=port, servers="\n".join(
        f"    server n{i} 127.0.0.1:{n.port} check port {n.admin_port}" for i, n in enumerate(nodes))))
    proc = subprocess.Popen([haproxy, "-f", str(cfg), "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: all(ready(n)[0] == 200 for n in nodes), timeout=20)
        s3 = lb_client(endpoint)
        assert wait_for(lambda: _quietly(lambda: s3.create_bucket(Bucket="rolling")) is not None
                        or _quietly(lambda: s3.head_bucket(Bucket="rolling")) is not None, timeout=20)
        failures, done = [], threading.Event()
        served = [0]

        def clients(worker):
            client = lb_client(endpoint)
            i = 0
            while not done.is_set():
                key, body = f"w{worker}/{i}", os.urandom(256 * 1024 + i)
                try:
                    client.put_object(Bucket="rolling", Key=key, Body=body)
                    assert client.get_object(Bucket="rolling", Key=key)["Body"].read() == body
                    served[0] += 1
                except Exception as e:  # every failure is recorded, none ends the loop
                    failures.append(repr(e))
                i += 1

        workers = [threading.Thread(target=clients, args=(w,)) for w in range(4)]
        for w in workers:
            w.start()
        assert wait_for(lambda: served[0] >= 20, timeout=20)
        leaving = nodes[1]
        leaving.proc.send_signal(signal.SIGTERM)
        assert leaving.proc.wait(timeout=30) == 0
        before = served[0]
        assert wait_for(lambda: served[0] >= before + 40, timeout=20)  # the others carry on alone
        done.set()
        for w in workers:
            w.join(timeout=30)
        assert failures == []
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def aws_cli(endpoint, *args):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "alice", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    result = subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url", endpoint, *args], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, f"aws {' '.join(args)}: {result.stdout}\n{result.stderr}"
    return result.stdout


def observed_workload(endpoint, workdir):
    """One scripted workload through boto3 and aws-cli (multipart uploads whose parts go to whichever node the
    balancer picks, a synced tree, copies, tags, deletes, conditional writes, listings between writes); returns what
    a client can observe of it, without dates."""
    rng = random.Random(15)
    s3 = lb_client(endpoint)
    seen = []

    def code(call):
        try:
            call()
            return "ok"
        except botocore.exceptions.ClientError as e:
            return e.response["Error"]["Code"]

    def listing(prefix=""):
        keys = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="same", Prefix=prefix):
            keys += [(o["Key"], o["Size"], o["ETag"]) for o in page.get("Contents", [])]
        return keys

    s3.create_bucket(Bucket="same")
    big = workdir / "big.bin"
    big.write_bytes(rng.randbytes(17 << 20))  # aws-cli sends it in three parts
    aws_cli(endpoint, "s3", "cp", str(big), "s3://same/cli/big.bin")
    tree = workdir / "tree"
    for i in range(12):
        (tree / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (tree / f"d{i % 3}" / f"f{i:02d}.csv").write_bytes(rng.randbytes(rng.randint(0, 5000)))
    aws_cli(endpoint, "s3", "sync", str(tree), "s3://same/cli/tree")
    seen.append(sorted(line.split()[-2:] for line in aws_cli(endpoint, "s3", "ls", "--recursive", "s3://same/cli/").splitlines()))
    upload = s3.create_multipart_upload(Bucket="same", Key="mp/object", Metadata={"origin": "boto3"})["UploadId"]
    parts = [rng.randbytes(5 << 20), rng.randbytes(5 << 20), b"end"]
    etags = [s3.upload_part(Bucket="same", Key="mp/object", UploadId=upload, PartNumber=n + 1, Body=p)["ETag"] for n, p in enumerate(parts)]
    seen.append([(p["PartNumber"], p["Size"], p["ETag"]) for p in s3.list_parts(Bucket="same", Key="mp/object", UploadId=upload)["Parts"]])
    seen.append(code(lambda: s3.complete_multipart_upload(Bucket="same", Key="mp/object", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": etags[1]}]})))
    done = s3.complete_multipart_upload(Bucket="same", Key="mp/object", UploadId=upload,
                                        MultipartUpload={"Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]})
    seen.append(done["ETag"])
    head = s3.head_object(Bucket="same", Key="mp/object")
    seen.append((head["ContentLength"], head["ETag"], head["Metadata"]))
    for i in range(10):
        s3.put_object(Bucket="same", Key=f"w/{i:02d}", Body=rng.randbytes(100 * i))
        seen.append(listing("w/"))
    seen.append(code(lambda: s3.put_object(Bucket="same", Key="w/00", Body=b"again", IfNoneMatch="*")))
    seen.append(code(lambda: s3.put_object(Bucket="same", Key="w/01", Body=b"new", IfMatch='"not-the-etag"')))
    s3.copy_object(Bucket="same", Key="copies/big", CopySource={"Bucket": "same", "Key": "cli/big.bin"})
    s3.put_object_tagging(Bucket="same", Key="copies/big", Tagging={"TagSet": [{"Key": "tier", "Value": "gold"}]})
    seen.append(s3.get_object_tagging(Bucket="same", Key="copies/big")["TagSet"])
    seen.append(s3.get_object(Bucket="same", Key="copies/big", Range="bytes=1000-1999")["Body"].read() == big.read_bytes()[1000:2000])
    deleted = s3.delete_objects(Bucket="same", Delete={"Objects": [{"Key": f"w/{i:02d}"} for i in range(0, 10, 2)]})
    seen.append(sorted(d["Key"] for d in deleted["Deleted"]))
    aws_cli(endpoint, "s3", "rm", "--recursive", "s3://same/cli/tree/d1")
    seen.append(code(lambda: s3.head_object(Bucket="same", Key="cli/tree/d1/f01.csv")))
    seen.append(listing())
    seen.append([u["Key"] for u in s3.list_multipart_uploads(Bucket="same").get("Uploads", [])])
    return seen


def test_three_nodes_observe_exactly_what_one_node_does(balanced, start_server, tmp_path):
    """The same boto3 and aws-cli workload through the balancer and against a single node: every observation (ETags,
    listings between writes, part lists, metadata, tags, error codes) is identical."""
    endpoint, nodes = balanced
    (tmp_path / "cluster").mkdir()
    (tmp_path / "single").mkdir()
    clustered = observed_workload(endpoint, tmp_path / "cluster")
    alone = start_server(root=tmp_path / "single-root")
    assert observed_workload(alone.endpoint, tmp_path / "single") == clustered


def test_versions_written_through_every_node_are_all_kept(shared_root, start_server):
    """Versioning on one shared root: versioning enabled through one node reaches the others' writes (each node reads
    the state at most once a second), and concurrent overwrites and deletes of one key through three nodes keep every
    version, each readable by its id, with one latest."""
    nodes = [start_server(root=shared_root(i)) for i in range(3)]
    clients = [n.client() for n in nodes]
    clients[0].create_bucket(Bucket="versioned")
    clients[0].put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    for s3 in clients:
        assert wait_for(lambda: "VersionId" in s3.put_object(Bucket="versioned", Key="probe", Body=b"p"), timeout=10)
    written, errors = {}, []
    lock = threading.Lock()

    def write(i):
        s3 = clients[i % 3]
        try:
            for j in range(8):
                body = f"node {i % 3} writer {i} round {j}".encode()
                if j == 5:
                    deleted = s3.delete_object(Bucket="versioned", Key="hot")
                    assert deleted["DeleteMarker"]
                    continue
                version = s3.put_object(Bucket="versioned", Key="hot", Body=body)["VersionId"]
                with lock:
                    written[version] = body
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(written) == 6 * 7
    page = clients[1].list_object_versions(Bucket="versioned", Prefix="hot")
    versions, markers = page.get("Versions", []), page.get("DeleteMarkers", [])
    assert {v["VersionId"] for v in versions} == set(written)
    assert len(markers) == 6
    assert sum(1 for v in versions + markers if v["IsLatest"]) == 1
    for version, body in written.items():
        assert clients[2].get_object(Bucket="versioned", Key="hot", VersionId=version)["Body"].read() == body
