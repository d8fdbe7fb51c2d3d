"""The server contract (environment) and the SDK client factories shared by the interop tests.

Every client is built with exactly the documented options a user of atrest needs:

- ClientSecretCredential(authority=ATREST_AUTHORITY, disable_instance_discovery=True)
  authority: atrest's token endpoint instead of login.microsoftonline.com;
  disable_instance_discovery: no GET of Azure AD's /common/discovery/instance.
- KeyClient / CryptographyClient(verify_challenge_resource=False)
  the 401 challenge's resource can never be a parent domain of "localhost" or "127.0.0.1", so the
  SDK's check (request host must end with "." + resource host) would always fail.
- TLS trust comes from REQUESTS_CA_BUNDLE (honoured by requests, which azure-core uses).
"""

from __future__ import annotations

import os

from azure.identity import ClientSecretCredential
from azure.keyvault.keys import KeyClient
from azure.keyvault.keys.crypto import CryptographyClient

REQUIRED_ENV = (
    "ATREST_AUTHORITY",
    "ATREST_VAULT_URL",
    "ATREST_TENANT_ID",
    "ATREST_CLIENT_ID",
    "ATREST_CLIENT_SECRET",
    "ATREST_LIMITED_CLIENT_ID",
    "ATREST_LIMITED_CLIENT_SECRET",
    "ATREST_PROTECTED_VAULT_URL",
    "REQUESTS_CA_BUNDLE",
)


def missing_env():
    return [name for name in REQUIRED_ENV if not os.environ.get(name)]


class Env:
    """The server contract, read once. Raises RuntimeError when a variable is missing."""

    def __init__(self):
        missing = missing_env()
        if missing:
            raise RuntimeError("missing environment variables: " + ", ".join(missing))
        e = os.environ
        self.authority = e["ATREST_AUTHORITY"].rstrip("/")
        self.vault_url = e["ATREST_VAULT_URL"].rstrip("/")
        self.protected_vault_url = e["ATREST_PROTECTED_VAULT_URL"].rstrip("/")
        self.tenant_id = e["ATREST_TENANT_ID"]
        self.client_id = e["ATREST_CLIENT_ID"]
        self.client_secret = e["ATREST_CLIENT_SECRET"]
        self.limited_client_id = e["ATREST_LIMITED_CLIENT_ID"]
        self.limited_client_secret = e["ATREST_LIMITED_CLIENT_SECRET"]
        self.ca_bundle = e["REQUESTS_CA_BUNDLE"]


def make_credential(env: Env, client_id: str, client_secret: str) -> ClientSecretCredential:
    return ClientSecretCredential(
        env.tenant_id,
        client_id,
        client_secret,
        authority=env.authority,
        disable_instance_discovery=True,
    )


def make_key_client(vault_url: str, credential, **kwargs) -> KeyClient:
    return KeyClient(vault_url, credential, verify_challenge_resource=False, **kwargs)


def make_crypto_client(key_or_kid, credential) -> CryptographyClient:
    return CryptographyClient(key_or_kid, credential, verify_challenge_resource=False)
