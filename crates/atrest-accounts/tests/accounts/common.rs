//! Test fixtures: an in-process atrest server over HTTPS, a tenant with an owner, a vault.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use atrest_accounts::AccountsConfig;
use atrest_server::{RawConfig, RunningServer, Settings};
use atrest_store::blob::BlobStoreConfig;
use reqwest::{Client, Method};
use serde_json::{json, Value};

pub(crate) const SUFFIX: &str = "vault.atrest.localhost";

/// Platform storage for every test server instead of local files: a TOML inline table as
/// `[accounts] platform_storage` takes it, e.g.
///
/// ```text
/// ATREST_TEST_PLATFORM_STORAGE='{ url = "s3://atrest-test/run1", options = { endpoint = "http://127.0.0.1:9999", access_key_id = "x", secret_access_key = "x", region = "us-east-1", allow_http = "true" } }'
/// ```
///
/// The bucket (or container) must exist. Each server gets a prefix of its own below the URL's
/// (a random path segment), so tests running at once do not see each other's objects. Tests
/// that read stored objects do so through [`Env::objects`], which follows the setting. A test
/// may still set its own `platform_storage` or `region_storage` (the variable is applied first).
pub(crate) const PLATFORM_STORAGE_ENV: &str = "ATREST_TEST_PLATFORM_STORAGE";

/// The platform storage [`PLATFORM_STORAGE_ENV`] asks for, under a new prefix; `None` when
/// unset (local files in the data directory).
fn platform_storage_from_env() -> Option<BlobStoreConfig> {
    let value = std::env::var(PLATFORM_STORAGE_ENV).ok()?;
    if value.trim().is_empty() {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Doc {
        platform_storage: BlobStoreConfig,
    }
    let doc: Doc = toml::from_str(&format!("platform_storage = {value}"))
        .unwrap_or_else(|e| panic!("{PLATFORM_STORAGE_ENV} is not a TOML inline table: {e}"));
    let mut store = doc.platform_storage;
    store.url = format!(
        "{}/{}",
        store.url.trim_end_matches('/'),
        uuid::Uuid::new_v4().simple()
    );
    Some(store)
}

pub(crate) struct Env {
    pub(crate) server: RunningServer,
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) client: Client,
    pub(crate) base: String,
    pub(crate) operator: String,
    pub(crate) tenant: String,
    pub(crate) sub: String,
    pub(crate) owner_id: String,
    /// The owner's client id and secret, for the official SDKs.
    pub(crate) owner_credentials: (String, String),
    pub(crate) mgmt: String,
    pub(crate) vault_token: String,
    pub(crate) service_token: String,
    /// The accounts settings the server runs with (for its platform storage).
    pub(crate) accounts_config: AccountsConfig,
}

pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `script` with the Python that has the official Azure SDKs (installed by
/// scripts/setup-interop) and `vars` in its environment; returns its stdout.
pub(crate) fn official_python(script: &str, vars: &[(&str, &str)]) -> String {
    let python = repo_root().join(".venv-interop/bin/python");
    let out = tokio::task::block_in_place(|| {
        Command::new(&python)
            .args(["-c", script])
            .envs(vars.iter().copied())
            .output()
    })
    .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup-interop)", python.display()));
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Creates a vault with azure-mgmt-keyvault and an RSA-2048 key in it with
/// azure-keyvault-keys, both unmodified, with only their documented options (authority,
/// instance discovery off, `base_url` for ARM, `verify_challenge_resource=False`, the CA
/// through `REQUESTS_CA_BUNDLE`). The key client
/// talks to `https://localhost:{port}`, so the server needs the vault alias `localhost`.
const CREATE_VAULT_AND_KEY: &str = r#"
import os
from azure.identity import ClientSecretCredential
from azure.keyvault.keys import KeyClient
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.keyvault.models import (AccessPolicyEntry, Permissions, Sku,
    VaultCreateOrUpdateParameters, VaultProperties)

e = os.environ
credential = ClientSecretCredential(e["TENANT"], e["CLIENT_ID"], e["CLIENT_SECRET"],
    authority=e["SERVER"], disable_instance_discovery=True)
arm = KeyVaultManagementClient(credential, e["SUBSCRIPTION"], base_url=e["SERVER"])
vault = arm.vaults.begin_create_or_update("rg", e["VAULT"], VaultCreateOrUpdateParameters(
    location="westeurope",
    properties=VaultProperties(tenant_id=e["TENANT"], sku=Sku(family="A", name="standard"),
        enable_soft_delete=True, enable_purge_protection=True,
        access_policies=[AccessPolicyEntry(tenant_id=e["TENANT"], object_id=e["OWNER"],
            permissions=Permissions(keys_property=["all"]))]))).result()
assert vault.properties.enable_purge_protection, vault.properties
keys = KeyClient(vault_url=e["SERVER"], credential=credential, verify_challenge_resource=False)
key = keys.create_rsa_key(e["KEY"], size=2048)
print(key.properties.version)
"#;

pub(crate) async fn start(tune: impl FnOnce(&mut RawConfig)) -> Env {
    start_with(tune, &[]).await
}

/// Starts a server; `extra_hosts` are names the client resolves to it (vault hosts).
pub(crate) async fn start_with(tune: impl FnOnce(&mut RawConfig), extra_hosts: &[&str]) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let mut raw = RawConfig {
        data_dir: Some(dir.path().join("data")),
        database: atrest_store::testing::database_setting(&dir.path().join("data")),
        listen: Some("127.0.0.1:0".into()),
        key_check_interval_secs: Some(1),
        ..Default::default()
    };
    raw.accounts.platform_storage = platform_storage_from_env();
    tune(&mut raw);
    // As the server validates it (see atrest_server's accounts wiring).
    let accounts_config = AccountsConfig::from_raw(
        raw.accounts.clone(),
        Duration::from_secs(1),
        raw.data_dir.clone().unwrap().join("blobs"),
    )
    .unwrap();
    let server = atrest_server::start(Settings::from_raw(raw).unwrap())
        .await
        .unwrap();
    let addr = server.addr;
    let ca = std::fs::read(server.data.ca_cert()).unwrap();
    let mut builder = Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .timeout(Duration::from_secs(60));
    for host in ["demo", "other", "east", "nopurge"]
        .iter()
        .map(|v| format!("{v}.{SUFFIX}"))
        .chain(extra_hosts.iter().map(|h| h.to_string()))
    {
        builder = builder.resolve(&host, addr);
    }
    let client = builder.build().unwrap();
    let base = format!("https://localhost:{}", addr.port());
    let creds = server.new_operator.clone().unwrap();
    let operator = token(
        &client,
        &base,
        &creds.tenant_id,
        &creds.client_id,
        &creds.client_secret,
        "https://management.azure.com",
    )
    .await;
    let (_, tenant) = call(
        &client,
        Method::POST,
        &format!("{base}/admin/tenants"),
        &operator,
        Some(json!({"displayName": "contoso"})),
    )
    .await;
    let tenant = tenant["tenantId"].as_str().unwrap().to_owned();
    let (_, sp) = call(
        &client,
        Method::POST,
        &format!("{base}/admin/tenants/{tenant}/servicePrincipals"),
        &operator,
        Some(json!({"displayName": "alice"})),
    )
    .await;
    let owner_id = sp["objectId"].as_str().unwrap().to_owned();
    let (client_id, secret) = (
        sp["clientId"].as_str().unwrap().to_owned(),
        sp["clientSecret"].as_str().unwrap().to_owned(),
    );
    let (_, sub) = call(
        &client,
        Method::POST,
        &format!("{base}/admin/tenants/{tenant}/subscriptions"),
        &operator,
        Some(json!({"displayName": "prod", "ownerObjectId": owner_id})),
    )
    .await;
    let sub = sub["subscriptionId"].as_str().unwrap().to_owned();
    let mgmt = token(
        &client,
        &base,
        &tenant,
        &client_id,
        &secret,
        "https://management.azure.com",
    )
    .await;
    let vault_token = token(
        &client,
        &base,
        &tenant,
        &client_id,
        &secret,
        "https://vault.azure.net",
    )
    .await;
    let service_token = token(
        &client,
        &base,
        &tenant,
        &client_id,
        &secret,
        "https://cognitiveservices.azure.com",
    )
    .await;
    Env {
        server,
        _dir: dir,
        client,
        base,
        operator,
        tenant,
        sub,
        owner_id,
        owner_credentials: (client_id, secret),
        mgmt,
        vault_token,
        service_token,
        accounts_config,
    }
}

pub(crate) async fn token(
    client: &Client,
    base: &str,
    tenant: &str,
    id: &str,
    secret: &str,
    resource: &str,
) -> String {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", id),
        ("client_secret", secret),
        ("scope", &format!("{resource}/.default")),
    ];
    let v: Value = client
        .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("token: {v}"))
        .to_owned()
}

pub(crate) async fn call(
    client: &Client,
    method: Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

impl Env {
    /// Vault `vault` and RSA-2048 key `key` made with the official Python SDKs (see
    /// [`CREATE_VAULT_AND_KEY`]); returns the key's version.
    pub(crate) fn create_vault_and_key_with_python_sdk(&self, vault: &str, key: &str) -> String {
        let ca = self.server.data.ca_cert();
        let (client_id, secret) = &self.owner_credentials;
        let version = official_python(
            CREATE_VAULT_AND_KEY,
            &[
                ("SERVER", &format!("https://localhost:{}", self.port())),
                ("REQUESTS_CA_BUNDLE", &ca.to_string_lossy()),
                ("TENANT", &self.tenant),
                ("SUBSCRIPTION", &self.sub),
                ("OWNER", &self.owner_id),
                ("CLIENT_ID", client_id),
                ("CLIENT_SECRET", secret),
                ("VAULT", vault),
                ("KEY", key),
            ],
        );
        version.trim().to_owned()
    }

    /// The stored (encrypted) objects of `region`, in whatever store the server keeps them.
    pub(crate) fn objects(&self, region: &str) -> crate::stores::RegionObjects {
        crate::stores::RegionObjects::new(&self.accounts_config, region)
    }

    pub(crate) fn port(&self) -> u16 {
        self.server.addr.port()
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    pub(crate) fn account_url(&self, name: &str) -> String {
        format!("{}/subscriptions/{}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/{name}", self.base, self.sub)
    }

    pub(crate) fn vault_url(&self, name: &str) -> String {
        format!(
            "{}/subscriptions/{}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/{name}",
            self.base, self.sub
        )
    }

    pub(crate) fn keys_url(&self, vault: &str) -> String {
        format!("https://{vault}.{SUFFIX}:{}/keys", self.port())
    }

    pub(crate) async fn mgmt(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        call(&self.client, method, url, &self.mgmt, body).await
    }

    pub(crate) async fn kv(&self, method: Method, url: &str, body: Option<Value>) -> (u16, Value) {
        let sep = if url.contains('?') { '&' } else { '?' };
        call(
            &self.client,
            method,
            &format!("{url}{sep}api-version=7.4"),
            &self.vault_token,
            body,
        )
        .await
    }

    pub(crate) async fn create_vault(&self, name: &str, location: &str, purge_protection: bool) {
        let body = json!({"location": location, "properties": {"tenantId": self.tenant, "sku": {"family": "A", "name": "standard"},
            "enableSoftDelete": true, "enablePurgeProtection": purge_protection,
            "accessPolicies": [{"tenantId": self.tenant, "objectId": self.owner_id, "permissions": {"keys": ["all"]}}]}});
        let (status, v) = self
            .mgmt(Method::PUT, &self.vault_url(name), Some(body))
            .await;
        assert!(status == 200 || status == 201, "vault {name}: {status} {v}");
    }

    /// Creates a key; returns its version.
    pub(crate) async fn create_key(&self, vault: &str, name: &str, body: Value) -> String {
        let (status, v) = self
            .kv(
                Method::POST,
                &format!("{}/{name}/create", self.keys_url(vault)),
                Some(body),
            )
            .await;
        assert_eq!(status, 200, "create key: {v}");
        v["key"]["kid"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned()
    }

    pub(crate) async fn grant(&self, vault: &str, principal: &str, op: &str) {
        let body = json!({"properties": {"accessPolicies": [{"tenantId": self.tenant, "objectId": principal, "permissions": {"keys": ["get", "wrapKey", "unwrapKey"]}}]}});
        let (status, v) = self
            .mgmt(
                Method::PUT,
                &format!("{}/accessPolicies/{op}", self.vault_url(vault)),
                Some(body),
            )
            .await;
        assert_eq!(status, 200, "access policy {op}: {v}");
    }

    /// Creates an account with a system-assigned identity; returns (principal id, key1).
    pub(crate) async fn create_account(
        &self,
        name: &str,
        location: &str,
        sku: &str,
    ) -> (String, String) {
        let body = json!({"location": location, "kind": "TextTranslation", "sku": {"name": sku}, "identity": {"type": "SystemAssigned"}});
        let (status, v) = self
            .mgmt(Method::PUT, &self.account_url(name), Some(body))
            .await;
        assert_eq!(status, 201, "create account: {v}");
        assert_eq!(
            v["properties"]["encryption"]["keySource"],
            "Microsoft.CognitiveServices"
        );
        let principal = v["identity"]["principalId"].as_str().unwrap().to_owned();
        (principal, self.key1(name).await)
    }

    /// Creates an account of `kind` (westeurope, S0, no identity); returns its key1.
    pub(crate) async fn create_of_kind(&self, name: &str, kind: &str) -> String {
        let body = json!({"location": "westeurope", "kind": kind, "sku": {"name": "S0"}});
        let (status, v) = self
            .mgmt(Method::PUT, &self.account_url(name), Some(body))
            .await;
        assert_eq!(status, 201, "create {kind} account: {v}");
        self.key1(name).await
    }

    /// The account's first data-plane key (`listKeys`).
    pub(crate) async fn key1(&self, account: &str) -> String {
        let (status, keys) = self
            .mgmt(
                Method::POST,
                &format!("{}/listKeys", self.account_url(account)),
                None,
            )
            .await;
        assert_eq!(status, 200, "listKeys: {keys}");
        keys["key1"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn set_cmk(&self, account: &str, kv: Value) -> (u16, Value) {
        let body = json!({"properties": {"encryption": {"keySource": "Microsoft.KeyVault", "keyVaultProperties": kv}}});
        self.mgmt(Method::PATCH, &self.account_url(account), Some(body))
            .await
    }

    pub(crate) fn data(
        &self,
        method: Method,
        account: &str,
        path: &str,
        key: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}/accounts/{account}/{path}", self.base))
            .header("Ocp-Apim-Subscription-Key", key)
    }

    pub(crate) async fn get_dataset(&self, account: &str, name: &str, key: &str) -> (u16, Vec<u8>) {
        let resp = self
            .data(Method::GET, account, &format!("datasets/{name}"), key)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
    }
}

/// Polls `check` until it returns `Some`, or panics after `limit`.
pub(crate) async fn poll<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> (T, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return (v, start.elapsed());
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A new service principal of the customer's tenant with `role` on its subscription; returns
/// its management token.
pub(crate) async fn principal_with_role(env: &Env, role: &str) -> String {
    let (_, sp) = call(
        &env.client,
        Method::POST,
        &format!(
            "{}/admin/tenants/{}/servicePrincipals",
            env.base, env.tenant
        ),
        &env.operator,
        Some(json!({"displayName": "helper"})),
    )
    .await;
    let oid = sp["objectId"].as_str().unwrap();
    let (status, v) = call(
        &env.client,
        Method::PUT,
        &format!(
            "{}/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments/{oid}",
            env.base, env.sub
        ),
        &env.operator,
        Some(json!({"properties": {"roleDefinitionName": role, "principalId": oid}})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    token(
        &env.client,
        &env.base,
        &env.tenant,
        sp["clientId"].as_str().unwrap(),
        sp["clientSecret"].as_str().unwrap(),
        "https://management.azure.com",
    )
    .await
}
