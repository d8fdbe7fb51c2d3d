//! Benchmarks over HTTPS, run with `bench/accounts` (ignored in normal test runs). Every
//! figure is a ratio of two measurements taken in the same run.

use std::io::Write;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::json;
use tokio::io::AsyncReadExt;

use crate::common::{poll, start, Env};

/// User + system CPU seconds of this process (client and server together).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields
        .get(11)
        .and_then(|u| u.parse::<f64>().ok())
        .unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0);
    ticks / 100.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn pct(v: &[Duration], p: f64) -> Duration {
    let mut s = v.to_vec();
    s.sort();
    s[((s.len() as f64 - 1.0) * p).round() as usize]
}

async fn cmk_account(env: &Env, name: &str) -> String {
    let (principal, key) = env.create_account(name, "westeurope", "S0").await;
    env.grant("demo", &principal, "add").await;
    let kv = json!({"keyVaultUri": format!("https://demo.vault.atrest.localhost:{}/", env.port()), "keyName": "k1"});
    assert_eq!(env.set_cmk(name, kv).await.0, 200);
    key
}

async fn switch_times(env: &Env, account: &str, rounds: usize) -> Vec<Duration> {
    let mut times = Vec::new();
    for _ in 0..rounds {
        let (_, a) = env.mgmt(Method::GET, &env.account_url(account), None).await;
        let current = a["properties"]["encryption"]["keyVaultProperties"]["keyName"].clone();
        let key = if current == "k1" { "k2" } else { "k1" };
        let kv = json!({"keyVaultUri": format!("https://demo.vault.atrest.localhost:{}/", env.port()), "keyName": key});
        let start = Instant::now();
        let (status, v) = env.set_cmk(account, kv).await;
        times.push(start.elapsed());
        assert_eq!(status, 200, "{v}");
    }
    times
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "benchmark: run bench/accounts"]
async fn bench_accounts() {
    let env = start(|raw| raw.key_check_interval_secs = Some(3600)).await;
    env.create_vault("demo", "westeurope", true).await;
    env.create_key("demo", "k1", json!({"kty": "RSA", "key_size": 2048}))
        .await;
    env.create_key("demo", "k2", json!({"kty": "RSA", "key_size": 2048}))
        .await;
    let mut report = String::new();

    // 1. Switching keys with 10 vs 100 000 stored objects.
    let small_key = cmk_account(&env, "small").await;
    for i in 0..10 {
        env.data(Method::PUT, "small", &format!("datasets/o{i}"), &small_key)
            .body(vec![7u8; 1024])
            .send()
            .await
            .unwrap();
    }
    cmk_account(&env, "large").await;
    let db = atrest_store::Db::connect(&env.server.database)
        .await
        .unwrap();
    let (large_id,): (String,) = sqlx::query_as("SELECT id FROM accounts WHERE name = 'large'")
        .fetch_one(atrest_store::testing::pool(&db))
        .await
        .unwrap();
    let mut tx = db.begin_write().await.unwrap();
    for i in 0..100_000 {
        sqlx::query("INSERT INTO account_objects (account_id, id, kind, name_index, name_sealed, blob_key, size, stored_size, sha256, created) VALUES ($1, $2, 'dataset', $3, $5, $4, 1024, 1110, '', 0)")
            .bind(&large_id).bind(format!("o{i}")).bind(format!("idx{i}")).bind(format!("{large_id}.o{i}")).bind(vec![0u8])
            .execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    if db.engine() == atrest_store::Engine::Sqlite {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(atrest_store::testing::pool(&db))
            .await
            .unwrap();
    }
    // Interleaved, so load drift hits both sides alike.
    let (mut small, mut large) = (Vec::new(), Vec::new());
    for _ in 0..41 {
        small.extend(switch_times(&env, "small", 1).await);
        large.extend(switch_times(&env, "large", 1).await);
    }
    let (small, large) = (median(small), median(large));
    report += &format!(
        "switch key, median of 41 interleaved: 10 objects {small:?}, 100000 objects {large:?}, ratio {:.2}\n",
        large.as_secs_f64() / small.as_secs_f64()
    );

    // 2. Warm-cache data request: CMK vs MMK.
    let (_, mmk_key) = env.create_account("plain", "westeurope", "S0").await;
    let payload = vec![42u8; 4096];
    env.data(Method::PUT, "plain", "datasets/p", &mmk_key)
        .body(payload.clone())
        .send()
        .await
        .unwrap();
    env.data(Method::PUT, "small", "datasets/p", &small_key)
        .body(payload.clone())
        .send()
        .await
        .unwrap();
    let (mut cmk_t, mut mmk_t) = (Vec::new(), Vec::new());
    for i in 0..1200 {
        for (account, key, out) in [
            ("small", &small_key, &mut cmk_t),
            ("plain", &mmk_key, &mut mmk_t),
        ] {
            let start = Instant::now();
            let (status, body) = env.get_dataset(account, "p", key).await;
            if i >= 200 {
                out.push(start.elapsed());
            }
            assert!(status == 200 && body == payload);
        }
    }
    let (c, m) = (median(cmk_t), median(mmk_t));
    report += &format!(
        "4 KiB GET, median of 1000 (warm): CMK {c:?}, MMK {m:?}, overhead {:+.1} %\n",
        (c.as_secs_f64() / m.as_secs_f64() - 1.0) * 100.0
    );

    // 3. Upload through HTTPS vs dd conv=fdatasync of the same bytes.
    let mib: usize = std::env::var("ATREST_BENCH_UPLOAD_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = env.server.data.path().join("bench");
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("source.bin");
    {
        let mut f = std::fs::File::create(&source).unwrap();
        let block: Vec<u8> = (0..1 << 20)
            .map(|i: u32| (i.wrapping_mul(2654435761) >> 11) as u8)
            .collect();
        for _ in 0..mib {
            f.write_all(&block).unwrap();
        }
        f.sync_all().unwrap();
    }
    let start = Instant::now();
    let dd = std::process::Command::new("dd")
        .arg(format!("if={}", source.display()))
        .arg(format!("of={}", dir.join("dd.bin").display()))
        .args(["bs=1M", "conv=fdatasync", "status=none"])
        .status()
        .unwrap();
    let dd_time = start.elapsed();
    assert!(dd.success());
    std::fs::remove_file(dir.join("dd.bin")).unwrap();
    let bytes = (mib as f64) * 1048576.0;
    let ca = std::fs::read(env.server.data.ca_cert()).unwrap();
    for http1 in [false, true] {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap());
        if http1 {
            builder = builder.http1_only();
        }
        let client = builder.build().unwrap();
        let file = tokio::fs::File::open(&source).await.unwrap();
        let stream = futures_util::stream::unfold(file, |mut f| async move {
            let mut buf = vec![0u8; 1 << 20];
            let n = f.read(&mut buf).await.ok()?;
            (n > 0).then(|| {
                buf.truncate(n);
                (Ok::<_, std::io::Error>(buf), f)
            })
        });
        let cpu_before = cpu_seconds();
        let start = Instant::now();
        let resp = client
            .put(format!("{}/accounts/plain/datasets/big", env.base))
            .header("Ocp-Apim-Subscription-Key", &mmk_key)
            .body(reqwest::Body::wrap_stream(stream.boxed()))
            .send()
            .await
            .unwrap();
        let upload = start.elapsed();
        let cpu = cpu_seconds() - cpu_before;
        assert_eq!(resp.status(), 201);
        report += &format!("  process CPU during the upload: {cpu:.1} s over {:.1} s wall (client and server share the machine)\n", upload.as_secs_f64());
        report += &format!(
            "{mib} MiB over {}: HTTPS upload {upload:?} ({:.0} MB/s), dd conv=fdatasync {dd_time:?} ({:.0} MB/s), upload/dd throughput {:.0} %\n",
            if http1 { "HTTP/1.1" } else { "HTTP/2" },
            bytes / upload.as_secs_f64() / 1e6,
            bytes / dd_time.as_secs_f64() / 1e6,
            dd_time.as_secs_f64() / upload.as_secs_f64() * 100.0
        );
    }
    std::fs::remove_file(&source).unwrap();

    // 4. Revocation latency (co-located vault, event-driven): disable k1 → first 403.
    let principal_key = small_key.clone();
    let kv = json!({"keyVaultUri": format!("https://demo.vault.atrest.localhost:{}/", env.port()), "keyName": "k1"});
    assert_eq!(env.set_cmk("small", kv).await.0, 200);
    let keys = env.keys_url("demo");
    let mut latencies = Vec::new();
    for _ in 0..30 {
        assert_eq!(
            env.kv(
                Method::PATCH,
                &format!("{keys}/k1"),
                Some(json!({"attributes": {"enabled": false}}))
            )
            .await
            .0,
            200
        );
        let (_, took) = poll(Duration::from_secs(5), "403", || async {
            (env.get_dataset("small", "p", &principal_key).await.0 == 403).then_some(())
        })
        .await;
        latencies.push(took);
        assert_eq!(
            env.kv(
                Method::PATCH,
                &format!("{keys}/k1"),
                Some(json!({"attributes": {"enabled": true}}))
            )
            .await
            .0,
            200
        );
        poll(Duration::from_secs(5), "restore", || async {
            (env.get_dataset("small", "p", &principal_key).await.0 == 200).then_some(())
        })
        .await;
    }
    report += &format!(
        "revocation → first 403 (30 runs, 20 ms poll): p50 {:?}, p90 {:?}, max {:?}\n",
        pct(&latencies, 0.5),
        pct(&latencies, 0.9),
        pct(&latencies, 1.0)
    );
    println!("\n=== accounts benchmark ===\n{report}");
}
