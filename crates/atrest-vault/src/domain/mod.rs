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

use std::sync::Arc;

use atrest_crypto::SecretKey;
use atrest_identity::Directory;
use atrest_store::{AuditLog, Db};
use sqlx::{Sqlite, Transaction};
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
    audit: AuditLog,
    directory: Directory,
    root: SecretKey,
    hosts: VaultHosts,
    clock: Arc<dyn Clock>,
    events: EventBus,
    /// Parsed private keys by (vault id, key name, version); see [`crate::crypto::PrivateKey`].
    /// Only the parse is cached: every operation still checks the version in the database
    /// (enabled, dates, key_ops, access policy) before using it.
    private_keys: PrivateKeyCache,
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
                db: config.db,
                audit: config.audit,
                directory: config.directory,
                root: config.root,
                hosts: config.hosts,
                clock: config.clock,
                events: EventBus::new(),
                private_keys: PrivateKeyCache::new(PRIVATE_KEY_CACHE_ENTRIES),
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
        Ok(repo::vaults::by_name(self.pool(), name)
            .await?
            .filter(|vault| vault.deleted_at.is_none()))
    }

    /// The vault's `vaultUri`.
    pub fn vault_uri(&self, vault: &Vault) -> String {
        self.inner.hosts.vault_uri(&vault.name)
    }

    /// The directory this service authorizes management calls against.
    pub fn directory(&self) -> &Directory {
        &self.inner.directory
    }

    fn pool(&self) -> &sqlx::SqlitePool {
        self.inner.db.pool()
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE`, so concurrent writers queue instead of
    /// failing to upgrade a read lock).
    async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>, Error> {
        Ok(self.pool().begin_with("BEGIN IMMEDIATE").await?)
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
