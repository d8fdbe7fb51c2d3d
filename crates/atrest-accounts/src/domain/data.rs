//! Datasets: uploaded files of any size, streamed through the object format in constant
//! memory; downloads with byte ranges that decrypt only the covering segments.

use std::io;

use bytes::Bytes;
use futures_util::Stream;

use super::objects::{Download, ObjectRow};
use super::sealing::parse_range;
use super::{Accounts, DataCaller};
use crate::error::Error;

const KIND: &str = "dataset";

/// A dataset as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetInfo {
    /// The name the customer gave it.
    pub name: String,
    /// Plaintext bytes.
    pub size: u64,
    /// SHA-256 of the content (hex).
    pub sha256: String,
    /// Unix seconds.
    pub created: i64,
}

impl From<&ObjectRow> for DatasetInfo {
    fn from(row: &ObjectRow) -> Self {
        Self {
            name: row.name.clone(),
            size: row.size,
            sha256: row.sha256.clone(),
            created: row.created,
        }
    }
}

/// Dataset names: 1–256 characters, no control characters or slashes.
pub(super) fn check_name(name: &str) -> Result<(), Error> {
    if (1..=256).contains(&name.chars().count())
        && !name.chars().any(|c| c.is_control() || c == '/')
    {
        Ok(())
    } else {
        Err(Error::BadRequest(format!(
            "name '{}' is invalid: use 1-256 characters without '/' or control characters",
            name.escape_debug()
        )))
    }
}

impl Accounts {
    /// Uploads (or replaces) a dataset. Durable when this returns.
    pub async fn upload_dataset<S>(
        &self,
        account: &str,
        caller: &DataCaller,
        name: &str,
        body: S,
    ) -> Result<DatasetInfo, Error>
    where
        S: Stream<Item = io::Result<Bytes>> + Send,
    {
        check_name(name)?;
        let (account, ak) = self.open_data(account, caller).await?;
        let id = uuid::Uuid::new_v4().to_string();
        let (blob_key, size, stored_size, sha256) =
            self.write_object(&account, &ak, &id, body).await?;
        let row = ObjectRow {
            id,
            name: name.to_owned(),
            blob_key,
            size,
            stored_size,
            sha256,
            meta: None,
            created: self.now(),
        };
        if let Err(e) = self.commit_object(&account, &ak, KIND, &row).await {
            let _ = self.inner.blobs.delete(&account, &row.blob_key).await;
            return Err(e);
        }
        Ok(DatasetInfo::from(&row))
    }

    /// Lists datasets.
    pub async fn list_datasets(
        &self,
        account: &str,
        caller: &DataCaller,
    ) -> Result<Vec<DatasetInfo>, Error> {
        let (account, ak) = self.open_data(account, caller).await?;
        Ok(self
            .list_objects(&account, &ak, KIND)
            .await?
            .iter()
            .map(DatasetInfo::from)
            .collect())
    }

    /// Downloads a dataset, or a byte range of it (`Range: bytes=…`).
    pub async fn download_dataset(
        &self,
        account: &str,
        caller: &DataCaller,
        name: &str,
        range: Option<&str>,
    ) -> Result<Download, Error> {
        let (account, ak) = self.open_data(account, caller).await?;
        let row = self
            .find_object(&account, &ak, KIND, name)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "dataset",
                name: name.to_owned(),
            })?;
        let range = range.map(|r| parse_range(r, row.size)).transpose()?;
        self.read_object(&account, &ak, &row, range).await
    }

    /// Deletes a dataset.
    pub async fn delete_dataset(
        &self,
        account: &str,
        caller: &DataCaller,
        name: &str,
    ) -> Result<(), Error> {
        self.delete_named(account, caller, KIND, "dataset", name)
            .await
    }

    /// Reads a whole dataset into memory (for building models from small files).
    pub(super) async fn dataset_bytes(
        &self,
        account: &crate::model::Account,
        ak: &atrest_crypto::SecretKey,
        name: &str,
        limit: u64,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, Error> {
        use futures_util::StreamExt;
        let row = self
            .find_object(account, ak, KIND, name)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "dataset",
                name: name.to_owned(),
            })?;
        if row.size > limit {
            return Err(Error::BadRequest(format!(
                "dataset '{name}' is larger than {limit} bytes, too large for a model"
            )));
        }
        let mut download = self.read_object(account, ak, &row, None).await?;
        let mut out = zeroize::Zeroizing::new(Vec::with_capacity(row.size as usize));
        while let Some(chunk) = download.body.next().await {
            out.extend_from_slice(&chunk.map_err(Error::internal)?);
        }
        Ok(out)
    }
}
