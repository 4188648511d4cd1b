"""Strata as an OIDC issuer: its discovery document and key set, key rotation, and one Strata tiering into another
with temporary credentials from the other's STS, exchanged for its own tokens: no stored upstream secret."""
import json
import os
import stat

import boto3
import jwt
import requests
from botocore.config import Config

from conftest import free_port

ADMIN = ("UPSTREAMADMIN", "upstream-admin-secret-01234")
TOKEN = "issuer-admin-token"


def test_discovery_key_set_and_rotation(start_server, tmp_path):
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    server = start_server(port=port, conf=["strata.oidc.issuer.enabled=true", f"strata.oidc.issuer.url={issuer}",
                                           f"strata.admin.web.token={TOKEN}"])
    discovery = requests.get(server.endpoint + "/.well-known/openid-configuration", timeout=30).json()
    assert discovery["issuer"] == issuer and discovery["jwks_uri"] == issuer + "/.well-known/jwks.json"
    assert discovery["id_token_signing_alg_values_supported"] == ["ES256"]
    keys = requests.get(discovery["jwks_uri"], timeout=30).json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "EC" and keys[0]["crv"] == "P-256" and "d" not in keys[0]
    key_file = os.path.join(server.root, ".strata", "oidc-keys.json")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    r = requests.post(f"{server.admin_endpoint}/v1/s3/strata/oidc/keys", headers={"X-Auth-Token": TOKEN}, timeout=30)
    assert r.status_code == 201
    rotated = requests.get(discovery["jwks_uri"], timeout=30).json()["keys"]
    # The new key signs from now on; the old one stays published until the tokens it signed have expired.
    assert [k["kid"] for k in rotated] == [keys[0]["kid"], r.json()["Kid"]]
    # Keys survive a restart: the same key set is served.
    server.stop()
    again = start_server(port=port, root=server.root, conf=["strata.oidc.issuer.enabled=true", f"strata.oidc.issuer.url={issuer}"])
    assert requests.get(again.endpoint + "/.well-known/jwks.json", timeout=30).json()["keys"] == rotated


def test_strata_tiers_into_strata_with_its_own_tokens(start_server, tmp_path):
    """The upstream Strata trusts the first one's issuer; the first tiers into it with no stored secret."""
    first_port = free_port()
    issuer = f"http://127.0.0.1:{first_port}"
    role = "arn:aws:iam::000000000000:role/tiering"
    sts_config = tmp_path / "upstream-sts.json"
    sts_config.write_text(json.dumps({
        "providers": [{"issuer": issuer, "audiences": ["upstream-sts"]}],
        "roles": [{"arn": role, "issuer": issuer, "conditions": {"sub": "strata-tiering"}, "grants": {"mirrored": "owner"},
                   "max_session_seconds": 3600}]}))
    upstream_root = tmp_path / "upstream"
    upstream_root.mkdir()
    upstream = start_server(root=upstream_root, conf=["strata.s3.auth.mode=SIGV4", "strata.sts.enabled=true",
                                                      f"strata.sts.config.file={sts_config}"],
                            env={"STRATA_ADMIN_ACCESS_KEY": ADMIN[0], "STRATA_ADMIN_SECRET_KEY": ADMIN[1]})
    up = boto3.client("s3", endpoint_url=upstream.endpoint, region_name="us-east-1", aws_access_key_id=ADMIN[0], aws_secret_access_key=ADMIN[1],
                      config=Config(s3={"addressing_style": "path"}))
    up.create_bucket(Bucket="mirrored")
    up.put_object(Bucket="mirrored", Key="already/there.txt", Body=b"from upstream")
    first = start_server(port=first_port, conf=[
        "strata.oidc.issuer.enabled=true", f"strata.oidc.issuer.url={issuer}", f"strata.underfs.s3.endpoint={upstream.endpoint}",
        "strata.underfs.s3.access.key=", "strata.underfs.s3.secret.key=", f"strata.underfs.s3.sts.endpoint={upstream.endpoint}",
        f"strata.underfs.s3.sts.role={role}", "strata.underfs.s3.sts.audience=upstream-sts", "strata.proxy.s3.writetype=CACHE_THROUGH"])
    s3 = first.client()
    s3.create_bucket(Bucket="mirrored")  # mounts the upstream bucket, which exists already
    assert s3.get_object(Bucket="mirrored", Key="already/there.txt")["Body"].read() == b"from upstream"
    put = s3.put_object(Bucket="mirrored", Key="written/through.txt", Body=b"from the first")
    assert put["ResponseMetadata"]["HTTPHeaders"]["x-strata-persistence"] == "persisted"
    assert up.get_object(Bucket="mirrored", Key="written/through.txt")["Body"].read() == b"from the first"
    # The token the first signs verifies against its published key set, as the upstream checked it.
    keys = requests.get(issuer + "/.well-known/jwks.json", timeout=30).json()["keys"]
    assert keys and all(k["alg"] == "ES256" for k in keys)
    assert "secret" not in open(first.log_path, encoding="utf-8", errors="replace").read().lower().replace("secret.key=", "")
