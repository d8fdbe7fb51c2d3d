//! Platform storage, one store per region, and the customers' own containers (BYOS).
//!
//! A region's store is local files (the default: `{data_dir}/blobs/{region}`), or a prefix of
//! an Azure Blob container or S3 bucket (`{prefix}/{region}/{key}`), as configured by
//! `platform_storage` / `region_storage` (see [`atrest_store::blob`]).
//!
//! Durability. Local files are written by [`crate::durable_file`] (staging file, fsync,
//! rename into place, fsync of the directory before returning); `LocalFileSystem` is opened
//! `with_fsync(true)` for anything else it writes. Objects live flat in the region folder
//! (created and fsynced here), so no new directory entry is left unsynced. Remote objects are
//! written by [`atrest_store::blob::put_stream`]: one `PUT` or a multipart upload that
//! becomes visible only when the store acknowledges its completion. Either way an object
//! becomes visible to clients only through its metadata row, committed after the blob is
//! durable, so `kill -9` at any moment leaves no half object visible (an orphaned blob is
//! unreachable garbage).

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use atrest_store::blob::{BlobBackend, PutStreamError};
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};

use crate::config::AccountsConfig;
use crate::durable_file::{self, WriteError};
use crate::error::Error;
use crate::model::Account;
use crate::user_store::{StreamError, UserStore};

/// Every region's store, and the customers' registered containers (BYOS). Callers name an
/// object by its key; the key says where it lives (see [`BlobStores::new_object_key`]).
#[derive(Debug)]
pub(crate) struct BlobStores {
    platform: BlobBackend,
    by_region: BTreeMap<String, BlobBackend>,
    allowed: Vec<String>,
    stores: Mutex<HashMap<String, Arc<RegionStore>>>,
    user: HashMap<String, Arc<UserStore>>,
}

/// Keys of objects in a customer's container: `uos:{registration}:{account}.{object}`.
const USER_PREFIX: &str = "uos:";

/// Where a key points.
enum Place<'a> {
    Region(Arc<RegionStore>, &'a str),
    User(&'a UserStore, &'a str),
}

/// The store of one region.
#[derive(Debug)]
pub(crate) struct RegionStore {
    region: String,
    backend: Backend,
}

/// Where a region's objects are.
enum Backend {
    /// Files in `{dir}/{region}`, written by [`durable_file`].
    Local(LocalFileSystem),
    /// Objects `{prefix}/{region}/{key}` of a bucket or container.
    Remote {
        store: Arc<dyn ObjectStore>,
        /// `{prefix}/{region}`.
        prefix: Path,
        /// The configured URL, for logs.
        url: String,
    },
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local(store) => f.debug_tuple("Local").field(store).finish(),
            // The client's own Debug would show its credentials.
            Self::Remote { prefix, url, .. } => f
                .debug_struct("Remote")
                .field("url", url)
                .field("prefix", prefix)
                .finish_non_exhaustive(),
        }
    }
}

impl BlobStores {
    /// The stores `config` names: platform storage for its regions (any region when it lists
    /// none) and the registered customer containers.
    pub(crate) fn new(config: &AccountsConfig) -> Result<Self, Error> {
        let user = config
            .storage_accounts
            .iter()
            .map(|u| Ok((u.name.clone(), Arc::new(UserStore::new(u)?))))
            .collect::<Result<_, Error>>()?;
        Ok(Self {
            platform: config.platform_storage.clone(),
            by_region: config.region_storage.clone(),
            allowed: config.regions.clone(),
            stores: Mutex::new(HashMap::new()),
            user,
        })
    }

    /// The registered container with this `userOwnedStorage` resource id.
    pub(crate) fn user_store(&self, resource_id: &str) -> Option<&Arc<UserStore>> {
        self.user
            .values()
            .find(|u| u.config.resource_id.eq_ignore_ascii_case(resource_id))
    }

    /// The key for a new object of `account`: in its own container when it has one, else in
    /// its region's store.
    pub(crate) fn new_object_key(
        &self,
        account: &Account,
        object_id: &str,
    ) -> Result<String, Error> {
        let Some(resource_id) = &account.user_owned_storage else {
            return Ok(format!("{}.{object_id}", account.id));
        };
        let store = self
            .user_store(resource_id)
            .ok_or_else(|| unregistered(resource_id))?;
        Ok(format!(
            "{USER_PREFIX}{}:{}.{object_id}",
            store.config.name, account.id
        ))
    }

    fn place<'a>(&'a self, account: &Account, key: &'a str) -> Result<Place<'a>, Error> {
        let Some(rest) = key.strip_prefix(USER_PREFIX) else {
            return Ok(Place::Region(self.for_account(account)?, key));
        };
        let (name, object) = rest
            .split_once(':')
            .ok_or_else(|| Error::internal(io::Error::other("malformed object key")))?;
        let store = self.user.get(name).ok_or_else(|| unregistered(name))?;
        Ok(Place::User(store, object))
    }

    /// Writes a stream as object `key`; durable when this returns. Returns the bytes written.
    pub(crate) async fn put_stream<S>(
        &self,
        account: &Account,
        key: &str,
        stream: S,
    ) -> Result<u64, Error>
    where
        S: Stream<Item = io::Result<Bytes>> + Send,
    {
        match self.place(account, key)? {
            Place::Region(store, key) => store.put_stream(account, key, stream).await,
            Place::User(store, key) => match store.put_stream(key, stream).await {
                Ok(n) => Ok(n),
                Err(StreamError::Input(e)) => Err(io_error(e)),
                Err(StreamError::Store(e)) => Err(e),
            },
        }
    }

    /// Streams a byte range of an object (the whole object when `range` is `None`).
    pub(crate) async fn get(
        &self,
        account: &Account,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, io::Result<Bytes>>, Error> {
        match self.place(account, key)? {
            Place::Region(store, key) => store.get(account, key, range).await,
            Place::User(store, key) => store.get(key, range).await,
        }
    }

    /// Reads a whole (small) object.
    pub(crate) async fn get_bytes(
        &self,
        account: &Account,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<Bytes, Error> {
        let mut stream = self.get(account, key, range).await?;
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out.into())
    }

    /// Deletes an object (missing is fine).
    pub(crate) async fn delete(&self, account: &Account, key: &str) -> Result<(), Error> {
        match self.place(account, key)? {
            Place::Region(store, key) => store.delete(account, key).await,
            Place::User(store, key) => store.delete(key).await,
        }
    }

    /// The store of the account's region.
    pub(crate) fn for_account(&self, account: &Account) -> Result<Arc<RegionStore>, Error> {
        self.for_region(&account.location)
    }

    /// The store of a region, created on first use.
    pub(crate) fn for_region(&self, region: &str) -> Result<Arc<RegionStore>, Error> {
        if !self.allowed.is_empty() && !self.allowed.iter().any(|r| r == region) {
            return Err(Error::BadRequest(format!(
                "no data store is configured for region '{region}'"
            )));
        }
        let mut stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(store) = stores.get(region) {
            return Ok(store.clone());
        }
        let backend = match self.by_region.get(region).unwrap_or(&self.platform) {
            BlobBackend::Local(root) => Backend::Local(open_local(&root.join(region))?),
            BlobBackend::Remote(remote) => Backend::Remote {
                store: remote.store().clone(),
                prefix: remote.prefix().clone().join(region),
                url: remote.url().to_owned(),
            },
        };
        let store = Arc::new(RegionStore {
            region: region.to_owned(),
            backend,
        });
        stores.insert(region.to_owned(), store.clone());
        Ok(store)
    }
}

/// The folder `dir` of a region's local files, created (and its entry synced) if need be.
fn open_local(dir: &std::path::Path) -> Result<LocalFileSystem, Error> {
    std::fs::create_dir_all(dir)?;
    // First use of this region in this process: no upload can be writing here yet, so any
    // staging file is what a crash left behind.
    durable_file::remove_staging_files(dir)?;
    for d in [
        Some(dir),
        dir.parent(),
        dir.parent().and_then(|p| p.parent()),
    ]
    .into_iter()
    .flatten()
    {
        std::fs::File::open(d)?.sync_all()?;
    }
    Ok(LocalFileSystem::new_with_prefix(dir)?.with_fsync(true))
}

impl RegionStore {
    fn check(&self, account: &Account) -> Result<(), Error> {
        if account.location == self.region {
            Ok(())
        } else {
            Err(Error::CrossRegion {
                account: account.location.clone(),
                store: self.region.clone(),
            })
        }
    }

    /// The client and the object's path in it.
    fn locate(&self, key: &str) -> (&dyn ObjectStore, Path) {
        match &self.backend {
            Backend::Local(store) => (store as &dyn ObjectStore, Path::from(key)),
            Backend::Remote { store, prefix, .. } => (store.as_ref(), prefix.clone().join(key)),
        }
    }

    /// A failure of the store: unavailable (503) when remote, internal when local or when
    /// the object is missing (its metadata row says it exists).
    fn failed(&self, err: object_store::Error) -> Error {
        match (&self.backend, err) {
            (Backend::Remote { .. }, err @ object_store::Error::NotFound { .. })
            | (Backend::Local(_), err) => err.into(),
            (Backend::Remote { .. }, err) => Error::StorageUnavailable {
                region: self.region.clone(),
                source: Arc::new(err),
            },
        }
    }

    /// Writes a stream as one object; durable when this returns. Returns the bytes written.
    /// Local files are written beside `object_store` (which reads, ranges and deletes) by
    /// [`durable_file`], which overlaps the disk writes with the transfer.
    pub(crate) async fn put_stream<S>(
        &self,
        account: &Account,
        key: &str,
        stream: S,
    ) -> Result<u64, Error>
    where
        S: Stream<Item = io::Result<Bytes>> + Send,
    {
        self.check(account)?;
        match &self.backend {
            Backend::Local(store) => {
                let path = store
                    .path_to_filesystem(&Path::from(key))
                    .map_err(Error::internal)?;
                match durable_file::write(&path, stream).await {
                    Ok(written) => Ok(written),
                    Err(WriteError::Input(e)) => Err(io_error(e)),
                    Err(WriteError::Output(e)) => Err(Error::internal(e)),
                }
            }
            Backend::Remote { store, prefix, .. } => {
                match atrest_store::blob::put_stream(
                    store.as_ref(),
                    &prefix.clone().join(key),
                    stream,
                )
                .await
                {
                    Ok(written) => Ok(written),
                    Err(PutStreamError::Input(e)) => Err(io_error(e)),
                    Err(PutStreamError::Store(e)) => Err(self.failed(e)),
                }
            }
        }
    }

    /// Streams a byte range of an object (the whole object when `range` is `None`).
    pub(crate) async fn get(
        &self,
        account: &Account,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, io::Result<Bytes>>, Error> {
        self.check(account)?;
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        let (store, path) = self.locate(key);
        let result = store
            .get_opts(&path, options)
            .await
            .map_err(|e| self.failed(e))?;
        Ok(result.into_stream().map_err(io::Error::other).boxed())
    }

    /// Deletes an object (missing is fine).
    pub(crate) async fn delete(&self, account: &Account, key: &str) -> Result<(), Error> {
        self.check(account)?;
        let (store, path) = self.locate(key);
        match store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.failed(e)),
        }
    }
}

fn unregistered(storage: &str) -> Error {
    Error::UserStorage {
        resource_id: storage.to_owned(),
        container: "-".into(),
        reason: "it is not registered with this service (any more): ask the operator to restore its [[accounts.storage_accounts]] entry".into(),
    }
}

fn io_error(err: io::Error) -> Error {
    if err.kind() == io::ErrorKind::InvalidData || err.kind() == io::ErrorKind::Other {
        Error::BadRequest(format!("upload failed: {err}"))
    } else {
        Error::internal(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Encryption, KeyState, OnKeyLoss};

    fn account(location: &str) -> Account {
        Account {
            id: "a".into(),
            name: "n".into(),
            subscription_id: "s".into(),
            resource_group: "g".into(),
            tenant_id: "t".into(),
            location: location.into(),
            kind: "TextTranslation".into(),
            sku: "S0".into(),
            tags: Default::default(),
            identity: None,
            encryption: Encryption::Platform,
            key_vault_name: None,
            cmk_wrapped_version: None,
            cmk_principal: None,
            mmk_version: Some(1),
            key_state: KeyState::Active,
            key_state_reason: None,
            key_state_since: None,
            key_warning: None,
            on_key_loss: OnKeyLoss::Block,
            data_deleted_at: None,
            user_owned_storage: None,
            infrastructure_encryption: false,
            created: 0,
            updated: 0,
        }
    }

    #[tokio::test]
    async fn stream_round_trip_ranges_and_region_fence() {
        let dir = tempfile::tempdir().unwrap();
        let config = AccountsConfig::from_raw(
            Default::default(),
            std::time::Duration::from_secs(30),
            dir.path().to_owned(),
        )
        .unwrap();
        let stores = BlobStores::new(&config).unwrap();
        let west = stores.for_region("westeurope").unwrap();
        let a = account("westeurope");
        let data: Vec<u8> = (0..20_000_000u32).map(|i| i as u8).collect();
        let chunks: Vec<io::Result<Bytes>> = data
            .chunks(1 << 20)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let key = stores.new_object_key(&a, "obj").unwrap();
        assert_eq!(
            key, "a.obj",
            "platform objects are keyed {{account}}.{{object}}"
        );
        let n = stores
            .put_stream(&a, &key, futures_util::stream::iter(chunks))
            .await
            .unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(
            &stores.get_bytes(&a, &key, Some(5..10)).await.unwrap()[..],
            &data[5..10]
        );
        assert_eq!(
            stores.get_bytes(&a, &key, None).await.unwrap().len(),
            data.len()
        );
        let east = account("eastus");
        assert!(matches!(
            west.put_stream(
                &east,
                "x",
                futures_util::stream::iter([Ok(Bytes::from_static(b"x"))])
            )
            .await,
            Err(Error::CrossRegion { .. })
        ));
        stores.delete(&a, &key).await.unwrap();
        stores.delete(&a, &key).await.unwrap();
        assert!(matches!(
            stores.get_bytes(&a, "uos:gone:a.obj", None).await,
            Err(Error::UserStorage { .. })
        ));
    }

    #[tokio::test]
    async fn remote_regions_key_objects_under_prefix_and_region() {
        let memory = Arc::new(object_store::memory::InMemory::new());
        let west = RegionStore {
            region: "westeurope".into(),
            backend: Backend::Remote {
                store: memory.clone(),
                prefix: Path::from("atrest/westeurope"),
                url: "memory:///".into(),
            },
        };
        let a = account("westeurope");
        let data = Bytes::from(vec![7u8; 100_000]);
        let n = west
            .put_stream(&a, "a.obj", futures_util::stream::iter([Ok(data.clone())]))
            .await
            .unwrap();
        assert_eq!(n, data.len() as u64);
        let stored = memory
            .get(&Path::from("atrest/westeurope/a.obj"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(stored, data, "stored at {{prefix}}/{{region}}/{{key}}");
        let mut part = west.get(&a, "a.obj", Some(10..20)).await.unwrap();
        assert_eq!(part.next().await.unwrap().unwrap().len(), 10);

        let east = account("eastus");
        let one = || futures_util::stream::iter([Ok(Bytes::from_static(b"x"))]);
        assert!(matches!(
            west.put_stream(&east, "x", one()).await,
            Err(Error::CrossRegion { .. })
        ));
        assert!(matches!(
            west.get(&east, "a.obj", None).await,
            Err(Error::CrossRegion { .. })
        ));
        assert!(matches!(
            west.delete(&east, "a.obj").await,
            Err(Error::CrossRegion { .. })
        ));
        west.delete(&a, "a.obj").await.unwrap();
        west.delete(&a, "a.obj").await.unwrap();
        assert!(memory.list(None).next().await.is_none());
    }
}
