//! Load generator for the vault's unwrapKey (RSA-2048, RSA-OAEP-256) over HTTPS with
//! keep-alive from many concurrent clients. Used by `bench/vault-unwrap`.
//!
//! Run with: cargo run --release -p atrest --example vault_unwrap_load -- <data-dir> <port> <concurrency> <seconds>
//!
//! It sets up what it needs through the public APIs (tenant, principal, subscription, vault
//! `bench` served at host alias 127.0.0.1, an RSA-2048 key), wraps one 32-byte key, then calls
//! unwrapKey as fast as `concurrency` clients can for `seconds`, and prints ops/s and latency
//! percentiles as JSON. First, as a second baseline, it measures raw aws-lc-rs RSA-2048
//! OAEP-SHA-256 decryptions per second on every core (the same library and operation the vault
//! uses, without HTTP, auth or audit).
//!
//! With `ATREST_BENCH_OP=update` it instead updates the key's tags (`PATCH {kid}`) in a loop:
//! each call is one durable write transaction plus one durable audit record, the figure to
//! compare with the disk's synchronous 4 KiB write rate (`bench/engines`).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: vault_unwrap_load <data-dir> <port> <concurrency> <seconds>");
        std::process::exit(2);
    }
    let (data_dir, port) = (&args[1], &args[2]);
    let concurrency: usize = args[3].parse().expect("concurrency");
    let seconds: u64 = args[4].parse().expect("seconds");
    atrest_server::install_crypto_provider();
    let raw_decrypts_per_sec = raw_oaep_decrypts_per_sec(Duration::from_secs(5));
    let ca = std::fs::read(format!("{data_dir}/tls/ca.pem")).expect("CA");
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .pool_max_idle_per_host(concurrency)
        .http1_only()
        .build()
        .unwrap();
    let op: Value =
        serde_json::from_slice(&std::fs::read(format!("{data_dir}/operator.json")).unwrap())
            .unwrap();
    let mgmt = format!("https://localhost:{port}");
    let vault = format!("https://127.0.0.1:{port}");

    let op_token = token(&client, &mgmt, &op, "https://management.azure.com").await;
    let tenant = send(
        &client,
        "POST",
        &format!("{mgmt}/admin/tenants"),
        &op_token,
        json!({"displayName":"bench"}),
    )
    .await;
    let t = tenant["tenantId"].as_str().unwrap();
    let sp = send(
        &client,
        "POST",
        &format!("{mgmt}/admin/tenants/{t}/servicePrincipals"),
        &op_token,
        json!({"displayName":"bench"}),
    )
    .await;
    let sub = send(
        &client,
        "POST",
        &format!("{mgmt}/admin/tenants/{t}/subscriptions"),
        &op_token,
        json!({"displayName":"bench"}),
    )
    .await;
    let s = sub["subscriptionId"].as_str().unwrap();
    send(
        &client,
        "PUT",
        &format!("{mgmt}/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/bench?api-version=2023-07-01"),
        &op_token,
        json!({"location":"westeurope","properties":{"tenantId":t,"sku":{"family":"A","name":"standard"},
            "accessPolicies":[{"tenantId":t,"objectId":sp["objectId"],"permissions":{"keys":["create","update","wrapKey","unwrapKey"]}}]}}),
    )
    .await;
    let creds =
        json!({"tenantId": t, "clientId": sp["clientId"], "clientSecret": sp["clientSecret"]});
    let vault_token = token(&client, &mgmt, &creds, "https://vault.azure.net").await;
    let key = send(
        &client,
        "POST",
        &format!("{vault}/keys/bench/create?api-version=7.4"),
        &vault_token,
        json!({"kty":"RSA","key_size":2048}),
    )
    .await;
    let kid = key["key"]["kid"].as_str().unwrap().to_owned();
    let wrapped = send(
        &client,
        "POST",
        &format!("{kid}/wrapkey?api-version=7.4"),
        &vault_token,
        json!({"alg":"RSA-OAEP-256","value":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}),
    )
    .await;
    let update = std::env::var("ATREST_BENCH_OP").as_deref() == Ok("update");
    let (method, body, url) = if update {
        (
            reqwest::Method::PATCH,
            json!({"tags": {"bench": "update"}}),
            format!("{kid}?api-version=7.4"),
        )
    } else {
        (
            reqwest::Method::POST,
            json!({"alg":"RSA-OAEP-256","value": wrapped["value"]}),
            format!("{kid}/unwrapkey?api-version=7.4"),
        )
    };

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, url, body, token, method) = (
            client.clone(),
            url.clone(),
            body.clone(),
            vault_token.clone(),
            method.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let start = Instant::now();
                match client
                    .request(method.clone(), &url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(start.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{}",
        json!({
            "op": if update { "update" } else { "unwrapKey" },
            "concurrency": concurrency, "seconds": seconds, "ops": all.len(), "errors": errors,
            "ops_per_sec": all.len() as f64 / seconds as f64,
            "p50_ms": pct(0.5), "p99_ms": pct(0.99),
            "aws_lc_rsa2048_oaep256_decrypt_per_sec_all_cores": raw_decrypts_per_sec,
            "ratio_vs_aws_lc_raw": all.len() as f64 / seconds as f64 / raw_decrypts_per_sec,
        })
    );
}

async fn token(client: &reqwest::Client, base: &str, creds: &Value, resource: &str) -> String {
    let t = creds["tenantId"].as_str().unwrap();
    let r: Value = client
        .post(format!("{base}/{t}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", creds["clientId"].as_str().unwrap()),
            ("client_secret", creds["clientSecret"].as_str().unwrap()),
            ("scope", &format!("{resource}/.default")),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["access_token"].as_str().expect("token").to_owned()
}

async fn send(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    token: &str,
    body: Value,
) -> Value {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let r = client
        .request(method, url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let value: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {value}");
    value
}

/// RSA-2048 OAEP-SHA-256 decryptions per second with aws-lc-rs, one thread per core.
fn raw_oaep_decrypts_per_sec(time: Duration) -> f64 {
    use aws_lc_rs::rsa::{
        KeySize, OaepPrivateDecryptingKey, PrivateDecryptingKey, OAEP_SHA256_MGF1SHA256,
    };
    let private = PrivateDecryptingKey::generate(KeySize::Rsa2048).expect("RSA key");
    let public = private.public_key();
    let encrypting = aws_lc_rs::rsa::OaepPublicEncryptingKey::new(public).expect("public key");
    let mut wrapped = vec![0u8; encrypting.ciphertext_size()];
    let wrapped = encrypting
        .encrypt(&OAEP_SHA256_MGF1SHA256, &[7u8; 32], &mut wrapped, None)
        .expect("encrypt")
        .to_vec();
    let key = std::sync::Arc::new(OaepPrivateDecryptingKey::new(private).expect("key"));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let deadline = Instant::now() + time;
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (key, wrapped) = (key.clone(), wrapped.clone());
            std::thread::spawn(move || {
                let mut out = vec![0u8; key.min_output_size()];
                let mut n = 0u64;
                while Instant::now() < deadline {
                    key.decrypt(&OAEP_SHA256_MGF1SHA256, &wrapped, &mut out, None)
                        .expect("decrypt");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total as f64 / time.as_secs_f64()
}
