//! Content Safety blocklists and Speech endpoint logs; what is stored is encrypted.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{poll, start, Env};

/// `GET /accounts/safety/blocklists` as JSON.
async fn blocklists(env: &Env, key: &str) -> Value {
    env.data(Method::GET, "safety", "blocklists", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocklists_screen_text_and_store_nothing_in_clear() {
    let env = start(|_| {}).await;
    let key = &env.create_of_kind("safety", "ContentSafety").await;
    assert_eq!(
        env.data(Method::PUT, "safety", "blocklists/profanity", key)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let items = json!({"blocklistItems": [{"text": "zorglub"}, {"text": "Frobnicate"}]});
    let resp = env
        .data(Method::POST, "safety", "blocklists/profanity/items", key)
        .json(&items)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let result: Value = env
        .data(Method::POST, "safety", "text:analyze", key)
        .json(&json!({"text": "please FROBNICATE the widget", "blocklistNames": ["profanity"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        result["blocklistsMatch"][0]["blocklistItemText"], "Frobnicate",
        "{result}"
    );
    let lists = blocklists(&env, key).await;
    assert_eq!(lists["value"][0]["blocklistName"], "profanity");
    let resp = env
        .data(Method::POST, "safety", "text:analyze", key)
        .json(&json!({"text": "x", "blocklistNames": ["nope"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    // Neither the items nor the list name appear in clear in the database.
    let db = std::fs::read(env.server.data.database()).unwrap_or_default();
    let wal =
        std::fs::read(env.server.data.database().with_extension("db-wal")).unwrap_or_default();
    for needle in [&b"zorglub"[..], b"Frobnicate", b"profanity"] {
        assert!(
            !db.windows(needle.len()).any(|w| w == needle),
            "{needle:?} in clear in meta.db"
        );
        assert!(
            !wal.windows(needle.len()).any(|w| w == needle),
            "{needle:?} in clear in the WAL"
        );
    }

    // Under a customer key that is then revoked: the items (under the account key) lock, the
    // blocklist names (always under the platform key) stay listable.
    env.create_vault("demo", "westeurope", true).await;
    env.create_key("demo", "cmk", json!({"kty": "RSA", "key_size": 2048}))
        .await;
    let (_, account) = env
        .mgmt(
            Method::PATCH,
            &env.account_url("safety"),
            Some(json!({"identity": {"type": "SystemAssigned"}})),
        )
        .await;
    let principal = account["identity"]["principalId"].as_str().unwrap();
    env.grant("demo", principal, "add").await;
    let kv = json!({"keyVaultUri": format!("https://demo.vault.atrest.localhost:{}/keys/cmk", env.port())});
    let (status, a) = env.set_cmk("safety", kv).await;
    assert_eq!(status, 200, "{a}");
    let (status, v) = env
        .kv(
            Method::PATCH,
            &format!("{}/cmk", env.keys_url("demo")),
            Some(json!({"attributes": {"enabled": false}})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    poll(Duration::from_secs(10), "items locked", || async {
        let status = env
            .data(Method::GET, "safety", "blocklists/profanity/items", key)
            .send()
            .await
            .unwrap()
            .status();
        (status == 403).then_some(())
    })
    .await;
    let lists = blocklists(&env, key).await;
    assert_eq!(lists["value"][0]["blocklistName"], "profanity", "{lists}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speech_logs_only_while_logging_is_on() {
    let env = start(|_| {}).await;
    let key = &env.create_of_kind("speech", "SpeechServices").await;
    let put = |logging: bool| {
        env.data(Method::PUT, "speech", "speech/endpoints/ep1", key)
            .json(&json!({"contentLoggingEnabled": logging}))
            .send()
    };
    assert_eq!(put(false).await.unwrap().status(), 200);
    let r = env
        .data(
            Method::POST,
            "speech",
            "speech/endpoints/ep1/recognize",
            key,
        )
        .body("first words")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let logs: Value = env
        .data(Method::GET, "speech", "speech/endpoints/ep1/logs", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        logs["value"].as_array().unwrap().len(),
        0,
        "nothing stored with logging off"
    );
    let stored = env.objects("westeurope");
    assert_eq!(stored.all().await.len(), 0);
    assert_eq!(put(true).await.unwrap().status(), 200);
    env.data(
        Method::POST,
        "speech",
        "speech/endpoints/ep1/recognize",
        key,
    )
    .body("secret words")
    .send()
    .await
    .unwrap();
    let logs: Value = env
        .data(Method::GET, "speech", "speech/endpoints/ep1/logs", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = logs["value"][0]["id"].as_str().unwrap();
    let log: Value = env
        .data(
            Method::GET,
            "speech",
            &format!("speech/endpoints/ep1/logs/{id}"),
            key,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log["input"], "secret words");
    let objects = stored.all().await;
    assert_eq!(objects.len(), 1);
    for bytes in objects.values() {
        assert!(bytes.starts_with(b"ATRS"), "stored in the object format");
        assert!(!bytes.windows(6).any(|w| w == b"secret"));
    }
}
