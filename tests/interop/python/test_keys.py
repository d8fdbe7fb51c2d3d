"""atrest vault (keys API) driven by the official Azure SDK for Python (azure-keyvault-keys).

Every KeyClient / CryptographyClient operation, success and error paths. Each test uses its own
uniquely named keys, so tests are independent of each other and of their order.

Local vs remote crypto (azure/keyvault/keys/crypto/_client.py): a CryptographyClient built from a
key id first GETs the key, then does encrypt / wrap_key / verify LOCALLY with the public key and
only decrypt / unwrap_key / sign remotely. To make the server do all six, ``remote_only()`` builds
the client from a KeyVaultKey whose JWK allows no operations: the SDK's local provider refuses,
and the SDK falls back to the service (documented fallback; it logs a warning).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.keyvault.keys import (
    JsonWebKey,
    KeyOperation,
    KeyRotationLifetimeAction,
    KeyRotationPolicy,
    KeyRotationPolicyAction,
    KeyType,
    KeyVaultKey,
)
from azure.keyvault.keys.crypto import (
    EncryptionAlgorithm,
    KeyWrapAlgorithm,
    SignatureAlgorithm,
)
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from interop_support import make_credential, make_crypto_client, make_key_client

ALL_OPS = [
    KeyOperation.encrypt,
    KeyOperation.decrypt,
    KeyOperation.sign,
    KeyOperation.verify,
    KeyOperation.wrap_key,
    KeyOperation.unwrap_key,
]

ENC_ALGS = [EncryptionAlgorithm.rsa_oaep, EncryptionAlgorithm.rsa_oaep_256]
WRAP_ALGS = [KeyWrapAlgorithm.rsa_oaep, KeyWrapAlgorithm.rsa_oaep_256]
SIG_ALGS = {
    # alg: (hashlib constructor, cryptography hash, is PSS)
    SignatureAlgorithm.rs256: (hashlib.sha256, hashes.SHA256(), False),
    SignatureAlgorithm.rs384: (hashlib.sha384, hashes.SHA384(), False),
    SignatureAlgorithm.rs512: (hashlib.sha512, hashes.SHA512(), False),
    SignatureAlgorithm.ps256: (hashlib.sha256, hashes.SHA256(), True),
    SignatureAlgorithm.ps384: (hashlib.sha384, hashes.SHA384(), True),
    SignatureAlgorithm.ps512: (hashlib.sha512, hashes.SHA512(), True),
}


# --------------------------------------------------------------------------------------- helpers


def b2i(b: bytes) -> int:
    return int.from_bytes(b, "big")


def i2b(i: int) -> bytes:
    return i.to_bytes((i.bit_length() + 7) // 8, "big")


def now_s() -> datetime:
    """Now, UTC, whole seconds (Key Vault timestamps are integer unix seconds)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def oaep(alg) -> padding.OAEP:
    """RSA-OAEP = SHA-1 + MGF1-SHA1; RSA-OAEP-256 = SHA-256 + MGF1-SHA256."""
    h = hashes.SHA256() if str(getattr(alg, "value", alg)).endswith("256") else hashes.SHA1()
    return padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)


def jwk_from_private(priv: rsa.RSAPrivateKey, key_ops=None) -> JsonWebKey:
    nums = priv.private_numbers()
    pub = nums.public_numbers
    return JsonWebKey(
        kty=KeyType.rsa,
        key_ops=key_ops or list(ALL_OPS),
        n=i2b(pub.n),
        e=i2b(pub.e),
        d=i2b(nums.d),
        p=i2b(nums.p),
        q=i2b(nums.q),
        dp=i2b(nums.dmp1),
        dq=i2b(nums.dmq1),
        qi=i2b(nums.iqmp),
    )


def public_key_of(key: KeyVaultKey) -> rsa.RSAPublicKey:
    return rsa.RSAPublicNumbers(b2i(key.key.e), b2i(key.key.n)).public_key()


def local_verify(pub: rsa.RSAPublicKey, alg, digest: bytes, signature: bytes) -> None:
    """Raises InvalidSignature unless `signature` is alg over the pre-hashed `digest`.

    PS*: PSS with MGF1(hash) and salt length = digest length, as the SDK's local provider
    (crypto/_internal/algorithms/rsa_signing.py) and Key Vault use.
    """
    _, h, pss = SIG_ALGS[alg]
    pad = padding.PSS(mgf=padding.MGF1(h), salt_length=len(digest)) if pss else padding.PKCS1v15()
    pub.verify(signature, digest, pad, utils.Prehashed(h))


def remote_only(key: KeyVaultKey, credential):
    """A CryptographyClient that performs every operation on the server (see module docstring)."""
    shell = KeyVaultKey(key.id, jwk={"kty": "RSA", "n": key.key.n, "e": key.key.e, "key_ops": []})
    return make_crypto_client(shell, credential)


def assert_http_error(err: HttpResponseError, status=None, code=None, status_range=(400, 499)):
    """Checks status and that the body was an Azure error body ({"error":{"code","message"}})."""
    if status is not None:
        assert err.status_code == status, f"expected HTTP {status}, got {err.status_code}: {err}"
    else:
        lo, hi = status_range
        assert lo <= err.status_code <= hi, f"expected HTTP {lo}-{hi}, got {err.status_code}: {err}"
    assert err.error is not None, f"error body not in Azure shape: {err}"
    assert err.error.code, f"error body has no code: {err}"
    if code is not None:
        assert err.error.code == code, f"expected error code {code}, got {err.error.code}: {err}"


def action_name(action) -> str:
    return str(getattr(action, "value", action)).lower()


def policy_actions(policy: KeyRotationPolicy):
    return sorted(
        (action_name(a.action), a.time_after_create, a.time_before_expiry)
        for a in policy.lifetime_actions
    )


def delete_and_wait(client, name):
    poller = client.begin_delete_key(name)
    deleted = poller.result()  # the DELETE response, without waiting
    poller.wait()  # polls GET /deletedkeys/{name} until 200
    return deleted


def assert_rsa_key(key: KeyVaultKey, vault_url: str, name: str, size: int = None):
    assert key.name == name
    assert key.properties.vault_url == vault_url
    assert key.properties.version, "kid must carry a version"
    assert key.id == f"{vault_url}/keys/{name}/{key.properties.version}"
    assert key.key.kid == key.id
    assert key.key_type in (KeyType.rsa, "RSA")
    assert key.key.n and key.key.e
    if size is not None:
        assert b2i(key.key.n).bit_length() == size
        assert len(key.key.n) == size // 8, "n must be unsigned big-endian without a leading 0x00"
    assert key.key.e == b"\x01\x00\x01"
    for private in ("d", "p", "q", "dp", "dq", "qi", "k"):
        assert getattr(key.key, private) is None, f"private part {private} returned"
    assert key.properties.created_on is not None
    assert key.properties.updated_on is not None


# --------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def crypto_key(client) -> KeyVaultKey:
    """One RSA-2048 key allowing all six operations, shared by the crypto tests (read-only use)."""
    name = f"py-crypto-{uuid.uuid4().hex[:12]}"
    return client.create_rsa_key(name, size=2048, key_operations=list(ALL_OPS))


@pytest.fixture(scope="module")
def hybrid(crypto_key, credential):
    """The SDK's default mode: built from the key id, it GETs the key and mixes local + remote."""
    return make_crypto_client(crypto_key.id, credential)


@pytest.fixture(scope="module")
def remote(crypto_key, credential):
    return remote_only(crypto_key, credential)


# --------------------------------------------------------------------------------------- create


@pytest.mark.parametrize("size", [2048, 3072, 4096])
def test_create_rsa_key_sizes(client, env, unique_name, size):
    name = unique_name(f"rsa{size}")
    key = client.create_rsa_key(name, size=size)
    assert_rsa_key(key, env.vault_url, name, size)
    assert key.properties.enabled is True
    assert key.properties.not_before is None and key.properties.expires_on is None
    # Soft delete is always on; this vault has no purge protection.
    level = key.properties.recovery_level
    assert level and "Recoverable" in level and "Purgeable" in level, level
    assert 7 <= key.properties.recoverable_days <= 90
    got = client.get_key(name)
    assert got.id == key.id and got.key.n == key.key.n


def test_create_rsa_key_default_size_is_2048(client, env, unique_name):
    name = unique_name()
    key = client.create_rsa_key(name)
    assert_rsa_key(key, env.vault_url, name, 2048)


def test_create_rsa_key_with_options(client, env, unique_name):
    name = unique_name()
    nbf = now_s() - timedelta(hours=1)
    exp = now_s() + timedelta(days=365)
    tags = {"purpose": "interop", "team": "atrest"}
    ops = [KeyOperation.wrap_key, KeyOperation.unwrap_key]
    key = client.create_rsa_key(
        name, size=2048, key_operations=ops, tags=tags, enabled=True, not_before=nbf, expires_on=exp
    )
    assert_rsa_key(key, env.vault_url, name, 2048)
    assert sorted(key.key_operations) == sorted(ops)
    assert key.properties.tags == tags
    assert key.properties.enabled is True
    assert key.properties.not_before == nbf
    assert key.properties.expires_on == exp

    got = client.get_key(name)
    assert sorted(got.key_operations) == sorted(ops)
    assert got.properties.tags == tags
    assert got.properties.not_before == nbf and got.properties.expires_on == exp


def test_create_disabled_key(client, unique_name):
    name = unique_name()
    key = client.create_rsa_key(name, size=2048, enabled=False)
    assert key.properties.enabled is False
    assert client.get_key(name).properties.enabled is False


def test_create_new_version_with_same_name(client, unique_name):
    name = unique_name()
    v1 = client.create_rsa_key(name, size=2048)
    v2 = client.create_rsa_key(name, size=2048)
    assert v1.properties.version != v2.properties.version
    assert v1.key.n != v2.key.n


@pytest.mark.parametrize("size", [1024, 1000])
def test_create_rsa_key_unsupported_size(client, unique_name, size):
    with pytest.raises(HttpResponseError) as ei:
        client.create_rsa_key(unique_name(), size=size)
    assert_http_error(ei.value, status=400)


def test_create_invalid_name(client):
    with pytest.raises(HttpResponseError) as ei:
        client.create_rsa_key(f"bad_name_{uuid.uuid4().hex[:8]}", size=2048)
    assert_http_error(ei.value, status=400)


# --------------------------------------------------------------------------------------- import


def test_import_key(client, env, unique_name, local_rsa_key, credential):
    name = unique_name()
    tags = {"source": "local"}
    imported = client.import_key(name, jwk_from_private(local_rsa_key), tags=tags, enabled=True)
    assert_rsa_key(imported, env.vault_url, name, 2048)  # also: no private parts returned
    pub = local_rsa_key.public_key().public_numbers()
    assert b2i(imported.key.n) == pub.n and b2i(imported.key.e) == pub.e
    assert sorted(imported.key_operations) == sorted(ALL_OPS)
    assert imported.properties.tags == tags
    assert imported.properties.enabled is True

    got = client.get_key(name)
    assert got.id == imported.id
    for private in ("d", "p", "q", "dp", "dq", "qi"):
        assert getattr(got.key, private) is None

    # The server really holds the imported private key: it decrypts what we encrypt locally and
    # signs what we verify locally.
    crypto = make_crypto_client(imported.id, credential)
    ct = local_rsa_key.public_key().encrypt(b"imported secret", oaep(EncryptionAlgorithm.rsa_oaep_256))
    assert crypto.decrypt(EncryptionAlgorithm.rsa_oaep_256, ct).plaintext == b"imported secret"
    digest = hashlib.sha256(b"signed by the vault").digest()
    sig = crypto.sign(SignatureAlgorithm.rs256, digest).signature
    local_verify(local_rsa_key.public_key(), SignatureAlgorithm.rs256, digest, sig)

    # Importing again under the same name makes a new version.
    again = client.import_key(name, jwk_from_private(local_rsa_key))
    assert again.properties.version != imported.properties.version
    assert len(list(client.list_properties_of_key_versions(name))) == 2


def test_import_key_with_attributes_and_ops(client, unique_name, local_rsa_key):
    name = unique_name()
    nbf = now_s() - timedelta(days=1)
    exp = now_s() + timedelta(days=30)
    ops = [KeyOperation.sign, KeyOperation.verify]
    imported = client.import_key(
        name, jwk_from_private(local_rsa_key, key_ops=ops), enabled=False, not_before=nbf, expires_on=exp
    )
    assert sorted(imported.key_operations) == sorted(ops)
    assert imported.properties.enabled is False
    assert imported.properties.not_before == nbf and imported.properties.expires_on == exp


def test_import_public_only_key_is_rejected(client, unique_name, local_rsa_key):
    pub = local_rsa_key.public_key().public_numbers()
    jwk = JsonWebKey(kty=KeyType.rsa, key_ops=list(ALL_OPS), n=i2b(pub.n), e=i2b(pub.e))
    with pytest.raises(HttpResponseError) as ei:
        client.import_key(unique_name(), jwk)
    assert_http_error(ei.value, status=400)


# --------------------------------------------------------------------------------------- get


def test_get_latest_and_by_version(client, unique_name):
    name = unique_name()
    v1 = client.create_rsa_key(name, size=2048)
    v2 = client.create_rsa_key(name, size=2048)
    latest = client.get_key(name)  # GET /keys/{name}/ (empty version segment)
    assert latest.id == v2.id and latest.key.n == v2.key.n
    old = client.get_key(name, v1.properties.version)
    assert old.id == v1.id and old.key.n == v1.key.n
    assert old.properties.version == v1.properties.version


def test_get_missing_key(client, unique_name):
    with pytest.raises(ResourceNotFoundError) as ei:
        client.get_key(unique_name("missing"))
    assert_http_error(ei.value, status=404, code="KeyNotFound")


def test_get_missing_version(client, unique_name):
    name = unique_name()
    client.create_rsa_key(name, size=2048)
    with pytest.raises(ResourceNotFoundError) as ei:
        client.get_key(name, uuid.uuid4().hex)
    assert_http_error(ei.value, status=404, code="KeyNotFound")


def test_older_api_version(env, credential, unique_name):
    """atrest accepts every api-version the SDK supports (7.0 ... 2025-07-01); api_version is a
    documented KeyClient option."""
    old = make_key_client(env.vault_url, credential, api_version="7.4")
    name = unique_name()
    key = old.create_rsa_key(name, size=2048)
    assert old.get_key(name).id == key.id


# --------------------------------------------------------------------------------------- list


def test_list_versions_paging(client, env, unique_name, local_rsa_key):
    name = unique_name()
    jwk = jwk_from_private(local_rsa_key)
    versions = {client.import_key(name, jwk).properties.version for _ in range(26)}
    assert len(versions) == 26

    # Default page size: "up to 25 results" (SDK docs), so 26 versions need a nextLink.
    pages = [list(p) for p in client.list_properties_of_key_versions(name).by_page()]
    assert all(len(p) <= 25 for p in pages), [len(p) for p in pages]
    assert len(pages) >= 2
    items = [item for page in pages for item in page]
    assert {i.version for i in items} == versions
    for item in items:
        assert item.name == name
        assert item.id == f"{env.vault_url}/keys/{name}/{item.version}"
        assert item.enabled is True

    # maxresults=5: at least ceil(26/5) pages, none larger than 5.
    pages = [list(p) for p in client.list_properties_of_key_versions(name, max_page_size=5).by_page()]
    assert len(pages) >= 6 and all(len(p) <= 5 for p in pages), [len(p) for p in pages]
    assert {i.version for page in pages for i in page} == versions


def test_list_versions_of_missing_key(client, unique_name):
    # Azure answers an empty list (200) for a name that never existed; accept that or 404.
    try:
        assert list(client.list_properties_of_key_versions(unique_name("missing"))) == []
    except ResourceNotFoundError as err:
        assert_http_error(err, status=404)


def test_list_keys_paging(client, env, unique_name, local_rsa_key):
    tag = uuid.uuid4().hex
    names = {unique_name(f"l{i}") for i in range(3)}
    for n in names:
        client.import_key(n, jwk_from_private(local_rsa_key), tags={"batch": tag})
    # A second version must not make the key appear twice.
    client.import_key(sorted(names)[0], jwk_from_private(local_rsa_key), tags={"batch": tag})

    pages = [list(p) for p in client.list_properties_of_keys(max_page_size=2).by_page()]
    assert len(pages) >= 2 and all(len(p) <= 2 for p in pages), [len(p) for p in pages]
    ours = [p for page in pages for p in page if p.name in names]
    assert sorted(p.name for p in ours) == sorted(names)
    for p in ours:
        # KeyItem kid carries no version: https://host/keys/{name}
        assert p.id == f"{env.vault_url}/keys/{p.name}"
        assert p.version is None
        assert p.tags == {"batch": tag}
        assert p.enabled is True

    # Plain iteration (default page size) follows every nextLink too.
    assert names <= {p.name for p in client.list_properties_of_keys()}


def test_list_deleted_keys(client, env, unique_name):
    names = {unique_name(f"d{i}") for i in range(3)}
    for n in names:
        client.create_rsa_key(n, size=2048)
        delete_and_wait(client, n)
    pages = [list(p) for p in client.list_deleted_keys(max_page_size=2).by_page()]
    assert all(len(p) <= 2 for p in pages)
    ours = [d for page in pages for d in page if d.name in names]
    assert sorted(d.name for d in ours) == sorted(names)
    for d in ours:
        assert d.recovery_id == f"{env.vault_url}/deletedkeys/{d.name}"
        assert d.deleted_date is not None and d.scheduled_purge_date is not None
        assert d.scheduled_purge_date > d.deleted_date
    assert names <= {d.name for d in client.list_deleted_keys()}


# --------------------------------------------------------------------------------------- update


def test_update_key_properties(client, unique_name):
    name = unique_name()
    key = client.create_rsa_key(name, size=2048, tags={"a": "1"})
    nbf = now_s() - timedelta(days=1)
    exp = now_s() + timedelta(days=90)
    ops = [KeyOperation.sign, KeyOperation.verify]
    updated = client.update_key_properties(
        name, enabled=False, not_before=nbf, expires_on=exp, key_operations=ops, tags={"b": "2"}
    )
    assert updated.id == key.id, "update must not create a version"
    assert updated.key.n == key.key.n
    assert updated.properties.enabled is False
    assert updated.properties.not_before == nbf
    assert updated.properties.expires_on == exp
    assert sorted(updated.key_operations) == sorted(ops)
    assert updated.properties.tags == {"b": "2"}
    assert updated.properties.updated_on >= key.properties.created_on

    got = client.get_key(name)
    assert got.properties.enabled is False
    assert got.properties.not_before == nbf and got.properties.expires_on == exp
    assert sorted(got.key_operations) == sorted(ops)
    assert got.properties.tags == {"b": "2"}

    # Fields left out of the PATCH keep their values.
    again = client.update_key_properties(name, enabled=True)
    assert again.properties.enabled is True
    assert again.properties.not_before == nbf and again.properties.expires_on == exp
    assert sorted(again.key_operations) == sorted(ops)
    assert again.properties.tags == {"b": "2"}


def test_update_specific_version(client, unique_name):
    name = unique_name()
    v1 = client.create_rsa_key(name, size=2048)
    v2 = client.create_rsa_key(name, size=2048)
    updated = client.update_key_properties(name, v1.properties.version, tags={"v": "1"}, enabled=False)
    assert updated.id == v1.id
    assert updated.properties.tags == {"v": "1"} and updated.properties.enabled is False
    latest = client.get_key(name)
    assert latest.id == v2.id
    assert latest.properties.enabled is True and not latest.properties.tags
    assert client.get_key(name, v1.properties.version).properties.enabled is False


def test_update_missing_key(client, unique_name):
    with pytest.raises(ResourceNotFoundError) as ei:
        client.update_key_properties(unique_name("missing"), enabled=False)
    assert_http_error(ei.value, status=404, code="KeyNotFound")


# --------------------------------------------------------------------------------------- delete / recover / purge


def test_delete_get_deleted_recover(client, env, unique_name):
    name = unique_name()
    key = client.create_rsa_key(name, size=2048, tags={"keep": "me"})
    deleted = delete_and_wait(client, name)
    assert deleted.name == name
    assert deleted.id == key.id
    assert deleted.recovery_id == f"{env.vault_url}/deletedkeys/{name}"
    assert deleted.deleted_date is not None
    assert deleted.scheduled_purge_date is not None and deleted.scheduled_purge_date > deleted.deleted_date

    with pytest.raises(ResourceNotFoundError) as ei:
        client.get_key(name)
    assert_http_error(ei.value, status=404)

    got = client.get_deleted_key(name)
    assert got.name == name and got.id == key.id
    assert got.recovery_id == deleted.recovery_id
    assert got.key.n == key.key.n
    assert got.properties.tags == {"keep": "me"}

    recovered = client.begin_recover_deleted_key(name)
    assert recovered.result().id == key.id
    recovered.wait()  # polls GET /keys/{name}/ until 200
    back = client.get_key(name)
    assert back.id == key.id and back.key.n == key.key.n
    assert back.properties.tags == {"keep": "me"}
    with pytest.raises(ResourceNotFoundError):
        client.get_deleted_key(name)


def test_delete_missing_key(client, unique_name):
    with pytest.raises(ResourceNotFoundError) as ei:
        client.begin_delete_key(unique_name("missing"))
    assert_http_error(ei.value, status=404, code="KeyNotFound")


def test_get_deleted_key_not_deleted(client, unique_name):
    name = unique_name()
    client.create_rsa_key(name, size=2048)
    with pytest.raises(ResourceNotFoundError) as ei:
        client.get_deleted_key(name)
    assert_http_error(ei.value, status=404)


def test_recover_not_deleted_key(client, unique_name):
    with pytest.raises(HttpResponseError) as ei:
        client.begin_recover_deleted_key(unique_name("missing"))
    assert_http_error(ei.value, status=404)


def test_delete_and_purge(client, unique_name):
    name = unique_name()
    client.create_rsa_key(name, size=2048)
    delete_and_wait(client, name)
    assert client.purge_deleted_key(name) is None  # 204
    with pytest.raises(ResourceNotFoundError):
        client.get_deleted_key(name)
    with pytest.raises(ResourceNotFoundError):
        client.get_key(name)
    # The name is free again.
    again = client.create_rsa_key(name, size=2048)
    assert again.name == name
    assert len(list(client.list_properties_of_key_versions(name))) == 1


def test_purge_not_deleted_key(client, unique_name):
    name = unique_name()
    client.create_rsa_key(name, size=2048)
    with pytest.raises(HttpResponseError) as ei:
        client.purge_deleted_key(name)
    assert_http_error(ei.value)
    assert client.get_key(name).name == name


def test_create_over_deleted_name_conflicts(client, unique_name, local_rsa_key):
    name = unique_name()
    client.create_rsa_key(name, size=2048)
    delete_and_wait(client, name)
    with pytest.raises(ResourceExistsError) as ei:
        client.create_rsa_key(name, size=2048)
    assert_http_error(ei.value, status=409)
    with pytest.raises(ResourceExistsError) as ei:
        client.import_key(name, jwk_from_private(local_rsa_key))
    assert_http_error(ei.value, status=409)


def test_purge_protection(protected_client, env, unique_name):
    name = unique_name()
    key = protected_client.create_rsa_key(name, size=2048)
    assert key.id.startswith(env.protected_vault_url + "/keys/"), key.id
    level = key.properties.recovery_level
    assert level and "Recoverable" in level and "Purgeable" not in level, level

    deleted = delete_and_wait(protected_client, name)
    assert deleted.recovery_id == f"{env.protected_vault_url}/deletedkeys/{name}"
    with pytest.raises(HttpResponseError) as ei:
        protected_client.purge_deleted_key(name)
    assert_http_error(ei.value)  # 403 or 409, with an error code

    # Still there, still recoverable.
    assert protected_client.get_deleted_key(name).id == key.id
    protected_client.begin_recover_deleted_key(name).wait()
    assert protected_client.get_key(name).id == key.id


def test_vaults_are_isolated(client, protected_client, unique_name):
    a, b = unique_name("a"), unique_name("b")
    client.create_rsa_key(a, size=2048)
    protected_client.create_rsa_key(b, size=2048)
    with pytest.raises(ResourceNotFoundError):
        protected_client.get_key(a)
    with pytest.raises(ResourceNotFoundError):
        client.get_key(b)


# --------------------------------------------------------------------------------------- backup / restore


def test_backup_restore(client, env, unique_name, credential):
    name = unique_name()
    v1 = client.create_rsa_key(name, size=2048, tags={"t": "1"})
    v2 = client.create_rsa_key(name, size=2048, tags={"t": "2"})
    blob = client.backup_key(name)
    assert isinstance(blob, bytes) and len(blob) > 0

    # Restore over a live key: 409.
    with pytest.raises(ResourceExistsError) as ei:
        client.restore_key_backup(blob)
    assert_http_error(ei.value, status=409)

    delete_and_wait(client, name)
    # Restore over a deleted-but-not-purged key: 409 too.
    with pytest.raises(ResourceExistsError) as ei:
        client.restore_key_backup(blob)
    assert_http_error(ei.value, status=409)

    client.purge_deleted_key(name)
    restored = client.restore_key_backup(blob)
    assert restored.name == name
    assert restored.id == v2.id, "restore brings back the same versions"
    assert restored.key.n == v2.key.n
    assert restored.properties.tags == {"t": "2"}
    versions = {p.version for p in client.list_properties_of_key_versions(name)}
    assert versions == {v1.properties.version, v2.properties.version}
    assert client.get_key(name, v1.properties.version).key.n == v1.key.n

    # The private key came back too.
    digest = hashlib.sha256(b"after restore").digest()
    sig = make_crypto_client(restored.id, credential).sign(SignatureAlgorithm.ps256, digest).signature
    local_verify(public_key_of(v2), SignatureAlgorithm.ps256, digest, sig)


def test_backup_missing_key(client, unique_name):
    with pytest.raises(ResourceNotFoundError) as ei:
        client.backup_key(unique_name("missing"))
    assert_http_error(ei.value, status=404, code="KeyNotFound")


def test_restore_garbage(client):
    with pytest.raises(HttpResponseError) as ei:
        client.restore_key_backup(b"this is not a key vault backup blob" + os.urandom(64))
    assert_http_error(ei.value, status=400)


# --------------------------------------------------------------------------------------- rotate / rotation policy


def test_rotate_key(client, env, unique_name):
    name = unique_name()
    key = client.create_rsa_key(name, size=3072)
    rotated = client.rotate_key(name)
    assert_rsa_key(rotated, env.vault_url, name, 3072)
    assert rotated.properties.version != key.properties.version
    assert rotated.key.n != key.key.n
    assert client.get_key(name).id == rotated.id
    versions = {p.version for p in client.list_properties_of_key_versions(name)}
    assert versions == {key.properties.version, rotated.properties.version}


def test_rotate_missing_key(client, unique_name):
    with pytest.raises(ResourceNotFoundError) as ei:
        client.rotate_key(unique_name("missing"))
    assert_http_error(ei.value, status=404, code="KeyNotFound")


def test_rotation_policy(client, unique_name):
    name = unique_name()
    client.create_rsa_key(name, size=2048)
    # A key without a policy still answers GET (Azure returns a default policy).
    default = client.get_key_rotation_policy(name)
    assert isinstance(default.lifetime_actions, list)

    actions = [
        KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P90D"),
        KeyRotationLifetimeAction(KeyRotationPolicyAction.notify, time_before_expiry="P30D"),
    ]
    expected = sorted([("rotate", "P90D", None), ("notify", None, "P30D")])
    updated = client.update_key_rotation_policy(
        name, KeyRotationPolicy(), lifetime_actions=actions, expires_in="P1Y"
    )
    assert policy_actions(updated) == expected
    assert updated.expires_in == "P1Y"
    assert updated.id and name in updated.id

    got = client.get_key_rotation_policy(name)
    assert policy_actions(got) == expected
    assert got.expires_in == "P1Y"
    assert got.created_on is not None and got.updated_on is not None

    # PUT replaces the whole policy.
    replaced = client.update_key_rotation_policy(
        name,
        KeyRotationPolicy(),
        lifetime_actions=[KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P60D")],
        expires_in="P2Y",
    )
    assert policy_actions(replaced) == [("rotate", "P60D", None)]
    assert policy_actions(client.get_key_rotation_policy(name)) == [("rotate", "P60D", None)]
    assert client.get_key_rotation_policy(name).expires_in == "P2Y"


def test_rotate_applies_policy_expiry(client, unique_name):
    """expires_in "will be applied on new key versions" (SDK docs): a rotated version expires."""
    name = unique_name()
    client.create_rsa_key(name, size=2048)
    client.update_key_rotation_policy(
        name,
        KeyRotationPolicy(),
        lifetime_actions=[KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P90D")],
        expires_in="P180D",
    )
    before = now_s()
    rotated = client.rotate_key(name)
    exp = rotated.properties.expires_on
    assert exp is not None, "the policy's expires_in must be applied to the rotated version"
    assert before + timedelta(days=179) <= exp <= now_s() + timedelta(days=181), exp


@pytest.mark.parametrize(
    "action, expires_in",
    [
        # rotate earlier than 7 days after creation
        (KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P1D"), "P1Y"),
        # policy expiry shorter than 28 days
        (KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P7D"), "P14D"),
        # not an ISO 8601 duration
        (KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="90 days"), "P1Y"),
    ],
    ids=["too-early", "expiry-too-short", "not-a-duration"],
)
def test_rotation_policy_invalid(client, unique_name, action, expires_in):
    name = unique_name()
    client.create_rsa_key(name, size=2048)
    with pytest.raises(HttpResponseError) as ei:
        client.update_key_rotation_policy(name, KeyRotationPolicy(), lifetime_actions=[action], expires_in=expires_in)
    assert_http_error(ei.value, status=400)


def test_rotation_policy_missing_key(client, unique_name):
    with pytest.raises(ResourceNotFoundError) as ei:
        client.get_key_rotation_policy(unique_name("missing"))
    assert_http_error(ei.value, status=404)


# --------------------------------------------------------------------------------------- random bytes


def test_get_random_bytes(client):
    a = client.get_random_bytes(32)
    b = client.get_random_bytes(32)
    assert isinstance(a, bytes) and len(a) == 32 and len(b) == 32
    assert a != b
    assert len(client.get_random_bytes(1)) == 1
    assert len(client.get_random_bytes(128)) == 128


# --------------------------------------------------------------------------------------- encrypt / decrypt


@pytest.mark.parametrize("alg", ENC_ALGS)
def test_encrypt_decrypt_remote(remote, crypto_key, alg):
    plaintext = b"atrest interop " + os.urandom(16)
    enc = remote.encrypt(alg, plaintext)
    assert enc.algorithm == alg
    assert len(enc.ciphertext) == 256
    enc2 = remote.encrypt(alg, plaintext)
    assert enc2.ciphertext != enc.ciphertext, "OAEP is randomized"
    dec = remote.decrypt(alg, enc.ciphertext)
    assert dec.plaintext == plaintext
    assert remote.decrypt(alg, enc2.ciphertext).plaintext == plaintext


@pytest.mark.parametrize("alg", ENC_ALGS)
def test_server_ciphertext_decrypts_with_sdk_default_client(remote, hybrid, alg):
    plaintext = os.urandom(32)
    ct = remote.encrypt(alg, plaintext).ciphertext
    assert hybrid.decrypt(alg, ct).plaintext == plaintext


@pytest.mark.parametrize("alg", ENC_ALGS)
def test_local_encrypt_remote_decrypt(hybrid, crypto_key, alg):
    plaintext = b"encrypted on the client"
    # The SDK's own local encryption (hybrid client: encrypt is local, decrypt remote).
    enc = hybrid.encrypt(alg, plaintext)
    assert enc.key_id == crypto_key.id
    assert hybrid.decrypt(alg, enc.ciphertext).plaintext == plaintext
    # Independent local encryption with the `cryptography` package and the key's n/e.
    ct = public_key_of(crypto_key).encrypt(plaintext, oaep(alg))
    assert hybrid.decrypt(alg, ct).plaintext == plaintext


def test_decrypt_with_wrong_algorithm_or_tampered_ciphertext(remote, crypto_key):
    ct = public_key_of(crypto_key).encrypt(b"x" * 16, oaep(EncryptionAlgorithm.rsa_oaep_256))
    with pytest.raises(HttpResponseError) as ei:
        remote.decrypt(EncryptionAlgorithm.rsa_oaep, ct)  # SHA-1 OAEP on a SHA-256 ciphertext
    assert_http_error(ei.value)
    tampered = bytes([ct[0] ^ 1]) + ct[1:]
    with pytest.raises(HttpResponseError) as ei:
        remote.decrypt(EncryptionAlgorithm.rsa_oaep_256, tampered)
    assert_http_error(ei.value)
    with pytest.raises(HttpResponseError) as ei:
        remote.decrypt(EncryptionAlgorithm.rsa_oaep_256, b"short")
    assert_http_error(ei.value)


def test_encrypt_too_long_plaintext(remote):
    # RSA-2048 OAEP-SHA256 takes at most 256 - 2*32 - 2 = 190 bytes.
    with pytest.raises(HttpResponseError) as ei:
        remote.encrypt(EncryptionAlgorithm.rsa_oaep_256, os.urandom(191))
    assert_http_error(ei.value, status=400)


def test_versionless_kid_crypto(client, credential, unique_name):
    """A CryptographyClient built from a versionless id GETs /keys/{name}/ and pins that version."""
    name = unique_name()
    key = client.create_rsa_key(name, size=2048)
    crypto = make_crypto_client(f"{key.properties.vault_url}/keys/{name}", credential)
    ct = public_key_of(key).encrypt(b"versionless", oaep(EncryptionAlgorithm.rsa_oaep))
    assert crypto.decrypt(EncryptionAlgorithm.rsa_oaep, ct).plaintext == b"versionless"
    assert crypto.key_id == key.id


# --------------------------------------------------------------------------------------- wrap / unwrap


@pytest.mark.parametrize("alg", WRAP_ALGS)
def test_wrap_unwrap_remote(remote, alg):
    cek = os.urandom(32)
    wrapped = remote.wrap_key(alg, cek)
    assert wrapped.algorithm == alg and len(wrapped.encrypted_key) == 256
    assert remote.unwrap_key(alg, wrapped.encrypted_key).key == cek


@pytest.mark.parametrize("alg", WRAP_ALGS)
def test_local_wrap_remote_unwrap(hybrid, crypto_key, alg):
    cek = os.urandom(32)
    wrapped = hybrid.wrap_key(alg, cek)  # local with the public key
    assert hybrid.unwrap_key(alg, wrapped.encrypted_key).key == cek
    ct = public_key_of(crypto_key).encrypt(cek, oaep(alg))
    assert hybrid.unwrap_key(alg, ct).key == cek


def test_unwrap_garbage(remote):
    with pytest.raises(HttpResponseError) as ei:
        remote.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, os.urandom(256))
    assert_http_error(ei.value)


# --------------------------------------------------------------------------------------- sign / verify


@pytest.mark.parametrize("alg", list(SIG_ALGS))
def test_sign_verify(remote, hybrid, crypto_key, alg):
    hash_fn = SIG_ALGS[alg][0]
    digest = hash_fn(b"message signed by atrest " + os.urandom(8)).digest()
    signed = remote.sign(alg, digest)
    assert signed.algorithm == alg and len(signed.signature) == 256

    # Checked by the `cryptography` package with the public key from the key's n/e ...
    local_verify(public_key_of(crypto_key), alg, digest, signed.signature)
    # ... by the server ...
    assert remote.verify(alg, digest, signed.signature).is_valid is True
    # ... and by the SDK's local verification.
    assert hybrid.verify(alg, digest, signed.signature).is_valid is True
    # Signing through the SDK's default client is remote as well.
    sig2 = hybrid.sign(alg, digest).signature
    local_verify(public_key_of(crypto_key), alg, digest, sig2)

    # Wrong digest / wrong signature: the server says "not valid" (200, value false).
    other = hash_fn(b"another message").digest()
    assert remote.verify(alg, other, signed.signature).is_valid is False
    with pytest.raises(InvalidSignature):
        local_verify(public_key_of(crypto_key), alg, other, signed.signature)
    bad_sig = bytes([signed.signature[0] ^ 0xFF]) + signed.signature[1:]
    assert remote.verify(alg, digest, bad_sig).is_valid is False


def test_rs256_is_deterministic(remote):
    digest = hashlib.sha256(b"pkcs1 v1.5 signatures are deterministic").digest()
    assert remote.sign(SignatureAlgorithm.rs256, digest).signature == remote.sign(
        SignatureAlgorithm.rs256, digest
    ).signature


def test_sign_wrong_digest_length(remote):
    with pytest.raises(HttpResponseError) as ei:
        remote.sign(SignatureAlgorithm.rs256, hashlib.sha1(b"20 bytes").digest())
    assert_http_error(ei.value, status=400)


# --------------------------------------------------------------------------------------- key state


def _crypto_attempts(key: KeyVaultKey, crypto):
    """(operation name, callable) for all six operations with valid inputs for `key`."""
    pub = public_key_of(key)
    ct = pub.encrypt(b"data", oaep(EncryptionAlgorithm.rsa_oaep_256))
    wrapped = pub.encrypt(os.urandom(32), oaep(KeyWrapAlgorithm.rsa_oaep))
    digest = hashlib.sha256(b"d").digest()
    fake_sig = os.urandom(256)
    return {
        "encrypt": lambda: crypto.encrypt(EncryptionAlgorithm.rsa_oaep_256, b"data"),
        "decrypt": lambda: crypto.decrypt(EncryptionAlgorithm.rsa_oaep_256, ct),
        "wrapKey": lambda: crypto.wrap_key(KeyWrapAlgorithm.rsa_oaep, os.urandom(32)),
        "unwrapKey": lambda: crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep, wrapped),
        "sign": lambda: crypto.sign(SignatureAlgorithm.rs256, digest),
        "verify": lambda: crypto.verify(SignatureAlgorithm.rs256, digest, fake_sig),
    }


def test_disabled_key(client, credential, unique_name):
    name = unique_name()
    key = client.create_rsa_key(name, size=2048, key_operations=list(ALL_OPS))
    client.update_key_properties(name, enabled=False)
    # get still works and shows the state.
    assert client.get_key(name).properties.enabled is False
    assert client.get_key(name, key.properties.version).properties.enabled is False

    crypto = remote_only(key, credential)
    for op, call in _crypto_attempts(key, crypto).items():
        with pytest.raises(HttpResponseError) as ei:
            call()
        assert_http_error(ei.value)  # 403 (Forbidden) on Azure
        assert ei.value.status_code != 404, f"{op}: the key exists, it is disabled"

    # Enabled again: usable again.
    client.update_key_properties(name, enabled=True)
    digest = hashlib.sha256(b"enabled again").digest()
    sig = crypto.sign(SignatureAlgorithm.rs256, digest).signature
    local_verify(public_key_of(key), SignatureAlgorithm.rs256, digest, sig)


@pytest.mark.parametrize("window", ["expired", "not-yet-valid"])
def test_key_outside_validity_window(client, credential, unique_name, window):
    """Outside nbf..exp, decrypt / unwrapKey / verify still work (so data stays recoverable);
    encrypt / wrapKey / sign are refused (Key Vault behaviour, DESIGN.md)."""
    name = unique_name()
    key = client.create_rsa_key(name, size=2048, key_operations=list(ALL_OPS))
    crypto = remote_only(key, credential)
    digest = hashlib.sha256(b"signed while valid").digest()
    sig = crypto.sign(SignatureAlgorithm.ps256, digest).signature

    if window == "expired":
        client.update_key_properties(name, expires_on=now_s() - timedelta(days=1))
    else:
        client.update_key_properties(name, not_before=now_s() + timedelta(days=1))

    pub = public_key_of(key)
    ct = pub.encrypt(b"old data", oaep(EncryptionAlgorithm.rsa_oaep_256))
    assert crypto.decrypt(EncryptionAlgorithm.rsa_oaep_256, ct).plaintext == b"old data"
    cek = os.urandom(32)
    assert crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, pub.encrypt(cek, oaep("RSA-OAEP-256"))).key == cek
    assert crypto.verify(SignatureAlgorithm.ps256, digest, sig).is_valid is True

    for call in (
        lambda: crypto.encrypt(EncryptionAlgorithm.rsa_oaep_256, b"new data"),
        lambda: crypto.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, os.urandom(32)),
        lambda: crypto.sign(SignatureAlgorithm.ps256, digest),
    ):
        with pytest.raises(HttpResponseError) as ei:
            call()
        assert_http_error(ei.value, status=403)


def test_key_ops_are_enforced(client, credential, unique_name):
    name = unique_name()
    key = client.create_rsa_key(name, size=2048, key_operations=[KeyOperation.sign, KeyOperation.verify])
    crypto = remote_only(key, credential)
    digest = hashlib.sha256(b"allowed").digest()
    assert crypto.verify(SignatureAlgorithm.rs256, digest, crypto.sign(SignatureAlgorithm.rs256, digest).signature).is_valid
    for op, call in _crypto_attempts(key, crypto).items():
        if op in ("sign", "verify"):
            continue
        with pytest.raises(HttpResponseError) as ei:
            call()
        assert_http_error(ei.value)


def test_crypto_on_missing_key(client, credential, crypto_key, unique_name):
    ghost = KeyVaultKey(
        f"{crypto_key.properties.vault_url}/keys/{unique_name('missing')}/{uuid.uuid4().hex}",
        jwk={"kty": "RSA", "n": crypto_key.key.n, "e": crypto_key.key.e, "key_ops": []},
    )
    crypto = make_crypto_client(ghost, credential)
    with pytest.raises(ResourceNotFoundError) as ei:
        crypto.sign(SignatureAlgorithm.rs256, hashlib.sha256(b"x").digest())
    assert_http_error(ei.value, status=404, code="KeyNotFound")


# --------------------------------------------------------------------------------------- authorization


def test_limited_principal_can_read(client, limited_client, env, unique_name):
    name = unique_name()
    key = client.create_rsa_key(name, size=2048, tags={"who": "full"})
    got = limited_client.get_key(name)
    assert got.id == key.id and got.key.n == key.key.n
    assert limited_client.get_key(name, key.properties.version).id == key.id
    assert any(p.name == name for p in limited_client.list_properties_of_keys())
    assert [p.version for p in limited_client.list_properties_of_key_versions(name)] == [key.properties.version]


def test_limited_principal_is_forbidden(client, limited_client, limited_credential, unique_name, local_rsa_key):
    name = unique_name()
    key = client.create_rsa_key(name, size=2048, key_operations=list(ALL_OPS))
    crypto = remote_only(key, limited_credential)
    attempts = {
        "create": lambda: limited_client.create_rsa_key(unique_name("new"), size=2048),
        "create-version": lambda: limited_client.create_rsa_key(name, size=2048),
        "import": lambda: limited_client.import_key(unique_name("imp"), jwk_from_private(local_rsa_key)),
        "update": lambda: limited_client.update_key_properties(name, enabled=False),
        "delete": lambda: limited_client.begin_delete_key(name),
        "backup": lambda: limited_client.backup_key(name),
        "rotate": lambda: limited_client.rotate_key(name),
        "get-rotation-policy": lambda: limited_client.get_key_rotation_policy(name),
        "set-rotation-policy": lambda: limited_client.update_key_rotation_policy(
            name,
            KeyRotationPolicy(),
            lifetime_actions=[KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P90D")],
            expires_in="P1Y",
        ),
        **{f"crypto-{op}": call for op, call in _crypto_attempts(key, crypto).items()},
    }
    for what, call in attempts.items():
        with pytest.raises(HttpResponseError) as ei:
            call()
        err = ei.value
        assert err.status_code == 403, f"{what}: expected 403, got {err.status_code}: {err}"
        assert err.error is not None and err.error.code == "Forbidden", f"{what}: {err}"

    # Nothing changed.
    assert client.get_key(name).id == key.id
    assert client.get_key(name).properties.enabled is True


def test_limited_principal_cannot_recover_or_purge(client, limited_client, unique_name):
    name = unique_name()
    client.create_rsa_key(name, size=2048)
    delete_and_wait(client, name)
    for call in (
        lambda: limited_client.begin_recover_deleted_key(name),
        lambda: limited_client.purge_deleted_key(name),
    ):
        with pytest.raises(HttpResponseError) as ei:
            call()
        assert ei.value.status_code == 403, str(ei.value)
        assert ei.value.error is not None and ei.value.error.code == "Forbidden"
    assert client.get_deleted_key(name).name == name


def test_limited_principal_restore_forbidden(client, limited_client, unique_name):
    name = unique_name()
    client.create_rsa_key(name, size=2048)
    blob = client.backup_key(name)
    delete_and_wait(client, name)
    client.purge_deleted_key(name)
    with pytest.raises(HttpResponseError) as ei:
        limited_client.restore_key_backup(blob)
    assert ei.value.status_code == 403 and ei.value.error.code == "Forbidden"


# --------------------------------------------------------------------------------------- authentication


def test_token_from_credential(credential):
    token = credential.get_token("https://vault.azure.net/.default")
    assert token.token
    assert token.expires_on > datetime.now(timezone.utc).timestamp() + 300


def test_wrong_client_secret(env):
    bad = make_credential(env, env.client_id, "wrong-" + uuid.uuid4().hex)
    with pytest.raises(ClientAuthenticationError):
        bad.get_token("https://vault.azure.net/.default")
    with pytest.raises(ClientAuthenticationError):
        make_key_client(env.vault_url, bad).get_key("any-key")


def test_unknown_client_id(env):
    bad = make_credential(env, str(uuid.uuid4()), env.client_secret)
    with pytest.raises(ClientAuthenticationError):
        make_key_client(env.vault_url, bad).get_key("any-key")


def test_fresh_credential_and_client_work(env, unique_name):
    """A brand-new credential + client (cold MSAL cache) completes the 401 challenge flow."""
    cred = make_credential(env, env.client_id, env.client_secret)
    kc = make_key_client(env.vault_url, cred)
    name = unique_name()
    assert kc.create_rsa_key(name, size=2048).name == name
