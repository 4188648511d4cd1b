"""Issue #28: a seeded, model-based authorization test.

A reproducible random sequence of S3 operations by several identities goes to a real server through each way in,
and every answer is compared with tests/authz_reference.py, a reference model of the rules written from
docs/authorization.md, the README and AWS's documented behaviour (never from the server's sources).

- Identities: SIMPLE users with groups, the superuser, a supergroup member and anonymous (umask 027); in SIGV4 mode
  the admin credential, two unscoped credentials, scoped ones (`shared:read`, `shared:write drop:write`,
  `shared:owner`, `davebkt:owner shared:read`), three STS sessions (read, write, owner grants) and unsigned requests
  (umask 022); tiered: the SIMPLE and the SIGV4 identities over moto (CACHE_THROUGH).
- Actions: buckets (create with canned ACLs, ACL, versioning, website), objects (put with canned ACLs, get, head,
  attributes, tagging, ACL, copy from any version, delete, multi-delete), listings (v1, v2, versions, with prefixes
  and delimiters), multipart uploads (create, part, part copy, list, list parts, abort), browser forms (with and
  without a foreign Origin), website GETs, and in tiered mode evictions of local copies.
- Paths: every read is sent inline-eligible and forced onto the pooled path (`Connection: close`), and presigned in
  SIGV4 mode; the website listener; forms; versions by id; copy sources; reads through the upstream after eviction.
- Objects made outside S3: directories owned by root (0700, and 0750 with group `daemon`) inside buckets.

After every step the directories on disk (which exist, and their mode, which the README says mirrors the recorded
one) are compared with the model's too, so a step that makes the two states part fails there, before any answer
shows it.

A failure names the seed, the step and both answers, then shrinks the sequence and prints the shortest one found,
with a command that replays it. Shrinking is delta debugging within a time bound: each step is first pinned (the
versions and uploads its selectors named are recorded as the steps that made them, so removing other steps does
not change what it names), then the steps that changed state in the buckets involved are tried alone, then chunks
of a half, a quarter, ... down to single steps are removed, each candidate replayed on a fresh server and model and
kept while the same action still fails the same way (the same expected and actual status and code, or again a
directory difference).

    python3 -m pytest tests/test_authorization_model.py                            # the default run (seed 28)
    STRATA_AUTHZ_STEPS=3000 python3 -m pytest tests/test_authorization_model.py    # a long run
    STRATA_AUTHZ_SEED=random STRATA_AUTHZ_STEPS=3000 python3 -m pytest tests/test_authorization_model.py -s

Knobs: STRATA_AUTHZ_SEED (an integer, or `random`: the seed is printed), STRATA_AUTHZ_STEPS (per mode, default
400), STRATA_AUTHZ_SHRINK_SECONDS (per failing mode, default 40; 0: no shrinking), STRATA_AUTHZ_REPLAY (a JSON list
of steps, as a failure prints it, or the name of a file holding one), STRATA_AUTHZ_OPS (actions to generate,
comma-separated, or `-Action` to leave one out, to look past a known failure) and STRATA_AUTHZ_KEEP_GOING=1 (report
every disagreement of a read or of a refused write and go on, unshrunk; a write the server allowed against the
model, or a directory difference, still stops the run, since their states then differ). `-s` shows the seed and
how many steps of each action were expected to succeed or fail.
"""
import base64
import collections
import datetime
import grp
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import pytest
import requests

from authz_reference import MISSING_VERSION, Identity, Model
from conftest import STRATA_BIN, MotoServer, StrataServer, http_request, presign_v4_raw, sign_v4_raw, simple_auth

DEFAULT_STEPS = 400
EVIL_ORIGIN = "http://evil.example"

# ---------------------------------------------------------------------------------------------------------------
# Identities: the model's view (kind, user, grants) and how each one signs.

ADMIN_KEY = ("AZADMINKEY", "az-admin-secret-0123456789")


@dataclass
class Wire:
    access_key: str = ""
    secret: str = ""
    session_token: str = ""


SIMPLE_IDENTITIES = [
    Identity("alice", "simple", "alice"),
    Identity("bob", "simple", "bob"),
    Identity("carol", "simple", "carol"),
    Identity("dave", "simple", "dave"),  # a supergroup member
    Identity("admin", "simple", "admin"),  # the superuser
    Identity("anonymous", "simple-anon", "anonymous"),
]
SIMPLE_GROUPS = {"alice": ["analysts"], "bob": ["analysts", "daemon"], "carol": ["others"], "dave": ["supergroup"]}

SIGV4_IDENTITIES = [
    Identity("admin-key", "admin", "~admin"),
    Identity("alice", "unscoped", "alice"),
    Identity("bob", "unscoped", "bob"),
    Identity("carol-read", "scoped", "carol", (("shared", "read"),)),
    Identity("carol-write", "scoped", "carol", (("shared", "write"), ("drop", "write"))),
    Identity("carol-owner", "scoped", "carol", (("shared", "owner"),)),
    Identity("dave-mix", "scoped", "dave", (("davebkt", "owner"), ("shared", "read"))),
    Identity("sts-read", "sts", "~sts-read", (("shared", "read"), ("pub", "read"))),
    Identity("sts-write", "sts", "~sts-write", (("shared", "write"), ("drop", "write"))),
    Identity("sts-owner", "sts", "~sts-owner", (("shared", "owner"), ("new*", "owner"))),
    Identity("unsigned", "anon", "~anonymous"),
]
SIGV4_GROUPS = {"alice": ["analysts"], "bob": ["analysts"], "carol": ["others"], "dave": ["staff"]}

TIERED_IDENTITIES = [i for i in SIMPLE_IDENTITIES if i.name in ("alice", "bob", "carol", "admin", "anonymous")]


@dataclass
class Mode:
    name: str
    identities: list
    groups: dict
    umask: int
    buckets: list  # the bucket pool (the last ones are created by steps, not by the setup)
    keys: list  # keys written and read
    read_only_keys: list  # keys made outside S3, only read
    website_paths: list
    ops: dict  # action -> weight
    sigv4: bool = False
    tiered: bool = False


COMMON_OPS = {
    "PutObject": 10, "GetObject": 10, "HeadObject": 5, "GetObjectAttributes": 3, "GetObjectTagging": 2,
    "PutObjectTagging": 2, "GetObjectAcl": 3, "PutObjectAcl": 5, "CopyObject": 5, "DeleteObject": 5,
    "DeleteObjects": 3, "ListObjects": 6, "HeadBucket": 1, "CreateBucket": 2, "PutBucketAcl": 3, "PutBucketWebsite": 1,
    "WebsiteGet": 5, "PostObject": 4, "CreateMultipartUpload": 3, "UploadPart": 1, "UploadPartCopy": 3,
    "ListMultipartUploads": 2, "ListParts": 2, "AbortMultipartUpload": 2,
}
VERSIONED_OPS = {**COMMON_OPS, "ListObjectVersions": 3, "PutBucketVersioning": 2}

MODES = {
    "simple": Mode("simple", SIMPLE_IDENTITIES, SIMPLE_GROUPS, 0o027, ["shared", "pub", "drop", "priv", "newbkt"],
                   ["a", "dir/a", "dir/sub/b", "index.html", "closed/x", "team/y"], ["closed/keep", "team/keep"],
                   ["/a", "/dir/a", "/", "/dir/", "/closed/keep", "/team/keep"], VERSIONED_OPS),
    "sigv4": Mode("sigv4", SIGV4_IDENTITIES, SIGV4_GROUPS, 0o022,
                  ["shared", "pub", "drop", "davebkt", "priv", "newbkt"],
                  ["a", "dir/a", "dir/sub/b", "index.html", "closed/x"], ["closed/keep"],
                  ["/a", "/dir/a", "/", "/dir/", "/closed/keep"], VERSIONED_OPS, sigv4=True),
    "tiered": Mode("tiered", TIERED_IDENTITIES, SIMPLE_GROUPS, 0o027, ["tshared", "tpub", "tdrop", "tnew"],
                   ["a", "b", "dir/a", "dir/c"], ["dir/keep"], ["/a", "/dir/a", "/", "/dir/keep"],
                   {**COMMON_OPS, "Evict": 8}, tiered=True),
    "tiered-sigv4": Mode("tiered-sigv4", SIGV4_IDENTITIES, SIGV4_GROUPS, 0o022, ["shared", "pub", "drop", "newbkt"],
                         ["a", "b", "dir/a", "dir/c"], ["dir/keep"], ["/a", "/dir/a", "/", "/dir/keep"],
                         {**COMMON_OPS, "Evict": 8}, sigv4=True, tiered=True),
}
NEW_BUCKETS = {"newbkt", "tnew"}
OBJECT_ACLS = [None, None, "private", "public-read", "public-read-write"]
CANNED = ["private", "public-read", "public-read-write"]
PREFIXES = ["", "", "dir/", "dir/sub/", "d", "closed/", "team/"]

# ---------------------------------------------------------------------------------------------------------------
# The step generator: a function of the seed alone (steps name versions and uploads by selectors that the runner
# resolves against the model), so a sequence replays identically and any subsequence is still a valid sequence.


def generate(mode, seed, count, only=()):
    rng = random.Random(f"{mode.name}:{seed}")
    chosen = {o for o in only if not o.startswith("-")}
    ops = {op: w for op, w in mode.ops.items() if (not chosen or op in chosen) and "-" + op not in only}
    names, weights = list(ops), list(ops.values())
    existing = [b for b in mode.buckets if b not in NEW_BUCKETS]
    steps = []
    for _ in range(count):
        op = rng.choices(names, weights)[0]
        bucket = rng.choice(existing) if rng.random() < 0.93 else rng.choice(mode.buckets)
        # Half the time someone with standing on the bucket, so that allowed actions are as common as refused ones.
        pool = [i.name for i in mode.identities if eligible(mode, op, i)]
        insiders = [n for n in INSIDERS[mode.name].get(bucket, ()) if n in pool]
        who = rng.choice(insiders if insiders and rng.random() < 0.5 else pool)
        key = rng.choice(mode.keys + mode.read_only_keys if op in READS or op == "Evict" else mode.keys)
        s = {"op": op, "who": who, "bucket": bucket, "key": key}
        if op in ("PutObject", "PostObject", "CopyObject", "CreateMultipartUpload"):
            s["acl"] = rng.choice(OBJECT_ACLS)
        if op in ("PutObjectAcl", "PutBucketAcl", "CreateBucket"):
            s["acl"] = rng.choice(CANNED if op != "CreateBucket" else [None] + CANNED)
        if op in ("GetObject", "HeadObject", "GetObjectAttributes", "DeleteObject") and not mode.tiered:
            s["v"] = None if rng.random() < 0.5 else rng.randrange(1000)
        if op in ("CopyObject", "UploadPartCopy"):
            s["src_bucket"] = rng.choice(existing)
            s["src_key"] = rng.choice(mode.keys + mode.read_only_keys)
            s["src_v"] = None if mode.tiered or rng.random() < 0.6 else rng.randrange(1000)
        if op in ("UploadPart", "UploadPartCopy", "ListParts", "AbortMultipartUpload"):
            s["u"] = None if rng.random() < 0.1 else rng.randrange(1000)
            s["part"] = rng.randint(1, 3)
        if op == "DeleteObjects":
            s["entries"] = [(k, None if mode.tiered or rng.random() < 0.7 else rng.randrange(1000))
                            for k in rng.sample(mode.keys, rng.randint(1, 3))]
        if op in ("ListObjects", "ListObjectVersions"):
            s["prefix"] = rng.choice(PREFIXES)
            s["delimiter"] = rng.choice([None, "/"])
            s["v2"] = rng.random() < 0.5
        if op == "PutBucketVersioning":
            s["status"] = rng.choice(["Enabled", "Enabled", "Suspended"])
        if op == "WebsiteGet":
            s["path"] = rng.choice(mode.website_paths)
        if op == "PostObject":
            s["origin"] = rng.random() < 0.3
        steps.append(s)
    return steps


READ_ONLY_OPS = {"GetObject", "HeadObject", "GetObjectAttributes", "GetObjectTagging", "GetObjectAcl", "ListObjects",
                 "ListObjectVersions", "HeadBucket", "ListMultipartUploads", "ListParts", "WebsiteGet"}
READS = {"GetObject", "HeadObject", "GetObjectAttributes", "GetObjectTagging", "GetObjectAcl", "CopyObject"}
NO_IDENTITY = {"WebsiteGet", "Evict"}


def eligible(mode, op, ident):
    if op in NO_IDENTITY:
        return ident is mode.identities[0]  # the step names no one; keep the choice fixed
    if op == "PostObject" and ident.kind == "sts":
        return False  # browser forms are signed with a credential's secret; sessions are not exercised there
    return True


# ---------------------------------------------------------------------------------------------------------------
# Answers and what they show.


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes
    upload_id: str = None
    marker_ids: dict = field(default_factory=dict)

    @property
    def code(self):
        if self.status is None or self.status < 300 or not self.body:
            return None
        m = re.search(rb"<Code>([^<]*)</Code>", self.body)
        return m.group(1).decode() if m else None

    @property
    def version_id(self):
        return self.headers.get("x-amz-version-id")

    def xml(self):
        root = ET.fromstring(self.body)
        for e in root.iter():
            e.tag = e.tag.split("}")[-1]
        return root


def observe_listing(answer, versions):
    root = answer.xml()
    prefixes = sorted(p.findtext("Prefix") for p in root.findall("CommonPrefixes"))
    if not versions:
        return sorted(c.findtext("Key") for c in root.findall("Contents")), prefixes
    entries = [(v.findtext("Key"), v.findtext("VersionId"), v.tag == "DeleteMarker")
               for v in root if v.tag in ("Version", "DeleteMarker")]
    return sorted(entries), prefixes


def observe_acl(answer):
    root = answer.xml()
    everyone = sorted(g.findtext("Permission") for g in root.iter("Grant")
                      if (g.findtext("Grantee/URI") or "").endswith("/global/AllUsers"))
    return root.findtext("Owner/ID"), tuple(everyone)


def observe_tags(answer):
    return {t.findtext("Key"): t.findtext("Value") for t in answer.xml().iter("Tag")}


def observe_deleted(answer):
    root = answer.xml()
    out = {d.findtext("Key"): "Deleted" for d in root.findall("Deleted")}
    out.update({e.findtext("Key"): e.findtext("Code") for e in root.findall("Error")})
    answer.marker_ids = {d.findtext("Key"): d.findtext("DeleteMarkerVersionId") or d.findtext("VersionId")
                         for d in root.findall("Deleted") if d.findtext("DeleteMarker") == "true"}
    return out


class Mismatch(Exception):
    def __init__(self, index, step_text, expect, got, path):
        self.index, self.step_text, self.expect, self.got, self.path = index, step_text, expect, got, path
        super().__init__(self.text())

    def signature(self):
        """What must still fail while shrinking: the same action and the same disagreement (the expected and the
        actual status and code; equal ones: a difference in what the answer shows)."""
        return self.step_text.split(" ")[1], self.expect.status, self.expect.code, self.got[0], self.got[1]

    def text(self):
        return (f"step {self.index}: {self.step_text}\n    via {self.path}\n    model:  {self.expect.describe()}\n"
                f"    server: {self.got[0]} {self.got[1] or ''} {'' if self.got[2] is None else repr(self.got[2])}")


class DirectoryMismatch(Mismatch):
    """After a step, the directories on disk (which exist, and their mode) differ from the model's. The README says
    parent directories are made for a key and removed when a delete leaves them empty, and that the recorded mode
    is the mode on disk (directories at least u+rwx): a difference means the two states parted at this step, even
    when no answer shows it yet."""

    def __init__(self, index, step_text, model_dirs, disk_dirs):
        self.model_dirs, self.disk_dirs = model_dirs, disk_dirs
        super().__init__(index, step_text, None, None, "the filesystem")

    def signature(self):
        return self.step_text.split(" ")[1], "directories"

    def text(self):
        def show(view, path):
            return f"{view[path]:o}" if path in view else "none"
        differ = sorted(p for p in set(self.model_dirs) | set(self.disk_dirs)
                        if self.model_dirs.get(p) != self.disk_dirs.get(p))
        return (f"step {self.index}: {self.step_text}\n    directories after it differ: "
                + ", ".join(f"{p} model {show(self.model_dirs, p)}, disk {show(self.disk_dirs, p)}" for p in differ))


def model_directories(model):
    """bucket and bucket/dir -> the mode the disk must show (the recorded one, u+rwx added)."""
    out = {}
    for name, b in model.buckets.items():
        out[name] = b.entry.mode | 0o700
        out.update({f"{name}/{d}": e.mode | 0o700 for d, e in b.dirs.items()})
    return out


def disk_directories(root, buckets):
    """The same view of the disk; names in the server's reserved `.strata.` space are not keys' directories."""
    out = {}
    for name in buckets:
        top = os.path.join(root, name)
        if not os.path.isdir(top):
            continue
        out[name] = os.stat(top).st_mode & 0o7777
        for parent, dirs, _ in os.walk(top):
            dirs[:] = [d for d in dirs if not d.startswith(".strata")]
            for d in dirs:
                path = os.path.join(parent, d)
                out[os.path.relpath(path, root)] = os.lstat(path).st_mode & 0o7777
    return out


# ---------------------------------------------------------------------------------------------------------------
# The environment: a fresh server (and upstream) per run, the identities' credentials, the setup every sequence
# starts from.


class Environment:
    """Everything a run needs that outlives one server: the OIDC provider and moto. `server()` makes a fresh one."""

    def __init__(self, mode, base):
        self.mode, self.base = mode, base
        self.count = 0
        # The website listener names buckets by Host: list them where the server checks loopback Host names.
        self.allowed_hosts_key = "strata.proxy.web.allowed.hosts" in subprocess.run(
            [STRATA_BIN, "conf"], capture_output=True, text=True).stdout
        self.idp = self.moto = None
        if mode.sigv4:
            from oidc_provider import OIDCProvider
            self.idp = OIDCProvider()
        if mode.tiered:
            self.moto = MotoServer()

    def close(self):
        if self.idp:
            self.idp.stop()
        if self.moto:
            self.moto.stop()

    def server(self):
        self.count += 1
        root = os.path.join(self.base, f"run-{self.count}", "root")
        os.makedirs(root)
        groups = os.path.join(self.base, f"run-{self.count}", "groups")
        with open(groups, "w") as f:
            f.write("".join(f"{u}: {', '.join(g)}\n" for u, g in self.mode.groups.items()))
        conf = [f"strata.security.group.mapping.file={groups}",
                f"strata.security.authorization.permission.umask={self.mode.umask:03o}"]
        if self.allowed_hosts_key:
            conf.append("strata.proxy.web.allowed.hosts=" + ",".join(self.mode.buckets))
        env = {}
        if self.mode.sigv4:
            conf += ["strata.s3.auth.mode=SIGV4", "strata.sts.enabled=true",
                     f"strata.sts.config.file={self.sts_config(root)}"]
            env = {"STRATA_ADMIN_ACCESS_KEY": ADMIN_KEY[0], "STRATA_ADMIN_SECRET_KEY": ADMIN_KEY[1]}
            for ident in self.mode.identities:
                if ident.kind in ("unscoped", "scoped"):
                    args = ["--user", ident.user, "--access-key", access_key(ident), "--secret-key", secret(ident)]
                    for bucket, level in ident.grants:
                        args += ["--bucket", f"{bucket}:{level}"]
                    subprocess.run([STRATA_BIN, "credentials", "add", "--root", root, *args], check=True,
                                   capture_output=True)
        if self.mode.tiered:
            requests.post(self.moto.endpoint + "/moto-api/reset", timeout=30)
            conf += self.moto.conf() + ["strata.proxy.s3.writetype=CACHE_THROUGH"]
        for attempt in range(3):
            try:
                return StrataServer(root, conf, env)
            except (RuntimeError, OSError):  # STRATA_BIN may be in the middle of being replaced: start again
                if attempt == 2:
                    raise
                time.sleep(2)

    def sts_config(self, root):
        path = os.path.join(os.path.dirname(root), "sts.json")
        roles = [{"arn": f"arn:aws:iam::000000000000:role/{i.name}", "issuer": self.idp.issuer,
                  "conditions": {"sub": i.name}, "grants": dict(i.grants), "max_session_seconds": 3600}
                 for i in self.mode.identities if i.kind == "sts"]
        with open(path, "w") as f:
            json.dump({"providers": [{"issuer": self.idp.issuer, "audiences": ["strata"], "jwks_file": None}],
                       "roles": roles}, f)
        return path

    def sessions(self, server):
        """AssumeRoleWithWebIdentity for each STS identity: name -> Wire."""
        out = {}
        for ident in self.mode.identities:
            if ident.kind != "sts":
                continue
            r = requests.post(server.endpoint + "/", timeout=30, data={
                "Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
                "RoleArn": f"arn:aws:iam::000000000000:role/{ident.name}", "RoleSessionName": ident.name,
                "WebIdentityToken": self.idp.token(sub=ident.name)})
            assert r.status_code == 200, r.text
            creds = {e.tag.split("}")[-1]: e.text for e in ET.fromstring(r.content).iter()}
            out[ident.name] = Wire(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        return out


def access_key(ident):
    return "AZ" + re.sub(r"[^A-Z0-9]", "", ident.name.upper())


def secret(ident):
    return f"{ident.name}-secret-0123456789"


# ---------------------------------------------------------------------------------------------------------------
# The runner: sends each step the way its identity does, compares every answer with the model's.


class Run:
    def __init__(self, env, seed):
        self.env, self.mode, self.seed = env, env.mode, seed
        self.server = env.server()
        self.model = Model(self.mode.sigv4, self.mode.groups, self.mode.umask)
        self.who = {i.name: i for i in self.mode.identities}
        self.wires = {i.name: Wire(access_key(i), secret(i)) for i in self.mode.identities}
        if self.mode.sigv4:
            self.wires["admin-key"] = Wire(*ADMIN_KEY)
            self.wires.update(env.sessions(self.server))
        self.lines = []
        self.index = 0
        self.keep_going = bool(os.environ.get("STRATA_AUTHZ_KEEP_GOING"))
        self.tally = collections.Counter()  # (action, expected outcome) -> steps, printed after a run
        self.disagreements = []
        # For the shrinker: each step's id (its position in the generated sequence, or `n` once pinned), what its
        # selectors resolved to (the id of the step that made the version or upload, or "missing"), and which
        # steps changed the model's state and in which bucket.
        self.step_id, self.current, self.in_setup = None, {}, False
        self.resolved = {}
        self.touched, self.changed = {}, set()  # step id -> the bucket it writes; ids of steps that changed it

    def close(self):
        try:
            metrics = requests.get(self.server.admin_endpoint + "/metrics", timeout=10).text
            m = re.search(r"^strata_inline_reads_total (\d+)", metrics, re.M)
            self.inline_reads = int(m.group(1)) if m else 0
        except requests.RequestException:
            self.inline_reads = 0
        self.server.stop()
        shutil.rmtree(os.path.dirname(self.server.root), ignore_errors=True)

    # ---- sending ----

    def send(self, name, method, target, headers=None, body=b"", pooled=False):
        ident = self.who[name]
        headers = dict(headers or {})
        if ident.kind == "simple":
            headers.update(simple_auth(ident.user))
        elif ident.kind in ("admin", "unscoped", "scoped", "sts"):
            wire = self.wires[name]
            if wire.session_token:
                headers["x-amz-security-token"] = wire.session_token
            headers = sign_v4_raw(method, target, self.server.port, headers, body, wire.access_key, wire.secret)
        if pooled:
            headers["Connection"] = "close"  # not answered inline (README: Inline reads and sendfile)
        status, h, data = http_request(self.server.port, method, target, headers, body or None, timeout=30)
        return Answer(status, h, data)

    def presigned_get(self, name, target):
        wire = self.wires[name]
        if wire.session_token:
            sep = "&" if "?" in target else "?"
            target += f"{sep}X-Amz-Security-Token={urllib.parse.quote(wire.session_token, safe='')}"
        url = presign_v4_raw("GET", target, self.server.port, wire.access_key, wire.secret)
        status, h, data = http_request(self.server.port, "GET", url, {}, None, timeout=30)
        return Answer(status, h, data)

    def read_paths(self, name, method, target, headers=None):
        """A read goes every way the server can answer it: (path label, Answer)."""
        if self.mode.tiered:  # inline reads are off with tiering
            return [("pooled", self.send(name, method, target, headers, pooled=True))]
        out = [("inline-eligible", self.send(name, method, target, headers)),
               ("pooled (Connection: close)", self.send(name, method, target, headers, pooled=True))]
        if method == "GET" and not headers and self.who[name].kind in ("admin", "unscoped", "scoped", "sts"):
            out.append(("presigned", self.presigned_get(name, target)))
        return out

    # ---- comparing ----

    def check(self, text, expect, answers, observe=None, head=False):
        """Compares each (path, Answer) with the model; commits the model's change after a success. A HEAD answer
        has no body: only its status is compared."""
        self.lines.append(text)
        self.touched[self.step_id] = self.written_bucket
        self.tally[(text.split(" ")[1], "allowed" if expect.status < 300 else f"{expect.status}")] += 1
        primary = None
        for path, answer in answers:
            if answer.status is None:
                raise Mismatch(self.index, text, expect, (None, "connection closed", None), path)
            code = None if head else answer.code
            wanted = [(expect.status, expect.code)] + list(expect.alternatives)
            if head:
                wanted = [(s, None) for s, _ in wanted]
            seen = None
            if observe and answer.status == expect.status and answer.status < 300:
                try:
                    seen = observe(answer)
                except (ET.ParseError, ValueError, TypeError) as e:
                    seen = f"unreadable answer ({e}): {trimmed(answer.body)!r}"
            if (answer.status, code) not in wanted:
                self.disagree(Mismatch(self.index, text, expect, (answer.status, code, trimmed(answer.body)), path),
                              answer)
            elif (answer.status, code) == wanted[0] and expect.observe is not None and not same(seen, expect.observe):
                self.disagree(Mismatch(self.index, text, expect, (answer.status, code, seen), path), answer)
            primary = primary or answer
        if expect.commit and primary.status == expect.status and expect.status < 300:
            expect.commit(primary)
            self.changed.add(self.step_id)

    def disagree(self, mismatch, answer):
        """Fails the run, or with STRATA_AUTHZ_KEEP_GOING notes the disagreement and goes on where the server's
        state cannot have left the model's: a read, or a write the server refused."""
        read_only = mismatch.step_text.split(" ")[1] in READ_ONLY_OPS
        if not self.keep_going or not (read_only or answer.status >= 300):
            raise mismatch
        self.disagreements.append(mismatch)

    # ---- resolving selectors ----

    def vid(self, bucket, key, selector, slot="v"):
        """The version a selector names: the selector-th of the key's versions (or a missing one). A pinned step
        (see `pin`) names instead the version made by a given step, missing when that step made none here."""
        if selector is None:
            return None
        known = self.model.versions_of(bucket, key)
        pins = self.current.get("pin") or {}
        if slot in pins:
            version = next((v for v in known if v.origin == pins[slot]), None)
        else:
            version = (known + [None])[selector % (len(known) + 1)]
        self.resolved[self.step_id][slot] = version.origin if version else "missing"
        return version.vid if version else MISSING_VERSION

    def upload(self, s):
        pins = s.get("pin") or {}
        if "u" in pins:
            found = next((u for u in self.model.uploads if u.origin == pins["u"]), None)
            u = found or self.model.upload(None, s["bucket"], s["key"])
        else:
            u = self.model.upload(s.get("u"), s["bucket"], s["key"])
        self.resolved[self.step_id]["u"] = "missing" if u.origin is None else u.origin
        self.written_bucket = u.bucket
        return u

    # ---- steps ----

    def step(self, s):
        self.index += 1
        self.current = s
        self.step_id = f"setup{self.index}" if self.in_setup else s.get("n", self.index)
        self.model.origin = self.step_id
        self.resolved[self.step_id] = {}
        self.written_bucket = s.get("bucket")
        getattr(self, "do_" + s["op"])(s)
        wanted = model_directories(self.model)
        seen = disk_directories(self.server.root, self.model.buckets)
        if seen != wanted:
            raise DirectoryMismatch(self.index, self.lines[-1], wanted, seen)

    def do_PutObject(self, s):
        body = f"{self.index}:{s['who']}:{s['key']}".encode()
        headers = {"x-amz-acl": s["acl"]} if s.get("acl") else {}
        expect = self.model.put_object(self.who[s["who"]], s["bucket"], s["key"], s.get("acl"), body)
        answer = self.send(s["who"], "PUT", f"/{s['bucket']}/{s['key']}", headers, body)
        self.check(describe(s), expect, [("pooled", answer)])

    def do_GetObject(self, s, method="GET"):
        vid = self.vid(s["bucket"], s["key"], s.get("v"))
        target = f"/{s['bucket']}/{s['key']}" + (f"?versionId={vid}" if vid else "")
        expect = self.model.get_object(self.who[s["who"]], s["bucket"], s["key"], vid, head=method == "HEAD")
        self.check(describe(s, vid), expect, self.read_paths(s["who"], method, target), lambda a: a.body,
                   head=method == "HEAD")

    def do_HeadObject(self, s):
        self.do_GetObject(s, "HEAD")

    def do_GetObjectAttributes(self, s):
        vid = self.vid(s["bucket"], s["key"], s.get("v"))
        target = f"/{s['bucket']}/{s['key']}?attributes" + (f"&versionId={vid}" if vid else "")
        expect = self.model.get_object_attributes(self.who[s["who"]], s["bucket"], s["key"], vid)
        answers = self.read_paths(s["who"], "GET", target, {"x-amz-object-attributes": "ObjectSize"})
        self.check(describe(s, vid), expect, answers, lambda a: int(a.xml().findtext("ObjectSize")))

    def do_GetObjectTagging(self, s):
        expect = self.model.get_object_tagging(self.who[s["who"]], s["bucket"], s["key"])
        answers = self.read_paths(s["who"], "GET", f"/{s['bucket']}/{s['key']}?tagging")
        self.check(describe(s), expect, answers, observe_tags)

    def do_GetObjectAcl(self, s):
        expect = self.model.get_object_acl(self.who[s["who"]], s["bucket"], s["key"])
        if expect.observe is not None and expect.observe[0] is None:
            expect.observe = (ANY, expect.observe[1])  # an owner the documents do not name
        answers = self.read_paths(s["who"], "GET", f"/{s['bucket']}/{s['key']}?acl")
        self.check(describe(s), expect, answers, observe_acl)

    def do_PutObjectTagging(self, s):
        tags = {"step": str(self.index)}
        doc = f"<Tagging><TagSet><Tag><Key>step</Key><Value>{self.index}</Value></Tag></TagSet></Tagging>".encode()
        expect = self.model.put_object_tagging(self.who[s["who"]], s["bucket"], s["key"], tags)
        answer = self.send(s["who"], "PUT", f"/{s['bucket']}/{s['key']}?tagging", md5(doc), doc)
        self.check(describe(s), expect, [("pooled", answer)])

    def do_PutObjectAcl(self, s):
        expect = self.model.put_object_acl(self.who[s["who"]], s["bucket"], s["key"], s["acl"])
        answer = self.send(s["who"], "PUT", f"/{s['bucket']}/{s['key']}?acl", {"x-amz-acl": s["acl"]})
        self.check(describe(s), expect, [("pooled", answer)])

    def do_CopyObject(self, s):
        vid = self.vid(s["src_bucket"], s["src_key"], s.get("src_v"), "src_v")
        source = f"/{s['src_bucket']}/{s['src_key']}" + (f"?versionId={vid}" if vid else "")
        headers = {"x-amz-copy-source": source, **({"x-amz-acl": s["acl"]} if s.get("acl") else {})}
        expect = self.model.copy_object(self.who[s["who"]], s["bucket"], s["key"], s["src_bucket"], s["src_key"], vid,
                                        s.get("acl"))
        answer = self.send(s["who"], "PUT", f"/{s['bucket']}/{s['key']}", headers)
        self.check(describe(s, vid), expect, [("pooled", answer)])

    def do_DeleteObject(self, s):
        vid = self.vid(s["bucket"], s["key"], s.get("v"))
        target = f"/{s['bucket']}/{s['key']}" + (f"?versionId={vid}" if vid else "")
        expect = self.model.delete_object(self.who[s["who"]], s["bucket"], s["key"], vid)
        self.check(describe(s, vid), expect, [("pooled", self.send(s["who"], "DELETE", target))])

    def do_DeleteObjects(self, s):
        entries = [(k, self.vid(s["bucket"], k, v, f"e{i}")) for i, (k, v) in enumerate(s["entries"])]
        objects = "".join(f"<Object><Key>{k}</Key>" + (f"<VersionId>{v}</VersionId>" if v else "") + "</Object>"
                          for k, v in entries)
        doc = f"<Delete>{objects}</Delete>"
        expect = self.model.delete_objects(self.who[s["who"]], s["bucket"], entries)
        answer = self.send(s["who"], "POST", f"/{s['bucket']}?delete", md5(doc.encode()), doc.encode())
        self.check(describe(s, entries), expect, [("pooled", answer)], observe_deleted)

    def do_ListObjects(self, s, versions=False):
        query = {"prefix": s["prefix"]}
        if s.get("delimiter"):
            query["delimiter"] = s["delimiter"]
        if versions:
            query = {"versions": "", **query}
        elif s.get("v2"):
            query = {"list-type": "2", **query}
        target = f"/{s['bucket']}?" + urllib.parse.urlencode(query).replace("versions=", "versions")
        ident = self.who[s["who"]]
        expect = (self.model.list_object_versions if versions else self.model.list_objects)(
            ident, s["bucket"], s["prefix"], s.get("delimiter"))
        answer = self.send(s["who"], "GET", target)
        self.check(describe(s), expect, [("pooled", answer)], lambda a: observe_listing(a, versions))

    def do_ListObjectVersions(self, s):
        self.do_ListObjects(s, versions=True)

    def do_HeadBucket(self, s):
        expect = self.model.head_bucket(self.who[s["who"]], s["bucket"])
        self.check(describe(s), expect, [("pooled", self.send(s["who"], "HEAD", f"/{s['bucket']}"))], head=True)

    def do_CreateBucket(self, s):
        headers = {"x-amz-acl": s["acl"]} if s.get("acl") else {}
        expect = self.model.create_bucket(self.who[s["who"]], s["bucket"], s.get("acl"))
        self.check(describe(s), expect, [("pooled", self.send(s["who"], "PUT", f"/{s['bucket']}", headers))])

    def do_PutBucketAcl(self, s):
        expect = self.model.put_bucket_acl(self.who[s["who"]], s["bucket"], s["acl"])
        answer = self.send(s["who"], "PUT", f"/{s['bucket']}?acl", {"x-amz-acl": s["acl"]})
        self.check(describe(s), expect, [("pooled", answer)])

    def do_PutBucketVersioning(self, s):
        doc = f"<VersioningConfiguration><Status>{s['status']}</Status></VersioningConfiguration>".encode()
        expect = self.model.put_bucket_versioning(self.who[s["who"]], s["bucket"], s["status"])
        answer = self.send(s["who"], "PUT", f"/{s['bucket']}?versioning", md5(doc), doc)
        self.check(describe(s), expect, [("pooled", answer)])

    def do_PutBucketWebsite(self, s):
        doc = b"<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument></WebsiteConfiguration>"
        expect = self.model.put_bucket_website(self.who[s["who"]], s["bucket"])
        answer = self.send(s["who"], "PUT", f"/{s['bucket']}?website", md5(doc), doc)
        self.check(describe(s), expect, [("pooled", answer)])

    def do_WebsiteGet(self, s):
        expect = self.model.website_get(s["bucket"], s["path"])
        status, h, data = http_request(self.server.website_port, "GET", s["path"], {"Host": s["bucket"]}, timeout=30)
        answer = Answer(status, h, data)
        if expect.status != 200:
            answer.body = b""  # the website's error pages are HTML: only the status is compared
        self.check(describe(s), expect, [("website listener", answer)], lambda a: a.body)

    def do_PostObject(self, s):
        ident = self.who[s["who"]]
        body = f"{self.index}:{s['who']}:{s['key']}:form".encode()
        fields = [("key", s["key"])] + ([("acl", s["acl"])] if s.get("acl") else [])
        if ident.kind == "simple":
            fields.append(("AWSAccessKeyId", ident.user))
        elif ident.kind != "anon" and ident.kind != "simple-anon":
            fields += v2_policy(self.wires[s["who"]], s["bucket"], s.get("acl"))
        boundary = "----strata-authz-model"
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        if s.get("origin"):
            headers["Origin"] = EVIL_ORIGIN
        expect = self.model.form_post(ident, s["bucket"], s["key"], s.get("acl"), body, s.get("origin"))
        status, h, data = http_request(self.server.port, "POST", f"/{s['bucket']}", headers,
                                       form_body(boundary, fields, body), timeout=30)
        self.check(describe(s), expect, [("browser form", Answer(status, h, data))])

    def do_CreateMultipartUpload(self, s):
        headers = {"x-amz-acl": s["acl"]} if s.get("acl") else {}
        expect = self.model.create_multipart_upload(self.who[s["who"]], s["bucket"], s["key"], s.get("acl"))
        answer = self.send(s["who"], "POST", f"/{s['bucket']}/{s['key']}?uploads", headers)
        if answer.status == 200:
            answer.upload_id = answer.xml().findtext("UploadId")
        self.check(describe(s), expect, [("pooled", answer)])

    def do_UploadPart(self, s):
        u = self.upload(s)
        body = f"part {s['part']} of step {self.index}".encode()
        expect = self.model.upload_part(self.who[s["who"]], u, s["part"])
        answer = self.send(s["who"], "PUT", f"/{u.bucket}/{u.key}?partNumber={s['part']}&uploadId={u.uid}", {}, body)
        self.check(describe(s, u), expect, [("pooled", answer)])

    def do_UploadPartCopy(self, s):
        u = self.upload(s)
        vid = self.vid(s["src_bucket"], s["src_key"], s.get("src_v"), "src_v")
        source = f"/{s['src_bucket']}/{s['src_key']}" + (f"?versionId={vid}" if vid else "")
        expect = self.model.upload_part_copy(self.who[s["who"]], u, s["part"], s["src_bucket"], s["src_key"], vid)
        answer = self.send(s["who"], "PUT", f"/{u.bucket}/{u.key}?partNumber={s['part']}&uploadId={u.uid}",
                           {"x-amz-copy-source": source})
        self.check(describe(s, (u, vid)), expect, [("pooled", answer)])

    def do_ListMultipartUploads(self, s):
        expect = self.model.list_multipart_uploads(self.who[s["who"]], s["bucket"])
        answer = self.send(s["who"], "GET", f"/{s['bucket']}?uploads")
        self.check(describe(s), expect, [("pooled", answer)],
                   lambda a: sorted(u.findtext("UploadId") for u in a.xml().findall("Upload")))

    def do_ListParts(self, s):
        u = self.upload(s)
        expect = self.model.list_parts(self.who[s["who"]], u)
        answer = self.send(s["who"], "GET", f"/{u.bucket}/{u.key}?uploadId={u.uid}")
        self.check(describe(s, u), expect, [("pooled", answer)],
                   lambda a: sorted(int(p.findtext("PartNumber")) for p in a.xml().findall("Part")))

    def do_AbortMultipartUpload(self, s):
        u = self.upload(s)
        expect = self.model.abort_multipart_upload(self.who[s["who"]], u)
        answer = self.send(s["who"], "DELETE", f"/{u.bucket}/{u.key}?uploadId={u.uid}")
        self.check(describe(s, u), expect, [("pooled", answer)])

    def do_Evict(self, s):
        """Drops the local copy as eviction does; the object stays upstream with its permission (model: no change)."""
        path = os.path.join(self.server.root, s["bucket"], s["key"])
        if os.path.isfile(path):
            os.remove(path)
        self.lines.append(describe(s))

    # ---- the setup every sequence starts from ----

    def setup(self):
        steps = SETUPS[self.mode.name]
        self.in_setup = True
        for s in steps:
            self.step(s)
        self.in_setup = False
        root = self.server.root
        for bucket, path, owner, group, mode, keep_mode in OUTSIDE[self.mode.name]:
            directory = os.path.join(root, bucket, path)
            os.makedirs(directory)
            keep = os.path.join(directory, "keep")
            with open(keep, "wb") as f:
                f.write(b"made outside S3")
            os.chown(directory, 0, group_id(group))
            os.chown(keep, 0, group_id(group))
            os.chmod(directory, mode)
            os.chmod(keep, keep_mode)
            self.model.outside_dir(bucket, path, owner, group, mode)
            self.model.outside_file(bucket, f"{path}/keep", owner, group, keep_mode, b"made outside S3")
        made = ", ".join(f"{b}/{p}/ {o}:{g} {m:o}" for b, p, o, g, m, _ in OUTSIDE[self.mode.name])
        self.lines = ["(setup: " + "; ".join(describe(s) for s in steps) + (f"; outside S3: {made})" if made else ")")]
        self.index = 0


def group_id(name):
    return grp.getgrnam(name).gr_gid


# Who has standing on each bucket (owner, group, grant): the generator picks one of them half the time.
INSIDERS = {
    "simple": {"shared": ["alice", "bob", "dave"], "pub": ["alice", "admin"], "drop": ["bob", "carol", "anonymous"],
               "priv": ["carol", "dave"], "newbkt": ["alice", "bob"]},
    "sigv4": {"shared": ["alice", "carol-read", "carol-write", "carol-owner", "sts-read", "sts-write", "sts-owner"],
              "pub": ["alice", "sts-read", "unsigned"], "drop": ["bob", "carol-write", "sts-write", "unsigned"],
              "davebkt": ["dave-mix"], "priv": ["bob", "admin-key"], "newbkt": ["alice", "sts-owner"]},
    "tiered": {"tshared": ["alice", "bob"], "tpub": ["alice", "anonymous"], "tdrop": ["bob", "carol", "anonymous"],
               "tnew": ["carol"]},
}
INSIDERS["tiered-sigv4"] = INSIDERS["sigv4"]


def seeded(owners):
    """Objects each bucket's owner puts at setup, so that reads have something to find: (who, bucket, key, acl)."""
    return [{"op": "PutObject", "who": who, "bucket": bucket, "key": key, "acl": acl}
            for who, bucket, key, acl in owners]


SETUPS = {
    "simple": [
        {"op": "CreateBucket", "who": "alice", "bucket": "shared"},
        {"op": "CreateBucket", "who": "alice", "bucket": "pub", "acl": "public-read"},
        {"op": "CreateBucket", "who": "bob", "bucket": "drop", "acl": "public-read-write"},
        {"op": "CreateBucket", "who": "carol", "bucket": "priv", "acl": "private"},
        {"op": "PutBucketVersioning", "who": "alice", "bucket": "shared", "status": "Enabled"},
        {"op": "PutBucketWebsite", "who": "alice", "bucket": "pub"},
    ] + seeded([("alice", "shared", "a", None), ("alice", "shared", "dir/a", None),
                ("dave", "shared", "dir/sub/b", None), ("alice", "pub", "index.html", "public-read"),
                ("alice", "pub", "dir/a", "public-read"), ("alice", "pub", "a", "private"),
                ("bob", "drop", "a", "public-read-write"), ("bob", "drop", "dir/sub/b", "public-read"),
                ("carol", "priv", "a", None)]),
    "sigv4": [
        {"op": "CreateBucket", "who": "alice", "bucket": "shared"},
        {"op": "CreateBucket", "who": "alice", "bucket": "pub", "acl": "public-read"},
        {"op": "CreateBucket", "who": "bob", "bucket": "drop", "acl": "public-read-write"},
        {"op": "CreateBucket", "who": "dave-mix", "bucket": "davebkt"},
        {"op": "CreateBucket", "who": "bob", "bucket": "priv", "acl": "private"},
        {"op": "PutBucketVersioning", "who": "alice", "bucket": "shared", "status": "Enabled"},
        {"op": "PutBucketWebsite", "who": "alice", "bucket": "pub"},
    ] + seeded([("alice", "shared", "a", None), ("alice", "shared", "dir/a", "private"),
                ("carol-owner", "shared", "dir/sub/b", None), ("alice", "pub", "index.html", "public-read"),
                ("alice", "pub", "dir/a", "public-read"), ("alice", "pub", "a", None),
                ("bob", "drop", "a", "public-read"), ("bob", "drop", "dir/a", "public-read-write"),
                ("dave-mix", "davebkt", "a", None)]),
    "tiered": [
        {"op": "CreateBucket", "who": "alice", "bucket": "tshared"},
        {"op": "CreateBucket", "who": "alice", "bucket": "tpub", "acl": "public-read"},
        {"op": "CreateBucket", "who": "bob", "bucket": "tdrop", "acl": "public-read-write"},
        {"op": "PutBucketWebsite", "who": "alice", "bucket": "tpub"},
    ],
}
# Directories made by another program (root's, with the POSIX owner, group and mode that decide for them), each
# holding a file `keep`: (bucket, path, owner, group, directory mode, file mode).
OUTSIDE = {
    "simple": [("pub", "closed", "root", "root", 0o700, 0o644), ("pub", "team", "root", "daemon", 0o750, 0o640)],
    "sigv4": [("shared", "closed", "root", "root", 0o700, 0o644)],
    "tiered": [],
}
# Tiered: each bucket's `dir` holds an object no step deletes, so the model's directory lives as long as the upstream
# holds an object under it; evicting local copies must change no answer (docs/authorization.md, Tiering).
TIERED_ANCHORS = seeded([("alice", "tshared", "dir/keep", None), ("alice", "tpub", "dir/keep", None),
                         ("bob", "tdrop", "dir/keep", None), ("alice", "tpub", "index.html", "public-read"),
                         ("alice", "tpub", "a", "public-read"), ("bob", "tdrop", "a", None)])
SETUPS["tiered"] += TIERED_ANCHORS
SETUPS["tiered-sigv4"] = [s for s in SETUPS["sigv4"] if s["op"] == "CreateBucket" and s["bucket"] != "davebkt"] + [
    {"op": "PutBucketWebsite", "who": "alice", "bucket": "pub"}] + seeded([
        ("alice", "shared", "dir/keep", None), ("alice", "pub", "dir/keep", "public-read"),
        ("bob", "drop", "dir/keep", None), ("alice", "pub", "index.html", "public-read"),
        ("alice", "pub", "a", "public-read"), ("bob", "drop", "a", None), ("carol-owner", "shared", "a", "public-read")])
OUTSIDE["tiered-sigv4"] = []


class AnyValue:
    def __eq__(self, other):
        return True

    def __repr__(self):
        return "<any>"


ANY = AnyValue()


def same(seen, wanted):
    if isinstance(wanted, tuple) and isinstance(seen, tuple) and len(seen) == len(wanted):
        return all(w == s for s, w in zip(seen, wanted))
    return seen == wanted


def trimmed(body):
    return body[:300] if body else None


def md5(data):
    return {"Content-MD5": base64.b64encode(hashlib.md5(data).digest()).decode()}


def v2_policy(wire, bucket, acl):
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10)
    expiration = later.strftime("%Y-%m-%dT%H:%M:%SZ")
    conditions = [{"bucket": bucket}, ["starts-with", "$key", ""]] + ([{"acl": acl}] if acl else [])
    policy = base64.b64encode(json.dumps({"expiration": expiration, "conditions": conditions}).encode())
    signature = base64.b64encode(hmac.new(wire.secret.encode(), policy, hashlib.sha1).digest())
    return [("AWSAccessKeyId", wire.access_key), ("policy", policy.decode()), ("signature", signature.decode())]


def form_body(boundary, fields, file_body):
    out = b""
    for name, value in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    out += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n\r\n'.encode()
    return out + file_body + f"\r\n--{boundary}--\r\n".encode()


def describe(s, resolved=None):
    """One readable line for a step, with what its selectors resolved to."""
    op, who = s["op"], s.get("who")
    where = f"{s.get('bucket')}/{s.get('key')}"
    extra = []
    if op in NO_IDENTITY:
        who = "-"
    if op in ("HeadBucket", "CreateBucket", "PutBucketAcl", "PutBucketVersioning", "PutBucketWebsite",
              "ListMultipartUploads", "ListObjects", "ListObjectVersions", "DeleteObjects", "PostObject"):
        where = s["bucket"]
    if op == "PostObject":
        extra.append(f"key={s['key']}")
        if s.get("origin"):
            extra.append(f"Origin: {EVIL_ORIGIN}")
    if op == "WebsiteGet":
        where = f"http://{s['bucket']}{s['path']}"
    if s.get("acl"):
        extra.append(f"acl={s['acl']}")
    if s.get("status"):
        extra.append(s["status"])
    if op in ("ListObjects", "ListObjectVersions"):
        extra.append(("v2 " if s.get("v2") and op == "ListObjects" else "") + f"prefix={s['prefix']!r}" +
                     (f" delimiter={s['delimiter']!r}" if s.get("delimiter") else ""))
    if op in ("GetObject", "HeadObject", "GetObjectAttributes", "DeleteObject") and resolved:
        extra.append(f"versionId={resolved}")
    if op == "CopyObject":
        extra.append(f"from {s['src_bucket']}/{s['src_key']}" + (f"?versionId={resolved}" if resolved else ""))
    if op in ("UploadPart", "ListParts", "AbortMultipartUpload"):
        where = f"{resolved.bucket}/{resolved.key} upload={resolved.uid[:12]}"
    if op == "UploadPartCopy":
        u, vid = resolved
        where = f"{u.bucket}/{u.key} upload={u.uid[:12]}"
        extra.append(f"part {s['part']} from {s['src_bucket']}/{s['src_key']}" + (f"?versionId={vid}" if vid else ""))
    if op == "DeleteObjects":
        extra.append(" ".join(k + (f"?versionId={v}" if v else "") for k, v in resolved))
    return f"{who} {op} {where} {' '.join(extra)}".rstrip()


# ---------------------------------------------------------------------------------------------------------------
# Running a sequence, and shrinking a failing one.


def run_sequence(env, seed, steps):
    """Runs the setup and `steps` on a fresh server and model: (the Mismatch or None, the lines run, the Run)."""
    run = Run(env, seed)
    try:
        run.setup()
        for s in steps:
            run.step(s)
        return None, run.lines, run
    except Mismatch as m:
        return m, run.lines, run
    finally:
        run.close()


def pin(steps, run):
    """The steps with stable references, for shrinking: each step gets its id `n` and `pin`, the ids of the steps
    whose versions and uploads its selectors named in `run`. A selector is an index into whatever exists when it
    runs, so without pins removing any earlier step would make later ones name other versions and uploads."""
    out = []
    for i, s in enumerate(steps):
        n = s.get("n", i + 1)
        out.append({**s, "n": n, "pin": run.resolved.get(n, s.get("pin") or {})})
    return out


def relevant(steps, run, failing):
    """The steps that can matter to the failing one: those that changed the model's state (a read or a refused
    write changes nothing, as the documents promise) in the buckets the failing step and the kept copies read, plus
    tiered evictions there."""
    buckets = {run.touched.get(failing["n"]), failing.get("src_bucket")}
    while True:
        kept = [s for s in steps[:-1] if (s["n"] in run.changed and run.touched[s["n"]] in buckets)
                or (s["op"] == "Evict" and s["bucket"] in buckets)]
        more = {s["src_bucket"] for s in kept if s.get("src_bucket")} - buckets
        if not more:
            return kept + [steps[-1]]
        buckets |= more


def shrink(env, seed, steps, failure, budget, run):
    """Delta debugging (ddmin, complements only) on the pinned steps up to the failing one: first the slice of steps
    that changed state in the buckets involved, then chunks of a half, a quarter, ... down to single steps, keeping
    a candidate when it still fails the same way (`Mismatch.signature`: the same action and the same disagreement).
    Every candidate runs on a fresh server and model. Returns the shortest failing list found within `budget`
    seconds and its failure."""
    deadline = time.time() + budget
    target = failure.signature()
    current = pin(steps[:failure.index], run)
    best, tried, runs = failure, set(), 0

    def attempt(candidate):
        nonlocal current, best, runs
        ids = tuple(s["n"] for s in candidate)
        if not candidate or ids in tried or time.time() >= deadline:
            return False
        tried.add(ids)
        runs += 1
        m, _, _ = run_sequence(env, seed, candidate)
        if m is None or m.signature() != target:
            return False
        current, best = candidate[:m.index], m
        return True

    attempt(relevant(current, run, current[-1]))
    chunks = 2
    while len(current) > 1 and time.time() < deadline:
        size = -(-len(current) // chunks)
        # Early chunks first: the steps long before the failing one are the likeliest not to matter.
        if any(attempt(current[:start] + current[start + size:]) for start in range(0, len(current), size)):
            chunks = max(chunks - 1, 2)
        elif size == 1:
            break
        else:
            chunks = min(chunks * 2, len(current))
    print(f"shrinking: {failure.index} steps to {len(current)} in {runs} runs"
          + (" (time bound reached)" if time.time() >= deadline else ""))
    return current, best


def replay_command(mode_name, steps):
    """The command that replays `steps`: inline when short, else through a file (one environment variable holds at
    most 128 KiB)."""
    text = json.dumps(steps)
    test = f"tests/test_authorization_model.py::test_{mode_name.replace('-', '_')}_mode"
    if len(text) < 100_000:
        return f"STRATA_AUTHZ_REPLAY='{text}' python3 -m pytest {test}"
    path = os.path.join(tempfile.gettempdir(), f"strata-authz-{mode_name}-{os.getpid()}.json")
    with open(path, "w") as f:
        f.write(text)
    return f"STRATA_AUTHZ_REPLAY={path} python3 -m pytest {test}"


def seed_from_env():
    raw = os.environ.get("STRATA_AUTHZ_SEED", "28")
    if raw == "random":
        return random.SystemRandom().randrange(1 << 30)
    return int(raw)


def check_mode(mode_name, tmp_path):
    mode = MODES[mode_name]
    seed = seed_from_env()
    count = int(os.environ.get("STRATA_AUTHZ_STEPS", DEFAULT_STEPS))
    only = {o for o in os.environ.get("STRATA_AUTHZ_OPS", "").split(",") if o}
    replay = os.environ.get("STRATA_AUTHZ_REPLAY")
    if replay and not replay.lstrip().startswith("["):
        with open(replay) as f:  # a file holding the JSON list: long sequences pass the 128 KiB limit of one variable
            replay = f.read()
    steps = json.loads(replay) if replay else generate(mode, seed, count, only)
    steps = [s for s in steps if s["op"] in mode.ops]
    origin = f"seed {seed}" if not replay else "a replayed sequence"
    print(f"authorization model, {mode_name} mode: {origin}, {len(steps)} steps")
    env = Environment(mode, str(tmp_path))
    try:  # the Environment's helpers are stopped whatever happens
        started = time.time()
        failure, lines, run = run_sequence(env, seed, steps)
        print(f"{run.index} steps in {time.time() - started:.1f}s; expected outcomes per action:")
        for op in sorted({op for op, _ in run.tally}):
            outcomes = sorted((outcome, n) for (o, outcome), n in run.tally.items() if o == op)
            print(f"  {op:22} " + ", ".join(f"{outcome} {n}" for outcome, n in outcomes))
        if run.disagreements:
            failure = failure or run.disagreements[0]
            print("\n".join(m.text() for m in run.disagreements))
            pytest.fail(f"{mode_name} mode, {origin}: {len(run.disagreements)} disagreements (keep-going mode, "
                        f"not shrunk); the first:\n{failure.text()}", pytrace=False)
        if failure is None:
            reads = sum(n for (op, outcome), n in run.tally.items()
                        if op in ("GetObject", "HeadObject") and outcome == "allowed")
            if not mode.tiered and reads >= 5:
                assert run.inline_reads > 0, "no read was answered inline: the differential compared nothing"
            return
        budget = float(os.environ.get("STRATA_AUTHZ_SHRINK_SECONDS", "40"))
        minimal, best = (steps[:failure.index], failure) if budget <= 0 else shrink(env, seed, steps, failure, budget,
                                                                                      run)
        _, lines, _ = run_sequence(env, seed, minimal)
        shown = "\n".join(f"  {i:3}. {line}" if i else f"       {line}" for i, line in enumerate(lines))
        pytest.fail(
            f"{mode_name} mode, {origin}: the server disagrees with the reference model\n{failure.text()}\n\n"
            f"shortest sequence found ({len(minimal)} steps, {best.index} of them run):\n{shown}\n{best.text()}\n\n"
            f"replay: {replay_command(mode_name, minimal)}", pytrace=False)
    finally:
        env.close()


def test_simple_mode(tmp_path):
    """SIMPLE users with groups, the superuser, a supergroup member and anonymous; umask 027."""
    check_mode("simple", tmp_path)


def test_sigv4_mode(tmp_path):
    """The admin credential, unscoped and scoped credentials, STS sessions and unsigned requests; umask 022."""
    check_mode("sigv4", tmp_path)


def test_tiered_mode(tmp_path):
    """SIMPLE users over moto (CACHE_THROUGH): local copies evicted between reads, read through from the upstream."""
    check_mode("tiered", tmp_path)


def test_tiered_sigv4_mode(tmp_path):
    """SIGV4 identities over moto: public objects read by unsigned requests after their local copy is evicted."""
    check_mode("tiered-sigv4", tmp_path)
