//! Tenant isolation as a matrix: every management, data-plane and vault endpoint of one
//! tenant's resources, called by principals of another tenant (one that owns a subscription of
//! its own, so it holds real roles), is denied — 401, 403 or 404, never a success and never a
//! 5xx — and leaves nothing changed.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{call, start, token, Env};

/// A principal of a second tenant that owns a subscription there; returns its management,
/// vault and service tokens.
async fn mallory(env: &Env) -> [String; 3] {
    let base = &env.base;
    let (_, tenant) = call(
        &env.client,
        Method::POST,
        &format!("{base}/admin/tenants"),
        &env.operator,
        Some(json!({"displayName": "fabrikam"})),
    )
    .await;
    let tenant = tenant["tenantId"].as_str().unwrap().to_owned();
    let (_, sp) = call(
        &env.client,
        Method::POST,
        &format!("{base}/admin/tenants/{tenant}/servicePrincipals"),
        &env.operator,
        Some(json!({"displayName": "mallory"})),
    )
    .await;
    let (_, sub) = call(
        &env.client,
        Method::POST,
        &format!("{base}/admin/tenants/{tenant}/subscriptions"),
        &env.operator,
        Some(json!({"displayName": "theirs", "ownerObjectId": sp["objectId"]})),
    )
    .await;
    assert!(sub["subscriptionId"].is_string(), "{sub}");
    let (id, secret) = (
        sp["clientId"].as_str().unwrap(),
        sp["clientSecret"].as_str().unwrap(),
    );
    let mut tokens = Vec::new();
    for audience in [
        "https://management.azure.com",
        "https://vault.azure.net",
        "https://cognitiveservices.azure.com",
    ] {
        tokens.push(token(&env.client, base, &tenant, id, secret, audience).await);
    }
    tokens.try_into().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenant_is_denied_everywhere() {
    let env = start(|_| {}).await;
    env.create_vault("demo", "westeurope", true).await;
    let version = env
        .create_key("demo", "k1", json!({"kty": "RSA", "key_size": 2048}))
        .await;
    let kid = format!("{}/k1/{version}", env.keys_url("demo"));
    let (_, key1) = env.create_account("mine", "westeurope", "S0").await;
    let resp = env
        .data(Method::PUT, "mine", "datasets/secret", &key1)
        .body(&b"tenant A's data"[..])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let (_, wrapped) = env
        .kv(
            Method::POST,
            &format!("{kid}/wrapkey"),
            Some(json!({"alg": "RSA-OAEP-256", "value": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"})),
        )
        .await;
    let [mgmt, vault, service] = mallory(&env).await;

    let account = env.account_url("mine");
    let vault_arm = env.vault_url("demo");
    let sub = format!("{}/subscriptions/{}", env.base, env.sub);
    let management: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, sub.clone(), None),
        (
            Method::GET,
            format!("{sub}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts"),
            None,
        ),
        (Method::GET, account.clone(), None),
        (
            Method::PUT,
            account.clone(),
            Some(json!({"location": "westeurope", "kind": "TextTranslation", "sku": {"name": "S0"}})),
        ),
        (Method::PATCH, account.clone(), Some(json!({"tags": {"x": "y"}}))),
        (Method::POST, format!("{account}/listKeys"), None),
        (
            Method::POST,
            format!("{account}/regenerateKey"),
            Some(json!({"keyName": "Key1"})),
        ),
        (Method::DELETE, account.clone(), None),
        (Method::GET, vault_arm.clone(), None),
        (
            Method::PATCH,
            vault_arm.clone(),
            Some(json!({"properties": {"enableSoftDelete": true}})),
        ),
        (
            Method::PUT,
            format!("{vault_arm}/accessPolicies/add"),
            Some(json!({"properties": {"accessPolicies": [{"tenantId": env.tenant, "objectId": "00000000-0000-0000-0000-000000000009", "permissions": {"keys": ["all"]}}]}})),
        ),
        (Method::GET, format!("{vault_arm}/auditRecords"), None),
        (Method::GET, format!("{account}/auditRecords"), None),
        (Method::GET, format!("{sub}/providers/Microsoft.KeyVault/deletedVaults"), None),
        (
            Method::GET,
            format!("{sub}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/demo"),
            None,
        ),
        (
            Method::POST,
            format!("{sub}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/demo/purge"),
            None,
        ),
        (Method::GET, format!("{}/admin/platformKeys", env.base), None),
        (Method::POST, format!("{}/admin/platformKeys/rotate", env.base), None),
        (
            Method::PATCH,
            format!("{}/admin/principals/{}", env.base, env.owner_id),
            Some(json!({"accountEnabled": false})),
        ),
        (Method::DELETE, format!("{}/admin/principals/{}", env.base, env.owner_id), None),
        (Method::DELETE, vault_arm.clone(), None),
        (
            Method::PUT,
            format!(
                "{sub}/providers/Microsoft.Authorization/roleAssignments/00000000-0000-0000-0000-000000000009"
            ),
            Some(json!({"properties": {"roleDefinitionName": "Owner"}})),
        ),
    ];
    let data_base = format!("{}/accounts/mine", env.base);
    let data_plane: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("{data_base}/datasets"), None),
        (Method::GET, format!("{data_base}/datasets/secret"), None),
        (Method::DELETE, format!("{data_base}/datasets/secret"), None),
        (Method::GET, format!("{data_base}/deployments"), None),
        (
            Method::PUT,
            format!("{data_base}/deployments/d1"),
            Some(json!({"model": "m1"})),
        ),
        (Method::GET, format!("{data_base}/models"), None),
        (
            Method::POST,
            format!("{data_base}/models"),
            Some(json!({"name": "m1", "datasets": ["secret"]})),
        ),
        (
            Method::POST,
            format!("{data_base}/translate?deployment=d1"),
            Some(json!([{"Text": "hello"}])),
        ),
        (Method::GET, format!("{data_base}/blocklists"), None),
        (Method::PUT, format!("{data_base}/blocklists/b1"), None),
        (
            Method::POST,
            format!("{data_base}/blocklists/b1/items"),
            Some(json!({"blocklistItems": [{"text": "x"}]})),
        ),
        (
            Method::POST,
            format!("{data_base}/text:analyze"),
            Some(json!({"text": "x", "blocklistNames": ["b1"]})),
        ),
        (
            Method::GET,
            format!("{data_base}/speech/endpoints/e1/logs"),
            None,
        ),
    ];
    let keys = env.keys_url("demo");
    let versions = "api-version=7.4";
    assert!(wrapped["value"].is_string(), "{wrapped}");
    let vault_plane: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("{keys}?{versions}"), None),
        (Method::GET, format!("{keys}/k1?{versions}"), None),
        (
            Method::POST,
            format!("{kid}/unwrapkey?{versions}"),
            Some(json!({"alg": "RSA-OAEP-256", "value": wrapped["value"]})),
        ),
        (
            Method::POST,
            format!("{kid}/wrapkey?{versions}"),
            Some(json!({"alg": "RSA-OAEP-256", "value": "AAAA"})),
        ),
        (Method::POST, format!("{keys}/k1/backup?{versions}"), None),
        (
            Method::PATCH,
            format!("{keys}/k1?{versions}"),
            Some(json!({"attributes": {"enabled": false}})),
        ),
        (Method::DELETE, format!("{keys}/k1?{versions}"), None),
        (
            Method::POST,
            format!("{keys}/k2/create?{versions}"),
            Some(json!({"kty": "RSA", "key_size": 2048})),
        ),
        (Method::POST, format!("{keys}/k1/rotate?{versions}"), None),
        (
            Method::GET,
            format!("{keys}/k1/rotationpolicy?{versions}"),
            None,
        ),
        (
            Method::PUT,
            format!("{keys}/k1/rotationpolicy?{versions}"),
            Some(json!({"lifetimeActions": [], "attributes": {"expiryTime": "P1Y"}})),
        ),
        (Method::GET, format!("{keys}/k1/versions?{versions}"), None),
        (
            Method::POST,
            format!("{keys}/restore?{versions}"),
            Some(json!({"value": "AAAA"})),
        ),
        (
            Method::POST,
            format!(
                "{}/deletedkeys/k1/recover?{versions}",
                keys.trim_end_matches("/keys")
            ),
            None,
        ),
        (
            Method::DELETE,
            format!(
                "{}/deletedkeys/k1?{versions}",
                keys.trim_end_matches("/keys")
            ),
            None,
        ),
        (
            Method::POST,
            format!("{}/rng?{versions}", keys.trim_end_matches("/keys")),
            Some(json!({"count": 8})),
        ),
    ];
    let mut checked = 0;
    for (token, calls) in [
        (&mgmt, &management),
        (&service, &data_plane),
        (&vault, &vault_plane),
    ] {
        for (method, url, body) in calls {
            let (status, answer) =
                call(&env.client, method.clone(), url, token, body.clone()).await;
            assert!(
                [401, 403, 404].contains(&status),
                "{method} {url} by another tenant: {status} {answer}"
            );
            assert!(
                answer["error"]["code"].is_string(),
                "{method} {url}: not an Azure error: {answer}"
            );
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        management.len() + data_plane.len() + vault_plane.len()
    );

    // Nothing changed: the account, its data, the key and the vault are all as they were.
    assert_eq!(
        env.get_dataset("mine", "secret", &key1).await,
        (200, b"tenant A's data".to_vec())
    );
    let (status, v) = env.mgmt(Method::GET, &account, None).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["tags"].get("x").is_none(), "{v}");
    let (status, v) = env
        .kv(Method::GET, &format!("{}/k1", env.keys_url("demo")), None)
        .await;
    assert_eq!(
        (status, &v["attributes"]["enabled"]),
        (200, &json!(true)),
        "{v}"
    );
    let (status, v) = env
        .kv(Method::GET, &format!("{}/k2", env.keys_url("demo")), None)
        .await;
    assert_eq!(status, 404, "{v}");
}
