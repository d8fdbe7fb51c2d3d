//! Accounts whose key is in a remote vault (reached over Key Vault REST through a TCP proxy).
//!
//! Revocation there is seen by revalidation, within `key_check_interval`. A remote vault that
//! stops answering (a real TCP listener that accepts and never replies): data keeps flowing
//! from the key cache until the hard limit, then 503, then recovery when the vault answers
//! again — and nothing is deleted, even with `onKeyLoss: delete`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atrest_accounts::RemoteVault;
use reqwest::Method;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};

use atrest_server::RawConfig;

use crate::common::{poll, start_with, Env};

const HOST: &str = "kv.remote.test";

/// A TCP proxy to the server that can be switched into a black hole.
struct Proxy {
    addr: SocketAddr,
    target: Arc<Mutex<Option<SocketAddr>>>,
    blackhole: Arc<AtomicBool>,
}

impl Proxy {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let target: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let blackhole = Arc::new(AtomicBool::new(false));
        let (t, b) = (target.clone(), blackhole.clone());
        tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if b.load(Ordering::SeqCst) {
                    held.push(inbound); // accept, never answer
                    continue;
                }
                let target = t.lock().unwrap().unwrap();
                let b = b.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = async { while !b.load(Ordering::SeqCst) { tokio::time::sleep(Duration::from_millis(10)).await } } => {}
                    }
                });
            }
        });
        Self {
            addr,
            target,
            blackhole,
        }
    }
}

/// A server whose vault `remote1` is reached as a remote Key Vault at [`HOST`] through a proxy,
/// and an account `name` on its key `k1` with one dataset: (proxy, env, account key, data).
async fn remote_cmk_account(
    name: &str,
    tune: impl FnOnce(&mut RawConfig),
) -> (Proxy, Env, String, Vec<u8>) {
    let proxy = Proxy::start().await;
    let proxy_addr = proxy.addr;
    let env = start_with(
        |raw| {
            raw.vault_aliases.insert(HOST.into(), "remote1".into());
            raw.accounts.remote_vaults.push(RemoteVault {
                host: HOST.into(),
                connect_to: Some(proxy_addr),
                location: "westeurope".into(),
                tenant_id: None,
                ca_file: None,
                timeout_ms: Some(300),
            });
            tune(raw);
        },
        &[HOST],
    )
    .await;
    *proxy.target.lock().unwrap() = Some(env.addr());
    env.create_vault("remote1", "westeurope", true).await;
    let (status, v) = env
        .kv(
            Method::POST,
            &format!("{}/k1/create", remote_keys(&env)),
            Some(json!({"kty": "RSA"})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (principal, key) = env.create_account(name, "westeurope", "S0").await;
    env.grant("remote1", &principal, "add").await;
    let (status, a) = env
        .set_cmk(
            name,
            json!({"keyVaultUri": format!("https://{HOST}/keys/k1")}),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    let data = format!("bytes of {name}, under a remote key").into_bytes();
    assert_eq!(
        env.data(Method::PUT, name, "datasets/d.txt", &key)
            .body(data.clone())
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    (proxy, env, key, data)
}

fn remote_keys(env: &Env) -> String {
    format!("https://{HOST}:{}/keys", env.port())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_remote_vault_revokes_within_the_key_check_interval() {
    const INTERVAL: Duration = Duration::from_secs(2);
    let (_proxy, env, key, data) =
        remote_cmk_account("nearby", |raw| raw.key_check_interval_secs = Some(2)).await;
    let (status, k1) = env
        .kv(Method::GET, &format!("{}/k1", remote_keys(&env)), None)
        .await;
    assert_eq!(status, 200, "{k1}");
    let version_url = k1["key"]["kid"].as_str().unwrap().to_owned();
    let set_enabled = |enabled: bool| {
        let url = format!(
            "{}/k1/{}",
            remote_keys(&env),
            version_url.rsplit('/').next().unwrap()
        );
        let env = &env;
        async move {
            let body = json!({"attributes": {"enabled": enabled}});
            let (status, v) = env.kv(Method::PATCH, &url, Some(body)).await;
            assert_eq!(status, 200, "{v}");
        }
    };

    // Nothing tells a remote consumer that the key changed: the next revalidation finds out.
    // The limit allows one interval plus the check itself.
    set_enabled(false).await;
    let (message, took) = poll(
        INTERVAL + Duration::from_secs(2),
        "403 after the remote key was disabled",
        || async {
            let resp = env
                .data(Method::GET, "nearby", "datasets/d.txt", &key)
                .send()
                .await
                .unwrap();
            (resp.status() == 403).then_some(())?;
            Some(resp.text().await.unwrap())
        },
    )
    .await;
    eprintln!("remote revocation seen after {took:?}: {message}");
    assert!(message.contains("k1"), "names the key: {message}");
    let (_, a) = env
        .mgmt(Method::GET, &env.account_url("nearby"), None)
        .await;
    assert_eq!(
        a["properties"]["encryption"]["status"]["keyState"], "KeyInaccessible",
        "{a}"
    );

    // Enabled again: readable again after the next revalidation.
    set_enabled(true).await;
    poll(INTERVAL + Duration::from_secs(2), "data back", || async {
        (env.get_dataset("nearby", "d.txt", &key).await == (200, data.clone())).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn vault_outage_serves_from_cache_then_fails_closed_then_recovers() {
    let (proxy, env, key, data) = remote_cmk_account("faraway", |raw| {
        raw.accounts.vault_outage_limit_secs = Some(3);
        raw.accounts.key_loss_grace_secs = Some(0);
    })
    .await;
    let (status, a) = env
        .mgmt(
            Method::PATCH,
            &env.account_url("faraway"),
            Some(json!({"properties": {"onKeyLoss": "delete"}})),
        )
        .await;
    assert_eq!(status, 200, "{a}");

    proxy.blackhole.store(true, Ordering::SeqCst);
    // Within the hard limit: served from the cache.
    assert_eq!(
        env.get_dataset("faraway", "d.txt", &key).await,
        (200, data.clone())
    );
    // Past it: fail closed with 503, account still Active (not revoked).
    let (message, took) = poll(
        Duration::from_secs(20),
        "503 after the outage limit",
        || async {
            let resp = env
                .data(Method::GET, "faraway", "datasets/d.txt", &key)
                .send()
                .await
                .unwrap();
            (resp.status() == 503).then_some(())?;
            Some(resp.text().await.unwrap())
        },
    )
    .await;
    eprintln!("failed closed after {took:?}: {message}");
    assert!(message.contains("has not answered"), "{message}");
    let (_, a) = env
        .mgmt(Method::GET, &env.account_url("faraway"), None)
        .await;
    assert_eq!(
        a["properties"]["encryption"]["status"]["keyState"], "Active",
        "{a}"
    );
    assert!(a["properties"]["encryption"]["status"]["vaultUnreachableSince"].is_string());
    assert!(a["properties"].get("dataDeletedAt").is_none());

    // The vault answers again: data back, nothing lost.
    proxy.blackhole.store(false, Ordering::SeqCst);
    poll(Duration::from_secs(20), "recovery", || async {
        (env.get_dataset("faraway", "d.txt", &key).await == (200, data.clone())).then_some(())
    })
    .await;
    let (_, a) = env
        .mgmt(Method::GET, &env.account_url("faraway"), None)
        .await;
    assert!(
        a["properties"]["encryption"]["status"]
            .get("vaultUnreachableSince")
            .is_none(),
        "{a}"
    );
}
