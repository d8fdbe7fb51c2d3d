//! Rows of Key Vault–compatible vaults: vaults with their access policies, keys with their
//! rotation policies, and key versions. The vault crate owns what they mean; this module only
//! reads and writes them ([`VaultStore`], on the metadata database: [`SqlVaultStore`]).

mod sql;

pub use sql::SqlVaultStore;

use crate::{Error, WriteTx};

/// A vault, live or soft-deleted (`deleted_at` set).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VaultRow {
    /// Vault id (a UUID), the key of its keys' rows.
    pub id: String,
    /// Vault name (case-insensitive, globally unique).
    pub name: String,
    /// Owning subscription.
    pub subscription_id: String,
    /// Resource group within the subscription.
    pub resource_group: String,
    /// Region.
    pub location: String,
    /// Tenant whose principals the access policies name.
    pub tenant_id: String,
    /// `standard` or `premium`.
    pub sku: String,
    /// Soft-delete retention in days.
    pub retention_days: i64,
    /// Whether purge protection is on.
    #[sqlx(try_from = "crate::SqlBool")]
    pub purge_protection: bool,
    /// Access policies (JSON array).
    pub access_policies: String,
    /// Tags (JSON object).
    pub tags: String,
    /// Created (unix seconds).
    pub created: i64,
    /// Last updated (unix seconds).
    pub updated: i64,
    /// When it was soft-deleted (unix seconds).
    pub deleted_at: Option<i64>,
    /// When a soft-deleted vault is purged (unix seconds).
    pub scheduled_purge: Option<i64>,
}

/// A key name in a vault, live or soft-deleted (`deleted_at` set).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    /// The vault's id.
    pub vault_id: String,
    /// Key name.
    pub name: String,
    /// The version operations without a version use.
    pub current_version: String,
    /// Created (unix seconds).
    pub created: i64,
    /// When it was soft-deleted (unix seconds).
    pub deleted_at: Option<i64>,
    /// When a soft-deleted key is purged (unix seconds).
    pub scheduled_purge: Option<i64>,
    /// Rotation policy (JSON), if one was set.
    pub rotation_policy: Option<String>,
    /// When the rotation policy was first set (unix seconds).
    pub policy_created: Option<i64>,
    /// When the rotation policy was last set (unix seconds).
    pub policy_updated: Option<i64>,
}

/// A key version; the private key is sealed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionRow {
    /// The vault's id.
    pub vault_id: String,
    /// Key name.
    pub key_name: String,
    /// Version id.
    pub version: String,
    /// Order of the version within its key (1, 2, …).
    pub seq: i64,
    /// Key type (`RSA`, …).
    pub kty: String,
    /// Permitted operations (JSON array).
    pub key_ops: String,
    /// RSA modulus.
    pub n: Vec<u8>,
    /// RSA public exponent.
    pub e: Vec<u8>,
    /// PKCS#8 private key sealed under the root key.
    pub sealed_private: Vec<u8>,
    /// Whether the version may be used.
    #[sqlx(try_from = "crate::SqlBool")]
    pub enabled: bool,
    /// Not valid before (unix seconds).
    pub nbf: Option<i64>,
    /// Expires (unix seconds).
    pub exp: Option<i64>,
    /// Created (unix seconds).
    pub created: i64,
    /// Last updated (unix seconds).
    pub updated: i64,
    /// Tags (JSON object).
    pub tags: String,
    /// Whether the near-expiry notification went out.
    #[sqlx(try_from = "crate::SqlBool")]
    pub near_expiry_sent: bool,
    /// Whether the expired notification went out.
    #[sqlx(try_from = "crate::SqlBool")]
    pub expired_sent: bool,
}

/// A key the scheduler looks at: the name of its vault, the key and its current version.
pub type SchedulerCandidate = (String, KeyRow, VersionRow);

/// The vault rows the vault service reads and writes.
///
/// Reads that also serve a read-then-write take `tx: Option<&mut WriteTx>`: inside that unit
/// of work when given, else on their own.
#[async_trait::async_trait]
pub trait VaultStore: Send + Sync + std::fmt::Debug {
    /// Any vault of that name, live or soft-deleted (names are case-insensitive).
    async fn vault_by_name(
        &self,
        tx: Option<&mut WriteTx>,
        name: &str,
    ) -> Result<Option<VaultRow>, Error>;

    /// The name of the vault with that id.
    async fn vault_name(&self, tx: &mut WriteTx, id: &str) -> Result<Option<String>, Error>;

    /// Live vaults in a resource group (compared case-insensitively), by name.
    async fn vaults_in_group(
        &self,
        subscription: &str,
        group: &str,
    ) -> Result<Vec<VaultRow>, Error>;

    /// Soft-deleted vaults of a subscription, by name.
    async fn deleted_vaults(&self, subscription: &str) -> Result<Vec<VaultRow>, Error>;

    /// Soft-deleted vaults whose purge date is at or before `now`.
    async fn vaults_due_for_purge(&self, now: i64) -> Result<Vec<VaultRow>, Error>;

    /// Inserts the vault or replaces its row (all but `created`).
    async fn save_vault(&self, tx: &mut WriteTx, vault: &VaultRow) -> Result<(), Error>;

    /// Deletes the vault with its keys and their versions.
    async fn purge_vault(&self, tx: &mut WriteTx, id: &str) -> Result<(), Error>;

    /// A key of a vault, live or soft-deleted.
    async fn key(
        &self,
        tx: Option<&mut WriteTx>,
        vault_id: &str,
        name: &str,
    ) -> Result<Option<KeyRow>, Error>;

    /// Keys of a vault, soft-deleted ones or live ones, in name order after `after`.
    async fn keys_page(
        &self,
        vault_id: &str,
        deleted: bool,
        after: &str,
        limit: i64,
    ) -> Result<Vec<KeyRow>, Error>;

    /// Soft-deleted keys (in any vault) whose purge date is at or before `now`.
    async fn keys_due_for_purge(&self, now: i64) -> Result<Vec<KeyRow>, Error>;

    /// Live keys in live vaults with a rotation policy or an expiry on their current version,
    /// each with its vault's name and its current version.
    async fn scheduler_candidates(&self) -> Result<Vec<SchedulerCandidate>, Error>;

    /// Inserts a key.
    async fn insert_key(&self, tx: &mut WriteTx, key: &KeyRow) -> Result<(), Error>;

    /// Sets a key's current version.
    async fn set_current_version(
        &self,
        tx: &mut WriteTx,
        vault_id: &str,
        name: &str,
        version: &str,
    ) -> Result<(), Error>;

    /// Sets or clears a key's soft-deletion dates.
    async fn set_key_deleted(
        &self,
        tx: &mut WriteTx,
        vault_id: &str,
        name: &str,
        deleted_at: Option<i64>,
        scheduled_purge: Option<i64>,
    ) -> Result<(), Error>;

    /// Sets a key's rotation policy (JSON) and its dates.
    async fn set_rotation_policy(
        &self,
        tx: &mut WriteTx,
        vault_id: &str,
        name: &str,
        policy: &str,
        created: i64,
        updated: i64,
    ) -> Result<(), Error>;

    /// Deletes a key and all its versions.
    async fn purge_key(&self, tx: &mut WriteTx, vault_id: &str, name: &str) -> Result<(), Error>;

    /// One version of a key.
    async fn version(
        &self,
        tx: Option<&mut WriteTx>,
        vault_id: &str,
        name: &str,
        version: &str,
    ) -> Result<Option<VersionRow>, Error>;

    /// A version of a live (not soft-deleted) key in one query: `version`, or the key's
    /// current one when `None`. `None` when either is missing.
    async fn live_version(
        &self,
        vault_id: &str,
        name: &str,
        version: Option<&str>,
    ) -> Result<Option<VersionRow>, Error>;

    /// Versions of a key in `seq` order after `after`.
    async fn versions_page(
        &self,
        vault_id: &str,
        name: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<VersionRow>, Error>;

    /// The highest `seq` of a key's versions (`None` when it has none).
    async fn last_version_seq(
        &self,
        tx: &mut WriteTx,
        vault_id: &str,
        name: &str,
    ) -> Result<Option<i64>, Error>;

    /// Inserts a version.
    async fn insert_version(&self, tx: &mut WriteTx, version: &VersionRow) -> Result<(), Error>;

    /// Writes a version's mutable fields (key_ops, enabled, nbf, exp, updated, tags and the
    /// notification flags).
    async fn update_version(&self, tx: &mut WriteTx, version: &VersionRow) -> Result<(), Error>;
}
