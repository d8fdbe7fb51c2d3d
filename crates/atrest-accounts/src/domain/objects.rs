//! Stored objects shared by datasets, models and endpoint logs: every byte goes through the
//! object format under the account key; names (customer content) are stored encrypted with a
//! keyed index for lookups; blobs are durable before their row is committed.

use std::io;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use atrest_crypto::stream::{self, DecryptStream, EncryptStream, Header, ObjectLayout};
use atrest_crypto::SecretKey;
use atrest_store::accounts::AccountObjectRow;
use aws_lc_rs::digest;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};

use super::sealing::{context, key_ref, name_index, open_small, seal_small};
use super::{Accounts, DataCaller};
use crate::error::Error;
use crate::model::Account;

/// A stored object's metadata, names decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ObjectRow {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) blob_key: String,
    pub(super) size: u64,
    pub(super) stored_size: u64,
    pub(super) sha256: String,
    pub(super) meta: Option<Vec<u8>>,
    pub(super) created: i64,
}

/// A decrypting download.
pub struct Download {
    /// Plaintext length of the whole object.
    pub size: u64,
    /// SHA-256 of the whole plaintext (hex).
    pub sha256: String,
    /// The returned range `(first, last)` inclusive, for a 206.
    pub range: Option<(u64, u64)>,
    /// The plaintext bytes (of the range).
    pub body: BoxStream<'static, io::Result<Bytes>>,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("size", &self.size)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

impl Accounts {
    /// Encrypts a plaintext stream into a new blob. Returns (plaintext size, stored size, sha256).
    pub(super) async fn write_object<S>(
        &self,
        account: &Account,
        ak: &SecretKey,
        object_id: &str,
        body: S,
    ) -> Result<(String, u64, u64, String), Error>
    where
        S: Stream<Item = io::Result<Bytes>> + Send,
    {
        let store = &self.inner.blobs;
        let blob_key = store.new_object_key(account, object_id)?;
        let tally = Arc::new(Mutex::new((0u64, digest::Context::new(&digest::SHA256))));
        let counter = tally.clone();
        let counted = body.map(move |chunk| {
            if let Ok(bytes) = &chunk {
                let mut t = counter.lock().unwrap_or_else(|e| e.into_inner());
                t.0 += bytes.len() as u64;
                t.1.update(bytes);
            }
            chunk
        });
        let header = Header::new(stream::DEFAULT_SEGMENT_SIZE, &key_ref(account))?;
        let encrypted = self.infrastructure_layer(
            account,
            object_id,
            EncryptStream::new(counted, ak, &header, &context(account, object_id, "data")),
        )?;
        let stored = match store.put_stream(account, &blob_key, encrypted).await {
            Ok(n) => n,
            Err(e) => {
                let _ = store.delete(account, &blob_key).await;
                return Err(e);
            }
        };
        let (size, ctx) = {
            let t = tally.lock().unwrap_or_else(|e| e.into_inner());
            (t.0, t.1.clone())
        };
        Ok((blob_key, size, stored, hex::encode(ctx.finish().as_ref())))
    }

    /// Decrypts an object, or the plaintext `range` of it reading only the covering segments.
    pub(super) async fn read_object(
        &self,
        account: &Account,
        ak: &SecretKey,
        row: &ObjectRow,
        range: Option<Range<u64>>,
    ) -> Result<Download, Error> {
        let ctx = context(account, &row.id, "data");
        let layers = self.layers(account, row).await?;
        let Some(range) = range else {
            let raw = self.account_layer(account, row, &layers, None).await?;
            return Ok(Download {
                size: row.size,
                sha256: row.sha256.clone(),
                range: None,
                body: DecryptStream::new(raw, ak, &ctx).boxed(),
            });
        };
        let inner_len = layers.account_layer_len(row);
        let head_len = (stream::MAX_HEADER_LEN as u64).min(inner_len);
        let mut head = Vec::new();
        let mut head_stream = self
            .account_layer(account, row, &layers, Some(0..head_len))
            .await?;
        while let Some(chunk) = head_stream.next().await {
            head.extend_from_slice(&chunk?);
        }
        let header = Header::parse(&head)?;
        let layout = ObjectLayout::new(&header, inner_len)?;
        let span = layout
            .span(range.clone())
            .map_err(|_| Error::RangeNotSatisfiable { len: row.size })?;
        let raw = self
            .account_layer(account, row, &layers, Some(span.ciphertext.clone()))
            .await?;
        let body = DecryptStream::for_span(raw, ak, &header, &ctx, &span).boxed();
        Ok(Download {
            size: row.size,
            sha256: row.sha256.clone(),
            range: Some((range.start, range.end - 1)),
            body,
        })
    }

    /// Looks an object up by name.
    pub(super) async fn find_object(
        &self,
        account: &Account,
        ak: &SecretKey,
        kind: &str,
        name: &str,
    ) -> Result<Option<ObjectRow>, Error> {
        let row = self
            .store()
            .object_by_index(&account.id, kind, &name_index(ak, kind, name))
            .await?;
        row.map(|r| self.object_from_row(account, ak, r))
            .transpose()
    }

    /// Every object of a kind, oldest first.
    pub(super) async fn list_objects(
        &self,
        account: &Account,
        ak: &SecretKey,
        kind: &str,
    ) -> Result<Vec<ObjectRow>, Error> {
        let rows = self.store().objects_of_kind(&account.id, kind).await?;
        rows.into_iter()
            .map(|r| self.object_from_row(account, ak, r))
            .collect()
    }

    fn object_from_row(
        &self,
        account: &Account,
        ak: &SecretKey,
        row: AccountObjectRow,
    ) -> Result<ObjectRow, Error> {
        let name = String::from_utf8(open_small(ak, account, &row.id, "name", &row.name_sealed)?)
            .map_err(Error::internal)?;
        let meta = row
            .meta
            .map(|m| open_small(ak, account, &row.id, "meta", &m))
            .transpose()?;
        Ok(ObjectRow {
            id: row.id,
            name,
            blob_key: row.blob_key,
            size: row.size as u64,
            stored_size: row.stored_size as u64,
            sha256: row.sha256,
            meta,
            created: row.created,
        })
    }

    /// Commits an object's row, replacing a same-named one (whose blob is then deleted).
    pub(super) async fn commit_object(
        &self,
        account: &Account,
        ak: &SecretKey,
        kind: &str,
        row: &ObjectRow,
    ) -> Result<(), Error> {
        let index = name_index(ak, kind, &row.name);
        let name_sealed = seal_small(ak, account, &row.id, "name", row.name.as_bytes())?;
        let meta = row
            .meta
            .as_ref()
            .map(|m| seal_small(ak, account, &row.id, "meta", m))
            .transpose()?;
        let stored = AccountObjectRow {
            account_id: account.id.clone(),
            id: row.id.clone(),
            kind: kind.to_owned(),
            name_index: index,
            name_sealed,
            blob_key: row.blob_key.clone(),
            size: row.size as i64,
            stored_size: row.stored_size as i64,
            sha256: row.sha256.clone(),
            meta,
            created: row.created,
        };
        let mut tx = self.inner.db.begin_write().await?;
        let old = self
            .store()
            .delete_object(&mut tx, &account.id, kind, &stored.name_index)
            .await?;
        self.store().insert_object(&mut tx, &stored).await?;
        tx.commit().await?;
        if let Some(blob) = old {
            let _ = self.inner.blobs.delete(account, &blob).await;
        }
        Ok(())
    }

    /// Deletes an object by name; returns whether it existed.
    /// Opens the account for a data operation and removes its object `name` of `kind`;
    /// `NotFound` naming it as `what` when there is none.
    pub(super) async fn delete_named(
        &self,
        account: &str,
        caller: &DataCaller,
        kind: &str,
        what: &'static str,
        name: &str,
    ) -> Result<(), Error> {
        let (account, ak) = self.open_data(account, caller).await?;
        if self.remove_object(&account, &ak, kind, name).await? {
            Ok(())
        } else {
            Err(Error::NotFound {
                what,
                name: name.to_owned(),
            })
        }
    }

    pub(super) async fn remove_object(
        &self,
        account: &Account,
        ak: &SecretKey,
        kind: &str,
        name: &str,
    ) -> Result<bool, Error> {
        let mut tx = self.inner.db.begin_write().await?;
        let old = self
            .store()
            .delete_object(&mut tx, &account.id, kind, &name_index(ak, kind, name))
            .await?;
        tx.commit().await?;
        if let Some(blob) = &old {
            self.inner.blobs.delete(account, blob).await?;
        }
        Ok(old.is_some())
    }

    /// `onKeyLoss: delete`: removes every stored object and blocklist item of the account.
    pub(super) async fn delete_account_data(&self, account: &Account) -> Result<(), Error> {
        let mut tx = self.inner.db.begin_write().await?;
        let blobs = self
            .store()
            .delete_account_data(&mut tx, &account.id, self.now())
            .await?;
        tx.commit().await?;
        let store = &self.inner.blobs;
        for blob in &blobs {
            let _ = store.delete(account, blob).await;
        }
        self.audit_system(
            "",
            Some(account),
            "KeyLossDataDeleted",
            &format!(
                "onKeyLoss=delete: {} objects deleted after the grace period",
                blobs.len()
            ),
        )
        .await
    }
}
