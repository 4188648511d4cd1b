"""Fixtures that run the real strata binary on a loopback port with a temporary root."""
import os
import socket
import subprocess
import time
import uuid

import boto3
import pytest
from botocore.config import Config

STRATA_BIN = os.environ.get("STRATA_BIN") or os.path.join(
    os.path.dirname(__file__), "..", ".build", "debug", "strata")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StrataServer:
    """One strata process; stopped (and its log kept on failure) by the fixture that made it."""

    def __init__(self, root, conf=(), env=None):
        self.root = str(root)
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.admin_port = free_port()
        self.admin_endpoint = f"http://127.0.0.1:{self.admin_port}"
        self.log_path = os.path.join(os.path.dirname(self.root), f"strata-{self.port}.log")
        args = [STRATA_BIN, "serve", "--root", self.root, "--port", str(self.port),
                "--conf", "strata.fs.sync.policy=NONE", "--conf", f"strata.admin.web.port={self.admin_port}"]
        for item in conf:
            args += ["--conf", item]
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})}, cwd=os.path.dirname(self.root))
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"strata exited early: {self.read_log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("strata did not start listening within 60s")

    def read_log(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=None):
        if self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()

    def client(self, user="alice", **config):
        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=user, aws_secret_access_key="unused-in-simple-mode",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **config))


@pytest.fixture
def start_server(tmp_path):
    """Factory: start_server(conf=[...]) runs a dedicated server for one test."""
    servers = []

    def start(conf=(), root=None, env=None):
        r = root or tmp_path / f"root-{len(servers)}"
        os.makedirs(r, exist_ok=True)
        server = StrataServer(r, conf, env)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("shared") / "root"
    os.makedirs(root)
    s = StrataServer(root)
    yield s
    s.stop()


@pytest.fixture
def s3(server):
    return server.client()


@pytest.fixture
def bucket(s3):
    name = "b-" + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name)
    return name


def error_code(exc_info):
    return exc_info.value.response["Error"]["Code"]


def simple_auth(user="alice"):
    """An Authorization header as SIMPLE mode reads it (the signature is not checked)."""
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential={user}/20260101/us-east-1/s3/aws4_request, "
                             "SignedHeaders=host, Signature=0"}


def raw_request(server, method, target, body=None, headers=None, user="alice"):
    """Sends a request exactly as written (no path normalisation) and returns (status, headers, body)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        h = {**simple_auth(user), **(headers or {})}
        conn.request(method, target, body=body, headers=h)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def xml_error_code(body):
    import re
    m = re.search(rb"<Code>([^<]*)</Code>", body)
    return m.group(1).decode() if m else None


class MotoServer:
    """An independent S3 implementation (moto's server) on a free loopback port, as the upstream."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.start()

    def start(self):
        import sys
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto server did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id="upstream-ak",
                            aws_secret_access_key="upstream-sk", config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))

    def conf(self):
        return [f"strata.underfs.s3.endpoint={self.endpoint}", "strata.underfs.s3.access.key=upstream-ak",
                "strata.underfs.s3.secret.key=upstream-sk"]


@pytest.fixture
def moto():
    server = MotoServer()
    yield server
    server.stop()


def rss_kib(pid):
    """Resident memory of a process, for the flat-memory tests."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
