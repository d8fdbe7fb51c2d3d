//! The accounts domain facade. Every method takes the caller's identity, authorizes it, does
//! its work atomically, and audits security-relevant outcomes. The HTTP handlers only extract,
//! call one method and map the result.

mod access;
mod api_keys;
mod audit_view;
mod cmk;
mod data;
mod layers;
mod manage;
mod objects;
mod revalidate;
mod safety;
mod sealing;
mod spec;
mod speech;
mod translator;
mod user_storage;
mod validate;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use atrest_crypto::SecretKey;
use atrest_identity::{Directory, Principal, Role};
use atrest_store::accounts::{AccountStore, SqlAccountStore};
use atrest_store::platform_keys::SqlPlatformKeyStore;
use atrest_store::{unix_now, AuditLog, AuditRecord, Db};
use atrest_vault::Vaults;

pub use access::DataCaller;
pub use data::DatasetInfo;
pub use objects::Download;
pub use safety::{BlocklistItem, BlocklistMatch};
pub use spec::{AccountPatch, AccountSpec, ApiKeys, EncryptionSpec, IdentityType, KeyVaultSpec};
pub use speech::LogInfo;
pub use translator::{DeploymentInfo, ModelInfo};

use crate::blob::BlobStores;
use crate::config::AccountsConfig;
use crate::error::Error;
use crate::keys::cache::KeyCache;
use crate::keys::inprocess::InProcessProvider;
use crate::keys::remote::RemoteProvider;
use crate::keys::ring::PlatformKeys;
use crate::keys::Providers;
use crate::model::Account;

/// The accounts service. Cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    inner: Arc<Inner>,
}

struct Inner {
    /// Begins the units of work.
    db: Db,
    /// Accounts and their data.
    store: Arc<dyn AccountStore>,
    audit: AuditLog,
    directory: Directory,
    ring: PlatformKeys,
    providers: Providers,
    cache: KeyCache,
    config: AccountsConfig,
    blobs: BlobStores,
    /// The platform infrastructure key of double encryption (derived from the root key).
    infrastructure: SecretKey,
    /// account id → deployment name → loaded model (wiped when dropped).
    deployed: Mutex<HashMap<String, HashMap<String, Arc<translator::LoadedModel>>>>,
    /// One revalidation at a time per account.
    checking: tokio::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

/// What [`Accounts`] is built from.
pub struct AccountsDeps {
    /// Metadata database.
    pub db: Db,
    /// Audit log.
    pub audit: AuditLog,
    /// Directory (roles, managed identities, tokens for remote vaults).
    pub directory: Directory,
    /// Root key (seals the platform key ring).
    pub root: SecretKey,
    /// The co-located vault service, if any.
    pub vaults: Option<Vaults>,
    /// Settings.
    pub config: AccountsConfig,
}

impl Accounts {
    /// Opens the service: loads the key ring and builds the key providers.
    pub async fn open(deps: AccountsDeps) -> Result<Self, Error> {
        let infrastructure = layers::infrastructure_key(&deps.root);
        let store: Arc<dyn AccountStore> = Arc::new(SqlAccountStore::new(deps.db.clone()));
        let ring = PlatformKeys::load(
            deps.db.clone(),
            Arc::new(SqlPlatformKeyStore::new(deps.db.clone())),
            store.clone(),
            deps.root,
        )
        .await?;
        let mut remotes = Vec::new();
        for remote in &deps.config.remote_vaults {
            let ca_path = remote
                .ca_file
                .clone()
                .or_else(|| deps.config.default_ca_file.clone());
            let ca = match ca_path {
                Some(path) => std::fs::read(&path)?,
                None => Vec::new(),
            };
            let provider = RemoteProvider::new(remote.clone(), &ca, deps.directory.clone())
                .map_err(|e| Error::BadRequest(format!("remote vault {}: {e}", remote.host)))?;
            remotes.push((remote.clone(), Arc::new(provider)));
        }
        let providers = Providers::new(
            deps.vaults.map(|v| Arc::new(InProcessProvider::new(v))),
            remotes,
        );
        let blobs = BlobStores::new(&deps.config)?;
        Ok(Self {
            inner: Arc::new(Inner {
                db: deps.db,
                store,
                audit: deps.audit,
                directory: deps.directory,
                ring,
                providers,
                cache: KeyCache::default(),
                config: deps.config,
                blobs,
                infrastructure,
                deployed: Mutex::new(HashMap::new()),
                checking: tokio::sync::Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Settings in force.
    pub fn config(&self) -> &AccountsConfig {
        &self.inner.config
    }

    /// The platform key ring.
    pub fn ring(&self) -> &PlatformKeys {
        &self.inner.ring
    }

    /// Rotates the platform key (operator only) and starts rewrapping every platform-wrapped
    /// account key in the background: one small write per account, in batches, no data
    /// re-encrypted. Returns the new version at once; [`Self::platform_key_status`] shows the
    /// progress. Interrupted (a crash, a restart), the rewrap resumes at the next key check.
    pub async fn rotate_platform_key(&self, caller: &Principal) -> Result<i64, Error> {
        require_operator(caller, "rotate the platform key")?;
        let version = self.inner.ring.rotate().await?;
        let accounts = self.clone();
        tokio::spawn(async move {
            let outcome = accounts.inner.ring.rewrap_all().await;
            let detail = match &outcome {
                Ok(moved) => format!("version {version}; {moved} keys rewrapped"),
                Err(err) => format!(
                    "version {version}; rewrap interrupted ({err}), resumes at the next key check"
                ),
            };
            if let Err(err) = &outcome {
                tracing::error!(error = %err, "platform key rewrap interrupted");
            }
            if let Err(err) = accounts
                .audit_system("platform", None, "platformKeyRotate", &detail)
                .await
            {
                tracing::error!(error = %err, "audit of the platform key rotation failed");
            }
        });
        Ok(version)
    }

    /// The current platform key version and how many keys still wait to be rewrapped under
    /// it (operator only).
    pub async fn platform_key_status(&self, caller: &Principal) -> Result<(i64, i64), Error> {
        require_operator(caller, "read the platform key status")?;
        let (version, _) = self.inner.ring.current();
        Ok((version, self.inner.ring.pending_rewraps().await?))
    }

    fn store(&self) -> &dyn AccountStore {
        &*self.inner.store
    }

    fn now(&self) -> i64 {
        unix_now()
    }

    /// Checks the caller holds at least `needed` on the subscription (and is of its tenant).
    async fn authorize_mgmt(
        &self,
        caller: &Principal,
        subscription: &str,
        needed: Role,
        action: &'static str,
        scope: String,
    ) -> Result<atrest_identity::Subscription, Error> {
        let directory = &self.inner.directory;
        let sub = directory
            .subscription(subscription)
            .await?
            .ok_or_else(|| Error::SubscriptionNotFound(subscription.to_owned()))?;
        let role = directory.role_of(caller, &sub.subscription_id).await?;
        let same_tenant =
            caller.is_operator() || caller.tenant_id.eq_ignore_ascii_case(&sub.tenant_id);
        if same_tenant && role.is_some_and(|r| r >= needed) {
            return Ok(sub);
        }
        Err(Error::RoleRequired {
            object_id: caller.object_id.clone(),
            role: needed.as_str(),
            action,
            scope,
        })
    }

    /// Appends an audit record about an account.
    async fn audit(
        &self,
        account: &Account,
        caller: &str,
        operation: &str,
        outcome: Result<(), &Error>,
        detail: Option<String>,
    ) -> Result<(), Error> {
        let (key_name, key_version) = match account.cmk() {
            Some(c) => (
                Some(c.key_name.clone()),
                account.cmk_wrapped_version.clone(),
            ),
            None => (None, account.mmk_version.map(|v| format!("mmk-{v}"))),
        };
        let (result, status, detail) = match outcome {
            Ok(()) => ("ok", 200, detail),
            Err(e) => (
                if e.status() == 403 || e.status() == 401 {
                    "denied"
                } else {
                    "failed"
                },
                e.status(),
                Some(format!("{}: {}", e.code(), truncate(&e.to_string()))),
            ),
        };
        self.inner
            .audit
            .append(AuditRecord {
                tenant_id: account.tenant_id.clone(),
                principal_id: caller.to_owned(),
                resource: account.audit_resource(),
                key_name,
                key_version,
                operation: operation.to_owned(),
                result: result.to_owned(),
                status,
                detail,
            })
            .await?;
        Ok(())
    }

    async fn audit_system(
        &self,
        resource: &str,
        account: Option<&Account>,
        operation: &str,
        detail: &str,
    ) -> Result<(), Error> {
        match account {
            Some(a) => {
                self.audit(
                    a,
                    "atrest-accounts",
                    operation,
                    Ok(()),
                    Some(detail.to_owned()),
                )
                .await
            }
            None => {
                self.inner
                    .audit
                    .append(AuditRecord {
                        tenant_id: "-".into(),
                        principal_id: "atrest-accounts".into(),
                        resource: resource.to_owned(),
                        key_name: None,
                        key_version: None,
                        operation: operation.to_owned(),
                        result: "ok".into(),
                        status: 200,
                        detail: Some(detail.to_owned()),
                    })
                    .await?;
                Ok(())
            }
        }
    }
}

fn truncate(message: &str) -> String {
    message.chars().take(300).collect()
}

fn require_operator(caller: &Principal, what: &str) -> Result<(), Error> {
    if caller.is_operator() {
        Ok(())
    } else {
        Err(Error::Forbidden(format!("only the operator can {what}")))
    }
}
