//! Platform storage on real servers, each started by the test: one atrest server keeps region
//! westeurope on S3 (moto), northeurope on Azure Blob (Azurite) and eastus in local files,
//! and each region's data stays in its own store, encrypted.

use std::io;
use std::time::Duration;

use atrest_store::blob::{put_stream, BlobBackend, BlobStoreConfig, PutStreamError, PART_SIZE};
use bytes::Bytes;
use futures_util::StreamExt;
use object_store::path::Path;
use object_store::ObjectStoreExt;
use reqwest::Method;
use serde_json::Value;

use crate::common::{poll, start, Env};
use crate::stores::{store_config, Azurite, S3Server};

const BUCKET: &str = "atrest-platform";
const CONTAINER: &str = "platform";
/// Region → backend, as configured below.
const REGIONS: [&str; 3] = ["westeurope", "northeurope", "eastus"];
const PHRASE: &[u8] = b"customer data that must only ever be stored encrypted; ";

/// A recognisable plaintext of `len` bytes.
fn plaintext(len: usize) -> Vec<u8> {
    PHRASE.iter().copied().cycle().take(len).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn upload(env: &Env, account: &str, key: &str, name: &str, body: Vec<u8>) -> (u16, Value) {
    let resp = env
        .data(Method::PUT, account, &format!("datasets/{name}"), key)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn range(env: &Env, account: &str, key: &str, first: usize, last: usize) -> (u16, Vec<u8>) {
    let resp = env
        .data(Method::GET, account, "datasets/big.bin", key)
        .header("Range", format!("bytes={first}-{last}"))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    // A failure found after the headers went out ends the body early.
    let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_region_keeps_its_data_encrypted_in_its_own_store() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET).await;
    let azurite = Azurite::start();
    azurite.create_container(CONTAINER);
    let env = start(|raw| {
        let local = BlobStoreConfig::local(&raw.data_dir.clone().unwrap().join("blobs"));
        let unreachable = store_config(
            "s3://nowhere/x",
            &[
                ("endpoint", "http://127.0.0.1:1"),
                ("allow_http", "true"),
                ("access_key_id", "x"),
                ("secret_access_key", "x"),
                ("max_retries", "0"),
            ],
        );
        raw.accounts.region_storage = [
            ("westeurope", s3.store_config(BUCKET, "atrest/data")),
            ("northeurope", azurite.store_config(CONTAINER, "atrest")),
            ("eastus", local),
            ("westus", unreachable),
        ]
        .into_iter()
        .map(|(region, store)| (region.to_owned(), store))
        .collect();
    })
    .await;

    // Bigger than one multipart part, and not a multiple of the format's segments.
    let data = plaintext(PART_SIZE + 4 * 1024 * 1024 + 12_345);
    let mut keys = Vec::new();
    for region in REGIONS {
        let account = format!("data-{region}");
        let (_, key) = env.create_account(&account, region, "S0").await;
        let (status, v) = upload(&env, &account, &key, "big.bin", data.clone()).await;
        assert_eq!(status, 201, "{region}: {v}");
        keys.push((region, account, key));
    }

    for (region, account, key) in &keys {
        // Stored in the region's own store only, in the object format, never in clear.
        let objects = env.objects(region).all().await;
        assert_eq!(objects.len(), 1, "{region}: {:?}", objects.keys());
        let stored = objects.values().next().unwrap();
        assert!(stored.starts_with(b"ATRS"), "{region}: the atrest format");
        assert!(stored.len() > data.len(), "{region}");
        assert!(!contains(stored, &PHRASE[..24]), "{region} holds plaintext");

        assert_eq!(
            env.get_dataset(account, "big.bin", key).await,
            (200, data.clone()),
            "{region}: whole download"
        );
        let (first, last) = (PART_SIZE - 50, PART_SIZE + 70_000);
        assert_eq!(
            range(&env, account, key, first, last).await,
            (206, data[first..=last].to_vec()),
            "{region}: range across a part boundary"
        );
        let list: Value = env
            .data(Method::GET, account, "datasets", key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list["value"][0]["name"], "big.bin", "{region}: {list}");
        assert_eq!(list["value"][0]["size"], data.len(), "{region}: {list}");
    }
    // Local files are where they always were.
    let local = env.server.data.path().join("blobs/eastus");
    assert_eq!(std::fs::read_dir(&local).unwrap().count(), 1);

    // What is in the bucket is what atrest reads: a flipped byte is detected, not served.
    let (_, account, key) = &keys[0];
    let objects = env.objects("westeurope");
    let (name, original) = objects.all().await.into_iter().next().unwrap();
    let mut tampered = original.clone();
    tampered[PART_SIZE + 100] ^= 1;
    objects.overwrite(&name, tampered).await;
    let (first, last) = (PART_SIZE - 1000, PART_SIZE + 1000);
    let (status, body) = range(&env, account, key, first, last).await;
    assert!(
        !(status == 206 && body == data[first..=last]),
        "tampered ciphertext served as plaintext ({status})"
    );
    objects.overwrite(&name, original).await;
    assert_eq!(
        range(&env, account, key, first, last).await,
        (206, data[first..=last].to_vec())
    );

    // Deleting a dataset deletes its object; deleting the account deletes the rest.
    for (region, account, key) in &keys {
        let resp = env
            .data(Method::DELETE, account, "datasets/big.bin", key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204, "{region}");
        assert!(env.objects(region).all().await.is_empty(), "{region}");
        let (status, v) = upload(&env, account, key, "small.txt", b"small".to_vec()).await;
        assert_eq!(status, 201, "{region}: {v}");
        assert_eq!(env.objects(region).all().await.len(), 1, "{region}");
        let (status, _) = env
            .mgmt(Method::DELETE, &env.account_url(account), None)
            .await;
        assert_eq!(status, 200, "{region}");
        assert!(
            env.objects(region).all().await.is_empty(),
            "{region}: objects deleted with the account"
        );
    }

    // A store that cannot be reached is the service being unavailable, not a bad request.
    let (_, key) = env.create_account("cut-off", "westus", "S0").await;
    let (status, v) = upload(&env, "cut-off", &key, "d", b"data".to_vec()).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["error"]["code"], "ServiceUnavailable", "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("westus"), "{v}");
    assert!(
        !message.contains("127.0.0.1"),
        "no store details to clients: {v}"
    );
    let list: Value = env
        .data(Method::GET, "cut-off", "datasets", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["value"].as_array().unwrap().len(),
        0,
        "nothing half-stored"
    );
}

/// A stream that yields what the test sends, when it sends it.
fn channel_stream() -> (
    tokio::sync::mpsc::Sender<io::Result<Bytes>>,
    impl futures_util::Stream<Item = io::Result<Bytes>> + Send + 'static,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (tx, stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_upload_leaves_no_object_on_s3() {
    let s3 = S3Server::start();
    s3.create_bucket("writer").await;
    let BlobBackend::Remote(remote) = s3.store_config("writer", "w").open("test").unwrap() else {
        panic!("S3 is a remote store");
    };
    let store = remote.store().clone();
    let chunk = Bytes::from(plaintext(1024 * 1024));

    for how in ["input error", "dropped"] {
        let path = remote.prefix().clone().join(how.replace(' ', "-"));
        let (tx, input) = channel_stream();
        let upload = {
            let (store, path) = (store.clone(), path.clone());
            tokio::spawn(async move { put_stream(store.as_ref(), &path, input).await })
        };
        // More than two parts: a multipart upload is under way, its first parts sent.
        for _ in 0..(2 * PART_SIZE / chunk.len() + 1) {
            tx.send(Ok(chunk.clone())).await.unwrap();
        }
        poll(Duration::from_secs(30), "the multipart upload", || async {
            (s3.open_multipart_uploads("writer").await == 1).then_some(())
        })
        .await;
        if how == "dropped" {
            upload.abort();
        } else {
            tx.send(Err(io::Error::other("client went away")))
                .await
                .unwrap();
            let err = upload.await.unwrap().unwrap_err();
            assert!(matches!(err, PutStreamError::Input(_)), "{err}");
        }
        poll(Duration::from_secs(30), "the upload's abort", || async {
            (s3.open_multipart_uploads("writer").await == 0).then_some(())
        })
        .await;
        assert!(
            matches!(
                store.head(&path).await,
                Err(object_store::Error::NotFound { .. })
            ),
            "{how}: no object is visible"
        );
    }

    // The same stream, completed, is stored whole.
    let path = Path::from("w/whole");
    let n = 2 * PART_SIZE / chunk.len() + 1;
    let input = futures_util::stream::iter((0..n).map(|_| Ok(chunk.clone())));
    assert_eq!(
        put_stream(store.as_ref(), &path, input).await.unwrap(),
        (n * chunk.len()) as u64
    );
    let stored = store.get(&path).await.unwrap().into_stream();
    let len: usize = stored
        .map(|b| b.unwrap().len())
        .collect::<Vec<_>>()
        .await
        .iter()
        .sum();
    assert_eq!(len, n * chunk.len());
    assert_eq!(s3.open_multipart_uploads("writer").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_storage_settings_stop_the_server_at_start() {
    for (region, store, needles) in [
        (
            "westeurope",
            store_config("gs://bucket/p", &[]),
            &["accounts.region_storage.westeurope", "'gs'", "s3://"][..],
        ),
        (
            "westeurope",
            store_config("s3:///p", &[]),
            &["accounts.region_storage.westeurope", "no bucket"],
        ),
        (
            "westeurope",
            store_config("s3://b/p", &[("secret_key", "x")]),
            &["unknown S3 option 'secret_key'", "secret_access_key"],
        ),
        (
            "mars",
            store_config("s3://b/p", &[]),
            &["region 'mars' is not offered"],
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut raw = atrest_server::RawConfig {
            data_dir: Some(dir.path().join("data")),
            database: atrest_store::testing::database_setting(&dir.path().join("data")),
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        };
        raw.accounts.regions = vec!["westeurope".into()];
        raw.accounts.region_storage = [(region.to_owned(), store)].into_iter().collect();
        let err = atrest_server::start(atrest_server::Settings::from_raw(raw).unwrap())
            .await
            .expect_err("the server refuses to start")
            .to_string();
        for needle in needles {
            assert!(err.contains(needle), "{err}");
        }
    }
}
