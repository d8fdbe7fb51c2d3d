"""Raw HTTP checks of what the official SDKs rely on but cannot show directly.

These use `requests` (installed with azure-core) with REQUESTS_CA_BUNDLE. See
/work/shared/reference/azure-keyvault-wire.md for where each requirement comes from.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlparse

import pytest
import requests

API = "2025-07-01"
B64URL = re.compile(r"^[A-Za-z0-9_-]+$")  # base64url, no padding


def parse_challenge(header: str) -> dict:
    """Parse like azure-keyvault-keys' HttpChallenge: scheme, then k="v" pairs split on ','."""
    assert header and " " in header, f"bad WWW-Authenticate: {header!r}"
    scheme, _, rest = header.partition(" ")
    assert scheme.lower() == "bearer", header
    params = {}
    for item in rest.split(","):
        comps = item.split("=")
        # The Python SDK keeps only items with exactly one '=' (values may not contain '=' or ',').
        assert len(comps) == 2, f"challenge parameter {item!r} would be dropped by the Python SDK"
        params[comps[0].strip(' "')] = comps[1].strip(' "')
    # ... and the JS SDK accepts only key="value" pairs.
    for key, value in params.items():
        assert re.search(rf'{re.escape(key)}="{re.escape(value)}"', rest), f"{key} must be quoted: {header}"
    return params


@pytest.fixture(scope="module")
def http():
    with requests.Session() as s:
        yield s


@pytest.fixture(scope="module")
def challenge(env, http):
    r = http.get(f"{env.vault_url}/keys", params={"api-version": API})
    assert r.status_code == 401, r.text
    return parse_challenge(r.headers.get("WWW-Authenticate", ""))


@pytest.fixture(scope="module")
def token(env, http, challenge):
    """A token the way MSAL asks for one, for the scope the challenge names (resource wins in JS,
    scope wins in Python; they must agree)."""
    scope = challenge.get("scope") or challenge["resource"].rstrip("/") + "/.default"
    r = http.post(
        f"{env.authority}/{env.tenant_id}/oauth2/v2.0/token",
        data={
            "client_id": env.client_id,
            "grant_type": "client_credentials",
            "client_info": "1",
            "client_secret": env.client_secret,
            "scope": scope,
            "claims": '{"access_token": {"xms_cc": {"values": ["CP1"]}}}',
        },
        headers={"Accept": "application/json", "x-client-sku": "interop-test", "client-request-id": str(uuid.uuid4())},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    return body["access_token"]


def auth(token):
    return {"Authorization": f"Bearer {token}"}


# ------------------------------------------------------------------------------------ directory


def test_openid_configuration(env, http):
    r = http.get(f"{env.authority}/{env.tenant_id}/v2.0/.well-known/openid-configuration")
    assert r.status_code == 200, r.text
    cfg = r.json()
    # Python MSAL indexes authorization_endpoint and token_endpoint; JS msal-common also
    # requires issuer and jwks_uri, and checks the issuer's origin against the authority.
    for field in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
        assert cfg.get(field), f"openid-configuration lacks {field}"
    assert cfg["token_endpoint"] == f"{env.authority}/{env.tenant_id}/oauth2/v2.0/token"
    authority = urlparse(env.authority)
    for field in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
        u = urlparse(cfg[field])
        assert (u.scheme, u.netloc) == (authority.scheme, authority.netloc), f"{field}={cfg[field]}"


def test_token_response(env, http, challenge):
    scope = challenge.get("scope") or challenge["resource"].rstrip("/") + "/.default"
    r = http.post(
        f"{env.authority}/{env.tenant_id}/oauth2/v2.0/token",
        data={
            "client_id": env.client_id,
            "client_secret": env.client_secret,
            "grant_type": "client_credentials",
            "scope": scope,
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["access_token"]
    assert body.get("token_type", "Bearer").lower() == "bearer"
    assert int(body["expires_in"]) >= 600, "MSAL treats tokens with < 5 min left as expired"
    assert "id_token" not in body


@pytest.mark.parametrize("which", ["secret", "client_id", "grant_type"])
def test_token_errors(env, http, which):
    form = {
        "client_id": env.client_id,
        "client_secret": env.client_secret,
        "grant_type": "client_credentials",
        "scope": "https://vault.azure.net/.default",
    }
    if which == "secret":
        form["client_secret"] = "wrong-" + uuid.uuid4().hex
    elif which == "client_id":
        form["client_id"] = str(uuid.uuid4())
    else:
        form["grant_type"] = "password"
    r = http.post(f"{env.authority}/{env.tenant_id}/oauth2/v2.0/token", data=form)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    body = r.json()
    assert body.get("error"), body
    if which != "grant_type":
        assert body["error"] == "invalid_client", body


# ------------------------------------------------------------------------------------ challenge


def test_challenge_header(env, challenge):
    assert "authorization" in challenge or "authorization_uri" in challenge
    authz = challenge.get("authorization") or challenge["authorization_uri"]
    u = urlparse(authz)
    assert u.scheme == "https"
    # JS takes the tenant from the path (no trailing slash); Python from its first segment, and
    # refuses a tenant other than the credential's.
    assert u.path.strip("/").split("/")[0] == env.tenant_id and not u.path.endswith("/"), authz
    assert "resource" in challenge or "scope" in challenge
    assert "claims" not in challenge, "no claims= in the first challenge"


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/keys"),
        ("GET", "/keys/some-key/"),
        ("POST", "/keys/some-key/create"),
        ("PUT", "/keys/some-key"),
        ("PATCH", "/keys/some-key/"),
        ("POST", "/keys/some-key/abc/encrypt"),
        ("POST", "/keys/restore"),
        ("POST", "/rng"),
        ("DELETE", "/deletedkeys/some-key"),
    ],
)
def test_unauthenticated_bodyless_probe_gets_401(env, http, method, path):
    """The Python SDK's first request to a host carries no token and an EMPTY body (with
    Content-Type: application/json); the server must answer 401 + challenge, never 400."""
    r = http.request(
        method,
        env.vault_url + path,
        params={"api-version": API},
        headers={"Content-Type": "application/json", "Content-Length": "0", "Accept": "application/json"},
        data=b"",
    )
    assert r.status_code == 401, (r.status_code, r.text)
    parse_challenge(r.headers.get("WWW-Authenticate", ""))


def test_bad_bearer_gets_401(env, http):
    r = http.get(f"{env.vault_url}/keys", params={"api-version": API}, headers=auth("not-a-token"))
    assert r.status_code == 401, r.text
    parse_challenge(r.headers.get("WWW-Authenticate", ""))


# ------------------------------------------------------------------------------------ vault shapes


def test_key_bundle_shape(env, http, token):
    name = f"py-wire-{uuid.uuid4().hex[:12]}"
    r = http.post(
        f"{env.vault_url}/keys/{name}/create",
        params={"api-version": API},
        headers={**auth(token), "Content-Type": "application/json; charset=utf-8"},
        json={"kty": "RSA", "key_size": 2048, "key_ops": ["sign", "verify"], "unknownField": 1},
    )
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    b = r.json()
    kid = b["key"]["kid"]
    assert re.fullmatch(re.escape(env.vault_url) + rf"/keys/{name}/[0-9a-zA-Z]+", kid), kid
    assert b["key"]["kty"] == "RSA"
    for f in ("n", "e"):
        assert B64URL.match(b["key"][f]), f"{f} must be unpadded base64url"
    assert b["key"]["e"] == "AQAB"
    for private in ("d", "p", "q", "dp", "dq", "qi"):
        assert private not in b["key"]
    a = b["attributes"]
    assert a["enabled"] is True
    for f in ("created", "updated"):
        assert isinstance(a[f], int), f"attributes.{f} must be integer unix seconds: {a[f]!r}"

    # Trailing slash = latest version; any supported api-version.
    for version in ("7.0", "7.6", API):
        r = http.get(f"{env.vault_url}/keys/{name}/", params={"api-version": version}, headers=auth(token))
        assert r.status_code == 200, (version, r.text)
        assert r.json()["key"]["kid"] == kid


def test_error_body_shape(env, http, token):
    r = http.get(f"{env.vault_url}/keys/py-wire-missing-{uuid.uuid4().hex[:8]}/", params={"api-version": API}, headers=auth(token))
    assert r.status_code == 404
    err = r.json()["error"]
    assert err["code"] == "KeyNotFound" and err["message"]


def test_next_link_is_absolute(env, http, token):
    for i in range(3):
        r = http.post(
            f"{env.vault_url}/keys/py-wire-page-{uuid.uuid4().hex[:12]}/create",
            params={"api-version": API},
            headers=auth(token),
            json={"kty": "RSA", "key_size": 2048},
        )
        assert r.status_code == 200, r.text
    url, params, pages = f"{env.vault_url}/keys", {"api-version": API, "maxresults": 1}, 0
    while url:
        r = http.get(url, params=params, headers=auth(token))
        assert r.status_code == 200, r.text
        body = r.json()
        assert isinstance(body["value"], list) and len(body["value"]) <= 1
        pages += 1
        url = body.get("nextLink")
        params = None  # the nextLink carries its own query
        if url:
            assert url.startswith(env.vault_url + "/"), f"nextLink must be absolute, same origin: {url}"
        assert pages < 10_000
    assert pages >= 3


def test_purge_is_204_with_empty_body(env, http, token):
    name = f"py-wire-purge-{uuid.uuid4().hex[:12]}"
    h = auth(token)
    assert http.post(f"{env.vault_url}/keys/{name}/create", params={"api-version": API}, headers=h, json={"kty": "RSA"}).status_code == 200
    r = http.delete(f"{env.vault_url}/keys/{name}", params={"api-version": API}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["recoveryId"] == f"{env.vault_url}/deletedkeys/{name}"
    assert r.json()["key"]["kid"].startswith(f"{env.vault_url}/keys/{name}/"), "DeletedKeyBundle keeps key.kid under /keys/"
    r = http.delete(f"{env.vault_url}/deletedkeys/{name}", params={"api-version": API}, headers=h)
    assert r.status_code == 204, r.text
    assert r.content == b""
