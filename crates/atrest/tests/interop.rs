//! Runs the official Azure SDK suites (tests/interop: Python azure-keyvault-keys and JS
//! @azure/keyvault-keys, unmodified) against a real `atrest serve`.
//!
//! Set-up goes through the public APIs a customer would use: the operator creates a tenant,
//! a subscription and two service principals, then two vaults with access policies.
//! Needs `scripts/setup-interop` to have installed the SDKs (scripts/test does).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{call, operator_token, Server};
use reqwest::Method;
use serde_json::{json, Value};

const ALL_KEY_PERMISSIONS: [&str; 19] = [
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

struct Fixture {
    server: Server,
    tenant_id: String,
    full: Value,
    limited: Value,
}

async fn fixture() -> Fixture {
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
    let sub_id = sub["subscriptionId"].as_str().unwrap();
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

/// The data plane keeps the rows it reads on every call (principal, vault and policies, key
/// version) in memory. After a call has warmed them, each change must still decide the very
/// next call.
#[tokio::test]
async fn changes_decide_the_next_call_after_the_rows_were_read() {
    use base64::Engine as _;
    let f = fixture().await;
    let client = f.server.client();
    let base = f.server.url();
    let (id, secret) = (
        f.full["clientId"].as_str().unwrap(),
        f.full["clientSecret"].as_str().unwrap(),
    );
    let vault_token = common::token(
        &f.server,
        &client,
        &f.tenant_id,
        id,
        secret,
        "https://vault.azure.net",
    )
    .await;
    let op = operator_token(&f.server, &client).await;
    let kv = |path: &str| format!("{base}{path}?api-version=7.6");
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);

    let (status, key) = call(
        &client,
        Method::POST,
        &kv("/keys/cached/create"),
        &vault_token,
        Some(json!({"kty": "RSA", "key_size": 2048})),
    )
    .await;
    assert_eq!(status, 200, "{key}");
    let first = key["key"]["kid"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let wrap = || async {
        call(
            &client,
            Method::POST,
            &kv("/keys/cached//wrapkey"),
            &vault_token,
            Some(json!({"alg": "RSA-OAEP-256", "value": b64(&[7u8; 32])})),
        )
        .await
    };
    let (status, wrapped) = wrap().await;
    assert_eq!(status, 200, "{wrapped}");
    let unwrap = |wrapped: Value| {
        let (client, token, url) = (
            client.clone(),
            vault_token.clone(),
            kv("/keys/cached//unwrapkey"),
        );
        async move {
            let body = json!({"alg": "RSA-OAEP-256", "value": wrapped["value"]});
            call(&client, Method::POST, &url, &token, Some(body)).await
        }
    };
    let (status, plain) = unwrap(wrapped.clone()).await;
    assert_eq!(
        (status, plain["value"].as_str()),
        (200, Some(b64(&[7u8; 32]).as_str()))
    );

    // Disabled, then enabled again.
    for (enabled, expected) in [(false, 403), (true, 200)] {
        let (status, body) = call(
            &client,
            Method::PATCH,
            &kv(&format!("/keys/cached/{first}")),
            &vault_token,
            Some(json!({"attributes": {"enabled": enabled}})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = unwrap(wrapped.clone()).await;
        assert_eq!(status, expected, "enabled={enabled}: {body}");
    }

    // A new version: version-less calls follow it at once.
    let (status, rotated) = call(
        &client,
        Method::POST,
        &kv("/keys/cached/rotate"),
        &vault_token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let (status, rewrapped) = wrap().await;
    assert_eq!(status, 200, "{rewrapped}");
    assert_eq!(
        rewrapped["kid"], rotated["key"]["kid"],
        "wrapKey must use the new version"
    );

    // The access policy loses unwrapKey, then gets it back.
    let sub_vault = {
        let (status, vaults) = call(
            &client,
            Method::GET,
            &format!("{base}/subscriptions?api-version=2022-12-01"),
            &op,
            None,
        )
        .await;
        assert_eq!(status, 200, "{vaults}");
        let sub = vaults["value"][0]["subscriptionId"]
            .as_str()
            .unwrap()
            .to_owned();
        format!("{base}/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/interop")
    };
    for (permissions, expected) in [
        (
            ALL_KEY_PERMISSIONS
                .iter()
                .filter(|p| **p != "unwrapKey")
                .copied()
                .collect::<Vec<_>>(),
            403,
        ),
        (ALL_KEY_PERMISSIONS.to_vec(), 200),
    ] {
        let body = json!({"properties": {"accessPolicies": [{
            "tenantId": f.tenant_id, "objectId": f.full["objectId"], "permissions": {"keys": permissions}
        }]}});
        let url = format!("{sub_vault}/accessPolicies/replace?api-version=2023-07-01");
        let (status, value) = call(&client, Method::PUT, &url, &op, Some(body)).await;
        assert_eq!(status, 200, "{value}");
        let (status, body) = unwrap(rewrapped.clone()).await;
        assert_eq!(status, expected, "{body}");
    }
    // Both refusals (disabled key, missing permission) are in the vault's audit log as
    // denied, with who, what and why.
    let url = format!("{sub_vault}/auditRecords?api-version=2023-07-01&top=1000");
    let (status, records) = call(&client, Method::GET, &url, &op, None).await;
    assert_eq!(status, 200, "{records}");
    let denied: Vec<(&str, &str, &str, u64, &str)> = records["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["result"] == "denied")
        .map(|r| {
            (
                r["operation"].as_str().unwrap(),
                r["principalId"].as_str().unwrap(),
                r["keyName"].as_str().unwrap(),
                r["status"].as_u64().unwrap(),
                r["detail"].as_str().unwrap(),
            )
        })
        .collect();
    let full_id = f.full["objectId"].as_str().unwrap();
    assert_eq!(denied.len(), 2, "{records}");
    for (record, why) in denied
        .iter()
        .zip(["disabled key", "does not have keys unwrapKey permission"])
    {
        assert_eq!(record.0, "KeyUnwrap", "{record:?}");
        assert_eq!(
            (record.1, record.2, record.3),
            (full_id, "cached", 403),
            "{record:?}"
        );
        assert!(record.4.contains(why), "{record:?} should say '{why}'");
    }

    // The key is deleted: not found.
    let (status, body) = call(
        &client,
        Method::DELETE,
        &kv("/keys/cached"),
        &vault_token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = unwrap(rewrapped.clone()).await;
    assert_eq!(status, 404, "{body}");

    // The principal is disabled: its token stops working on the vault.
    let oid = f.full["objectId"].as_str().unwrap();
    let url = format!("{base}/admin/principals/{oid}");
    let (status, body) = call(
        &client,
        Method::PATCH,
        &url,
        &op,
        Some(json!({"accountEnabled": false})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = wrap().await;
    assert_eq!(status, 401, "{body}");
}

/// Bad input on the Key Vault data plane gets a Key Vault error (`{"error":{"code","message"}}`)
/// with a 4xx status: never a 500, never a plain-text rejection.
#[tokio::test]
async fn bad_input_gets_key_vault_errors() {
    let f = fixture().await;
    let client = f.server.client();
    let base = f.server.url();
    let token = common::token(
        &f.server,
        &client,
        &f.tenant_id,
        f.full["clientId"].as_str().unwrap(),
        f.full["clientSecret"].as_str().unwrap(),
        "https://vault.azure.net",
    )
    .await;
    let (status, key) = call(
        &client,
        Method::POST,
        &format!("{base}/keys/good/create?api-version=7.6"),
        &token,
        Some(json!({"kty": "RSA"})),
    )
    .await;
    assert_eq!(status, 200, "{key}");
    let kid = key["key"]["kid"].as_str().unwrap();
    let version = kid.rsplit('/').next().unwrap();
    let unwrap_url = format!("{base}/keys/good/{version}/unwrapkey?api-version=7.6");

    let cases: Vec<(&str, String, String, u16, &str)> = vec![
        (
            "malformed JSON",
            format!("{base}/keys/k1/create?api-version=7.6"),
            "{\"kty\": \"RSA\",".into(),
            400,
            "BadParameter",
        ),
        (
            "wrong kty",
            format!("{base}/keys/k1/create?api-version=7.6"),
            json!({"kty": "EC", "crv": "P-256"}).to_string(),
            400,
            "BadParameter",
        ),
        (
            "unknown api-version",
            format!("{base}/keys/k1/create?api-version=1999-01-01"),
            json!({"kty": "RSA"}).to_string(),
            400,
            "BadParameter",
        ),
        (
            "bad base64url",
            unwrap_url.clone(),
            json!({"alg": "RSA-OAEP-256", "value": "not*base64url!"}).to_string(),
            400,
            "BadParameter",
        ),
        (
            "unknown algorithm",
            unwrap_url.clone(),
            json!({"alg": "RSA1_5-ish", "value": "AAAA"}).to_string(),
            400,
            "BadParameter",
        ),
        (
            "oversized body",
            format!("{base}/keys/k1/create?api-version=7.6"),
            format!(
                "{{\"kty\": \"RSA\", \"tags\": {{\"t\": \"{}\"}}}}",
                "x".repeat(300 * 1024)
            ),
            413,
            "RequestEntityTooLarge",
        ),
    ];
    for (what, url, body, status, code) in cases {
        let response = client
            .post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let got = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{what}: not a JSON error body: {got} {text}"));
        assert_eq!(
            (got, value["error"]["code"].as_str()),
            (status, Some(code)),
            "{what}: {value}"
        );
        let message = value["error"]["message"].as_str().unwrap_or_default();
        assert!(
            !message.is_empty(),
            "{what}: the error says what is wrong: {value}"
        );
    }
    // Nothing was created by the refused requests.
    let (status, listed) = call(
        &client,
        Method::GET,
        &format!("{base}/keys?api-version=7.6"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    let names: Vec<&str> = listed["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(names, vec!["good"], "{listed}");
}

/// The vault management rules: retention 7–90 days and fixed at creation, soft delete always
/// on, purge protection irreversible, and a protected deleted vault not purgeable before its
/// retention ends. Each refusal says why and changes nothing.
#[tokio::test]
async fn vault_management_rules_are_enforced() {
    let f = fixture().await;
    let client = f.server.client();
    let base = f.server.url();
    let op = operator_token(&f.server, &client).await;
    let (status, subs) = call(
        &client,
        Method::GET,
        &format!("{base}/subscriptions?api-version=2022-12-01"),
        &op,
        None,
    )
    .await;
    assert_eq!(status, 200, "{subs}");
    let sub = subs["value"][0]["subscriptionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let vault_url = |name: &str| {
        format!("{base}/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/{name}?api-version=2023-07-01")
    };
    let spec = |extra: Value| {
        let mut properties = json!({
            "tenantId": f.tenant_id,
            "sku": {"family": "A", "name": "standard"},
            "accessPolicies": [],
        });
        for (k, v) in extra.as_object().unwrap() {
            properties[k] = v.clone();
        }
        json!({"location": "westeurope", "properties": properties})
    };
    let refused = |status: u16, value: &Value, needle: &str| {
        assert_eq!(status, 400, "{value}");
        assert_eq!(value["error"]["code"], "BadParameter", "{value}");
        let message = value["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "'{needle}' in: {message}");
    };

    for (extra, needle) in [
        (json!({"softDeleteRetentionInDays": 6}), "between 7 and 90"),
        (json!({"softDeleteRetentionInDays": 91}), "between 7 and 90"),
        (json!({"enableSoftDelete": false}), "enableSoftDelete"),
    ] {
        let (status, value) = call(
            &client,
            Method::PUT,
            &vault_url("refused"),
            &op,
            Some(spec(extra)),
        )
        .await;
        refused(status, &value, needle);
    }
    let (status, value) = call(&client, Method::GET, &vault_url("refused"), &op, None).await;
    assert_eq!(status, 404, "nothing was created: {value}");

    let protected = spec(json!({"softDeleteRetentionInDays": 7, "enablePurgeProtection": true}));
    let (status, value) = call(
        &client,
        Method::PUT,
        &vault_url("guarded"),
        &op,
        Some(protected),
    )
    .await;
    assert!(status == 200 || status == 201, "{value}");
    for (patch, needle) in [
        (
            json!({"properties": {"enablePurgeProtection": false}}),
            "cannot be turned off",
        ),
        (
            json!({"properties": {"softDeleteRetentionInDays": 30}}),
            "only be set when the vault is created",
        ),
    ] {
        let (status, value) = call(
            &client,
            Method::PATCH,
            &vault_url("guarded"),
            &op,
            Some(patch),
        )
        .await;
        refused(status, &value, needle);
    }
    let (_, value) = call(&client, Method::GET, &vault_url("guarded"), &op, None).await;
    assert_eq!(
        (
            &value["properties"]["enablePurgeProtection"],
            &value["properties"]["softDeleteRetentionInDays"]
        ),
        (&json!(true), &json!(7)),
        "{value}"
    );

    let (status, value) = call(&client, Method::DELETE, &vault_url("guarded"), &op, None).await;
    assert_eq!(status, 200, "{value}");
    let deleted = format!("{base}/subscriptions/{sub}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/guarded");
    let (status, value) = call(
        &client,
        Method::POST,
        &format!("{deleted}/purge?api-version=2023-07-01"),
        &op,
        None,
    )
    .await;
    assert_eq!(
        (status, value["error"]["code"].as_str()),
        (403, Some("Forbidden")),
        "{value}"
    );
    assert!(
        value["error"]["message"]
            .as_str()
            .unwrap()
            .contains("purge protection"),
        "{value}"
    );
    let (status, value) = call(
        &client,
        Method::GET,
        &format!("{deleted}?api-version=2023-07-01"),
        &op,
        None,
    )
    .await;
    assert_eq!(status, 200, "still recoverable: {value}");
}

/// A key backup is sealed and bound to its tenant: a modified blob, or a blob taken to a vault
/// of another tenant, is refused and restores nothing; the untouched blob restores.
#[tokio::test]
async fn backups_are_tamper_evident_and_stay_in_their_tenant() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let server = Server::start(&[
        "--vault-alias",
        "localhost=alpha",
        "--vault-alias",
        "127.0.0.1=beta",
    ]);
    let client = server.client();
    let op = operator_token(&server, &client).await;
    let base = server.url();
    let port = server.port;
    // One tenant per vault, each with a principal that owns its subscription and vault.
    let mut vault_tokens = Vec::new();
    for (tenant_name, vault) in [("first", "alpha"), ("second", "beta")] {
        let (_, tenant) = call(
            &client,
            Method::POST,
            &format!("{base}/admin/tenants"),
            &op,
            Some(json!({"displayName": tenant_name})),
        )
        .await;
        let tenant_id = tenant["tenantId"].as_str().unwrap().to_owned();
        let (_, sp) = call(
            &client,
            Method::POST,
            &format!("{base}/admin/tenants/{tenant_id}/servicePrincipals"),
            &op,
            Some(json!({"displayName": "admin"})),
        )
        .await;
        let (_, sub) = call(
            &client,
            Method::POST,
            &format!("{base}/admin/tenants/{tenant_id}/subscriptions"),
            &op,
            Some(json!({"displayName": "prod", "ownerObjectId": sp["objectId"]})),
        )
        .await;
        let url = format!(
            "{base}/subscriptions/{}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/{vault}?api-version=2023-07-01",
            sub["subscriptionId"].as_str().unwrap()
        );
        let body = json!({"location": "westeurope", "properties": {
            "tenantId": tenant_id, "sku": {"family": "A", "name": "standard"},
            "accessPolicies": [{"tenantId": tenant_id, "objectId": sp["objectId"], "permissions": {"keys": ["all"]}}]}});
        let (status, value) = call(&client, Method::PUT, &url, &op, Some(body)).await;
        assert!(status == 200 || status == 201, "{value}");
        let token = common::token(
            &server,
            &client,
            &tenant_id,
            sp["clientId"].as_str().unwrap(),
            sp["clientSecret"].as_str().unwrap(),
            "https://vault.azure.net",
        )
        .await;
        vault_tokens.push(token);
    }
    let alpha = |path: &str| format!("https://localhost:{port}{path}?api-version=7.6");
    let beta = |path: &str| format!("https://127.0.0.1:{port}{path}?api-version=7.6");
    let (first, second) = (&vault_tokens[0], &vault_tokens[1]);

    let (status, key) = call(
        &client,
        Method::POST,
        &alpha("/keys/k/create"),
        first,
        Some(json!({"kty": "RSA"})),
    )
    .await;
    assert_eq!(status, 200, "{key}");
    let (status, backup) = call(&client, Method::POST, &alpha("/keys/k/backup"), first, None).await;
    assert_eq!(status, 200, "{backup}");
    let blob = b64.decode(backup["value"].as_str().unwrap()).unwrap();

    // Into the other tenant's vault: refused, nothing restored.
    let restore = |url: String, token: &str, blob: &[u8]| {
        let (client, token, body) = (
            client.clone(),
            token.to_owned(),
            json!({"value": b64.encode(blob)}),
        );
        async move { call(&client, Method::POST, &url, &token, Some(body)).await }
    };
    let (status, value) = restore(beta("/keys/restore"), second, &blob).await;
    assert_eq!(
        (status, value["error"]["code"].as_str()),
        (400, Some("BadParameter")),
        "{value}"
    );
    assert!(
        value["error"]["message"]
            .as_str()
            .unwrap()
            .contains("another tenant"),
        "{value}"
    );
    let (status, value) = call(&client, Method::GET, &beta("/keys/k"), second, None).await;
    assert_eq!(status, 404, "{value}");

    // Make room in alpha, then: every single-byte change is refused; the original restores.
    let (status, value) = call(&client, Method::DELETE, &alpha("/keys/k"), first, None).await;
    assert_eq!(status, 200, "{value}");
    let (status, value) = call(
        &client,
        Method::DELETE,
        &alpha("/deletedkeys/k"),
        first,
        None,
    )
    .await;
    assert_eq!(status, 204, "{value}");
    for position in [0, blob.len() / 2, blob.len() - 1] {
        let mut tampered = blob.clone();
        tampered[position] ^= 0x01;
        let (status, value) = restore(alpha("/keys/restore"), first, &tampered).await;
        assert_eq!(
            (status, value["error"]["code"].as_str()),
            (400, Some("BadParameter")),
            "byte {position}: {value}"
        );
    }
    let (status, value) = call(&client, Method::GET, &alpha("/keys/k"), first, None).await;
    assert_eq!(status, 404, "no tampered blob restored anything: {value}");
    let (status, restored) = restore(alpha("/keys/restore"), first, &blob).await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(
        restored["key"]["n"], key["key"]["n"],
        "the same key material came back"
    );
}
