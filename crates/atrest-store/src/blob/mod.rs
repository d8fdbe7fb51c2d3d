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
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::path::Path;
use object_store::RetryConfig;
use object_store::{ClientConfigKey, ObjectStore, ObjectStoreScheme};
use serde::{Deserialize, Deserializer};
use url::Url;

#[cfg(test)]
mod tests;
mod write;

pub use write::{put_stream, PutStreamError};

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
