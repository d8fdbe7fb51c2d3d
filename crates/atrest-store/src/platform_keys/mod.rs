//! Rows of the platform key ring: the numbered platform key (MMK) versions, each sealed under
//! the root key.
//!
//! [`PlatformKeyStore`] is the interface the key ring holds; [`SqlPlatformKeyStore`]
//! implements it on the metadata database. Sealing and opening stay with the ring.

mod sql;

pub use sql::SqlPlatformKeyStore;

use crate::{Error, WriteTx};

/// A `platform_keys` row: one version of the platform key, sealed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlatformKeyRow {
    /// Version number (1, 2, …).
    pub version: i64,
    /// The key sealed under the root key.
    pub sealed: Vec<u8>,
    /// Unix seconds.
    pub created: i64,
}

/// The platform key versions, as the key ring reads and adds them.
#[async_trait::async_trait]
pub trait PlatformKeyStore: Send + Sync + std::fmt::Debug {
    /// Every version, oldest first.
    async fn platform_keys(&self) -> Result<Vec<PlatformKeyRow>, Error>;

    /// The number the next version gets (1 for the first).
    async fn next_platform_key_version(&self, tx: &mut WriteTx) -> Result<i64, Error>;

    /// Adds a version.
    async fn insert_platform_key(
        &self,
        tx: &mut WriteTx,
        key: &PlatformKeyRow,
    ) -> Result<(), Error>;
}
