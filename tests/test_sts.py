"""STS AssumeRoleWithWebIdentity: a token from a real OIDC provider on loopback becomes temporary credentials with
exactly its role's grants; boto3 and aws-cli configured the standard way use them; every refusal has STS's error."""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import boto3
import botocore
import pytest
import requests
from botocore.config import Config

from conftest import STRATA_BIN, error_code, wait_for
from oidc_provider import OIDCProvider

ADMIN = ("STSADMINKEY", "sts-admin-secret-0123456789")
ADMIN_TOKEN = "roles-token"
ROLE = "arn:aws:iam::000000000000:role/analytics"
NS = {"sts": "https://sts.amazonaws.com/doc/2011-06-15/"}


@pytest.fixture
def idp():
    provider = OIDCProvider()
    yield provider
    provider.stop()


def write_config(path, idp, roles=None):
    roles = roles if roles is not None else [
        {"arn": ROLE, "issuer": idp.issuer, "conditions": {"sub": "job-*"}, "grants": {"datasets": "read", "scratch": "write"},
         "max_session_seconds": 3600}]
    path.write_text(json.dumps({"providers": [{"issuer": idp.issuer, "audiences": ["strata"], "jwks_file": None}], "roles": roles}))


@pytest.fixture
def sts_server(start_server, tmp_path, idp):
    root = tmp_path / "root"
    root.mkdir()
    config = tmp_path / "sts.json"
    write_config(config, idp)
    conf = ["strata.s3.auth.mode=SIGV4", "strata.sts.enabled=true", f"strata.sts.config.file={config}",
            f"strata.admin.web.token={ADMIN_TOKEN}"]
    env = {"STRATA_ADMIN_ACCESS_KEY": ADMIN[0], "STRATA_ADMIN_SECRET_KEY": ADMIN[1]}
    server = start_server(root=root, conf=conf, env=env)
    admin = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=ADMIN[0], aws_secret_access_key=ADMIN[1],
                         config=Config(s3={"addressing_style": "path"}))
    for bucket in ("datasets", "scratch", "private"):
        admin.create_bucket(Bucket=bucket)
    admin.put_object(Bucket="datasets", Key="table.parquet", Body=b"columns")
    server.sts_config, server.conf, server.env = config, conf, env
    return server


def assume(server, token, role=ROLE, duration=None, method="POST"):
    params = {"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": role, "RoleSessionName": "nightly-job",
              "WebIdentityToken": token}
    if duration is not None:
        params["DurationSeconds"] = str(duration)
    if method == "POST":
        return requests.post(server.endpoint + "/", data=params, timeout=30)
    return requests.get(server.endpoint + "/", params=params, timeout=30)


def sts_code(response):
    return ET.fromstring(response.content).find("sts:Error/sts:Code", NS).text


def credentials(response):
    creds = ET.fromstring(response.content).find("sts:AssumeRoleWithWebIdentityResult/sts:Credentials", NS)
    return {name: creds.find(f"sts:{name}", NS).text for name in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")}


def session_client(server, creds):
    return boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"],
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def test_assume_role_and_grants(sts_server, idp):
    for kid, method in (("rsa-1", "POST"), ("ec-1", "GET")):
        r = assume(sts_server, idp.token(kid=kid), method=method)
        assert r.status_code == 200, r.text
        result = ET.fromstring(r.content).find("sts:AssumeRoleWithWebIdentityResult", NS)
        assert result.find("sts:SubjectFromWebIdentityToken", NS).text == "job-42"
        assert result.find("sts:Provider", NS).text == idp.issuer and result.find("sts:Audience", NS).text == "strata"
        assert result.find("sts:AssumedRoleUser/sts:Arn", NS).text.endswith("assumed-role/analytics/nightly-job")
        s3 = session_client(sts_server, credentials(r))
        assert s3.get_object(Bucket="datasets", Key="table.parquet")["Body"].read() == b"columns"
        s3.put_object(Bucket="scratch", Key=f"out-{kid}", Body=b"result")
        for call in (lambda: s3.put_object(Bucket="datasets", Key="x", Body=b"no"), lambda: s3.get_object(Bucket="private", Key="x"),
                     lambda: s3.delete_bucket(Bucket="scratch")):
            with pytest.raises(botocore.exceptions.ClientError) as e:
                call()
            assert error_code(e) == "AccessDenied"
    # Presigned URLs made with temporary credentials (SigV2 and SigV4) carry the token and work until the session ends.
    client = session_client(sts_server, credentials(assume(sts_server, idp.token())))
    v4 = boto3.client("s3", endpoint_url=sts_server.endpoint, region_name="us-east-1", aws_access_key_id=client._request_signer._credentials.access_key,
                      aws_secret_access_key=client._request_signer._credentials.secret_key,
                      aws_session_token=client._request_signer._credentials.token,
                      config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    for signer in (client, v4):
        url = signer.generate_presigned_url("get_object", Params={"Bucket": "datasets", "Key": "table.parquet"})
        assert "security-token" in url.lower()
        got = requests.get(url, timeout=30)
        assert got.content == b"columns", got.text


def test_boto3_and_aws_cli_with_a_token_file(sts_server, idp, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(idp.token())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ROLE_ARN": ROLE, "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file), "AWS_ROLE_SESSION_NAME": "ci-job",
                "AWS_ENDPOINT_URL_STS": sts_server.endpoint, "AWS_ENDPOINT_URL_S3": sts_server.endpoint, "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                # aws-cli caches assumed-role credentials under ~/.aws/cli/cache: a fresh home keeps earlier runs' out.
                "HOME": str(tmp_path)})
    script = ("import boto3\nfrom botocore.config import Config\n"
              "s3 = boto3.client('s3', config=Config(s3={'addressing_style': 'path'}))\n"
              "print(s3.get_object(Bucket='datasets', Key='table.parquet')['Body'].read().decode())\n"
              "s3.put_object(Bucket='scratch', Key='from-boto3', Body=b'ok')\n")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "columns", out.stderr
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    aws = aws if os.path.exists(aws) else "aws"
    listed = subprocess.run([aws, "s3", "ls", "s3://scratch/"], env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0 and "from-boto3" in listed.stdout, listed.stderr
    refused = subprocess.run([aws, "s3", "cp", str(token_file), "s3://datasets/nope"], env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "AccessDenied" in refused.stderr


def forge(token, payload_change=None, header_change=None, key=None):
    header, payload, signature = token.split(".")
    def decode(part):
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    def encode(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    h, p = decode(header), decode(payload)
    if header_change:
        h.update(header_change)
    if payload_change:
        p.update(payload_change)
    signing_input = f"{encode(h)}.{encode(p)}"
    if key is not None:
        signature = base64.urlsafe_b64encode(hmac.new(key, signing_input.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    elif h.get("alg") == "none":
        signature = ""
    return f"{signing_input}.{signature}"


def test_refusals_with_sts_errors(sts_server, idp):
    now = int(time.time())
    public_pem = idp.keys["rsa-1"][1].public_key().public_bytes(
        __import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.PEM,
        __import__("cryptography.hazmat.primitives.serialization", fromlist=["PublicFormat"]).PublicFormat.SubjectPublicKeyInfo)
    idp.add_key("rsa-unpublished", "RS256")
    unpublished = idp.token(kid="rsa-unpublished")
    del idp.keys["rsa-unpublished"]
    cases = [
        (idp.token(lifetime=-600), "ExpiredTokenException"),
        (idp.token(nbf=now + 3600), "InvalidIdentityToken"),
        (idp.token(aud="someone-else"), "InvalidIdentityToken"),
        (idp.token(iss="https://evil.example"), "InvalidIdentityToken"),
        (unpublished, "InvalidIdentityToken"),
        (forge(idp.token(), payload_change={"sub": "job-admin"}), "InvalidIdentityToken"),
        (forge(idp.token(), header_change={"alg": "none"}), "InvalidIdentityToken"),
        (forge(idp.token(), header_change={"alg": "HS256"}, key=public_pem), "InvalidIdentityToken"),
        ("not.a.jwt", "InvalidIdentityToken"),
    ]
    for token, code in cases:
        r = assume(sts_server, token)
        assert r.status_code == 400 and sts_code(r) == code, (code, r.text)
    r = assume(sts_server, idp.token(sub="intern-7"))
    assert r.status_code == 403 and sts_code(r) == "AccessDenied"
    r = assume(sts_server, idp.token(), role="arn:aws:iam::000000000000:role/none")
    assert r.status_code == 403 and sts_code(r) == "AccessDenied"
    r = assume(sts_server, idp.token(), duration=7200)
    assert r.status_code == 400 and sts_code(r) == "ValidationError"
    r = requests.post(sts_server.endpoint + "/", data={"Action": "AssumeRoleWithWebIdentity", "RoleArn": ROLE}, timeout=30)
    assert r.status_code == 400 and sts_code(r) == "MissingParameter"
    # The form body is read by the query string's parser: a broken escape is refused, not skipped.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    body = f"Action=AssumeRoleWithWebIdentity&RoleArn={ROLE}&RoleSessionName=job-1&WebIdentityToken={idp.token()}&Bad%zz=1"
    r = requests.post(sts_server.endpoint + "/", data=body.encode(), headers=form, timeout=30)
    assert r.status_code == 400 and sts_code(r) == "ValidationError", r.text
    # A combining mark right after `&` does not hide the parameter that follows it from a byte-wise split.
    body = f"Action=AssumeRoleWithWebIdentity&\u0301x=1&RoleArn={ROLE}&RoleSessionName=job-1&WebIdentityToken={idp.token()}"
    r = requests.post(sts_server.endpoint + "/", data=body.encode(), headers=form, timeout=30)
    assert r.status_code == 200, r.text


def sealed_session(root, payload):
    """Credentials for a session token sealed with the root's key, as the server would have issued `payload`."""
    key = open(os.path.join(root, ".strata", "sts.key"), "rb").read()
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()).rstrip(b"=").decode()
    mac = base64.urlsafe_b64encode(hmac.new(key, ("token|" + body).encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    secret = base64.b64encode(hmac.new(key, ("secret|" + body).encode(), hashlib.sha256).digest()).decode()[:40]
    return {"AccessKeyId": payload["ak"], "SecretAccessKey": secret, "SessionToken": f"{body}.{mac}"}


def test_sessions_survive_restart_and_end_with_role_or_expiry(sts_server, idp, start_server):
    creds = credentials(assume(sts_server, idp.token()))
    sts_server.stop()
    again = start_server(root=sts_server.root, conf=sts_server.conf, env=sts_server.env)
    s3 = session_client(again, creds)
    assert s3.get_object(Bucket="datasets", Key="table.parquet")["Body"].read() == b"columns"
    # An expired session (sealed with the root's key, as the server would have made it an hour ago).
    expired = session_client(again, sealed_session(sts_server.root, {"ak": "ASIAEXPIREDSESSION01", "exp": int(time.time()) - 10, "name": "old",
                                                                     "role": ROLE, "sub": "job-1", "v": 1}))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        expired.list_objects_v2(Bucket="datasets")
    assert error_code(e) == "ExpiredToken"
    tampered = session_client(again, {**creds, "SessionToken": creds["SessionToken"][:-2] + "AA"})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        tampered.list_objects_v2(Bucket="datasets")
    assert error_code(e) == "InvalidToken"
    # Removing the role ends its sessions at once.
    write_config(sts_server.sts_config, idp, roles=[])
    time.sleep(0.3)  # the configuration file is re-read at most every 200 ms
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket="datasets", Key="table.parquet")
    assert error_code(e) == "AccessDenied"


def test_roles_through_the_admin_api(start_server, tmp_path, idp):
    config = tmp_path / "sts.json"
    write_config(config, idp, roles=[])
    root = tmp_path / "root-admin"
    root.mkdir()
    server = start_server(root=root, conf=["strata.s3.auth.mode=SIGV4", "strata.sts.enabled=true", f"strata.sts.config.file={config}",
                                           "strata.admin.web.token=roles-token"],
                          env={"STRATA_ADMIN_ACCESS_KEY": ADMIN[0], "STRATA_ADMIN_SECRET_KEY": ADMIN[1]})
    api = f"{server.admin_endpoint}/v1/s3/strata/sts/roles"
    headers = {"X-Auth-Token": "roles-token"}
    boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=ADMIN[0], aws_secret_access_key=ADMIN[1],
                 config=Config(s3={"addressing_style": "path"})).create_bucket(Bucket="reports")
    assert assume(server, idp.token()).status_code == 403  # no role yet
    role = {"arn": ROLE, "issuer": idp.issuer, "conditions": {"sub": "job-*", "groups": "analysts"}, "grants": {"rep*": "write"},
            "max_session_seconds": 900}
    assert requests.put(api, json=role, headers=headers, timeout=30).status_code == 200
    assert requests.put(api, json={**role, "grants": {"reports": "superuser"}}, headers=headers, timeout=30).status_code == 400
    assert [r["arn"] for r in requests.get(api, headers=headers, timeout=30).json()] == [ROLE]
    time.sleep(0.3)
    # A list claim matches when one element does; a grant ending in `*` covers buckets by name prefix.
    assert assume(server, idp.token(groups=["interns"]), duration=900).status_code == 403
    r = assume(server, idp.token(groups=["staff", "analysts"]), duration=900)
    assert r.status_code == 200, r.text
    s3 = session_client(server, credentials(r))
    s3.put_object(Bucket="reports", Key="r.csv", Body=b"1")
    assert requests.delete(api, params={"arn": ROLE}, headers=headers, timeout=30).status_code == 200
    assert requests.delete(api, params={"arn": ROLE}, headers=headers, timeout=30).status_code == 404
    time.sleep(0.3)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket="reports", Key="r2.csv", Body=b"2")
    assert error_code(e) == "AccessDenied"


# Strict role configuration, and role ids that keep a deleted role's sessions dead.

def roles_api(server):
    return f"{server.admin_endpoint}/v1/s3/strata/sts/roles"


def put_role(server, role):
    return requests.put(roles_api(server), json=role, headers={"X-Auth-Token": ADMIN_TOKEN}, timeout=30)


def replace_file(path, text):
    """Replaces the file in one rename, so the server never reads half of it."""
    staged = path.with_name(path.name + ".new")
    staged.write_text(text)
    os.replace(staged, path)


def denied_message(call):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call()
    assert error_code(e) == "AccessDenied"
    return e.value.response["Error"]["Message"]


def test_list_conditions_admit_any_pattern(sts_server, idp):
    write_config(sts_server.sts_config, idp, roles=[
        {"arn": ROLE, "issuer": idp.issuer, "conditions": {"sub": ["job-*", "svc-*"], "groups": ["analysts", "ops-*"]},
         "grants": {"datasets": "read"}}])
    # The file is re-read when it changes: wait until the new role admits a subject the old one refused.
    assert wait_for(lambda: assume(sts_server, idp.token(sub="svc-backup", groups=["ops-eu"])).status_code == 200, timeout=30)
    r = assume(sts_server, idp.token(sub="job-1", groups="analysts"))
    assert r.status_code == 200, r.text
    assert session_client(sts_server, credentials(r)).get_object(Bucket="datasets", Key="table.parquet")["Body"].read() == b"columns"
    for token in (idp.token(sub="intern-7", groups=["analysts"]), idp.token(sub="job-1", groups=["interns"]), idp.token(sub="job-1")):
        r = assume(sts_server, token)
        assert r.status_code == 403 and sts_code(r) == "AccessDenied", r.text


BAD_ROLES = [
    ({"condition": {"sub": "job-*"}}, 'unknown key "condition"'),
    ({"conditions": {"sub": {"StringLike": "job-*"}}}, "conditions.sub must be a string or a non-empty list of strings"),
    ({"conditions": {"sub": 7}}, "conditions.sub must be a string or a non-empty list of strings"),
    ({"conditions": {"sub": []}}, "conditions.sub must be a string or a non-empty list of strings"),
    ({"conditions": {"sub": "job-*"}, "grant": {"datasets": "owner"}}, 'unknown key "grant"'),
]


@pytest.mark.parametrize("bad,message", BAD_ROLES)
def test_a_role_it_does_not_understand_is_refused_at_start_up(start_server, tmp_path, idp, bad, message):
    config = tmp_path / "sts.json"
    write_config(config, idp, roles=[{"arn": ROLE, "issuer": idp.issuer, **bad}])
    with pytest.raises(RuntimeError) as e:
        start_server(conf=["strata.s3.auth.mode=SIGV4", "strata.sts.enabled=true", f"strata.sts.config.file={config}"])
    assert "strata exited early" in str(e.value) and f"roles[0] ({ROLE}): {message}" in str(e.value)


def test_a_role_it_does_not_understand_is_refused_by_the_admin_api_and_in_a_hand_edit(sts_server, idp):
    before = sts_server.sts_config.read_bytes()
    for bad, message in BAD_ROLES:
        r = put_role(sts_server, {"arn": ROLE, "issuer": idp.issuer, **bad})
        assert r.status_code == 400 and message in r.json()["Error"] and ROLE in r.json()["Error"], r.text
        assert sts_server.sts_config.read_bytes() == before
    # A hand edit the server cannot read keeps the last good roles: job-* is still the condition, not none.
    good = credentials(assume(sts_server, idp.token()))
    replace_file(sts_server.sts_config, json.dumps({"providers": [{"issuer": idp.issuer, "audiences": ["strata"]}], "roles": [
        {"arn": ROLE, "issuer": idp.issuer, "conditions": {"sub": ["job-*", 7]}, "grants": {"datasets": "owner", "private": "owner"}}]}))
    assert wait_for(lambda: assume(sts_server, idp.token(sub="intern-7")).status_code == 403
                    and "could not be read" in sts_server.read_log(), timeout=30)
    assert "conditions.sub must be a string or a non-empty list of strings" in sts_server.read_log()
    assert assume(sts_server, idp.token()).status_code == 200
    s3 = session_client(sts_server, good)
    assert s3.get_object(Bucket="datasets", Key="table.parquet")["Body"].read() == b"columns"
    assert denied_message(lambda: s3.put_object(Bucket="private", Key="x", Body=b"no"))
    # The admin API refuses to write over a file it cannot read, and leaves it as it is.
    edited = sts_server.sts_config.read_bytes()
    assert put_role(sts_server, {"arn": ROLE + "-2", "issuer": idp.issuer}).status_code == 400
    assert sts_server.sts_config.read_bytes() == edited


def test_a_deleted_role_made_again_does_not_revive_its_sessions(sts_server, idp):
    headers = {"X-Auth-Token": ADMIN_TOKEN}
    role = {"arn": ROLE, "issuer": idp.issuer, "conditions": {"sub": "job-*"}, "grants": {"datasets": "read"}}
    created = put_role(sts_server, role)
    assert created.status_code == 200 and created.json()["id"].startswith("AROA"), created.text
    r = assume(sts_server, idp.token())
    assert ET.fromstring(r.content).find("sts:AssumeRoleWithWebIdentityResult/sts:AssumedRoleUser/sts:AssumedRoleId", NS).text \
        == created.json()["id"] + ":nightly-job"
    old = session_client(sts_server, credentials(r))
    assert old.get_object(Bucket="datasets", Key="table.parquet")["Body"].read() == b"columns"
    assert requests.delete(roles_api(sts_server), params={"arn": ROLE}, headers=headers, timeout=30).status_code == 200
    remade = put_role(sts_server, {**role, "grants": {"datasets": "owner", "private": "owner"}})
    assert remade.status_code == 200 and remade.json()["id"] != created.json()["id"], remade.text
    message = denied_message(lambda: old.get_object(Bucket="datasets", Key="table.parquet"))
    assert f"The role {ROLE} of this session no longer exists" in message
    assert denied_message(lambda: old.put_object(Bucket="private", Key="x", Body=b"no"))
    # The old id cannot be sent back to revive them either.
    assert put_role(sts_server, {**role, "id": created.json()["id"]}).status_code == 400
    new = session_client(sts_server, credentials(assume(sts_server, idp.token())))
    new.put_object(Bucket="private", Key="x", Body=b"yes")
    assert new.get_object(Bucket="private", Key="x")["Body"].read() == b"yes"


def test_a_session_from_before_role_ids_is_refused(sts_server, idp):
    # Sealed with the root's key as a server before role ids made it: valid, unexpired, but naming no role id.
    payload = {"ak": "ASIAOLDSESSION000001", "exp": int(time.time()) + 600, "name": "old", "role": ROLE, "sub": "job-1", "v": 1}
    old = session_client(sts_server, sealed_session(sts_server.root, payload))
    assert "no longer exists" in denied_message(lambda: old.list_objects_v2(Bucket="datasets"))
    # The same token with the role's id is accepted: only the missing id refused it.
    role_id = put_role(sts_server, {"arn": ROLE, "issuer": idp.issuer, "conditions": {"sub": "job-*"}, "grants": {"datasets": "read"}}).json()["id"]
    current = session_client(sts_server, sealed_session(sts_server.root, {**payload, "rid": role_id, "v": 2}))
    assert current.get_object(Bucket="datasets", Key="table.parquet")["Body"].read() == b"columns"


def test_replacing_a_roles_grants_applies_to_its_sessions(sts_server, idp):
    role = {"arn": ROLE, "issuer": idp.issuer, "conditions": {"sub": "job-*"}, "grants": {"datasets": "read"}}
    # The file's role has no id: the admin API keeps the one derived from it, so this session survives the change.
    s3 = session_client(sts_server, credentials(assume(sts_server, idp.token())))
    first = put_role(sts_server, role)
    assert first.status_code == 200, first.text
    assert s3.get_object(Bucket="datasets", Key="table.parquet")["Body"].read() == b"columns"
    denied_message(lambda: s3.put_object(Bucket="scratch", Key="x", Body=b"no"))
    second = put_role(sts_server, {**role, "grants": {"datasets": "read", "scratch": "write"}})
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"], second.text
    s3.put_object(Bucket="scratch", Key="x", Body=b"now")
    assert requests.get(roles_api(sts_server), headers={"X-Auth-Token": ADMIN_TOKEN}, timeout=30).json() == [second.json()]
