//! Runs the official Azure SDK suites (tests/interop: Python azure-keyvault-keys and JS
//! @azure/keyvault-keys, unmodified) against a real `atrest serve`.
//!
//! Set-up goes through the public APIs a customer would use: the operator creates a tenant,
//! a subscription and two service principals, then two vaults with access policies.
//! Needs `scripts/setup-interop` to have installed the SDKs (scripts/test does).
//!
//! Beside the suites, Rust tests of what the SDK suites cannot reach: `caching` (every change
//! decides the next call) and `rules` (bad input, vault management rules, backups).

mod caching;
#[path = "../common/mod.rs"]
mod common;
mod rules;

use std::path::PathBuf;
use std::process::Command;

use common::{call, operator_token, Server};
use reqwest::Method;
use serde_json::{json, Value};

pub(crate) const ALL_KEY_PERMISSIONS: [&str; 19] = [
    "get",
    "list",
    "create",
    "import",
    "update",
    "delete",
    "recover",
    "backup",
    "restore",
    "purge",
    "wrapKey",
    "unwrapKey",
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "rotate",
    "getrotationpolicy",
    "setrotationpolicy",
];

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) struct Fixture {
    pub(crate) server: Server,
    pub(crate) tenant_id: String,
    /// The subscription that holds both vaults (resource group `rg`).
    pub(crate) subscription_id: String,
    pub(crate) full: Value,
    pub(crate) limited: Value,
}

pub(crate) async fn fixture() -> Fixture {
    let server = Server::start(&[
        "--vault-alias",
        "localhost=interop",
        "--vault-alias",
        "127.0.0.1=protected",
    ]);
    let client = server.client();
    let op = operator_token(&server, &client).await;
    let base = server.url();
    let post = |url: String, body: Value| {
        let (client, op) = (client.clone(), op.clone());
        async move {
            let (status, value) = call(&client, Method::POST, &url, &op, Some(body)).await;
            assert_eq!(status, 201, "POST {url}: {value}");
            value
        }
    };
    let tenant = post(
        format!("{base}/admin/tenants"),
        json!({"displayName": "interop"}),
    )
    .await;
    let tenant_id = tenant["tenantId"].as_str().unwrap().to_owned();
    let full = post(
        format!("{base}/admin/tenants/{tenant_id}/servicePrincipals"),
        json!({"displayName": "full"}),
    )
    .await;
    let limited = post(
        format!("{base}/admin/tenants/{tenant_id}/servicePrincipals"),
        json!({"displayName": "limited"}),
    )
    .await;
    let sub = post(
        format!("{base}/admin/tenants/{tenant_id}/subscriptions"),
        json!({"displayName": "interop", "ownerObjectId": full["objectId"]}),
    )
    .await;
    let sub_id = sub["subscriptionId"].as_str().unwrap().to_owned();
    for (vault, protected) in [("interop", false), ("protected", true)] {
        let mut policies = vec![json!({
            "tenantId": tenant_id, "objectId": full["objectId"], "permissions": {"keys": ALL_KEY_PERMISSIONS}
        })];
        if !protected {
            policies.push(json!({
                "tenantId": tenant_id, "objectId": limited["objectId"], "permissions": {"keys": ["get", "list"]}
            }));
        }
        let body = json!({
            "location": "westeurope",
            "properties": {
                "tenantId": tenant_id,
                "sku": {"family": "A", "name": "standard"},
                "enableSoftDelete": true,
                "softDeleteRetentionInDays": 7,
                "enablePurgeProtection": protected,
                "accessPolicies": policies,
            }
        });
        let url = format!(
            "{base}/subscriptions/{sub_id}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/{vault}?api-version=2023-07-01"
        );
        let (status, value) = call(&client, Method::PUT, &url, &op, Some(body)).await;
        assert!(
            status == 200 || status == 201,
            "PUT vault {vault}: {status} {value}"
        );
    }
    Fixture {
        server,
        tenant_id,
        subscription_id: sub_id,
        full,
        limited,
    }
}

fn run_suite(f: &Fixture, suite: &str) {
    let root = repo_root();
    assert!(
        root.join(".venv-interop/bin/python").exists()
            && root.join("tests/interop/js/node_modules").exists(),
        "the official SDKs are not installed: run scripts/setup-interop (scripts/test does this)"
    );
    let ca = f.server.ca_path();
    let port = f.server.port;
    let status = Command::new(root.join("tests/interop/run"))
        .arg(suite)
        .current_dir(&root)
        .env("ATREST_AUTHORITY", format!("https://localhost:{port}"))
        .env("ATREST_VAULT_URL", format!("https://localhost:{port}"))
        .env(
            "ATREST_PROTECTED_VAULT_URL",
            format!("https://127.0.0.1:{port}"),
        )
        .env("ATREST_TENANT_ID", &f.tenant_id)
        .env("ATREST_CLIENT_ID", f.full["clientId"].as_str().unwrap())
        .env(
            "ATREST_CLIENT_SECRET",
            f.full["clientSecret"].as_str().unwrap(),
        )
        .env(
            "ATREST_LIMITED_CLIENT_ID",
            f.limited["clientId"].as_str().unwrap(),
        )
        .env(
            "ATREST_LIMITED_CLIENT_SECRET",
            f.limited["clientSecret"].as_str().unwrap(),
        )
        .env("REQUESTS_CA_BUNDLE", &ca)
        .env("NODE_EXTRA_CA_CERTS", &ca)
        .status()
        .expect("run tests/interop/run");
    assert!(
        status.success(),
        "the official {suite} SDK suite failed against atrest (see its output above)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn official_python_sdk_suite_passes() {
    let f = fixture().await;
    tokio::task::spawn_blocking(move || run_suite(&f, "python"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn official_js_sdk_suite_passes() {
    let f = fixture().await;
    tokio::task::spawn_blocking(move || run_suite(&f, "js"))
        .await
        .unwrap();
}
