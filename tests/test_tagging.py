"""Object and bucket tagging: every operation, every limit, copy directives."""
import botocore
import pytest

from conftest import error_code, raw_request, xml_error_code


def tagset(d):
    return {"TagSet": [{"Key": k, "Value": v} for k, v in d.items()]}


def as_dict(resp):
    return {t["Key"]: t["Value"] for t in resp["TagSet"]}


def test_object_tagging_lifecycle(s3, bucket):
    s3.put_object(Bucket=bucket, Key="t", Body=b"x")
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []
    s3.put_object_tagging(Bucket=bucket, Key="t", Tagging=tagset({"foo": "bar", "fu": "bar", "baz": ""}))
    assert as_dict(s3.get_object_tagging(Bucket=bucket, Key="t")) == {"foo": "bar", "fu": "bar", "baz": ""}
    assert [t["Key"] for t in s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"]] == ["baz", "foo", "fu"]
    head = s3.head_object(Bucket=bucket, Key="t")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "3"
    assert s3.get_object(Bucket=bucket, Key="t")["TagCount"] == 3
    assert s3.delete_object_tagging(Bucket=bucket, Key="t")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []
    assert "x-amz-tagging-count" not in s3.head_object(Bucket=bucket, Key="t")["ResponseMetadata"]["HTTPHeaders"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object_tagging(Bucket=bucket, Key="missing")
    assert error_code(e) == "NoSuchKey"


def test_tagging_header_on_put(s3, bucket):
    s3.put_object(Bucket=bucket, Key="h", Body=b"x", Tagging="foo=bar&baz&sp%20ace=a%26b")
    assert as_dict(s3.get_object_tagging(Bucket=bucket, Key="h")) == {"foo": "bar", "baz": "", "sp ace": "a&b"}


def test_tags_on_directory_objects(s3, bucket):
    s3.put_object(Bucket=bucket, Key="folder/", Body=b"", Tagging="a=1")
    s3.put_object(Bucket=bucket, Key="folder/child", Body=b"x", Tagging="b=2")
    assert as_dict(s3.get_object_tagging(Bucket=bucket, Key="folder/")) == {"a": "1"}


@pytest.mark.parametrize("tags,message", [
    ({f"k{i}": "v" for i in range(11)}, "greater than 10"),
    ({"k" * 129: "v"}, "too long"),
    ({"k": "v" * 257}, "too long"),
    ({"aws:reserved": "v"}, "aws:"),
])
def test_tag_limits(s3, bucket, tags, message):
    s3.put_object(Bucket=bucket, Key="lim", Body=b"x", Tagging="keep=me")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object_tagging(Bucket=bucket, Key="lim", Tagging=tagset(tags))
    assert error_code(e) == "InvalidTag"
    assert message in e.value.response["Error"]["Message"]
    assert as_dict(s3.get_object_tagging(Bucket=bucket, Key="lim")) == {"keep": "me"}


def test_duplicate_keys_and_malformed_bodies(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="d", Body=b"x")
    dup = b"<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>"
    status, _, body = raw_request(server, "PUT", f"/{bucket}/d?tagging", body=dup)
    assert (status, xml_error_code(body)) == (400, "InvalidTag")
    status, _, body = raw_request(server, "PUT", f"/{bucket}/d?tagging", body=b"<Tagging><TagSet><Tag>")
    assert (status, xml_error_code(body)) == (400, "MalformedXML")
    status, _, body = raw_request(server, "PUT", f"/{bucket}/d?tagging", body=b"<Other/>")
    assert (status, xml_error_code(body)) == (400, "MalformedXML")


def test_tagging_header_limits(s3, bucket):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key="big", Body=b"x", Tagging="&".join(f"k{i}=v" for i in range(11)))
    assert error_code(e) == "InvalidTag"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key="big", Body=b"x", Tagging="k=" + "v" * 2100)
    assert error_code(e) == "MetadataTooLarge"
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key="big")


def test_restrictions_can_be_disabled(start_server):
    server = start_server(conf=["alluxio.proxy.s3.tagging.restrictions.enabled=false"])
    s3 = server.client()
    s3.create_bucket(Bucket="free")
    s3.put_object(Bucket="free", Key="k", Body=b"x")
    s3.put_object_tagging(Bucket="free", Key="k", Tagging=tagset({f"k{i}": "v" for i in range(11)}))
    assert len(s3.get_object_tagging(Bucket="free", Key="k")["TagSet"]) == 11


def test_copy_tagging_directive(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="origin=src")
    s3.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "src"})
    assert as_dict(s3.get_object_tagging(Bucket=bucket, Key="copied")) == {"origin": "src"}
    s3.copy_object(Bucket=bucket, Key="replaced", CopySource={"Bucket": bucket, "Key": "src"},
                   TaggingDirective="REPLACE", Tagging="new=tag")
    assert as_dict(s3.get_object_tagging(Bucket=bucket, Key="replaced")) == {"new": "tag"}
    s3.copy_object(Bucket=bucket, Key="cleared", CopySource={"Bucket": bucket, "Key": "src"}, TaggingDirective="REPLACE")
    assert s3.get_object_tagging(Bucket=bucket, Key="cleared")["TagSet"] == []


def test_bucket_tagging(s3, bucket):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_bucket_tagging(Bucket=bucket)
    assert error_code(e) == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket=bucket, Tagging=tagset({"team": "data", "cost": "42"}))
    assert as_dict(s3.get_bucket_tagging(Bucket=bucket)) == {"team": "data", "cost": "42"}
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_bucket_tagging(Bucket=bucket, Tagging=tagset({f"k{i}": "v" for i in range(51)}))
    assert error_code(e) == "InvalidTag"
    assert s3.delete_bucket_tagging(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_bucket_tagging(Bucket=bucket)
    assert error_code(e) == "NoSuchTagSet"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_bucket_tagging(Bucket="no-such-tag-bucket", Tagging=tagset({"a": "b"}))
    assert error_code(e) == "NoSuchBucket"
