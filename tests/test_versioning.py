"""S3 bucket versioning, with AWS semantics: version ids, delete markers, the `null` version, ListObjectVersions.

The same tests run against moto, the reference for AWS semantics, when VERSIONING_TARGET=moto; otherwise against
strata. A test that moto fails although AWS documents the behaviour it checks is skipped on moto, with the
difference described next to it.
"""
import os
import uuid

import botocore
import pytest

from conftest import MotoServer, error_code

ON_MOTO = os.environ.get("VERSIONING_TARGET") == "moto"


def skip_on_moto(reason):
    return pytest.mark.skipif(ON_MOTO, reason=reason)


@pytest.fixture(scope="module")
def target(request):
    """The server under test: a moto server of this module's own, or the session's strata server."""
    if ON_MOTO:
        moto = MotoServer()
        yield moto
        moto.stop()
    else:
        yield request.getfixturevalue("server")


@pytest.fixture
def s3(target):
    return target.client()


@pytest.fixture
def bucket(s3):
    """A new bucket that has never been versioned."""
    name = "v-" + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def vbucket(s3, bucket):
    """A new bucket with versioning Enabled."""
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def status(exc_info):
    return exc_info.value.response["ResponseMetadata"]["HTTPStatusCode"]


def headers(exc_info):
    return exc_info.value.response["ResponseMetadata"]["HTTPHeaders"]


def fails(call, **kwargs):
    """Runs a call that must fail; returns its pytest exception info."""
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kwargs)
    return e


def body(s3, bucket, key, **kwargs):
    return s3.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()


def listed_versions(s3, bucket, **kwargs):
    """One unpaginated ListObjectVersions: ([(key, version id, is latest)] of Versions, same of DeleteMarkers)."""
    page = s3.list_object_versions(Bucket=bucket, **kwargs)
    assert not page["IsTruncated"]
    return ([(v["Key"], v["VersionId"], v["IsLatest"]) for v in page.get("Versions", [])],
            [(m["Key"], m["VersionId"], m["IsLatest"]) for m in page.get("DeleteMarkers", [])])


def walk_versions(s3, bucket, max_keys, **kwargs):
    """Every entry of ListObjectVersions, `max_keys` a page, following NextKeyMarker and NextVersionIdMarker:
    [(kind, key, version id, is latest)], kind 'V' for a version and 'M' for a delete marker. boto3 parses a page
    into two lists, so a page's versions come before its markers here; with max_keys=1 the order is the answer's."""
    out, markers = [], {}
    for _ in range(1000):
        page = s3.list_object_versions(Bucket=bucket, MaxKeys=max_keys, **markers, **kwargs)
        entries = [("V", v["Key"], v["VersionId"], v["IsLatest"]) for v in page.get("Versions", [])] + \
                  [("M", m["Key"], m["VersionId"], m["IsLatest"]) for m in page.get("DeleteMarkers", [])]
        assert 0 < len(entries) <= max_keys, page
        out += entries
        if not page["IsTruncated"]:
            return out
        markers = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    raise AssertionError("ListObjectVersions never stopped paging")


def current_keys(s3, bucket, **kwargs):
    page = s3.list_objects_v2(Bucket=bucket, **kwargs)
    return [o["Key"] for o in page.get("Contents", [])], [p["Prefix"] for p in page.get("CommonPrefixes", [])]


# 1. Put/GetBucketVersioning

def test_versioning_status_is_absent_until_set_then_follows_each_put(s3, bucket):
    """GetBucketVersioning of a never-versioned bucket has no Status; afterwards it reports the state last set."""
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    for state in ("Enabled", "Suspended", "Enabled"):
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": state})
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == state


# moto stores any Status it is sent (and answers 200); AWS refuses a value other than Enabled and Suspended with
# 400 MalformedXML (IllegalVersioningConfigurationException in some of its answers).
@skip_on_moto("moto accepts any versioning Status")
def test_bad_versioning_status_is_refused(s3, bucket):
    """PutBucketVersioning with a Status other than Enabled/Suspended: 400, and the state does not change."""
    e = fails(s3.put_bucket_versioning, Bucket=bucket, VersioningConfiguration={"Status": "Bogus"})
    assert status(e) == 400
    assert error_code(e) in ("MalformedXML", "IllegalVersioningConfigurationException")
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    e = fails(s3.put_bucket_versioning, Bucket=bucket, VersioningConfiguration={"Status": "Disabled"})
    assert status(e) == 400
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


# 2. Versions of one key

def test_each_put_makes_a_new_version_and_older_ones_stay_readable(s3, vbucket):
    """PutObject in an Enabled bucket returns a new VersionId each time; a read without versionId gets the latest
    (and its id); a read with a VersionId gets that version's exact bytes and ETag."""
    datas = [b"first version", b"second, longer version", b"3"]
    puts = [s3.put_object(Bucket=vbucket, Key="doc.txt", Body=d) for d in datas]
    ids = [p["VersionId"] for p in puts]
    assert all(ids) and len(set(ids)) == 3 and "null" not in ids
    latest = s3.get_object(Bucket=vbucket, Key="doc.txt")
    assert latest["Body"].read() == datas[-1] and latest["VersionId"] == ids[-1] and latest["ETag"] == puts[-1]["ETag"]
    head = s3.head_object(Bucket=vbucket, Key="doc.txt")
    assert head["VersionId"] == ids[-1] and head["ContentLength"] == len(datas[-1])
    for data, put in zip(datas, puts):
        got = s3.get_object(Bucket=vbucket, Key="doc.txt", VersionId=put["VersionId"])
        assert got["Body"].read() == data
        assert got["ETag"] == put["ETag"] and got["VersionId"] == put["VersionId"]
        head = s3.head_object(Bucket=vbucket, Key="doc.txt", VersionId=put["VersionId"])
        assert head["ContentLength"] == len(data) and head["ETag"] == put["ETag"]
        assert head["VersionId"] == put["VersionId"]


# 3. Delete markers

def test_delete_without_version_id_adds_a_delete_marker(s3, vbucket):
    """DeleteObject without versionId in an Enabled bucket adds a delete marker (DeleteMarker true, its VersionId):
    the key reads as missing (404 NoSuchKey; HEAD 404 with x-amz-delete-marker: true) and leaves ListObjectsV2,
    but each older version still reads by its id; HEAD with the marker's id is 405."""
    v1 = s3.put_object(Bucket=vbucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=vbucket, Key="k", Body=b"two")["VersionId"]
    s3.put_object(Bucket=vbucket, Key="other", Body=b"stays")
    deleted = s3.delete_object(Bucket=vbucket, Key="k")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    assert marker and marker not in (v1, v2, "null")
    e = fails(s3.get_object, Bucket=vbucket, Key="k")
    assert (status(e), error_code(e)) == (404, "NoSuchKey")
    e = fails(s3.head_object, Bucket=vbucket, Key="k")
    assert status(e) == 404 and headers(e).get("x-amz-delete-marker") == "true"
    assert body(s3, vbucket, "k", VersionId=v1) == b"one"
    assert body(s3, vbucket, "k", VersionId=v2) == b"two"
    e = fails(s3.head_object, Bucket=vbucket, Key="k", VersionId=marker)
    assert status(e) == 405 and headers(e).get("x-amz-delete-marker") == "true"
    assert current_keys(s3, vbucket) == (["other"], [])
    # A second delete stacks another marker on the first.
    again = s3.delete_object(Bucket=vbucket, Key="k")
    assert again["DeleteMarker"] is True and again["VersionId"] not in (marker, v1, v2)
    versions, markers = listed_versions(s3, vbucket, Prefix="k")
    assert markers == [("k", again["VersionId"], True), ("k", marker, False)]
    assert versions == [("k", v2, False), ("k", v1, False)]


# moto answers a GET whose current version is a delete marker without x-amz-delete-marker, and a GET naming a
# delete marker's version with 404 NoSuchVersion. AWS (GetObject): "If the current version of the object is a delete
# marker, Amazon S3 behaves as if the object was deleted and includes x-amz-delete-marker: true in the response";
# "If the specified version is a delete marker, the response returns a 405 Method Not Allowed error".
@skip_on_moto("moto's GetObject leaves out x-amz-delete-marker and answers 404 for a delete marker's version")
def test_get_of_a_delete_marker_says_so(s3, vbucket):
    """GET of a key whose current version is a delete marker: 404 NoSuchKey with x-amz-delete-marker: true; GET with
    the marker's versionId: 405 MethodNotAllowed with x-amz-delete-marker: true."""
    s3.put_object(Bucket=vbucket, Key="k", Body=b"one")
    marker = s3.delete_object(Bucket=vbucket, Key="k")["VersionId"]
    e = fails(s3.get_object, Bucket=vbucket, Key="k")
    assert (status(e), error_code(e)) == (404, "NoSuchKey")
    assert headers(e).get("x-amz-delete-marker") == "true"
    e = fails(s3.get_object, Bucket=vbucket, Key="k", VersionId=marker)
    assert (status(e), error_code(e)) == (405, "MethodNotAllowed")
    assert headers(e).get("x-amz-delete-marker") == "true"


# 4. Deleting one version

def test_deleting_the_delete_marker_brings_the_object_back(s3, vbucket):
    """DeleteObject with the delete marker's VersionId removes the marker: the previous version is current again."""
    v1 = s3.put_object(Bucket=vbucket, Key="dir/k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=vbucket, Key="dir/k", Body=b"two")["VersionId"]
    marker = s3.delete_object(Bucket=vbucket, Key="dir/k")["VersionId"]
    assert current_keys(s3, vbucket) == ([], [])
    removed = s3.delete_object(Bucket=vbucket, Key="dir/k", VersionId=marker)
    assert removed["VersionId"] == marker
    got = s3.get_object(Bucket=vbucket, Key="dir/k")
    assert got["Body"].read() == b"two" and got["VersionId"] == v2
    assert current_keys(s3, vbucket) == (["dir/k"], [])
    assert current_keys(s3, vbucket, Delimiter="/") == ([], ["dir/"])
    assert listed_versions(s3, vbucket) == ([("dir/k", v2, True), ("dir/k", v1, False)], [])


def test_deleting_the_current_version_makes_the_next_older_current(s3, vbucket):
    """DeleteObject with the current version's VersionId removes that version for good (no delete marker; the
    answer echoes the VersionId) and the next older version becomes current."""
    v1 = s3.put_object(Bucket=vbucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=vbucket, Key="k", Body=b"two")["VersionId"]
    removed = s3.delete_object(Bucket=vbucket, Key="k", VersionId=v2)
    assert removed["VersionId"] == v2 and not removed.get("DeleteMarker")
    got = s3.get_object(Bucket=vbucket, Key="k")
    assert got["Body"].read() == b"one" and got["VersionId"] == v1
    e = fails(s3.get_object, Bucket=vbucket, Key="k", VersionId=v2)
    assert (status(e), error_code(e)) == (404, "NoSuchVersion")
    assert listed_versions(s3, vbucket) == ([("k", v1, True)], [])
    # Deleting an older (not current) version leaves the current one alone.
    v3 = s3.put_object(Bucket=vbucket, Key="k", Body=b"three")["VersionId"]
    assert not s3.delete_object(Bucket=vbucket, Key="k", VersionId=v1).get("DeleteMarker")
    assert body(s3, vbucket, "k") == b"three"
    assert listed_versions(s3, vbucket) == ([("k", v3, True)], [])
    # The last version gone: the key is gone, with no marker left behind.
    s3.delete_object(Bucket=vbucket, Key="k", VersionId=v3)
    e = fails(s3.get_object, Bucket=vbucket, Key="k")
    assert (status(e), error_code(e)) == (404, "NoSuchKey")
    assert listed_versions(s3, vbucket) == ([], [])
    assert current_keys(s3, vbucket) == ([], [])


# 5. Version ids that name nothing

def test_unknown_version_id_is_no_such_version(s3, vbucket):
    """GetObject/HeadObject with a well-formed VersionId the key does not have (here: one that was deleted, and one
    of another key): 404 NoSuchVersion (HEAD: 404)."""
    s3.put_object(Bucket=vbucket, Key="k", Body=b"kept")
    gone = s3.put_object(Bucket=vbucket, Key="gone", Body=b"g")["VersionId"]
    s3.delete_object(Bucket=vbucket, Key="gone", VersionId=gone)
    other = s3.put_object(Bucket=vbucket, Key="other", Body=b"o")["VersionId"]
    for key, version in (("gone", gone), ("k", gone), ("k", other)):
        e = fails(s3.get_object, Bucket=vbucket, Key=key, VersionId=version)
        assert (status(e), error_code(e)) == (404, "NoSuchVersion"), (key, version)
        e = fails(s3.head_object, Bucket=vbucket, Key=key, VersionId=version)
        assert status(e) == 404, (key, version)


def test_malformed_version_id_is_refused(s3, vbucket):
    """GetObject with a VersionId no server could have made: AWS answers 400 InvalidArgument (moto: 404
    NoSuchVersion; either way not the object)."""
    s3.put_object(Bucket=vbucket, Key="k", Body=b"kept")
    e = fails(s3.get_object, Bucket=vbucket, Key="k", VersionId="not-a-version!!")
    assert (status(e), error_code(e)) in ((400, "InvalidArgument"), (404, "NoSuchVersion"))


# 6. ListObjectVersions

def test_list_object_versions_entries_order_and_latest(s3, vbucket):
    """ListObjectVersions: keys in byte order, each key's entries newest first, versions and delete markers
    interleaved in that order; IsLatest only on each key's newest entry; ETag and Size of each version."""
    a1 = s3.put_object(Bucket=vbucket, Key="alpha", Body=b"a-one")
    a2 = s3.put_object(Bucket=vbucket, Key="alpha", Body=b"a-two!")
    am = s3.delete_object(Bucket=vbucket, Key="alpha")["VersionId"]
    b1 = s3.put_object(Bucket=vbucket, Key="beta", Body=b"b")
    b2 = s3.put_object(Bucket=vbucket, Key="beta", Body=b"b-22")
    z1 = s3.put_object(Bucket=vbucket, Key="Zeta", Body=b"zzz")  # 'Z' sorts before 'a' in byte order
    expected = [("V", "Zeta", z1["VersionId"], True),
                ("M", "alpha", am, True), ("V", "alpha", a2["VersionId"], False), ("V", "alpha", a1["VersionId"], False),
                ("V", "beta", b2["VersionId"], True), ("V", "beta", b1["VersionId"], False)]
    page = s3.list_object_versions(Bucket=vbucket)
    assert not page["IsTruncated"]
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in page["Versions"]] == \
        [e[1:] for e in expected if e[0] == "V"]
    assert [(m["Key"], m["VersionId"], m["IsLatest"]) for m in page["DeleteMarkers"]] == \
        [e[1:] for e in expected if e[0] == "M"]
    sizes = {z1["VersionId"]: 3, a2["VersionId"]: 6, a1["VersionId"]: 5, b2["VersionId"]: 4, b1["VersionId"]: 1}
    etags = {p["VersionId"]: p["ETag"] for p in (a1, a2, b1, b2, z1)}
    for v in page["Versions"]:
        assert (v["ETag"], v["Size"]) == (etags[v["VersionId"]], sizes[v["VersionId"]]), v
        assert "LastModified" in v
    assert "LastModified" in page["DeleteMarkers"][0] and "ETag" not in page["DeleteMarkers"][0]
    # A page of one entry keeps the interleaved order of versions and markers.
    assert walk_versions(s3, vbucket, 1) == expected


def test_list_object_versions_prefix_and_delimiter(s3, vbucket):
    """ListObjectVersions with Prefix keeps the keys under it; with Delimiter it rolls the keys below the next
    delimiter into CommonPrefixes, a key whose current version is a delete marker included."""
    ids = {}
    for key in ("dir/a", "dir/a", "dir/sub/b", "dir/sub/c", "top", "top", "gone/x"):
        ids.setdefault(key, []).insert(0, s3.put_object(Bucket=vbucket, Key=key, Body=key.encode())["VersionId"])
    marker = s3.delete_object(Bucket=vbucket, Key="gone/x")["VersionId"]
    page = s3.list_object_versions(Bucket=vbucket, Delimiter="/")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["dir/", "gone/"]
    assert [(v["Key"], v["VersionId"]) for v in page["Versions"]] == [("top", i) for i in ids["top"]]
    assert "DeleteMarkers" not in page
    page = s3.list_object_versions(Bucket=vbucket, Prefix="dir/", Delimiter="/")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["dir/sub/"]
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in page["Versions"]] == \
        [("dir/a", ids["dir/a"][0], True), ("dir/a", ids["dir/a"][1], False)]
    versions, markers = listed_versions(s3, vbucket, Prefix="dir/sub/")
    assert versions == [("dir/sub/b", ids["dir/sub/b"][0], True), ("dir/sub/c", ids["dir/sub/c"][0], True)]
    assert markers == []
    versions, markers = listed_versions(s3, vbucket, Prefix="gone")
    assert versions == [("gone/x", ids["gone/x"][0], False)] and markers == [("gone/x", marker, True)]
    assert listed_versions(s3, vbucket, Prefix="nothing-here") == ([], [])


def test_list_object_versions_pages_walk_every_entry_once(s3, vbucket):
    """Paging ListObjectVersions with NextKeyMarker/NextVersionIdMarker (MaxKeys 1, 2 and 3) yields every version
    and delete marker exactly once, in the order of the unpaginated answer, whether a page ends inside a key or
    between keys."""
    for i in range(3):
        s3.put_object(Bucket=vbucket, Key="a", Body=f"a{i}".encode())
    s3.delete_object(Bucket=vbucket, Key="a")
    s3.put_object(Bucket=vbucket, Key="a", Body=b"a-again")
    s3.put_object(Bucket=vbucket, Key="b", Body=b"b")
    c = s3.put_object(Bucket=vbucket, Key="c", Body=b"c")["VersionId"]
    s3.delete_object(Bucket=vbucket, Key="c")
    s3.delete_object(Bucket=vbucket, Key="c", VersionId=c)  # c: nothing left but a delete marker
    for i in range(2):
        s3.put_object(Bucket=vbucket, Key="d/e", Body=f"de{i}".encode())
    versions, markers = listed_versions(s3, vbucket)
    assert len(versions) == 7 and len(markers) == 2
    one = walk_versions(s3, vbucket, 1)
    assert len(one) == 9 and len(set(one)) == 9
    assert [e[1:] for e in one if e[0] == "V"] == versions
    assert [e[1:] for e in one if e[0] == "M"] == markers
    assert [e[1] for e in one] == sorted(e[1] for e in one)
    for max_keys in (2, 3):
        walked = walk_versions(s3, vbucket, max_keys)
        assert sorted(walked) == sorted(one), max_keys
        # Within a page the two lists lose their interleaving; across pages the order holds.
        assert [e[1:] for e in walked if e[0] == "V"] == versions
        assert [e[1:] for e in walked if e[0] == "M"] == markers
    one_prefixed = walk_versions(s3, vbucket, 1, Prefix="d/")
    assert [e[1] for e in one_prefixed] == ["d/e", "d/e"]


def test_listing_objects_shows_only_current_versions(s3, vbucket):
    """ListObjectsV2 in a versioned bucket lists each key once, with its current version's ETag and Size, and leaves
    out keys whose current version is a delete marker (also as CommonPrefixes)."""
    s3.put_object(Bucket=vbucket, Key="a", Body=b"old a")
    new_a = s3.put_object(Bucket=vbucket, Key="a", Body=b"new")
    s3.put_object(Bucket=vbucket, Key="dead/x", Body=b"x")
    s3.delete_object(Bucket=vbucket, Key="dead/x")
    s3.put_object(Bucket=vbucket, Key="live/y", Body=b"y")
    page = s3.list_objects_v2(Bucket=vbucket)
    assert [(o["Key"], o["ETag"], o["Size"]) for o in page["Contents"]] == \
        [("a", new_a["ETag"], 3), ("live/y", s3.head_object(Bucket=vbucket, Key="live/y")["ETag"], 1)]
    assert page["KeyCount"] == 2
    assert current_keys(s3, vbucket, Prefix="dead/") == ([], [])
    assert current_keys(s3, vbucket, Prefix="live/", Delimiter="/") == (["live/y"], [])


# moto's ListObjectsV2 rolls a key whose current version is a delete marker into CommonPrefixes. AWS lists (and so
# groups under a delimiter) only keys with a current object: a "folder" whose keys are all delete-marked is not
# shown (as `aws s3 ls` shows).
@skip_on_moto("moto's ListObjectsV2 keeps CommonPrefixes of keys whose current version is a delete marker")
def test_delete_marked_keys_leave_no_common_prefix(s3, vbucket):
    """ListObjectsV2 with a Delimiter leaves out a prefix under which every key's current version is a delete
    marker, and shows it again once one of them is brought back."""
    s3.put_object(Bucket=vbucket, Key="a", Body=b"a")
    x = s3.put_object(Bucket=vbucket, Key="dead/x", Body=b"x")["VersionId"]
    s3.put_object(Bucket=vbucket, Key="dead/deeper/y", Body=b"y")
    marker = s3.delete_object(Bucket=vbucket, Key="dead/x")["VersionId"]
    s3.delete_object(Bucket=vbucket, Key="dead/deeper/y")
    s3.put_object(Bucket=vbucket, Key="live/y", Body=b"y")
    assert current_keys(s3, vbucket, Delimiter="/") == (["a"], ["live/"])
    assert current_keys(s3, vbucket, Prefix="dead/", Delimiter="/") == ([], [])
    page = s3.list_objects_v2(Bucket=vbucket, Delimiter="/", MaxKeys=1)
    assert page["KeyCount"] == 1 and [o["Key"] for o in page["Contents"]] == ["a"]
    s3.delete_object(Bucket=vbucket, Key="dead/x", VersionId=marker)
    assert current_keys(s3, vbucket, Delimiter="/") == (["a"], ["dead/", "live/"])
    assert current_keys(s3, vbucket, Prefix="dead/", Delimiter="/") == (["dead/x"], [])
    assert body(s3, vbucket, "dead/x", VersionId=x) == b"x"


# 7. The null version

def test_objects_from_before_versioning_have_the_null_version(s3, bucket):
    """An object written before versioning was enabled has version id 'null': after an overwrite it is listed as
    VersionId 'null', reads with VersionId 'null', and DeleteObject VersionId 'null' removes just it."""
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"before")
    assert "VersionId" not in put
    assert listed_versions(s3, bucket) == ([("k", "null", True)], [])
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"after")["VersionId"]
    assert v1 != "null"
    assert listed_versions(s3, bucket) == ([("k", v1, True), ("k", "null", False)], [])
    got = s3.get_object(Bucket=bucket, Key="k", VersionId="null")
    assert got["Body"].read() == b"before" and got["ETag"] == put["ETag"]
    assert s3.head_object(Bucket=bucket, Key="k", VersionId="null")["ContentLength"] == 6
    assert s3.delete_object(Bucket=bucket, Key="k", VersionId="null")["VersionId"] == "null"
    assert listed_versions(s3, bucket) == ([("k", v1, True)], [])
    e = fails(s3.get_object, Bucket=bucket, Key="k", VersionId="null")
    assert (status(e), error_code(e)) == (404, "NoSuchVersion")
    assert body(s3, bucket, "k") == b"after"


# 8. Suspended

# moto treats a Suspended bucket as an unversioned one: a PutObject there throws away every earlier version of the
# key, and a DeleteObject removes them all instead of adding a delete marker. AWS (Working with objects in a
# versioning-suspended bucket): a put replaces only the null version and keeps the others; a delete without
# versionId removes the null version and adds a delete marker whose version id is null.
@skip_on_moto("moto discards earlier versions on a put or delete in a Suspended bucket")
def test_suspended_bucket_writes_the_null_version(s3, vbucket):
    """Suspended: each PutObject writes the single 'null' version (replacing the previous null one) and earlier
    real versions stay; DeleteObject without versionId makes a delete marker whose VersionId is 'null'."""
    v1 = s3.put_object(Bucket=vbucket, Key="k", Body=b"enabled")["VersionId"]
    s3.put_bucket_versioning(Bucket=vbucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=vbucket)["Status"] == "Suspended"
    put = s3.put_object(Bucket=vbucket, Key="k", Body=b"suspended one")
    # Strata answers a null-version write without x-amz-version-id, as ceph's s3-tests expect of AWS.
    assert put.get("VersionId", "null") == "null" and (ON_MOTO or "VersionId" not in put)
    assert body(s3, vbucket, "k") == b"suspended one"
    assert listed_versions(s3, vbucket) == ([("k", "null", True), ("k", v1, False)], [])
    s3.put_object(Bucket=vbucket, Key="k", Body=b"suspended two")
    assert listed_versions(s3, vbucket) == ([("k", "null", True), ("k", v1, False)], [])
    assert body(s3, vbucket, "k", VersionId="null") == b"suspended two"
    assert body(s3, vbucket, "k", VersionId=v1) == b"enabled"
    deleted = s3.delete_object(Bucket=vbucket, Key="k")
    assert deleted["DeleteMarker"] is True and deleted.get("VersionId", "null") == "null"
    assert listed_versions(s3, vbucket) == ([("k", v1, False)], [("k", "null", True)])
    e = fails(s3.get_object, Bucket=vbucket, Key="k")
    assert (status(e), error_code(e)) == (404, "NoSuchKey")
    # Removing the null marker brings the enabled-era version back.
    s3.delete_object(Bucket=vbucket, Key="k", VersionId="null")
    assert body(s3, vbucket, "k") == b"enabled"
    assert listed_versions(s3, vbucket) == ([("k", v1, True)], [])
    # Enabled again: new puts get real ids, and the null version made while suspended stays.
    s3.put_object(Bucket=vbucket, Key="j", Body=b"null j")
    s3.put_bucket_versioning(Bucket=vbucket, VersioningConfiguration={"Status": "Enabled"})
    j2 = s3.put_object(Bucket=vbucket, Key="j", Body=b"real j")["VersionId"]
    assert j2 != "null"
    assert listed_versions(s3, vbucket, Prefix="j") == ([("j", j2, True), ("j", "null", False)], [])


# 9. Conditional requests against the current version

def test_conditional_writes_check_the_current_version(s3, vbucket):
    """If-Match / If-None-Match on PutObject (and If-Match on DeleteObject) compare with the current version only:
    IfMatch=current ETag succeeds and adds a version, an older version's ETag is 412, IfNoneMatch='*' is 412 while a
    current version exists; once a delete marker is current, IfMatch='*' is 404 NoSuchKey and IfNoneMatch='*'
    succeeds (as ceph s3-tests test_put_object_current_if_match / test_delete_object_current_if_match)."""
    e = fails(s3.put_object, Bucket=vbucket, Key="c", Body=b"x", IfMatch="*")
    assert (status(e), error_code(e)) == (404, "NoSuchKey")
    first = s3.put_object(Bucket=vbucket, Key="c", Body=b"one", IfNoneMatch="*")
    second = s3.put_object(Bucket=vbucket, Key="c", Body=b"two", IfMatch=first["ETag"])
    assert second["VersionId"] not in (first["VersionId"], None)
    e = fails(s3.put_object, Bucket=vbucket, Key="c", Body=b"three", IfMatch=first["ETag"])
    assert (status(e), error_code(e)) == (412, "PreconditionFailed")
    e = fails(s3.put_object, Bucket=vbucket, Key="c", Body=b"three", IfNoneMatch="*")
    assert (status(e), error_code(e)) == (412, "PreconditionFailed")
    third = s3.put_object(Bucket=vbucket, Key="c", Body=b"three", IfMatch=second["ETag"])
    assert body(s3, vbucket, "c") == b"three"
    assert len(listed_versions(s3, vbucket)[0]) == 3
    e = fails(s3.delete_object, Bucket=vbucket, Key="c", IfMatch=second["ETag"])
    assert (status(e), error_code(e)) == (412, "PreconditionFailed")
    deleted = s3.delete_object(Bucket=vbucket, Key="c", IfMatch=third["ETag"])
    assert deleted["DeleteMarker"] is True
    e = fails(s3.put_object, Bucket=vbucket, Key="c", Body=b"four", IfMatch="*")
    assert (status(e), error_code(e)) == (404, "NoSuchKey")
    e = fails(s3.put_object, Bucket=vbucket, Key="c", Body=b"four", IfMatch=third["ETag"])
    assert (status(e), error_code(e)) == (404, "NoSuchKey")
    fourth = s3.put_object(Bucket=vbucket, Key="c", Body=b"four", IfNoneMatch="*")
    assert body(s3, vbucket, "c") == b"four"
    versions, markers = listed_versions(s3, vbucket)
    assert [v[1] for v in versions] == [fourth["VersionId"], third["VersionId"], second["VersionId"], first["VersionId"]]
    assert markers == [("c", deleted["VersionId"], False)]


# 10. Copy and multipart

def test_copy_into_a_versioned_bucket_and_from_an_older_version(s3, vbucket):
    """CopyObject into a versioned bucket returns the new VersionId; a CopySource with a VersionId copies that
    version's bytes (and echoes it as CopySourceVersionId)."""
    s1 = s3.put_object(Bucket=vbucket, Key="src", Body=b"source one")
    s2 = s3.put_object(Bucket=vbucket, Key="src", Body=b"source two")
    old = s3.copy_object(Bucket=vbucket, Key="dst", CopySource={"Bucket": vbucket, "Key": "src", "VersionId": s1["VersionId"]})
    assert old["VersionId"] not in (None, "null", s1["VersionId"], s2["VersionId"])
    assert old["CopySourceVersionId"] == s1["VersionId"]
    assert old["CopyObjectResult"]["ETag"] == s1["ETag"]
    new = s3.copy_object(Bucket=vbucket, Key="dst", CopySource={"Bucket": vbucket, "Key": "src"})
    assert new["VersionId"] not in (None, old["VersionId"])
    assert new["CopySourceVersionId"] == s2["VersionId"]
    assert body(s3, vbucket, "dst") == b"source two"
    assert body(s3, vbucket, "dst", VersionId=old["VersionId"]) == b"source one"
    assert listed_versions(s3, vbucket, Prefix="dst") == ([("dst", new["VersionId"], True), ("dst", old["VersionId"], False)], [])
    # Copying onto itself from an older version restores it as a new current version.
    back = s3.copy_object(Bucket=vbucket, Key="src", CopySource={"Bucket": vbucket, "Key": "src", "VersionId": s1["VersionId"]})
    assert body(s3, vbucket, "src") == b"source one"
    assert [v[1] for v in listed_versions(s3, vbucket, Prefix="src")[0]] == [back["VersionId"], s2["VersionId"], s1["VersionId"]]
    # A delete marker's version cannot be a copy source.
    marker = s3.delete_object(Bucket=vbucket, Key="src")["VersionId"]
    e = fails(s3.copy_object, Bucket=vbucket, Key="x", CopySource={"Bucket": vbucket, "Key": "src"})
    assert (status(e), error_code(e)) == (404, "NoSuchKey")
    # AWS: 400 InvalidRequest (a copy source may not name a delete marker); moto: 404 NoSuchVersion.
    e = fails(s3.copy_object, Bucket=vbucket, Key="x", CopySource={"Bucket": vbucket, "Key": "src", "VersionId": marker})
    assert (status(e), error_code(e)) in ((400, "InvalidRequest"), (404, "NoSuchVersion"))
    assert current_keys(s3, vbucket, Prefix="x") == ([], [])


def test_multipart_upload_in_a_versioned_bucket_adds_a_version(s3, vbucket):
    """CompleteMultipartUpload in a versioned bucket returns a VersionId; the previous version stays readable."""
    before = s3.put_object(Bucket=vbucket, Key="mp", Body=b"plain put")
    upload = s3.create_multipart_upload(Bucket=vbucket, Key="mp")["UploadId"]
    part1 = b"p" * (5 * 1024 * 1024)
    e1 = s3.upload_part(Bucket=vbucket, Key="mp", UploadId=upload, PartNumber=1, Body=part1)["ETag"]
    e2 = s3.upload_part(Bucket=vbucket, Key="mp", UploadId=upload, PartNumber=2, Body=b"tail")["ETag"]
    done = s3.complete_multipart_upload(Bucket=vbucket, Key="mp", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert done["VersionId"] not in (None, "null", before["VersionId"])
    got = s3.get_object(Bucket=vbucket, Key="mp")
    assert got["VersionId"] == done["VersionId"] and got["ETag"] == done["ETag"]
    assert got["Body"].read() == part1 + b"tail"
    old = s3.get_object(Bucket=vbucket, Key="mp", VersionId=before["VersionId"])
    assert old["Body"].read() == b"plain put" and old["ETag"] == before["ETag"]
    versions = s3.list_object_versions(Bucket=vbucket)["Versions"]
    assert [(v["VersionId"], v["IsLatest"], v["Size"], v["ETag"]) for v in versions] == [
        (done["VersionId"], True, len(part1) + 4, done["ETag"]), (before["VersionId"], False, 9, before["ETag"])]


# 11. DeleteObjects

def test_delete_objects_with_and_without_version_ids(s3, vbucket):
    """DeleteObjects: an entry with a VersionId removes exactly that version (Deleted echoes the VersionId); one
    without adds a delete marker (Deleted carries DeleteMarker true and DeleteMarkerVersionId)."""
    a1 = s3.put_object(Bucket=vbucket, Key="a", Body=b"a1")["VersionId"]
    a2 = s3.put_object(Bucket=vbucket, Key="a", Body=b"a2")["VersionId"]
    b1 = s3.put_object(Bucket=vbucket, Key="b", Body=b"b1")["VersionId"]
    c1 = s3.put_object(Bucket=vbucket, Key="c", Body=b"c1")["VersionId"]
    c2 = s3.put_object(Bucket=vbucket, Key="c", Body=b"c2")["VersionId"]
    result = s3.delete_objects(Bucket=vbucket, Delete={"Objects": [
        {"Key": "a", "VersionId": a1}, {"Key": "b"}, {"Key": "c", "VersionId": c2}]})
    assert "Errors" not in result
    deleted = {d["Key"]: d for d in result["Deleted"]}
    assert sorted(deleted) == ["a", "b", "c"]
    assert deleted["a"]["VersionId"] == a1 and not deleted["a"].get("DeleteMarker")
    assert deleted["c"]["VersionId"] == c2 and not deleted["c"].get("DeleteMarker")
    assert deleted["b"]["DeleteMarker"] is True
    marker = deleted["b"]["DeleteMarkerVersionId"]
    assert marker not in (None, "null", b1)
    assert listed_versions(s3, vbucket) == (
        [("a", a2, True), ("b", b1, False), ("c", c1, True)], [("b", marker, True)])
    assert body(s3, vbucket, "a") == b"a2" and body(s3, vbucket, "c") == b"c1"
    assert current_keys(s3, vbucket) == (["a", "c"], [])
    # The marker deleted by its id: b is back.
    result = s3.delete_objects(Bucket=vbucket, Delete={"Objects": [{"Key": "b", "VersionId": marker}]})
    assert [d["VersionId"] for d in result["Deleted"]] == [marker] and "Errors" not in result
    assert body(s3, vbucket, "b") == b"b1"
    assert current_keys(s3, vbucket) == (["a", "b", "c"], [])


# 12. DeleteBucket

def test_delete_bucket_needs_every_version_and_marker_gone(s3, vbucket):
    """DeleteBucket on a bucket whose keys are all delete-marked but which still holds versions: 409
    BucketNotEmpty; once every version and marker is deleted by id, it succeeds."""
    s3.put_object(Bucket=vbucket, Key="a", Body=b"1")
    s3.put_object(Bucket=vbucket, Key="a", Body=b"2")
    s3.delete_object(Bucket=vbucket, Key="a")
    s3.put_object(Bucket=vbucket, Key="d/b", Body=b"3")
    s3.delete_object(Bucket=vbucket, Key="d/b")
    assert s3.list_objects_v2(Bucket=vbucket)["KeyCount"] == 0
    e = fails(s3.delete_bucket, Bucket=vbucket)
    assert (status(e), error_code(e)) == (409, "BucketNotEmpty")
    versions, markers = listed_versions(s3, vbucket)
    assert len(versions) == 3 and len(markers) == 2
    for key, version, _ in versions[:2]:
        s3.delete_object(Bucket=vbucket, Key=key, VersionId=version)
    e = fails(s3.delete_bucket, Bucket=vbucket)
    assert (status(e), error_code(e)) == (409, "BucketNotEmpty")
    # Only delete markers left: still not empty.
    for key, version, _ in versions[2:]:
        s3.delete_object(Bucket=vbucket, Key=key, VersionId=version)
    assert listed_versions(s3, vbucket)[0] == []
    e = fails(s3.delete_bucket, Bucket=vbucket)
    assert (status(e), error_code(e)) == (409, "BucketNotEmpty")
    result = s3.delete_objects(Bucket=vbucket, Delete={"Objects": [{"Key": k, "VersionId": v} for k, v, _ in markers]})
    assert "Errors" not in result and len(result["Deleted"]) == 2
    assert listed_versions(s3, vbucket) == ([], [])
    s3.delete_bucket(Bucket=vbucket)
    e = fails(s3.head_bucket, Bucket=vbucket)
    assert status(e) == 404


# 13. Strata's files

@skip_on_moto("strata's on-disk layout")
def test_current_version_is_the_plain_file_and_internals_stay_hidden(target, s3, vbucket):
    """The current version of a key is an ordinary file at <root>/<bucket>/<key>; older versions and delete markers
    live elsewhere, and no listing ever shows an internal (.strata...) name."""
    path = os.path.join(target.root, vbucket, "dir", "k")
    v1 = s3.put_object(Bucket=vbucket, Key="dir/k", Body=b"version one")["VersionId"]
    v2 = s3.put_object(Bucket=vbucket, Key="dir/k", Body=b"version two")["VersionId"]
    with open(path, "rb") as f:
        assert f.read() == b"version two"
    s3.put_object(Bucket=vbucket, Key="top", Body=b"t1")
    s3.put_object(Bucket=vbucket, Key="top", Body=b"t2")
    with open(os.path.join(target.root, vbucket, "top"), "rb") as f:
        assert f.read() == b"t2"
    s3.put_object(Bucket=vbucket, Key="gone", Body=b"g")
    s3.delete_object(Bucket=vbucket, Key="gone")

    def check_hidden():
        keys, prefixes = current_keys(s3, vbucket)
        assert keys == ["dir/k", "top"] and prefixes == []
        keys, prefixes = current_keys(s3, vbucket, Delimiter="/")
        assert keys == ["top"] and prefixes == ["dir/"]
        assert current_keys(s3, vbucket, Prefix="dir/", Delimiter="/") == (["dir/k"], [])
        versions, markers = listed_versions(s3, vbucket)
        assert sorted({k for k, _, _ in versions + markers}) == ["dir/k", "gone", "top"]
        page = s3.list_object_versions(Bucket=vbucket, Delimiter="/")
        assert [p["Prefix"] for p in page.get("CommonPrefixes", [])] == ["dir/"]
        for name in [o["Key"] for o in s3.list_objects_v2(Bucket=vbucket).get("Contents", [])] + \
                [p["Prefix"] for p in s3.list_objects_v2(Bucket=vbucket, Delimiter="/").get("CommonPrefixes", [])]:
            assert ".strata" not in name, name

    check_hidden()
    # The current version deleted by id: the older one is the plain file again.
    s3.delete_object(Bucket=vbucket, Key="dir/k", VersionId=v2)
    with open(path, "rb") as f:
        assert f.read() == b"version one"
    assert body(s3, vbucket, "dir/k", VersionId=v1) == b"version one"
    check_hidden()


# 14. Keys and operations that take other paths through the store

def test_copy_onto_itself_makes_a_new_version(s3, bucket):
    """A copy of the current version onto its own key (REPLACE) in a versioned bucket adds a version; the one it
    replaced, and the null version from before versioning, stay readable by id."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"before")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    copied = s3.copy_object(Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": "k"},
                            MetadataDirective="REPLACE", Metadata={"color": "blue"})
    assert copied["VersionId"] not in (v1, "null")
    s3.put_object(Bucket=bucket, Key="k", Body=b"two")
    assert body(s3, bucket, "k", VersionId=v1) == b"one"
    assert body(s3, bucket, "k", VersionId="null") == b"before"
    copy = s3.get_object(Bucket=bucket, Key="k", VersionId=copied["VersionId"])
    assert copy["Body"].read() == b"one" and copy["Metadata"] == {"color": "blue"}
    versions, _ = listed_versions(s3, bucket)
    assert len(versions) == 4 and len({v for _, v, _ in versions}) == 4


def test_unusual_keys_keep_their_versions(s3, vbucket):
    """Keys stored under escaped or displaced names (`a/../b`, `/lead`, `dir/` with a body, `a` beside `a/x`)
    are versioned like any key, listed under their own names, and come back when their delete marker goes."""
    keys = ["a/../b", "/lead", "dir/", "a"]
    for key in keys:
        s3.put_object(Bucket=vbucket, Key=key, Body=b"v1 " + key.encode())
        s3.put_object(Bucket=vbucket, Key=key, Body=b"v2 " + key.encode())
    s3.put_object(Bucket=vbucket, Key="a/x", Body=b"below a")
    markers = {key: s3.delete_object(Bucket=vbucket, Key=key) for key in keys}
    for key in keys:
        assert markers[key]["DeleteMarker"], key
        assert error_code(fails(s3.get_object, Bucket=vbucket, Key=key)) == "NoSuchKey", key
    versions, deleted = listed_versions(s3, vbucket)
    assert sorted({k for k, _, _ in deleted}) == sorted(keys)
    assert sorted(k for k, _, _ in versions) == sorted(keys * 2 + ["a/x"])
    for key in keys:
        s3.delete_object(Bucket=vbucket, Key=key, VersionId=markers[key]["VersionId"])
        assert body(s3, vbucket, key) == b"v2 " + key.encode(), key
    assert body(s3, vbucket, "a/x") == b"below a"


def test_version_pages_with_a_delimiter(s3, vbucket):
    """Pages of ListObjectVersions with a delimiter visit each common prefix and key once, in order."""
    for i in range(5):
        s3.put_object(Bucket=vbucket, Key=f"p{i}/x", Body=b"x")
        s3.put_object(Bucket=vbucket, Key=f"top{i}", Body=b"x")
    seen = []
    markers = {}
    while True:
        page = s3.list_object_versions(Bucket=vbucket, Delimiter="/", MaxKeys=2, **markers)
        seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])] + [v["Key"] for v in page.get("Versions", [])]
        if not page["IsTruncated"]:
            break
        markers = {"KeyMarker": page["NextKeyMarker"]}
        if "NextVersionIdMarker" in page:
            markers["VersionIdMarker"] = page["NextVersionIdMarker"]
    assert seen == [f"p{i}/" for i in range(5)] + [f"top{i}" for i in range(5)]


# moto answers an empty page when the version-id-marker no longer exists; AWS documents no answer for it, and
# Strata goes on with the versions older than the marker (its id records its time).
@skip_on_moto("moto stops at a version-id-marker that no longer exists")
def test_version_pages_resume_after_a_vanished_marker(s3, vbucket):
    """A page that resumes at a version deleted since the last page goes on with the older versions."""
    ids = [s3.put_object(Bucket=vbucket, Key="many", Body=str(i).encode())["VersionId"] for i in range(4)]
    first = s3.list_object_versions(Bucket=vbucket, Prefix="many", MaxKeys=2)
    assert [v["VersionId"] for v in first["Versions"]] == [ids[3], ids[2]]
    s3.delete_object(Bucket=vbucket, Key="many", VersionId=ids[2])
    rest = s3.list_object_versions(Bucket=vbucket, Prefix="many", KeyMarker=first["NextKeyMarker"],
                                   VersionIdMarker=first["NextVersionIdMarker"])
    assert [v["VersionId"] for v in rest["Versions"]] == [ids[1], ids[0]]


def test_object_attributes_of_an_earlier_version(s3, vbucket):
    """GetObjectAttributes takes a versionId and names the version it describes."""
    v1 = s3.put_object(Bucket=vbucket, Key="k", Body=b"foo")["VersionId"]
    v2 = s3.put_object(Bucket=vbucket, Key="k", Body=b"longer")["VersionId"]
    current = s3.get_object_attributes(Bucket=vbucket, Key="k", ObjectAttributes=["ObjectSize"])
    assert current["VersionId"] == v2 and current["ObjectSize"] == 6
    older = s3.get_object_attributes(Bucket=vbucket, Key="k", VersionId=v1, ObjectAttributes=["ObjectSize", "ETag"])
    assert older["VersionId"] == v1 and older["ObjectSize"] == 3
