"""Fixtures for the atrest interop suite (official Azure SDK for Python).

The suite talks to a running atrest server described by ATREST_* environment variables (see
tests/interop/README.md). It never skips when they are missing: such a run is a usage error
(exit status 4). Collecting tests (``pytest --collect-only``) works without them.
"""

from __future__ import annotations

import os
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from interop_support import Env, make_credential, make_key_client, missing_env


def pytest_sessionstart(session):
    if session.config.option.collectonly:
        return
    missing = missing_env()
    if missing:
        raise pytest.UsageError(
            "atrest interop: required environment variables are not set: "
            + ", ".join(missing)
            + " (see tests/interop/README.md)"
        )
    ca = os.environ["REQUESTS_CA_BUNDLE"]
    if not os.path.isfile(ca):
        raise pytest.UsageError(f"atrest interop: REQUESTS_CA_BUNDLE={ca} is not a file")


@pytest.fixture(scope="session")
def env() -> Env:
    return Env()


@pytest.fixture(scope="session")
def credential(env):
    return make_credential(env, env.client_id, env.client_secret)


@pytest.fixture(scope="session")
def limited_credential(env):
    return make_credential(env, env.limited_client_id, env.limited_client_secret)


@pytest.fixture(scope="session")
def client(env, credential):
    return make_key_client(env.vault_url, credential)


@pytest.fixture(scope="session")
def protected_client(env, credential):
    return make_key_client(env.protected_vault_url, credential)


@pytest.fixture(scope="session")
def limited_client(env, limited_credential):
    return make_key_client(env.vault_url, limited_credential)


@pytest.fixture
def unique_name(request):
    """unique_name("tag") -> "py-<test>-tag-<12 hex>", a valid Key Vault name ([0-9a-zA-Z-]{1,127})."""
    test = "".join(c if c.isalnum() else "-" for c in request.node.name)[:40].strip("-")

    def make(tag: str = "k") -> str:
        return f"py-{test}-{tag}-{uuid.uuid4().hex[:12]}"

    return make


@pytest.fixture(scope="session")
def local_rsa_key() -> rsa.RSAPrivateKey:
    """A locally generated RSA-2048 key, for import and for cross-checking the server's crypto."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
