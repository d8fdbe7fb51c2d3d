//! Real storage servers for tests, each started by the test on a free port and stopped on
//! drop: Azurite (Azure Blob; npm `azurite`) and moto (S3; PyPI `moto[server]`), both
//! installed by scripts/setup-interop. And the stored objects of a region, read through
//! whatever store the server was configured with.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use atrest_accounts::AccountsConfig;
use atrest_store::blob::{BlobBackend, BlobStoreConfig};
use futures_util::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde_json::Value;

use crate::common::{official_python, repo_root};

/// Azurite's well-known development account.
pub(crate) const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// Its well-known key.
pub(crate) const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Starts `command`, which prints `marker` followed by its URL on the stream `take` picks;
/// returns the child and that URL. The stream is drained afterwards so the child never blocks.
fn spawn_listening(
    mut command: Command,
    what: &str,
    marker: &str,
    take: impl FnOnce(&mut Child) -> Box<dyn std::io::Read + Send>,
) -> (Child, String) {
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e} (run scripts/setup-interop)"));
    let out = take(&mut child);
    let mut lines = BufReader::new(out).lines();
    let url = loop {
        let Some(line) = lines.next() else {
            let _ = child.kill();
            panic!("{what} exited before listening");
        };
        let line = line.unwrap();
        if let Some(rest) = line.split(marker).nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// An Azurite blob service on a free port, in memory; stopped on drop.
pub(crate) struct Azurite {
    child: Child,
    /// `http://127.0.0.1:{port}/devstoreaccount1`.
    pub(crate) endpoint: String,
}

impl Azurite {
    pub(crate) fn start() -> Self {
        let bin = repo_root().join("tests/interop/js/node_modules/.bin/azurite-blob");
        assert!(
            bin.exists(),
            "Azurite is not installed: run scripts/setup-interop ({} is missing)",
            bin.display()
        );
        let mut command = Command::new(bin);
        command
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                "0",
                "--inMemoryPersistence",
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--silent",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let (child, url) = spawn_listening(command, "azurite-blob", "listens on ", |c| {
            Box::new(c.stdout.take().unwrap())
        });
        Self {
            child,
            endpoint: format!("{url}/{AZURITE_ACCOUNT}"),
        }
    }

    pub(crate) fn connection_string(&self) -> String {
        format!(
            "DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};BlobEndpoint={};",
            self.endpoint
        )
    }

    /// Runs Python with the official SDK (azure-storage-blob) against this Azurite, with
    /// `AZURITE` (a connection string) and `CONTAINER` in its environment; returns stdout.
    pub(crate) fn python(&self, container: &str, script: &str) -> String {
        official_python(
            script,
            &[
                ("AZURITE", &self.connection_string()),
                ("CONTAINER", container),
            ],
        )
    }

    /// Creates `container` with the official SDK.
    pub(crate) fn create_container(&self, container: &str) {
        self.python(
            container,
            "import os\n\
             from azure.storage.blob import BlobServiceClient\n\
             BlobServiceClient.from_connection_string(os.environ['AZURITE']).create_container(os.environ['CONTAINER'])",
        );
    }

    /// The container's blobs as `{name: base64 bytes}` (raw, as the customer sees them),
    /// read with the official SDK.
    pub(crate) fn blobs(&self, container: &str) -> Value {
        let listing = self.python(
            container,
            "import base64, json, os\n\
             from azure.storage.blob import BlobServiceClient\n\
             c = BlobServiceClient.from_connection_string(os.environ['AZURITE']).get_container_client(os.environ['CONTAINER'])\n\
             print(json.dumps({b.name: base64.b64encode(c.download_blob(b.name).readall()).decode() for b in c.list_blobs()}))",
        );
        serde_json::from_str(&listing).unwrap()
    }

    /// Platform storage in `container` under `prefix`.
    pub(crate) fn store_config(&self, container: &str, prefix: &str) -> BlobStoreConfig {
        store_config(
            &format!("az://{container}/{prefix}"),
            &[
                ("account_name", AZURITE_ACCOUNT),
                ("access_key", AZURITE_KEY),
                ("endpoint", &self.endpoint),
                ("allow_http", "true"),
            ],
        )
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// moto's S3 server on a free port, in memory, without authentication checks; stopped on
/// drop.
pub(crate) struct S3Server {
    child: Child,
    /// `http://127.0.0.1:{port}`.
    pub(crate) endpoint: String,
}

impl S3Server {
    pub(crate) fn start() -> Self {
        let python = repo_root().join(".venv-interop/bin/python");
        assert!(
            python.exists(),
            "the test venv is missing: run scripts/setup-interop ({} is missing)",
            python.display()
        );
        let mut command = Command::new(python);
        command
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // Werkzeug announces ` * Running on http://127.0.0.1:PORT` (and logs requests) on stderr.
        let (child, endpoint) = spawn_listening(command, "moto.server", "Running on ", |c| {
            Box::new(c.stderr.take().unwrap())
        });
        Self { child, endpoint }
    }

    /// Creates `bucket` through the S3 API (moto takes unsigned requests).
    pub(crate) async fn create_bucket(&self, bucket: &str) {
        let resp = client()
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "create bucket: {resp:?}");
    }

    /// The bucket's multipart uploads that were started and neither completed nor aborted.
    pub(crate) async fn open_multipart_uploads(&self, bucket: &str) -> usize {
        let listing = client()
            .get(format!("{}/{bucket}?uploads", self.endpoint))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(listing.contains("ListMultipartUploadsResult"), "{listing}");
        listing.matches("<Upload>").count()
    }

    /// Platform storage in `bucket` under `prefix`.
    pub(crate) fn store_config(&self, bucket: &str, prefix: &str) -> BlobStoreConfig {
        store_config(
            &format!("s3://{bucket}/{prefix}"),
            &[
                ("endpoint", &self.endpoint),
                ("access_key_id", "atrest-test"),
                ("secret_access_key", "atrest-test-secret"),
                ("region", "us-east-1"),
                ("allow_http", "true"),
            ],
        )
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// A plain-HTTP client for moto's API.
fn client() -> reqwest::Client {
    atrest_server::install_crypto_provider();
    reqwest::Client::new()
}

pub(crate) fn store_config(url: &str, options: &[(&str, &str)]) -> BlobStoreConfig {
    BlobStoreConfig {
        url: url.to_owned(),
        options: options
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

/// The objects of one region's platform storage, reached the way the server reaches them:
/// `{dir}/{region}/` for local files, `{prefix}/{region}/` in a bucket or container.
pub(crate) enum RegionObjects {
    /// The region's folder (made by the server on first use).
    Local(PathBuf),
    /// The store and `{prefix}/{region}`.
    Remote(Arc<dyn ObjectStore>, Path),
}

impl RegionObjects {
    /// The store of `region` under `config` (the server's validated settings).
    pub(crate) fn new(config: &AccountsConfig, region: &str) -> Self {
        match config.storage_for(region) {
            BlobBackend::Local(root) => Self::Local(root.join(region)),
            BlobBackend::Remote(remote) => {
                Self::Remote(remote.store().clone(), remote.prefix().clone().join(region))
            }
        }
    }

    /// The client and the prefix; `None` for a local region nothing was written to yet.
    fn store(&self) -> Option<(Arc<dyn ObjectStore>, Path)> {
        match self {
            Self::Local(dir) => {
                let store = LocalFileSystem::new_with_prefix(dir).ok()?;
                Some((Arc::new(store), Path::default()))
            }
            Self::Remote(store, prefix) => Some((store.clone(), prefix.clone())),
        }
    }

    /// Every stored object: name → its raw (encrypted) bytes.
    pub(crate) async fn all(&self) -> BTreeMap<String, Vec<u8>> {
        let Some((store, prefix)) = self.store() else {
            return BTreeMap::new();
        };
        let metas: Vec<_> = store.list(Some(&prefix)).try_collect().await.unwrap();
        let mut objects = BTreeMap::new();
        for meta in metas {
            let bytes = store
                .get(&meta.location)
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let name = meta.location.filename().unwrap().to_owned();
            objects.insert(name, bytes.to_vec());
        }
        objects
    }

    /// Replaces the stored bytes of object `name` (to tamper with it).
    pub(crate) async fn overwrite(&self, name: &str, bytes: Vec<u8>) {
        let (store, prefix) = self.store().expect("the region has objects");
        store
            .put(&prefix.join(name), PutPayload::from(bytes))
            .await
            .unwrap();
    }
}
