//! Tests of the blob-store settings and the streamed writer.

use object_store::memory::InMemory;
use object_store::{MultipartUpload, PutMultipartOptions, PutOptions, PutResult};

use std::io;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::{ObjectStoreExt, PutPayload};

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
