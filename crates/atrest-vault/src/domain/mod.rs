//! The vault domain facade: every operation takes the caller's identity, authorizes it
//! against the vault's access policies (or the caller's subscription role), runs in one
//! database transaction, and is written to the audit log — allowed, denied or failed — before
//! it is acknowledged. The HTTP handlers and in-process callers (the accounts service) use the
//! same methods.

mod access;
mod backup;
mod crypto_ops;
mod keys;
mod lifecycle;
mod management;
mod policies;
mod rotation;
mod scheduler;
#[cfg(test)]
mod scheduler_tests;

use std::sync::Arc;

use atrest_crypto::SecretKey;
use atrest_identity::Directory;
use atrest_store::vault::{SqlVaultStore, VaultStore, VersionRow};
use atrest_store::{AuditLog, Db, RowCache};

use tokio::sync::broadcast;

pub use crypto_ops::{CryptoOutput, Verification};
pub use management::{CreateMode, VaultPatch, VaultSpec};
pub use policies::{parse_key_permissions, PolicyEdit};
pub use scheduler::SchedulerReport;

use crate::clock::Clock;
use crate::events::{EventBus, VaultEvent, VaultEventKind};
use crate::hosts::VaultHosts;
use crate::model::Vault;
use crate::{repo, Error};

/// The vault service. Cheap to clone.
#[derive(Clone)]
pub struct Vaults {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    store: Arc<dyn VaultStore>,
    audit: AuditLog,
    directory: Directory,
    root: SecretKey,
    hosts: VaultHosts,
    clock: Arc<dyn Clock>,
    events: EventBus,
    /// Parsed private keys by (vault id, key name, version); see [`crate::crypto::PrivateKey`].
    /// Only the parse is cached: every operation still checks the version's current state
    /// (enabled, dates, key_ops, access policy) before using it.
    private_keys: PrivateKeyCache,
    /// Vault rows and key-version rows, exact: see [`WriteTx`].
    rows: RowCaches,
}

/// In-memory copies of the rows every data-plane call reads. Every write transaction of this
/// crate goes through [`WriteTx`], whose commit drops them before the write is acknowledged,
/// so a disabled key or a removed access policy still takes effect at once.
struct RowCaches {
    /// Vaults by name as requested (live or soft-deleted).
    vaults: RowCache<String, Vault>,
    /// Versions of live keys by (vault id, key name, version or `None` for the current one).
    versions: RowCache<(String, String, Option<String>), Arc<VersionRow>>,
}

impl RowCaches {
    fn invalidate(&self) {
        self.vaults.invalidate();
        self.versions.invalidate();
    }
}

/// How many rows of each kind stay in memory.
const ROW_CACHE_ENTRIES: usize = 16_384;

/// A write transaction whose commit also invalidates the row caches.
pub(crate) struct WriteTx<'a> {
    tx: atrest_store::WriteTx,
    rows: &'a RowCaches,
}

impl WriteTx<'_> {
    /// Commits, then forgets every cached row (the caller acknowledges only after this).
    pub(crate) async fn commit(self) -> Result<(), Error> {
        self.tx.commit().await?;
        self.rows.invalidate();
        Ok(())
    }
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = atrest_store::WriteTx;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

type PrivateKeyCache =
    quick_cache::sync::Cache<(String, String, String), Arc<crate::crypto::PrivateKey>>;

/// How many parsed private keys stay in memory.
const PRIVATE_KEY_CACHE_ENTRIES: usize = 4096;

impl std::fmt::Debug for Vaults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vaults")
            .field("hosts", &self.inner.hosts)
            .finish_non_exhaustive()
    }
}

/// What [`Vaults`] is built from.
pub struct VaultsConfig {
    /// The metadata database (migrations applied).
    pub db: Db,
    /// The audit log.
    pub audit: AuditLog,
    /// The directory (subscriptions and roles, for the management plane).
    pub directory: Directory,
    /// The root key private key material is sealed under.
    pub root: SecretKey,
    /// Host-to-vault mapping.
    pub hosts: VaultHosts,
    /// The clock (use [`crate::SystemClock`] outside tests).
    pub clock: Arc<dyn Clock>,
}

impl Vaults {
    /// Builds the service.
    pub fn new(config: VaultsConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                store: Arc::new(SqlVaultStore::new(config.db.clone())),
                db: config.db,
                audit: config.audit,
                directory: config.directory,
                root: config.root,
                hosts: config.hosts,
                clock: config.clock,
                events: EventBus::new(),
                private_keys: PrivateKeyCache::new(PRIVATE_KEY_CACHE_ENTRIES),
                rows: RowCaches {
                    vaults: RowCache::new(ROW_CACHE_ENTRIES),
                    versions: RowCache::new(ROW_CACHE_ENTRIES),
                },
            }),
        }
    }

    /// Subscribes to vault events.
    pub fn subscribe(&self) -> broadcast::Receiver<VaultEvent> {
        self.inner.events.subscribe()
    }

    /// The host-to-vault mapping.
    pub fn hosts(&self) -> &VaultHosts {
        &self.inner.hosts
    }

    /// The current time (unix seconds) of the service's clock.
    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// A live (not soft-deleted) vault by name. Carries no secrets; used to shape the 401
    /// challenge (the vault's tenant) before a caller is authenticated.
    pub async fn live_vault(&self, name: &str) -> Result<Option<Vault>, Error> {
        Ok(self
            .vault_by_name(name)
            .await?
            .filter(|vault| vault.deleted_at.is_none()))
    }

    /// Any vault of that name, live or soft-deleted, from the row cache or the database.
    async fn vault_by_name(&self, name: &str) -> Result<Option<Vault>, Error> {
        self.inner
            .rows
            .vaults
            .get_or_load(&name.to_owned(), || self.stored_vault(name))
            .await
    }

    /// Any vault of that name, live or soft-deleted, from the database (not the row cache).
    async fn stored_vault(&self, name: &str) -> Result<Option<Vault>, Error> {
        self.store()
            .vault_by_name(None, name)
            .await?
            .map(repo::vaults::from_row)
            .transpose()
    }

    /// Any vault of that name, live or soft-deleted, read inside `tx`.
    async fn vault_in(&self, tx: &mut WriteTx<'_>, name: &str) -> Result<Option<Vault>, Error> {
        self.store()
            .vault_by_name(Some(tx), name)
            .await?
            .map(repo::vaults::from_row)
            .transpose()
    }

    /// Inserts or replaces the vault's row, inside `tx`.
    async fn save_vault(&self, tx: &mut WriteTx<'_>, vault: &Vault) -> Result<(), Error> {
        let row = repo::vaults::to_row(vault)?;
        Ok(self.store().save_vault(tx, &row).await?)
    }

    /// The vault's `vaultUri`.
    pub fn vault_uri(&self, vault: &Vault) -> String {
        self.inner.hosts.vault_uri(&vault.name)
    }

    /// The directory this service authorizes management calls against.
    pub fn directory(&self) -> &Directory {
        &self.inner.directory
    }

    /// The vault rows.
    fn store(&self) -> &dyn VaultStore {
        &*self.inner.store
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE`, so concurrent writers queue instead of
    /// failing to upgrade a read lock).
    async fn write_tx(&self) -> Result<WriteTx<'_>, Error> {
        Ok(WriteTx {
            tx: self.inner.db.begin_write().await?,
            rows: &self.inner.rows,
        })
    }

    fn emit(&self, kind: VaultEventKind, vault: &Vault, key: Option<&str>, version: Option<&str>) {
        // Purged key material must not outlive its rows, not even parsed in the cache.
        match kind {
            VaultEventKind::KeyPurged => self
                .inner
                .private_keys
                .retain(|(v, k, _), _| !(v == &vault.id && Some(k.as_str()) == key)),
            VaultEventKind::VaultPurged => {
                self.inner
                    .private_keys
                    .retain(|(v, _, _), _| v != &vault.id);
            }
            _ => {}
        }
        self.inner.events.emit(VaultEvent {
            kind,
            vault_id: vault.id.clone(),
            vault_name: vault.name.clone(),
            key_name: key.map(str::to_owned),
            version: version.map(str::to_owned),
            time: self.now(),
        });
    }

    fn seal_aad(vault_id: &str, key_name: &str, version: &str) -> Vec<u8> {
        format!("{vault_id}|{key_name}|{version}").into_bytes()
    }
}
