"""Issue 28: every way in goes through one authorization gate. Each example the issue reports, as an attacker would
try it against the real binary, in SIMPLE mode (users named in the Authorization header, checked by the permission
model) and in SIGV4 mode (signed credentials; a credential without a grant on a bucket is anonymous there).
"""
import os

import boto3
import botocore
import pytest
import requests
from botocore.config import Config

from conftest import add_credential, error_code, simple_auth, wait_for

USERS = ["alice", "bob", "carol", "dave"]
ADMIN = ("GATEADMIN", "gate-admin-secret-0123")


def secret(user):
    return f"{user}-secret-key-0123"


class Mode:
    """One server and a client per user, in SIMPLE or SIGV4 mode."""

    def __init__(self, start_server, tmp_path, mode, conf=(), scoped=None):
        root = tmp_path / f"root-{mode}"
        root.mkdir(parents=True)
        self.mode = mode
        env = {}
        # The website tests name their buckets in Host; a loopback server answers only the names it is told.
        settings = ["strata.proxy.web.allowed.hosts=bobsite"] + list(conf)
        if mode == "SIGV4":
            for user in USERS:
                add_credential(root, "--user", user, "--access-key", user.upper() + "KEY", "--secret-key", secret(user))
            for access_key, (user, grants) in (scoped or {}).items():
                args = ["--user", user, "--access-key", access_key, "--secret-key", secret(access_key)]
                for grant in grants:
                    args += ["--bucket", grant]
                add_credential(root, *args)
            settings.append("strata.s3.auth.mode=SIGV4")
            env = {"STRATA_ADMIN_ACCESS_KEY": ADMIN[0], "STRATA_ADMIN_SECRET_KEY": ADMIN[1]}
        self.server = start_server(root=root, conf=settings, env=env)
        self.root = root

    def client(self, user):
        key, secret_key = (user.upper() + "KEY", secret(user)) if self.mode == "SIGV4" else (user, "unused")
        return self.client_for(key, secret_key)

    def client_for(self, key, secret_key, **extra):
        return boto3.client("s3", endpoint_url=self.server.endpoint, region_name="us-east-1", aws_access_key_id=key,
                            aws_secret_access_key=secret_key,
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}), **extra)

    def anonymous(self):
        return boto3.client("s3", endpoint_url=self.server.endpoint, region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                          signature_version=botocore.UNSIGNED))


@pytest.fixture(params=["SIMPLE", "SIGV4"])
def mode(request, start_server, tmp_path):
    return Mode(start_server, tmp_path, request.param)


def refused(call, code="AccessDenied"):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call()
    assert error_code(e) == code, e.value.response
    return True


def status(call):
    try:
        call()
        return 200
    except botocore.exceptions.ClientError as e:
        return int(e.response["ResponseMetadata"]["HTTPStatusCode"])


def test_an_old_private_version_is_checked_by_its_own_permission(mode):
    """Another user's private old version is not readable by versionId (GET, HEAD, attributes, copy source),
    signed or not, while the key's current version is public, and after the key is deleted."""
    alice, bob = mode.client("alice"), mode.client("bob")
    alice.create_bucket(Bucket="vers", ACL="public-read")
    alice.put_bucket_versioning(Bucket="vers", VersioningConfiguration={"Status": "Enabled"})
    old = alice.put_object(Bucket="vers", Key="doc", Body=b"private draft", ACL="private")["VersionId"]
    new = alice.put_object(Bucket="vers", Key="doc", Body=b"published", ACL="public-read")["VersionId"]
    bob.create_bucket(Bucket="bobs")
    anonymous = mode.anonymous()
    assert bob.get_object(Bucket="vers", Key="doc")["Body"].read() == b"published"
    assert anonymous.get_object(Bucket="vers", Key="doc", VersionId=new)["Body"].read() == b"published"

    def attacks():
        for caller in (bob, anonymous):
            assert refused(lambda: caller.get_object(Bucket="vers", Key="doc", VersionId=old))
            assert status(lambda: caller.head_object(Bucket="vers", Key="doc", VersionId=old)) == 403
            assert refused(lambda: caller.get_object_attributes(Bucket="vers", Key="doc", VersionId=old, ObjectAttributes=["ETag"]))
        assert refused(lambda: bob.copy_object(Bucket="bobs", Key="stolen", CopySource={"Bucket": "vers", "Key": "doc", "VersionId": old}))
        upload = bob.create_multipart_upload(Bucket="bobs", Key="stolen-part")["UploadId"]
        assert refused(lambda: bob.upload_part_copy(Bucket="bobs", Key="stolen-part", UploadId=upload, PartNumber=1,
                                                    CopySource={"Bucket": "vers", "Key": "doc", "VersionId": old}))
        bob.abort_multipart_upload(Bucket="bobs", Key="stolen-part", UploadId=upload)

    attacks()
    alice.delete_object(Bucket="vers", Key="doc")  # a delete marker: the key has no current version
    attacks()
    assert alice.get_object(Bucket="vers", Key="doc", VersionId=old)["Body"].read() == b"private draft"
    assert bob.get_object(Bucket="vers", Key="doc", VersionId=new)["Body"].read() == b"published"
    assert refused(lambda: bob.head_object(Bucket="bobs", Key="stolen"), code="404")


def test_a_website_serves_only_what_anonymous_readers_may_read(mode):
    """A bucket owner who turns on a website does not publish another user's private object in it."""
    alice, bob = mode.client("alice"), mode.client("bob")
    bob.create_bucket(Bucket="bobsite", ACL="public-read-write")
    alice.put_object(Bucket="bobsite", Key="private.html", Body=b"alice's secret", ACL="private")
    bob.put_object(Bucket="bobsite", Key="index.html", Body=b"welcome", ACL="public-read")
    bob.put_bucket_website(Bucket="bobsite", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})

    def visit(path):
        return requests.get(mode.server.website_endpoint + path, headers={"Host": "bobsite"}, timeout=30)

    assert visit("/").content == b"welcome"
    refused_page = visit("/private.html")
    assert refused_page.status_code == 403 and b"alice's secret" not in refused_page.content
    assert requests.head(mode.server.website_endpoint + "/private.html", headers={"Host": "bobsite"}, timeout=30).status_code == 403


def test_listings_skip_directories_the_caller_may_not_enter(mode):
    """Key names inside a 0700 directory are not listed to others (ListObjects v1/v2, ListObjectVersions); uploads
    are listed to their initiator and the bucket's owner only, and ListParts answers only them."""
    alice, bob = mode.client("alice"), mode.client("bob")
    alice.create_bucket(Bucket="lists", ACL="public-read")
    alice.put_object(Bucket="lists", Key="open/a.csv", Body=b"a", ACL="public-read")
    alice.put_object(Bucket="lists", Key="hidden/payroll.csv", Body=b"b", ACL="private")  # its directory is 0700
    assert sorted(o["Key"] for o in alice.list_objects_v2(Bucket="lists")["Contents"]) == ["hidden/payroll.csv", "open/a.csv"]
    for listed in (bob.list_objects_v2(Bucket="lists"), bob.list_objects(Bucket="lists")):
        assert [o["Key"] for o in listed["Contents"]] == ["open/a.csv"]
    assert [p["Prefix"] for p in bob.list_objects_v2(Bucket="lists", Delimiter="/")["CommonPrefixes"]] == ["open/"]
    assert "Contents" not in bob.list_objects_v2(Bucket="lists", Prefix="hidden/")
    assert [v["Key"] for v in bob.list_object_versions(Bucket="lists").get("Versions", [])] == ["open/a.csv"]
    # Ceph's HeadBucket read-stats counts what the caller may list, too.
    headers = simple_auth("bob") if mode.mode == "SIMPLE" else {}
    stats = requests.head(f"{mode.server.endpoint}/lists?read-stats=true", headers=headers, timeout=30)
    assert stats.status_code == 200 and stats.headers["x-rgw-object-count"] == "1"
    upload = alice.create_multipart_upload(Bucket="lists", Key="open/big")["UploadId"]
    assert [u["UploadId"] for u in alice.list_multipart_uploads(Bucket="lists")["Uploads"]] == [upload]
    if mode.mode == "SIMPLE":
        assert "Uploads" not in bob.list_multipart_uploads(Bucket="lists")
    else:  # a credential without a grant here is anonymous: no upload listing for it
        assert refused(lambda: bob.list_multipart_uploads(Bucket="lists"))
    assert refused(lambda: bob.list_parts(Bucket="lists", Key="open/big", UploadId=upload))
    assert alice.list_parts(Bucket="lists", Key="open/big", UploadId=upload)["UploadId"] == upload


def test_a_copy_checks_the_source_as_a_read(start_server, tmp_path):
    """A key scoped `davebkt:owner` and `shared:read` may not copy (CopyObject, UploadPartCopy) an object in `shared`
    whose GET it is refused: its owner grant on the target does not reach the source."""
    mode = Mode(start_server, tmp_path, "SIGV4", scoped={"DAVESCOPED": ("dave", ["davebkt:owner", "shared:read"])})
    admin = mode.client_for(*ADMIN)
    carol = mode.client("carol")
    admin.create_bucket(Bucket="davebkt")
    carol.create_bucket(Bucket="shared")
    carol.put_object(Bucket="shared", Key="secret", Body=b"carol's", ACL="private")
    carol.put_object(Bucket="shared", Key="open", Body=b"everyone's")
    dave = mode.client_for("DAVESCOPED", secret("DAVESCOPED"))
    assert refused(lambda: dave.get_object(Bucket="shared", Key="secret"))
    assert refused(lambda: dave.copy_object(Bucket="davebkt", Key="copy", CopySource={"Bucket": "shared", "Key": "secret"}))
    upload = dave.create_multipart_upload(Bucket="davebkt", Key="part")["UploadId"]
    assert refused(lambda: dave.upload_part_copy(Bucket="davebkt", Key="part", UploadId=upload, PartNumber=1,
                                                 CopySource={"Bucket": "shared", "Key": "secret"}))
    # What dave may read, he may copy.
    dave.copy_object(Bucket="davebkt", Key="copy", CopySource={"Bucket": "shared", "Key": "open"})
    assert dave.get_object(Bucket="davebkt", Key="copy")["Body"].read() == b"everyone's"


def test_a_copy_checks_the_source_in_simple_mode(mode):
    """The same rule under SIMPLE users: a copy from another user's private object is refused."""
    alice, bob = mode.client("alice"), mode.client("bob")
    alice.create_bucket(Bucket="src", ACL="public-read")
    alice.put_object(Bucket="src", Key="secret", Body=b"alice's", ACL="private")
    bob.create_bucket(Bucket="dst")
    assert refused(lambda: bob.copy_object(Bucket="dst", Key="copy", CopySource={"Bucket": "src", "Key": "secret"}))


@pytest.mark.parametrize("auth", ["SIMPLE", "SIGV4"])
def test_a_read_through_after_eviction_is_checked_like_a_local_read(start_server, tmp_path, moto, auth):
    """In a tiered bucket, once the local copy is gone, the upstream copy is read with the same check, and the
    refilled copy keeps its owner and mode, so later cache hits stay closed too."""
    mode = Mode(start_server, tmp_path, auth, conf=moto.conf() + ["strata.proxy.s3.writetype=CACHE_THROUGH"])
    alice, bob = mode.client("alice"), mode.client("bob")
    alice.create_bucket(Bucket="tier", ACL="public-read")
    alice.put_object(Bucket="tier", Key="secret.csv", Body=b"alice's rows", ACL="private")
    alice.put_object(Bucket="tier", Key="open.csv", Body=b"shared rows", ACL="public-read")
    bob.create_bucket(Bucket="bobtier")
    local = os.path.join(mode.root, "tier", "secret.csv")
    for round in range(2):
        os.remove(local)  # as eviction or an invalidation drops it
        os.remove(os.path.join(mode.root, "tier", "open.csv")) if round == 0 else None
        assert refused(lambda: bob.get_object(Bucket="tier", Key="secret.csv"))
        assert status(lambda: bob.head_object(Bucket="tier", Key="secret.csv")) == 403
        assert refused(lambda: bob.get_object(Bucket="tier", Key="secret.csv", Range="bytes=0-3"))
        assert refused(lambda: bob.copy_object(Bucket="bobtier", Key="c", CopySource={"Bucket": "tier", "Key": "secret.csv"}))
        assert bob.get_object(Bucket="tier", Key="open.csv")["Body"].read() == b"shared rows"
        # The owner's read fills the cache; the copy keeps the owner's permission.
        assert alice.get_object(Bucket="tier", Key="secret.csv")["Body"].read() == b"alice's rows"
        assert wait_for(lambda: os.path.exists(local))
        assert refused(lambda: bob.get_object(Bucket="tier", Key="secret.csv"))
    # Making it public reaches the upstream copy too: after the next eviction it stays public.
    alice.put_object_acl(Bucket="tier", Key="secret.csv", ACL="public-read")
    os.remove(local)
    assert bob.get_object(Bucket="tier", Key="secret.csv")["Body"].read() == b"alice's rows"


def form_post(server, bucket, user, key, origin=None):
    """A cross-site HTML form as a browser sends it: no preflight, the user in a form field, Origin set by the browser."""
    headers = {"Origin": origin} if origin else {}
    files = [("key", (None, key)), ("AWSAccessKeyId", (None, user)), ("file", ("f.txt", b"posted by a web page"))]
    return requests.post(f"{server.endpoint}/{bucket}", files=files, headers=headers, allow_redirects=False, timeout=30)


def test_a_simple_mode_form_needs_an_allowed_origin(start_server, tmp_path):
    """In SIMPLE mode any web page could post a form naming `admin`: a form with an Origin is accepted only where the
    bucket's CORS rules allow that origin for POST, or the operator lists it; scripts (no Origin) are unaffected."""
    mode = Mode(start_server, tmp_path, "SIMPLE")
    admin = mode.client("admin")
    admin.create_bucket(Bucket="uploads")
    r = form_post(mode.server, "uploads", "admin", "evil.txt", origin="https://evil.example")
    assert r.status_code == 403 and b"CORS" in r.content
    assert refused(lambda: admin.head_object(Bucket="uploads", Key="evil.txt"), code="404")
    assert form_post(mode.server, "uploads", "admin", "script.txt").status_code == 204
    admin.put_bucket_cors(Bucket="uploads", CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["POST"]}]})
    assert form_post(mode.server, "uploads", "admin", "app.txt", origin="https://app.example").status_code == 204
    assert form_post(mode.server, "uploads", "admin", "evil.txt", origin="https://evil.example").status_code == 403
    listed = Mode(start_server, tmp_path / "listed", "SIMPLE", conf=["strata.s3.auth.simple.form.origins=https://intranet.example"])
    listed.client("admin").create_bucket(Bucket="open")
    assert form_post(listed.server, "open", "admin", "ok.txt", origin="https://intranet.example").status_code == 204
    assert form_post(listed.server, "open", "admin", "no.txt", origin="https://evil.example").status_code == 403


def test_a_write_session_may_not_change_another_owners_acl(start_server, tmp_path):
    """An STS session granted `write` may put objects, but changing who may read an object is its owner's: it may
    not make another user's private object public (a scoped key with the same grant is refused too)."""
    from oidc_provider import OIDCProvider
    from test_sts import assume, credentials, session_client, write_config
    provider = OIDCProvider()
    try:
        config = tmp_path / "sts.json"
        role = "arn:aws:iam::000000000000:role/writer"
        write_config(config, provider, roles=[{"arn": role, "issuer": provider.issuer, "conditions": {"sub": "job-*"},
                                               "grants": {"shared": "write"}, "max_session_seconds": 3600}])
        mode = Mode(start_server, tmp_path, "SIGV4", conf=["strata.sts.enabled=true", f"strata.sts.config.file={config}"],
                    scoped={"WRITERKEY": ("dave", ["shared:write"])})
        carol = mode.client("carol")
        carol.create_bucket(Bucket="shared")
        carol.put_object(Bucket="shared", Key="payroll", Body=b"carol's", ACL="private")
        session = session_client(mode.server, credentials(assume(mode.server, provider.token(), role=role)))
        session.put_object(Bucket="shared", Key="from-session", Body=b"mine")
        assert refused(lambda: session.put_object_acl(Bucket="shared", Key="payroll", ACL="public-read"))
        writer = mode.client_for("WRITERKEY", secret("WRITERKEY"))
        assert refused(lambda: writer.put_object_acl(Bucket="shared", Key="payroll", ACL="public-read"))
        assert refused(lambda: mode.anonymous().get_object(Bucket="shared", Key="payroll"))
        # Its own object, it may publish.
        session.put_object_acl(Bucket="shared", Key="from-session", ACL="public-read")
        assert mode.anonymous().get_object(Bucket="shared", Key="from-session")["Body"].read() == b"mine"
    finally:
        provider.stop()


def test_a_tiered_directory_keeps_its_permission_when_its_local_copies_go(start_server, tmp_path, moto):
    """The directory a key lives in keeps governing it after every local copy below it went: a delete that empties
    the directory locally leaves it (the upstream still holds objects below it), so no later writer re-makes it as
    its own and the owner's 0750 still keeps others out."""
    mode = Mode(start_server, tmp_path, "SIMPLE", conf=moto.conf() + ["strata.proxy.s3.writetype=CACHE_THROUGH",
                                                                      "strata.security.authorization.permission.umask=027"])
    alice, carol = mode.client("alice"), mode.client("carol")
    alice.create_bucket(Bucket="tpub", ACL="public-read")
    alice.put_object(Bucket="tpub", Key="dir/keep", Body=b"k")  # makes dir/ alice's, 0750 with the umask
    alice.put_object(Bucket="tpub", Key="dir/a", Body=b"alice's", ACL="public-read")
    assert refused(lambda: carol.get_object(Bucket="tpub", Key="dir/a"))
    for name in ("keep", "a"):
        os.remove(os.path.join(mode.root, "tpub", "dir", name))  # evicted
    alice.put_object(Bucket="tpub", Key="dir/c", Body=b"c")
    alice.delete_object(Bucket="tpub", Key="dir/c")  # the directory is empty locally now
    assert refused(lambda: carol.get_object(Bucket="tpub", Key="dir/a"))
    assert alice.get_object(Bucket="tpub", Key="dir/a")["Body"].read() == b"alice's"


def grouped_server(start_server, tmp_path, *extra):
    groups = tmp_path / "groups"
    groups.write_text("alice: analysts\nbob: analysts\ncarol: others\n")
    return start_server(conf=[f"strata.security.group.mapping.file={groups}", "strata.security.authorization.permission.umask=027", *extra])


def test_an_undeleted_version_gets_its_own_directories_back(start_server, tmp_path):
    """Found by the model-based test: the directories a delete marker emptied come back as the returning version's
    write made them (carol's, 0700), not as the bucket's (bob's 0777), which would have let others write there."""
    server = grouped_server(start_server, tmp_path)
    alice, bob, carol = server.client("alice"), server.client("bob"), server.client("carol")
    bob.create_bucket(Bucket="drop", ACL="public-read-write")
    bob.put_bucket_versioning(Bucket="drop", VersioningConfiguration={"Status": "Enabled"})
    carol.put_object(Bucket="drop", Key="dir/a", Body=b"carol's", ACL="private")
    assert refused(lambda: alice.put_object(Bucket="drop", Key="dir/x", Body=b"x"))
    marker = carol.delete_object(Bucket="drop", Key="dir/a")["VersionId"]
    carol.delete_object(Bucket="drop", Key="dir/a", VersionId=marker)
    assert os.getxattr(os.path.join(server.root, "drop", "dir"), "user.strata.perm").split(b"\0")[:3] == [b"carol", b"others", b"700"]
    assert refused(lambda: alice.put_object(Bucket="drop", Key="dir/x", Body=b"x"))


def test_list_object_versions_shows_no_prefix_of_hidden_versions(start_server, tmp_path):
    """A directory of the versions tree holding only hidden versions forms no common prefix."""
    server = grouped_server(start_server, tmp_path)
    alice, bob = server.client("alice"), server.client("bob")
    alice.create_bucket(Bucket="bkt", ACL="public-read")
    alice.put_bucket_versioning(Bucket="bkt", VersioningConfiguration={"Status": "Enabled"})
    alice.put_object(Bucket="bkt", Key="dir/x", Body=b"x", ACL="public-read")
    alice.put_object(Bucket="bkt", Key="dir/sub/y", Body=b"1", ACL="private")
    alice.put_object(Bucket="bkt", Key="dir/sub/y", Body=b"2", ACL="private")
    for version in alice.list_object_versions(Bucket="bkt", Prefix="dir/x")["Versions"]:
        alice.delete_object(Bucket="bkt", Key="dir/x", VersionId=version["VersionId"])
    listed = bob.list_object_versions(Bucket="bkt", Delimiter="/")
    assert "Versions" not in listed and "CommonPrefixes" not in listed
    assert [p["Prefix"] for p in alice.list_object_versions(Bucket="bkt", Delimiter="/")["CommonPrefixes"]] == ["dir/"]


@pytest.mark.parametrize("writetype", ["MUST_CACHE", "CACHE_THROUGH"])
def test_a_tiered_delete_removes_a_directory_the_upstream_holds_nothing_under(start_server, tmp_path, moto, writetype):
    """Emptied directories go, as without an upstream, once the upstream holds nothing below them either."""
    server = grouped_server(start_server, tmp_path, *moto.conf(), f"strata.proxy.s3.writetype={writetype}")
    alice, bob, carol = server.client("alice"), server.client("bob"), server.client("carol")
    bob.create_bucket(Bucket="tdrop", ACL="public-read-write")
    carol.put_object(Bucket="tdrop", Key="q/c", Body=b"c", ACL="private")
    carol.delete_objects(Bucket="tdrop", Delete={"Objects": [{"Key": "q/c"}]})
    assert not os.path.exists(os.path.join(server.root, "tdrop", "q"))
    alice.put_object(Bucket="tdrop", Key="q/z", Body=b"z")


def test_a_missing_bucket_is_no_such_bucket_to_every_caller(start_server, tmp_path):
    """The superuser, whom the permission model does not check, learns of a missing bucket first too."""
    server = grouped_server(start_server, tmp_path)
    admin, carol = server.client("admin"), server.client("carol")
    admin.create_bucket(Bucket="src")
    admin.put_object(Bucket="src", Key="a", Body=b"a")
    source = {"Bucket": "src", "Key": "a", "VersionId": "0000000000000001deadbeef"}
    for client in (carol, admin):
        assert refused(lambda: client.list_parts(Bucket="nosuch", Key="k", UploadId="x"), "NoSuchBucket")
        assert refused(lambda: client.upload_part(Bucket="nosuch", Key="k", UploadId="x", PartNumber=1, Body=b"p"), "NoSuchBucket")
        assert refused(lambda: client.abort_multipart_upload(Bucket="nosuch", Key="k", UploadId="x"), "NoSuchBucket")
        assert refused(lambda: client.upload_part_copy(Bucket="nosuch", Key="k", UploadId="x", PartNumber=1, CopySource=source),
                       "NoSuchBucket")
