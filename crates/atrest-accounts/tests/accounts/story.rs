//! The seed story, end to end over HTTPS: vault and RSA-2048 key (made with the official
//! Python SDKs), account, upload, enable CMK, read back, rotate, update version, change key,
//! revoke five ways (403 within 1 s, event-driven) and restore (data back, deployments not),
//! move to a key in another vault, switch to MMK, delete.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::common::{poll, start, Env};

const ACCOUNT: &str = "translator1";

async fn readable(env: &Env, key: &str, expected: &[u8]) -> bool {
    let (status, body) = env.get_dataset(ACCOUNT, "big.bin", key).await;
    status == 200 && body == expected
}

/// Revokes with `revoke`, expects 403 naming the key within 1 s and the reason in GET; then
/// restores with `restore` and expects the data back.
async fn revoke_and_restore<R, S, RF, SF>(
    env: &Env,
    key: &str,
    data: &[u8],
    cause: &str,
    revoke: R,
    restore: S,
) where
    R: FnOnce() -> RF,
    RF: std::future::Future<Output = ()>,
    S: FnOnce() -> SF,
    SF: std::future::Future<Output = ()>,
{
    revoke().await;
    let (message, took) = poll(
        Duration::from_secs(1),
        &format!("403 after {cause}"),
        || async {
            let resp = env
                .data(Method::GET, ACCOUNT, "datasets/big.bin", key)
                .send()
                .await
                .unwrap();
            if resp.status() == 403 {
                let v: serde_json::Value = resp.json().await.unwrap();
                Some(
                    v["error"]["message"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            } else {
                None
            }
        },
    )
    .await;
    eprintln!("revocation ({cause}) seen after {took:?}: {message}");
    assert!(message.contains("cmk2"), "names the key: {message}");
    assert!(
        message.to_lowercase().contains(cause),
        "names the cause '{cause}': {message}"
    );
    let (_, account) = env.mgmt(Method::GET, &env.account_url(ACCOUNT), None).await;
    let status = &account["properties"]["encryption"]["status"];
    assert_eq!(status["keyState"], "KeyInaccessible", "{account}");
    assert!(status["reason"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains(cause));
    assert!(status["since"].as_str().unwrap().ends_with('Z'));
    restore().await;
    poll(
        Duration::from_secs(10),
        &format!("data back after {cause}"),
        || async { readable(env, key, data).await.then_some(()) },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seed_story() {
    // The customer's admin creates the vault and the RSA-2048 key with the official Python
    // SDKs, which reach the vault at `localhost`.
    let env = start(|raw| {
        raw.vault_aliases.insert("localhost".into(), "demo".into());
    })
    .await;
    let v1 = env.create_vault_and_key_with_python_sdk("demo", "cmk");
    let (principal, key) = env.create_account(ACCOUNT, "westeurope", "S0").await;

    // Upload on MMK: a binary dataset and a glossary; build, deploy and use a model.
    let data: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let resp = env
        .data(Method::PUT, ACCOUNT, "datasets/big.bin", &key)
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let info: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(info["size"], data.len());
    let glossary = "hello\tbonjour\nworld\tmonde\n";
    let resp = env
        .data(Method::PUT, ACCOUNT, "datasets/glossary.tsv", &key)
        .body(glossary)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let resp = env
        .data(Method::POST, ACCOUNT, "models", &key)
        .json(&json!({"name": "g1", "datasets": ["glossary.tsv"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    let resp = env
        .data(Method::PUT, ACCOUNT, "deployments/d1", &key)
        .json(&json!({"model": "g1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let translated: serde_json::Value = env
        .data(Method::POST, ACCOUNT, "translate?deployment=d1", &key)
        .json(&json!([{"Text": "hello world"}]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(translated[0]["translations"][0]["text"], "bonjour monde");
    assert!(readable(&env, &key, &data).await);

    // Enable CMK: refused until the identity has access, then accepted (versionless URI).
    let kv = json!({"keyVaultUri": format!("https://demo.vault.atrest.localhost:{}/", env.port()), "keyName": "cmk"});
    let (status, err) = env.set_cmk(ACCOUNT, kv.clone()).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["code"], "KeyVaultAccessDenied");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains(&principal));
    env.grant("demo", &principal, "add").await;
    let (status, account) = env.set_cmk(ACCOUNT, kv).await;
    assert_eq!(status, 200, "{account}");
    let enc = &account["properties"]["encryption"];
    assert_eq!(enc["keySource"], "Microsoft.KeyVault");
    assert_eq!(enc["status"]["keyState"], "Active");
    assert!(enc["keyVaultProperties"]["currentVersionedKeyIdentifier"]
        .as_str()
        .unwrap()
        .ends_with(&v1));
    assert!(readable(&env, &key, &data).await);

    // Rotate: the versionless URI follows the new version (vault event).
    let (status, rotated) = env
        .kv(
            Method::POST,
            &format!("{}/cmk/rotate", env.keys_url("demo")),
            None,
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let v2 = rotated["key"]["kid"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    poll(
        Duration::from_secs(5),
        "rewrap under the new version",
        || async {
            let (_, a) = env.mgmt(Method::GET, &env.account_url(ACCOUNT), None).await;
            a["properties"]["encryption"]["keyVaultProperties"]["currentVersionedKeyIdentifier"]
                .as_str()
                .unwrap()
                .ends_with(&v2)
                .then_some(())
        },
    )
    .await;
    assert!(readable(&env, &key, &data).await);

    // Pin a version, then change key.
    let (status, a) = env.set_cmk(ACCOUNT, json!({"keyVaultUri": format!("https://demo.vault.atrest.localhost:{}/keys/cmk/{v1}", env.port())})).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(
        a["properties"]["encryption"]["keyVaultProperties"]["keyVersion"],
        v1
    );
    assert!(readable(&env, &key, &data).await);
    env.create_key("demo", "cmk2", json!({"kty": "RSA", "key_size": 2048}))
        .await;
    let kv2 = json!({"keyVaultUri": format!("https://demo.vault.atrest.localhost:{}/", env.port()), "keyName": "cmk2"});
    let (status, a) = env.set_cmk(ACCOUNT, kv2).await;
    assert_eq!(status, 200, "{a}");
    assert!(readable(&env, &key, &data).await);

    // Revocation, five ways.
    let keys = env.keys_url("demo");
    revoke_and_restore(
        &env,
        &key,
        &data,
        "disabled",
        || async {
            assert_eq!(
                env.kv(
                    Method::PATCH,
                    &format!("{keys}/cmk2"),
                    Some(json!({"attributes": {"enabled": false}}))
                )
                .await
                .0,
                200
            )
        },
        || async {
            assert_eq!(
                env.kv(
                    Method::PATCH,
                    &format!("{keys}/cmk2"),
                    Some(json!({"attributes": {"enabled": true}}))
                )
                .await
                .0,
                200
            )
        },
    )
    .await;
    // Deployments were undeployed and stay so.
    let deployments: serde_json::Value = env
        .data(Method::GET, ACCOUNT, "deployments", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(deployments["value"][0]["status"], "Undeployed");
    let resp = env
        .data(Method::POST, ACCOUNT, "translate?deployment=d1", &key)
        .json(&json!([{"Text": "hello"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("not deployed"));

    revoke_and_restore(
        &env,
        &key,
        &data,
        "deleted",
        || async {
            assert_eq!(
                env.kv(Method::DELETE, &format!("{keys}/cmk2"), None)
                    .await
                    .0,
                200
            )
        },
        || async {
            let url = format!(
                "https://demo.vault.atrest.localhost:{}/deletedkeys/cmk2/recover",
                env.port()
            );
            assert_eq!(env.kv(Method::POST, &url, None).await.0, 200)
        },
    )
    .await;
    revoke_and_restore(
        &env,
        &key,
        &data,
        "access was revoked",
        || async { env.grant("demo", &principal, "remove").await },
        || async { env.grant("demo", &principal, "add").await },
    )
    .await;
    revoke_and_restore(
        &env,
        &key,
        &data,
        "disabled or deleted",
        || async {
            let url = format!("{}/admin/principals/{principal}", env.base);
            assert_eq!(
                crate::common::call(
                    &env.client,
                    Method::PATCH,
                    &url,
                    &env.operator,
                    Some(json!({"accountEnabled": false}))
                )
                .await
                .0,
                200
            )
        },
        || async {
            let url = format!("{}/admin/principals/{principal}", env.base);
            assert_eq!(
                crate::common::call(
                    &env.client,
                    Method::PATCH,
                    &url,
                    &env.operator,
                    Some(json!({"accountEnabled": true}))
                )
                .await
                .0,
                200
            )
        },
    )
    .await;
    revoke_and_restore(&env, &key, &data, "vault 'demo' was deleted",
        || async { assert_eq!(env.mgmt(Method::DELETE, &env.vault_url("demo"), None).await.0, 200) },
        || async {
            let body = json!({"location": "westeurope", "properties": {"tenantId": env.tenant, "sku": {"family": "A", "name": "standard"}, "createMode": "recover"}});
            let (status, v) = env.mgmt(Method::PUT, &env.vault_url("demo"), Some(body)).await;
            assert!(status == 200 || status == 201, "{v}");
        }).await;

    // Identity off and on again: a new principal id, and the error says to grant it access.
    let (status, a) = env
        .mgmt(
            Method::PATCH,
            &env.account_url(ACCOUNT),
            Some(json!({"identity": {"type": "None"}})),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    let (status, a) = env
        .mgmt(
            Method::PATCH,
            &env.account_url(ACCOUNT),
            Some(json!({"identity": {"type": "SystemAssigned"}})),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    let new_principal = a["identity"]["principalId"].as_str().unwrap().to_owned();
    assert_ne!(new_principal, principal);
    let (status, body) = env.get_dataset(ACCOUNT, "big.bin", &key).await;
    assert_eq!(status, 403);
    let message = String::from_utf8_lossy(&body).to_string();
    assert!(
        message.contains("access has to be granted again to the new principal id")
            && message.contains(&new_principal),
        "{message}"
    );
    env.grant("demo", &new_principal, "add").await;
    poll(
        Duration::from_secs(10),
        "data back for the new principal",
        || async { readable(&env, &key, &data).await.then_some(()) },
    )
    .await;

    // Another vault: the account moves to its key in one rewrap.
    env.create_vault("other", "westeurope", true).await;
    env.create_key("other", "cmk3", json!({"kty": "RSA", "key_size": 2048}))
        .await;
    env.grant("other", &new_principal, "add").await;
    let kv3 = json!({"keyVaultUri": format!("https://other.vault.atrest.localhost:{}/keys/cmk3", env.port())});
    let (status, a) = env.set_cmk(ACCOUNT, kv3).await;
    assert_eq!(status, 200, "{a}");
    let current = a["properties"]["encryption"]["keyVaultProperties"]
        ["currentVersionedKeyIdentifier"]
        .as_str()
        .unwrap_or_default();
    assert!(
        current.starts_with("https://other.vault.atrest.localhost")
            && current.contains("/keys/cmk3/"),
        "{a}"
    );
    assert!(readable(&env, &key, &data).await);

    // Back to MMK, then delete (crypto-shred).
    let (status, a) = env
        .mgmt(
            Method::PATCH,
            &env.account_url(ACCOUNT),
            Some(
                json!({"properties": {"encryption": {"keySource": "Microsoft.CognitiveServices"}}}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(
        a["properties"]["encryption"]["keySource"],
        "Microsoft.CognitiveServices"
    );
    assert!(readable(&env, &key, &data).await);
    let range = env
        .data(Method::GET, ACCOUNT, "datasets/big.bin", &key)
        .header("Range", "bytes=1000000-1000099")
        .send()
        .await
        .unwrap();
    assert_eq!(range.status(), 206);
    assert_eq!(
        range.headers()["content-range"],
        format!("bytes 1000000-1000099/{}", data.len())
    );
    assert_eq!(
        &range.bytes().await.unwrap()[..],
        &data[1_000_000..1_000_100]
    );
    let (status, _) = env
        .mgmt(Method::DELETE, &env.account_url(ACCOUNT), None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = env.get_dataset(ACCOUNT, "big.bin", &key).await;
    assert_eq!(status, 401);
    let blobs = env.objects("westeurope").all().await.len();
    assert_eq!(blobs, 0, "blobs deleted with the account");
}
