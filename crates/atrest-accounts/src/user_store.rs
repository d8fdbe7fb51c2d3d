//! A customer's own Azure Blob container (bring-your-own-storage, BYOS), through
//! `object_store`'s Azure client. Objects written here are in the atrest object format like
//! every other: the customer holds the ciphertext, atrest (and the account's key) the keys.
//!
//! Durability: a put is one Put Blob, or a block upload committed by Put Block List (see
//! [`atrest_store::blob::put_stream`]), which Azure Storage (and Azurite) acknowledge only once
//! the blob is stored.

use std::io;
use std::ops::Range;

use atrest_store::blob::PutStreamError;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use object_store::azure::{MicrosoftAzure, MicrosoftAzureBuilder};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload};

use crate::config::UserStorage;
use crate::error::Error;

/// One registered container.
#[derive(Debug)]
pub(crate) struct UserStore {
    /// The registration (name, resource id, region, endpoint, container).
    pub(crate) config: UserStorage,
    store: MicrosoftAzure,
}

impl UserStore {
    /// A client for the registered container (no request is made).
    pub(crate) fn new(config: &UserStorage) -> Result<Self, Error> {
        let store = MicrosoftAzureBuilder::new()
            .with_account(&config.account)
            .with_access_key(&config.access_key)
            .with_container_name(&config.container)
            .with_endpoint(config.endpoint.clone())
            .with_allow_http(config.endpoint.starts_with("http://"))
            .build()
            .map_err(|e| {
                Error::BadRequest(format!(
                    "storage account '{}' cannot be used: {e}",
                    config.name
                ))
            })?;
        Ok(Self {
            config: config.clone(),
            store,
        })
    }

    /// Writes a stream as one blob; committed when this returns.
    pub(crate) async fn put_stream<S>(&self, key: &str, stream: S) -> Result<u64, StreamError>
    where
        S: Stream<Item = io::Result<Bytes>> + Send,
    {
        match atrest_store::blob::put_stream(&self.store, &Path::from(key), stream).await {
            Ok(written) => Ok(written),
            Err(PutStreamError::Input(e)) => Err(StreamError::Input(e)),
            Err(PutStreamError::Store(e)) => Err(StreamError::Store(self.unreachable(&e))),
        }
    }

    /// Streams a byte range of a blob (all of it when `range` is `None`).
    pub(crate) async fn get(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, io::Result<Bytes>>, Error> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        let result = self
            .store
            .get_opts(&Path::from(key), options)
            .await
            .map_err(|e| self.unreachable(&e))?;
        Ok(result.into_stream().map_err(io::Error::other).boxed())
    }

    /// Deletes a blob (missing is fine).
    pub(crate) async fn delete(&self, key: &str) -> Result<(), Error> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.unreachable(&e)),
        }
    }

    /// Writes, reads back and deletes a small blob: whether atrest can use the container.
    pub(crate) async fn probe(&self) -> Result<(), Error> {
        let key = format!("atrest-probe-{}", uuid::Uuid::new_v4().simple());
        let path = Path::from(key.as_str());
        let body = Bytes::from_static(b"atrest probe");
        self.store
            .put(&path, PutPayload::from(body.clone()))
            .await
            .map_err(|e| self.unreachable(&e))?;
        let read = self
            .store
            .get(&path)
            .await
            .map_err(|e| self.unreachable(&e))?
            .bytes()
            .await
            .map_err(|e| self.unreachable(&e))?;
        self.delete(&key).await?;
        if read == body {
            Ok(())
        } else {
            Err(Error::BadRequest(format!(
                "storage account '{}' returned other bytes than were written",
                self.config.resource_id
            )))
        }
    }

    fn unreachable(&self, err: &object_store::Error) -> Error {
        Error::UserStorage {
            resource_id: self.config.resource_id.clone(),
            container: self.config.container.clone(),
            reason: err.to_string(),
        }
    }
}

/// Why a streamed write failed.
#[derive(Debug)]
pub(crate) enum StreamError {
    /// The input stream failed.
    Input(io::Error),
    /// The container refused or could not be reached.
    Store(Error),
}
