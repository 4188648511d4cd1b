"""Alluxio's permission model for the user a request names (SIMPLE) or signs as (SIGV4): owner, group and mode on
buckets, directories and objects, POSIX owners and modes for files made outside S3, the umask, canned ACLs,
superuser and supergroup; read rate limits."""
import os
import pwd
import subprocess
import time

import boto3
import botocore
import pytest
from botocore.config import Config

from conftest import STRATA_BIN, error_code

GROUPS = "alice: analysts\nbob: analysts\ncarol: others\ndave: supergroup\n"


def client(server, user, secret="unused"):
    return boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=user,
                        aws_secret_access_key=secret,
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def denied(call):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call()
    assert error_code(e) == "AccessDenied", e.value.response
    return True


@pytest.fixture
def permission_server(start_server, tmp_path):
    mapping = tmp_path / "groups"
    mapping.write_text(GROUPS)
    return start_server(conf=[f"strata.security.group.mapping.file={mapping}"])


def test_owner_group_other_superuser_supergroup(permission_server):
    """Owner: everything; group member (analysts): read and list; other: read with umask 022, no write; superuser
    and supergroup member: everything. Every refusal leaves the data unchanged."""
    s = permission_server
    alice, bob, carol, dave, admin = (client(s, u) for u in ["alice", "bob", "carol", "dave", "admin"])
    alice.create_bucket(Bucket="reports")
    alice.put_object(Bucket="reports", Key="q1/sales.csv", Body=b"alice's numbers")
    # Group member and other read (mode 644, directories 755) and list.
    for reader in (bob, carol):
        assert reader.get_object(Bucket="reports", Key="q1/sales.csv")["Body"].read() == b"alice's numbers"
        assert [o["Key"] for o in reader.list_objects_v2(Bucket="reports")["Contents"]] == ["q1/sales.csv"]
        assert denied(lambda: reader.put_object(Bucket="reports", Key="q1/sales.csv", Body=b"overwritten"))
        assert denied(lambda: reader.delete_object(Bucket="reports", Key="q1/sales.csv"))
        assert denied(lambda: reader.put_object(Bucket="reports", Key="new.csv", Body=b"x"))
        assert denied(lambda: reader.put_bucket_tagging(Bucket="reports", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]}))
        result = reader.delete_objects(Bucket="reports", Delete={"Objects": [{"Key": "q1/sales.csv"}]})
        assert [e["Code"] for e in result["Errors"]] == ["AccessDenied"]
    assert alice.get_object(Bucket="reports", Key="q1/sales.csv")["Body"].read() == b"alice's numbers"
    assert "new.csv" not in [o["Key"] for o in alice.list_objects_v2(Bucket="reports")["Contents"]]
    # The superuser and a supergroup member may do everything.
    admin.put_object(Bucket="reports", Key="by-admin", Body=b"a")
    dave.put_object(Bucket="reports", Key="by-dave", Body=b"d")
    dave.delete_object(Bucket="reports", Key="by-admin")
    # The owner deletes; a bucket is the owner's to delete (the root is sticky).
    alice.delete_object(Bucket="reports", Key="by-dave")
    assert denied(lambda: carol.delete_bucket(Bucket="reports"))
    alice.delete_object(Bucket="reports", Key="q1/sales.csv")
    alice.delete_bucket(Bucket="reports")


def test_private_and_public_canned_acls(permission_server):
    """`private` leaves group and other nothing; `public-read-write` lets everyone write; ACLs report the mode."""
    s = permission_server
    alice, bob = client(s, "alice"), client(s, "bob")
    alice.create_bucket(Bucket="secret", ACL="private")
    alice.put_object(Bucket="secret", Key="k", Body=b"hidden")
    assert denied(lambda: bob.get_object(Bucket="secret", Key="k"))
    assert denied(lambda: bob.list_objects_v2(Bucket="secret"))
    alice.create_bucket(Bucket="dropbox", ACL="public-read-write")
    bob.put_object(Bucket="dropbox", Key="from-bob", Body=b"hi", ACL="private")
    assert denied(lambda: alice.get_object(Bucket="dropbox", Key="from-bob"))
    grants = alice.get_bucket_acl(Bucket="dropbox")["Grants"]
    assert {g["Permission"] for g in grants if g["Grantee"].get("URI", "").endswith("AllUsers")} == {"READ", "WRITE"}
    # PutObjectAcl with a canned ACL changes the mode: the owner opens the object to others.
    bob.put_object_acl(Bucket="dropbox", Key="from-bob", ACL="public-read")
    assert alice.get_object(Bucket="dropbox", Key="from-bob")["Body"].read() == b"hi"
    assert denied(lambda: alice.put_object_acl(Bucket="dropbox", Key="from-bob", ACL="private"))


def test_umask_decides_new_modes(start_server, tmp_path):
    """With umask 077 new objects are the owner's alone; the files on disk still belong to the server."""
    s = start_server(conf=["strata.security.authorization.permission.umask=077"])
    alice, bob = client(s, "alice"), client(s, "bob")
    alice.create_bucket(Bucket="mine")
    alice.put_object(Bucket="mine", Key="a/b", Body=b"x")
    assert denied(lambda: bob.get_object(Bucket="mine", Key="a/b"))
    assert denied(lambda: bob.list_objects_v2(Bucket="mine"))
    grants = alice.get_object_acl(Bucket="mine", Key="a/b")["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]


def test_files_made_outside_s3_carry_their_posix_permissions(permission_server):
    """A directory made by another program, owned by `nobody` with mode 0750, lets nobody (and root's group
    members) in, and no one else; mode 0777 lets everyone write."""
    s = permission_server
    nobody = pwd.getpwnam("nobody")
    external = os.path.join(s.root, "external")
    os.makedirs(os.path.join(external, "closed"))
    with open(os.path.join(external, "closed", "data"), "wb") as f:
        f.write(b"outside")
    with open(os.path.join(external, "open.txt"), "wb") as f:
        f.write(b"readable")
    os.chmod(external, 0o755)
    os.chown(os.path.join(external, "closed"), nobody.pw_uid, nobody.pw_gid)
    os.chmod(os.path.join(external, "closed"), 0o750)
    alice, owner = client(s, "alice"), client(s, "nobody")
    assert alice.get_object(Bucket="external", Key="open.txt")["Body"].read() == b"readable"
    assert denied(lambda: alice.get_object(Bucket="external", Key="closed/data"))
    assert owner.get_object(Bucket="external", Key="closed/data")["Body"].read() == b"outside"
    assert denied(lambda: alice.put_object(Bucket="external", Key="new", Body=b"x"))
    os.chmod(external, 0o777)
    alice.put_object(Bucket="external", Key="new", Body=b"x")
    assert open(os.path.join(external, "new"), "rb").read() == b"x"


def test_directories_changed_outside_s3_are_seen_at_the_next_request(permission_server):
    """The server holds quiet directories open between requests (strata.fs.directory.cache.entries); a chmod,
    chown or replacement of a directory by another program still decides the very next request."""
    s = permission_server
    nobody = pwd.getpwnam("nobody")
    bucket = os.path.join(s.root, "held")
    directory = os.path.join(bucket, "dir")
    os.makedirs(directory)
    with open(os.path.join(directory, "data"), "wb") as f:
        f.write(b"first")
    os.chmod(bucket, 0o755)
    os.chmod(directory, 0o755)
    alice, owner = client(s, "alice"), client(s, "nobody")
    # Directories are held once unchanged for a second: read until both have been quiet that long.
    deadline = time.time() + 30
    while time.time() < max(os.stat(bucket).st_ctime, os.stat(directory).st_ctime) + 1.5:
        assert time.time() < deadline
        assert alice.get_object(Bucket="held", Key="dir/data")["Body"].read() == b"first"
    os.chmod(directory, 0o700)
    assert denied(lambda: alice.get_object(Bucket="held", Key="dir/data"))
    os.chmod(directory, 0o755)
    assert alice.get_object(Bucket="held", Key="dir/data")["Body"].read() == b"first"
    os.chown(directory, nobody.pw_uid, nobody.pw_gid)
    os.chmod(directory, 0o700)
    assert denied(lambda: alice.get_object(Bucket="held", Key="dir/data"))
    assert owner.get_object(Bucket="held", Key="dir/data")["Body"].read() == b"first"
    os.chmod(bucket, 0o700)
    assert denied(lambda: owner.get_object(Bucket="held", Key="dir/data"))
    os.chmod(bucket, 0o755)
    os.rename(directory, os.path.join(bucket, "old"))
    os.makedirs(directory, mode=0o755)
    with open(os.path.join(directory, "data"), "wb") as f:
        f.write(b"second")
    assert alice.get_object(Bucket="held", Key="dir/data")["Body"].read() == b"second"
    os.rename(bucket, os.path.join(s.root, "gone"))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        alice.get_object(Bucket="held", Key="dir/data")
    assert error_code(e) == "NoSuchBucket"


def test_permission_checks_can_be_switched_off(start_server):
    """`alluxio.security.authorization.permission.enabled=false`: the user only labels requests."""
    s = start_server(conf=["alluxio.security.authorization.permission.enabled=false"])
    alice, bob = client(s, "alice"), client(s, "bob")
    alice.create_bucket(Bucket="open", ACL="private")
    alice.put_object(Bucket="open", Key="k", Body=b"v")
    bob.put_object(Bucket="open", Key="k", Body=b"bob")
    assert alice.get_object(Bucket="open", Key="k")["Body"].read() == b"bob"


def test_nosasl_acts_as_the_server_user(start_server):
    """NOSASL: whatever user a request names, it acts as the server's own user."""
    s = start_server(conf=["alluxio.security.authentication.type=NOSASL"])
    client(s, "alice").create_bucket(Bucket="nosasl")
    owner = client(s, "bob").get_bucket_acl(Bucket="nosasl")["Owner"]["ID"]
    assert owner == pwd.getpwuid(os.geteuid()).pw_name


def test_sigv4_applies_the_same_model(start_server, tmp_path):
    """SIGV4: the credential's user is the identity; scoped grants narrow it further."""
    root = tmp_path / "signed"
    root.mkdir()
    for user, key in [("alice", "AK-A"), ("bob", "AK-B")]:
        subprocess.run([STRATA_BIN, "credentials", "add", "--root", str(root), "--user", user, "--access-key", key,
                        "--secret-key", f"{user}-secret"], check=True, capture_output=True)
    s = start_server(root=root, conf=["strata.s3.auth.mode=SIGV4"])
    alice, bob = client(s, "AK-A", "alice-secret"), client(s, "AK-B", "bob-secret")
    alice.create_bucket(Bucket="signed-bucket", ACL="public-read-write")
    alice.put_object(Bucket="signed-bucket", Key="k", Body=b"v", ACL="private")
    # Bob has no grant on alice's bucket: the bucket grant refuses before the mode bits are asked.
    assert denied(lambda: bob.get_object(Bucket="signed-bucket", Key="k"))


def test_read_rate_limits(start_server):
    """A 4 MB/s per-connection limit paces a 6 MiB GET to about 1.5 s; without it the same GET is far faster."""
    s = start_server(conf=["alluxio.proxy.s3.single.connection.read.rate.limit.mb=4"])
    alice = client(s, "alice")
    alice.create_bucket(Bucket="paced")
    alice.put_object(Bucket="paced", Key="big", Body=os.urandom(6 * 1024 * 1024))
    started = time.monotonic()
    assert len(alice.get_object(Bucket="paced", Key="big")["Body"].read()) == 6 * 1024 * 1024
    elapsed = time.monotonic() - started
    # 6 MiB at 4 MiB/s with a 0.4 MiB burst: at least about 1.4 s, and not wildly more.
    assert 1.2 < elapsed < 4.0, elapsed
    g = start_server(conf=["strata.proxy.s3.global.read.rate.limit.mb=8"])
    alice = client(g, "alice")
    alice.create_bucket(Bucket="paced")
    alice.put_object(Bucket="paced", Key="big", Body=os.urandom(4 * 1024 * 1024))
    started = time.monotonic()
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        sizes = list(pool.map(lambda _: len(client(g, "alice").get_object(Bucket="paced", Key="big")["Body"].read()), range(2)))
    elapsed = time.monotonic() - started
    # Two 4 MiB GETs share 8 MiB/s: about 1 s together.
    assert sizes == [4 * 1024 * 1024] * 2
    assert 0.8 < elapsed < 3.5, elapsed


def test_group_members_get_the_group_bits(start_server, tmp_path):
    """With umask 027 (objects 640, directories 750) a member of the owner's group reads and lists; others do not."""
    mapping = tmp_path / "groups"
    mapping.write_text(GROUPS)
    s = start_server(conf=[f"strata.security.group.mapping.file={mapping}", "strata.security.authorization.permission.umask=027"])
    alice, bob, carol = client(s, "alice"), client(s, "bob"), client(s, "carol")
    alice.create_bucket(Bucket="team")
    alice.put_object(Bucket="team", Key="plan/q3.txt", Body=b"plan")
    assert bob.get_object(Bucket="team", Key="plan/q3.txt")["Body"].read() == b"plan"
    assert [o["Key"] for o in bob.list_objects_v2(Bucket="team")["Contents"]] == ["plan/q3.txt"]
    assert denied(lambda: bob.put_object(Bucket="team", Key="plan/q4.txt", Body=b"x"))
    assert denied(lambda: carol.get_object(Bucket="team", Key="plan/q3.txt"))
    assert denied(lambda: carol.list_objects_v2(Bucket="team"))


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files another owner needs root")
def test_posix_ownership_follows_the_s3_user(start_server):
    """With strata.security.authorization.posix.ownership.enabled, what `nobody` creates belongs to nobody on disk."""
    s = start_server(conf=["strata.security.authorization.posix.ownership.enabled=true"])
    nobody = pwd.getpwnam("nobody")
    user = client(s, "nobody")
    user.create_bucket(Bucket="owned")
    user.put_object(Bucket="owned", Key="dir/file", Body=b"x")
    for path in ["owned", "owned/dir", "owned/dir/file"]:
        assert os.stat(os.path.join(s.root, path)).st_uid == nobody.pw_uid, path
        assert os.stat(os.path.join(s.root, path)).st_gid == nobody.pw_gid, path
    assert user.get_object(Bucket="owned", Key="dir/file")["Body"].read() == b"x"


def test_sigv4_grants_and_mode_bits_both_apply(start_server, tmp_path):
    """A credential of bob granted write on alice's bucket still needs the mode bits: 755 refuses his writes,
    public-read-write lets them through."""
    root = tmp_path / "signed2"
    root.mkdir()
    subprocess.run([STRATA_BIN, "credentials", "add", "--root", str(root), "--user", "alice", "--access-key", "AK-A",
                    "--secret-key", "alice-secret"], check=True, capture_output=True)
    subprocess.run([STRATA_BIN, "credentials", "add", "--root", str(root), "--user", "bob", "--access-key", "AK-B",
                    "--secret-key", "bob-secret", "--bucket", "shared:write"], check=True, capture_output=True)
    s = start_server(root=root, conf=["strata.s3.auth.mode=SIGV4"])
    alice, bob = client(s, "AK-A", "alice-secret"), client(s, "AK-B", "bob-secret")
    alice.create_bucket(Bucket="shared")
    alice.put_object(Bucket="shared", Key="k", Body=b"v")
    assert bob.get_object(Bucket="shared", Key="k")["Body"].read() == b"v"
    assert denied(lambda: bob.put_object(Bucket="shared", Key="from-bob", Body=b"x"))
    alice.put_bucket_acl(Bucket="shared", ACL="public-read-write")
    bob.put_object(Bucket="shared", Key="from-bob", Body=b"x")
    assert alice.get_object(Bucket="shared", Key="from-bob")["Body"].read() == b"x"


def test_sigv4_anonymous_access_follows_public_canned_acls(start_server, tmp_path):
    """SIGV4: an unsigned request reads only what public-read opened, lists only a public bucket, writes only into
    a public-read-write bucket, and never lists buckets; everything else stays signed-only."""
    import requests
    root = tmp_path / "anon"
    root.mkdir()
    subprocess.run([STRATA_BIN, "credentials", "add", "--root", str(root), "--user", "alice", "--access-key", "AK-A",
                    "--secret-key", "alice-secret"], check=True, capture_output=True)
    subprocess.run([STRATA_BIN, "credentials", "add", "--root", str(root), "--user", "bob", "--access-key", "AK-B",
                    "--secret-key", "bob-secret"], check=True, capture_output=True)
    s = start_server(root=root, conf=["strata.s3.auth.mode=SIGV4"])
    alice = client(s, "AK-A", "alice-secret")
    alice.create_bucket(Bucket="site")
    alice.put_object(Bucket="site", Key="index.html", Body=b"<h1>hi</h1>", ACL="public-read")
    alice.put_object(Bucket="site", Key="draft.html", Body=b"secret")
    assert requests.get(f"{s.endpoint}/site/index.html", timeout=10).content == b"<h1>hi</h1>"
    assert requests.get(f"{s.endpoint}/site/draft.html", timeout=10).status_code == 403
    assert requests.get(f"{s.endpoint}/site?list-type=2", timeout=10).status_code == 403
    # A missing key: 403 to a caller who may not list the bucket, 404 once the bucket is public (as AWS).
    assert requests.get(f"{s.endpoint}/site/missing.html", timeout=10).status_code == 403
    assert requests.get(f"{s.endpoint}/", timeout=10).status_code == 403
    assert requests.put(f"{s.endpoint}/site/upload", data=b"x", timeout=10).status_code == 403
    # A signed user with no grant on the bucket gets what an unsigned one gets, no more.
    bob = client(s, "AK-B", "bob-secret")
    assert bob.get_object(Bucket="site", Key="index.html")["Body"].read() == b"<h1>hi</h1>"
    for call in (lambda: bob.get_object(Bucket="site", Key="draft.html"), lambda: bob.put_object(Bucket="site", Key="b", Body=b"b"),
                 lambda: bob.list_objects_v2(Bucket="site"), lambda: bob.put_bucket_acl(Bucket="site", ACL="private")):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert error_code(e) == "AccessDenied"
    alice.put_bucket_acl(Bucket="site", ACL="public-read-write")
    bob.put_object(Bucket="site", Key="from-bob", Body=b"b")
    assert alice.get_object(Bucket="site", Key="from-bob")["Body"].read() == b"b"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        bob.delete_bucket(Bucket="site")
    assert error_code(e) == "AccessDenied"
    assert b"<Key>index.html</Key>" in requests.get(f"{s.endpoint}/site?list-type=2", timeout=10).content
    assert requests.get(f"{s.endpoint}/site/missing.html", timeout=10).status_code == 404
    assert requests.get(f"{s.endpoint}/site/draft.html", timeout=10).status_code == 403
    assert requests.put(f"{s.endpoint}/site/upload", data=b"x", timeout=10).status_code == 200
    assert alice.get_object(Bucket="site", Key="draft.html")["Body"].read() == b"secret"


def test_concurrent_writers_never_see_an_unstamped_directory(permission_server):
    """Sixteen writers creating keys in the same new directories at once: a directory is visible only with its
    permission, so no writer is refused on a directory another writer is still making."""
    import concurrent.futures
    s = permission_server
    carol = client(s, "carol")
    carol.create_bucket(Bucket="racy")
    # Each new directory is contested by the sixteen writers at once.
    keys = [f"d{i // 16}/e{i % 2}/k{i}" for i in range(1600)]

    def writer(worker):
        mine = client(s, "carol")
        for key in keys[worker::16]:
            mine.put_object(Bucket="racy", Key=key, Body=b"x")
        return len(keys[worker::16])

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        assert sum(pool.map(writer, range(16))) == len(keys)
    listed = []
    for page in carol.get_paginator("list_objects_v2").paginate(Bucket="racy"):
        listed += [o["Key"] for o in page.get("Contents", [])]
    assert sorted(listed) == sorted(keys)
    assert not [n for n in os.listdir(os.path.join(s.root, "racy")) if n.startswith(".strata.tmp")]


def test_disk_modes_mirror_recorded_permissions(permission_server):
    """What S3 records as an entry's mode is its mode on disk too (the server keeping u+rw on files, u+rwx on
    directories), so other programs on the machine see the same permissions; files made by other programs keep theirs."""
    s = permission_server
    alice = client(s, "alice")

    def mode(path):
        return os.stat(os.path.join(s.root, path)).st_mode & 0o7777

    alice.create_bucket(Bucket="closet", ACL="private")
    assert mode("closet") == 0o700
    alice.create_bucket(Bucket="shelf")
    assert mode("shelf") == 0o755
    alice.put_object(Bucket="shelf", Key="open", Body=b"o", ACL="public-read")
    assert mode("shelf/open") == 0o644
    alice.put_object(Bucket="shelf", Key="a/b/secret", Body=b"s", ACL="private")
    assert (mode("shelf/a"), mode("shelf/a/b"), mode("shelf/a/b/secret")) == (0o700, 0o700, 0o600)
    alice.put_object_acl(Bucket="shelf", Key="a/b/secret", ACL="public-read-write")
    assert mode("shelf/a/b/secret") == 0o666
    alice.put_object_acl(Bucket="shelf", Key="a/b/secret", ACL="private")
    assert mode("shelf/a/b/secret") == 0o600
    assert alice.get_object(Bucket="shelf", Key="a/b/secret")["Body"].read() == b"s"
    alice.put_bucket_acl(Bucket="shelf", ACL="private")
    assert mode("shelf") == 0o700
    alice.put_bucket_acl(Bucket="shelf", ACL="public-read")
    assert mode("shelf") == 0o755
    alice.put_object(Bucket="shelf", Key="folder/", Body=b"", ACL="private")
    assert mode("shelf/folder") == 0o700
    alice.copy_object(Bucket="shelf", Key="copy", CopySource={"Bucket": "shelf", "Key": "open"}, ACL="private")
    assert mode("shelf/copy") == 0o600
    upload = alice.create_multipart_upload(Bucket="shelf", Key="joined", ACL="private")["UploadId"]
    etag = alice.upload_part(Bucket="shelf", Key="joined", UploadId=upload, PartNumber=1, Body=b"part")["ETag"]
    alice.complete_multipart_upload(Bucket="shelf", Key="joined", UploadId=upload,
                                    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert mode("shelf/joined") == 0o600
    # An older version keeps the mode it was written with (its archive is a hard link of the same file).
    alice.put_bucket_versioning(Bucket="shelf", VersioningConfiguration={"Status": "Enabled"})
    alice.put_object(Bucket="shelf", Key="versioned", Body=b"v1", ACL="private")
    alice.put_object(Bucket="shelf", Key="versioned", Body=b"v2", ACL="public-read")
    assert mode("shelf/versioned") == 0o644
    archived = [os.path.join(d, f) for d, _, files in os.walk(os.path.join(s.root, "shelf", ".strata.versions")) for f in files]
    assert [os.stat(p).st_mode & 0o777 for p in archived] == [0o600]
    # A file another program made keeps its own bits: they are the truth for it.
    outside = os.path.join(s.root, "shelf", "outside")
    with open(outside, "wb") as f:
        f.write(b"x")
    os.chmod(outside, 0o604)
    assert alice.get_object(Bucket="shelf", Key="outside")["Body"].read() == b"x"
    assert mode("shelf/outside") == 0o604
