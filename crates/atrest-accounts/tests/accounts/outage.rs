//! A remote vault that stops answering (a real TCP listener that accepts and never replies):
//! data keeps flowing from the key cache until the hard limit, then 503, then recovery when the
//! vault answers again — and nothing is deleted, even with `onKeyLoss: delete`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atrest_accounts::RemoteVault;
use reqwest::Method;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};

use crate::common::{poll, start_with};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn vault_outage_serves_from_cache_then_fails_closed_then_recovers() {
    let proxy = Proxy::start().await;
    let env = start_with(
        |raw| {
            raw.vault_aliases.insert(HOST.into(), "remote1".into());
            raw.accounts.vault_outage_limit_secs = Some(3);
            raw.accounts.key_loss_grace_secs = Some(0);
            raw.accounts.remote_vaults.push(RemoteVault {
                host: HOST.into(),
                connect_to: Some(proxy.addr),
                location: "westeurope".into(),
                tenant_id: None,
                ca_file: None,
                timeout_ms: Some(300),
            });
        },
        &[HOST],
    )
    .await;
    *proxy.target.lock().unwrap() = Some(env.addr());
    env.create_vault("remote1", "westeurope", true).await;
    let kv = format!("https://{HOST}:{}/keys", env.port());
    let (status, v) = env
        .kv(
            Method::POST,
            &format!("{kv}/k1/create"),
            Some(json!({"kty": "RSA"})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (principal, key) = env.create_account("faraway", "westeurope", "S0").await;
    env.grant("remote1", &principal, "add").await;
    let (status, a) = env
        .set_cmk(
            "faraway",
            json!({"keyVaultUri": format!("https://{HOST}/keys/k1")}),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    let (status, a) = env
        .mgmt(
            Method::PATCH,
            &env.account_url("faraway"),
            Some(json!({"properties": {"onKeyLoss": "delete"}})),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    let data = b"remote vault protected bytes".to_vec();
    assert_eq!(
        env.data(Method::PUT, "faraway", "datasets/d.txt", &key)
            .body(data.clone())
            .send()
            .await
            .unwrap()
            .status(),
        201
    );

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
