"""Every way to read an object answers as the pooled S3 path does (issue 28's differential tests): the inline fast
path (SIMPLE users, anonymous, and SigV4 scoped keys and unscoped keys), reads of versions, the website listener
(as an anonymous reader), and reads that fall through to the upstream S3 once the local copy is gone.
"""
import os
import re

import boto3
import pytest
import requests
from botocore.config import Config

from conftest import add_credential, simple_auth

SKIPPED = {"x-amz-request-id", "x-amz-id-2", "x-request-id", "date", "connection", "keep-alive"}


def normalized(response):
    headers = {k.lower(): v for k, v in response.headers.items() if k.lower() not in SKIPPED}
    return response.status_code, headers, re.sub(rb"<(RequestId|HostId)>[^<]*</", rb"<\1>-</", response.content)


def populate(s3, versioned=True):
    s3.create_bucket(Bucket="paths", ACL="public-read")
    if versioned:
        s3.put_bucket_versioning(Bucket="paths", VersioningConfiguration={"Status": "Enabled"})
    ids = {"old": s3.put_object(Bucket="paths", Key="doc", Body=b"draft", ACL="private").get("VersionId")}
    ids["new"] = s3.put_object(Bucket="paths", Key="doc", Body=b"final", ACL="public-read").get("VersionId")
    s3.put_object(Bucket="paths", Key="private", Body=b"secret", ACL="private")
    s3.put_object(Bucket="paths", Key="dir/open", Body=b"open" * 100, ACL="public-read")
    s3.put_object(Bucket="paths", Key="hidden/x", Body=b"x", ACL="private")
    return ids


def reads(ids):
    for key in ("doc", "private", "dir/open", "hidden/x", "missing"):
        yield "GET", f"/paths/{key}", {}
        yield "HEAD", f"/paths/{key}", {}
        yield "GET", f"/paths/{key}", {"Range": "bytes=1-3"}
    for version in ids.values():
        if version:
            yield "GET", f"/paths/doc?versionId={version}", {}
            yield "HEAD", f"/paths/doc?versionId={version}", {}


def test_simple_mode_inline_and_pooled_reads_agree(start_server):
    inline = start_server()
    pooled = start_server(conf=["strata.fs.inline.read.max.size=0"])
    ids = {server.port: populate(server.client("alice")) for server in (inline, pooled)}
    for server in (inline, pooled):
        for name in ("doc", "private", "dir/open", "hidden/x"):
            os.utime(os.path.join(server.root, "paths", name), (1_700_000_000, 1_700_000_000))
    # The version ids differ between the servers: compare the n-th version of each.
    for (method, target, headers), (_, pooled_target, _) in zip(reads(ids[inline.port]), reads(ids[pooled.port])):
        for caller in ({**simple_auth("alice")}, {**simple_auth("bob")}, {}):
            got = requests.request(method, inline.endpoint + target, headers={**headers, **caller}, timeout=30)
            expected = requests.request(method, pooled.endpoint + pooled_target, headers={**headers, **caller}, timeout=30)
            a, b = normalized(got), normalized(expected)
            a[1].pop("x-amz-version-id", None), b[1].pop("x-amz-version-id", None)
            assert (a[0], a[2]) == (b[0], b[2]) and a[1].keys() == b[1].keys(), (method, target, caller)


SCOPED = {"READER": ["paths:read"], "OWNER": ["paths:owner"], "OTHER": ["elsewhere:owner"]}


def signed_server(start_server, tmp_path, name, conf=()):
    root = tmp_path / name
    root.mkdir()
    add_credential(root, "--user", "alice", "--access-key", "ALICEKEY", "--secret-key", "alice-secret")
    add_credential(root, "--user", "bob", "--access-key", "BOBKEY", "--secret-key", "bob-secret")
    for key, grants in SCOPED.items():
        args = ["--user", "bob", "--access-key", key, "--secret-key", key.lower() + "-secret"]
        for grant in grants:
            args += ["--bucket", grant]
        add_credential(root, *args)
    return start_server(root=root, conf=["strata.s3.auth.mode=SIGV4", *conf])


def presigned(server, key, secret, method, target):
    s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret,
                      config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    path, _, query = target.partition("?")
    bucket, _, object_key = path.lstrip("/").partition("/")
    params = {"Bucket": bucket, "Key": object_key}
    if query.startswith("versionId="):
        params["VersionId"] = query.split("=", 1)[1]
    return s3.generate_presigned_url("get_object" if method == "GET" else "head_object", Params=params, ExpiresIn=300)


def test_sigv4_inline_and_pooled_reads_agree_for_every_kind_of_key(start_server, tmp_path):
    """Scoped keys are admitted inline now (their grant needs no lookup): they must get the pooled path's answers."""
    inline = signed_server(start_server, tmp_path, "inline")
    pooled = signed_server(start_server, tmp_path, "pooled", conf=["strata.fs.inline.read.max.size=0"])
    ids = {}
    for server in (inline, pooled):
        alice = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="ALICEKEY",
                             aws_secret_access_key="alice-secret", config=Config(s3={"addressing_style": "path"}))
        ids[server.port] = populate(alice)
    keys = [("ALICEKEY", "alice-secret"), ("BOBKEY", "bob-secret")] + [(k, k.lower() + "-secret") for k in SCOPED] + [None]
    for (method, target, headers), (_, pooled_target, _) in zip(reads(ids[inline.port]), reads(ids[pooled.port])):
        for key in keys:
            def ask(server, path):
                url = presigned(server, *key, method, path) if key else server.endpoint + path
                return normalized(requests.request(method, url, headers=headers, timeout=30))
            a, b = ask(inline, target), ask(pooled, pooled_target)
            a[1].pop("x-amz-version-id", None), b[1].pop("x-amz-version-id", None)
            a[1].pop("last-modified", None), b[1].pop("last-modified", None)
            assert (a[0], a[2]) == (b[0], b[2]), (method, target, key, a[0], b[0])


@pytest.mark.parametrize("mode", ["SIMPLE", "SIGV4"])
def test_the_website_serves_what_an_anonymous_s3_read_gets(start_server, tmp_path, mode):
    allowed = ["strata.proxy.web.allowed.hosts=paths"]
    server = signed_server(start_server, tmp_path, "web", conf=allowed) if mode == "SIGV4" else start_server(conf=allowed)
    key, secret = ("ALICEKEY", "alice-secret") if mode == "SIGV4" else ("alice", "unused")
    alice = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret,
                         config=Config(s3={"addressing_style": "path"}))
    populate(alice, versioned=False)
    alice.put_bucket_website(Bucket="paths", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    for name in ("doc", "private", "dir/open", "hidden/x"):
        s3 = requests.get(f"{server.endpoint}/paths/{name}", timeout=30)
        site = requests.get(f"{server.website_endpoint}/{name}", headers={"Host": "paths"}, timeout=30)
        assert s3.status_code == site.status_code, (name, s3.status_code, site.status_code)
        if s3.status_code == 200:
            assert site.content == s3.content


@pytest.mark.parametrize("mode", ["SIMPLE", "SIGV4"])
def test_a_read_through_answers_as_the_local_copy_did(start_server, tmp_path, moto, mode):
    conf = moto.conf() + ["strata.proxy.s3.writetype=CACHE_THROUGH"]
    server = signed_server(start_server, tmp_path, "tier", conf=conf) if mode == "SIGV4" else start_server(conf=conf)
    credentials = {"alice": ("ALICEKEY", "alice-secret"), "bob": ("BOBKEY", "bob-secret")} if mode == "SIGV4" else {}
    alice = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                         aws_access_key_id=credentials.get("alice", ("alice",))[0],
                         aws_secret_access_key=credentials.get("alice", ("", "unused"))[1], config=Config(s3={"addressing_style": "path"}))
    populate(alice, versioned=False)

    def answers():
        out = []
        for method, target, headers in reads({}):
            for who in ("alice", "bob", None):
                if mode == "SIGV4" and who:
                    url, extra = presigned(server, *credentials[who], method, target), {}
                else:
                    url, extra = server.endpoint + target, (simple_auth(who) if who else {})
                r = requests.request(method, url, headers={**headers, **extra}, timeout=30)
                out.append((method, target, who, r.status_code, r.content))
        return out

    local = answers()
    for name in ("doc", "private", "dir/open", "hidden/x"):
        os.remove(os.path.join(server.root, "paths", name))
    through = answers()
    assert [a[:4] for a in through] == [a[:4] for a in local]
    assert [a[4] for a in through if a[3] == 200] == [a[4] for a in local if a[3] == 200]
