//! Blob stores: where encrypted objects live — local files, Azure Blob or S3.
//!
//! A store is configured by a [`BlobStoreConfig`]: a URL that picks the backend and the place
//! in it, and an `options` map handed to `object_store`'s builder for that backend:
//!
//! | `url` | backend |
//! |---|---|
//! | `file:///var/lib/atrest/blobs` | local files below that directory (written by the caller: staging file, fsync, rename) |
//! | `s3://bucket/optional/prefix` (also `s3a://`, `https://s3.….amazonaws.com/bucket/…`) | S3 or an S3-compatible service |
//! | `az://container/optional/prefix` (also `azure://`, `abfs[s]://`, `https://{account}.blob.core.windows.net/container/…`) | Azure Blob Storage |
//!
//! [`BlobStoreConfig::open`] checks everything it can without a request (scheme, bucket,
//! option names, plain HTTP) and builds the client: a [`BlobBackend`].
//!
//! [`put_stream`] writes a stream of any size to a remote store in constant memory. Up to one
//! part it is a single atomic `PUT`; past that a multipart upload (S3 multipart upload, Azure
//! Put Block + Put Block List) that becomes visible only when it completes. A failed input,
//! a failed store or a dropped future aborts the upload, so no part of it is ever visible.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::path::Path;
use object_store::{ClientConfigKey, ObjectStore, ObjectStoreExt, ObjectStoreScheme};
use object_store::{PutPayload, RetryConfig, WriteMultipart};
use serde::{Deserialize, Deserializer};
use url::Url;

/// Size of the parts of a multipart upload, and the largest object written with one `PUT`.
/// S3 wants parts of at least 5 MiB (but the last); Azure blocks may be up to 4000 MiB.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// Parts uploaded concurrently by one [`put_stream`]; with the part being filled, the memory
/// an upload holds is at most `(PART_UPLOADS + 1) * PART_SIZE`.
const PART_UPLOADS: usize = 2;

/// How long a request to a remote store is retried (with backoff) before it fails, unless
/// `retry_timeout_secs` says otherwise. `object_store`'s own default, 3 minutes, is longer
/// than a client should wait for an answer.
pub const RETRY_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a store's objects go: a URL naming the backend (see the [module docs](self)) and the
/// options of `object_store`'s builder for it (`endpoint`, `region`, `access_key_id`,
/// `secret_access_key`, `account_name`, `access_key`, `allow_http`, …), plus two of atrest's
/// own: `max_retries` (default 10) and `retry_timeout_secs` (default [`RETRY_TIMEOUT`]).
///
/// Its `Debug` shows neither option values that may be secrets nor a URL's password or query.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobStoreConfig {
    /// `file:///dir`, `s3://bucket/prefix` or `az://container/prefix`.
    pub url: String,
    /// Builder options; values may be written as strings, booleans or integers.
    #[serde(default, deserialize_with = "string_map")]
    pub options: BTreeMap<String, String>,
}

impl BlobStoreConfig {
    /// Local files below `dir` (an absolute path).
    pub fn local(dir: &std::path::Path) -> Self {
        let url = Url::from_directory_path(dir)
            .map(String::from)
            .unwrap_or_else(|()| format!("file://{}", dir.display()));
        Self {
            url,
            options: BTreeMap::new(),
        }
    }

    /// Checks the setting (called `setting` in messages, e.g. `accounts.platform_storage`)
    /// and builds its client. Makes no request: an unreachable store is found at first use.
    pub fn open(&self, setting: &str) -> Result<BlobBackend, BlobConfigError> {
        let err = |problem| BlobConfigError {
            setting: setting.to_owned(),
            problem,
        };
        let url = Url::parse(&self.url).map_err(|e| {
            err(Problem::NotAUrl {
                url: redact_url(&self.url),
                reason: e,
            })
        })?;
        if url.scheme() == "file" {
            if !self.options.is_empty() {
                return Err(err(Problem::LocalOptions));
            }
            let dir = url
                .to_file_path()
                .map_err(|()| err(Problem::LocalPath(redact_url(&self.url))))?;
            return Ok(BlobBackend::Local(dir));
        }
        let kind = match url.scheme() {
            "s3" | "s3a" => Some(RemoteKind::S3),
            "az" | "azure" | "adl" | "abfs" | "abfss" => Some(RemoteKind::AzureBlob),
            _ => None,
        };
        if let Some(kind) = kind {
            if url.host_str().is_none_or(str::is_empty) {
                return Err(err(Problem::MissingBucket(kind)));
            }
        }
        let (kind, prefix) = match ObjectStoreScheme::parse(&url) {
            Ok((ObjectStoreScheme::AmazonS3, prefix)) => (RemoteKind::S3, prefix),
            Ok((ObjectStoreScheme::MicrosoftAzure, prefix)) => (RemoteKind::AzureBlob, prefix),
            _ => return Err(err(Problem::UnsupportedScheme(url.scheme().to_owned()))),
        };
        let mut plain_endpoint = None;
        let mut allow_http = false;
        let mut retry = RetryConfig {
            retry_timeout: RETRY_TIMEOUT,
            ..RetryConfig::default()
        };
        let mut client_options = Vec::new();
        for (key, value) in &self.options {
            let number = || {
                value.parse::<u64>().map_err(|_| {
                    err(Problem::NotANumber {
                        key: key.clone(),
                        value: value.clone(),
                    })
                })
            };
            match key.to_ascii_lowercase().as_str() {
                "max_retries" => {
                    retry.max_retries = number()? as usize;
                    continue;
                }
                "retry_timeout_secs" => {
                    retry.retry_timeout = Duration::from_secs(number()?);
                    continue;
                }
                _ => {}
            }
            match kind.option(key) {
                Some(OptionKind::Endpoint) if value.starts_with("http://") => {
                    plain_endpoint = Some(value.clone());
                }
                Some(OptionKind::AllowHttp) => allow_http = value.eq_ignore_ascii_case("true"),
                Some(OptionKind::Place) => {
                    return Err(err(Problem::PlaceOption {
                        key: key.clone(),
                        kind,
                    }))
                }
                Some(_) => {}
                None => {
                    return Err(err(Problem::UnknownOption {
                        key: key.clone(),
                        kind,
                    }))
                }
            }
            client_options.push((key.to_ascii_lowercase(), value.clone()));
        }
        if let (Some(endpoint), false) = (plain_endpoint, allow_http) {
            return Err(err(Problem::PlainHttp(endpoint)));
        }
        // What `object_store::parse_url_opts` does, plus the retry settings it cannot take.
        let store: Arc<dyn ObjectStore> = match kind {
            RemoteKind::S3 => Arc::new(
                client_options
                    .into_iter()
                    .filter_map(|(k, v)| Some((k.parse::<AmazonS3ConfigKey>().ok()?, v)))
                    .fold(
                        AmazonS3Builder::new().with_url(url.as_str()),
                        |b, (k, v)| b.with_config(k, v),
                    )
                    .with_retry(retry)
                    .build()
                    .map_err(|e| err(Problem::Client(e)))?,
            ),
            RemoteKind::AzureBlob => Arc::new(
                client_options
                    .into_iter()
                    .filter_map(|(k, v)| Some((k.parse::<AzureConfigKey>().ok()?, v)))
                    .fold(
                        MicrosoftAzureBuilder::new().with_url(url.as_str()),
                        |b, (k, v)| b.with_config(k, v),
                    )
                    .with_retry(retry)
                    .build()
                    .map_err(|e| err(Problem::Client(e)))?,
            ),
        };
        Ok(BlobBackend::Remote(RemoteStore {
            store,
            prefix,
            kind,
            url: redact_url(&self.url),
        }))
    }
}

impl fmt::Debug for BlobStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options: BTreeMap<&str, &str> = self
            .options
            .iter()
            .map(|(k, v)| {
                let shown = if NOT_SECRET.contains(&k.to_ascii_lowercase().as_str()) {
                    v.as_str()
                } else {
                    "<redacted>"
                };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("BlobStoreConfig")
            .field("url", &redact_url(&self.url))
            .field("options", &options)
            .finish()
    }
}

/// Options whose values `Debug` shows; every other value is hidden.
const NOT_SECRET: &[&str] = &[
    "max_retries",
    "retry_timeout_secs",
    "endpoint",
    "endpoint_url",
    "aws_endpoint",
    "aws_endpoint_url",
    "azure_endpoint",
    "azure_storage_endpoint",
    "region",
    "aws_region",
    "default_region",
    "aws_default_region",
    "allow_http",
    "aws_allow_http",
    "azure_allow_http",
    "account_name",
    "azure_storage_account_name",
    "use_emulator",
    "azure_storage_use_emulator",
    "virtual_hosted_style_request",
    "aws_virtual_hosted_style_request",
    "timeout",
    "connect_timeout",
];

/// The URL without password or query (where a SAS token would be).
fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("redacted"));
            }
            url.set_query(None);
            url.into()
        }
        Err(_) => "<not a URL>".into(),
    }
}

/// A configured store, ready to use.
#[derive(Debug, Clone)]
pub enum BlobBackend {
    /// Local files below this directory. The caller writes them (durably: staging file,
    /// fsync, rename) and may read them with `object_store`'s `LocalFileSystem`.
    Local(PathBuf),
    /// An object store and the prefix every key of this configuration goes under.
    Remote(RemoteStore),
}

/// A remote object store (S3 or Azure Blob) and the prefix of the configured place in it.
#[derive(Clone)]
pub struct RemoteStore {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    kind: RemoteKind,
    url: String,
}

impl RemoteStore {
    /// The client.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The prefix from the URL (empty for the bucket's or container's root).
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// Which service it is.
    pub fn kind(&self) -> RemoteKind {
        self.kind
    }

    /// The configured URL (without password or query), for messages and logs.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl fmt::Debug for RemoteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteStore")
            .field("kind", &self.kind)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The remote services a store may be on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemoteKind {
    /// Amazon S3 or an S3-compatible service.
    S3,
    /// Azure Blob Storage (or Azurite).
    AzureBlob,
}

/// What an option does, as far as the checks here care.
enum OptionKind {
    Endpoint,
    AllowHttp,
    /// Bucket or container: those belong in the URL.
    Place,
    Other,
}

impl RemoteKind {
    fn option(self, key: &str) -> Option<OptionKind> {
        let key = key.to_ascii_lowercase();
        Some(match self {
            Self::S3 => match key.parse::<AmazonS3ConfigKey>().ok()? {
                AmazonS3ConfigKey::Endpoint => OptionKind::Endpoint,
                AmazonS3ConfigKey::Bucket => OptionKind::Place,
                AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp) => OptionKind::AllowHttp,
                _ => OptionKind::Other,
            },
            Self::AzureBlob => match key.parse::<AzureConfigKey>().ok()? {
                AzureConfigKey::Endpoint => OptionKind::Endpoint,
                AzureConfigKey::ContainerName => OptionKind::Place,
                AzureConfigKey::Client(ClientConfigKey::AllowHttp) => OptionKind::AllowHttp,
                _ => OptionKind::Other,
            },
        })
    }

    fn place(self) -> &'static str {
        match self {
            Self::S3 => "bucket",
            Self::AzureBlob => "container",
        }
    }

    fn example(self) -> &'static str {
        match self {
            Self::S3 => "url = \"s3://BUCKET/optional/prefix\"",
            Self::AzureBlob => "url = \"az://CONTAINER/optional/prefix\"",
        }
    }

    fn common_options(self) -> &'static str {
        match self {
            Self::S3 => "region, endpoint, access_key_id, secret_access_key, session_token, allow_http, virtual_hosted_style_request, timeout, max_retries, retry_timeout_secs",
            Self::AzureBlob => "account_name, access_key, sas_token, client_id, client_secret, tenant_id, endpoint, use_emulator, allow_http, timeout, max_retries, retry_timeout_secs",
        }
    }
}

impl fmt::Display for RemoteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::S3 => "S3",
            Self::AzureBlob => "Azure Blob",
        })
    }
}

/// A blob store setting that cannot be used; the message names the setting and says what to
/// write instead.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {problem}")]
pub struct BlobConfigError {
    setting: String,
    problem: Problem,
}

impl BlobConfigError {
    /// The setting, as named by the caller of [`BlobStoreConfig::open`].
    pub fn setting(&self) -> &str {
        &self.setting
    }
}

#[derive(Debug, thiserror::Error)]
enum Problem {
    #[error("url '{url}' is not a URL ({reason}); write e.g. url = \"s3://bucket/prefix\", url = \"az://container/prefix\" or url = \"file:///var/lib/atrest/blobs\"")]
    NotAUrl {
        url: String,
        reason: url::ParseError,
    },
    #[error("url scheme '{0}' is not supported; use s3://bucket/prefix (S3), az://container/prefix (Azure Blob) or file:///absolute/dir (local files)")]
    UnsupportedScheme(String),
    #[error("the url names no {}; write {}", .0.place(), .0.example())]
    MissingBucket(RemoteKind),
    #[error("'{0}' is not a local directory; write url = \"file:///absolute/dir\"")]
    LocalPath(String),
    #[error("local files take no options; remove `options`")]
    LocalOptions,
    #[error("unknown {kind} option '{key}'; common ones are: {}", .kind.common_options())]
    UnknownOption { key: String, kind: RemoteKind },
    #[error("option '{key}' is given by the url; remove it and write {}", .kind.example())]
    PlaceOption { key: String, kind: RemoteKind },
    #[error("endpoint '{0}' is plain HTTP; use https, or set allow_http = \"true\" in options (local test servers only)")]
    PlainHttp(String),
    #[error("option '{key}' must be a whole number, not '{value}'")]
    NotANumber { key: String, value: String },
    #[error("{0}")]
    Client(object_store::Error),
}

fn string_map<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Value {
        String(String),
        Bool(bool),
        Int(i64),
    }
    let map = BTreeMap::<String, Value>::deserialize(deserializer)?;
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s,
                Value::Bool(b) => b.to_string(),
                Value::Int(i) => i.to_string(),
            };
            (k, v)
        })
        .collect())
}

/// Why [`put_stream`] failed. Either way nothing was written at the location.
#[derive(Debug, thiserror::Error)]
pub enum PutStreamError {
    /// The input stream failed.
    #[error("the input failed: {0}")]
    Input(io::Error),
    /// The store refused or could not be reached.
    #[error("the store failed: {0}")]
    Store(object_store::Error),
}

/// Writes `stream` as the object at `location`; returns the bytes written once the store has
/// acknowledged the whole object. Memory stays below `(PART_UPLOADS + 1) * PART_SIZE` plus
/// one input chunk whatever the object's size.
///
/// Up to [`PART_SIZE`] bytes go up in one `PUT` (buffered); a longer stream in a multipart upload of
/// [`PART_SIZE`] parts, visible only once completed. When the input fails, the store fails or
/// the future is dropped, the upload is aborted: nothing becomes visible.
pub async fn put_stream<S>(
    store: &dyn ObjectStore,
    location: &Path,
    stream: S,
) -> Result<u64, PutStreamError>
where
    S: Stream<Item = io::Result<Bytes>> + Send,
{
    let mut stream = std::pin::pin!(stream);
    let mut first = Vec::new();
    let mut written = 0u64;
    while written <= PART_SIZE as u64 {
        match stream.next().await {
            Some(Ok(chunk)) => {
                written += chunk.len() as u64;
                first.push(chunk);
            }
            Some(Err(e)) => return Err(PutStreamError::Input(e)),
            None => {
                let payload: PutPayload = first.into_iter().collect();
                store
                    .put(location, payload)
                    .await
                    .map_err(PutStreamError::Store)?;
                return Ok(written);
            }
        }
    }
    let upload = store
        .put_multipart(location)
        .await
        .map_err(PutStreamError::Store)?;
    let mut upload = Upload(Some(WriteMultipart::new_with_chunk_size(upload, PART_SIZE)));
    for chunk in first {
        upload.put(chunk).await?;
    }
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                written += chunk.len() as u64;
                upload.put(chunk).await?;
            }
            Err(e) => {
                upload.abort().await;
                return Err(PutStreamError::Input(e));
            }
        }
    }
    upload.finish().await?;
    Ok(written)
}

/// A multipart upload that is aborted unless it finishes (also when dropped mid-way).
struct Upload(Option<WriteMultipart>);

impl Upload {
    async fn put(&mut self, chunk: Bytes) -> Result<(), PutStreamError> {
        let Some(writer) = self.0.as_mut() else {
            return Ok(());
        };
        if let Err(e) = writer.wait_for_capacity(PART_UPLOADS).await {
            self.abort().await;
            return Err(PutStreamError::Store(e));
        }
        writer.put(chunk);
        Ok(())
    }

    async fn abort(&mut self) {
        if let Some(writer) = self.0.take() {
            if let Err(e) = writer.abort().await {
                tracing::warn!(error = %e, "could not abort a multipart upload; its parts stay invisible until the store expires them");
            }
        }
    }

    async fn finish(mut self) -> Result<(), PutStreamError> {
        match self.0.take() {
            Some(writer) => writer
                .finish()
                .await
                .map(drop)
                .map_err(PutStreamError::Store),
            None => Ok(()),
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(writer) = self.0.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = writer.abort().await;
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;
    use object_store::{MultipartUpload, PutMultipartOptions, PutOptions, PutResult};

    use super::*;

    fn config(url: &str, options: &[(&str, &str)]) -> BlobStoreConfig {
        BlobStoreConfig {
            url: url.into(),
            options: options
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    fn open_err(url: &str, options: &[(&str, &str)]) -> String {
        config(url, options)
            .open("accounts.platform_storage")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn backends_by_url() {
        let dir = tempfile::tempdir().unwrap();
        match BlobStoreConfig::local(dir.path()).open("s").unwrap() {
            BlobBackend::Local(path) => assert_eq!(path, dir.path()),
            other => panic!("{other:?}"),
        }
        let s3 = config(
            "s3://bucket/some/prefix",
            &[
                ("endpoint", "http://127.0.0.1:9000"),
                ("allow_http", "true"),
                ("access_key_id", "AKID"),
                ("secret_access_key", "SECRET"),
                ("region", "us-east-1"),
            ],
        );
        match s3.open("s").unwrap() {
            BlobBackend::Remote(remote) => {
                assert_eq!(remote.kind(), RemoteKind::S3);
                assert_eq!(remote.prefix().as_ref(), "some/prefix");
            }
            other => panic!("{other:?}"),
        }
        for url in ["az://container/p", "azure://container/p"] {
            let az = config(
                url,
                &[
                    ("account_name", "devstoreaccount1"),
                    ("access_key", "a2V5"),
                    ("endpoint", "http://127.0.0.1:10000/devstoreaccount1"),
                    ("allow_http", "true"),
                ],
            );
            match az.open("s").unwrap() {
                BlobBackend::Remote(remote) => {
                    assert_eq!(remote.kind(), RemoteKind::AzureBlob);
                    assert_eq!(remote.prefix().as_ref(), "p");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn unusable_settings_say_what_to_write() {
        for (url, options, needles) in [
            (
                "gs://b/p",
                &[][..],
                &["accounts.platform_storage", "'gs'", "s3://"][..],
            ),
            ("s3:///prefix", &[], &["names no bucket", "s3://BUCKET"]),
            (
                "az:///prefix",
                &[],
                &["names no container", "az://CONTAINER"],
            ),
            ("bucket/prefix", &[], &["not a URL", "s3://bucket/prefix"]),
            ("file:///d", &[("region", "x")], &["take no options"]),
            (
                "s3://b",
                &[("acess_key_id", "x")],
                &["unknown S3 option 'acess_key_id'", "access_key_id"],
            ),
            (
                "s3://b",
                &[("bucket", "c")],
                &["'bucket' is given by the url"],
            ),
            (
                "s3://b",
                &[("endpoint", "http://127.0.0.1:1")],
                &["plain HTTP", "allow_http = \"true\""],
            ),
            ("az://c", &[], &["account"]),
            (
                "s3://b",
                &[("max_retries", "many")],
                &["'max_retries' must be a whole number"],
            ),
        ] {
            let message = open_err(url, options);
            for needle in needles {
                assert!(message.contains(needle), "{url}: {message}");
            }
        }
    }

    #[test]
    fn debug_shows_no_secrets() {
        let c = config(
            "az://c@acct.blob.core.windows.net/p?sig=SASSECRET",
            &[
                ("access_key", "KEYSECRET"),
                ("secret_access_key", "S3SECRET"),
                ("endpoint", "https://e.example"),
            ],
        );
        let shown = format!("{c:?}");
        for secret in ["SASSECRET", "KEYSECRET", "S3SECRET"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("https://e.example"), "{shown}");
        let open = config(
            "s3://b",
            &[("secret_access_key", "S3SECRET"), ("access_key_id", "ID")],
        )
        .open("s")
        .unwrap();
        assert!(!format!("{open:?}").contains("S3SECRET"));
    }

    #[test]
    fn options_from_toml_take_plain_values() {
        #[derive(Deserialize)]
        struct Doc {
            store: BlobStoreConfig,
        }
        let doc: Doc = toml::from_str(
            r#"store = { url = "s3://b", options = { allow_http = true, timeout = "5s", retries = 3 } }"#,
        )
        .unwrap();
        assert_eq!(doc.store.options["allow_http"], "true");
        assert_eq!(doc.store.options["timeout"], "5s");
        assert_eq!(doc.store.options["retries"], "3");
        assert!(toml::from_str::<Doc>(r#"store = { url = "s3://b", option = {} }"#).is_err());
    }

    fn chunks(len: usize, chunk: usize) -> (Vec<u8>, Vec<io::Result<Bytes>>) {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let chunks = data
            .chunks(chunk)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        (data, chunks)
    }

    /// Counts multipart uploads started on an inner store.
    #[derive(Debug, Default)]
    struct Counting {
        inner: InMemory,
        multipart: std::sync::atomic::AtomicUsize,
    }

    impl fmt::Display for Counting {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("Counting")
        }
    }

    #[async_trait::async_trait]
    impl ObjectStore for Counting {
        async fn put_opts(
            &self,
            location: &Path,
            payload: PutPayload,
            opts: PutOptions,
        ) -> object_store::Result<PutResult> {
            self.inner.put_opts(location, payload, opts).await
        }
        async fn put_multipart_opts(
            &self,
            location: &Path,
            opts: PutMultipartOptions,
        ) -> object_store::Result<Box<dyn MultipartUpload>> {
            self.multipart
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.inner.put_multipart_opts(location, opts).await
        }
        async fn get_opts(
            &self,
            location: &Path,
            options: object_store::GetOptions,
        ) -> object_store::Result<object_store::GetResult> {
            self.inner.get_opts(location, options).await
        }
        fn delete_stream(
            &self,
            locations: futures_util::stream::BoxStream<'static, object_store::Result<Path>>,
        ) -> futures_util::stream::BoxStream<'static, object_store::Result<Path>> {
            self.inner.delete_stream(locations)
        }
        fn list(
            &self,
            prefix: Option<&Path>,
        ) -> futures_util::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>>
        {
            self.inner.list(prefix)
        }
        async fn list_with_delimiter(
            &self,
            prefix: Option<&Path>,
        ) -> object_store::Result<object_store::ListResult> {
            self.inner.list_with_delimiter(prefix).await
        }
        async fn copy_opts(
            &self,
            from: &Path,
            to: &Path,
            options: object_store::CopyOptions,
        ) -> object_store::Result<()> {
            self.inner.copy_opts(from, to, options).await
        }
    }

    #[tokio::test]
    async fn small_objects_in_one_put_large_ones_in_parts() {
        let store = Counting::default();
        for (len, multipart) in [(0, 0), (1000, 0), (PART_SIZE, 0), (PART_SIZE * 2 + 7, 1)] {
            let (data, input) = chunks(len, 65_536);
            let path = Path::from(format!("o{len}"));
            let n = put_stream(&store, &path, futures_util::stream::iter(input))
                .await
                .unwrap();
            assert_eq!(n, len as u64);
            let read = store.get(&path).await.unwrap().bytes().await.unwrap();
            assert_eq!(&read[..], &data[..]);
            assert_eq!(
                store.multipart.swap(0, std::sync::atomic::Ordering::SeqCst),
                multipart,
                "{len}"
            );
        }
    }

    #[tokio::test]
    async fn a_failing_input_leaves_nothing() {
        let store = InMemory::new();
        for len in [100, PART_SIZE * 3] {
            let (_, mut input) = chunks(len, 65_536);
            input.push(Err(io::Error::other("client went away")));
            let path = Path::from("o");
            let err = put_stream(&store, &path, futures_util::stream::iter(input))
                .await
                .unwrap_err();
            assert!(matches!(err, PutStreamError::Input(_)), "{err}");
            assert!(store.list(None).next().await.is_none(), "nothing visible");
        }
    }
}
