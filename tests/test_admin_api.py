"""The admin listener's bucket-management API (/v1/s3/{account}/...): token, buckets, bucket users whose keys sign
at once on their bucket only, key rotation, Cyberduck bookmarks, health; against the real binary."""
import plistlib
import subprocess

import boto3
import botocore
import pytest
import requests
from botocore.config import Config

from conftest import STRATA_BIN

TOKEN = "admin-token-0123456789"


@pytest.fixture
def admin(start_server, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    server = start_server(root=root, conf=["strata.s3.auth.mode=SIGV4", f"strata.admin.web.token={TOKEN}"])
    server.api = f"{server.admin_endpoint}/v1/s3/strata"
    return server


def call(server, method, path, token=TOKEN, **kwargs):
    headers = {"X-Auth-Token": token} if token is not None else {}
    return requests.request(method, server.api + path, headers=headers, timeout=30, **kwargs)


def s3_client(server, key, secret):
    return boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def test_token_account_and_health(admin, start_server):
    assert call(admin, "GET", "/buckets", token=None).status_code == 401
    assert call(admin, "GET", "/buckets", token="wrong").status_code == 403
    assert call(admin, "POST", "/buckets", token="wrong", json={"BucketInput": {"Bucket": "nope"}}).status_code == 403
    assert requests.get(f"{admin.admin_endpoint}/v1/s3/other/buckets", headers={"X-Auth-Token": TOKEN}, timeout=30).status_code == 404
    assert call(admin, "GET", "/buckets").json() == []
    for path in ("/v1/s3/health/live", "/v1/s3/health/ready", "/v1/s3/ping", "/v1/s3/version"):
        assert requests.get(admin.admin_endpoint + path, timeout=30).status_code == 200, path
    # Without a token the API is not there at all; ping, version and health still answer.
    plain = start_server()
    assert requests.get(f"{plain.admin_endpoint}/v1/s3/strata/buckets", headers={"X-Auth-Token": TOKEN}, timeout=30).status_code == 404
    assert requests.get(f"{plain.admin_endpoint}/v1/s3/health/ready", timeout=30).status_code == 200


def test_bucket_lifecycle(admin):
    tags = [{"Key": "Application", "Value": "HowToGet"}, {"Key": "CreatedBy", "Value": "Big Bird"}]
    r = call(admin, "POST", "/buckets", json={"BucketInput": {"Bucket": "managed"}, "Tags": tags})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["Bucket"] == "/managed"
    assert body["Policy"]["PolicyName"] == "managed-BktAdmPlc" and body["Group"]["GroupName"] == "managed-BktAdmGrp"
    assert call(admin, "POST", "/buckets", json={"BucketInput": {"Bucket": "managed"}}).status_code == 409
    for bad in ({}, {"BucketInput": {}}, {"BucketInput": {"Bucket": "Bad_Name"}}, {"BucketInput": {"Bucket": "x"}, "Tags": "no"}):
        r = call(admin, "POST", "/buckets", json=bad)
        assert r.status_code == 400 and r.json()["Error"], bad
    assert call(admin, "POST", "/buckets", data=b"{not json").status_code == 400
    assert call(admin, "GET", "/buckets").json() == ["managed"]
    assert call(admin, "HEAD", "/buckets/managed").status_code == 200
    assert call(admin, "HEAD", "/buckets/missing").status_code == 404
    assert call(admin, "GET", "/buckets/managed").json() == {"Tags": tags, "Empty": True}
    new_tags = [{"Key": "COA", "Value": "Take.My.Money.$$$$"}]
    assert call(admin, "PUT", "/buckets/managed", json={"Tags": new_tags}).status_code == 200
    assert call(admin, "GET", "/buckets/managed").json()["Tags"] == new_tags
    bookmark = call(admin, "GET", "/buckets/managed/duck")
    assert bookmark.status_code == 200 and "managed.duck" in bookmark.headers["Content-Disposition"]
    duck = plistlib.loads(bookmark.content)
    assert duck["Protocol"] == "s3" and duck["Path"] == "/managed" and duck["Port"] == str(admin.port)
    assert "Password" not in bookmark.text and "Secret" not in bookmark.text
    # Not empty: 409 and the bucket stays.
    user = call(admin, "POST", "/buckets/managed/users", json={"User": {"UserName": "writer"}}).json()
    s3 = s3_client(admin, user["AccessKey"]["AccessKeyId"], user["AccessKey"]["SecretAccessKey"])
    s3.put_object(Bucket="managed", Key="k", Body=b"v")
    assert call(admin, "GET", "/buckets/managed").json()["Empty"] is False
    assert call(admin, "DELETE", "/buckets/managed").status_code == 409
    s3.delete_object(Bucket="managed", Key="k")
    r = call(admin, "DELETE", "/buckets/managed")
    assert r.status_code == 200 and r.json()["Users"] == ["writer"]
    assert call(admin, "DELETE", "/buckets/managed").status_code == 404
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.list_buckets()
    assert e.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_bucket_names_in_paths_are_validated(admin):
    """Names the S3 listener refuses in its paths are refused here too (400), before anything touches the root:
    `.strata` once had its tags written on the root's own state directory, `datasets:..` reached the root."""
    import os

    from conftest import http_request
    assert call(admin, "POST", "/buckets", json={"BucketInput": {"Bucket": "datasets"}}).status_code == 202
    root = admin.root
    watched = [path for path in (root, os.path.join(root, ".strata"), os.path.join(root, "datasets")) if os.path.exists(path)]
    before = {path: sorted(os.listxattr(path)) for path in watched}
    entries = sorted(os.listdir(root))
    tags = b'{"Tags": [{"Key": "k", "Value": "v"}]}'
    requests_to_try = [("HEAD", "", None), ("GET", "", None), ("PUT", "", tags), ("DELETE", "", None), ("GET", "/duck", None),
                       ("GET", "/users", None), ("POST", "/users", b'{"User": {"UserName": "intruder"}}'),
                       ("PUT", "/users/intruder", None), ("DELETE", "/users/intruder", None)]
    for bad in (".strata", ".strata.versions", ".strata.uploads", "..", ".", "a:..", "datasets:..", "datasets:.strata", "a:.strata",
                "a::b", ":a", "a:", "datasets:..:x"):
        for kind in ("buckets", "websites"):
            for method, suffix, body in requests_to_try + ([("PATCH", "", b'{"CacheInvalidation": ["/*"]}')] if kind == "websites" else []):
                target = f"/v1/s3/strata/{kind}/{bad}{suffix}"
                status, _, answer = http_request(admin.admin_port, method, target, {"X-Auth-Token": TOKEN}, body)
                assert status == 400, (target, method, status, answer)
                assert method == "HEAD" or b"is not valid" in answer, (target, method, answer)
    after = {path: sorted(os.listxattr(path)) for path in before}
    assert after == before and sorted(os.listdir(root)) == entries
    assert call(admin, "GET", "/buckets/datasets").json()["Tags"] == []


def test_bucket_users_sign_at_once_on_their_bucket_only(admin):
    for name in ("alpha", "beta"):
        assert call(admin, "POST", "/buckets", json={"BucketInput": {"Bucket": name}}).status_code == 202
    r = call(admin, "POST", "/buckets/alpha/users", json={"User": {"UserName": "alpha-user"}})
    assert r.status_code == 200, r.text
    created = r.json()
    key = created["AccessKey"]
    assert created["User"]["UserName"] == "alpha-user" and key["Status"] == "Active" and len(key["SecretAccessKey"]) == 40
    s3 = s3_client(admin, key["AccessKeyId"], key["SecretAccessKey"])
    s3.put_object(Bucket="alpha", Key="report.csv", Body=b"a,b\n")
    assert s3.get_object(Bucket="alpha", Key="report.csv")["Body"].read() == b"a,b\n"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket="beta", Key="x", Body=b"no")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    assert call(admin, "POST", "/buckets/alpha/users", json={"User": {"UserName": "alpha-user"}}).status_code == 409
    assert call(admin, "POST", "/buckets/alpha/users", json={"User": {"UserName": "bad name!"}}).status_code == 400
    assert call(admin, "POST", "/buckets/missing/users", json={"User": {"UserName": "u2"}}).status_code == 404
    assert [u["UserName"] for u in call(admin, "GET", "/buckets/alpha/users").json()] == ["alpha-user"]
    assert call(admin, "GET", "/buckets/beta/users").json() == []
    details = call(admin, "GET", "/buckets/alpha/users/alpha-user").json()
    assert [k["AccessKeyId"] for k in details["AccessKeys"]] == [key["AccessKeyId"]]
    assert "SecretAccessKey" not in str(details) and key["SecretAccessKey"] not in str(details)
    assert details["Groups"][0]["GroupName"] == "alpha-BktAdmGrp" and details["Policies"][0]["PolicyName"] == "alpha-BktAdmPlc"
    assert call(admin, "GET", "/buckets/beta/users/alpha-user").status_code == 404
    # Rotation: the old key stops at once, the new one works at once.
    rotated = call(admin, "PUT", "/buckets/alpha/users/alpha-user").json()
    assert rotated["DeletedKeyIds"] == [key["AccessKeyId"]]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket="alpha", Key="report.csv")
    assert e.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    fresh = s3_client(admin, rotated["AccessKey"]["AccessKeyId"], rotated["AccessKey"]["SecretAccessKey"])
    assert fresh.get_object(Bucket="alpha", Key="report.csv")["Body"].read() == b"a,b\n"
    # The offline CLI sees the API's keys (never their secrets) and the API sees the CLI's.
    listed = subprocess.run([STRATA_BIN, "credentials", "list", "--root", admin.root], capture_output=True, text=True, check=True).stdout
    assert rotated["AccessKey"]["AccessKeyId"] in listed and rotated["AccessKey"]["SecretAccessKey"] not in listed
    subprocess.run([STRATA_BIN, "credentials", "add", "--root", admin.root, "--user", "cli-user", "--access-key", "CLIKEY",
                    "--secret-key", "cli-secret", "--bucket", "alpha:owner"], check=True, capture_output=True)
    assert [u["UserName"] for u in call(admin, "GET", "/buckets/alpha/users").json()] == ["alpha-user", "cli-user"]
    r = call(admin, "DELETE", "/buckets/alpha/users/alpha-user")
    assert r.status_code == 200 and r.json()["DeletedKeyIds"] == [rotated["AccessKey"]["AccessKeyId"]]
    with pytest.raises(botocore.exceptions.ClientError):
        fresh.get_object(Bucket="alpha", Key="report.csv")
    assert call(admin, "DELETE", "/buckets/alpha/users/alpha-user").status_code == 404


def test_admin_cli_tables_and_json(admin):
    import json
    import os
    env = {**os.environ, "STRATA_ADMIN_ENDPOINT": admin.admin_endpoint, "STRATA_ADMIN_TOKEN": TOKEN}

    def cli(*args, check=True):
        return subprocess.run([STRATA_BIN, "admin", *args], capture_output=True, text=True, env=env, check=check)

    out = cli("buckets", "create", "clibucket", "--tag", "team=data").stdout
    assert out.splitlines()[0].split() == ["BUCKET", "GROUP", "POLICY"]
    assert "clibucket-BktAdmGrp" in out
    assert cli("buckets", "list").stdout.split() == ["BUCKET", "clibucket"]
    assert json.loads(cli("buckets", "list", "--json").stdout) == ["clibucket"]
    assert json.loads(cli("buckets", "show", "clibucket", "--json").stdout) == {"Tags": [{"Key": "team", "Value": "data"}], "Empty": True}
    created = json.loads(cli("users", "create", "clibucket", "loader", "--json").stdout)
    key = created["AccessKey"]
    s3_client(admin, key["AccessKeyId"], key["SecretAccessKey"]).put_object(Bucket="clibucket", Key="f", Body=b"x")
    table = cli("users", "list", "clibucket").stdout.splitlines()
    assert table[0].split() == ["USER", "CREATED"] and table[1].split()[0] == "loader"
    rotated = cli("users", "rotate", "clibucket", "loader").stdout.splitlines()
    assert rotated[1].split()[0] == "loader" and rotated[1].split()[1] != key["AccessKeyId"]
    assert cli("users", "delete", "clibucket", "loader").stdout.splitlines()[1].split()[0] == "loader"
    failed = cli("buckets", "delete", "clibucket", check=False)
    assert failed.returncode != 0 and "409" in failed.stderr
    wrong = subprocess.run([STRATA_BIN, "admin", "buckets", "list"], capture_output=True, text=True,
                           env={**env, "STRATA_ADMIN_TOKEN": "nope"})
    assert wrong.returncode != 0 and "403" in wrong.stderr


def test_token_from_a_file_and_seed_metrics_path(start_server, tmp_path):
    token_file = tmp_path / "admin-token"
    token_file.write_text("token-from-file\n")
    server = start_server(conf=[f"strata.admin.web.token.file={token_file}"])
    api = f"{server.admin_endpoint}/v1/s3/strata/buckets"
    assert requests.get(api, headers={"X-Auth-Token": "token-from-file"}, timeout=30).json() == []
    assert requests.get(api, headers={"X-Auth-Token": "token-from-fil"}, timeout=30).status_code == 403
    assert requests.get(server.admin_endpoint + "/v1/s3/metrics", timeout=30).text.startswith("# ")
    # Client mistakes are never 500: unknown methods, bad names, empty bodies.
    assert requests.post(api, headers={"X-Auth-Token": "token-from-file"}, timeout=30).status_code == 400
    assert requests.head(api + "/Bad..Name", headers={"X-Auth-Token": "token-from-file"}, timeout=30).status_code in (400, 404)
    assert requests.patch(api, headers={"X-Auth-Token": "token-from-file"}, timeout=30).status_code in (404, 405)
    missing = tmp_path / "no-such-token-file"
    failed = subprocess.run([STRATA_BIN, "serve", "--root", str(tmp_path), "--port", "0", "--conf", f"strata.admin.web.token.file={missing}",
                             "--conf", "strata.admin.web.port=0", "--conf", "strata.website.web.enabled=false"],
                            capture_output=True, text=True, timeout=60)
    assert failed.returncode != 0 and "admin token file" in failed.stderr + failed.stdout
