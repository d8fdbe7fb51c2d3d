//! `onKeyLoss: delete` after the grace period; an expired key is a warning, not a lock; the
//! platform key rotates without touching data.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{call, poll, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn key_loss_deletes_only_with_delete_and_expiry_only_warns() {
    let env = start(|raw| raw.accounts.key_loss_grace_secs = Some(1)).await;
    env.create_vault("demo", "westeurope", true).await;
    env.create_key("demo", "k", json!({"kty": "RSA", "key_size": 2048}))
        .await;
    let kv = json!({"keyVaultUri": format!("https://demo.vault.atrest.localhost:{}/keys/k", env.port())});
    let mut keys = Vec::new();
    for (name, mode) in [("keeper", "block"), ("shredder", "delete")] {
        let (principal, key) = env.create_account(name, "westeurope", "S0").await;
        env.grant("demo", &principal, "add").await;
        assert_eq!(env.set_cmk(name, kv.clone()).await.0, 200);
        let body = json!({"properties": {"onKeyLoss": mode}});
        assert_eq!(
            env.mgmt(Method::PATCH, &env.account_url(name), Some(body))
                .await
                .0,
            200
        );
        let resp = env
            .data(Method::PUT, name, "datasets/d", &key)
            .body("precious")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        keys.push(key);
    }

    // A key that expires within 30 days: a warning on the account, data as before.
    let url = format!("{}/k", env.keys_url("demo"));
    let soon = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 10 * 86_400;
    let (status, v) = env
        .kv(
            Method::PATCH,
            &url,
            Some(json!({"attributes": {"exp": soon}})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    poll(Duration::from_secs(10), "near-expiry warning", || async {
        let (_, a) = env
            .mgmt(Method::GET, &env.account_url("keeper"), None)
            .await;
        let warnings = &a["properties"]["encryption"]["status"]["warnings"];
        (warnings[0]["code"] == "KeyNearExpiry").then_some(())
    })
    .await;
    assert_eq!(
        env.get_dataset("keeper", "d", &keys[0]).await,
        (200, b"precious".to_vec())
    );

    // An expired key keeps working, with a warning.
    let (status, v) = env
        .kv(
            Method::PATCH,
            &url,
            Some(json!({"attributes": {"exp": 1_000_000}})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    poll(Duration::from_secs(10), "expiry warning", || async {
        let (_, a) = env
            .mgmt(Method::GET, &env.account_url("keeper"), None)
            .await;
        let warnings = &a["properties"]["encryption"]["status"]["warnings"];
        (warnings[0]["code"] == "KeyExpired").then_some(())
    })
    .await;
    assert_eq!(
        env.get_dataset("keeper", "d", &keys[0]).await,
        (200, b"precious".to_vec())
    );

    // Disable the key: both accounts lock; only the 'delete' one loses its data after grace.
    let (status, _) = env
        .kv(
            Method::PATCH,
            &url,
            Some(json!({"attributes": {"enabled": false}})),
        )
        .await;
    assert_eq!(status, 200);
    poll(Duration::from_secs(15), "dataDeletedAt", || async {
        let (_, a) = env
            .mgmt(Method::GET, &env.account_url("shredder"), None)
            .await;
        a["properties"]["dataDeletedAt"].as_str().map(str::to_owned)
    })
    .await;
    let (_, keeper) = env
        .mgmt(Method::GET, &env.account_url("keeper"), None)
        .await;
    assert!(
        keeper["properties"].get("dataDeletedAt").is_none(),
        "{keeper}"
    );
    let (status, _) = env
        .kv(
            Method::PATCH,
            &url,
            Some(json!({"attributes": {"enabled": true}})),
        )
        .await;
    assert_eq!(status, 200);
    poll(Duration::from_secs(10), "keeper readable", || async {
        (env.get_dataset("keeper", "d", &keys[0]).await == (200, b"precious".to_vec()))
            .then_some(())
    })
    .await;
    let list: Value = poll(Duration::from_secs(10), "shredder usable", || async {
        let resp = env
            .data(Method::GET, "shredder", "datasets", &keys[1])
            .send()
            .await
            .unwrap();
        if resp.status() == 200 {
            Some(resp.json().await.unwrap())
        } else {
            None
        }
    })
    .await
    .0;
    assert_eq!(
        list["value"].as_array().unwrap().len(),
        0,
        "deleted after the grace period"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_key_rotation_rewraps_account_keys_only() {
    let env = start(|_| {}).await;
    let (_, key) = env.create_account("plain", "westeurope", "S0").await;
    let resp = env
        .data(Method::PUT, "plain", "datasets/d", &key)
        .body("mmk data")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let stored = env.objects("westeurope");
    let before = stored.all().await;
    assert_eq!(before.len(), 1);
    let url = format!("{}/admin/platformKeys/rotate", env.base);
    let (status, v) = call(&env.client, Method::POST, &url, &env.operator, None).await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["version"], 2);
    let (status, _) = call(&env.client, Method::POST, &url, &env.mgmt, None).await;
    assert_eq!(status, 403, "only the operator rotates the platform key");
    // The rewrap runs in the background; the status shows when it is done.
    let status_url = format!("{}/admin/platformKeys", env.base);
    poll(Duration::from_secs(10), "platform key rewrap", || async {
        let (status, v) = call(&env.client, Method::GET, &status_url, &env.operator, None).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["version"], 2, "{v}");
        (v["pendingRewraps"] == 0).then_some(())
    })
    .await;
    let (status, _) = call(&env.client, Method::GET, &status_url, &env.mgmt, None).await;
    assert_eq!(
        status, 403,
        "only the operator reads the platform key status"
    );
    let after = stored.all().await;
    assert_eq!(before, after, "no data re-encrypted");
    let db = atrest_store::Db::connect(&env.server.database)
        .await
        .unwrap();
    let (version,): (i64,) =
        sqlx::query_as("SELECT mmk_version FROM accounts WHERE name = 'plain'")
            .fetch_one(atrest_store::testing::pool(&db))
            .await
            .unwrap();
    assert_eq!(
        version, 2,
        "account key rewrapped under the new platform key"
    );
    assert_eq!(
        env.get_dataset("plain", "d", &key).await,
        (200, b"mmk data".to_vec())
    );
}
