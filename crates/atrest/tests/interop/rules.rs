//! Key Vault rules the SDK suites cannot reach: bad input, vault management, backups.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{self, call, operator_token, Server};
use crate::fixture;

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
    let sub = &f.subscription_id;
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
