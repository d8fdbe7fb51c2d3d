//! Infrastructure (double) encryption: for accounts created with
//! `requireInfrastructureEncryption`, every stored object gets a second, independent layer of
//! the object format under a platform infrastructure key, around the account layer (the object
//! format under the account key). Revoking the customer's key locks the inner layer; the outer
//! one protects against a compromise of the account layer alone. Range reads stay partial in
//! both layers: the account layer's covering segments map to a byte range of the outer
//! layer's plaintext, whose own covering segments are all that is read.

use std::io;
use std::ops::Range;

use atrest_crypto::stream::{self, DecryptStream, EncryptStream, Header, ObjectLayout};
use atrest_crypto::SecretKey;
use aws_lc_rs::hkdf;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};

use super::objects::ObjectRow;
use super::sealing::context;
use super::Accounts;
use crate::error::Error;
use crate::model::Account;

/// `key_ref` in the outer layer's header.
const INFRASTRUCTURE_KEY_REF: &[u8] = b"infrastructure:v1";

/// The platform infrastructure key: HKDF-SHA256 of the root key with its own label, so it is
/// independent of every account key and of the platform key ring.
pub(super) fn infrastructure_key(root: &SecretKey) -> SecretKey {
    struct Len32;
    impl hkdf::KeyType for Len32 {
        fn len(&self) -> usize {
            32
        }
    }
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"atrest").extract(root.expose_secret());
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    prk.expand(&[b"atrest/infrastructure-key/v1"], Len32)
        .and_then(|okm| okm.fill(out.as_mut()))
        .expect("HKDF-SHA256 yields 32 bytes");
    SecretKey::from_bytes(*out)
}

/// How an object's stored bytes relate to its account layer.
pub(super) enum Layers {
    /// The stored bytes are the account layer.
    Single,
    /// The stored bytes are the account layer encrypted again.
    Infrastructure {
        header: Header,
        layout: ObjectLayout,
    },
}

impl Layers {
    /// Length of the account layer.
    pub(super) fn account_layer_len(&self, row: &ObjectRow) -> u64 {
        match self {
            Self::Single => row.stored_size,
            Self::Infrastructure { layout, .. } => layout.plaintext_len(),
        }
    }
}

impl Accounts {
    /// Wraps the account layer in the infrastructure layer when the account asks for it.
    pub(super) fn infrastructure_layer<'a, S>(
        &self,
        account: &Account,
        object_id: &str,
        account_layer: S,
    ) -> Result<BoxStream<'a, io::Result<Bytes>>, Error>
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'a,
    {
        if !account.infrastructure_encryption {
            return Ok(account_layer.boxed());
        }
        let header = Header::new(stream::DEFAULT_SEGMENT_SIZE, INFRASTRUCTURE_KEY_REF)?;
        Ok(EncryptStream::new(
            account_layer,
            self.infrastructure_key(),
            &header,
            &context(account, object_id, "infrastructure"),
        )
        .boxed())
    }

    /// Reads the outer header when the object has an infrastructure layer.
    pub(super) async fn layers(&self, account: &Account, row: &ObjectRow) -> Result<Layers, Error> {
        if !account.infrastructure_encryption {
            return Ok(Layers::Single);
        }
        let head_len = (stream::MAX_HEADER_LEN as u64).min(row.stored_size);
        let head = self
            .inner
            .blobs
            .get_bytes(account, &row.blob_key, Some(0..head_len))
            .await?;
        let header = Header::parse(&head)?;
        let layout = ObjectLayout::new(&header, row.stored_size)?;
        Ok(Layers::Infrastructure { header, layout })
    }

    /// The account layer's bytes in `range` (all of them for `None`).
    pub(super) async fn account_layer(
        &self,
        account: &Account,
        row: &ObjectRow,
        layers: &Layers,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, io::Result<Bytes>>, Error> {
        let blobs = &self.inner.blobs;
        let Layers::Infrastructure { header, layout } = layers else {
            return blobs.get(account, &row.blob_key, range).await;
        };
        let ctx = context(account, &row.id, "infrastructure");
        let key = self.infrastructure_key();
        let Some(range) = range else {
            let raw = blobs.get(account, &row.blob_key, None).await?;
            return Ok(DecryptStream::new(raw, key, &ctx).boxed());
        };
        let span = layout
            .span(range)
            .map_err(|e| Error::internal(io::Error::other(e.to_string())))?;
        let raw = blobs
            .get(account, &row.blob_key, Some(span.ciphertext.clone()))
            .await?;
        Ok(DecryptStream::for_span(raw, key, header, &ctx, &span).boxed())
    }

    fn infrastructure_key(&self) -> &SecretKey {
        &self.inner.infrastructure
    }
}
