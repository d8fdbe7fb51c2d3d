//! The in-memory row caches of the data plane never outlive a change.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{self, call, operator_token};
use crate::{fixture, ALL_KEY_PERMISSIONS};

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
    let sub_vault = format!(
        "{base}/subscriptions/{}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/interop",
        f.subscription_id
    );
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
