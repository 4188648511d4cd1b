"""Fixtures that run the real strata binary on a loopback port with a temporary root."""
import os
import pathlib
import shutil
import socket
import subprocess
import time
import uuid

import boto3
import pytest
from botocore.config import Config

STRATA_BIN = os.environ.get("STRATA_BIN") or os.path.join(
    os.path.dirname(__file__), "..", ".build", "debug", "strata")


def wait_for(predicate, timeout=60):
    """Polls `predicate` until it holds or `timeout` seconds pass; returns its last answer."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


_HANDED_OUT = set()


def free_port():
    """A port nothing listens on now and that this process has not handed out before (two listeners of one server
    must not be given the same port)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


class StrataServer:
    """One strata process; stopped (and its log kept on failure) by the fixture that made it."""

    def __init__(self, root, conf=(), env=None, properties=None, port=None, flags=True):
        """properties: a file passed with --properties. port: the port the server will listen on (default: a free one).
        flags=False leaves out --root and --port, for a properties file that sets them; root and port must still
        say where the server will be."""
        self.root = str(root)
        # Another process may take a port between its choice and the bind: choose again (only ports we chose).
        for attempt in range(4):
            try:
                self._start(conf, env, properties, port, flags)
                return
            except RuntimeError as error:
                if port is not None or attempt == 3 or "Address already in use" not in str(error):
                    raise

    def _start(self, conf, env, properties, port, flags):
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.admin_port = free_port()
        self.admin_endpoint = f"http://127.0.0.1:{self.admin_port}"
        self.website_port = free_port()
        self.website_endpoint = f"http://127.0.0.1:{self.website_port}"
        self.log_path = os.path.join(os.path.dirname(self.root), f"strata-{self.port}.log")
        args = [STRATA_BIN, "serve"]
        if flags:
            args += ["--root", self.root, "--port", str(self.port)]
        if properties is not None:
            args += ["--properties", str(properties)]
        args += ["--conf", "strata.fs.sync.policy=NONE", "--conf", f"strata.admin.web.port={self.admin_port}",
                 "--conf", f"strata.website.web.port={self.website_port}"]
        for item in conf:
            args += ["--conf", item]
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})}, cwd=os.path.dirname(self.root))
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.log.close()
                with open(self.log_path, "rb") as f:
                    raise RuntimeError(f"strata exited early: {f.read().decode(errors='replace')}")
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
    """Factory: start_server(conf=[...]) runs a dedicated server for one test; other keyword arguments go to StrataServer."""
    servers = []

    def start(conf=(), root=None, env=None, **kwargs):
        r = root or tmp_path / f"root-{len(servers)}"
        os.makedirs(r, exist_ok=True)
        server = StrataServer(r, conf, env, **kwargs)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()


NETFS_MOUNTS = os.environ.get("STRATA_NETFS_MOUNTS", "").split()


@pytest.fixture(params=["local", "netfs"])
def shared_root(request, tmp_path):
    """The root several nodes share, as a function of the node's index: one local directory, or one directory of a
    network filesystem that node i reaches through client mount i (STRATA_NETFS_MOUNTS, made by scripts/netfs-setup).
    Request it before start_server so the nodes stop before the directory is removed."""
    if request.param == "local":
        root = tmp_path / "shared" / "root"
        root.mkdir(parents=True)
        yield lambda i: root
        return
    if not NETFS_MOUNTS:
        pytest.skip("no network filesystem mounted (set STRATA_NETFS_MOUNTS; scripts/netfs-setup makes one)")
    name = "strata-test-" + uuid.uuid4().hex[:12]
    os.makedirs(os.path.join(NETFS_MOUNTS[0], name, "root"))
    yield lambda i: pathlib.Path(NETFS_MOUNTS[i % len(NETFS_MOUNTS)]) / name / "root"
    shutil.rmtree(os.path.join(NETFS_MOUNTS[0], name), ignore_errors=True)


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


def add_credential(root, *args, **run_kwargs):
    """`strata credentials add --root ROOT ARGS...` (check=True unless told otherwise)."""
    run_kwargs.setdefault("check", True)
    return subprocess.run([STRATA_BIN, "credentials", "add", "--root", str(root), *args], capture_output=True, **run_kwargs)


def _canonical_query(query):
    """SigV4 canonical query string from a raw query (no '+'-as-space decoding, blank values kept)."""
    import urllib.parse
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        pairs.append((urllib.parse.quote(urllib.parse.unquote_to_bytes(k), safe="-_.~"),
                      urllib.parse.quote(urllib.parse.unquote_to_bytes(v), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _v4_key(secret, date, region="us-east-1", service="s3"):
    import hashlib
    import hmac
    k = ("AWS4" + secret).encode()
    for part in [date, region, service, "aws4_request"]:
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def sign_v4_raw(method, target, port, headers, body, key, secret, payload_hash=None, amz_date=None,
                region="us-east-1", omit_amz_date=False):
    """Signs a raw request target (`/path?query`, as sent) with SigV4 in the Authorization header; every
    header given is signed. Returns the headers to send (host, x-amz-date, x-amz-content-sha256 added;
    `omit_amz_date` leaves x-amz-date out, for requests dated by their Date header)."""
    import datetime
    import hashlib
    import hmac
    import urllib.parse
    path, _, query = target.partition("?")
    now = amz_date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    payload_hash = payload_hash or hashlib.sha256(body or b"").hexdigest()
    out = {**headers}
    lower = {k.lower() for k in out}
    if "host" not in lower:
        out["Host"] = f"127.0.0.1:{port}"
    if "x-amz-date" not in lower and not omit_amz_date:
        out["x-amz-date"] = now
    if "x-amz-content-sha256" not in lower:
        out["x-amz-content-sha256"] = payload_hash
    canon = {}
    for k, v in out.items():
        canon.setdefault(k.lower(), []).append(" ".join(str(v).split()))
    signed = sorted(canon)
    canonical_headers = "".join(f"{k}:{','.join(canon[k])}\n" for k in signed)
    canonical = "\n".join([method, urllib.parse.quote(urllib.parse.unquote_to_bytes(path), safe="/-_.~"),
                           _canonical_query(query), canonical_headers, ";".join(signed), payload_hash])
    scope = f"{now[:8]}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", now, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signature = hmac.new(_v4_key(secret, now[:8], region), to_sign.encode(), hashlib.sha256).hexdigest()
    out["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={key}/{scope}, SignedHeaders={';'.join(signed)}, "
                            f"Signature={signature}")
    return out


def presign_v4_raw(method, target, port, key, secret, expires="300", amz_date=None, signed_headers=None,
                   headers=None, region="us-east-1"):
    """A presigned SigV4 target crafted by hand, so that X-Amz-Expires, X-Amz-Date and X-Amz-SignedHeaders
    can hold what boto3 would never produce. `signed_headers` defaults to `host`; `headers` gives the values
    of any other signed header."""
    import datetime
    import hashlib
    import hmac
    import urllib.parse
    path, _, query = target.partition("?")
    now = amz_date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    values = {"host": f"127.0.0.1:{port}", **{k.lower(): v for k, v in (headers or {}).items()}}
    names = sorted(signed_headers if signed_headers is not None else ["host"])
    scope = f"{now[:8]}/{region}/s3/aws4_request"
    params = [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", f"{key}/{scope}"), ("X-Amz-Date", now),
              ("X-Amz-Expires", str(expires)), ("X-Amz-SignedHeaders", ";".join(names))]
    q = "&".join(p for p in [query] + [f"{k}={urllib.parse.quote(v, safe='-_.~')}" for k, v in params] if p)
    canonical_headers = "".join(f"{n}:{values[n]}\n" for n in names)
    canonical = "\n".join([method, urllib.parse.quote(urllib.parse.unquote_to_bytes(path), safe="/-_.~"), _canonical_query(q),
                           canonical_headers, ";".join(names), "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", now, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signature = hmac.new(_v4_key(secret, now[:8], region), to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{path}?{q}&X-Amz-Signature={signature}"


def http_request(port, method, target, headers=None, body=None, timeout=10):
    """One request on a fresh connection, exactly as written. Returns (status, headers, body), or
    (None, {}, b"") when the server closed or reset the connection without an answer."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.BadStatusLine):
        return None, {}, b""
    finally:
        conn.close()
