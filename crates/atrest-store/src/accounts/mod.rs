//! Rows of the accounts service: accounts with their encryption settings, key state, wrapped
//! account key and data-plane key hashes, and the account's data — stored objects,
//! deployments, Content Safety blocklists and their items, Speech endpoints.
//!
//! [`AccountStore`] is the interface the accounts domain holds; [`SqlAccountStore`] implements
//! it on the metadata database. Rows are plain: the domain decrypts, parses JSON columns and
//! applies every rule.

mod sql;

pub use sql::SqlAccountStore;

use crate::{Error, WriteTx};

/// An `accounts` row, without the wrapped key and the data-plane key hashes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    /// Internal id (UUID).
    pub id: String,
    /// Name (unique, compared case-insensitively).
    pub name: String,
    /// Subscription id.
    pub subscription_id: String,
    /// Resource group.
    pub resource_group: String,
    /// Tenant of the subscription.
    pub tenant_id: String,
    /// Region.
    pub location: String,
    /// Service kind.
    pub kind: String,
    /// SKU name.
    pub sku: String,
    /// Tags as a JSON object.
    pub tags: String,
    /// System-assigned identity: principal (object) id.
    pub identity_principal: Option<String>,
    /// System-assigned identity: client id.
    pub identity_client: Option<String>,
    /// `keySource`.
    pub key_source: String,
    /// Customer-managed key: the vault URI.
    pub key_vault_uri: Option<String>,
    /// Customer-managed key: the co-located vault's name.
    pub key_vault_name: Option<String>,
    /// Customer-managed key: the key name.
    pub key_name: Option<String>,
    /// Customer-managed key: the pinned version (`None` follows the newest).
    pub key_version: Option<String>,
    /// Customer-managed key: `identityClientId` as requested.
    pub identity_client_req: Option<String>,
    /// Platform key version wrapping the account key.
    pub mmk_version: Option<i64>,
    /// Customer key version wrapping the account key.
    pub cmk_wrapped_version: Option<String>,
    /// The principal that last validated the customer-managed key.
    pub cmk_principal: Option<String>,
    /// Key state name.
    pub key_state: String,
    /// Why the key is inaccessible.
    pub key_state_reason: Option<String>,
    /// Since when (unix seconds).
    pub key_state_since: Option<i64>,
    /// A warning about the key.
    pub key_warning: Option<String>,
    /// Key-loss behaviour name.
    pub on_key_loss: String,
    /// When key loss deleted the data (unix seconds).
    pub data_deleted_at: Option<i64>,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds; also the optimistic-concurrency token.
    pub updated: i64,
    /// Registered storage (BYOS) new objects go to.
    pub user_owned_storage: Option<String>,
    /// Double encryption (fixed at creation).
    #[sqlx(try_from = "crate::SqlBool")]
    pub infrastructure_encryption: bool,
}

/// An account's wrapped account key and what wraps it.
#[derive(Debug, Clone)]
pub struct WrappedKeyRow {
    /// The wrapped key bytes.
    pub wrapped_ak: Vec<u8>,
    /// The platform key version wrapping it, if a platform key does.
    pub mmk_version: Option<i64>,
    /// The customer key version wrapping it, if the customer's key does.
    pub cmk_wrapped_version: Option<String>,
}

/// An account key wrapped under a platform key version (for rewrapping after rotation).
#[derive(Debug, Clone)]
pub struct PlatformWrappedRow {
    /// Account id.
    pub id: String,
    /// The wrapped key bytes.
    pub wrapped_ak: Vec<u8>,
    /// The platform key version wrapping it.
    pub mmk_version: i64,
}

/// An `account_objects` row: a stored object's metadata, names sealed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountObjectRow {
    /// Account id.
    pub account_id: String,
    /// Object id.
    pub id: String,
    /// `dataset`, `model`, `log`, …
    pub kind: String,
    /// Keyed index of the name, for lookups.
    pub name_index: String,
    /// The sealed name.
    pub name_sealed: Vec<u8>,
    /// Where the bytes are in the blob store.
    pub blob_key: String,
    /// Plaintext bytes.
    pub size: i64,
    /// Stored (encrypted) bytes.
    pub stored_size: i64,
    /// SHA-256 of the plaintext (hex).
    pub sha256: String,
    /// Sealed metadata.
    pub meta: Option<Vec<u8>>,
    /// Unix seconds.
    pub created: i64,
}

/// A `deployments` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeploymentRow {
    /// Account id.
    pub account_id: String,
    /// Deployment name.
    pub name: String,
    /// The deployed model's object id.
    pub model_id: String,
    /// `Deployed` or `Undeployed`.
    pub status: String,
    /// Unix seconds.
    pub created: i64,
}

/// A `blocklists` row: a Content Safety blocklist, its name sealed under a platform key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BlocklistRow {
    /// Account id.
    pub account_id: String,
    /// Keyed index of the name.
    pub name_index: String,
    /// The sealed name.
    pub name_sealed: Vec<u8>,
    /// The platform key version sealing the name.
    pub mmk_version: i64,
    /// Unix seconds.
    pub created: i64,
}

/// A `blocklist_items` row: one item, its text sealed under the account key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BlocklistItemRow {
    /// Account id.
    pub account_id: String,
    /// The blocklist's name index.
    pub blocklist: String,
    /// Item id.
    pub id: String,
    /// The sealed text.
    pub text_sealed: Vec<u8>,
    /// Unix seconds.
    pub created: i64,
}

/// Accounts and their data, as the accounts domain reads and writes them.
#[async_trait::async_trait]
pub trait AccountStore: Send + Sync + std::fmt::Debug {
    // ---- accounts

    /// The account named `name` (case-insensitive).
    async fn account_by_name(&self, name: &str) -> Result<Option<AccountRow>, Error>;

    /// The account with id `id`.
    async fn account_by_id(&self, id: &str) -> Result<Option<AccountRow>, Error>;

    /// The accounts of a resource group (group compared case-insensitively), by name.
    async fn accounts_in_group(
        &self,
        subscription_id: &str,
        resource_group: &str,
    ) -> Result<Vec<AccountRow>, Error>;

    /// Ids of the accounts with `key_source`, optionally only those whose key is in the
    /// co-located vault `vault` (case-insensitive) or whose identity is `identity`.
    async fn account_ids_by_key_source(
        &self,
        key_source: &str,
        vault: Option<&str>,
        identity: Option<&str>,
    ) -> Result<Vec<String>, Error>;

    /// Ids of the KeyInaccessible accounts with `on_key_loss` whose data is not deleted yet
    /// and whose key state dates from `since` or earlier.
    async fn inaccessible_account_ids(
        &self,
        on_key_loss: &str,
        since: i64,
    ) -> Result<Vec<String>, Error>;

    /// The wrapped account key of account `id` (an error if there is no such account).
    async fn wrapped_key(&self, id: &str) -> Result<WrappedKeyRow, Error>;

    /// Inserts a new account with its wrapped key and data-plane key hashes.
    async fn insert_account(
        &self,
        tx: &mut WriteTx,
        account: &AccountRow,
        wrapped: &WrappedKeyRow,
        key1_hash: &str,
        key2_hash: &str,
    ) -> Result<(), Error>;

    /// Saves the mutable columns of `account` (and, when given, the wrapped key) if the row
    /// is still at `expected_updated`; `false` when someone changed it meanwhile.
    async fn save_account(
        &self,
        tx: &mut WriteTx,
        account: &AccountRow,
        expected_updated: i64,
        wrapped: Option<&WrappedKeyRow>,
    ) -> Result<bool, Error>;

    /// Replaces the data-plane key hashes given (`None` keeps one).
    async fn set_key_hashes(
        &self,
        id: &str,
        key1_hash: Option<&str>,
        key2_hash: Option<&str>,
    ) -> Result<(), Error>;

    /// The two data-plane key hashes (an error if there is no such account).
    async fn key_hashes(&self, id: &str) -> Result<(String, String), Error>;

    /// Crypto-shreds account `id`: overwrites its wrapped key with zeroes and deletes the row
    /// (and with it, by cascade, every row of its data), inside `tx`.
    async fn shred_account(&self, tx: &mut WriteTx, id: &str) -> Result<(), Error>;

    /// Deletes every stored object, blocklist item and deployment of an account and records
    /// when (`onKeyLoss: delete`). Returns the deleted objects' blob keys.
    async fn delete_account_data(
        &self,
        tx: &mut WriteTx,
        account_id: &str,
        deleted_at: i64,
    ) -> Result<Vec<String>, Error>;

    // ---- platform key rewrap

    /// Up to `limit` account keys wrapped under a platform key version older than `current`.
    async fn keys_under_older_platform_key(
        &self,
        current: i64,
        limit: i64,
    ) -> Result<Vec<PlatformWrappedRow>, Error>;

    /// Up to `limit` blocklists whose name is sealed under a platform key version older than
    /// `current`.
    async fn blocklists_under_older_platform_key(
        &self,
        current: i64,
        limit: i64,
    ) -> Result<Vec<BlocklistRow>, Error>;

    /// Replaces an account's platform-wrapped key, if it is still under `old_version`.
    async fn rewrap_account_key(
        &self,
        tx: &mut WriteTx,
        id: &str,
        old_version: i64,
        wrapped_ak: &[u8],
        mmk_version: i64,
    ) -> Result<(), Error>;

    /// Replaces a blocklist's sealed name, if it is still under `old_version`.
    async fn reseal_blocklist_name(
        &self,
        tx: &mut WriteTx,
        account_id: &str,
        name_index: &str,
        old_version: i64,
        name_sealed: &[u8],
        mmk_version: i64,
    ) -> Result<(), Error>;

    /// How many account keys and blocklist names are under a platform key version older than
    /// `current`.
    async fn pending_platform_rewraps(&self, current: i64) -> Result<i64, Error>;

    // ---- stored objects

    /// All blob keys of an account's stored objects.
    async fn object_blob_keys(&self, account_id: &str) -> Result<Vec<String>, Error>;

    /// The object of `kind` whose name has index `name_index`.
    async fn object_by_index(
        &self,
        account_id: &str,
        kind: &str,
        name_index: &str,
    ) -> Result<Option<AccountObjectRow>, Error>;

    /// Every object of `kind`, oldest first.
    async fn objects_of_kind(
        &self,
        account_id: &str,
        kind: &str,
    ) -> Result<Vec<AccountObjectRow>, Error>;

    /// Deletes the object of `kind` whose name has index `name_index`; returns its blob key.
    async fn delete_object(
        &self,
        tx: &mut WriteTx,
        account_id: &str,
        kind: &str,
        name_index: &str,
    ) -> Result<Option<String>, Error>;

    /// Inserts an object's row.
    async fn insert_object(&self, tx: &mut WriteTx, object: &AccountObjectRow)
        -> Result<(), Error>;

    // ---- deployments

    /// Creates deployment `name` of `model_id` as `Deployed`, or points an existing one at
    /// `model_id` and marks it `Deployed` again.
    async fn deploy_model(
        &self,
        account_id: &str,
        name: &str,
        model_id: &str,
        created: i64,
    ) -> Result<(), Error>;

    /// An account's deployments, by name.
    async fn deployments(&self, account_id: &str) -> Result<Vec<DeploymentRow>, Error>;

    /// Deletes a deployment; `false` if there was none.
    async fn delete_deployment(&self, account_id: &str, name: &str) -> Result<bool, Error>;

    /// Marks every deployment of an account `Undeployed`.
    async fn undeploy_all(&self, account_id: &str) -> Result<(), Error>;

    // ---- Content Safety blocklists

    /// Inserts a blocklist unless one with the same name index exists.
    async fn insert_blocklist(&self, blocklist: &BlocklistRow) -> Result<(), Error>;

    /// An account's blocklists, oldest first.
    async fn blocklists(&self, account_id: &str) -> Result<Vec<BlocklistRow>, Error>;

    /// Whether the blocklist with name index `name_index` exists.
    async fn blocklist_exists(&self, account_id: &str, name_index: &str) -> Result<bool, Error>;

    /// Deletes a blocklist and its items; `false` if there was no such blocklist.
    async fn delete_blocklist(
        &self,
        tx: &mut WriteTx,
        account_id: &str,
        name_index: &str,
    ) -> Result<bool, Error>;

    /// Inserts a blocklist item.
    async fn insert_blocklist_item(
        &self,
        tx: &mut WriteTx,
        item: &BlocklistItemRow,
    ) -> Result<(), Error>;

    /// A blocklist's items, oldest first.
    async fn blocklist_items(
        &self,
        account_id: &str,
        blocklist: &str,
    ) -> Result<Vec<BlocklistItemRow>, Error>;

    // ---- Speech endpoints

    /// Creates a Speech endpoint, or sets the logging of an existing one.
    async fn put_speech_endpoint(
        &self,
        account_id: &str,
        name: &str,
        logging: bool,
        created: i64,
    ) -> Result<(), Error>;

    /// Whether a Speech endpoint logs (`None` if there is no such endpoint).
    async fn speech_endpoint_logging(
        &self,
        account_id: &str,
        name: &str,
    ) -> Result<Option<bool>, Error>;
}
